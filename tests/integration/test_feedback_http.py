"""The public feedback routes over real HTTP: gateway -> feedback function -> DynamoDB Local / moto KMS."""

from __future__ import annotations

import base64
import json
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from agentfeedback.feedback.store import FeedbackStore
from agentfeedback.tokens import TokenClaims

pytestmark = pytest.mark.integration

TIMEOUT = 15


def claims_of(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def post_feedback(stack, body, **kwargs) -> requests.Response:
    return requests.post(f"{stack.base_url}/v1/feedback", json=body, timeout=TIMEOUT, **kwargs)


def get_feedback(stack, token: str, user_id: str | None = None, **kwargs) -> requests.Response:
    params = {"feedback_token": token, **({"user_id": user_id} if user_id else {})}
    return requests.get(f"{stack.base_url}/v1/feedback", params=params, timeout=TIMEOUT, **kwargs)


def assert_error(response: requests.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert error["status_code"] == status and error["code"] == code and error["message"]
    return error


def test_post_then_get_returns_the_saved_feedback(stack, mint_token):
    token = mint_token()

    posted = post_feedback(
        stack, {"feedback_token": token, "outcome": "positive", "comment": "Spot on", "user_id": "u-1"}
    )
    assert posted.status_code == 200, posted.text
    body = posted.json()
    assert body["outcome"] == "positive" and body["comment"] == "Spot on" and body["user_id"] == "u-1"
    assert body["id"] and claims_of(token)["run"] not in body["id"]

    saved = get_feedback(stack, token, "u-1")
    assert saved.status_code == 200, saved.text
    # This token is bound to no end user: it reads the outcome, not the comment (tests/integration/test_security.py
    # and test_sdk_compat.py read comments with bound tokens).
    assert saved.json() == {"outcome": "positive"}


def test_get_before_any_vote_returns_null_outcome(stack, mint_token):
    response = get_feedback(stack, mint_token(), "nobody-yet")
    assert response.status_code == 200, response.text
    assert response.json()["outcome"] is None


def test_second_post_same_user_overwrites(stack, mint_token, feedback_items):
    token = mint_token()
    assert post_feedback(stack, {"feedback_token": token, "outcome": "positive", "user_id": "u-1"}).status_code == 200

    second = post_feedback(
        stack, {"feedback_token": token, "outcome": "negative", "comment": "Wrong city", "user_id": "u-1"}
    )

    assert second.status_code == 200, second.text
    items = feedback_items(claims_of(token)["run"])
    assert len(items) == 1
    assert items[0]["revision"]["N"] == "2"
    assert items[0]["outcome"]["S"] == "negative" and items[0]["comment"]["S"] == "Wrong city"
    assert get_feedback(stack, token, "u-1").json()["outcome"] == "negative"


def test_different_users_get_separate_entries(stack, mint_token, feedback_items):
    token = mint_token()
    for user_id, outcome in (("u-1", "positive"), ("u-2", "negative")):
        assert (
            post_feedback(stack, {"feedback_token": token, "outcome": outcome, "user_id": user_id}).status_code == 200
        )

    items = feedback_items(claims_of(token)["run"])
    assert sorted((item["user_id"]["S"], item["outcome"]["S"]) for item in items) == [
        ("u-1", "positive"),
        ("u-2", "negative"),
    ]
    assert get_feedback(stack, token, "u-1").json()["outcome"] == "positive"
    assert get_feedback(stack, token, "u-2").json()["outcome"] == "negative"


def test_anonymous_feedback_has_its_own_single_slot(stack, mint_token, feedback_items):
    token = mint_token()
    assert post_feedback(stack, {"feedback_token": token, "outcome": "positive"}).status_code == 200
    assert post_feedback(stack, {"feedback_token": token, "outcome": "negative"}).status_code == 200
    assert post_feedback(stack, {"feedback_token": token, "outcome": "positive", "user_id": "u-1"}).status_code == 200

    items = feedback_items(claims_of(token)["run"])
    anonymous = [item for item in items if not item["user_id"]["S"]]
    assert len(items) == 2 and len(anonymous) == 1
    assert anonymous[0]["revision"]["N"] == "2" and anonymous[0]["outcome"]["S"] == "negative"
    assert get_feedback(stack, token).json()["outcome"] == "negative"


def test_concurrent_posts_for_the_same_pair_leave_one_item(stack, mint_token, feedback_items):
    token = mint_token()
    # Each post says something new (its own comment), so each is a real change whatever order they land in.
    posts = [(outcome, f"click {n}") for n, outcome in enumerate(["positive", "negative"] * 10)]

    def post(vote: tuple[str, str]) -> int:
        body = {"feedback_token": token, "outcome": vote[0], "comment": vote[1], "user_id": "clicker"}
        return post_feedback(stack, body).status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(post, posts))

    assert statuses == [200] * 20
    items = feedback_items(claims_of(token)["run"])
    assert len(items) == 1
    assert items[0]["revision"]["N"] == "20"


def test_concurrent_saves_are_atomic_in_dynamodb_local(stack, settings, feedback_items):
    # The gateway runs one invocation at a time (as Lambda does per process), so the store is hit directly here
    # to have 20 UpdateItem calls truly in flight together.
    store = FeedbackStore(stack.dynamodb_client(), settings.feedback_table)
    claims = TokenClaims(tenant="acme", agent_id="support-bot", run_id=f"run-{uuid.uuid4().hex[:12]}", version_id="1")

    with ThreadPoolExecutor(max_workers=20) as pool:
        entries = list(
            pool.map(lambda n: store.save(claims, "clicker", ("positive", "negative")[n % 2], f"c{n}"), range(20))
        )

    assert sorted(entry.revision for entry in entries) == list(range(1, 21))
    items = feedback_items(claims.run_id)
    assert len(items) == 1 and items[0]["revision"]["N"] == "20"


def test_unknown_outcome_is_refused_naming_the_field(stack, mint_token):
    response = post_feedback(stack, {"feedback_token": mint_token(), "outcome": "meh"})
    error = assert_error(response, 422, "validation_error")
    assert "outcome" in error["message"]


@pytest.mark.parametrize(
    ("field", "value"),
    [("comment", "x" * 5001), ("user_id", "u" * 257)],
)
def test_too_long_fields_are_refused_naming_the_field(stack, mint_token, field, value):
    response = post_feedback(stack, {"feedback_token": mint_token(), "outcome": "positive", field: value})
    error = assert_error(response, 422, "validation_error")
    assert field in error["message"]


def test_body_over_16_kib_is_refused(stack, mint_token):
    body = {"feedback_token": mint_token(), "outcome": "positive", "context": "x" * (17 * 1024)}
    assert_error(post_feedback(stack, body), 413, "payload_too_large")


def test_malformed_json_is_a_400(stack):
    response = requests.post(
        f"{stack.base_url}/v1/feedback",
        data='{"feedback_token": "fb_x", "outcome": ',
        headers={"Content-Type": "application/json"},
        timeout=TIMEOUT,
    )
    assert_error(response, 400, "invalid_json")


def test_forged_token_is_refused(stack, mint_token):
    genuine, other = mint_token(tenant="acme"), mint_token(tenant="evil")
    header, _, signature = genuine.split(".")
    forged = f"{header}.{other.split('.')[1]}.{signature}"

    response = post_feedback(stack, {"feedback_token": forged, "outcome": "negative"})

    assert_error(response, 401, "invalid_feedback_token")
    assert_error(get_feedback(stack, forged), 401, "invalid_feedback_token")


def test_authorization_header_is_ignored_on_public_routes(stack, mint_token):
    token = mint_token()
    headers = {"Authorization": "Bearer wai-not-an-api-key-of-ours"}

    posted = post_feedback(stack, {"feedback_token": token, "outcome": "positive"}, headers=headers)
    read = get_feedback(stack, token, headers=headers)

    assert posted.status_code == 200, posted.text
    assert read.status_code == 200 and read.json()["outcome"] == "positive"


def test_cors_preflight_is_answered(stack):
    response = requests.options(
        f"{stack.base_url}/v1/feedback",
        headers={
            "Origin": "https://app.example.com",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,authorization",
        },
        timeout=TIMEOUT,
    )
    assert response.status_code in (200, 204), response.text
    assert response.headers["Access-Control-Allow-Origin"] in ("*", "https://app.example.com")
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    assert "authorization" in response.headers["Access-Control-Allow-Headers"].lower()


def test_browser_post_gets_cors_headers(stack, mint_token):
    response = post_feedback(
        stack, {"feedback_token": mint_token(), "outcome": "positive"}, headers={"Origin": "https://app.example.com"}
    )
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] in ("*", "https://app.example.com")


def test_unknown_route_is_a_404_in_the_error_shape(stack):
    assert_error(requests.get(f"{stack.base_url}/v1/no-such-thing", timeout=TIMEOUT), 404, "not_found")
    # A known path with a method it does not have is no route either, as in API Gateway.
    assert_error(requests.put(f"{stack.base_url}/v1/feedback", timeout=TIMEOUT), 404, "not_found")


def test_feedback_survives_a_dynamodb_restart(stack, mint_token):
    token = mint_token(run_id=f"run-{uuid.uuid4().hex[:8]}")
    assert post_feedback(stack, {"feedback_token": token, "outcome": "positive", "user_id": "u-1"}).status_code == 200

    stack.restart_dynamodb()

    assert get_feedback(stack, token, "u-1").json()["outcome"] == "positive"
    assert post_feedback(stack, {"feedback_token": token, "outcome": "negative", "user_id": "u-1"}).status_code == 200
