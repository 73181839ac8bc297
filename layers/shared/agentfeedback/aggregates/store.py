"""AggregatesTable: counts per slot, the aggregator's per-run state, and markers of applied stream records.

Items (pk, sk):
- counts   `{tenant}#{agent_id}`, `day#{day}#{version_id}`: positive, negative (current votes first given that
  day), runs (runs created that day), rated_runs (those of them with at least one current vote),
  flips_to_negative, flips_to_positive and flipped_votes (the current votes' changes of mind), last_vote_at
  (the latest first-vote time seen). One partition per agent, read as a range of days: a summary costs one
  query of days x versions items, whatever the number of votes.
- run state `run#{tenant}#{run_id}`, `state`: how many current votes the run has, whether the run itself is in
  RunsTable (and in which slot), and a lock counter for optimistic concurrency: rated_runs moves when a run
  with votes appears or expires, or a live run's vote count crosses zero.
- marker `record#{eventID}`, `applied`: written in the same transaction as the counts a stream record moves,
  so that a record delivered again is recognised and applied once. Expires (TTL) after MARKER_TTL_SECONDS,
  beyond DynamoDB Streams' 24-hour retention, after which no record can come again.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from agentfeedback.aggregates.counting import FLIPPED_VOTES, CountedRun, Slot
from agentfeedback.core.storage import Put, Query, Table, Update
from agentfeedback.feedback.store import FLIPS_TO_NEGATIVE, FLIPS_TO_POSITIVE

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

MARKER_TTL_SECONDS = 2 * 86400
_FIGURES = ("positive", "negative", "runs", "rated_runs", FLIPS_TO_NEGATIVE, FLIPS_TO_POSITIVE, FLIPPED_VOTES)


@dataclass(frozen=True)
class DayCounts:
    """The counts of one slot. positive/negative: current votes; runs: runs created; rated_runs: of those, runs
    with at least one current vote; flips_to_negative/flips_to_positive: the current votes' changes of mind, ever
    (feedback.store's counters), flipped_votes: how many of them flipped at all; last_vote_at: the latest
    first-vote time recorded (None: no vote yet)."""

    slot: Slot
    positive: int = 0
    negative: int = 0
    runs: int = 0
    rated_runs: int = 0
    flips_to_negative: int = 0
    flips_to_positive: int = 0
    flipped_votes: int = 0
    last_vote_at: str | None = None

    @property
    def figures(self) -> tuple[int, ...]:
        """Every count, in _FIGURES order (last_vote_at aside)."""
        return tuple(getattr(self, name) for name in _FIGURES)

    @property
    def empty(self) -> bool:
        return not any(self.figures)


@dataclass
class SlotDelta:
    """What a set of stream records moves in one slot; last_vote_at: the latest new first vote among them."""

    positive: int = 0
    negative: int = 0
    runs: int = 0
    rated_runs: int = 0
    flips_to_negative: int = 0
    flips_to_positive: int = 0
    flipped_votes: int = 0
    last_vote_at: str | None = None

    def add(self, name: str, amount: int) -> None:
        setattr(self, name, getattr(self, name) + amount)

    def saw_vote_at(self, created_at: str) -> None:
        self.last_vote_at = max(self.last_vote_at or "", created_at)

    @property
    def moves(self) -> bool:
        return any(getattr(self, name) for name in _FIGURES) or self.last_vote_at is not None


@dataclass(frozen=True)
class RunState:
    """The aggregator's view of one run: its current votes, and the run itself while it is in RunsTable."""

    tenant: str
    run_id: str
    votes: int = 0
    run: CountedRun | None = None
    lock: int = 0  # 0: no state stored yet; every write adds 1

    @property
    def rated(self) -> bool:
        return self.run is not None and self.votes > 0

    @property
    def key(self) -> tuple[str, str]:
        return self.tenant, self.run_id


@dataclass
class Plan:
    """One transaction: the records it marks applied, the run states it moves (before, after) and slot deltas."""

    records: list[str] = field(default_factory=list)
    runs: list[tuple[RunState, RunState]] = field(default_factory=list)
    slots: dict[Slot, SlotDelta] = field(default_factory=dict)

    @property
    def writes(self) -> int:
        return len(self.records) + len(self.runs) + len(self.slots)


@dataclass(frozen=True)
class Conflicts:
    """Why a transaction was refused: records already applied, run states changed since they were read, and
    slots whose stored last_vote_at is already later. All empty: it was applied."""

    records: frozenset[str] = frozenset()
    runs: frozenset[tuple[str, str]] = frozenset()
    slots: frozenset[Slot] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.records or self.runs or self.slots)


def counts_key(tenant: str, agent_id: str, day: str, version_id: str = "") -> dict[str, str]:
    return {"pk": f"{tenant}#{agent_id}", "sk": f"day#{day}#{version_id}"}


def _run_key(tenant: str, run_id: str) -> dict[str, str]:
    return {"pk": f"run#{tenant}#{run_id}", "sk": "state"}


def _marker_key(event_id: str) -> dict[str, str]:
    return {"pk": f"record#{event_id}", "sk": "applied"}


def _day_counts(item: Mapping[str, Any]) -> DayCounts:
    slot = Slot(str(item["tenant"]), str(item["agent_id"]), str(item["version_id"]), str(item["day"]))
    figures = {name: int(item.get(name, 0)) for name in _FIGURES}
    return DayCounts(slot=slot, last_vote_at=item.get("last_vote_at"), **figures)


def _run_state(item: Mapping[str, Any]) -> RunState:
    run = None
    if item.get("live"):
        slot = Slot(str(item["tenant"]), str(item["agent_id"]), str(item["version_id"]), str(item["day"]))
        run = CountedRun(slot=slot, run_id=str(item["run_id"]), created_at=str(item["run_created_at"]))
    return RunState(
        tenant=str(item["tenant"]),
        run_id=str(item["run_id"]),
        votes=int(item["votes"]),
        run=run,
        lock=int(item["lock"]),
    )


def _slot_attributes(slot: Slot) -> dict[str, str]:
    return {"tenant": slot.tenant, "agent_id": slot.agent_id, "version_id": slot.version_id, "day": slot.day}


class AggregateStore:
    def __init__(self, client: DynamoDBClient, table_name: str, clock: Any = time.time) -> None:
        self._table = Table(client, table_name)
        self._clock = clock

    # -- reads ----------------------------------------------------------------------------------

    def day_counts(self, tenant: str, agent_id: str, first_day: str, last_day: str) -> list[DayCounts]:
        """Every slot of an agent from first_day to last_day (inclusive, YYYY-MM-DD), in day order.

        One query over the agent's partition: its cost is days x versions items, not votes.
        """
        low, high = counts_key(tenant, agent_id, first_day)["sk"], counts_key(tenant, agent_id, last_day)["sk"]
        query = Query(
            "pk = :pk AND sk BETWEEN :low AND :high",
            # Every version id sorts below U+FFFF, so this closes the last day.
            values={":pk": f"{tenant}#{agent_id}", ":low": low, ":high": high + "\uffff"},
        )
        return [_day_counts(item) for item in self._table.query_all(query)]

    def run_states(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], RunState]:
        """The state of each (tenant, run_id), strongly consistent; an empty state (lock 0) where none is stored."""
        wanted = list(dict.fromkeys(keys))
        found = {
            state.key: state
            for state in map(_run_state, self._table.get_many([_run_key(*key) for key in wanted], consistent=True))
        }
        return {key: found.get(key) or RunState(tenant=key[0], run_id=key[1]) for key in wanted}

    # -- the stream aggregator's one write: a transaction -----------------------------------------

    def apply(self, plan: Plan, skip_last_vote: Iterable[Slot] = ()) -> Conflicts:
        """Write the plan in one transaction (at most 100 writes); Conflicts says why it was refused.

        Records already marked, run states whose lock moved since they were read, and slots whose stored
        last_vote_at is later than the plan's are conflicts; `skip_last_vote` leaves that field alone in slots
        known to be later already. ServiceUnavailable when storage is busy (nothing was written).
        """
        skipped = set(skip_last_vote)
        writes: list[Put | Update] = []
        owners: list[tuple[str, Any]] = []
        expires_at = int(self._clock()) + MARKER_TTL_SECONDS
        for event_id in plan.records:
            writes.append(Put({**_marker_key(event_id), "expires_at": expires_at}, "attribute_not_exists(pk)"))
            owners.append(("record", event_id))
        for before, after in plan.runs:
            writes.append(self._run_write(before, after))
            owners.append(("run", before.key))
        for slot, delta in plan.slots.items():
            writes.append(self._slot_write(slot, delta, slot in skipped))
            owners.append(("slot", slot))
        if not writes:
            return Conflicts()
        failed = [owners[index] for index in self._table.write_all(writes)]
        return Conflicts(
            records=frozenset(owner for kind, owner in failed if kind == "record"),
            runs=frozenset(owner for kind, owner in failed if kind == "run"),
            slots=frozenset(owner for kind, owner in failed if kind == "slot"),
        )

    @staticmethod
    def _run_write(before: RunState, after: RunState) -> Update:
        """after's state, if the stored one is still before's (its lock has not moved)."""
        update = _run_update(after, "SET #lock = :next", {":next": before.lock + 1})
        if not before.lock:
            return replace(update, condition="attribute_not_exists(pk)")
        return replace(update, condition="#lock = :lock", values={**(update.values or {}), ":lock": before.lock})

    @staticmethod
    def _slot_write(slot: Slot, delta: SlotDelta, skip_last_vote: bool) -> Update:
        attributes = _slot_attributes(slot)
        names = {f"#{name}": name for name in (*attributes, *_FIGURES)}
        values: dict[str, Any] = {f":{name}": value for name, value in attributes.items()}
        values.update({f":{name}": getattr(delta, name) for name in _FIGURES})
        expression = "SET " + ", ".join(f"#{name} = :{name}" for name in attributes)
        condition = None
        if delta.last_vote_at is not None and not skip_last_vote:
            names["#last"] = "last_vote_at"
            values[":last"] = delta.last_vote_at
            expression += ", #last = :last"
            # A maximum: kept when the stored time is later (the transaction is then refused and retried without).
            condition = "attribute_not_exists(#last) OR #last <= :last"
        expression += " ADD " + ", ".join(f"#{name} :{name}" for name in _FIGURES)
        key = counts_key(slot.tenant, slot.agent_id, slot.day, slot.version_id)
        return Update(key, expression, condition=condition, names=names, values=values)

    # -- the rebuild's writes -------------------------------------------------------------------

    def replace_counts(self, counts: DayCounts) -> None:
        """Overwrite one slot with recounted figures (an empty slot is deleted)."""
        slot = counts.slot
        key = counts_key(slot.tenant, slot.agent_id, slot.day, slot.version_id)
        if counts.empty and counts.last_vote_at is None:
            self._table.delete(key)
            return
        figures = {name: getattr(counts, name) for name in _FIGURES}
        self._table.put({**key, **_slot_attributes(slot), **figures, "last_vote_at": counts.last_vote_at})

    def replace_run_states(self, states: Sequence[RunState]) -> None:
        """Overwrite run states with recounted ones; the lock still moves, so a concurrent aggregator re-reads."""
        for state in states:
            update = _run_update(state, "ADD #lock :one", {":one": 1})
            self._table.update(update.key, update.expression, names=update.names, values=update.values)


def _run_update(state: RunState, lock_clause: str, lock_values: dict[str, Any]) -> Update:
    """The update that stores `state` (without a condition), with lock_clause moving its lock."""
    run_fields = ("agent_id", "version_id", "day", "run_created_at")
    names = {f"#{name}": name for name in ("votes", "lock", "live", "tenant", "run_id", *run_fields)}
    values: dict[str, Any] = {
        ":votes": state.votes,
        ":live": state.run is not None,
        ":tenant": state.tenant,
        ":run_id": state.run_id,
        **lock_values,
    }
    sets = [f"#{name} = :{name}" for name in ("votes", "live", "tenant", "run_id")]
    if state.run is not None:
        run = state.run
        values.update(
            {":agent_id": run.slot.agent_id, ":version_id": run.slot.version_id, ":day": run.slot.day},
            **{":run_created_at": run.created_at},
        )
        sets += [f"#{name} = :{name}" for name in run_fields]
        removed = ""
    else:
        removed = " REMOVE " + ", ".join(f"#{name}" for name in run_fields)
    # The lock clause is either a SET (joined to the others) or an ADD.
    if lock_clause.startswith("SET "):
        expression = "SET " + ", ".join([*sets, lock_clause.removeprefix("SET ")]) + removed
    else:
        expression = "SET " + ", ".join(sets) + removed + " " + lock_clause
    return Update(_run_key(state.tenant, state.run_id), expression, names=names, values=values)
