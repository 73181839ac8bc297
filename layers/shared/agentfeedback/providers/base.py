"""What every provider speaks: chat messages in, one completion out (whole, or streamed as text deltas), and the
errors it may raise."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

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
    # What the offline model answers instead of a made-up value: a caller that can build a deterministic
    # stand-in by rule (the improver's draft) sets it; every other provider ignores it.
    offline_answer: str | None = None


@dataclass(frozen=True)
class Completion:
    text: str
    input_tokens: int
    output_tokens: int
    model: str  # the model that answered, as the provider names it


@dataclass(frozen=True)
class TextDelta:
    """A piece of the answer's text, as the provider sent it (never empty)."""

    text: str


# What a stream yields: the TextDeltas as they come, then one Completion (the whole text, usage, model).
StreamEvent = TextDelta | Completion

# What runs and chat completions call: a router's (or a test's) complete() and stream().
Complete = Callable[[CompletionRequest], Completion]
Stream = Callable[[CompletionRequest], Iterator[StreamEvent]]


class Provider(Protocol):
    def complete(self, request: CompletionRequest, provider_model: str) -> Completion: ...

    def stream(self, request: CompletionRequest, provider_model: str) -> Iterator[StreamEvent]:
        """Sends the request now (a refusal raises here, as complete() would) and returns the answer's events.

        Iterating raises the DomainErrors complete() raises; `request.timeout_seconds` bounds the whole stream.
        """
        ...


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
