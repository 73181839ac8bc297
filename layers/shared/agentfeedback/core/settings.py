"""Configuration, read once from the environment that template.yaml (or the local stack) sets."""

from __future__ import annotations

import os
from dataclasses import dataclass

# template.yaml sets STACK_NAME; this is for tools and tests run without it.
DEFAULT_STACK_NAME = "agent-feedback"
# template.yaml's RunTimeLimitSeconds: how long one run or chat completion may take, model call included.
DEFAULT_RUN_TIME_LIMIT_SECONDS = 120
_REQUIRED = ("FEEDBACK_TABLE", "RUNS_TABLE", "AGENTS_TABLE", "API_KEYS_TABLE", "AGGREGATES_TABLE", "TOKEN_KEY_ID")


def _split(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


def _non_negative_int(env: dict[str, str], name: str, default: int) -> int:
    value = int(env.get(name) or default)
    if value < 0:
        raise RuntimeError(f"{name} must be 0 or a positive whole number")
    return value


def _positive_int(env: dict[str, str], name: str, default: int) -> int:
    value = int(env.get(name) or default)
    if value <= 0:
        raise RuntimeError(f"{name} must be a positive whole number")
    return value


@dataclass(frozen=True)
class Settings:
    feedback_table: str
    runs_table: str
    agents_table: str
    api_keys_table: str
    aggregates_table: str
    token_key_id: str
    previous_token_key_ids: tuple[str, ...]
    token_lifetime_days: int  # 0: tokens never expire
    stack_name: str  # what token key delegations are for (tokens.delegation): the CloudFormation stack's name
    run_retention_days: int  # 0: runs are kept forever
    max_users_per_run: int  # distinct users one run's token may create entries for; 0: no cap
    allowed_origins: tuple[str, ...]
    run_time_limit_seconds: int  # a run's or chat completion's deadline, from its start (RUN_TIME_LIMIT_SECONDS)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ) if env is None else env
        missing = [name for name in _REQUIRED if not env.get(name)]
        if missing:
            raise RuntimeError(f"missing required environment variables: {', '.join(missing)}")
        return cls(
            feedback_table=env["FEEDBACK_TABLE"],
            runs_table=env["RUNS_TABLE"],
            agents_table=env["AGENTS_TABLE"],
            api_keys_table=env["API_KEYS_TABLE"],
            aggregates_table=env["AGGREGATES_TABLE"],
            token_key_id=env["TOKEN_KEY_ID"],
            previous_token_key_ids=_split(env.get("PREVIOUS_TOKEN_KEY_IDS", "")),
            token_lifetime_days=_non_negative_int(env, "TOKEN_LIFETIME_DAYS", 30),
            stack_name=env.get("STACK_NAME") or DEFAULT_STACK_NAME,
            run_retention_days=_non_negative_int(env, "RUN_RETENTION_DAYS", 90),
            max_users_per_run=_non_negative_int(env, "MAX_USERS_PER_RUN", 1000),
            allowed_origins=_split(env.get("ALLOWED_ORIGINS", "*")) or ("*",),
            run_time_limit_seconds=_positive_int(env, "RUN_TIME_LIMIT_SECONDS", DEFAULT_RUN_TIME_LIMIT_SECONDS),
        )
