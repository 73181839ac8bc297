"""Configuration, read once from the environment that template.yaml (or the local stack) sets."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache


def _split(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


@dataclass(frozen=True)
class Settings:
    feedback_table: str
    token_key_id: str
    previous_token_key_ids: tuple[str, ...]
    token_lifetime_days: int
    allowed_origins: tuple[str, ...]

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ) if env is None else env
        missing = [name for name in ("FEEDBACK_TABLE", "TOKEN_KEY_ID") if not env.get(name)]
        if missing:
            raise RuntimeError(f"missing required environment variables: {', '.join(missing)}")
        lifetime = int(env.get("TOKEN_LIFETIME_DAYS", "30"))
        if lifetime < 0:
            raise RuntimeError("TOKEN_LIFETIME_DAYS must be 0 (no expiry) or a positive number of days")
        return cls(
            feedback_table=env["FEEDBACK_TABLE"],
            token_key_id=env["TOKEN_KEY_ID"],
            previous_token_key_ids=_split(env.get("PREVIOUS_TOKEN_KEY_IDS", "")),
            token_lifetime_days=lifetime,
            allowed_origins=_split(env.get("ALLOWED_ORIGINS", "*")) or ("*",),
        )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_env()
