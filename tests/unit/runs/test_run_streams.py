"""AgentRunner.stream: what the run function's streaming path (part D's wire) relies on.

Checks before the first event raise when stream() is called; partial outputs come as the model answers; the run
is stored and its token minted before the last event; a failure mid-answer stores nothing; a client that stops
reading still gets its run recorded. Moto in-process; the models are the real offline model, scripted streams,
and the real OpenAI-compatible provider against a local server."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from aws_lambda_powertools import Metrics

from agentfeedback import composition
from agentfeedback.core.errors import (
    Conflict,
    InvalidModelOutput,
    NotFound,
    ProviderError,
    ProviderTimeout,
    UnknownModel,
    ValidationFailed,
)
from agentfeedback.core.http_api import status_of
from agentfeedback.runs import runner as runner_module
from agentfeedback.runs.models import PartialRun, RunRequest, RunResponse
from agentfeedback.runs.runner import AgentRunner
from agentfeedback.runs.store import new_run_id
from agentfeedback.tokens.signer import TokenSigner
from tests.fake_openai_server import FakeOpenAIServer, Reply, StreamedReply, streamed_completion
from tests.helpers import ScriptedModel

INPUT_SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
OUTPUT_SCHEMA = {
    "type": "object",
    "properties": {"country": {"type": "string"}, "population": {"type": "integer", "minimum": 0}},
    "required": ["country", "population"],
}
OFFLINE = {"model": "offline", "instructions": "Give facts about the city.", "temperature": 0}
ANSWER = ['{"country": "Fr', 'ance", "popu', 'lation": 2100', "000}"]


def run_request(version: Any = OFFLINE, **extra: Any) -> RunRequest:
    return RunRequest.model_validate({"task_input": {"city": "Paris"}, "version": version, **extra})


@pytest.fixture
def runs(aws: Any) -> Any:
    composition.agent_registry().register("acme", "city-facts", INPUT_SCHEMA, OUTPUT_SCHEMA)
    return aws


def runner_with(stream: Any) -> AgentRunner:
    router = composition.model_router()
    return AgentRunner(
        composition.agent_registry(), router.complete, composition.run_recorder(), composition.run_store(), stream
    )


@pytest.fixture(autouse=True)
def no_metrics_left() -> Any:
    """The services record runs outside a handler, whose log_metrics would flush their metrics: drop them."""
    yield
    Metrics().clear_metrics()


def stored_runs(aws: Any) -> list[dict[str, Any]]:
    return aws.dynamodb.scan(TableName="RunsTable")["Items"]


def stored_output(aws: Any, run_id: str) -> Any:
    item = aws.dynamodb.get_item(TableName="RunsTable", Key={"run_id": {"S": run_id}}).get("Item")
    return None if item is None else json.loads(item["task_output"]["S"])


@pytest.fixture
def every_partial(monkeypatch: pytest.MonkeyPatch) -> None:
    """A partial output for every delta that changes it (in production: at most one each 50 ms)."""
    monkeypatch.setattr(runner_module, "PARTIAL_EVENT_INTERVAL_SECONDS", 0)


def test_streamed_run_sends_the_output_so_far_then_the_stored_run_with_its_token(runs, every_partial):
    model = ScriptedModel(ANSWER)
    *partials, last = list(runner_with(model).stream("acme", "city-facts", 1, run_request()))

    assert all(isinstance(event, PartialRun) for event in partials)
    assert [event.task_output for event in partials] == [
        {"country": "Fr"},
        {"country": "France"},  # the unfinished key "popu" is left out
        {"country": "France", "population": 2100},
        {"country": "France", "population": 2100000},
    ]
    assert isinstance(last, RunResponse) and last.task_output == {"country": "France", "population": 2100000}
    assert {event.id for event in partials} == {last.id}
    dumped = [event.model_dump(mode="json") for event in partials]
    assert all(set(event) == {"id", "task_output"} for event in dumped)  # no duration_seconds: partial to the SDKs
    claims = runs.verifier().verify(last.feedback_token)
    assert (claims.run_id, claims.agent_id, claims.version_id) == (last.id, "city-facts", last.version.id)
    assert stored_output(runs, last.id) == last.task_output


def test_the_partial_output_arrives_before_the_model_has_finished(runs):
    model = ScriptedModel(ANSWER)
    events = runner_with(model).stream("acme", "city-facts", 1, run_request())
    first = next(events)
    assert isinstance(first, PartialRun) and first.task_output == {"country": "Fr"}
    assert not model.finished and stored_runs(runs) == []
    assert isinstance(list(events)[-1], RunResponse)


def test_partial_outputs_are_sent_at_most_once_per_interval(runs, monkeypatch):
    monkeypatch.setattr(runner_module, "PARTIAL_EVENT_INTERVAL_SECONDS", 3600)
    events = list(runner_with(ScriptedModel(ANSWER)).stream("acme", "city-facts", 1, run_request()))
    assert [type(event) for event in events] == [PartialRun, RunResponse]


def test_the_last_event_comes_once_the_run_is_stored_and_its_token_minted(runs):
    for event in runner_with(ScriptedModel(ANSWER)).stream("acme", "city-facts", 1, run_request()):
        if isinstance(event, RunResponse):
            assert stored_output(runs, event.id) == event.task_output and event.feedback_token
        else:
            assert stored_runs(runs) == []


def test_a_streamed_offline_run_ends_as_the_whole_run_does(runs):
    whole = composition.agent_runner().run("acme", "city-facts", 1, run_request())
    *_, streamed = composition.agent_runner().stream("acme", "city-facts", 1, run_request())
    assert isinstance(streamed, RunResponse)
    assert streamed.task_output == whole.task_output and streamed.version == whole.version
    assert streamed.cost_usd == whole.cost_usd and streamed.id != whole.id
    assert len(stored_runs(runs)) == 2


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"schema_id": 9}, NotFound),
        ({"task_input": {"town": 3}}, ValidationFailed),
        ({"version": {"model": "no-such-model"}}, UnknownModel),
        ({"version": "staging"}, NotFound),
        ({"metadata": {"user_id": ["ana"]}}, ValidationFailed),
        ({"id": "not-a-uuid"}, ValidationFailed),
    ],
    ids=["unknown-schema", "bad-input", "unknown-model", "unbound-environment", "bad-end-user", "bad-run-id"],
)
def test_what_fails_before_the_first_event_raises_when_stream_is_called(runs, change, error):
    body = {"task_input": {"city": "Paris"}, "version": OFFLINE}
    body.update({key: value for key, value in change.items() if key != "schema_id"})
    runner = composition.agent_runner()  # the real router and offline model
    with pytest.raises(error):
        runner.stream("acme", "city-facts", change.get("schema_id", 1), RunRequest.model_validate(body))
    assert stored_runs(runs) == []


def test_a_used_run_id_is_a_conflict_when_stream_is_called(runs):
    run_id = new_run_id()
    list(runner_with(ScriptedModel(ANSWER)).stream("acme", "city-facts", 1, run_request(id=run_id)))
    model = ScriptedModel(ANSWER)
    with pytest.raises(Conflict):
        runner_with(model).stream("acme", "city-facts", 1, run_request(id=run_id))
    assert model.requests == []  # refused before the model was paid for


def test_a_provider_refusing_at_connect_raises_when_stream_is_called(runs, monkeypatch):
    with FakeOpenAIServer() as server:
        server.reply(Reply(401, {"error": {"message": "Incorrect API key provided"}}))
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-0123456789abcdef")
        composition.reset()
        with pytest.raises(ProviderError, match="HTTP 401"):
            composition.agent_runner().stream("acme", "city-facts", 1, run_request({"model": "gpt-4o-mini"}))
    assert stored_runs(runs) == []


def test_invalid_output_at_the_end_raises_after_the_partials_and_stores_nothing(runs, every_partial):
    model = ScriptedModel(['{"country": "France", ', '"population": "many"}'])
    events = runner_with(model).stream("acme", "city-facts", 1, run_request())
    assert isinstance(next(events), PartialRun)
    with pytest.raises(InvalidModelOutput) as caught:
        list(events)
    assert (status_of(caught.value), caught.value.code) == (502, "invalid_model_output")
    assert "population" in caught.value.message
    assert len(model.requests) == 1  # no retry once partial outputs are out
    assert stored_runs(runs) == []


def test_a_provider_failure_mid_answer_raises_from_the_iterator_and_stores_nothing(runs):
    model = ScriptedModel(ANSWER[:2], fail=ProviderError("OpenAI-compatible", "it sent an error mid-answer: boom."))
    events = runner_with(model).stream("acme", "city-facts", 1, run_request())
    assert isinstance(next(events), PartialRun)
    with pytest.raises(ProviderError, match="boom"):
        list(events)
    assert stored_runs(runs) == []


def test_the_model_gets_what_is_left_of_the_deadline_and_no_time_left_is_a_504_at_the_call(runs):
    model = ScriptedModel(ANSWER)
    list(runner_with(model).stream("acme", "city-facts", 1, run_request(), deadline=time.monotonic() + 10))
    [request] = model.requests
    assert request.timeout_seconds is not None and 7 < request.timeout_seconds <= 8  # 10 s less FINISHING_SECONDS

    with pytest.raises(ProviderTimeout):
        runner_with(model).stream("acme", "city-facts", 1, run_request(), deadline=time.monotonic() + 2.5)
    assert len(model.requests) == 1 and len(stored_runs(runs)) == 1


def test_a_deadline_passing_mid_answer_is_a_504_and_stores_nothing(runs, monkeypatch):
    pieces = ['{"country": "France", "population": ', *["1"] * 38, "}"]
    with FakeOpenAIServer() as server:
        server.reply(StreamedReply(streamed_completion(pieces), gap_seconds=0.1))  # 4 s in all
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-0123456789abcdef")
        composition.reset()
        started = time.monotonic()
        events = composition.agent_runner().stream(
            "acme", "city-facts", 1, run_request({"model": "gpt-4o-mini"}), deadline=started + 3.2
        )
        received = []
        with pytest.raises(ProviderTimeout) as caught:
            for event in events:
                received.append(event)
        assert time.monotonic() - started < 3.2  # ended with FINISHING_SECONDS still to spare
    assert status_of(caught.value) == 504 and received and isinstance(received[0], PartialRun)
    assert stored_runs(runs) == []


def test_a_client_that_stops_reading_still_gets_its_run_recorded(runs, monkeypatch):
    minted: list[str] = []
    mint = TokenSigner.mint

    def counting(self: TokenSigner, claims: Any) -> str:
        minted.append(claims.run_id)
        return mint(self, claims)

    monkeypatch.setattr(TokenSigner, "mint", counting)
    model = ScriptedModel(ANSWER)
    events = runner_with(model).stream("acme", "city-facts", 1, run_request())
    first = next(events)
    events.close()  # type: ignore[attr-defined]  # what a server does when its client disconnects

    assert model.finished  # the rest of the answer was read
    assert stored_output(runs, first.id) == {"country": "France", "population": 2100000}
    assert minted == [first.id]  # its token was minted, and never delivered


def test_a_client_that_stops_reading_before_invalid_output_gets_nothing_stored(runs):
    events = runner_with(ScriptedModel(['{"country": ', '"France"}'])).stream("acme", "city-facts", 1, run_request())
    next(events)
    events.close()  # type: ignore[attr-defined]  # the run failed after the client left: logged, nothing raised
    assert stored_runs(runs) == []


def test_a_stream_closed_before_its_first_event_records_nothing(runs):
    model = ScriptedModel(ANSWER)
    events = runner_with(model).stream("acme", "city-facts", 1, run_request())
    events.close()  # type: ignore[attr-defined]
    assert stored_runs(runs) == [] and not model.finished
