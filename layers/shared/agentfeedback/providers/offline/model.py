"""`OfflineModel`: the provider behind the `offline` route, and the seed its answers derive from."""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Iterator, Sequence

from agentfeedback.core.errors import ProviderError, ProviderTimeout
from agentfeedback.providers.base import (
    ChatMessage,
    Completion,
    CompletionRequest,
    StreamEvent,
    TextDelta,
    estimate_tokens,
)
from agentfeedback.providers.offline.chat import chat_reply
from agentfeedback.providers.offline.schema_values import SchemaFaker

OFFLINE_MODEL = "offline"
# A streamed answer's pieces: each word with the whitespace before it (and any whitespace at the very end).
_PIECE = re.compile(r"\s*\S+|\s+$")


class OfflineModel:
    """Implements `Provider`. Temperature is ignored: the offline model is deterministic by design.

    `chunk_delay_seconds` (OFFLINE_STREAM_DELAY_MS) is the pause between two streamed pieces, 0 by default, so
    that tests and demos can see an answer arrive piece by piece.
    """

    def __init__(self, chunk_delay_seconds: float = 0.0) -> None:
        self._delay = chunk_delay_seconds

    def complete(self, request: CompletionRequest, provider_model: str) -> Completion:
        """`request.offline_answer` when the caller gave one (as it is: the caller checks it like any answer). Else,
        with `request.json_schema`: the JSON text of one value valid against it. Without: `chat_reply`, cut to
        `max_tokens` at four characters a token (the rate `estimate_tokens` counts with).

        Token counts are `estimate_tokens` of the transcript (plus the schema, when there is one) and of the
        answer. `provider_model` is accepted for the `Provider` protocol; the answer always names `offline`.
        Raises `ProviderError` when the schema refers to itself without end (`allOf` of its own `$ref`).
        """
        prompt = "\n".join(f"{message.role}: {message.content}" for message in request.messages)
        schema_text = json.dumps(request.json_schema, sort_keys=True) if request.json_schema is not None else ""
        if schema_text:
            prompt += "\n" + schema_text
        if request.offline_answer is not None:
            text = request.offline_answer
        elif request.json_schema is not None:
            faker = SchemaFaker(request.json_schema, seed(request.messages, schema_text), chat_reply(request.messages))
            try:
                value = faker.value()
            except RecursionError:
                raise ProviderError("offline", "the output schema refers to itself without end.") from None
            text = json.dumps(value, ensure_ascii=False)
        else:
            text = chat_reply(request.messages)
            if request.max_tokens is not None:
                text = text[: max(request.max_tokens, 0) * 4]
        return Completion(
            text=text,
            input_tokens=estimate_tokens(prompt),
            output_tokens=estimate_tokens(text),
            model=OFFLINE_MODEL,
        )

    def stream(self, request: CompletionRequest, provider_model: str) -> Iterator[StreamEvent]:
        """complete()'s answer (made now: its errors raise here), as `stream_pieces` of its text, one TextDelta
        each, `chunk_delay_seconds` apart, then the Completion. ProviderTimeout when the pauses would outlast
        `request.timeout_seconds`."""
        completion = self.complete(request, provider_model)
        return self._pieces(completion, request.timeout_seconds)

    def _pieces(self, completion: Completion, timeout: float | None) -> Iterator[StreamEvent]:
        deadline = None if timeout is None else time.monotonic() + timeout
        for index, piece in enumerate(stream_pieces(completion.text)):
            if index and self._delay:
                if deadline is not None and time.monotonic() + self._delay > deadline:
                    raise ProviderTimeout(OFFLINE_MODEL, timeout)
                time.sleep(self._delay)
            yield TextDelta(piece)
        yield completion


def stream_pieces(text: str) -> list[str]:
    """The pieces a streamed offline answer comes in: each word with the whitespace before it; joined, the text."""
    return _PIECE.findall(text)


def seed(messages: Sequence[ChatMessage], schema_text: str) -> bytes:
    """sha256 (32 bytes) of the conversation as `[[role, content], ...]` JSON, a newline and the schema's
    key-sorted JSON: any change to a message, a role or the schema changes every value drawn from it."""
    material = json.dumps([[message.role, message.content] for message in messages], ensure_ascii=False)
    return hashlib.sha256(f"{material}\n{schema_text}".encode()).digest()
