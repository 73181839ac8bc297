"""Streamed answers: the OpenAI-compatible provider against a real local server streaming server-sent events,
Bedrock's ConverseStream through botocore's Stubber, the offline model in pieces, and the router in front."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import EventStreamError
from botocore.stub import Stubber

from agentfeedback.core.errors import DomainError, ProviderError, ProviderTimeout, UnknownModel
from agentfeedback.core.http_api import status_of
from agentfeedback.providers import offline
from agentfeedback.providers.base import ChatMessage, Completion, CompletionRequest, StreamEvent, TextDelta
from agentfeedback.providers.bedrock import BedrockProvider
from agentfeedback.providers.offline import OfflineModel
from agentfeedback.providers.offline.model import stream_pieces
from agentfeedback.providers.openai_compatible import OpenAICompatibleProvider
from agentfeedback.providers.router import ModelRouter
from agentfeedback.providers.settings import ProviderSettings
from tests.fake_openai_server import (
    FakeOpenAIServer,
    Reply,
    StreamedReply,
    chat_completion,
    completion_chunk,
    streamed_completion,
)

KEY = "sk-test-0123456789abcdef"
CONVERSATION = [
    ChatMessage("system", "You are a support agent."),
    ChatMessage("user", "My order #123 has not arrived."),
]
SCHEMA = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}


def ask(model: str = "gpt-4o-mini", **options: Any) -> CompletionRequest:
    return CompletionRequest(model=model, messages=CONVERSATION, **options)


def split(events: Iterator[StreamEvent]) -> tuple[list[str], Completion]:
    """The deltas' texts and the closing Completion; fails unless the stream ends with exactly one Completion."""
    *deltas, last = list(events)
    assert all(isinstance(delta, TextDelta) for delta in deltas)
    assert isinstance(last, Completion)
    return [delta.text for delta in deltas if isinstance(delta, TextDelta)], last


# ---------------------------------------------------------------- OpenAI-compatible provider


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as running:
        yield running


def openai(server: FakeOpenAIServer, **options: Any) -> OpenAICompatibleProvider:
    return OpenAICompatibleProvider(server.base_url, **{"api_key": KEY, **options})


def test_openai_stream_asks_for_a_stream_with_usage_and_yields_each_delta(server: FakeOpenAIServer) -> None:
    server.reply(StreamedReply(streamed_completion(["It ", "ships ", "today."], prompt_tokens=40, completion_tokens=7)))

    deltas, completion = split(openai(server).stream(ask(temperature=0.2), "gpt-4o-mini"))

    assert deltas == ["It ", "ships ", "today."]
    assert completion == Completion("It ships today.", 40, 7, "gpt-4o-mini-2024-07-18")
    [received] = server.requests
    assert received.headers["accept"] == "text/event-stream"
    assert received.json()["stream"] is True and received.json()["stream_options"] == {"include_usage": True}
    assert received.json()["temperature"] == 0.2 and received.json()["model"] == "gpt-4o-mini"


def test_openai_stream_yields_a_delta_before_the_upstream_has_finished(server: FakeOpenAIServer) -> None:
    reply = StreamedReply(streamed_completion(["first ", "second"]), hold_after=2)  # the role chunk, "first "
    server.reply(reply)

    events = openai(server).stream(ask(), "gpt-4o-mini")
    first = next(events)

    assert first == TextDelta("first ")
    assert not reply.finished.is_set()  # the server still holds "second" and the end of the answer
    reply.release.set()
    deltas, completion = split(events)
    assert deltas == ["second"] and completion.text == "first second"
    assert reply.finished.is_set()


def test_openai_stream_without_usage_estimates_it(server: FakeOpenAIServer) -> None:
    events = [completion_chunk("abcdefgh"), completion_chunk(finish_reason="stop"), "[DONE]"]
    server.reply(StreamedReply(events))
    _, completion = split(openai(server).stream(ask(), "gpt-4o-mini"))
    assert completion.output_tokens == 2 and completion.input_tokens > 0


def test_openai_stream_error_at_connect_raises_when_called_with_retry_after(server: FakeOpenAIServer) -> None:
    server.reply(Reply(429, {"error": {"message": "Rate limit reached"}}, headers={"Retry-After": "7"}))
    with pytest.raises(ProviderError) as caught:
        openai(server).stream(ask(), "gpt-4o-mini")  # not iterated: the refusal comes with the call
    assert "HTTP 429" in caught.value.message and "Rate limit reached" in caught.value.message
    assert caught.value.headers == {"Retry-After": "7"}


def test_openai_error_event_mid_stream_is_a_provider_error_with_the_key_redacted(server: FakeOpenAIServer) -> None:
    error = {"error": {"message": f"Internal error for key {KEY} (sk-abc***xyz)", "type": "server_error"}}
    server.reply(StreamedReply([completion_chunk("Partial "), error]))

    events = openai(server).stream(ask(), "gpt-4o-mini")
    assert next(events) == TextDelta("Partial ")
    with pytest.raises(ProviderError) as caught:
        next(events)
    assert (status_of(caught.value), caught.value.code) == (502, "provider_error")
    assert "mid-answer" in caught.value.message and "Internal error for key" in caught.value.message
    assert KEY not in caught.value.message and "sk-abc" not in caught.value.message


def test_openai_connection_cut_mid_stream_is_a_provider_error(server: FakeOpenAIServer) -> None:
    server.reply(StreamedReply(streamed_completion(["one ", "two"]), cut_after=2))
    events = openai(server).stream(ask(), "gpt-4o-mini")
    assert next(events) == TextDelta("one ")
    with pytest.raises(ProviderError):
        list(events)


@pytest.mark.parametrize(
    ("event", "says"),
    [("<html>oops</html>", "not valid JSON"), ("[1, 2]", "not a JSON object")],
    ids=["not-json", "not-an-object"],
)
def test_openai_event_that_is_not_a_chunk_is_a_provider_error(server: FakeOpenAIServer, event: str, says: str) -> None:
    server.reply(StreamedReply([completion_chunk("Hi"), event]))
    events = openai(server).stream(ask(), "gpt-4o-mini")
    next(events)
    with pytest.raises(ProviderError, match=says):
        next(events)


def test_openai_streamed_refusal_is_reported(server: FakeOpenAIServer) -> None:
    refusal = completion_chunk()
    refusal["choices"][0]["delta"] = {"refusal": "I can't help with that."}
    server.reply(StreamedReply([refusal, completion_chunk(finish_reason="stop"), "[DONE]"]))
    with pytest.raises(ProviderError, match="refused: I can't help with that"):
        list(openai(server).stream(ask(), "gpt-4o-mini"))


def test_openai_server_that_ignores_stream_and_answers_json_is_one_delta(server: FakeOpenAIServer) -> None:
    server.reply(Reply(body=chat_completion("Whole answer.", prompt_tokens=5, completion_tokens=2)))
    deltas, completion = split(openai(server).stream(ask(), "gpt-4o-mini"))
    assert deltas == ["Whole answer."] and (completion.input_tokens, completion.output_tokens) == (5, 2)


def test_openai_stream_waits_for_each_piece_no_longer_than_the_provider_timeout(server: FakeOpenAIServer) -> None:
    server.reply(StreamedReply(streamed_completion(["quick ", "slow"]), gap_seconds=5))
    events = openai(server, timeout_seconds=0.3).stream(ask(), "gpt-4o-mini")
    started = time.monotonic()
    with pytest.raises(ProviderTimeout) as caught:
        list(events)
    assert time.monotonic() - started < 3
    assert (status_of(caught.value), caught.value.code) == (504, "provider_timeout")
    assert "0.3 seconds" in caught.value.message


def test_openai_stream_ends_at_the_callers_deadline_though_each_piece_comes_in_time(
    server: FakeOpenAIServer,
) -> None:
    pieces = [f"word{number} " for number in range(40)]
    server.reply(StreamedReply(streamed_completion(pieces), gap_seconds=0.1))  # 4 s in all, 0.1 s apart
    started = time.monotonic()
    events = openai(server, timeout_seconds=25).stream(ask(timeout_seconds=0.8), "gpt-4o-mini")
    received: list[StreamEvent] = []
    with pytest.raises(ProviderTimeout, match=r"0\.8 seconds"):
        for event in events:
            received.append(event)
    assert time.monotonic() - started < 2.5
    assert 2 <= len(received) < 40  # pieces came, then the deadline ended the answer


# ---------------------------------------------------------------- Bedrock ConverseStream


class ScriptedEventStream:
    """Stands in for botocore's EventStream: parsed events, or an exception as botocore raises it."""

    def __init__(self, events: list[dict[str, Any] | Exception]) -> None:
        self.events = events
        self.closed = False

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for event in self.events:
            if isinstance(event, Exception):
                raise event
            yield event

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def bedrock() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client("bedrock-runtime", region_name="us-east-1")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def stub_stream(
    client: Any, stubber: Stubber, events: list[Any], expected: dict[str, Any] | None = None
) -> ScriptedEventStream:
    """Stubber checks the call's parameters (when expected); its response must be a dict, so a hook hands in the
    event stream."""
    stream = ScriptedEventStream(events)
    stubber.add_response("converse_stream", {"stream": {"messageStart": {"role": "assistant"}}}, expected)

    def swap(parsed: dict[str, Any], **kwargs: Any) -> None:
        parsed["stream"] = stream

    client.meta.events.register("after-call.bedrock-runtime.ConverseStream", swap)
    return stream


def delta(text: str) -> dict[str, Any]:
    return {"contentBlockDelta": {"contentBlockIndex": 0, "delta": {"text": text}}}


def closing(input_tokens: int = 30, output_tokens: int = 9, stop: str = "end_turn") -> list[dict[str, Any]]:
    return [
        {"contentBlockStop": {"contentBlockIndex": 0}},
        {"messageStop": {"stopReason": stop}},
        {
            "metadata": {
                "usage": {"inputTokens": input_tokens, "outputTokens": output_tokens, "totalTokens": 39},
                "metrics": {"latencyMs": 420},
            }
        },
    ]


def test_bedrock_converse_stream_sends_converse_arguments_and_yields_each_delta(bedrock: Any) -> None:
    client, stubber = bedrock
    provider = BedrockProvider(client)
    request = ask(temperature=0.5, max_tokens=200)
    events = [{"messageStart": {"role": "assistant"}}, delta("Sorry "), delta("about that!"), *closing(31, 8)]
    stream = stub_stream(client, stubber, events, provider.converse_arguments(request, "amazon.nova-micro-v1:0"))

    deltas, completion = split(provider.stream(request, "amazon.nova-micro-v1:0"))

    assert deltas == ["Sorry ", "about that!"]
    assert completion == Completion("Sorry about that!", 31, 8, "amazon.nova-micro-v1:0")
    assert stream.closed


def test_bedrock_stream_strips_a_code_fence_from_the_json_answer(bedrock: Any) -> None:
    client, stubber = bedrock
    provider = BedrockProvider(client)
    request = ask(json_schema=SCHEMA)
    stub_stream(client, stubber, [delta("```json\n"), delta('{"answer": "today"}'), delta("\n```"), *closing()])
    deltas, completion = split(provider.stream(request, "m"))
    assert "".join(deltas).startswith("```json") and completion.text == '{"answer": "today"}'


def test_bedrock_exception_event_mid_stream_is_mapped_like_the_same_error_of_converse(bedrock: Any) -> None:
    client, stubber = bedrock
    throttled = EventStreamError(
        {"Error": {"Code": "throttlingException", "Message": "Too many tokens, please wait."}}, "ConverseStream"
    )
    stream = stub_stream(client, stubber, [delta("Half an "), throttled])

    events = BedrockProvider(client).stream(ask(), "amazon.nova-micro-v1:0")
    assert next(events) == TextDelta("Half an ")
    with pytest.raises(ProviderError) as caught:
        next(events)
    assert "ThrottlingException" in caught.value.message and caught.value.headers == {"Retry-After": "2"}
    assert stream.closed


def test_bedrock_model_stream_error_names_its_code(bedrock: Any) -> None:
    client, stubber = bedrock
    broken = EventStreamError(
        {"Error": {"Code": "modelStreamErrorException", "Message": "The model stopped."}}, "ConverseStream"
    )
    stub_stream(client, stubber, [broken])
    with pytest.raises(ProviderError, match=r"ModelStreamErrorException.*The model stopped"):
        list(BedrockProvider(client).stream(ask(), "m"))


def test_bedrock_refusal_at_the_call_raises_before_any_event(bedrock: Any) -> None:
    client, stubber = bedrock
    stubber.add_client_error("converse_stream", "AccessDeniedException", "User: arn:aws:iam::123456789012:x", 403)
    with pytest.raises(ProviderError) as caught:
        BedrockProvider(client).stream(ask(), "amazon.nova-micro-v1:0")
    assert "model access" in caught.value.message and "123456789012" not in caught.value.message


def test_bedrock_stream_blocked_by_a_content_filter(bedrock: Any) -> None:
    client, stubber = bedrock
    stub_stream(client, stubber, closing(stop="guardrail_intervened"))
    with pytest.raises(ProviderError, match="content filter"):
        list(BedrockProvider(client).stream(ask(), "m"))


def test_bedrock_stream_waits_for_each_event_no_longer_than_its_timeout() -> None:
    class SilentStream(ScriptedEventStream):
        def __iter__(self) -> Iterator[dict[str, Any]]:
            yield delta("Hello")
            time.sleep(3)
            yield from closing()

    class Client:
        def converse_stream(self, **arguments: Any) -> dict[str, Any]:
            return {"stream": SilentStream([])}

    events = BedrockProvider(Client(), timeout_seconds=0.3).stream(ask(), "m")
    assert next(events) == TextDelta("Hello")
    started = time.monotonic()
    with pytest.raises(ProviderTimeout, match=r"0\.3 seconds"):
        next(events)
    assert time.monotonic() - started < 2


# ---------------------------------------------------------------- offline model


def test_offline_stream_is_the_complete_answer_in_deterministic_pieces() -> None:
    request = CompletionRequest("offline", CONVERSATION, json_schema=SCHEMA)
    whole = OfflineModel().complete(request, "offline")

    deltas, completion = split(OfflineModel().stream(request, "offline"))
    again, _ = split(OfflineModel().stream(request, "offline"))

    assert completion == whole and "".join(deltas) == whole.text
    assert deltas == again == stream_pieces(whole.text) and len(deltas) > 1


@pytest.mark.parametrize(
    ("text", "pieces"),
    [
        ("Hello there, you", ["Hello", " there,", " you"]),
        ('{"a": "b c"}', ['{"a":', ' "b', ' c"}']),
        ("  lead and trail  ", ["  lead", " and", " trail", "  "]),
        ("", []),
    ],
)
def test_offline_pieces_are_words_with_the_whitespace_before_them(text: str, pieces: list[str]) -> None:
    assert stream_pieces(text) == pieces and "".join(pieces) == text


def test_offline_stream_pauses_the_configured_delay_between_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    pauses: list[float] = []
    monkeypatch.setattr(offline.model.time, "sleep", pauses.append)
    request = CompletionRequest("offline", [ChatMessage("user", "Tell me about the weather")])

    deltas, _ = split(OfflineModel(chunk_delay_seconds=0.25).stream(request, "offline"))
    assert pauses == [0.25] * (len(deltas) - 1)  # none before the first piece

    pauses.clear()
    split(OfflineModel().stream(request, "offline"))
    assert pauses == []  # off by default


def test_offline_stream_ends_at_the_callers_deadline() -> None:
    request = CompletionRequest("offline", [ChatMessage("user", "one two three four")], timeout_seconds=0.25)
    events = OfflineModel(chunk_delay_seconds=0.1).stream(request, "offline")
    received: list[StreamEvent] = []
    with pytest.raises(ProviderTimeout, match=r"offline provider did not answer within 0\.25 seconds"):
        for event in events:
            received.append(event)
    assert 1 <= len(received) < len(stream_pieces(OfflineModel().complete(request, "offline").text))


def test_offline_schema_error_raises_when_stream_is_called() -> None:
    with pytest.raises(ProviderError, match="refers to itself"):
        OfflineModel().stream(CompletionRequest("offline", CONVERSATION, json_schema={"allOf": [{"$ref": "#"}]}), "o")


# ---------------------------------------------------------------- router


class Streaming:
    def __init__(self, name: str, events: list[StreamEvent | DomainError] | None = None) -> None:
        self.name = name
        self.events = events
        self.calls: list[tuple[str, str]] = []

    def complete(self, request: CompletionRequest, provider_model: str) -> Completion:
        raise AssertionError("stream() was expected")

    def stream(self, request: CompletionRequest, provider_model: str) -> Iterator[StreamEvent]:
        self.calls.append((request.model, provider_model))
        return self._events()

    def _events(self) -> Iterator[StreamEvent]:
        default = [TextDelta(f"from {self.name}"), Completion(f"from {self.name}", 1, 1, "m")]
        for event in default if self.events is None else self.events:
            if isinstance(event, DomainError):
                raise event
            yield event


EVERYTHING = ProviderSettings(openai_api_key=KEY, bedrock_enabled=True)


@pytest.mark.parametrize(
    ("model", "provider", "provider_model"),
    [
        ("offline", "offline", "offline"),
        ("gpt-4o-mini-latest", "openai_compatible", "gpt-4o-mini"),
        ("openai/my-finetune", "openai_compatible", "my-finetune"),
        ("claude-3-5-haiku", "bedrock", "us.anthropic.claude-3-5-haiku-20241022-v1:0"),
    ],
)
def test_router_streams_each_model_from_its_provider(model: str, provider: str, provider_model: str) -> None:
    fakes = {name: Streaming(name) for name in ("offline", "openai_compatible", "bedrock")}
    deltas, completion = split(ModelRouter(EVERYTHING, dict(fakes)).stream(ask(model)))
    assert deltas == [f"from {provider}"] and completion.text == f"from {provider}"
    assert fakes[provider].calls == [(model, provider_model)]


def test_router_stream_of_an_unknown_model_raises_when_called() -> None:
    with pytest.raises(UnknownModel):
        ModelRouter(EVERYTHING, {}).stream(ask("no-such-model"))


def test_router_stream_raises_a_failure_before_the_first_event_when_called() -> None:
    failing = Streaming("openai_compatible", [ProviderError("OpenAI-compatible", "it sent an error mid-answer.")])
    with pytest.raises(ProviderError, match="mid-answer"):
        ModelRouter(EVERYTHING, {"openai_compatible": failing}).stream(ask())


def test_router_stream_raises_a_later_failure_from_the_iterator() -> None:
    late = Streaming("openai_compatible", [TextDelta("Hi"), ProviderError("OpenAI-compatible", "broke.")])
    events = ModelRouter(EVERYTHING, {"openai_compatible": late}).stream(ask())
    assert next(events) == TextDelta("Hi")
    with pytest.raises(ProviderError, match="broke"):
        next(events)


def test_router_stream_that_ends_without_its_completion_is_a_provider_error() -> None:
    empty = Streaming("openai_compatible", [])
    with pytest.raises(ProviderError, match="ended without an answer"):
        ModelRouter(EVERYTHING, {"openai_compatible": empty}).stream(ask())


def test_router_builds_the_offline_model_with_the_configured_delay(monkeypatch: pytest.MonkeyPatch) -> None:
    pauses: list[float] = []
    monkeypatch.setattr(offline.model.time, "sleep", pauses.append)
    router = ModelRouter(ProviderSettings.from_env({"OFFLINE_STREAM_DELAY_MS": "40"}))
    deltas, _ = split(router.stream(CompletionRequest("offline", [ChatMessage("user", "a b c")])))
    assert pauses == [0.04] * (len(deltas) - 1) and len(deltas) > 1


def test_router_stream_through_a_real_server_yields_before_the_server_finished(server: FakeOpenAIServer) -> None:
    reply = StreamedReply(streamed_completion(["a ", "b"]), hold_after=2)
    server.reply(reply)
    router = ModelRouter(ProviderSettings(openai_base_url=server.base_url, openai_api_key=KEY))
    events = router.stream(ask())  # returns once the first delta arrived
    assert not reply.finished.is_set()
    reply.release.set()
    assert [event.text for event in events if isinstance(event, TextDelta)] == ["a ", "b"]


# ---------------------------------------------------------------- settings


def test_offline_stream_delay_setting_is_read_and_checked() -> None:
    assert ProviderSettings.from_env({}).offline_stream_delay_ms == 0
    assert ProviderSettings.from_env({"OFFLINE_STREAM_DELAY_MS": "150"}).offline_stream_delay_ms == 150
    for bad in ("-1", "0.5", "fast", "²", "10001"):
        with pytest.raises(RuntimeError, match="OFFLINE_STREAM_DELAY_MS"):
            ProviderSettings.from_env({"OFFLINE_STREAM_DELAY_MS": bad})
