"""providers/offline/model.py: OfflineModel's answers are the same for the same request and valid for any seed."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema.validators import validator_for

from agentfeedback.core.errors import ProviderError
from agentfeedback.providers.base import ChatMessage, CompletionRequest, estimate_tokens
from agentfeedback.providers.offline import OFFLINE_MODEL, OfflineModel
from agentfeedback.providers.offline.model import seed

# One schema that touches every part of the package: refs and allOf, formats, patterns, bounds, choices.
ORDER_SCHEMA: dict[str, Any] = {
    "$defs": {
        "Line": {
            "type": "object",
            "properties": {
                "sku": {"type": "string", "pattern": r"^[A-Z]{3}-\d{4}$"},
                "quantity": {"type": "integer", "minimum": 1, "maximum": 9},
                "price": {"type": "number", "exclusiveMinimum": 0, "multipleOf": 0.01},
            },
            "required": ["sku", "quantity", "price"],
            "additionalProperties": False,
        }
    },
    "type": "object",
    "allOf": [{"properties": {"id": {"type": "string", "format": "uuid"}}, "required": ["id"]}],
    "properties": {
        "placed": {"type": "string", "format": "date-time"},
        "contact": {"type": "string", "format": "email"},
        "status": {"enum": ["open", "shipped", "lost"]},
        "lines": {"type": "array", "items": {"$ref": "#/$defs/Line"}, "minItems": 1, "maxItems": 4},
        "note": {"anyOf": [{"type": "string", "maxLength": 40}, {"type": "null"}]},
        "tags": {"type": "object", "additionalProperties": {"type": "boolean"}},
    },
    "required": ["placed", "contact", "status", "lines", "note", "tags"],
}


def request(text: str, schema: dict[str, Any] | None = ORDER_SCHEMA, **options: Any) -> CompletionRequest:
    return CompletionRequest(OFFLINE_MODEL, [ChatMessage("user", text)], json_schema=schema, **options)


def assert_valid(schema: dict[str, Any], value: Any) -> None:
    validator = validator_for(schema)
    validator(schema, format_checker=validator.FORMAT_CHECKER).validate(value)


def test_same_request_twice_gives_byte_identical_completions() -> None:
    first = OfflineModel().complete(request("Where is order #123?"), "offline")
    again = OfflineModel().complete(request("Where is order #123?"), "offline")
    assert first == again
    assert first.text.encode() == again.text.encode()


@settings(max_examples=80, deadline=None)
@given(text=st.text(max_size=120))
def test_any_conversation_gives_output_valid_for_the_schema(text: str) -> None:
    completion = OfflineModel().complete(request(text), "offline")
    assert_valid(ORDER_SCHEMA, json.loads(completion.text))


def test_different_conversations_give_different_valid_outputs() -> None:
    outputs = {OfflineModel().complete(request(f"order #{number}"), "offline").text for number in range(20)}
    assert len(outputs) == 20
    for text in outputs:
        assert_valid(ORDER_SCHEMA, json.loads(text))


def test_seed_depends_on_every_role_message_and_the_schema() -> None:
    base = seed([ChatMessage("user", "hi")], "{}")
    assert len(base) == 32
    assert base == seed([ChatMessage("user", "hi")], "{}")
    assert base != seed([ChatMessage("assistant", "hi")], "{}")
    assert base != seed([ChatMessage("user", "hi ")], "{}")
    assert base != seed([ChatMessage("user", "hi")], '{"type": "object"}')
    assert base != seed([ChatMessage("system", "be brief"), ChatMessage("user", "hi")], "{}")


def test_schema_key_order_does_not_change_the_answer() -> None:
    """The seed reads the schema as key-sorted JSON, so a reordered but equal schema gives the same output."""
    reordered = dict(reversed(list(ORDER_SCHEMA.items())))
    assert (
        OfflineModel().complete(request("same", reordered), "offline").text
        == OfflineModel().complete(request("same"), "offline").text
    )


def test_answer_names_the_offline_model_whatever_the_route_asked_for() -> None:
    completion = OfflineModel().complete(request("hello", None), "some-alias")
    assert completion.model == OFFLINE_MODEL


@pytest.mark.parametrize("max_tokens", [0, 1, 5])
def test_chat_reply_is_cut_to_four_characters_a_token(max_tokens: int) -> None:
    full = OfflineModel().complete(request("hello", None), "offline").text
    cut = OfflineModel().complete(request("hello", None, max_tokens=max_tokens), "offline")
    assert cut.text == full[: max_tokens * 4]
    assert cut.output_tokens <= max_tokens


def test_schema_output_is_not_cut_by_max_tokens() -> None:
    """Cutting JSON would make it invalid: the schema wins over max_tokens."""
    completion = OfflineModel().complete(request("hello", max_tokens=1), "offline")
    assert_valid(ORDER_SCHEMA, json.loads(completion.text))


def test_input_tokens_count_the_transcript_and_the_key_sorted_schema() -> None:
    with_schema = OfflineModel().complete(request("hello"), "offline")
    without = OfflineModel().complete(request("hello", None), "offline")
    assert without.input_tokens == estimate_tokens("user: hello")
    assert with_schema.input_tokens == estimate_tokens("user: hello\n" + json.dumps(ORDER_SCHEMA, sort_keys=True))


def test_root_that_contains_itself_through_all_of_is_a_provider_error() -> None:
    with pytest.raises(ProviderError, match="refers to itself"):
        OfflineModel().complete(request("hello", {"allOf": [{"$ref": "#"}]}), "offline")


def test_a_callers_offline_answer_is_returned_as_it_is():
    messages = [ChatMessage(role="user", content="Draft it.")]
    answer = json.dumps({"instructions": "Be brief.", "changelog": ["Shorter."]})
    request = CompletionRequest(model="offline", messages=messages, json_schema=ORDER_SCHEMA, offline_answer=answer)
    completion = OfflineModel().complete(request, "offline")
    assert completion.text == answer and completion.output_tokens == estimate_tokens(answer)
    plain = OfflineModel().complete(
        CompletionRequest(model="offline", messages=messages, json_schema=ORDER_SCHEMA), "x"
    )
    assert plain.text != answer
    # The token estimate counts the schema either way.
    assert completion.input_tokens == plain.input_tokens
