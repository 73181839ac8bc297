"""The feedback function, called as Lambda calls it, with API Gateway events from events/feedback/."""

from __future__ import annotations

import json
from unittest.mock import ANY

import pytest
from botocore.exceptions import ClientError

from agentfeedback import composition
from tests.helpers import load_event


def post(invoke, body, **headers):
    return invoke("feedback", load_event("feedback/post_feedback.json", body=body, **headers))


def get(invoke, query):
    return invoke("feedback", load_event("feedback/get_feedback.json", query=query))


def assert_error(result, status, code, mentions=""):
    got_status, _, body = result
    assert got_status == status, body
    assert set(body) == {"error"}
    assert body["error"]["status_code"] == status
    assert body["error"]["code"] == code
    assert mentions in body["error"]["message"]


def test_post_saves_feedback_and_echoes_it(aws, invoke):
    status, _, body = post(
        invoke, {"feedback_token": aws.mint(), "outcome": "positive", "comment": "Great", "user_id": "u1"}
    )
    assert status == 200
    assert body == {"id": body["id"], "outcome": "positive", "comment": "Great", "user_id": "u1"}
    [item] = aws.items()
    assert item["pk"]["S"] == "run-1#u1"
    assert item["tenant"]["S"] == "acme" and item["agent_id"]["S"] == "support-bot" and item["version_id"]["S"] == "v1"
    assert item["revision"]["N"] == "1"


def test_second_post_same_user_overwrites(aws, invoke):
    token = aws.mint()
    post(invoke, {"feedback_token": token, "outcome": "positive", "comment": "Great", "user_id": "u1"})
    first = aws.items()[0]
    status, _, body = post(invoke, {"feedback_token": token, "outcome": "negative", "user_id": "u1"})
    assert status == 200 and body["outcome"] == "negative" and body["comment"] is None
    [item] = aws.items()
    assert item["revision"]["N"] == "2"
    assert item["outcome"]["S"] == "negative"
    assert "comment" not in item
    assert item["created_at"] == first["created_at"]
    assert item["updated_at"]["S"] >= first["updated_at"]["S"]


def test_different_users_get_separate_entries(aws, invoke):
    token = aws.mint()
    ids = {post(invoke, {"feedback_token": token, "outcome": "positive", "user_id": u})[2]["id"] for u in ("u1", "u2")}
    assert len(ids) == 2
    assert sorted(i["pk"]["S"] for i in aws.items()) == ["run-1#u1", "run-1#u2"]


def test_anonymous_feedback_has_one_slot_per_run(aws, invoke):
    token = aws.mint()
    for outcome in ("positive", "negative", "negative"):
        status, _, body = post(invoke, {"feedback_token": token, "outcome": outcome})
        assert status == 200 and body["user_id"] is None
    [item] = aws.items()
    assert item["pk"]["S"] == "run-1#"
    assert item["revision"]["N"] == "2"  # the third post repeats the second: identical reposts change nothing
    assert "tenant_user" not in item


def test_binding_comes_from_the_token_not_the_body(aws, invoke):
    body = {"feedback_token": aws.mint(), "outcome": "positive", "tenant": "evil", "run_id": "other", "agent_id": "x"}
    assert post(invoke, body)[0] == 200
    [item] = aws.items()
    assert (item["tenant"]["S"], item["run_id"]["S"], item["agent_id"]["S"]) == ("acme", "run-1", "support-bot")


def test_get_shows_saved_outcome_and_null_before_any_vote(aws, invoke):
    token = aws.mint()
    assert get(invoke, {"feedback_token": token, "user_id": "u1"})[2] == {"outcome": None}
    post(invoke, {"feedback_token": token, "outcome": "negative", "comment": "Too long", "user_id": "u1"})
    status, _, body = get(invoke, {"feedback_token": token, "user_id": "u1"})
    # An unbound token may name any user: it reads the outcome, never the comment.
    assert status == 200 and body == {"outcome": "negative"}
    assert get(invoke, {"feedback_token": token})[2]["outcome"] is None  # the anonymous slot is separate


def test_get_with_a_token_bound_to_the_user_shows_the_comment_too(aws, invoke):
    token = aws.recorded_run(end_user="u1")
    assert get(invoke, {"feedback_token": token})[2] == {"outcome": None, "comment": None}
    post(invoke, {"feedback_token": token, "outcome": "negative", "comment": "Too long"})
    for query in ({"feedback_token": token}, {"feedback_token": token, "user_id": " u1 "}):
        assert get(invoke, query) == (200, ANY, {"outcome": "negative", "comment": "Too long"})


def test_authorization_header_is_ignored(aws, invoke):
    event = load_event(
        "feedback/post_feedback_with_sdk_authorization.json", body={"feedback_token": aws.mint(), "outcome": "positive"}
    )
    assert invoke("feedback", event)[0] == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"outcome": "positive"}, "feedback_token"),
        ({"outcome": "meh"}, "outcome"),
        ({"outcome": None}, "outcome"),
        ({"outcome": "positive", "comment": "x" * 5001}, "comment"),
        ({"outcome": "positive", "comment": 42}, "comment"),
        ({"outcome": "positive", "user_id": "u" * 257}, "user_id"),
        ({"outcome": "positive", "user_id": ["a"]}, "user_id"),
    ],
)
def test_invalid_fields_get_422_naming_the_field(aws, invoke, body, field):
    if field != "feedback_token":
        body = {"feedback_token": aws.mint(), **body}
    assert_error(post(invoke, body), 422, "validation_error", field)
    assert aws.items() == []


@pytest.mark.parametrize("raw", ["{not json", "[1, 2]", '"text"', "null", ""])
def test_malformed_bodies_are_refused_with_4xx(aws, invoke, raw):
    status, _, body = post(invoke, raw)
    assert status in (400, 422), body
    assert body["error"]["code"] in ("invalid_json", "validation_error")
    assert aws.items() == []


def test_body_over_16_kib_is_413(aws, invoke):
    result = post(
        invoke, {"feedback_token": aws.mint(), "outcome": "positive", "comment": "é" * 4900, "pad": "x" * 8000}
    )
    assert_error(result, 413, "payload_too_large", "16 KiB")
    assert_error(post(invoke, {"outcome": "positive", "comment": "x" * 20000}), 413, "payload_too_large")
    assert aws.items() == []


@pytest.mark.parametrize("token", ["fb_forged.token.here", "nope", "fb_" + "A" * 100])
def test_bad_token_is_401_and_saves_nothing(aws, invoke, token):
    assert_error(post(invoke, {"feedback_token": token, "outcome": "positive"}), 401, "invalid_feedback_token")
    assert_error(get(invoke, {"feedback_token": token}), 401, "invalid_feedback_token")
    assert aws.items() == []


def test_get_without_token_is_422(aws, invoke):
    assert_error(get(invoke, {}), 422, "validation_error", "feedback_token")


def test_unknown_route_is_404_json(aws, invoke):
    event = load_event("feedback/get_feedback.json")
    event["path"] = event["resource"] = "/v1/nothing-here"
    assert_error(invoke("feedback", event), 404, "not_found")


def test_preflight_echoes_allowed_origin_only(aws, invoke):
    status, headers, _ = invoke("feedback", load_event("feedback/preflight_feedback.json"))
    assert status in (200, 204)
    assert headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert "POST" in headers["Access-Control-Allow-Methods"]
    _, headers, _ = invoke("feedback", load_event("feedback/preflight_feedback.json", Origin="https://evil.example"))
    assert headers.get("Access-Control-Allow-Origin") != "https://evil.example"


def test_storage_throttling_is_503_with_retry_after(aws, invoke, monkeypatch):
    def throttled(**_):
        raise ClientError(
            {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}}, "PutItem"
        )

    monkeypatch.setattr(composition.dynamodb(), "put_item", throttled)
    status, headers, body = post(invoke, {"feedback_token": aws.mint(), "outcome": "positive"})
    assert status == 503 and headers["Retry-After"] == "1"
    assert body["error"]["code"] == "service_unavailable"


def test_unexpected_failure_is_500_json_without_stack_trace(aws, invoke, monkeypatch):
    def broken(**_):
        raise ClientError({"Error": {"Code": "ValidationException", "Message": "secret detail"}}, "PutItem")

    monkeypatch.setattr(composition.dynamodb(), "put_item", broken)
    status, _, body = post(invoke, {"feedback_token": aws.mint(), "outcome": "positive"})
    assert status == 500
    assert body["error"]["code"] == "internal_error"
    assert "secret detail" not in json.dumps(body) and "Traceback" not in json.dumps(body)


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_non_json_content_type_is_415(aws, invoke, content_type):
    body = json.dumps({"feedback_token": aws.mint(), "outcome": "positive"})
    event = load_event("feedback/post_feedback.json", body=body, **{"Content-Type": content_type})
    assert_error(invoke("feedback", event), 415, "unsupported_media_type", "application/json")
    assert aws.items() == []


def test_distinct_users_per_run_are_capped_but_votes_can_still_change(aws, invoke, monkeypatch):
    monkeypatch.setenv("MAX_USERS_PER_RUN", "2")
    composition.reset()
    token = aws.mint()
    for user in ("u1", "u2"):
        assert post(invoke, {"feedback_token": token, "outcome": "positive", "user_id": user})[0] == 200
    assert_error(
        post(invoke, {"feedback_token": token, "outcome": "positive", "user_id": "u3"}), 409, "user_limit_reached"
    )
    assert_error(post(invoke, {"feedback_token": token, "outcome": "negative"}), 409, "user_limit_reached")
    status, _, body = post(invoke, {"feedback_token": token, "outcome": "negative", "user_id": "u1"})
    assert status == 200 and body["outcome"] == "negative"
    assert sorted(item["pk"]["S"] for item in aws.items()) == ["run-1#u1", "run-1#u2"]
    assert aws.user_count("run-1") == 2
    assert post(invoke, {"feedback_token": token, "outcome": "positive", "user_id": "u2"})[2]["outcome"] == "positive"
    assert aws.user_count("run-1") == 2  # a change of vote does not count twice
    other_run = aws.mint(run_id="run-2")
    assert post(invoke, {"feedback_token": other_run, "outcome": "positive", "user_id": "u3"})[0] == 200


@pytest.mark.parametrize("cap", ["0", "1000"])
def test_a_token_of_another_tenant_for_the_same_run_id_cannot_overwrite(aws, invoke, monkeypatch, cap):
    monkeypatch.setenv("MAX_USERS_PER_RUN", cap)
    composition.reset()
    mine = aws.mint(run_id="run-9", tenant="acme")
    theirs = aws.mint(run_id="run-9", tenant="globex")
    assert post(invoke, {"feedback_token": mine, "outcome": "positive", "user_id": "u1"})[0] == 200
    assert_error(post(invoke, {"feedback_token": theirs, "outcome": "negative", "user_id": "u1"}), 409, "conflict")
    [item] = aws.items()
    assert (item["tenant"]["S"], item["outcome"]["S"], item["revision"]["N"]) == ("acme", "positive", "1")
