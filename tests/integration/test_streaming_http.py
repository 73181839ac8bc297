"""Streaming over real HTTP on the local stack (chunked transfer coding, SSE): the SDKs see events as they come,
the last one carrying a token that posts feedback; a client that leaves mid-stream; a provider failing mid-stream.

The provider is a fake OpenAI-compatible server (tests/fake_openai.py) streaming its deltas over time. Tests
marked `needs_streaming_services` need the services that yield deltas as the provider sends them (issue 15,
part S: `AgentRunner.stream`, `ChatCompletions.stream`); until those exist the run and chat functions answer a
stream whole after the model's last delta, and these tests are skipped.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
import requests
import workflowai
from pydantic import BaseModel

from agentfeedback.chat.service import ChatCompletions
from agentfeedback.runs.runner import AgentRunner
from tests.fake_openai import OUTPUT, FakeOpenAI
from tests.fuzz.local_stack import layer_module

pytestmark = pytest.mark.integration
needs_streaming_services = pytest.mark.skipif(
    not (hasattr(AgentRunner, "stream") and hasattr(ChatCompletions, "stream")),
    reason="needs the services that stream deltas (issue 15, part S)",
)
MODEL = "gpt-4o-mini"


class CityInput(BaseModel):
    city: str


class CityFacts(BaseModel):
    country: str
    population: int
    summary: str


@pytest.fixture
def provider(stack) -> Iterator[FakeOpenAI]:
    """The stack's OpenAI-compatible provider is the fake, for this test (a fresh container: composition reset)."""
    fake = FakeOpenAI(deltas=40, interval=0.05).start()
    saved = {name: os.environ.get(name) for name in ("OPENAI_BASE_URL", "OPENAI_API_KEY")}
    os.environ.update(OPENAI_BASE_URL=fake.base_url, OPENAI_API_KEY="sk-local-test")
    layer_module("agentfeedback.composition").reset()
    try:
        yield fake
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        layer_module("agentfeedback.composition").reset()
        fake.stop()


def register(stack, api_key: str, agent_id: str) -> int:
    response = requests.post(
        f"{stack.base_url}/v1/_/agents",
        headers={"Authorization": f"Bearer {api_key}"},
        json={
            "id": agent_id,
            "input_schema": CityInput.model_json_schema(),
            "output_schema": CityFacts.model_json_schema(),
        },
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return int(response.json()["schema_id"])


def run_stream(stack, api_key: str, agent_id: str, schema_id: int, model: str) -> requests.Response:
    return requests.post(
        f"{stack.base_url}/v1/_/agents/{agent_id}/schemas/{schema_id}/run",
        headers={"Authorization": f"Bearer {api_key}"},
        json={"task_input": {"city": "Paris"}, "version": {"model": model}, "stream": True},
        stream=True,
        timeout=30,
    )


def sse_events(response: requests.Response) -> Iterator[tuple[float, str]]:
    """(arrival time.monotonic, data) of each event as it arrives."""
    for line in response.iter_lines(chunk_size=None):
        if line.startswith(b"data: "):
            yield time.monotonic(), line.removeprefix(b"data: ").decode()


def review_run(stack, api_key: str, agent_id: str, run_id: str) -> requests.Response:
    return requests.get(
        f"{stack.base_url}/v1/_/agents/{agent_id}/runs/{run_id}",
        headers={"Authorization": f"Bearer {api_key}"},
        timeout=10,
    )


def test_a_streamed_run_is_chunked_sse_whose_last_event_carries_a_working_token(stack, api_key):
    agent_id = f"stream-{uuid.uuid4().hex[:8]}"
    schema_id = register(stack, api_key, agent_id)
    response = run_stream(stack, api_key, agent_id, schema_id, "offline")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/event-stream"
    assert response.headers["Transfer-Encoding"] == "chunked" and "Content-Length" not in response.headers
    events = [json.loads(data) for _, data in sse_events(response)]
    assert len(events) >= 2 and "duration_seconds" not in events[0]
    token = events[-1]["feedback_token"]
    posted = requests.post(f"{stack.base_url}/v1/feedback", json={"feedback_token": token, "outcome": "positive"})
    assert posted.status_code == 200, posted.text
    assert review_run(stack, api_key, agent_id, events[-1]["id"]).status_code == 200


def test_a_client_that_leaves_mid_stream_leaves_its_run_recorded(stack, api_key, provider):
    """The run is recorded and its token minted before the last event: a client gone after the first event has
    a recorded run (the review API shows it) and a token it never received, which nobody else holds either."""
    agent_id = f"leave-{uuid.uuid4().hex[:8]}"
    schema_id = register(stack, api_key, agent_id)
    response = run_stream(stack, api_key, agent_id, schema_id, MODEL)
    assert response.status_code == 200
    _, first = next(sse_events(response))
    run_id = json.loads(first)["id"]
    response.close()  # the connection goes: the gateway's next write fails and closes the run's iterator
    deadline = time.monotonic() + 30
    while (found := review_run(stack, api_key, agent_id, run_id)).status_code == 404 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert found.status_code == 200, found.text
    assert found.json()["task_output"] == OUTPUT and found.json()["id"] == run_id


@needs_streaming_services
def test_raw_http_sees_the_first_event_before_the_provider_has_finished(stack, api_key, provider):
    agent_id = f"early-{uuid.uuid4().hex[:8]}"
    schema_id = register(stack, api_key, agent_id)
    arrivals = [arrived for arrived, _ in sse_events(run_stream(stack, api_key, agent_id, schema_id, MODEL))]
    delivery = provider.deliveries[-1]
    assert delivery.streamed and delivery.sent == 40
    assert arrivals[0] < delivery.last_delta  # the first event came while the provider was still sending
    assert arrivals[-1] >= delivery.last_delta


@needs_streaming_services
def test_the_workflowai_python_sdk_streams_and_its_last_chunk_posts_feedback(stack, api_key, provider):
    workflowai.init(api_key=api_key, url=stack.base_url)
    agent_id = f"py-{uuid.uuid4().hex[:8]}"

    @workflowai.agent(id=agent_id, model=MODEL)
    async def city_facts(agent_input: CityInput) -> CityFacts:
        """Facts about a city."""
        ...

    async def scenario() -> list[tuple[float, workflowai.Run[CityFacts]]]:
        chunks = [(time.monotonic(), chunk) async for chunk in city_facts.stream(CityInput(city="Paris"))]
        await workflowai.send_feedback(feedback_token=chunks[-1][1].feedback_token, outcome="positive")
        return chunks

    chunks = asyncio.run(scenario())
    delivery = provider.deliveries[-1]
    assert len(chunks) > 2 and chunks[0][0] < delivery.last_delta <= chunks[-1][0]
    assert chunks[-1][1].output == CityFacts.model_validate(OUTPUT)


@needs_streaming_services
def test_the_openai_sdk_streams_and_its_last_choice_chunk_posts_feedback(stack, api_key, provider):
    client = openai.OpenAI(api_key=api_key, base_url=f"{stack.base_url}/v1")
    stream = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "Paris?"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = [(time.monotonic(), chunk) for chunk in stream]
    delivery = provider.deliveries[-1]
    assert chunks[0][0] < delivery.last_delta <= chunks[-1][0]
    text = "".join(chunk.choices[0].delta.content or "" for _, chunk in chunks if chunk.choices)
    assert json.loads(text) == OUTPUT
    final = next(chunk for _, chunk in reversed(chunks) if chunk.choices)
    token = final.choices[0].feedback_token  # type: ignore[attr-defined]
    assert chunks[-1][1].usage is not None
    posted = requests.post(f"{stack.base_url}/v1/feedback", json={"feedback_token": token, "outcome": "negative"})
    assert posted.status_code == 200, posted.text


@needs_streaming_services
def test_the_workflowai_js_sdk_streams_and_its_last_event_carries_the_token(stack, api_key, provider):
    agent_id = f"js-{uuid.uuid4().hex[:8]}"
    schema_id = register(stack, api_key, agent_id)
    script = Path(__file__).with_name("workflowai_js_stream.mjs")
    done = subprocess.run(
        ["node", str(script), stack.base_url, api_key, agent_id, str(schema_id), MODEL],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    events = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert events and "error" not in events[-1], done.stdout
    delivery = provider.deliveries[-1]
    assert len(events) > 2 and events[0]["at"] < delivery.last_delta_wall <= events[-1]["at"]
    token = events[-1]["feedbackToken"]
    posted = requests.post(f"{stack.base_url}/v1/feedback", json={"feedback_token": token, "outcome": "positive"})
    assert posted.status_code == 200, posted.text


@needs_streaming_services
def test_a_provider_failing_mid_stream_ends_it_with_an_error_event_and_stores_nothing(stack, api_key, provider):
    provider.fail_after = 10
    agent_id = f"fail-{uuid.uuid4().hex[:8]}"
    schema_id = register(stack, api_key, agent_id)
    response = run_stream(stack, api_key, agent_id, schema_id, MODEL)
    assert response.status_code == 200  # the status line went out with the first event
    events = [json.loads(data) for _, data in sse_events(response)]
    error = events[-1]["error"]
    assert set(error) == {"status_code", "code", "message"} and error["status_code"] == 502
    assert all("feedback_token" not in event for event in events)
    # The SDKs raise it as an error.
    client = openai.OpenAI(api_key=api_key, base_url=f"{stack.base_url}/v1")
    with pytest.raises(openai.APIError):
        list(client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x"}], stream=True))
    workflowai.init(api_key=api_key, url=stack.base_url)

    @workflowai.agent(id=agent_id, model=MODEL)
    async def city_facts(agent_input: CityInput) -> CityFacts:
        """Facts about a city."""
        ...

    async def consume() -> None:
        async for _ in city_facts.stream(CityInput(city="Paris")):
            pass

    with pytest.raises(workflowai.WorkflowAIError):
        asyncio.run(consume())
    # Nothing half-stored: the agent has no run.
    runs = stack.dynamodb_client().scan(
        TableName=stack.table_names["RunsTable"],
        FilterExpression="agent_id = :agent",
        ExpressionAttributeValues={":agent": {"S": agent_id}},
    )
    assert runs["Items"] == []
