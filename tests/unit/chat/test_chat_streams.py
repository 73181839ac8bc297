"""ChatCompletions.stream: OpenAI's chunks as the model answers, the token in the last choice chunk once the run
is stored, checks before the first chunk raising at the call, nothing stored on a failure, and a client that stops
reading still recorded. Moto in-process; scripted model streams and the real offline model."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from aws_lambda_powertools import Metrics

from agentfeedback import composition
from agentfeedback.chat.models import ChatCompletionChunk, ChatCompletionRequest, UsageChunk
from agentfeedback.chat.service import ChatCompletions
from agentfeedback.core.errors import (
    ProviderError,
    ProviderTimeout,
    UnknownModel,
    UnsupportedParameter,
    ValidationFailed,
)
from agentfeedback.tokens.signer import TokenSigner
from tests.helpers import ScriptedModel

MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Say hello."}]
PIECES = ["Hello", " there,", " friend."]


def chat_request(**body: Any) -> ChatCompletionRequest:
    return ChatCompletionRequest.model_validate({"model": "offline", "messages": MESSAGES, "stream": True, **body})


def service_with(stream: Any) -> ChatCompletions:
    router = composition.model_router()
    return ChatCompletions(router.complete, router.is_known, composition.run_recorder(), stream)


@pytest.fixture(autouse=True)
def no_metrics_left() -> Any:
    """The services record runs outside a handler, whose log_metrics would flush their metrics: drop them."""
    yield
    Metrics().clear_metrics()


def stored_runs(aws: Any) -> list[dict[str, Any]]:
    return aws.dynamodb.scan(TableName="RunsTable")["Items"]


def test_chunks_carry_each_delta_then_the_token_then_the_usage(aws):
    model = ScriptedModel(PIECES)
    request = chat_request(metadata={"agent_id": "greeter"}, stream_options={"include_usage": True})
    chunks = [chunk.model_dump(mode="json") for chunk in service_with(model).stream("acme", request)]

    role, *pieces, last, usage = chunks
    assert role["choices"] == [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]
    assert [chunk["choices"][0]["delta"] for chunk in pieces] == [{"content": piece} for piece in PIECES]
    final = last["choices"][0]
    assert final["delta"] == {} and final["finish_reason"] == "stop" and final["cost_usd"] == 0
    assert usage["choices"] == []
    assert usage["usage"] == {"prompt_tokens": 40, "completion_tokens": 12, "total_tokens": 52}
    assert {(chunk["id"], chunk["created"], chunk["model"]) for chunk in chunks} == {
        (role["id"], role["created"], "offline")
    }
    claims = aws.verifier().verify(final["feedback_token"])
    assert claims.run_id == role["id"].removeprefix("chatcmpl-") and claims.agent_id == "greeter"
    [stored] = stored_runs(aws)
    assert json.loads(stored["task_output"]["S"]) == {"message": "Hello there, friend."}


def test_without_include_usage_the_token_chunk_is_the_last(aws):
    chunks = list(service_with(ScriptedModel(PIECES)).stream("acme", chat_request()))
    assert isinstance(chunks[-1], ChatCompletionChunk) and chunks[-1].choices[0].feedback_token  # type: ignore[union-attr]
    assert not any(isinstance(chunk, UsageChunk) for chunk in chunks)


def test_a_delta_arrives_before_the_model_has_finished(aws):
    model = ScriptedModel(PIECES)
    chunks = service_with(model).stream("acme", chat_request())
    next(chunks)  # the role
    first = next(chunks)
    assert first.choices[0].delta.content == "Hello"  # type: ignore[union-attr]
    assert not model.finished and stored_runs(aws) == []


def test_the_token_chunk_comes_once_the_run_is_stored(aws):
    for chunk in service_with(ScriptedModel(PIECES)).stream("acme", chat_request()):
        token = getattr(chunk.choices[0], "feedback_token", None) if chunk.choices else None
        assert (token is not None) == bool(stored_runs(aws))


def test_a_streamed_offline_completion_says_what_the_whole_one_says(aws):
    service = composition.chat_completions()
    whole = service.create("acme", chat_request(stream=False))
    chunks = list(service.stream("acme", chat_request()))
    text = "".join(getattr(chunk.choices[0].delta, "content", "") for chunk in chunks if chunk.choices)
    assert text == whole.choices[0].message.content
    assert len(chunks) > 3  # the offline answer came in several pieces


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"tools": [{"type": "function"}]}, UnsupportedParameter),
        ({"user": "ana", "metadata": {"user_id": "bob"}}, ValidationFailed),
        ({"model": "gpt-nonexistent"}, UnknownModel),
        ({"response_format": {"type": "xml"}}, UnsupportedParameter),
    ],
    ids=["unsupported-field", "end-users-disagree", "unknown-model", "bad-response-format"],
)
def test_what_fails_before_the_first_chunk_raises_when_stream_is_called(aws, body, error):
    with pytest.raises(error):
        composition.chat_completions().stream("acme", chat_request(**body))
    assert stored_runs(aws) == []


def test_a_provider_failure_mid_answer_raises_from_the_iterator_and_stores_nothing(aws):
    failure = ProviderError("Amazon Bedrock", "model 'm' failed (ModelStreamErrorException).")
    model = ScriptedModel(PIECES[:1], fail=failure)
    chunks = service_with(model).stream("acme", chat_request())
    next(chunks)
    with pytest.raises(ProviderError, match="ModelStreamErrorException"):
        list(chunks)
    assert stored_runs(aws) == []


def test_the_model_gets_what_is_left_of_the_deadline_and_no_time_left_is_a_504_at_the_call(aws):
    model = ScriptedModel(PIECES)
    list(service_with(model).stream("acme", chat_request(), deadline=time.monotonic() + 10))
    [request] = model.requests
    assert request.timeout_seconds is not None and 7 < request.timeout_seconds <= 8
    with pytest.raises(ProviderTimeout):
        service_with(model).stream("acme", chat_request(), deadline=time.monotonic() + 2.5)
    assert len(model.requests) == 1


def test_a_client_that_stops_reading_still_gets_its_run_recorded(aws, monkeypatch):
    minted: list[str] = []
    mint = TokenSigner.mint

    def counting(self: TokenSigner, claims: Any) -> str:
        minted.append(claims.run_id)
        return mint(self, claims)

    monkeypatch.setattr(TokenSigner, "mint", counting)
    model = ScriptedModel(PIECES)
    chunks = service_with(model).stream("acme", chat_request())
    role = next(chunks)
    next(chunks)
    chunks.close()  # type: ignore[attr-defined]  # what a server does when its client disconnects

    assert model.finished
    [stored] = stored_runs(aws)
    assert json.loads(stored["task_output"]["S"]) == {"message": "Hello there, friend."}
    assert minted == [role.id.removeprefix("chatcmpl-")]  # minted, never delivered


def test_a_client_that_stops_reading_before_a_provider_failure_gets_nothing_stored(aws):
    model = ScriptedModel(PIECES[:2], fail=ProviderError("OpenAI-compatible", "it sent an error mid-answer: x."))
    chunks = service_with(model).stream("acme", chat_request())
    next(chunks)
    chunks.close()  # type: ignore[attr-defined]  # the failure after the client left is logged, not raised
    assert stored_runs(aws) == []


def test_the_whole_completion_is_unchanged_and_takes_a_deadline_too(aws):
    service = composition.chat_completions()
    response = service.create("acme", chat_request(stream=False), deadline=time.monotonic() + 10)
    assert response.choices[0].feedback_token and response.usage.total_tokens > 0
    with pytest.raises(ProviderTimeout):
        service.create("acme", chat_request(stream=False), deadline=time.monotonic() + 1)
