"""Model providers: the offline model, an OpenAI-compatible API (a real local HTTP server), Bedrock
(botocore's Stubber) and the router in front of them. Nothing leaves the machine."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

import boto3
import fastjsonschema
import pytest
from botocore.exceptions import ReadTimeoutError
from botocore.stub import Stubber
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema.validators import validator_for
from moto import mock_aws
from pydantic import BaseModel, Field

from agentfeedback.core.errors import DomainError, ModelNotConfigured, ProviderError, ProviderTimeout, UnknownModel
from agentfeedback.core.http_api import error_body, error_json, status_of
from agentfeedback.providers.base import ChatMessage, Completion, CompletionRequest
from agentfeedback.providers.bedrock import BedrockProvider
from agentfeedback.providers.offline import OfflineModel
from agentfeedback.providers.openai_compatible import OpenAICompatibleProvider, read_secret
from agentfeedback.providers.router import ModelRouter, route_of
from agentfeedback.providers.settings import ProviderSettings
from tests.fake_openai_server import FakeOpenAIServer, Reply, chat_completion

ROOT = Path(__file__).resolve().parents[3]
KEY = "sk-test-0123456789abcdef"
CONVERSATION = [
    ChatMessage("system", "You are a support agent."),
    ChatMessage("user", "My order #123 has not arrived."),
]


def ask(model: str = "gpt-4o-mini", schema: dict[str, Any] | None = None, **options: Any) -> CompletionRequest:
    return CompletionRequest(model=model, messages=CONVERSATION, json_schema=schema, **options)


def assert_valid(schema: dict[str, Any], value: Any) -> None:
    """Valid for both jsonschema (with format checks) and fastjsonschema, which the layer validates with."""
    validator = validator_for(schema)
    validator(schema, format_checker=validator.FORMAT_CHECKER).validate(value)
    fastjsonschema.compile(schema)(value)


# ---------------------------------------------------------------- offline model


class Priority(StrEnum):
    low = "low"
    high = "high"


class Address(BaseModel):
    street: str = Field(min_length=3, max_length=40)
    postcode: str = Field(pattern=r"^[0-9]{5}$")


class Node(BaseModel):
    label: str
    children: list[Node] = Field(default_factory=list)


class Ticket(BaseModel):
    """What a pydantic user writes as an agent's output schema: $defs, anyOf for Optional, formats."""

    title: str = Field(min_length=5, max_length=60)
    priority: Priority
    channel: Literal["email", "chat"]
    confidence: float = Field(ge=0, le=1)
    retries: int = Field(gt=0, lt=5)
    due: datetime | None = None
    address: Address | None = None
    history: list[Address] = Field(min_length=1, max_length=3)
    counts: dict[str, int]
    pair: tuple[int, str]
    labels: set[str]
    tree: Node
    contact: str = Field(json_schema_extra={"format": "email"})


HAND_WRITTEN_SCHEMAS: dict[str, dict[str, Any]] = {
    "flat object with every type": {
        "type": "object",
        "properties": {
            "name": {"type": "string", "minLength": 3, "maxLength": 10},
            "age": {"type": "integer", "minimum": 18, "maximum": 65},
            "score": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
            "active": {"type": "boolean"},
            "tags": {"type": "array", "items": {"type": "string"}, "minItems": 2, "maxItems": 4, "uniqueItems": True},
            "created_at": {"type": "string", "format": "date-time"},
            "status": {"enum": ["open", "closed", "pending"]},
            "kind": {"const": "ticket"},
            "nothing": {"type": "null"},
        },
        "required": ["name", "age", "score", "active", "tags", "created_at", "status", "kind", "nothing"],
        "additionalProperties": False,
    },
    "draft-07 definitions, allOf and oneOf": {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "definitions": {
            "money": {"type": "object", "properties": {"amount": {"type": "number"}}, "required": ["amount"]},
            "currency": {"type": "string", "enum": ["EUR", "USD"]},
        },
        "type": "object",
        "properties": {
            "price": {
                "allOf": [
                    {"$ref": "#/definitions/money"},
                    {"properties": {"currency": {"$ref": "#/definitions/currency"}}, "required": ["currency"]},
                ]
            },
            "either": {"oneOf": [{"type": "integer", "multipleOf": 7}, {"type": "string"}]},
            "tuple": {"type": "array", "items": [{"type": "integer"}, {"type": "boolean"}], "additionalItems": False},
        },
        "required": ["price", "either", "tuple"],
    },
    "nested arrays and maps": {
        "type": "object",
        "properties": {
            "matrix": {
                "type": "array",
                "items": {"type": "array", "items": {"type": "integer", "minimum": -3, "maximum": 3}, "minItems": 2},
                "minItems": 2,
            },
            "scores": {"type": "object", "additionalProperties": {"type": "number", "minimum": 10}},
            "meta": {"type": "object", "minProperties": 2, "additionalProperties": {"type": "string", "format": "uri"}},
        },
        "required": ["matrix", "scores", "meta"],
    },
    "numbers with multipleOf and exclusive bounds": {
        "type": "object",
        "properties": {
            "half": {"type": "number", "multipleOf": 0.5, "minimum": 1, "maximum": 3},
            "tenth": {"type": "number", "multipleOf": 0.1, "exclusiveMinimum": 0, "maximum": 2},
            "even": {"type": "integer", "multipleOf": 2, "minimum": 11},
            "negative": {"type": "integer", "exclusiveMaximum": -10},
            "tiny": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 0.001},
        },
        "required": ["half", "tenth", "even", "negative", "tiny"],
    },
    "formats and patterns": {
        "type": "object",
        "properties": {
            "day": {"type": "string", "format": "date"},
            "at": {"type": "string", "format": "time"},
            "mail": {"type": "string", "format": "email"},
            "id": {"type": "string", "format": "uuid"},
            "host": {"type": "string", "format": "hostname"},
            "ip": {"type": "string", "format": "ipv4"},
            "sku": {"type": "string", "pattern": r"^[A-Z]{3}-\d{4}$"},
            "slug": {"type": "string", "pattern": "^(foo|bar)_[a-z0-9]+$", "maxLength": 12},
        },
        "required": ["day", "at", "mail", "id", "host", "ip", "sku", "slug"],
    },
    "top-level array of nullable types": {
        "type": "array",
        "items": {"type": ["integer", "null"], "minimum": 1},
        "minItems": 3,
        "maxItems": 3,
    },
    "top-level enum": {"type": "string", "enum": ["yes", "no"]},
    "required property not described": {"type": "object", "required": ["anything"]},
}


@pytest.mark.parametrize("schema", HAND_WRITTEN_SCHEMAS.values(), ids=HAND_WRITTEN_SCHEMAS.keys())
def test_offline_output_is_valid_for_the_schema(schema: dict[str, Any]) -> None:
    completion = OfflineModel().complete(ask("offline", schema), "offline")
    assert_valid(schema, json.loads(completion.text))


def test_offline_output_is_valid_for_a_pydantic_schema_with_defs_optionals_and_recursion() -> None:
    schema = Ticket.model_json_schema()
    assert "$defs" in schema and "anyOf" in json.dumps(schema)
    output = json.loads(OfflineModel().complete(ask("offline", schema), "offline").text)
    assert_valid(schema, output)
    ticket = Ticket.model_validate(output)  # what the caller's SDK does with the output
    assert ticket.address is not None  # an Optional field is filled with its real type, not null
    assert ticket.history and ticket.tree.label


def test_offline_output_is_the_same_for_the_same_input() -> None:
    schema = Ticket.model_json_schema()
    first = OfflineModel().complete(ask("offline", schema), "offline")
    again = OfflineModel().complete(ask("offline", schema), "offline")
    assert first == again


def test_offline_output_changes_with_the_conversation() -> None:
    schema = Ticket.model_json_schema()
    other = CompletionRequest(
        "offline", [*CONVERSATION[:1], ChatMessage("user", "Where is order #456?")], json_schema=schema
    )
    assert (
        OfflineModel().complete(other, "offline").text
        != OfflineModel().complete(ask("offline", schema), "offline").text
    )


def test_offline_chat_reply_says_it_is_offline_and_echoes_the_last_user_message() -> None:
    completion = OfflineModel().complete(ask("offline"), "offline")
    assert "offline model" in completion.text
    assert "My order #123 has not arrived." in completion.text
    assert completion.model == "offline"
    assert completion == OfflineModel().complete(ask("offline"), "offline")


def test_offline_chat_reply_shortens_a_long_message() -> None:
    long_message = "word " * 500
    completion = OfflineModel().complete(CompletionRequest("offline", [ChatMessage("user", long_message)]), "offline")
    assert len(completion.text) < 200 and completion.text.endswith('…"')


def test_offline_json_mode_without_properties_returns_the_reply_in_an_object() -> None:
    completion = OfflineModel().complete(ask("offline", {"type": "object"}), "offline")
    assert "offline model" in json.loads(completion.text)["reply"]


def test_offline_token_counts_are_a_quarter_of_the_characters_rounded_up() -> None:
    completion = OfflineModel().complete(CompletionRequest("offline", [ChatMessage("user", "abcde")]), "offline")
    assert completion.input_tokens == 3  # "user: abcde" is 11 characters
    assert completion.output_tokens == -(-len(completion.text) // 4)


@settings(max_examples=60, deadline=None)
@given(
    low=st.integers(-1000, 1000),
    width=st.integers(0, 50),
    min_length=st.integers(0, 40),
    extra_length=st.integers(0, 40),
    min_items=st.integers(0, 4),
    extra_items=st.integers(0, 4),
    text=st.text(max_size=50),
)
def test_offline_output_respects_any_bounds(
    low: int, width: int, min_length: int, extra_length: int, min_items: int, extra_items: int, text: str
) -> None:
    schema = {
        "type": "object",
        "properties": {
            "count": {"type": "integer", "minimum": low, "maximum": low + width},
            "ratio": {"type": "number", "minimum": low, "maximum": low + width},
            "text": {"type": "string", "minLength": min_length, "maxLength": min_length + extra_length},
            "items": {
                "type": "array",
                "items": {"type": "boolean"},
                "minItems": min_items,
                "maxItems": min_items + extra_items,
            },
        },
        "required": ["count", "ratio", "text", "items"],
    }
    request = CompletionRequest("offline", [ChatMessage("user", text)], json_schema=schema)
    assert_valid(schema, json.loads(OfflineModel().complete(request, "offline").text))


def test_offline_schema_that_never_ends_is_a_provider_error_not_a_crash() -> None:
    schema = {"$defs": {"a": {"allOf": [{"$ref": "#/$defs/a"}]}}, "$ref": "#/$defs/a"}
    with pytest.raises(ProviderError, match="refers to itself"):
        OfflineModel().complete(ask("offline", schema), "offline")


# ---------------------------------------------------------------- OpenAI-compatible provider


@pytest.fixture
def server() -> Any:
    with FakeOpenAIServer() as running:
        yield running


def openai(server: FakeOpenAIServer, **options: Any) -> OpenAICompatibleProvider:
    return OpenAICompatibleProvider(server.base_url, **{"api_key": KEY, **options})


def test_openai_posts_an_openai_chat_request_with_the_key_and_schema(server: FakeOpenAIServer) -> None:
    schema = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}
    server.reply(Reply(body=chat_completion('{"answer": "It ships today."}', prompt_tokens=40, completion_tokens=7)))

    completion = openai(server).complete(ask(schema=schema, temperature=0.2, max_tokens=300), "gpt-4o-mini")

    assert completion == Completion('{"answer": "It ships today."}', 40, 7, "gpt-4o-mini-2024-07-18")
    [received] = server.requests
    assert received.path == "/v1/chat/completions"
    assert received.headers["authorization"] == f"Bearer {KEY}"
    assert received.headers["content-type"] == "application/json"
    assert received.json() == {
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "You are a support agent."},
            {"role": "user", "content": "My order #123 has not arrived."},
        ],
        "temperature": 0.2,
        "max_tokens": 300,
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "output", "schema": schema, "strict": False},
        },
    }


def test_openai_plain_chat_sends_no_response_format_nor_unset_options(server: FakeOpenAIServer) -> None:
    openai(server).complete(ask(), "gpt-4o-mini")
    assert set(server.requests[0].json()) == {"model", "messages"}


def test_openai_json_object_mode_puts_the_schema_in_a_system_message(server: FakeOpenAIServer) -> None:
    schema = {"type": "object", "properties": {"answer": {"type": "string"}}}
    openai(server, json_mode="json_object").complete(ask(schema=schema), "gpt-4o-mini")
    body = server.requests[0].json()
    assert body["response_format"] == {"type": "json_object"}
    assert body["messages"][-1]["role"] == "system"
    assert "JSON" in body["messages"][-1]["content"] and '"answer"' in body["messages"][-1]["content"]


def test_openai_client_error_reports_status_and_upstream_message(server: FakeOpenAIServer) -> None:
    message = "Invalid schema for response_format 'output': 'required' is not an array."
    server.reply(Reply(400, {"error": {"message": message, "type": "invalid_request_error", "code": None}}))
    with pytest.raises(ProviderError) as caught:
        openai(server).complete(ask(schema={"type": "object"}), "gpt-4o-mini")
    error = caught.value
    assert (status_of(error), error.code) == (502, "provider_error")
    assert "OpenAI-compatible" in error.message and "HTTP 400" in error.message and message[:60] in error.message


def test_openai_refused_key_is_never_repeated_in_the_error(server: FakeOpenAIServer) -> None:
    upstream = f"Incorrect API key provided: {KEY}. You can find your API key at https://platform.example/keys."
    server.reply(Reply(401, {"error": {"message": upstream, "code": "invalid_api_key"}}))
    with pytest.raises(ProviderError) as caught:
        openai(server).complete(ask(), "gpt-4o-mini")
    assert "HTTP 401" in caught.value.message and "API key was refused" in caught.value.message
    assert KEY not in caught.value.message and "sk-test" not in caught.value.message
    assert KEY not in error_json(caught.value)


def test_openai_masked_key_in_upstream_error_is_redacted_too(server: FakeOpenAIServer) -> None:
    server.reply(Reply(401, {"error": {"message": "Incorrect API key provided: sk-abc1*****************wxyz."}}))
    with pytest.raises(ProviderError) as caught:
        openai(server).complete(ask(), "gpt-4o-mini")
    assert "sk-abc1" not in caught.value.message and "[redacted]" in caught.value.message


def test_openai_rate_limit_passes_retry_after_on(server: FakeOpenAIServer) -> None:
    server.reply(Reply(429, {"error": {"message": "Rate limit reached for gpt-4o-mini"}}, headers={"Retry-After": "7"}))
    with pytest.raises(ProviderError) as caught:
        openai(server).complete(ask(), "gpt-4o-mini")
    assert "HTTP 429" in caught.value.message and "Rate limit reached" in caught.value.message
    assert caught.value.headers == {"Retry-After": "7"}


def test_openai_server_error_with_a_plain_text_body(server: FakeOpenAIServer) -> None:
    server.reply(Reply(503, "upstream connect error or disconnect/reset before headers"))
    with pytest.raises(ProviderError) as caught:
        openai(server).complete(ask(), "gpt-4o-mini")
    assert "HTTP 503" in caught.value.message and "upstream connect error" in caught.value.message


def test_openai_long_upstream_messages_are_truncated(server: FakeOpenAIServer) -> None:
    server.reply(Reply(500, {"error": {"message": "x" * 5000}}))
    with pytest.raises(ProviderError) as caught:
        openai(server).complete(ask(), "gpt-4o-mini")
    assert len(caught.value.message) < 400


def test_openai_slow_answer_is_a_timeout(server: FakeOpenAIServer) -> None:
    server.reply(Reply(delay_seconds=5))
    started = time.monotonic()
    with pytest.raises(ProviderTimeout) as caught:
        openai(server, timeout_seconds=0.3).complete(ask(), "gpt-4o-mini")
    assert time.monotonic() - started < 3
    assert (status_of(caught.value), caught.value.code) == (504, "provider_timeout")
    assert "0.3 seconds" in caught.value.message


def test_openai_waits_no_longer_than_the_callers_remaining_time(server: FakeOpenAIServer) -> None:
    server.reply(Reply(delay_seconds=5))
    request = ask(timeout_seconds=0.3)
    started = time.monotonic()
    with pytest.raises(ProviderTimeout, match=r"0\.3 seconds"):
        openai(server, timeout_seconds=25).complete(request, "gpt-4o-mini")
    assert time.monotonic() - started < 3


def test_openai_body_that_is_not_json(server: FakeOpenAIServer) -> None:
    server.reply(Reply(200, "<html>502 Bad Gateway</html>"))
    with pytest.raises(ProviderError, match="not valid JSON"):
        openai(server).complete(ask(), "gpt-4o-mini")


def test_openai_json_without_choices(server: FakeOpenAIServer) -> None:
    server.reply(Reply(200, {"object": "chat.completion", "choices": []}))
    with pytest.raises(ProviderError, match="no completion"):
        openai(server).complete(ask(), "gpt-4o-mini")


def test_openai_refusal_is_reported(server: FakeOpenAIServer) -> None:
    body = chat_completion(None)
    body["choices"][0]["message"]["refusal"] = "I can't help with that."
    server.reply(Reply(200, body))
    with pytest.raises(ProviderError, match="refused: I can't help with that"):
        openai(server).complete(ask(), "gpt-4o-mini")


def test_openai_missing_usage_is_estimated(server: FakeOpenAIServer) -> None:
    body = chat_completion("four")
    del body["usage"]
    server.reply(Reply(200, body))
    completion = openai(server).complete(ask(), "gpt-4o-mini")
    assert completion.output_tokens == 1 and completion.input_tokens > 0


def test_openai_unreachable_server() -> None:
    with FakeOpenAIServer() as stopped:
        base_url = stopped.base_url  # the port is free again once the block ends
    provider = OpenAICompatibleProvider(base_url, api_key=KEY, timeout_seconds=2)
    with pytest.raises(ProviderError, match="could not be reached"):
        provider.complete(ask(), "gpt-4o-mini")


def test_openai_redirect_is_not_followed_with_the_key(server: FakeOpenAIServer) -> None:
    server.reply(Reply(307, "", headers={"Location": "http://127.0.0.1:9/elsewhere"}))
    with pytest.raises(ProviderError, match="HTTP 307"):
        openai(server).complete(ask(), "gpt-4o-mini")
    assert len(server.requests) == 1


def test_openai_key_from_secrets_manager_is_read_once_per_container(server: FakeOpenAIServer) -> None:
    reads: list[str] = []

    def counting_reader(arn: str) -> str:
        reads.append(arn)
        return read_secret(arn)

    with mock_aws():
        arn = boto3.client("secretsmanager").create_secret(Name="openai", SecretString=json.dumps({"api_key": KEY}))[
            "ARN"
        ]
        provider = OpenAICompatibleProvider(server.base_url, api_key_secret_arn=arn, secret_reader=counting_reader)
        provider.complete(ask(), "gpt-4o-mini")
        provider.complete(ask(), "gpt-4o-mini")
    assert reads == [arn]
    assert [r.headers["authorization"] for r in server.requests] == [f"Bearer {KEY}"] * 2


def test_openai_plain_text_secret_is_the_key() -> None:
    with mock_aws():
        arn = boto3.client("secretsmanager").create_secret(Name="openai", SecretString=f"  {KEY}\n")["ARN"]
        assert read_secret(arn) == KEY


def test_openai_missing_secret_is_a_provider_error_naming_the_cause() -> None:
    with mock_aws(), pytest.raises(ProviderError, match="Secrets Manager \\(ResourceNotFoundException\\)"):
        read_secret("arn:aws:secretsmanager:us-east-1:123456789012:secret:missing-AbCdEf")


# ---------------------------------------------------------------- Bedrock provider


@pytest.fixture
def bedrock() -> Any:
    client = boto3.client("bedrock-runtime", region_name="us-east-1")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def converse_response(text: str, input_tokens: int = 30, output_tokens: int = 9) -> dict[str, Any]:
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
        "stopReason": "end_turn",
        "usage": {
            "inputTokens": input_tokens,
            "outputTokens": output_tokens,
            "totalTokens": input_tokens + output_tokens,
        },
        "metrics": {"latencyMs": 420},
    }


def test_bedrock_converse_maps_messages_options_and_usage(bedrock: Any) -> None:
    client, stubber = bedrock
    stubber.add_response(
        "converse",
        converse_response("Sorry about that! It ships today.", 31, 8),
        {
            "modelId": "amazon.nova-micro-v1:0",
            "messages": [{"role": "user", "content": [{"text": "My order #123 has not arrived."}]}],
            "system": [{"text": "You are a support agent."}],
            "inferenceConfig": {"temperature": 0.5, "maxTokens": 200},
        },
    )
    completion = BedrockProvider(client).complete(ask(temperature=0.5, max_tokens=200), "amazon.nova-micro-v1:0")
    assert completion == Completion("Sorry about that! It ships today.", 31, 8, "amazon.nova-micro-v1:0")


def test_bedrock_system_messages_go_to_system_and_turns_alternate(bedrock: Any) -> None:
    client, stubber = bedrock
    messages = [
        ChatMessage("system", "Be brief."),
        ChatMessage("assistant", "Hi! How can I help?"),
        ChatMessage("user", "Order #123."),
        ChatMessage("user", "It is late."),
        ChatMessage("developer", "Never promise dates."),
        ChatMessage("user", "   "),
    ]
    stubber.add_response(
        "converse",
        converse_response("Checking."),
        {
            "modelId": "m",
            "system": [{"text": "Be brief."}, {"text": "Never promise dates."}],
            "messages": [
                {"role": "user", "content": [{"text": "Follow the instructions above."}]},
                {"role": "assistant", "content": [{"text": "Hi! How can I help?"}]},
                {"role": "user", "content": [{"text": "Order #123.\n\nIt is late."}]},
            ],
        },
    )
    BedrockProvider(client).complete(CompletionRequest("bedrock/m", messages), "m")


def test_bedrock_json_schema_becomes_an_instruction_and_fences_are_removed(bedrock: Any) -> None:
    client, stubber = bedrock
    schema = {"type": "object", "properties": {"answer": {"type": "string"}}}
    provider = BedrockProvider(client)
    arguments = provider.converse_arguments(ask(schema=schema), "m")
    assert arguments["system"][0] == {"text": "You are a support agent."}
    assert "JSON" in arguments["system"][-1]["text"] and '"answer"' in arguments["system"][-1]["text"]
    stubber.add_response("converse", converse_response('```json\n{"answer": "today"}\n```'), arguments)
    assert json.loads(provider.complete(ask(schema=schema), "m").text) == {"answer": "today"}


def test_bedrock_throttling_is_a_provider_error_to_retry(bedrock: Any) -> None:
    client, stubber = bedrock
    stubber.add_client_error("converse", "ThrottlingException", "Too many requests, please wait.", 429)
    with pytest.raises(ProviderError) as caught:
        BedrockProvider(client).complete(ask(), "amazon.nova-micro-v1:0")
    assert (status_of(caught.value), caught.value.code) == (502, "provider_error")
    assert "Amazon Bedrock" in caught.value.message and "ThrottlingException" in caught.value.message
    assert caught.value.headers == {"Retry-After": "2"}


def test_bedrock_model_timeout_is_a_provider_timeout(bedrock: Any) -> None:
    client, stubber = bedrock
    stubber.add_client_error("converse", "ModelTimeoutException", "Model timed out.", 408)
    with pytest.raises(ProviderTimeout):
        BedrockProvider(client).complete(ask(), "amazon.nova-micro-v1:0")


def test_bedrock_access_denied_says_what_to_fix_without_naming_the_role(bedrock: Any) -> None:
    client, stubber = bedrock
    upstream = (
        "User: arn:aws:sts::123456789012:assumed-role/RunFunctionRole/run is not authorized to perform: "
        "bedrock:InvokeModel on resource: arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-micro-v1:0"
    )
    stubber.add_client_error("converse", "AccessDeniedException", upstream, 403)
    with pytest.raises(ProviderError) as caught:
        BedrockProvider(client).complete(ask(), "amazon.nova-micro-v1:0")
    assert "model access" in caught.value.message and "bedrock:InvokeModel" in caught.value.message
    assert "123456789012" not in caught.value.message and "RunFunctionRole" not in caught.value.message


def test_bedrock_validation_error_carries_the_upstream_reason(bedrock: Any) -> None:
    client, stubber = bedrock
    stubber.add_client_error("converse", "ValidationException", "The provided model identifier is invalid.", 400)
    with pytest.raises(ProviderError, match=r"ValidationException.*model identifier is invalid"):
        BedrockProvider(client).complete(ask(), "nope")


def test_bedrock_read_timeout_is_a_provider_timeout() -> None:
    class SlowClient:
        def converse(self, **arguments: Any) -> dict[str, Any]:
            raise ReadTimeoutError(endpoint_url="https://bedrock-runtime.us-east-1.amazonaws.com")

    with pytest.raises(ProviderTimeout, match="within 4 seconds"):
        BedrockProvider(SlowClient(), timeout_seconds=4).complete(ask(), "m")


# ---------------------------------------------------------------- router


class Recording:
    def __init__(self, name: str) -> None:
        self.name = name
        self.calls: list[tuple[str, str]] = []

    def complete(self, request: CompletionRequest, provider_model: str) -> Completion:
        self.calls.append((request.model, provider_model))
        return Completion(f"from {self.name}", 1, 1, provider_model)


EVERYTHING = ProviderSettings(openai_api_key=KEY, bedrock_enabled=True)


def recording_router(settings: ProviderSettings = EVERYTHING) -> tuple[ModelRouter, dict[str, Recording]]:
    fakes = {name: Recording(name) for name in ("offline", "openai_compatible", "bedrock")}
    return ModelRouter(settings, dict(fakes)), fakes


@pytest.mark.parametrize(
    ("model", "provider", "provider_model"),
    [
        ("offline", "offline", "offline"),
        ("gpt-4o-mini", "openai_compatible", "gpt-4o-mini"),
        ("gpt-4o-mini-latest", "openai_compatible", "gpt-4o-mini"),
        ("gpt-4.1-mini", "openai_compatible", "gpt-4.1-mini"),
        ("openai/my-finetune", "openai_compatible", "my-finetune"),
        ("claude-3-5-haiku", "bedrock", "us.anthropic.claude-3-5-haiku-20241022-v1:0"),
        ("amazon.nova-micro-v1:0", "bedrock", "amazon.nova-micro-v1:0"),
        ("bedrock/meta.llama3-8b-instruct-v1:0", "bedrock", "meta.llama3-8b-instruct-v1:0"),
    ],
)
def test_router_sends_each_model_to_its_provider(model: str, provider: str, provider_model: str) -> None:
    router, fakes = recording_router()
    completion = router.complete(ask(model))
    assert completion.text == f"from {provider}"
    assert fakes[provider].calls == [(model, provider_model)]


def test_router_unknown_model_is_a_400_listing_available_models() -> None:
    router, _ = recording_router(ProviderSettings(openai_api_key=KEY))
    with pytest.raises(UnknownModel) as caught:
        router.complete(ask("gpt-17-ultra"))
    error = caught.value
    assert (status_of(error), error.code) == (400, "unknown_model")
    assert "'gpt-17-ultra'" in error.message
    assert "Available models: offline, gpt-4o-mini, gpt-4o, gpt-4.1, gpt-4.1-mini, gpt-4.1-nano." in error.message
    assert "openai/<model-id>" in error.message and "bedrock/" not in error.message
    assert error_body(error)["error"]["status_code"] == 400


def test_router_lists_only_models_it_can_serve() -> None:
    assert ModelRouter(ProviderSettings()).available_models() == ["offline"]
    everything = ModelRouter(EVERYTHING).available_models()
    assert {"offline", "gpt-4o-mini", "claude-3-5-haiku", "amazon.nova-micro-v1:0"} <= set(everything)
    assert "gpt-4o-mini-latest" not in everything  # aliases work but are not listed


def test_router_known_model_without_its_provider_says_what_to_configure() -> None:
    router = ModelRouter(ProviderSettings())
    with pytest.raises(ModelNotConfigured) as caught:
        router.complete(ask("gpt-4o-mini"))
    assert (status_of(caught.value), caught.value.code) == (400, "model_not_configured")
    assert "OPENAI_API_KEY" in caught.value.message and "Available models: offline." in caught.value.message
    with pytest.raises(ModelNotConfigured, match="BEDROCK_ENABLED"):
        router.complete(ask("bedrock/amazon.nova-micro-v1:0"))


def test_router_is_known_covers_aliases_and_prefixes_but_not_agent_names() -> None:
    router = ModelRouter(ProviderSettings())
    assert router.is_known("gpt-4o-mini") and router.is_known("bedrock/x") and router.is_known("offline")
    assert not router.is_known("support-bot/gpt-4o-mini")
    assert not router.is_known("bedrock/")


def test_router_builds_the_real_offline_model_and_runs_it() -> None:
    completion = ModelRouter(ProviderSettings()).complete(ask("offline"))
    assert completion.model == "offline" and "offline model" in completion.text


def test_router_talks_to_a_configured_openai_compatible_server(server: FakeOpenAIServer) -> None:
    router = ModelRouter(ProviderSettings(openai_base_url=server.base_url, openai_api_key=KEY))
    assert router.complete(ask("gpt-4o-mini-latest")).text == "Hello!"
    assert server.requests[0].json()["model"] == "gpt-4o-mini"


def test_router_errors_are_api_errors() -> None:
    for error_type in (UnknownModel, ModelNotConfigured, ProviderError, ProviderTimeout):
        assert issubclass(error_type, DomainError)


def test_router_and_offline_model_load_neither_boto3_nor_provider_modules() -> None:
    script = (
        "import sys\n"
        "from agentfeedback.providers.base import ChatMessage, CompletionRequest\n"
        "from agentfeedback.providers.router import ModelRouter\n"
        "from agentfeedback.providers.settings import ProviderSettings\n"
        "import agentfeedback.runs.pricing\n"
        "router = ModelRouter(ProviderSettings(openai_api_key='k', bedrock_enabled=True))\n"
        "router.complete(CompletionRequest('offline', [ChatMessage('user', 'hi')]))\n"
        "loaded = [m for m in ('boto3', 'botocore', 'agentfeedback.providers.bedrock',"
        " 'agentfeedback.providers.openai_compatible') if m in sys.modules]\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run(
        [sys.executable, "-c", script], check=True, cwd=ROOT, env={"PYTHONPATH": str(ROOT / "layers/shared")}
    )


def test_route_of_unknown_id_is_none() -> None:
    assert route_of("nope") is None
    assert route_of("bedrock/x") is not None


# ---------------------------------------------------------------- settings


def test_settings_from_env_defaults() -> None:
    settings = ProviderSettings.from_env({})
    assert settings == ProviderSettings()
    assert settings.timeout_seconds == 25 and not settings.openai_configured and not settings.bedrock_enabled
    assert settings.openai_base_url.endswith("/v1")


def test_settings_from_env_reads_every_variable() -> None:
    settings = ProviderSettings.from_env(
        {
            "OPENAI_BASE_URL": "http://127.0.0.1:8000/v1/",
            "OPENAI_API_KEY_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:openai",
            "OPENAI_JSON_MODE": "json_object",
            "BEDROCK_ENABLED": "true",
            "BEDROCK_REGION": "us-west-2",
            "PROVIDER_TIMEOUT_SECONDS": "12.5",
        }
    )
    assert settings.openai_base_url == "http://127.0.0.1:8000/v1"
    assert settings.openai_configured and settings.openai_json_mode == "json_object"
    assert settings.bedrock_enabled and settings.bedrock_region == "us-west-2" and settings.timeout_seconds == 12.5


def test_settings_never_show_the_key() -> None:
    assert KEY not in repr(ProviderSettings.from_env({"OPENAI_API_KEY": KEY}))


@pytest.mark.parametrize(
    "env",
    [
        {"BEDROCK_ENABLED": "maybe"},
        {"PROVIDER_TIMEOUT_SECONDS": "soon"},
        {"PROVIDER_TIMEOUT_SECONDS": "0"},
        {"OPENAI_JSON_MODE": "xml"},
    ],
)
def test_settings_refuse_bad_values(env: dict[str, str]) -> None:
    with pytest.raises(RuntimeError, match=next(iter(env))):
        ProviderSettings.from_env(env)
