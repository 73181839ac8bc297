"""DynamoDB unreachable under the feedback function (moto in-process; faults raised in botocore's retry loop).

Throttling and service-error responses are injected against DynamoDB Local in
tests/integration/test_faults_dynamodb_throttling.py (moto answers from the same botocore event, so a fault
answered there would not stop moto's write). Here each failed attempt raises before moto is reached.
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ConnectionClosedError, EndpointConnectionError, ReadTimeoutError

from agentfeedback import composition
from tests.fuzz.botocore_faults import Fault, feedback_entry, recorded_backoff, user_counter
from tests.helpers import load_event

MAX_ATTEMPTS = 3  # agentfeedback.core.aws_clients: retries mode standard, total_max_attempts 3
CONNECTION_FAULTS = {
    "refused": lambda request: EndpointConnectionError(endpoint_url=request.url),
    "read-timeout": lambda request: ReadTimeoutError(endpoint_url=request.url),
    "closed": lambda request: ConnectionClosedError(endpoint_url=request.url),
}
REFUSED = CONNECTION_FAULTS["refused"]


def post(invoke, token, outcome="positive", user_id="u1"):
    body = {"feedback_token": token, "outcome": outcome, "user_id": user_id}
    return invoke("feedback", load_event("feedback/post_feedback.json", body=body))


def entries(aws) -> list[dict]:
    """The (run, user) entries, without the runs' user counters."""
    return [item for item in aws.items() if "#" in item["pk"]["S"]]


def assert_unavailable(result):
    status, headers, body = result
    assert status == 503, body
    assert body == {"error": {"status_code": 503, "code": "service_unavailable", "message": body["error"]["message"]}}
    assert "retry" in body["error"]["message"]
    assert int(headers["Retry-After"]) >= 1


def test_client_makes_three_attempts_with_short_timeouts(aws):
    config = composition.dynamodb().meta.config
    assert config.retries == {"mode": "standard", "total_max_attempts": MAX_ATTEMPTS}
    # With throttling backoff of at most 1 + 2 s, a failing call ends well within the 6 s function timeout.
    assert config.connect_timeout <= 1 and config.read_timeout <= 1


@pytest.mark.parametrize("fault", CONNECTION_FAULTS.values(), ids=CONNECTION_FAULTS.keys())
def test_unreachable_dynamodb_is_retried_then_a_503_and_nothing_is_written(aws, invoke, fault):
    token = aws.mint()
    with recorded_backoff() as delays, Fault(composition.dynamodb(), "PutItem", exception=fault) as injected:
        result = post(invoke, token)
    assert_unavailable(result)
    # The first write (the entry, created if absent) is tried three times, then the request stops.
    assert injected.attempts == MAX_ATTEMPTS
    # Backoff between attempts: standard mode, jittered, each at most twice the one before.
    assert len(delays) == MAX_ATTEMPTS - 1 and all(delay >= 0 for delay in delays) and sum(delays) > 0
    assert aws.items() == [] and aws.user_count("run-1") == 0


def test_a_failing_entry_write_is_a_503_and_leaves_no_entry_and_no_count(aws, invoke):
    token = aws.mint()
    with recorded_backoff(), Fault(composition.dynamodb(), "PutItem", exception=REFUSED, match=feedback_entry) as f:
        assert_unavailable(post(invoke, token))
    assert f.attempts == MAX_ATTEMPTS
    assert entries(aws) == [] and aws.user_count("run-1") == 0


def test_an_unreachable_user_counter_after_the_entry_was_created_keeps_the_vote(aws, invoke):
    """A 503 would say nothing was saved, but the vote was: it is answered 200, and stays uncounted."""
    token = aws.mint()
    with recorded_backoff(), Fault(composition.dynamodb(), "UpdateItem", exception=REFUSED, match=user_counter) as f:
        status, _, body = post(invoke, token)
    assert status == 200, body
    assert f.attempts == MAX_ATTEMPTS
    [item] = entries(aws)
    assert item["outcome"]["S"] == "positive" and aws.user_count("run-1") == 0


def test_a_transient_failure_is_absorbed_by_the_retries_and_written_once(aws, invoke):
    token = aws.mint()
    dynamodb = composition.dynamodb()
    with (
        recorded_backoff(),
        Fault(dynamodb, "UpdateItem", exception=REFUSED, failures=2, match=user_counter) as counter,
        Fault(dynamodb, "PutItem", exception=REFUSED, failures=2, match=feedback_entry) as entry,
    ):
        status, _, body = post(invoke, token, outcome="negative")
    assert status == 200, body
    assert counter.attempts == entry.attempts == MAX_ATTEMPTS
    [item] = entries(aws)
    assert item["outcome"]["S"] == "negative" and item["revision"]["N"] == "1"
    assert aws.user_count("run-1") == 1


def test_a_failed_overwrite_keeps_the_previous_vote_whole(aws, invoke):
    token = aws.mint()
    assert post(invoke, token, outcome="positive")[0] == 200
    before = aws.items()
    with recorded_backoff(), Fault(composition.dynamodb(), "UpdateItem", exception=REFUSED):
        assert_unavailable(post(invoke, token, outcome="negative"))
    assert aws.items() == before


def test_reading_the_saved_vote_while_unreachable_is_a_503(aws, invoke):
    token = aws.mint()
    query = {"feedback_token": token, "user_id": "u1"}
    with recorded_backoff(), Fault(composition.dynamodb(), "GetItem", exception=REFUSED) as injected:
        assert_unavailable(invoke("feedback", load_event("feedback/get_feedback.json", query=query)))
    assert injected.attempts == MAX_ATTEMPTS
