"""Bodies that are not a JSON object within limits, and media types, on every route that takes a body:
one parser (core.http_api.parse_json_object), one answer (400 invalid_json naming the problem), nothing stored."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentfeedback.core.errors import InvalidJson
from agentfeedback.core.http_api import (
    MAX_BODY_BYTES,
    MAX_JSON_DEPTH,
    MAX_NUMBER_CHARS,
    MAX_RUN_BODY_BYTES,
    parse_json_object,
)
from tests.helpers import load_event

# (function, event file) of every route whose request has a body.
BODY_ROUTES = [
    ("feedback", "feedback/post_feedback.json"),
    ("run", "run/register_agent.json"),
    ("run", "run/run_agent.json"),
    ("run", "run/save_version.json"),
    ("run", "run/bind_environment.json"),
    ("chat", "chat/chat_completion.json"),
    ("review", "review/request_erasure.json"),
    ("review", "review/improve_version.json"),
]
# Routes that are actions on a path and take no body: an empty body is fine, any other is read as above.
ACTION_ROUTES = [("run", "run/promote_canary.json"), ("run", "run/roll_back_environment.json")]
# Every route that takes no body (reads, retraction, actions): a body sent anyway is read by the same rules.
BODYLESS_ROUTES = [
    *ACTION_ROUTES,
    ("feedback", "feedback/get_feedback.json"),
    ("feedback", "feedback/retract_feedback.json"),
    ("run", "run/list_agents.json"),
    ("run", "run/show_agent.json"),
    ("run", "run/list_versions.json"),
    ("review", "review/list_feedback.json"),
    ("review", "review/feedback_summary.json"),
    ("review", "review/get_run.json"),
    ("review", "review/compare_versions.json"),
    ("review", "review/erase_user.json"),
]

# Each a body text that is not a JSON object within the limits, and what the 400 must mention.
BAD_BODIES = {
    "huge-integer": ('{"outcome": ' + "9" * 4301 + "}", "longer than"),
    "infinity": ('{"task_input": {"x": Infinity}}', "Infinity"),
    "nan": ('{"x": NaN}', "NaN"),
    "minus-infinity": ('{"x": -Infinity}', "Infinity"),
    "float-overflow": ('{"x": 1e999}', "out of range"),
    "deep": ('{"x": ' + "[" * 5000 + "]" * 5000 + "}", "deeper"),
    "array": ('[{"outcome": "positive"}]', "JSON object"),
    "string": ('"hello"', "JSON object"),
    "number": ("42", "JSON object"),
    "null": ("null", "JSON object"),
    "empty": ("", "empty"),
    "not-json": ("{outcome: positive", "not valid JSON"),
}


def stored_items(aws) -> int:
    tables = aws.dynamodb.list_tables()["TableNames"]
    return sum(aws.dynamodb.scan(TableName=table, Select="COUNT")["Count"] for table in tables)


@pytest.mark.parametrize(("function", "event_file"), BODY_ROUTES, ids=[f"{f}:{e}" for f, e in BODY_ROUTES])
@pytest.mark.parametrize("case", sorted(BAD_BODIES))
def test_a_body_that_is_not_a_json_object_within_limits_is_400_everywhere(aws, invoke, function, event_file, case):
    text, mentions = BAD_BODIES[case]
    before = stored_items(aws)
    status, _, body = invoke(function, load_event(event_file, body=text))
    assert status == 400, body
    assert body["error"]["code"] == "invalid_json" and mentions in body["error"]["message"], body
    assert stored_items(aws) == before  # nothing stored


@pytest.mark.parametrize(("function", "event_file"), ACTION_ROUTES, ids=[f"{f}:{e}" for f, e in ACTION_ROUTES])
@pytest.mark.parametrize("case", sorted(BAD_BODIES))
def test_an_action_route_takes_no_body_or_a_json_object(aws, invoke, function, event_file, case):
    text, mentions = BAD_BODIES[case]
    status, _, body = invoke(function, load_event(event_file, body=text))
    if case == "empty":
        # Nothing is bound in this test: the route itself answers, not the body rule.
        assert status == 404 and body["error"]["code"] == "not_found", body
    else:
        assert status == 400 and body["error"]["code"] == "invalid_json" and mentions in body["error"]["message"]


@pytest.mark.parametrize(("function", "event_file"), BODYLESS_ROUTES, ids=[f"{f}:{e}" for f, e in BODYLESS_ROUTES])
@pytest.mark.parametrize("case", sorted(set(BAD_BODIES) - {"empty"}))
def test_a_route_that_takes_no_body_reads_one_sent_anyway_by_the_same_rules(aws, invoke, function, event_file, case):
    text, mentions = BAD_BODIES[case]
    before = stored_items(aws)
    status, _, body = invoke(function, load_event(event_file, body=text))
    assert status == 400 and body["error"]["code"] == "invalid_json" and mentions in body["error"]["message"], body
    assert stored_items(aws) == before


@pytest.mark.parametrize(("function", "event_file"), BODYLESS_ROUTES, ids=[f"{f}:{e}" for f, e in BODYLESS_ROUTES])
def test_a_route_that_takes_no_body_refuses_a_large_or_non_json_one(aws, invoke, function, event_file):
    before = stored_items(aws)
    status, _, body = invoke(function, load_event(event_file, body="{}" + " " * BODY_LIMITS[function]))
    assert status == 413 and body["error"]["code"] == "payload_too_large", body
    event = load_event(event_file, body="NaN", **{"Content-Type": "text/plain"})
    status, _, body = invoke(function, event)
    assert status == 415 and body["error"]["code"] == "unsupported_media_type", body
    assert stored_items(aws) == before


def test_a_retraction_with_a_bad_body_leaves_the_vote(aws, invoke):
    token = aws.mint()
    vote = {"feedback_token": token, "outcome": "negative", "user_id": "ana"}
    assert invoke("feedback", load_event("feedback/post_feedback.json", body=vote))[0] == 200
    query = {"feedback_token": token, "user_id": "ana"}
    status, _, body = invoke("feedback", load_event("feedback/retract_feedback.json", body="NaN", query=query))
    assert status == 400, body
    status, _, body = invoke("feedback", load_event("feedback/get_feedback.json", query=query))
    assert status == 200 and body["outcome"] == "negative", body
    # An empty JSON object is no body at all: the retraction goes through.
    status, _, body = invoke("feedback", load_event("feedback/retract_feedback.json", body="{}", query=query))
    assert status == 200, body


# The largest body each function takes (core.http_api): run and chat carry inputs, messages and schemas.
BODY_LIMITS = {
    "feedback": MAX_BODY_BYTES,
    "run": MAX_RUN_BODY_BYTES,
    "chat": MAX_RUN_BODY_BYTES,
    "review": MAX_BODY_BYTES,
}


@pytest.mark.parametrize(("function", "event_file"), BODY_ROUTES, ids=[f"{f}:{e}" for f, e in BODY_ROUTES])
def test_a_body_past_its_functions_limit_is_413_even_when_its_fields_are_valid(aws, invoke, function, event_file):
    event = load_event(event_file)
    body = json.loads(event["body"])
    body["padding"] = "x" * BODY_LIMITS[function]  # an extra field some routes would otherwise ignore
    before = stored_items(aws)
    status, _, answer = invoke(function, load_event(event_file, body=json.dumps(body)))
    assert status == 413 and answer["error"]["code"] == "payload_too_large", answer
    assert stored_items(aws) == before


def test_a_run_body_over_16_kib_within_the_run_limit_is_judged_by_its_fields(aws, invoke):
    event = load_event("run/run_agent.json")
    body = json.loads(event["body"])
    del body["task_input"]
    body["metadata"] = {"note": "x" * (2 * MAX_BODY_BYTES)}
    status, _, answer = invoke("run", load_event("run/run_agent.json", body=json.dumps(body)))
    assert status == 422 and "task_input" in answer["error"]["message"], answer


@pytest.mark.parametrize("content_type", ["Application/JSON", "APPLICATION/json; charset=UTF-8", "application/json"])
def test_media_types_compare_case_insensitively_on_every_route(aws, invoke, content_type):
    token = aws.mint()
    vote = {"feedback_token": token, "outcome": "positive"}
    assert (
        invoke("feedback", load_event("feedback/post_feedback.json", body=vote, **{"Content-Type": content_type}))[0]
        == 200
    )
    register = {"id": "city", "input_schema": {"type": "object"}, "output_schema": {"type": "object"}}
    status, _, body = invoke(
        "run", load_event("run/register_agent.json", body=register, **{"Content-Type": content_type})
    )
    assert status == 200, body
    chat = {"model": "offline", "messages": [{"role": "user", "content": "Hi"}]}
    status, _, body = invoke(
        "chat", load_event("chat/chat_completion.json", body=chat, **{"Content-Type": content_type})
    )
    assert status == 200, body


def test_another_media_type_is_still_415(aws, invoke):
    register = {"id": "city", "input_schema": {"type": "object"}, "output_schema": {"type": "object"}}
    status, _, body = invoke(
        "run", load_event("run/register_agent.json", body=register, **{"Content-Type": "text/plain"})
    )
    assert status == 415 and body["error"]["code"] == "unsupported_media_type"


def test_limits_are_what_they_say():
    assert parse_json_object(b'{"n": ' + b"9" * MAX_NUMBER_CHARS + b"}")["n"] > 0
    nested = "[" * (MAX_JSON_DEPTH - 1) + "]" * (MAX_JSON_DEPTH - 1)
    assert parse_json_object(f'{{"x": {nested}}}'.encode())
    with pytest.raises(InvalidJson):
        parse_json_object(f'{{"x": [{nested}]}}'.encode())


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=20,
)


@settings(max_examples=300)
@given(st.dictionaries(st.text(max_size=8), json_values, max_size=4))
def test_any_json_object_within_limits_parses_to_itself(value):
    text = json.dumps(value)
    if len(max((token for token in text.replace(",", " ").replace(":", " ").split()), default="", key=len)) > 60:
        return  # a long number token: the limit's own business
    assert parse_json_object(text.encode()) == value


@settings(max_examples=300)
@given(st.binary(max_size=200))
def test_any_bytes_either_parse_to_an_object_or_are_invalid_json(raw):
    try:
        assert isinstance(parse_json_object(raw), dict)
    except InvalidJson as refused:
        assert refused.message
