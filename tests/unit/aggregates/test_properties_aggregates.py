"""Property: whatever votes, changes, identical reposts, retractions, erasures, runs and expiries happen, and however
the stream records are delivered (batches of any size, delivered again from an earlier record as Lambda does after
a failure, shards interleaved in any order, each shard in its own order), the aggregates equal a recount.

Each example is a fresh moto account: the real stores write, moto's streams record, and the records reach the real
aggregator handler in Lambda's event shape. Two oracles: the recount behind the check route, and a count written
here from the final tables alone. A retraction is the real one (DELETE /v1/feedback: FeedbackStore.retract leaves
the entry without an outcome, with its history), a post after it votes again, and an erasure deletes the entry
(a REMOVE record); flips are the entries' own counters of changes of mind.
"""

from __future__ import annotations

import contextlib
import os
import zlib
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from agentfeedback import composition
from agentfeedback.aggregates.store import AggregateStore
from agentfeedback.core.errors import Conflict, NothingToRetract, UserLimitReached
from agentfeedback.core.items import from_item
from agentfeedback.feedback.store import FLIPS_TO_NEGATIVE, FLIPS_TO_POSITIVE, FeedbackStore
from agentfeedback.review.store import ReviewStore
from agentfeedback.runs.store import RunRecord, RunStore
from agentfeedback.tokens import TokenClaims
from local.streams import lambda_record
from local.template import table_definitions
from tests.helpers import FakeContext, load_handler

PROPERTY = settings(
    max_examples=int(os.environ.get("AGGREGATE_EXAMPLES") or 40),  # 400 with `make fuzz` (about a second each)
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
TENANT, AGENT = "acme", "support-bot"
RUNS = {"r1": "v1", "r2": "v1", "r3": "v2"}
RUN_USERS = {"r1": "u1", "r3": "u2"}  # the end user a run was made for (erased with that user)
USERS = ("u1", "u2", None)
START = datetime(2026, 11, 1, 20, 0, tzinfo=UTC)
STREAMS = "https://streams.dynamodb.us-east-1.amazonaws.com"

runs = st.sampled_from(sorted(RUNS))
operations = st.lists(
    st.one_of(
        st.tuples(
            st.just("post"),
            runs,
            st.sampled_from(USERS),
            st.sampled_from(("positive", "negative")),
            st.sampled_from((None, "a", "b")),
        ),
        st.tuples(st.just("retract"), runs, st.sampled_from(USERS)),
        st.tuples(st.just("erase"), st.sampled_from(USERS[:2])),
        st.tuples(st.just("run"), runs),
        st.tuples(st.just("expire"), runs),
        st.tuples(st.just("later"), st.integers(min_value=1, max_value=30)),
    ),
    max_size=40,
)


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def apply(ops: list[tuple], dynamodb: Any) -> None:
    """Perform the operations through the real stores (two distinct users a run at most, to meet the user cap)."""
    feedback = FeedbackStore(dynamodb, "FeedbackTable", max_users_per_run=2)
    review = ReviewStore(dynamodb, "FeedbackTable")
    run_store = RunStore(dynamodb, "RunsTable", retention_days=90)
    now = START
    for op in ops:
        now += timedelta(minutes=7)
        kind = op[0]
        if kind == "post":
            _, run_id, user, outcome, comment = op
            claims = TokenClaims(tenant=TENANT, agent_id=AGENT, run_id=run_id, version_id=RUNS[run_id])
            with contextlib.suppress(UserLimitReached):
                feedback.save(claims, user, outcome, comment, now=stamp(now))
        elif kind == "retract":
            claims = TokenClaims(tenant=TENANT, agent_id=AGENT, run_id=op[1], version_id=RUNS[op[1]])
            with contextlib.suppress(NothingToRetract):
                feedback.retract(claims, op[2], now=stamp(now))
        elif kind == "erase":
            # What ReviewService.erase_user does: the user's entries deleted, their runs' contents erased.
            for key in review.user_entry_keys(TENANT, op[1]):
                review.delete_user_entry(key, TENANT, op[1])
            run_store.erase_end_user(TENANT, op[1])
        elif kind == "run":
            record = RunRecord(
                run_id=op[1],
                tenant=TENANT,
                agent_id=AGENT,
                schema_id=1,
                version_id=RUNS[op[1]],
                version_properties={},
                task_input={},
                task_output={},
                model="offline",
                input_tokens=1,
                output_tokens=1,
                cost_usd=0.0,
                duration_seconds=0.1,
                created_at=stamp(now),
                end_user=RUN_USERS.get(op[1]),
            )
            with contextlib.suppress(Conflict):
                run_store.save(record)
        elif kind == "expire":
            dynamodb.delete_item(TableName="RunsTable", Key={"run_id": {"S": op[1]}})
        else:
            now += timedelta(hours=op[1])


def stream_records(dynamodb: Any, table: str) -> tuple[str, list[dict[str, Any]]]:
    streams = boto3.client("dynamodbstreams", endpoint_url=STREAMS)
    arn = dynamodb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    [shard] = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON")
    records = streams.get_records(ShardIterator=iterator["ShardIterator"], Limit=1000)["Records"]
    return arn, [lambda_record(record, arn, "us-east-1") for record in records]


@st.composite
def deliveries(draw: st.DrawFn, shards: list[list[dict[str, Any]]]) -> list[list[dict[str, Any]]]:
    """Each shard's records as Lambda may deliver them: consecutive batches, each possibly starting again a few
    records back (a retry after a failure); the shards' batches interleaved in any order."""
    lanes = []
    for records in shards:
        batches, position = [], 0
        while position < len(records):
            size = draw(st.integers(min_value=1, max_value=6))
            back = draw(st.integers(min_value=0, max_value=min(position, 4)))
            batches.append(records[position - back : position + size])
            position += size
        lanes.append(batches)
    schedule = []
    while any(lanes):
        lane = draw(st.sampled_from([index for index, batches in enumerate(lanes) if batches]))
        schedule.append(lanes[lane].pop(0))
    return schedule


def shard_of(record: dict[str, Any], count: int) -> int:
    """A key's records all go to one shard (as in DynamoDB Streams): shards by a hash of the key."""
    key = next(iter(record["dynamodb"]["Keys"].values()))["S"]
    return zlib.crc32(key.encode()) % count


def current_votes(dynamodb: Any) -> list[dict[str, Any]]:
    """The entries that hold a vote (a retracted one has no outcome; the run's user counter has no `#` in its key)."""
    entries = [from_item(item) for item in dynamodb.scan(TableName="FeedbackTable")["Items"]]
    return [entry for entry in entries if "#" in entry["pk"] and entry.get("outcome") is not None]


def independent_counts(dynamodb: Any) -> dict[tuple[str, str], tuple[int, ...]]:
    """(day, version) -> (positive, negative, runs, rated runs, flips to negative, flips to positive, flipped
    votes), from the final tables, without the layer's code."""
    entries = current_votes(dynamodb)
    runs_stored = [from_item(item) for item in dynamodb.scan(TableName="RunsTable")["Items"]]
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0] * 7)
    voted = {entry["run_id"] for entry in entries}
    for entry in entries:
        slot = counts[(entry["created_at"][:10], entry["version_id"])]
        slot[0 if entry["outcome"] == "positive" else 1] += 1
        to_negative, to_positive = int(entry.get(FLIPS_TO_NEGATIVE, 0)), int(entry.get(FLIPS_TO_POSITIVE, 0))
        slot[4] += to_negative
        slot[5] += to_positive
        slot[6] += bool(to_negative or to_positive)
    for run in runs_stored:
        slot = counts[(run["created_at"][:10], run["version_id"])]
        slot[2] += 1
        slot[3] += run["run_id"] in voted
    return {key: tuple(value) for key, value in counts.items() if any(value)}


@PROPERTY
@given(ops=operations, shard_count=st.integers(min_value=1, max_value=3), data=st.data())
def test_aggregates_equal_a_recount_whatever_the_delivery(ops, shard_count, data):
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        for name, definition in table_definitions().items():
            dynamodb.create_table(TableName=name, **definition)
        composition.reset()
        apply(ops, dynamodb)

        shards = []
        for table in ("FeedbackTable", "RunsTable"):
            _, records = stream_records(dynamodb, table)
            split: list[list[dict[str, Any]]] = [[] for _ in range(shard_count)]
            for record in records:
                split[shard_of(record, shard_count)].append(record)
            shards += [records for records in split if records]
        handler = load_handler("aggregator").lambda_handler
        for batch in data.draw(deliveries(shards)):
            assert handler({"Records": batch}, FakeContext()) == {"batchItemFailures": []}

        stored = AggregateStore(dynamodb, "AggregatesTable").day_counts(TENANT, AGENT, "2026-11-01", "2026-12-31")
        aggregated = {(entry.slot.day, entry.slot.version_id): entry.figures for entry in stored if not entry.empty}
        assert aggregated == independent_counts(dynamodb)
        recounter = composition.recounter()
        days = {day for day, _ in aggregated} | {entry.slot.day for entry in stored}
        assert all(recounter.check_day(TENANT, AGENT, day) == [] for day in days)
        # Each run's state holds its number of current votes.
        votes = Counter(entry["run_id"] for entry in current_votes(dynamodb))
        states = composition.aggregate_store().run_states((TENANT, run_id) for run_id in RUNS)
        assert {run_id: states[(TENANT, run_id)].votes for run_id in RUNS} == {run_id: votes[run_id] for run_id in RUNS}
    composition.reset()
