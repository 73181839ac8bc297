"""DynamoDB throttling and service errors under the feedback function, over real HTTP.

The errors are answered from botocore's `before-send` event of the stack's own DynamoDB client, once per
HTTP attempt, so they go through its real retry policy (standard mode, 3 attempts, jittered exponential
backoff, really slept). A request still failing then is answered 503 with Retry-After in the error shape,
before the function's 6 s timeout (which would give API Gateway's bare 502), and nothing is half-written.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator

import pytest
import requests

from tests.fuzz.botocore_faults import Fault, feedback_entry, recorded_backoff
from tests.fuzz.local_stack import cold_start_layer, layer_module

pytestmark = pytest.mark.integration

MAX_ATTEMPTS = 3
FUNCTION_TIMEOUT_SECONDS = 6  # FeedbackFunction's Timeout in template.yaml
TIMEOUT = 15
# code -> (HTTP status, throttling: backoff base 1 s, else 25 ms for DynamoDB)
ERRORS = {
    "ProvisionedThroughputExceededException": (400, True),
    "ThrottlingException": (400, True),
    "RequestLimitExceeded": (400, True),
    "InternalServerError": (500, False),
    "ServiceUnavailable": (503, False),
}


@pytest.fixture
def dynamodb(stack) -> Iterator[object]:
    """The stack's DynamoDB client, fresh (full retry quota), and fresh again for the tests after these."""
    cold_start_layer()
    client = layer_module("agentfeedback.composition").dynamodb()
    assert client.meta.endpoint_url == stack.dynamodb_endpoint
    yield client
    cold_start_layer()


def run_of(token: str) -> str:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["run"]


def post(stack, token: str, outcome: str = "positive", user_id: str = "u-1") -> tuple[requests.Response, float]:
    started = time.monotonic()
    response = requests.post(
        f"{stack.base_url}/v1/feedback",
        json={"feedback_token": token, "outcome": outcome, "user_id": user_id},
        timeout=TIMEOUT,
    )
    return response, time.monotonic() - started


def assert_unavailable(response: requests.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert error == {"status_code": 503, "code": "service_unavailable", "message": error["message"]}
    assert int(response.headers["Retry-After"]) >= 1


@pytest.mark.parametrize("code", ERRORS)
def test_persistent_error_is_retried_with_backoff_then_a_503(stack, mint_token, feedback_items, dynamodb, code):
    status, throttling = ERRORS[code]
    token = mint_token()
    with (
        recorded_backoff(real_sleep=True) as delays,
        Fault(dynamodb, "PutItem", code=code, status=status, match=feedback_entry) as fault,
    ):
        response, elapsed = post(stack, token)
    assert_unavailable(response)
    assert fault.attempts == MAX_ATTEMPTS
    # Jittered exponential backoff between attempts: t_i <= base * 2^i.
    base = 1.0 if throttling else 0.025
    assert len(delays) == MAX_ATTEMPTS - 1
    assert all(0 <= delay <= base * 2**i for i, delay in enumerate(delays)) and sum(delays) > 0
    assert elapsed < FUNCTION_TIMEOUT_SECONDS
    assert [item for item in feedback_items(run_of(token)) if "#" in item["pk"]["S"]] == []


def test_throttling_that_clears_within_the_retries_is_saved_once(stack, mint_token, feedback_items, dynamodb):
    token = mint_token()
    with (
        recorded_backoff(real_sleep=True),
        Fault(dynamodb, "PutItem", code="ProvisionedThroughputExceededException", failures=2, match=feedback_entry),
    ):
        response, _ = post(stack, token, outcome="negative")
    assert response.status_code == 200, response.text
    [item] = [item for item in feedback_items(run_of(token)) if "#" in item["pk"]["S"]]
    assert item["outcome"]["S"] == "negative" and item["revision"]["N"] == "1"


def test_sustained_throttling_is_always_a_503_before_the_function_times_out(stack, mint_token, dynamodb):
    # Real backoff: with more attempts (botocore's max_attempts 4 meant 5), most of these were Lambda timeouts.
    token = mint_token()
    answers = []
    with Fault(dynamodb, "PutItem", code="ProvisionedThroughputExceededException"):
        for user in range(3):
            response, elapsed = post(stack, token, user_id=f"u-{user}")
            answers.append((response.status_code, round(elapsed, 2)))
    assert all(status == 503 and elapsed < FUNCTION_TIMEOUT_SECONDS for status, elapsed in answers), answers


def test_reading_a_vote_while_throttled_is_a_503(stack, mint_token, dynamodb):
    token = mint_token()
    with recorded_backoff(), Fault(dynamodb, "GetItem", code="ThrottlingException") as fault:
        response = requests.get(f"{stack.base_url}/v1/feedback", params={"feedback_token": token}, timeout=TIMEOUT)
    assert_unavailable(response)
    assert fault.attempts == MAX_ATTEMPTS
