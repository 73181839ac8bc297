"""Counting again from the source tables, one UTC day at a time: the check against the aggregates, and the rebuild.

A day's recount reads the votes first given that day (FeedbackTable.by_agent_time, which retracted votes leave),
the runs created that day (RunsTable.by_agent_time) and, for each of those runs, its current votes whenever given
(FeedbackTable.by_run's keys, then the entries by key; a few runs at a time): a run counts as rated when it has at
least one, which is also what the aggregator keeps. Every item goes through counting.counted_vote, so the recount
and the stream agree on what a vote is.
"""

from __future__ import annotations

from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agentfeedback.aggregates.counting import VOTE_ATTRIBUTES, CountedRun, Slot, counted_vote
from agentfeedback.aggregates.store import AggregateStore, DayCounts, RunState, SlotDelta
from agentfeedback.core.storage import Query, Table

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# by_run queries in flight at once (boto3 clients are thread-safe); one per run of the day.
RUN_QUERY_WORKERS = 8


@dataclass(frozen=True)
class Difference:
    """A slot whose stored figures (votes, runs, rated runs, flips: DayCounts.figures) differ from the recount's."""

    slot: Slot
    stored: DayCounts
    recounted: DayCounts


@dataclass(frozen=True)
class DayRecount:
    day: str
    counts: dict[Slot, DayCounts]  # every version with a vote or a run that day
    run_states: list[RunState]  # each run created that day, with its current votes


def _day_range(day: str) -> tuple[str, str]:
    return f"{day}T00:00:00.000000Z", f"{day}T23:59:59.999999Z"


def _projection(names: tuple[str, ...]) -> tuple[str, dict[str, str]]:
    placeholders = {f"#{name}": name for name in names}
    return ", ".join(placeholders), placeholders


class Recounter:
    def __init__(
        self, client: DynamoDBClient, feedback_table: str, runs_table: str, aggregates: AggregateStore
    ) -> None:
        self._feedback_table = Table(client, feedback_table)
        self._runs_table = Table(client, runs_table)
        self._aggregates = aggregates

    def recount_day(self, tenant: str, agent_id: str, day: str) -> DayRecount:
        """The counts of every slot of one agent and day, and the state of each run created that day."""
        tallies: dict[Slot, SlotDelta] = defaultdict(SlotDelta)
        for item in self._votes_of_day(tenant, agent_id, day):
            vote = counted_vote(item)
            if vote is not None and vote.slot.day == day:
                for name, amount in vote.figures().items():
                    tallies[vote.slot].add(name, amount)
                tallies[vote.slot].saw_vote_at(vote.created_at)
        runs = [
            CountedRun(
                slot=Slot(tenant, agent_id, str(item["version_id"]), day),
                run_id=str(item["run_id"]),
                created_at=str(item["created_at"]),
            )
            for item in self._runs_of_day(tenant, agent_id, day)
        ]
        with ThreadPoolExecutor(max_workers=RUN_QUERY_WORKERS) as pool:
            votes = list(pool.map(lambda run: self._run_votes(tenant, run.run_id), runs))
        states = [
            RunState(tenant=tenant, run_id=run.run_id, votes=count, run=run)
            for run, count in zip(runs, votes, strict=True)
        ]
        for state in states:
            assert state.run is not None
            tallies[state.run.slot].add("runs", 1)
            tallies[state.run.slot].add("rated_runs", int(state.rated))
        counts = {slot: DayCounts(slot=slot, **vars(tally)) for slot, tally in tallies.items()}
        return DayRecount(day=day, counts=counts, run_states=states)

    def differences(self, tenant: str, agent_id: str, day: str) -> tuple[DayRecount, list[Difference]]:
        """The recount of a day, and every slot whose stored figures differ from it (last_vote_at aside)."""
        recount = self.recount_day(tenant, agent_id, day)
        stored = {counts.slot: counts for counts in self._aggregates.day_counts(tenant, agent_id, day, day)}
        found = []
        for slot in sorted(recount.counts.keys() | stored.keys()):
            have, want = stored.get(slot, DayCounts(slot)), recount.counts.get(slot, DayCounts(slot))
            if have.figures != want.figures:
                found.append(Difference(slot=slot, stored=have, recounted=want))
        return recount, found

    def check_day(self, tenant: str, agent_id: str, day: str) -> list[Difference]:
        """The slots of one day whose stored figures differ from a recount."""
        return self.differences(tenant, agent_id, day)[1]

    def rebuild_day(self, tenant: str, agent_id: str, day: str) -> list[Difference]:
        """Overwrite one day's slots and its runs' states with the recount; the differences it corrected.

        Votes that change while the day is rebuilt may be counted once too often or not at all (the stream
        applies them to figures the rebuild then overwrites): rebuild while the aggregator has caught up, and
        check again afterwards.
        """
        recount, found = self.differences(tenant, agent_id, day)
        stored = {counts.slot: counts for counts in self._aggregates.day_counts(tenant, agent_id, day, day)}
        for slot in recount.counts.keys() | stored.keys():
            wanted = recount.counts.get(slot, DayCounts(slot))
            if stored.get(slot) != wanted:
                self._aggregates.replace_counts(wanted)
        current = self._aggregates.run_states(state.key for state in recount.run_states)
        changed = [
            state
            for state in recount.run_states
            if (current[state.key].votes, current[state.key].run) != (state.votes, state.run)
        ]
        self._aggregates.replace_run_states(changed)
        return found

    def _votes_of_day(self, tenant: str, agent_id: str, day: str) -> list[dict[str, Any]]:
        """The agent's entries first given that day (what counted_vote reads of them)."""
        projection, names = _projection(VOTE_ATTRIBUTES)
        low, high = _day_range(day)
        return list(
            self._feedback_table.query_all(
                Query(
                    "#ta = :ta AND #at BETWEEN :low AND :high",
                    index="by_agent_time",
                    names={**names, "#ta": "tenant_agent", "#at": "created_at"},
                    values={":ta": f"{tenant}#{agent_id}", ":low": low, ":high": high},
                    projection=projection,
                )
            )
        )

    def _runs_of_day(self, tenant: str, agent_id: str, day: str) -> list[dict[str, Any]]:
        """The agent's runs created that day: id, version and time (what the runs index projects)."""
        projection, names = _projection(("run_id", "version_id", "created_at"))
        low, high = _day_range(day)
        return list(
            self._runs_table.query_all(
                Query(
                    "#ta = :ta AND #at BETWEEN :low AND :high",
                    index="by_agent_time",
                    names={**names, "#ta": "tenant_agent", "#at": "created_at"},
                    values={":ta": f"{tenant}#{agent_id}", ":low": low, ":high": high},
                    projection=projection,
                )
            )
        )

    def _run_votes(self, tenant: str, run_id: str) -> int:
        """How many current votes one run has (whenever they were given).

        by_run projects keys only (a changed vote never writes it): the run's entries are then read by key.
        """
        keys = [
            {"pk": str(item["pk"])}
            for item in self._feedback_table.query_all(
                Query("#tr = :tr", index="by_run", names={"#tr": "tenant_run"}, values={":tr": f"{tenant}#{run_id}"})
            )
        ]
        projection, names = _projection(VOTE_ATTRIBUTES)
        items = self._feedback_table.get_many(keys, consistent=True, projection=projection, names=names)
        return sum(1 for item in items if counted_vote(item) is not None)
