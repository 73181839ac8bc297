"""The aggregator: DynamoDB stream records of FeedbackTable and RunsTable become counts per slot, exactly once.

Each record moves counts by what its new image counts as minus what its old image counted as
(`counting.counted_vote`, `counting.counted_run`): a first vote +1, a changed outcome -1 on one count and +1
on the other (and its flips with it), an erased or retracted vote -1, a retracted vote given again +1, a write
that changes no count (a comment, an identical repost) nothing. A batch's records are applied in transactions
of at most 100 writes: the combined `ADD`s of every slot they touch, the run states they move, and one marker
per record. Stream records can
be delivered more than once (Lambda retries a batch, or the part of it after a reported failure); a
record whose marker exists is skipped, and the marker and the counts commit together, so a record is
counted once even when the function stops half-way. Run states are read first and written under their
lock (optimistic concurrency), as shards of both tables are processed concurrently.

Why not Powertools' batch and idempotency utilities: the batch processor hands records to a handler one
at a time (so one UpdateItem per record on the same hot slot items), and the idempotency utility records
"in progress" and "completed" in writes of its own around the handler: a function stopped between the
count and "completed" counts the record again on retry. Here the marker and the count are one transaction.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from aws_lambda_powertools import Logger

from agentfeedback.aggregates.counting import CountedRun, Slot, counted_run, counted_vote
from agentfeedback.aggregates.store import AggregateStore, Plan, RunState, SlotDelta
from agentfeedback.core.errors import ServiceUnavailable
from agentfeedback.core.items import from_item
from agentfeedback.core.storage import MAX_TRANSACTION_WRITES

logger = Logger(child=True)

RunKey = tuple[str, str]  # (tenant, run_id)
MAX_ATTEMPTS = 6


@dataclass(frozen=True)
class Change:
    """What one stream record changes. `sequence` is its SequenceNumber, the id a partial batch response names."""

    sequence: str
    event_id: str
    votes: tuple[tuple[Slot, str, int], ...] = ()  # (slot, figure, amount): outcomes and flips, counting.figures
    new_vote: tuple[Slot, str] | None = None  # a vote given now for the first time: its slot and created_at
    run_votes: tuple[RunKey, int] | None = None  # the run's count of current votes moves by +1 or -1
    run: tuple[RunKey, CountedRun | None] | None = None  # the run appears in RunsTable, or leaves it (None)

    def run_keys(self) -> set[RunKey]:
        return {pair[0] for pair in (self.run_votes, self.run) if pair is not None}

    def slots(self) -> set[Slot]:
        return {slot for slot, _, _ in self.votes} | ({self.new_vote[0]} if self.new_vote else set())


def _image(record: Mapping[str, Any], name: str) -> dict[str, Any] | None:
    image = record["dynamodb"].get(name)
    return from_item(image) if image else None


def table_of(record: Mapping[str, Any]) -> str:
    """The table a stream record comes from: arn:aws:dynamodb:REGION:ACCOUNT:table/NAME/stream/LABEL."""
    return str(record["eventSourceARN"]).split(":table/", 1)[-1].split("/", 1)[0]


def vote_change(record: Mapping[str, Any]) -> Change | None:
    """The change a FeedbackTable record makes; None when it moves no count."""
    old, new = counted_vote(_image(record, "OldImage")), counted_vote(_image(record, "NewImage"))
    if old == new:
        return None
    votes = []
    if old is not None:
        votes += [(old.slot, name, -amount) for name, amount in old.figures().items() if amount]
    if new is not None:
        votes += [(new.slot, name, amount) for name, amount in new.figures().items() if amount]
    first = new is not None and (old is None or old.created_at != new.created_at)
    moved = (new is not None) - (old is not None)
    counted = new or old
    assert counted is not None
    return Change(
        sequence=str(record["dynamodb"]["SequenceNumber"]),
        event_id=str(record["eventID"]),
        votes=tuple(votes),
        new_vote=(new.slot, new.created_at) if first and new is not None else None,
        run_votes=((counted.slot.tenant, counted.run_id), moved) if moved else None,
    )


def run_change(record: Mapping[str, Any]) -> Change | None:
    """The change a RunsTable record makes (a run created, or expired by TTL); None when it moves nothing."""
    old, new = counted_run(_image(record, "OldImage")), counted_run(_image(record, "NewImage"))
    if old == new:
        return None
    counted = new or old
    assert counted is not None
    return Change(
        sequence=str(record["dynamodb"]["SequenceNumber"]),
        event_id=str(record["eventID"]),
        run=((counted.slot.tenant, counted.run_id), new),
    )


def plan_of(changes: Iterable[Change], states: Mapping[RunKey, RunState]) -> Plan:
    """The transaction that applies `changes` to stored run states `states` (every run key they touch)."""
    plan = Plan()
    deltas: dict[Slot, SlotDelta] = defaultdict(SlotDelta)
    after = dict(states)
    for change in changes:
        plan.records.append(change.event_id)
        for slot, outcome, amount in change.votes:
            deltas[slot].add(outcome, amount)
        if change.new_vote is not None:
            deltas[change.new_vote[0]].saw_vote_at(change.new_vote[1])
        if change.run_votes is not None:
            key, amount = change.run_votes
            after[key] = replace(after[key], votes=after[key].votes + amount)
        if change.run is not None:
            key, run = change.run
            after[key] = replace(after[key], run=run)
    for key, before in states.items():
        state = after[key]
        if state == before:
            continue
        plan.runs.append((before, state))
        # A run counts in its own slot while it is in RunsTable; rated while it also has a current vote.
        for counted, sign in ((before, -1), (state, +1)):
            if counted.run is not None:
                deltas[counted.run.slot].add("runs", sign)
                if counted.rated:
                    deltas[counted.run.slot].add("rated_runs", sign)
    plan.slots = {slot: delta for slot, delta in deltas.items() if delta.moves}
    return plan


def chunks(changes: Sequence[Change]) -> list[list[Change]]:
    """Consecutive groups whose transaction fits in MAX_TRANSACTION_WRITES, wherever the runs turn out to count.

    A group's writes are its markers, its slots and its run states, plus up to two slots per run state (the
    run's slot before and after), which are known only once the states are read: counted at their most.
    """
    groups: list[list[Change]] = []
    group: list[Change] = []
    slots: set[Slot] = set()
    runs: set[RunKey] = set()
    for change in changes:
        more_slots, more_runs = slots | change.slots(), runs | change.run_keys()
        if group and len(group) + 1 + len(more_slots) + 3 * len(more_runs) > MAX_TRANSACTION_WRITES:
            groups.append(group)
            group, more_slots, more_runs = [], change.slots(), change.run_keys()
        group.append(change)
        slots, runs = more_slots, more_runs
    if group:
        groups.append(group)
    return groups


@dataclass
class BatchReport:
    records: int = 0
    changes: int = 0
    applied: int = 0
    duplicates: int = 0
    transactions: int = 0
    retries: int = 0


class StreamAggregator:
    """Applies a Lambda DynamoDB stream batch (FeedbackTable or RunsTable records) to AggregatesTable."""

    def __init__(self, store: AggregateStore, feedback_table: str, runs_table: str, sleep: Any = time.sleep) -> None:
        self._store = store
        self._feedback_table = feedback_table
        self._runs_table = runs_table
        self._sleep = sleep

    def change_of(self, record: Mapping[str, Any]) -> Change | None:
        """The change one record makes. ValueError for a record of another table; KeyError for a malformed image."""
        table = table_of(record)
        if table == self._feedback_table:
            return vote_change(record)
        if table == self._runs_table:
            return run_change(record)
        raise ValueError(f"a stream record of table {table!r}, which the aggregator does not count")

    def process(self, records: Sequence[Mapping[str, Any]]) -> list[str]:
        """Apply the batch; the sequence numbers of the records to deliver again (Lambda's batchItemFailures).

        Everything before the first record returned has been applied. A record that cannot be read is
        reported (with the ones after it), so that Lambda bisects the batch and, after its retries, hands the
        record to the on-failure destination rather than blocking the shard.
        """
        report = BatchReport(records=len(records))
        changes: list[Change] = []
        unreadable: str | None = None
        for record in records:
            try:
                change = self.change_of(record)
            except (KeyError, TypeError, ValueError) as exc:
                unreadable = str(record.get("dynamodb", {}).get("SequenceNumber", ""))
                logger.error("stream record not aggregated", extra={"sequence": unreadable, "reason": repr(exc)})
                break
            if change is not None:
                changes.append(change)
        report.changes = len(changes)
        for group in chunks(changes):
            try:
                self._apply(group, report)
            except ServiceUnavailable as exc:
                logger.warning("aggregation deferred", extra={"sequence": group[0].sequence, "reason": exc.message})
                return [group[0].sequence]
        logger.info("stream batch aggregated", extra=report.__dict__)
        return [unreadable] if unreadable is not None else []

    def _apply(self, group: list[Change], report: BatchReport) -> None:
        """One transaction for the group, read again and planned again while something else moved first."""
        pending = list({change.event_id: change for change in group}.values())
        late_slots: set[Slot] = set()
        for attempt in range(MAX_ATTEMPTS):
            if attempt:
                report.retries += 1
            keys = set().union(*(change.run_keys() for change in pending)) if pending else set()
            states = self._store.run_states(sorted(keys)) if keys else {}
            plan = plan_of(pending, states)
            if not plan.records:
                return
            try:
                report.transactions += 1
                conflicts = self._store.apply(plan, skip_last_vote=late_slots)
            except ServiceUnavailable:
                # Another transaction held an item, or throttling: back off, then read again.
                self._sleep(0.05 * 2**attempt)
                continue
            if not conflicts:
                report.applied += len(plan.records)
                return
            # Records already applied (a delivery before this one) are left out; the rest is planned again.
            report.duplicates += len(conflicts.records)
            pending = [change for change in pending if change.event_id not in conflicts.records]
            late_slots |= conflicts.slots
        raise ServiceUnavailable(f"Aggregates are busy: {MAX_ATTEMPTS} attempts were refused; the batch is retried.")
