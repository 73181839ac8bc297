"""The aggregator function, called as Lambda's event source mapping calls it, with the batches in events/aggregator/."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from agentfeedback import composition
from agentfeedback.aggregates.counting import Slot
from agentfeedback.aggregates.store import AggregateStore, DayCounts
from tests.fuzz.botocore_faults import Fault, connection_refused, recorded_backoff
from tests.helpers import FakeContext, load_event, load_handler

SLOT = Slot("acme", "support-bot", "v1", "2026-11-02")
RUN = "0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b"


def handle(event: dict[str, Any]) -> list[str]:
    response = load_handler("aggregator").lambda_handler(event, FakeContext())
    return [failure["itemIdentifier"] for failure in response["batchItemFailures"]]


def counts(aws) -> list[DayCounts]:
    return AggregateStore(aws.dynamodb, "AggregatesTable").day_counts("acme", "support-bot", "2026-10-01", "2026-12-31")


def run_state(aws) -> dict[str, Any]:
    item = aws.dynamodb.get_item(
        TableName="AggregatesTable", Key={"pk": {"S": f"run#acme#{RUN}"}, "sk": {"S": "state"}}
    )
    return item.get("Item", {})


# The batch: user-1 votes positive, user-2 positive, user-1 changes to negative (with a comment: a flip), changes
# only the comment, user-2 is erased; the run's user counter moves twice. Then the run itself arrives.
EXPECTED = DayCounts(
    SLOT,
    positive=0,
    negative=1,
    runs=1,
    rated_runs=1,
    flips_to_negative=1,
    flipped_votes=1,
    last_vote_at="2026-11-02T10:05:00.000000Z",
)


def test_a_batch_moves_counts_by_the_difference_of_old_and_new_images(aws):
    assert handle(load_event("aggregator/feedback_stream_batch.json")) == []
    assert counts(aws) == [
        DayCounts(SLOT, negative=1, flips_to_negative=1, flipped_votes=1, last_vote_at=EXPECTED.last_vote_at)
    ]
    assert handle(load_event("aggregator/runs_stream_batch.json")) == []
    assert counts(aws) == [EXPECTED]
    assert run_state(aws)["votes"] == {"N": "1"} and run_state(aws)["live"] == {"BOOL": True}


def test_the_run_may_arrive_before_or_after_its_votes(aws):
    assert handle(load_event("aggregator/runs_stream_batch.json")) == []
    assert counts(aws) == [DayCounts(SLOT, runs=1)]  # created, not rated yet
    assert handle(load_event("aggregator/feedback_stream_batch.json")) == []
    assert counts(aws) == [EXPECTED]


def test_a_batch_delivered_again_counts_once(aws):
    for _ in range(3):
        assert handle(load_event("aggregator/feedback_stream_batch.json")) == []
        assert handle(load_event("aggregator/runs_stream_batch.json")) == []
    assert counts(aws) == [EXPECTED]


def test_a_batch_delivered_again_from_a_record_in_its_middle_counts_once(aws):
    batch = load_event("aggregator/feedback_stream_batch.json")
    assert handle(batch) == []
    for start in (3, 5, 1):
        assert handle({"Records": batch["Records"][start:]}) == []
    assert handle(load_event("aggregator/runs_stream_batch.json")) == []
    assert counts(aws) == [EXPECTED]


# Then (events/aggregator/feedback_stream_retraction.json, the store's own images): user-1 retracts (DELETE
# /v1/feedback: the entry keeps its history and flips, loses its outcome) and the run's counter gives the place
# back; user-1 votes positive again, on the day the entry was first given.
def test_a_retraction_takes_the_vote_and_its_flips_out_and_a_vote_given_again_puts_them_back(aws):
    handle(load_event("aggregator/feedback_stream_batch.json"))
    handle(load_event("aggregator/runs_stream_batch.json"))
    retraction = load_event("aggregator/feedback_stream_retraction.json")["Records"]
    assert handle({"Records": retraction[:2]}) == []
    retracted = DayCounts(SLOT, runs=1, last_vote_at=EXPECTED.last_vote_at)
    assert counts(aws) == [retracted]
    assert run_state(aws)["votes"] == {"N": "0"}
    # Delivered again from the start (Lambda's retry after a failure): the retraction counts once.
    for _ in range(2):
        assert handle({"Records": retraction}) == []
    again = DayCounts(
        SLOT,
        positive=1,
        runs=1,
        rated_runs=1,
        flips_to_negative=1,
        flipped_votes=1,
        last_vote_at=retracted.last_vote_at,
    )
    assert counts(aws) == [again]
    assert run_state(aws)["votes"] == {"N": "1"}


def test_an_expired_run_leaves_the_runs_and_rated_runs_of_its_day(aws):
    handle(load_event("aggregator/feedback_stream_batch.json"))
    handle(load_event("aggregator/runs_stream_batch.json"))
    assert handle(load_event("aggregator/runs_stream_expiry.json")) == []
    [after] = counts(aws)
    assert (after.positive, after.negative, after.runs, after.rated_runs) == (0, 1, 0, 0)
    assert run_state(aws)["live"] == {"BOOL": False} and run_state(aws)["votes"] == {"N": "1"}


def test_storage_failing_reports_the_batch_for_a_retry_and_writes_nothing(aws):
    # Raised in botocore's retry loop, before moto is reached (an answered fault would not stop moto's write).
    client = composition.dynamodb()
    with recorded_backoff(), Fault(client, "TransactWriteItems", exception=connection_refused) as fault:
        failed = handle(load_event("aggregator/feedback_stream_batch.json"))
    first_change = load_event("aggregator/feedback_stream_batch.json")["Records"][1]["dynamodb"]["SequenceNumber"]
    assert failed == [first_change]  # the counter record before it moves nothing
    assert fault.attempts > 1 and counts(aws) == []
    # Lambda delivers from the reported record again; this time storage answers.
    assert handle(load_event("aggregator/feedback_stream_batch.json")) == []
    assert handle(load_event("aggregator/runs_stream_batch.json")) == []
    assert counts(aws) == [EXPECTED]


def test_an_unreadable_record_is_reported_after_applying_the_ones_before_it(aws):
    batch = load_event("aggregator/feedback_stream_batch.json")
    broken = copy.deepcopy(batch)
    del broken["Records"][4]["dynamodb"]["NewImage"]["created_at"]  # user-1's change
    assert handle(broken) == [broken["Records"][4]["dynamodb"]["SequenceNumber"]]
    assert counts(aws) == [DayCounts(SLOT, positive=2, last_vote_at=EXPECTED.last_vote_at)]
    other_table = copy.deepcopy(batch)
    other_table["Records"][0]["eventSourceARN"] = other_table["Records"][0]["eventSourceARN"].replace(
        "FeedbackTable", "AgentsTable"
    )
    assert handle(other_table) == [other_table["Records"][0]["dynamodb"]["SequenceNumber"]]


def test_a_run_state_changed_between_read_and_write_is_read_again(aws, monkeypatch):
    """Two shards, one run: another invocation moves the run's state after this one read it."""
    handle(load_event("aggregator/runs_stream_batch.json"))
    store = composition.aggregate_store()
    original = store.run_states
    interleaved = []

    def read_then_lose_the_race(keys):
        states = original(keys)
        if not interleaved:
            interleaved.append(True)
            # The run's vote from another shard is applied in between (it reads the state itself first).
            monkeypatch.setattr(store, "run_states", original)
            other = load_event("aggregator/feedback_stream_batch.json")
            assert handle({"Records": other["Records"][:2]}) == []  # counter + user-1's first vote
            monkeypatch.setattr(store, "run_states", read_then_lose_the_race)
        return states

    monkeypatch.setattr(store, "run_states", read_then_lose_the_race)
    assert handle(load_event("aggregator/feedback_stream_batch.json")) == []
    assert interleaved and counts(aws) == [EXPECTED]


def test_a_large_batch_is_split_into_transactions_of_at_most_100_writes(aws, monkeypatch):
    template = load_event("aggregator/feedback_stream_batch.json")["Records"][1]
    records = []
    for index in range(150):
        record = copy.deepcopy(template)
        record["eventID"] = f"event-{index}"
        record["dynamodb"]["SequenceNumber"] = f"{index:021d}"
        image = record["dynamodb"]["NewImage"]
        image["pk"] = {"S": f"run-{index}#u"}
        image["run_id"] = {"S": f"run-{index}"}
        image["version_id"] = {"S": f"v{index % 7}"}
        image["created_at"] = {"S": f"2026-11-{1 + index % 20:02d}T10:00:00.000000Z"}
        records.append(record)
    store = composition.aggregate_store()
    sizes = []
    write_all = store._table.write_all

    def recorded(writes):
        sizes.append(len(writes))
        return write_all(writes)

    monkeypatch.setattr(store._table, "write_all", recorded)
    assert handle({"Records": records}) == []
    assert len(sizes) > 1 and max(sizes) <= 100
    assert sum(entry.positive for entry in counts(aws)) == 150
    assert len(counts(aws)) == len({(index % 7, index % 20) for index in range(150)})


@pytest.mark.parametrize(
    "name", ["feedback_stream_batch", "feedback_stream_retraction", "runs_stream_batch", "runs_stream_expiry"]
)
def test_sample_events_have_lambdas_dynamodb_stream_shape(name):
    for record in load_event(f"aggregator/{name}.json")["Records"]:
        assert record["eventSource"] == "aws:dynamodb" and record["eventVersion"] == "1.1"
        assert record["eventName"] in {"INSERT", "MODIFY", "REMOVE"}
        assert record["eventSourceARN"].startswith("arn:aws:dynamodb:us-east-1:123456789012:table/")
        stream = record["dynamodb"]
        assert {"Keys", "SequenceNumber", "SizeBytes", "StreamViewType", "ApproximateCreationDateTime"} <= set(stream)
        assert ("NewImage" in stream) == (record["eventName"] != "REMOVE")
        assert ("OldImage" in stream) == (record["eventName"] != "INSERT")
