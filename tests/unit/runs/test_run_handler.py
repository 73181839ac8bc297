"""The run function: registration, runs with each kind of version, streaming, and failure handling."""

from __future__ import annotations

import json

import pytest

from agentfeedback.core.streaming import StreamedResponse
from agentfeedback.tokens.signer import TokenSigner
from tests.helpers import load_event

INPUT_SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
OUTPUT_SCHEMA = {
    "type": "object",
    "properties": {"country": {"type": "string"}, "population": {"type": "integer", "minimum": 0}},
    "required": ["country", "population"],
}


def call(invoke, name, body=None, path=None, tenant=None):
    return invoke("run", load_event(f"run/{name}.json", body=body, tenant=tenant, path=path))


def register(invoke, agent_id="city-facts", output_schema=OUTPUT_SCHEMA, tenant=None):
    body = {"id": agent_id, "input_schema": INPUT_SCHEMA, "output_schema": output_schema}
    return call(invoke, "register_agent", body, tenant=tenant)


def run(invoke, version, schema_id="1", agent_id="city-facts", tenant=None, **extra):
    body = {"task_input": {"city": "Paris"}, "version": version, **extra}
    return call(invoke, "run_agent", body, path={"schema_id": schema_id, "agent_id": agent_id}, tenant=tenant)


OFFLINE = {"model": "offline", "instructions": "Give facts about the city.", "temperature": 0}


def test_same_schemas_give_the_same_schema_id(aws, invoke):
    first = register(invoke)[2]
    assert first["id"] == "city-facts" and first["schema_id"] == 1
    assert register(invoke)[2] == first
    changed = register(invoke, output_schema={**OUTPUT_SCHEMA, "required": ["country"]})[2]
    assert changed["schema_id"] == 2 and changed["uid"] == first["uid"]


def test_run_with_inline_version_returns_valid_output_and_a_working_token(aws, invoke):
    register(invoke)
    status, _, body = run(invoke, OFFLINE, metadata={"session": "s1"})
    assert status == 200, body
    assert set(body) == {"id", "task_output", "version", "duration_seconds", "cost_usd", "metadata", "feedback_token"}
    assert isinstance(body["task_output"]["country"], str) and body["task_output"]["population"] >= 0
    assert body["version"]["properties"] == OFFLINE
    assert body["cost_usd"] == 0 and body["metadata"] == {"session": "s1"}
    claims = aws.verifier().verify(body["feedback_token"])
    assert (claims.tenant, claims.agent_id, claims.run_id, claims.version_id) == (
        "acme",
        "city-facts",
        body["id"],
        body["version"]["id"],
    )
    stored = aws.dynamodb.get_item(TableName="RunsTable", Key={"run_id": {"S": body["id"]}})["Item"]
    assert json.loads(stored["task_output"]["S"]) == body["task_output"]
    assert stored["model"]["S"] == "offline" and "expires_at" in stored


def test_saved_version_and_environment_resolve_to_the_same_version_id(aws, invoke):
    register(invoke)
    saved = call(invoke, "save_version", OFFLINE)[2]
    assert saved["number"] == 1
    assert call(invoke, "save_version", OFFLINE)[2]["number"] == 1  # same properties, same version
    inline = run(invoke, OFFLINE)[2]
    by_number = run(invoke, 1)[2]
    assert call(invoke, "bind_environment", {"version": 1})[0] == 200
    by_env = run(invoke, "production")[2]
    assert inline["version"]["id"] == by_number["version"]["id"] == by_env["version"]["id"] == saved["id"]


def list_versions(invoke):
    return invoke("run", load_event("run/list_versions.json"))


def test_versions_list_shows_each_saved_version_and_the_bound_environments(aws, invoke):
    register(invoke)
    first = call(invoke, "save_version", OFFLINE)[2]
    second = call(invoke, "save_version", {**OFFLINE, "temperature": 1})[2]
    call(invoke, "bind_environment", {"version": 1})
    status, _, body = list_versions(invoke)
    assert status == 200, body
    production = {
        "environment": "production",
        "version": 1,
        "version_id": first["id"],
        "weight": 100,
        "canary": None,
        "previous_version": None,
    }
    assert body == {
        "versions": [first, second],
        "environments": {"production": 1},
        "deployments": {"production": production},
    }
    assert set(first) == {"number", "id", "properties", "created_at"}


def test_binding_an_environment_answers_the_version_it_points_at(aws, invoke):
    register(invoke)
    saved = call(invoke, "save_version", OFFLINE)[2]
    status, _, body = call(invoke, "bind_environment", {"version": 1})
    assert status == 200, body
    assert body == {
        "environment": "production",
        "version": 1,
        "version_id": saved["id"],
        "weight": 100,
        "canary": None,
        "previous_version": None,
    }


def test_unknown_environment_and_version_are_clear_4xx(aws, invoke):
    register(invoke)
    status, _, body = run(invoke, "staging")
    assert status == 404 and "staging" in body["error"]["message"]
    assert run(invoke, 7)[0] == 404
    assert run(invoke, "nightly")[0] == 422


def test_unknown_model_is_400_listing_available_models(aws, invoke):
    register(invoke)
    status, _, body = run(invoke, {"model": "no-such-model"})
    assert status == 400 and "offline" in body["error"]["message"]


def test_input_not_matching_schema_is_422(aws, invoke):
    register(invoke)
    event = load_event("run/run_agent.json", body={"task_input": {"town": 3}, "version": OFFLINE})
    status, _, body = invoke("run", event)
    assert status == 422 and "task_input" in body["error"]["message"]


def test_unregistered_schema_is_404(aws, invoke):
    status, _, body = run(invoke, OFFLINE, schema_id="9")
    assert status == 404 and "schema 9" in body["error"]["message"]


def test_stream_returns_events_whose_last_is_the_full_response(aws, invoke):
    register(invoke)
    event = load_event("run/run_agent.json", body={"task_input": {"city": "Paris"}, "version": OFFLINE, "stream": True})
    from tests.helpers import FakeContext, load_handler

    # What a streaming server gets (handle): one chunk per event, each a whole SSE event.
    streamed = load_handler("run").handle(event, FakeContext())
    assert isinstance(streamed, StreamedResponse) and streamed.status_code == 200
    assert streamed.headers["Content-Type"] == "text/event-stream" and streamed.headers["Cache-Control"] == "no-store"
    chunks = list(streamed.body)
    assert all(chunk.startswith(b"data: ") and chunk.endswith(b"\n\n") for chunk in chunks)
    events = [json.loads(chunk.removeprefix(b"data: ")) for chunk in chunks]
    assert "duration_seconds" not in events[0]
    assert events[-1]["feedback_token"].startswith("fb_") and events[-1]["duration_seconds"] >= 0
    # A direct invoke (lambda_handler) gets the same events whole.
    whole = load_handler("run").lambda_handler(
        load_event("run/run_agent.json", body=json.loads(event["body"])), FakeContext()
    )
    assert whole["statusCode"] == 200 and whole["multiValueHeaders"]["Content-Type"] == ["text/event-stream"]
    assert [json.loads(text) for text in whole["body"].removeprefix("data: ").split("\n\ndata: ")][-1]["feedback_token"]


def test_other_tenant_in_path_is_forbidden(aws, invoke):
    body = {"id": "x", "input_schema": {}, "output_schema": {}}
    assert call(invoke, "register_agent", body, path={"tenant": "acme"})[0] == 200
    status, _, response = call(invoke, "register_agent", body, path={"tenant": "globex"})
    assert status == 403 and response["error"]["code"] == "forbidden"


def test_agents_are_isolated_between_tenants(aws, invoke):
    register(invoke, tenant="acme")
    status, _, _ = run(invoke, OFFLINE, tenant="globex")
    assert status == 404


def test_output_survives_a_token_failure(aws, invoke, monkeypatch):
    register(invoke)

    def broken_mint(self, claims):
        raise RuntimeError("KMS is down")

    monkeypatch.setattr(TokenSigner, "mint", broken_mint)
    status, _, body = run(invoke, OFFLINE)
    assert status == 200 and body["feedback_token"] is None
    assert body["task_output"]["country"]


@pytest.mark.parametrize("bad", [{"task_input": {"city": "x"}}, {"version": OFFLINE}, {"task_input": [], "version": 1}])
def test_malformed_run_requests_are_422(aws, invoke, bad):
    register(invoke)
    status, _, body = invoke("run", load_event("run/run_agent.json", body=bad))
    assert status == 422, body


def test_client_chosen_run_id_must_be_a_fresh_uuid7_and_unused(aws, invoke):
    from agentfeedback.runs.store import new_run_id

    register(invoke)
    for stale in ("not-a-uuid", "6f1c1c52-2f43-4c3e-9a4b-5d0f3f0b7a11", "01800000-0000-7000-8000-000000000000"):
        status, _, body = run(invoke, OFFLINE, id=stale)
        assert status == 422 and "UUID" in body["error"]["message"], stale
    fresh = new_run_id()
    assert run(invoke, OFFLINE, id=fresh)[2]["id"] == fresh
    status, _, body = run(invoke, OFFLINE, id=fresh)
    assert status == 409 and body["error"]["code"] == "conflict"


@pytest.mark.parametrize(
    ("schema", "mentions"),
    [
        ({"$ref": "file:///etc/hostname"}, "$ref"),
        ({"type": "object", "properties": {"a": {"$ref": "http://127.0.0.1:9/x.json"}}}, "$ref"),
        ({"type": "string", "pattern": "("}, "not a valid JSON Schema"),
        ({"type": "object", "description": "x" * 70_000}, "KiB"),
    ],
)
def test_unsafe_or_invalid_schemas_are_refused_at_registration(aws, invoke, schema, mentions):
    status, _, body = register(invoke, output_schema=schema)
    assert status == 422, body
    assert mentions in body["error"]["message"]


@pytest.mark.parametrize("version", ["²", "9" * 5000, "v1"])
def test_odd_version_strings_are_4xx(aws, invoke, version):
    register(invoke)
    assert run(invoke, version)[0] in (404, 422)


def test_large_metadata_is_stored_truncated_and_flagged(aws, invoke):
    register(invoke)
    status, _, body = run(invoke, OFFLINE, metadata={"blob": "é" * 30_000})
    assert status == 200 and body["feedback_token"]
    stored = aws.dynamodb.get_item(TableName="RunsTable", Key={"run_id": {"S": body["id"]}})["Item"]
    assert stored["metadata_truncated"]["BOOL"] is True
    assert len(stored["metadata"]["S"].encode()) <= 20_000


def test_retry_gets_only_the_time_left_and_is_skipped_without_it():
    import time as clock

    from agentfeedback.core.errors import InvalidModelOutput, ProviderTimeout
    from agentfeedback.providers.base import ChatMessage, Completion, CompletionRequest
    from agentfeedback.runs.deadlines import FINISHING_SECONDS
    from agentfeedback.runs.runner import generate_output

    budgets: list[float | None] = []

    def slow_invalid(request: CompletionRequest) -> Completion:
        budgets.append(request.timeout_seconds)
        return Completion(text="not json", input_tokens=1, output_tokens=1, model=request.model)

    request = CompletionRequest(model="m", messages=[ChatMessage(role="user", content="x")], json_schema={})
    with pytest.raises(InvalidModelOutput):
        generate_output(slow_invalid, request, {"type": "object"}, deadline=clock.monotonic() + 12)
    assert len(budgets) == 2 and all(b is not None and b <= 12 - FINISHING_SECONDS for b in budgets)

    def sleepy_invalid(request: CompletionRequest) -> Completion:
        clock.sleep(0.7)
        return slow_invalid(request)

    budgets.clear()
    with pytest.raises(InvalidModelOutput):  # time for one attempt only: no retry, still our 502
        generate_output(
            sleepy_invalid, request, {"type": "object"}, deadline=clock.monotonic() + FINISHING_SECONDS + 1.5
        )
    assert len(budgets) == 1

    with pytest.raises(ProviderTimeout):  # no time at all: a 504 before calling the model
        generate_output(slow_invalid, request, {"type": "object"}, deadline=clock.monotonic() + 1)


@pytest.mark.parametrize(
    "spell",
    [str.upper, lambda text: "{" + text + "}", lambda text: "urn:uuid:" + text, lambda text: text.replace("-", "")],
    ids=["upper-case", "braces", "urn", "no-dashes"],
)
def test_one_run_one_id_other_spellings_of_a_uuid_are_refused(aws, invoke, spell):
    from agentfeedback.runs.store import new_run_id

    register(invoke)
    fresh = new_run_id()
    status, _, body = run(invoke, OFFLINE, id=spell(fresh))
    assert status == 422 and fresh in body["error"]["message"], body  # names the canonical form to send
    assert run(invoke, OFFLINE, id=fresh)[2]["id"] == fresh
    # Once stored, any spelling still finds that one run and no other.
    assert len(aws.dynamodb.scan(TableName="RunsTable")["Items"]) == 1


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ({"model": "offline", "instructions": ""}, {"model": "offline"}),
        ({"model": "offline", "instructions": None}, {"model": "offline"}),
        ({"model": "offline", "provider": "openai"}, {"model": "offline"}),
        ({"model": "offline", "temperature": 1}, {"model": "offline", "temperature": 1.0}),
        (
            {"model": "offline", "instructions": "Complete the task described by the input and output schemas."},
            {"model": "offline"},
        ),
    ],
    ids=["empty-instructions", "null-instructions", "provider", "int-temperature", "default-instructions"],
)
def test_one_version_one_id_whatever_the_sdk_sends(aws, invoke, first, second):
    register(invoke)
    inline = [run(invoke, properties)[2]["version"]["id"] for properties in (first, second)]
    saved = [call(invoke, "save_version", properties)[2] for properties in (first, second)]
    assert inline[0] == inline[1] == saved[0]["id"] == saved[1]["id"]
    assert saved[0]["number"] == saved[1]["number"] == 1


def test_different_behaviour_is_a_different_version(aws, invoke):
    register(invoke)
    ids = {
        run(invoke, properties)[2]["version"]["id"]
        for properties in (
            {"model": "offline"},
            {"model": "offline", "instructions": "Be brief."},
            {"model": "offline", "temperature": 0.5},
            {"model": "offline", "max_tokens": 100},
        )
    }
    assert len(ids) == 4
