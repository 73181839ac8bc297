"""Aggregates on the local stack: votes posted over HTTP reach the real aggregator through DynamoDB Local's own
stream, as Lambda's event source mapping would hand them over, and the summary, the check and the rebuild see them."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

import pytest
import requests

from agentfeedback.runs.store import RunRecord, RunStore
from local.streams import StreamReader, lambda_record, streams_client
from tests.fuzz.botocore_faults import Fault
from tests.fuzz.local_stack import cold_start_layer, layer_module

pytestmark = pytest.mark.integration
TIMEOUT = 30


@pytest.fixture
def agent() -> str:
    """An agent of its own, so that the counts are this test's alone."""
    return f"agg-{uuid.uuid4().hex[:10]}"


def post(stack, token: str, outcome: str, user_id: str | None = None, comment: str | None = None) -> None:
    body = {"feedback_token": token, "outcome": outcome, **({"user_id": user_id} if user_id else {})}
    if comment:
        body["comment"] = comment
    response = requests.post(f"{stack.base_url}/v1/feedback", json=body, timeout=TIMEOUT)
    assert response.status_code == 200, response.text


def review(stack, api_key: str, method: str, path: str, **kwargs) -> dict:
    response = requests.request(
        method,
        f"{stack.base_url}/v1/_/agents/{path}",
        headers={"Authorization": f"Bearer {api_key}"},
        timeout=TIMEOUT,
        **kwargs,
    )
    assert response.status_code == 200, response.text
    return response.json()


def record_run(stack, settings, agent: str, run_id: str, version: str = "1") -> None:
    RunStore(stack.dynamodb_client(), settings.runs_table, settings.run_retention_days).save(
        RunRecord(
            run_id=run_id,
            tenant="acme",
            agent_id=agent,
            schema_id=1,
            version_id=version,
            version_properties={"model": "offline"},
            task_input={},
            task_output={},
            model="offline",
            input_tokens=1,
            output_tokens=1,
            cost_usd=0.0,
            duration_seconds=0.1,
            created_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        )
    )


def votes(stack, settings, mint_token, agent: str) -> None:
    """Three runs: r1 +u1 +u2 (u2 then changes to negative), r2 anonymous negative, r3 no vote; u1 reposts."""
    for run_id in ("r1", "r2", "r3"):
        record_run(stack, settings, agent, f"{agent}-{run_id}")
    r1, r2 = (mint_token(agent_id=agent, run_id=f"{agent}-{run_id}") for run_id in ("r1", "r2"))
    post(stack, r1, "positive", "u1", "Spot on")
    post(stack, r1, "positive", "u2")
    post(stack, r2, "negative")
    post(stack, r1, "positive", "u1", "Spot on")  # identical: changes nothing
    post(stack, r1, "positive", "u1", "Spot on, really")  # a comment: no count moves
    post(stack, r1, "negative", "u2")  # a change of mind


def test_votes_posted_over_http_are_counted_once_in_the_summary(stack, settings, mint_token, api_key, agent):
    votes(stack, settings, mint_token, agent)
    stack.wait_for_streams()
    summary = review(stack, api_key, "GET", f"{agent}/feedback/summary")
    assert {key: summary["overall"][key] for key in ("positive", "negative", "runs", "runs_with_feedback")} == {
        "positive": 1,
        "negative": 2,
        "runs": 3,
        "runs_with_feedback": 2,
    }
    assert summary["since"].endswith("T00:00:00.000000Z") and summary["until"].endswith("T00:00:00.000000Z")
    check = review(stack, api_key, "GET", f"{agent}/feedback/aggregates/check")
    assert check["consistent"] is True and check["next_since"] is None and check["days"] == 30
    assert stack.stream_failures == []


def test_records_delivered_again_change_nothing(stack, settings, mint_token, api_key, agent):
    votes(stack, settings, mint_token, agent)
    stack.wait_for_streams()
    before = review(stack, api_key, "GET", f"{agent}/feedback/summary")
    # The whole feedback stream again, from its start, through the stack's own aggregator.
    client = streams_client(stack.dynamodb_endpoint)
    arn = stack.dynamodb_client().describe_table(TableName=settings.feedback_table)["Table"]["LatestStreamArn"]
    reader = StreamReader(client, arn, "TRIM_HORIZON")
    aggregator = layer_module("agentfeedback.composition").stream_aggregator()
    delivered = 0
    while batch := reader.next_batch(100):
        records = [
            lambda_record({k: v for k, v in record.items() if k != "_shard_id"}, arn, "us-east-1") for record in batch
        ]
        assert aggregator.process(records) == []
        delivered += len(records)
    assert delivered >= 6
    assert review(stack, api_key, "GET", f"{agent}/feedback/summary") == before


def test_a_failing_aggregator_is_retried_and_nothing_is_lost(stack, settings, mint_token, api_key, agent):
    cold_start_layer()
    client = layer_module("agentfeedback.composition").dynamodb()
    # DynamoDB answers errors to the first transactions: the aggregator reports the batch, and the mapping retries it.
    with Fault(client, "TransactWriteItems", code="InternalServerError", status=500, failures=12) as fault:
        votes(stack, settings, mint_token, agent)
        deadline = time.monotonic() + TIMEOUT
        while fault.failed < 12 and time.monotonic() < deadline:
            time.sleep(0.1)
    assert fault.failed == 12
    stack.wait_for_streams()
    overall = review(stack, api_key, "GET", f"{agent}/feedback/summary")["overall"]
    assert (overall["positive"], overall["negative"], overall["runs_with_feedback"]) == (1, 2, 2)
    assert stack.stream_failures == []
    cold_start_layer()


def test_a_rebuild_over_http_restores_lost_aggregates(stack, settings, mint_token, api_key, agent):
    votes(stack, settings, mint_token, agent)
    stack.wait_for_streams()
    before = review(stack, api_key, "GET", f"{agent}/feedback/summary")
    dynamodb = stack.dynamodb_client()
    found = dynamodb.query(
        TableName=settings.aggregates_table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"acme#{agent}"}},
    )["Items"]
    for item in found:
        dynamodb.delete_item(TableName=settings.aggregates_table, Key={"pk": item["pk"], "sk": item["sk"]})
    assert review(stack, api_key, "GET", f"{agent}/feedback/summary")["overall"]["total"] == 0
    assert review(stack, api_key, "GET", f"{agent}/feedback/aggregates/check")["consistent"] is False
    rebuilt = review(stack, api_key, "POST", f"{agent}/feedback/aggregates/rebuild", json={})
    assert rebuilt["next_since"] is None and len(rebuilt["corrected"]) == len(found)
    assert review(stack, api_key, "GET", f"{agent}/feedback/summary") == before


def retract(stack, token: str, user_id: str) -> None:
    params = {"feedback_token": token, "user_id": user_id}
    response = requests.delete(f"{stack.base_url}/v1/feedback", params=params, timeout=TIMEOUT)
    assert response.status_code == 200, response.text


def test_retraction_vote_again_and_erasure_move_the_counts_and_flips(stack, settings, mint_token, api_key, agent):
    votes(stack, settings, mint_token, agent)  # r1: u1 positive, u2 negative after a flip; r2: anonymous negative
    r1 = mint_token(agent_id=agent, run_id=f"{agent}-r1")
    retract(stack, r1, "u2")  # DELETE /v1/feedback: the vote and its flip leave every count
    stack.wait_for_streams()
    summary = review(stack, api_key, "GET", f"{agent}/feedback/summary")
    assert (summary["overall"]["positive"], summary["overall"]["negative"]) == (1, 1)
    assert summary["by_version"][0]["flips"] == {"positive_to_negative": 0, "negative_to_positive": 0, "votes": 0}
    post(stack, r1, "positive", "u2")  # voted again: back, with the flip its entry still holds
    post(stack, r1, "negative", "u1")  # and u1 changes its mind
    stack.wait_for_streams()
    summary = review(stack, api_key, "GET", f"{agent}/feedback/summary")
    assert (summary["overall"]["positive"], summary["overall"]["negative"]) == (1, 2)
    assert summary["by_version"][0]["flips"] == {"positive_to_negative": 2, "negative_to_positive": 0, "votes": 2}
    # An end user of this test alone (erasure is tenant-wide) votes, changes its mind, and is erased.
    gone = f"{agent}-gone"
    r2 = mint_token(agent_id=agent, run_id=f"{agent}-r2")
    post(stack, r2, "positive", gone)
    post(stack, r2, "negative", gone)
    stack.wait_for_streams()
    summary = review(stack, api_key, "GET", f"{agent}/feedback/summary")
    assert (summary["overall"]["positive"], summary["overall"]["negative"]) == (1, 3)
    assert summary["by_version"][0]["flips"] == {"positive_to_negative": 3, "negative_to_positive": 0, "votes": 3}
    erased = requests.post(
        f"{stack.base_url}/v1/_/feedback/erasures",
        json={"user_id": gone},
        headers={"Authorization": f"Bearer {api_key}"},
        timeout=TIMEOUT,
    )
    assert erased.status_code == 200 and erased.json()["erased"] == 1, erased.text
    stack.wait_for_streams()
    summary = review(stack, api_key, "GET", f"{agent}/feedback/summary")
    assert (summary["overall"]["positive"], summary["overall"]["negative"]) == (1, 2)
    assert summary["by_version"][0]["flips"] == {"positive_to_negative": 2, "negative_to_positive": 0, "votes": 2}
    assert summary["overall"]["runs_with_feedback"] == 2
    assert review(stack, api_key, "GET", f"{agent}/feedback/aggregates/check")["consistent"] is True
    assert stack.stream_failures == []
