"""What every provider speaks: chat messages in, one completion out, and the errors it may raise."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from agentfeedback.errors import ApiError

# Upstream error text is shown to API callers: keep it short enough to read in a JSON error.
MAX_UPSTREAM_MESSAGE_CHARS = 300


@dataclass(frozen=True)
class ChatMessage:
    role: str  # "system" (or "developer"), "user" or "assistant"
    content: str


@dataclass(frozen=True)
class CompletionRequest:
    model: str
    messages: Sequence[ChatMessage]
    temperature: float | None = None
    max_tokens: int | None = None
    # Set when the caller needs a JSON object valid against this schema (an agent's output schema).
    json_schema: dict[str, Any] | None = None
    # The caller's remaining time budget; providers wait at most this long (and at most their own timeout).
    timeout_seconds: float | None = None


@dataclass(frozen=True)
class Completion:
    text: str
    input_tokens: int
    output_tokens: int
    model: str  # the model that answered, as the provider names it


# What runs and chat completions call: a router's (or a test's) complete().
Complete = Callable[[CompletionRequest], Completion]


class Provider(Protocol):
    def complete(self, request: CompletionRequest, provider_model: str) -> Completion: ...


class UnknownModel(ApiError):
    status_code = 400
    code = "unknown_model"

    def __init__(self, model: str, available: Sequence[str], *, hint: str = "") -> None:
        listed = ", ".join(available) or "none"
        super().__init__(f"Unknown model '{model}'. Available models: {listed}.{hint}")


class ModelNotConfigured(ApiError):
    """A model we know, whose provider this deployment has not set up: the caller can pick another."""

    status_code = 400
    code = "model_not_configured"

    def __init__(self, model: str, provider: str, how: str, available: Sequence[str]) -> None:
        listed = ", ".join(available) or "none"
        super().__init__(
            f"Model '{model}' is served by the {provider} provider, which this deployment has not configured "
            f"({how}). Available models: {listed}."
        )


class ProviderError(ApiError):
    status_code = 502
    code = "provider_error"

    def __init__(self, provider: str, reason: str, *, retry_after_seconds: int | None = None) -> None:
        headers = {"Retry-After": str(retry_after_seconds)} if retry_after_seconds else None
        super().__init__(f"The {provider} provider failed: {reason}", headers=headers)
        self.provider = provider


class ProviderTimeout(ApiError):
    status_code = 504
    code = "provider_timeout"

    def __init__(self, provider: str, timeout_seconds: float | None = None) -> None:
        waited = f" within {timeout_seconds:g} seconds" if timeout_seconds else " in time"
        super().__init__(f"The {provider} provider did not answer{waited}. Retry, or ask for fewer output tokens.")
        self.provider = provider


def estimate_tokens(text: str) -> int:
    """A rough count (about four characters a token), used where a provider reports no usage."""
    return math.ceil(len(text) / 4)


def truncate(text: str, limit: int = MAX_UPSTREAM_MESSAGE_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


_CODE_FENCE = re.compile(r"^\s*```[a-zA-Z0-9_-]*\s*\n(?P<body>.*?)\n?```\s*$", re.DOTALL)


def strip_code_fence(text: str) -> str:
    """Models asked for bare JSON still often wrap it in a Markdown fence; the caller wants the JSON."""
    match = _CODE_FENCE.match(text)
    return match.group("body").strip() if match else text.strip()


def json_instruction(schema: dict[str, Any]) -> str:
    return (
        "Answer with a single JSON value only, with no prose and no Markdown code fence. "
        "It must be valid against this JSON schema:\n" + json.dumps(schema, separators=(",", ":"), sort_keys=True)
    )
