"""`OfflineModel`: the provider behind the `offline` route, and the seed its answers derive from."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

from agentfeedback.core.errors import ProviderError
from agentfeedback.providers.base import ChatMessage, Completion, CompletionRequest, estimate_tokens
from agentfeedback.providers.offline.chat import chat_reply
from agentfeedback.providers.offline.schema_values import SchemaFaker

OFFLINE_MODEL = "offline"


class OfflineModel:
    """Implements `Provider`. Temperature is ignored: the offline model is deterministic by design."""

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


def seed(messages: Sequence[ChatMessage], schema_text: str) -> bytes:
    """sha256 (32 bytes) of the conversation as `[[role, content], ...]` JSON, a newline and the schema's
    key-sorted JSON: any change to a message, a role or the schema changes every value drawn from it."""
    material = json.dumps([[message.role, message.content] for message in messages], ensure_ascii=False)
    return hashlib.sha256(f"{material}\n{schema_text}".encode()).digest()
