"""Headers every response carries: nosniff, no-store, and Vary: Origin where CORS answers per origin; a
preflight cached as long as browsers allow (issue: hostile and odd input, item 12)."""

from __future__ import annotations

import pytest

from local.template import load_template
from tests.helpers import load_event

ORIGIN = "https://app.example.com"  # one of ALLOWED_ORIGINS in tests/conftest.py

CASES = [
    ("feedback", "feedback/post_feedback.json", {"outcome": "positive"}),
    ("feedback", "feedback/get_feedback.json", None),
    ("feedback", "feedback/preflight_feedback.json", None),
    ("review", "review/list_feedback.json", None),
    ("review", "review/request_erasure.json", {"user_id": "u1"}),
    ("run", "run/register_agent.json", {"id": "a", "input_schema": {"type": "object"}, "output_schema": {}}),
    ("chat", "chat/chat_completion.json", {"model": "offline", "messages": [{"role": "user", "content": "Hi"}]}),
]


@pytest.mark.parametrize(("function", "event_file", "body"), CASES, ids=[case[1] for case in CASES])
def test_every_response_says_nosniff_and_no_store(aws, invoke, function, event_file, body):
    if body is not None and function == "feedback":
        body = {**body, "feedback_token": aws.mint()}
    event = load_event(event_file, body=body, Origin=ORIGIN)
    if event_file.endswith("get_feedback.json"):
        event = load_event(event_file, query={"feedback_token": aws.mint()}, Origin=ORIGIN)
    for candidate in (event, load_event(event_file, body="[not json", Origin=ORIGIN)):
        status, headers, _ = invoke(function, candidate)
        assert headers.get("X-Content-Type-Options") == "nosniff", (status, headers)
        assert headers.get("Cache-Control") == "no-store", (status, headers)


def test_public_responses_vary_by_origin_and_preflights_are_cached_two_hours(aws, invoke):
    status, headers, _ = invoke("feedback", load_event("feedback/preflight_feedback.json", Origin=ORIGIN))
    assert status == 204 and headers["Access-Control-Max-Age"] == "7200"
    assert headers["Vary"] == "Origin" and headers["Access-Control-Allow-Origin"] == ORIGIN
    body = {"feedback_token": aws.mint(), "outcome": "positive"}
    for origin in (ORIGIN, "https://evil.example"):
        _, headers, _ = invoke("feedback", load_event("feedback/post_feedback.json", body=body, Origin=origin))
        assert headers["Vary"] == "Origin"  # also when the origin is not allowed: a cache must not mix them


def test_gateway_responses_carry_the_same_headers():
    responses = load_template()["Resources"]["Api"]["Properties"]["GatewayResponses"]
    for name, response in responses.items():
        headers = response["ResponseParameters"]["Headers"]
        assert headers.get("X-Content-Type-Options") == "'nosniff'", name
        assert headers.get("Cache-Control") == "'no-store'", name
