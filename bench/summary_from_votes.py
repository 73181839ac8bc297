"""The summary as it was computed before aggregates (commit 145aa28), kept for bench/summary_latency.py to compare.

It reads every vote of the window through FeedbackTable.by_agent_time and every run through RunsTable.by_agent_time,
and counts in the function: its cost grows with the votes in the window. Not part of the layer: nothing serves it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from agentfeedback.core.storage import Query, Table
from agentfeedback.feedback.store import FLIPS_TO_NEGATIVE, FLIPS_TO_POSITIVE
from agentfeedback.review.models import DayFigures, FeedbackSummary, Figures, Flips, VersionFigures
from agentfeedback.review.satisfaction import VoteTally
from agentfeedback.review.service import DayWindow, stored_time


@dataclass(frozen=True)
class Vote:
    run_id: str
    version_id: str
    outcome: str
    created_at: str
    flips_to_negative: int
    flips_to_positive: int


@dataclass(frozen=True)
class RunStamp:
    run_id: str
    created_at: str
    version_id: str | None


def _window_condition(window: DayWindow) -> tuple[str, dict[str, str], dict[str, Any]]:
    return (
        "#p = :p AND #t BETWEEN :lowest AND :highest",
        {"#p": "tenant_agent", "#t": "created_at"},
        {":lowest": stored_time(window.since), ":highest": f"{window.last_day}T23:59:59.999999Z"},
    )


def read_votes(feedback: Table, tenant: str, agent_id: str, window: DayWindow) -> Iterator[Vote]:
    condition, names, values = _window_condition(window)
    names.update(
        {
            "#run_id": "run_id",
            "#version_id": "version_id",
            "#outcome": "outcome",
            "#down": FLIPS_TO_NEGATIVE,
            "#up": FLIPS_TO_POSITIVE,
        }
    )
    query = Query(
        condition,
        index="by_agent_time",
        names=names,
        values={**values, ":p": f"{tenant}#{agent_id}"},
        projection="#run_id, #version_id, #outcome, #t, #down, #up",
    )
    for item in feedback.query_all(query):
        yield Vote(
            str(item["run_id"]),
            str(item["version_id"]),
            str(item["outcome"]),
            str(item["created_at"]),
            int(item.get(FLIPS_TO_NEGATIVE, 0)),
            int(item.get(FLIPS_TO_POSITIVE, 0)),
        )


def read_runs(runs: Table, tenant: str, agent_id: str, window: DayWindow) -> Iterator[RunStamp]:
    condition, names, values = _window_condition(window)
    query = Query(condition, index="by_agent_time", names=names, values={**values, ":p": f"{tenant}#{agent_id}"})
    for item in runs.query_all(query):
        yield RunStamp(str(item["run_id"]), str(item["created_at"]), item.get("version_id"))


def summarise(agent_id: str, window: DayWindow, votes: Iterable[Vote], runs: Iterable[RunStamp]) -> FeedbackSummary:
    """The former review.service.summarise, without its version filter."""
    overall = VoteTally()
    per_version: dict[str, VoteTally] = defaultdict(VoteTally)
    flips: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])  # to negative, to positive, votes that flipped
    last_vote: dict[str, str] = {}
    per_day: dict[str, VoteTally] = defaultdict(VoteTally)
    rated_runs: set[str] = set()
    for vote in votes:
        overall.add(vote.outcome)
        per_version[vote.version_id].add(vote.outcome)
        flipped = flips[vote.version_id]
        flipped[0] += vote.flips_to_negative
        flipped[1] += vote.flips_to_positive
        flipped[2] += bool(vote.flips_to_negative or vote.flips_to_positive)
        last_vote[vote.version_id] = max(last_vote.get(vote.version_id, ""), vote.created_at)
        per_day[vote.created_at[:10]].add(vote.outcome)
        rated_runs.add(vote.run_id)
    run_list = list(runs)

    def run_counts(selected: Iterable[RunStamp]) -> tuple[int, int]:
        ids = {run.run_id for run in selected}
        return len(ids), len(ids & rated_runs)

    days_with_runs: dict[str, list[RunStamp]] = defaultdict(list)
    for run in run_list:
        days_with_runs[run.created_at[:10]].append(run)
    by_version = [
        VersionFigures(
            version=version_id,
            last_feedback_at=last_vote[version_id],
            flips=Flips(
                positive_to_negative=flips[version_id][0],
                negative_to_positive=flips[version_id][1],
                votes=flips[version_id][2],
            ),
            **Figures.of(tally, *run_counts(run for run in run_list if run.version_id == version_id)).model_dump(),
        )
        for version_id, tally in sorted(per_version.items(), key=lambda pair: last_vote[pair[0]], reverse=True)
    ]
    by_day = [
        DayFigures(day=day, **Figures.of(per_day[day], *run_counts(days_with_runs[day])).model_dump())
        for day in sorted(set(per_day) | set(days_with_runs))
    ]
    return FeedbackSummary(
        agent_id=agent_id,
        since=stored_time(window.since),
        until=stored_time(window.until),
        version=None,
        overall=Figures.of(overall, *run_counts(run_list)),
        by_version=by_version,
        by_day=by_day,
    )


def summary_from_votes(
    client: Any, feedback_table: str, runs_table: str, tenant: str, agent_id: str, window: DayWindow
) -> FeedbackSummary:
    feedback, runs = Table(client, feedback_table), Table(client, runs_table)
    return summarise(
        agent_id, window, read_votes(feedback, tenant, agent_id, window), read_runs(runs, tenant, agent_id, window)
    )
