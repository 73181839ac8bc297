"""OpenAI chat-completions shapes: the request we support (anything else is named and refused), and what we answer.

Responses are OpenAI's `chat.completion` and `chat.completion.chunk` objects, plus WorkflowAI's extensions on a
choice: `feedback_token`, `duration_seconds`, `cost_usd`. They are dumped whole (no field left out, nulls kept):
each chunk kind has its own model so that a chunk carries exactly the keys OpenAI's stream has.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt

from agentfeedback.core.errors import ValidationFailed
from agentfeedback.core.ids import end_user_id


class _Model(BaseModel):
    # Validators are built on first use, not at import: a cold start builds only the models its request
    # touches (a plain completion builds none of the chunk shapes).
    model_config = ConfigDict(defer_build=True)


class TextPart(_Model):
    type: Literal["text"]
    text: str


class ChatMessageIn(_Model):
    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[TextPart] | None = None
    name: str | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(part.text for part in self.content)
        return self.content or ""


class StreamOptions(_Model):
    include_usage: StrictBool | None = None


class ChatCompletionRequest(_Model):
    # Extra fields are collected (not rejected by pydantic) so the 400 can name every unsupported one.
    model_config = ConfigDict(extra="allow")

    model: str = Field(min_length=1, max_length=200)
    messages: list[ChatMessageIn] = Field(min_length=1, max_length=500)
    temperature: StrictFloat | None = Field(default=None, ge=0, le=2)
    max_tokens: StrictInt | None = Field(default=None, ge=1, le=32_000)
    max_completion_tokens: StrictInt | None = Field(default=None, ge=1, le=32_000)
    stream: StrictBool | None = None
    stream_options: StreamOptions | None = None
    metadata: dict[str, str] | None = None
    user: str | None = Field(default=None, max_length=256, description="The end user; binds the feedback token.")
    safety_identifier: str | None = Field(
        default=None, max_length=256, description="The end user (OpenAI's successor of `user`); binds the token."
    )
    # A strict 1: Literal[1] would take true and 1.0 (pydantic compares literals by equality).
    n: Annotated[StrictInt, Field(ge=1, le=1, description="Choices to generate: only 1.")] | None = None
    store: StrictBool | None = None
    response_format: dict[str, Any] | None = None

    def unsupported_fields(self) -> list[str]:
        return sorted(self.model_extra or {})

    def end_user(self) -> str | None:
        """The end user the request names, canonical (core.ids.end_user_id): from `safety_identifier`, `user` or
        `metadata.user_id`, which must agree where several are sent (ValidationFailed naming them otherwise)."""
        named = {
            field: end_user_id(value, field)
            for field, value in (
                ("safety_identifier", self.safety_identifier),
                ("user", self.user),
                ("metadata.user_id", (self.metadata or {}).get("user_id")),
            )
        }
        users = {field: user for field, user in named.items() if user is not None}
        if len(set(users.values())) > 1:
            raise ValidationFailed(
                f"Invalid request: {', '.join(users)} name different end users; send the end user's id in one of "
                "them, or the same id in each."
            )
        return next(iter(users.values()), None)


# Responses are dumped whole, so a field with a default (`refusal: null`) is always sent: the schema requires it.
RESPONSE_CONFIG = ConfigDict(json_schema_serialization_defaults_required=True)


class AssistantMessage(_Model):
    model_config = RESPONSE_CONFIG

    role: Literal["assistant"] = "assistant"
    content: str
    refusal: None = None


class Choice(_Model):
    model_config = RESPONSE_CONFIG

    index: int
    message: AssistantMessage
    finish_reason: Literal["stop"] = "stop"
    logprobs: None = None
    feedback_token: str | None = Field(description="Null when the run could not be recorded.")
    duration_seconds: float
    cost_usd: float


class Usage(_Model):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ChatCompletion(_Model):
    model_config = RESPONSE_CONFIG

    id: str = Field(description="chatcmpl-<run id>")
    object: Literal["chat.completion"] = "chat.completion"
    created: int = Field(description="Unix time, in seconds.")
    model: str = Field(description="The model as the request named it.")
    choices: list[Choice]
    usage: Usage


class RoleDelta(_Model):
    """The first chunk's delta: who speaks, no text yet."""

    role: Literal["assistant"]
    content: str


class ContentDelta(_Model):
    content: str


class EmptyDelta(_Model):
    """The last choice chunk's delta: nothing more to add."""

    model_config = ConfigDict(extra="forbid")


class ChunkChoice(_Model):
    index: int
    delta: RoleDelta | ContentDelta
    finish_reason: None


class FinalChunkChoice(_Model):
    """The last choice chunk carries what the non-streamed choice does besides the message."""

    model_config = RESPONSE_CONFIG

    index: int
    delta: EmptyDelta = Field(default_factory=EmptyDelta)
    finish_reason: Literal["stop"] = "stop"
    feedback_token: str | None = Field(description="Null when the run could not be recorded.")
    duration_seconds: float
    cost_usd: float


class ChatCompletionChunk(_Model):
    model_config = RESPONSE_CONFIG

    id: str
    created: int
    model: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    choices: list[ChunkChoice | FinalChunkChoice]


class UsageChunk(_Model):
    """Sent after the last choice chunk when the request asks for stream_options.include_usage."""

    model_config = RESPONSE_CONFIG

    id: str
    created: int
    model: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    choices: tuple[()] = ()
    usage: Usage
