"""The run and chat functions' framework-free path (core.proxy_events, runs.http, chat.http) answers as the
documented Powertools resolvers (runs.routes, chat.routes) do: the same requests, valid and hostile, sent to
both, give the same status, headers and body (413/415/400/422 in their order and wording, 401/403/404, 200 as
JSON or as server-sent events). Only what differs between two runs by design is set aside: run ids, tokens,
durations and timestamps.
"""

from __future__ import annotations

import base64
import copy
import json
import os
import re
import sys

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from agentfeedback import composition
from tests.helpers import FakeContext, load_event, load_handler
from tests.unit.feedback.test_properties_requests import (
    CHAT_FIELDS,
    PROPERTY,
    RUN_FIELDS,
    json_values,
    near,
)

OFFLINE = {"model": "offline", "instructions": "Facts.", "temperature": 0}
AGENT = {
    "id": "city-facts",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    "output_schema": {"type": "object", "properties": {"country": {"type": "string"}}, "required": ["country"]},
}
CONTENT_TYPES = ["application/json", "Application/JSON; charset=utf-8", "text/plain", "", None]
# Values that differ between two runs of the same request, by design.
VOLATILE = re.compile(
    r'"(id|feedback_token|duration_seconds|created)":("[^"]*"|[0-9.e-]+)|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f-]{19,}'
)


def normalised(response: dict) -> dict:
    """A proxy response comparable across paths: headers as one mapping, volatile values blanked."""
    headers = {name: values for name, values in (response.get("multiValueHeaders") or {}).items()}
    headers.update({name: [value] for name, value in (response.get("headers") or {}).items()})
    body = VOLATILE.sub(lambda found: f'"{found.group(1)}":"*"' if found.group(1) else "*", response["body"] or "")
    return {"status": response["statusCode"], "headers": headers, "body": body}


def with_body(request: dict, draw) -> dict:
    """The request's body as sent: JSON, odd text, base64 bytes or padded past the limit; and its Content-Type."""
    for headers in (request["headers"], request["multiValueHeaders"]):
        headers.pop("Content-Type", None)
    content_type = draw(st.sampled_from(CONTENT_TYPES))
    if content_type is not None:
        request["headers"]["Content-Type"], request["multiValueHeaders"]["Content-Type"] = content_type, [content_type]
    body = json.loads(request["body"])
    kind = draw(st.sampled_from(["json"] * 16 + ["padded", "text", "bytes", "none"]))
    if kind == "padded" and isinstance(body, dict):
        body["pad"] = "x" * (1024 * 1024)
    if kind == "text":
        request["body"] = draw(st.text(max_size=30))
    elif kind == "bytes":
        raw = draw(st.binary(max_size=40))
        request["body"], request["isBase64Encoded"] = base64.b64encode(raw).decode(), True
    elif kind == "none":
        request["body"] = None
    else:
        request["body"] = json.dumps(body)
    return request


@st.composite
def run_events(draw) -> dict:
    plausible = st.fixed_dictionaries(
        {"task_input": st.just({"city": "Paris"}), "version": st.just(OFFLINE) | st.sampled_from([1, "production"])},
        optional={"stream": st.booleans(), "metadata": st.dictionaries(st.text(max_size=5), st.text(max_size=5))},
    )
    body = draw(st.one_of(plausible, plausible, plausible, near(RUN_FIELDS), json_values))
    path = {"tenant": "_", "agent_id": "city-facts", "schema_id": "1"}
    if draw(st.integers(0, 3)) == 0:
        path = {
            "tenant": draw(st.sampled_from(["_", "acme", "globex", "t" * 64])),
            "agent_id": draw(st.sampled_from(["city-facts", "missing", "Bad Id", "a" * 65])),
            "schema_id": draw(st.sampled_from(["1", "2", "0", "x", "01"])),
        }
    request = load_event("run/run_agent.json", body=json.dumps(body), path=path)
    if draw(st.booleans()):
        request["path"] = request["path"].replace("/agents/", "/tasks/")
    if draw(st.sampled_from([False] * 9 + [True])):
        del request["requestContext"]["authorizer"]["tenant"]
    return with_body(request, draw)


@st.composite
def chat_events(draw) -> dict:
    plausible = st.fixed_dictionaries(
        {
            "model": st.sampled_from(["offline", "city-facts/offline"]),
            "messages": st.just([{"role": "user", "content": "Hi"}]),
        },
        optional={
            "stream": st.booleans(),
            "stream_options": st.sampled_from([{"include_usage": True}, {"include_usage": False}, {"x": 1}]),
            "temperature": st.floats(min_value=-1, max_value=3),
            "logprobs": st.booleans(),
        },
    )
    body = draw(st.one_of(plausible, plausible, plausible, near(CHAT_FIELDS), json_values))
    request = load_event("chat/chat_completion.json", body=json.dumps(body))
    route = draw(st.sampled_from(["route"] * 17 + ["other path", "other method", "trailing slash"]))
    if route == "other path":
        request["path"] = "/v1/chat/other"
    elif route == "other method":
        request["httpMethod"] = draw(st.sampled_from(["GET", "OPTIONS", "PUT"]))
    elif route == "trailing slash":
        request["path"] += "/"
    if draw(st.sampled_from([False] * 9 + [True])):
        del request["requestContext"]["authorizer"]["tenant"]
    return with_body(request, draw)


def answers(function: str, request: dict) -> tuple[dict, dict]:
    handler = load_handler(function)
    light = handler.lambda_handler(copy.deepcopy(request), FakeContext())
    reference = handler.app.resolver.resolve(copy.deepcopy(request), FakeContext())
    handler.metrics.clear_metrics()
    return normalised(light), normalised(reference)


@pytest.fixture
def registered(aws):
    composition.reset()
    run = load_handler("run")
    assert run.lambda_handler(load_event("run/register_agent.json", body=AGENT), FakeContext())["statusCode"] == 200
    save = load_event("run/save_version.json", body=OFFLINE)
    assert run.lambda_handler(save, FakeContext())["statusCode"] == 200
    return aws


@PROPERTY
@given(request=run_events())
def test_the_run_path_answers_as_the_documented_resolver(registered, request):
    light, reference = answers("run", request)
    event(f"run {light['status']}")  # --hypothesis-show-statistics: what was covered
    assert light == reference


@PROPERTY
@given(request=chat_events())
def test_the_chat_path_answers_as_the_documented_resolver(registered, request):
    light, reference = answers("chat", request)
    event(f"chat {light['status']}")
    assert light == reference


COLD_START = """
import json, sys
sys.path[:0] = [sys.argv[1], sys.argv[2]]
import app

class Context:
    function_name = "Function"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:Function"
    aws_request_id = "7c1b2f8e-0d7e-4a51-9d0a-6d5c1a2b3c4d"

    def get_remaining_time_in_millis(self):
        return 5000

with open(sys.argv[3]) as stream:
    event = json.load(stream)
del event["requestContext"]["authorizer"]["tenant"]  # refused after the checks, before any AWS call
answer = app.lambda_handler(event, Context())
heavy = [name for name in sys.modules if name.startswith("aws_lambda_powertools.event_handler")]
print("RESULT " + json.dumps({"status": answer["statusCode"], "heavy": heavy}))
"""


@pytest.mark.parametrize(
    ("function", "event_file"), [("run", "run/run_agent.json"), ("chat", "chat/chat_completion.json")]
)
def test_a_run_or_chat_request_loads_no_event_handler(function, event_file):
    """What the light path saves: Powertools' event handler and its OpenAPI machinery are not imported."""
    import subprocess

    from tests.helpers import ROOT

    done = subprocess.run(
        [
            sys.executable,
            "-c",
            COLD_START,
            str(ROOT / "functions" / function),
            str(ROOT / "layers" / "shared"),
            str(ROOT / "events" / event_file),
        ],
        env={**os.environ, "POWERTOOLS_METRICS_NAMESPACE": "AgentFeedback"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    result = json.loads(done.stdout.split("RESULT ", 1)[1])
    assert result == {"status": 401, "heavy": []}


RUN_BODY = {"task_input": {"city": "Paris"}, "version": OFFLINE}
CHAT_BODY = {"model": "offline", "messages": [{"role": "user", "content": "Hi"}]}
CASES = {
    "run whole": ("run", RUN_BODY, {}),
    "run streamed": ("run", {**RUN_BODY, "stream": True}, {}),
    "run by saved version": ("run", {**RUN_BODY, "version": 1}, {}),
    "run too large": ("run", {**RUN_BODY, "pad": "x" * (1024 * 1024)}, {}),
    "run as text/plain": ("run", RUN_BODY, {"Content-Type": "text/plain"}),
    "run of another tenant": ("run", RUN_BODY, {"path": {"tenant": "globex"}}),
    "run without a key's tenant": ("run", RUN_BODY, {"tenant": ""}),
    "run of a missing schema": ("run", RUN_BODY, {"path": {"schema_id": "7"}}),
    "run with bad path and body": ("run", {"version": {"model": ""}}, {"path": {"schema_id": "0", "agent_id": "A"}}),
    "chat whole": ("chat", CHAT_BODY, {}),
    "chat streamed with usage": ("chat", {**CHAT_BODY, "stream": True, "stream_options": {"include_usage": True}}, {}),
    "chat with unsupported fields": ("chat", {**CHAT_BODY, "tools": [], "seed": 1}, {}),
    "chat too large": ("chat", {**CHAT_BODY, "pad": "x" * (1024 * 1024)}, {}),
    "chat without a key's tenant": ("chat", CHAT_BODY, {"tenant": ""}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_each_kind_of_answer_is_the_same_on_both_paths(registered, case):
    function, body, options = CASES[case]
    relative = "run/run_agent.json" if function == "run" else "chat/chat_completion.json"
    request = load_event(relative, body=body, path=options.get("path"))
    if "Content-Type" in options:
        request["headers"]["Content-Type"] = request["multiValueHeaders"]["Content-Type"][0] = options["Content-Type"]
    if options.get("tenant") == "":
        del request["requestContext"]["authorizer"]["tenant"]
    light, reference = answers(function, request)
    assert light == reference
    expected = {"too large": 413, "text/plain": 415, "another tenant": 403, "key's tenant": 401, "missing": 404}
    status = next((code for words, code in expected.items() if words in case), None)
    if status is None:
        status = 422 if "bad" in case or "unsupported" in case else 200
    if "unsupported" in case:
        status = 400
    assert light["status"] == status, light
    if "streamed" in case:
        assert light["headers"]["Content-Type"] == ["text/event-stream"] and light["body"].startswith("data: {")
