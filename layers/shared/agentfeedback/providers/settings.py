"""Provider configuration, read once from the environment (template.yaml, or a developer's shell)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Literal

OPENAI_DEFAULT_BASE_URL = "https://api.openai.com/v1"
# API Gateway cuts every request off at 29 s: leave a few seconds for our own work around the call.
DEFAULT_TIMEOUT_SECONDS = 25.0
# The offline model's pause between streamed pieces is for demos and tests: a few seconds at most.
MAX_OFFLINE_STREAM_DELAY_MS = 10_000

JsonMode = Literal["json_schema", "json_object"]
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


def _flag(env: dict[str, str], name: str) -> bool:
    value = env.get(name, "").strip().lower()
    if value not in _TRUE | _FALSE:
        raise RuntimeError(f"{name} must be true or false, not {value!r}")
    return value in _TRUE


def _seconds(env: dict[str, str], name: str) -> float:
    raw = env.get(name, "").strip()
    try:
        value = float(raw) if raw else DEFAULT_TIMEOUT_SECONDS
    except ValueError:
        raise RuntimeError(f"{name} must be a number of seconds, not {raw!r}") from None
    if not 0 < value <= 900:
        raise RuntimeError(f"{name} must be between 0 and 900 seconds")
    return value


def _milliseconds(env: dict[str, str], name: str, maximum: int) -> int:
    raw = env.get(name, "").strip() or "0"
    if not (raw.isascii() and raw.isdigit()) or int(raw) > maximum:
        raise RuntimeError(f"{name} must be a whole number of milliseconds from 0 to {maximum}, not {raw!r}")
    return int(raw)


@dataclass(frozen=True)
class ProviderSettings:
    """Which providers this deployment can call, and how.

    OPENAI_API_KEY (local use) or OPENAI_API_KEY_SECRET_ARN (deployed: a Secrets Manager secret holding
    the key, or a JSON object with an "api_key" field) enables the OpenAI-compatible models; a keyless
    local server can be given any placeholder key. BEDROCK_ENABLED=true enables the Bedrock models,
    which use the function's IAM role. PROVIDER_TIMEOUT_SECONDS bounds each wait for the provider (the
    answer, or the next piece of a streamed one). OFFLINE_STREAM_DELAY_MS is the offline model's pause between
    streamed pieces (0: none).
    """

    openai_base_url: str = OPENAI_DEFAULT_BASE_URL
    # Never printed: a settings object ends up in logs and tracebacks sooner or later.
    openai_api_key: str | None = field(default=None, repr=False)
    openai_api_key_secret_arn: str | None = None
    openai_json_mode: JsonMode = "json_schema"
    bedrock_enabled: bool = False
    bedrock_region: str | None = None
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    offline_stream_delay_ms: int = 0

    @property
    def openai_configured(self) -> bool:
        return bool(self.openai_api_key or self.openai_api_key_secret_arn)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> ProviderSettings:
        env = dict(os.environ) if env is None else env
        json_mode = env.get("OPENAI_JSON_MODE", "").strip() or "json_schema"
        if json_mode not in ("json_schema", "json_object"):
            raise RuntimeError(f"OPENAI_JSON_MODE must be json_schema or json_object, not {json_mode!r}")
        mode: JsonMode = "json_object" if json_mode == "json_object" else "json_schema"
        return cls(
            openai_base_url=(env.get("OPENAI_BASE_URL", "").strip() or OPENAI_DEFAULT_BASE_URL).rstrip("/"),
            openai_api_key=env.get("OPENAI_API_KEY", "").strip() or None,
            openai_api_key_secret_arn=env.get("OPENAI_API_KEY_SECRET_ARN", "").strip() or None,
            openai_json_mode=mode,
            bedrock_enabled=_flag(env, "BEDROCK_ENABLED"),
            bedrock_region=env.get("BEDROCK_REGION", "").strip() or None,
            timeout_seconds=_seconds(env, "PROVIDER_TIMEOUT_SECONDS"),
            offline_stream_delay_ms=_milliseconds(env, "OFFLINE_STREAM_DELAY_MS", MAX_OFFLINE_STREAM_DELAY_MS),
        )
