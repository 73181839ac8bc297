"""The review flows behind the authenticated review routes: list, run detail, summary, compare, erasure, and the
aggregates' check and rebuild."""

from __future__ import annotations

import re
import time
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aws_lambda_powertools import Logger

from agentfeedback.aggregates.recount import Difference, Recounter
from agentfeedback.aggregates.store import AggregateStore, DayCounts
from agentfeedback.core.errors import NotFound, ValidationFailed
from agentfeedback.core.ids import canonical_run_id, canonical_user_id
from agentfeedback.core.storage import TIMESTAMP_FORMAT
from agentfeedback.review.comparison import compare_tallies
from agentfeedback.review.cursor import decode_cursor, encode_cursor
from agentfeedback.review.models import (
    AggregateDifference,
    AggregatesCheck,
    AggregatesRebuild,
    ComparedVersion,
    DayFigures,
    EntryWithHistory,
    ErasedUser,
    FeedbackItem,
    FeedbackPage,
    FeedbackSummary,
    Figures,
    Flips,
    RunDetail,
    RunFeedback,
    SlotFigures,
    VersionComparison,
    VersionFigures,
)
from agentfeedback.review.satisfaction import VoteTally
from agentfeedback.review.store import FeedbackFilter, ReviewStore, TimeRange
from agentfeedback.runs.models import RunVersion
from agentfeedback.runs.registry import AgentRegistry
from agentfeedback.runs.store import RunRecord, RunStore

logger = Logger(child=True)

DEFAULT_SUMMARY_DAYS = 30
MAX_SUMMARY_DAYS = 366
# An aggregates check or rebuild starts no new day after this many seconds, and answers with where to go on:
# API Gateway cuts requests off at 29 s, and one day may take a few seconds to recount.
SWEEP_SECONDS = 20.0


def stored_time(moment: datetime) -> str:
    """The stored timestamp format (fixed width, so that text order is time order)."""
    return moment.astimezone(UTC).strftime(TIMESTAMP_FORMAT)


# Times a window may name: feedback is younger than 2000, and the window arithmetic overflows near 9999.
MIN_YEAR, MAX_YEAR = 2000, 9999


def parse_time(name: str, value: str) -> datetime:
    """An ISO 8601 date or date-time; without an offset it is UTC, and a bare date is that day's midnight."""
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationFailed(
            f"Invalid request: {name}: expected an ISO 8601 date or time, e.g. 2026-11-26 or 2026-11-26T17:00:00Z "
            "(UTC unless an offset is given)."
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    # Converting an offset at the edge of year 9999 overflows; so does the window arithmetic.
    if not MIN_YEAR <= parsed.year < MAX_YEAR:
        raise ValidationFailed(
            f"Invalid request: {name}: {text[:40]!r} is out of range; use a time from {MIN_YEAR} to {MAX_YEAR - 1}."
        )
    return parsed.astimezone(UTC)


@dataclass(frozen=True)
class Window:
    """[since, until): since inclusive, until exclusive; either side may be open."""

    since: datetime | None
    until: datetime | None

    @classmethod
    def parse(cls, since: str | None, until: str | None) -> Window:
        window = cls(
            since=parse_time("since", since) if since else None,
            until=parse_time("until", until) if until else None,
        )
        if window.since and window.until and window.since >= window.until:
            raise ValidationFailed("Invalid request: since must be earlier than until.")
        return window

    def time_range(self) -> TimeRange:
        # Stored times have microsecond precision, so "before until" is "at most until - 1 µs".
        return TimeRange(
            lowest=stored_time(self.since) if self.since else None,
            highest=stored_time(self.until - timedelta(microseconds=1)) if self.until else None,
        )


def user_id_spellings(user_id: str) -> tuple[str, ...]:
    """Every spelling one end user's entries may be stored under, the canonical id (core.ids) first.

    Entries are stored under the canonical id. Those stored before ids were canonical may hold the decomposed
    (NFD) spelling some keyboards send, or surrounding white space: the NFD form of the canonical id and the id
    exactly as sent are looked up as well, so that no stored entry is out of reach of a filter or an erasure.
    ValidationFailed (422) as canonical_user_id: empty, too long, control or text-direction characters.
    """
    canonical = canonical_user_id(user_id)
    return tuple(dict.fromkeys((canonical, unicodedata.normalize("NFD", canonical), user_id)))


def feedback_filter(
    outcome: str | None = None,
    user_id: str | None = None,
    version: str | None = None,
    has_comment: bool | None = None,
) -> FeedbackFilter:
    """The list filter from the query: a user id in any spelling matches that user's entries (user_id_spellings)."""
    return FeedbackFilter(
        outcome=outcome,
        user_ids=user_id_spellings(user_id) if user_id is not None else (),
        version=version,
        has_comment=has_comment,
    )


def _midnight(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


@dataclass(frozen=True)
class DayWindow:
    """Whole UTC days [since, until): both at midnight, until exclusive. Summaries count per day (aggregates)."""

    since: datetime
    until: datetime

    @property
    def first_day(self) -> str:
        return self.since.strftime("%Y-%m-%d")

    @property
    def last_day(self) -> str:
        return (self.until - timedelta(days=1)).strftime("%Y-%m-%d")

    def days(self) -> list[str]:
        count = (self.until - self.since).days
        return [(self.since + timedelta(days=offset)).strftime("%Y-%m-%d") for offset in range(count)]


def day_window(
    since: str | None,
    until: str | None,
    now: datetime | None = None,
    default_days: int = DEFAULT_SUMMARY_DAYS,
    max_days: int = MAX_SUMMARY_DAYS,
) -> DayWindow:
    """The whole UTC days a window touches: since goes back to its midnight, until forward to the next one.

    Defaults: until is the end of today (UTC), since `default_days` before it (today included). A window of
    more than `max_days` days is refused, as since not earlier than until is.
    """
    parsed = Window.parse(since, until)
    end = parsed.until or (now or datetime.now(UTC))
    until_day = _midnight(end) if _midnight(end) == end else _midnight(end) + timedelta(days=1)
    since_day = _midnight(parsed.since) if parsed.since else until_day - timedelta(days=default_days)
    if since_day >= until_day:
        raise ValidationFailed("Invalid request: since must be earlier than until.")
    if until_day - since_day > timedelta(days=max_days):
        raise ValidationFailed(f"Invalid request: the window may span at most {max_days} days (since to until).")
    return DayWindow(since=since_day, until=until_day)


def summary_window(since: str | None, until: str | None, now: datetime | None = None) -> DayWindow:
    """The summary's window, in whole UTC days: the last 30 days (today included) unless told; at most 366."""
    return day_window(since, until, now)


def summarise(
    agent_id: str,
    window: DayWindow,
    counts: Iterable[DayCounts],
    version: str | None = None,
) -> FeedbackSummary:
    """Satisfaction per version and per UTC day, and the share of the window's runs that got feedback.

    `counts` are the aggregates of the window's days (one per version and day). A vote counts on the day it
    was first given (created_at): a changed vote moves, it is not added; a retracted vote is not counted. A run
    counts on the day it was created, and "got feedback" when it has at least one current vote. Per version,
    `flips` sums how the current votes changed their minds (review.models.Flips). Versions without a vote in the
    window are not listed; days with neither runs nor votes are left out.
    """
    selected = [entry for entry in counts if version is None or entry.slot.version_id == version]
    per_version: dict[str, list[DayCounts]] = defaultdict(list)
    per_day: dict[str, list[DayCounts]] = defaultdict(list)
    for entry in selected:
        per_version[entry.slot.version_id].append(entry)
        if not entry.empty:
            per_day[entry.slot.day].append(entry)
    voted = {
        version_id: entries
        for version_id, entries in per_version.items()
        if any(entry.positive or entry.negative for entry in entries)
    }
    last_vote = {
        version_id: max((entry.last_vote_at for entry in entries if entry.last_vote_at), default=None)
        for version_id, entries in voted.items()
    }
    by_version = [
        VersionFigures(
            version=version_id,
            last_feedback_at=last_vote[version_id],
            flips=_flips(entries),
            **_figures(entries).model_dump(),
        )
        for version_id, entries in sorted(voted.items(), key=lambda pair: last_vote[pair[0]] or "", reverse=True)
    ]
    return FeedbackSummary(
        agent_id=agent_id,
        since=stored_time(window.since),
        until=stored_time(window.until),
        version=version,
        overall=_figures(selected),
        by_version=by_version,
        by_day=[DayFigures(day=day, **_figures(per_day[day]).model_dump()) for day in sorted(per_day)],
    )


def _figures(counts: list[DayCounts]) -> Figures:
    """The figures of a set of slots: their votes, runs and rated runs added up."""
    tally = VoteTally(
        positive=sum(entry.positive for entry in counts), negative=sum(entry.negative for entry in counts)
    )
    return Figures.of(tally, sum(entry.runs for entry in counts), sum(entry.rated_runs for entry in counts))


def _flips(counts: list[DayCounts]) -> Flips:
    """The flips of a set of slots' current votes, added up."""
    return Flips(
        positive_to_negative=sum(entry.flips_to_negative for entry in counts),
        negative_to_positive=sum(entry.flips_to_positive for entry in counts),
        votes=sum(entry.flipped_votes for entry in counts),
    )


_VERSION_NUMBER = re.compile(r"[0-9]{1,9}")
_VERSION_ID = re.compile(r"[0-9a-f]{32}")


def version_reference(
    registry: AgentRegistry, tenant: str, agent_id: str, name: str, value: str
) -> tuple[int | None, str]:
    """(saved number or None, version id) of a version named by its saved number or its 32-hex-digit id.

    An id is taken as it is (runs with inline properties have versions that were never saved); its number is
    found when it was saved. NotFound for an unknown number; ValidationFailed (naming `name`) for anything else.
    """
    text = value.strip()
    if _VERSION_NUMBER.fullmatch(text):
        if int(text) < 1:  # as every route that takes a version number: 422, not an unknown version
            raise ValidationFailed(f"Invalid request: {name}: saved version numbers start at 1.")
        saved = registry.version(tenant, agent_id, int(text))
        return saved.number, saved.id
    if _VERSION_ID.fullmatch(text):
        return registry.number_of(tenant, agent_id, text), text
    raise ValidationFailed(
        f"Invalid request: {name}: use a saved version number (e.g. 2) or a version id (32 hexadecimal characters)."
    )


class ReviewService:
    """The review flows behind the authenticated review routes: list, run detail, summary, compare, erasure, and
    the aggregates' check and rebuild."""

    def __init__(
        self,
        store: ReviewStore,
        runs: RunStore,
        registry: AgentRegistry,
        run_retention_days: int,
        aggregates: AggregateStore,
        recounter: Recounter,
    ) -> None:
        self._store = store
        self._runs = runs
        self._registry = registry
        self._run_retention_days = run_retention_days
        self._aggregates = aggregates
        self._recounter = recounter

    def list_feedback(
        self,
        tenant: str,
        agent_id: str,
        filters: FeedbackFilter,
        window: Window,
        limit: int,
        cursor: str | None = None,
    ) -> FeedbackPage:
        """One page, newest first; InvalidCursor for a cursor of another request."""
        times = window.time_range()
        tenant_agent = f"{tenant}#{agent_id}"
        start = decode_cursor(cursor, tenant_agent, times.lowest, times.highest) if cursor else None
        entries, position = self._store.feedback_page(tenant, agent_id, filters, times, limit, start)
        return FeedbackPage(
            items=[FeedbackItem.from_entry(entry) for entry in entries],
            next_cursor=encode_cursor(position) if position else None,
        )

    def _run_not_found(self, agent_id: str, run_id: str) -> NotFound:
        days = self._run_retention_days
        kept = f" Runs are kept for {days} days." if days else ""
        return NotFound(f"No run {run_id[:128]!r} of agent {agent_id!r} in this tenant.{kept}")

    def _run_of_agent(self, tenant: str, agent_id: str, run_id: str) -> RunRecord | None:
        record = self._runs.get(tenant, run_id)
        return record if record is not None and record.agent_id == agent_id else None

    def run_detail(self, tenant: str, agent_id: str, run_id: str) -> RunDetail:
        """The run with its feedback; NotFound for a run of another agent or tenant, or one expired."""
        run_id = canonical_run_id(run_id)
        record = self._run_of_agent(tenant, agent_id, run_id)
        if record is None:
            raise self._run_not_found(agent_id, run_id)
        feedback = self._store.run_feedback(tenant, agent_id, run_id)
        return RunDetail(
            id=record.run_id,
            agent_id=record.agent_id,
            schema_id=record.schema_id,
            version=RunVersion(id=record.version_id, properties=record.version_properties),
            task_input=record.task_input,
            task_output=record.task_output,
            model=record.model,
            input_tokens=record.input_tokens,
            output_tokens=record.output_tokens,
            cost_usd=record.cost_usd,
            duration_seconds=record.duration_seconds,
            created_at=record.created_at,
            metadata=record.metadata,
            erased=record.erased,
            feedback=[EntryWithHistory.from_entry(entry) for entry in feedback],
        )

    def run_feedback(self, tenant: str, agent_id: str, run_id: str) -> RunFeedback:
        """Every entry of one run with its history, newest first (retracted votes' entries too); NotFound for an
        unknown run without feedback.

        Run ids are read in any UUID spelling (core.ids.canonical_run_id), as they are stored in one.
        """
        run_id = canonical_run_id(run_id)
        entries = self._store.run_feedback(tenant, agent_id, run_id)
        # Feedback outlives its run (runs expire); only an unknown run with no feedback at all is a 404.
        if not entries and self._run_of_agent(tenant, agent_id, run_id) is None:
            raise self._run_not_found(agent_id, run_id)
        return RunFeedback(run_id=run_id, items=[EntryWithHistory.from_entry(entry) for entry in entries])

    def entry_history(self, tenant: str, agent_id: str, run_id: str, feedback_id: str) -> EntryWithHistory:
        """One entry of a run, by its public id, with its history; NotFound when the run has no such entry."""
        run_id = canonical_run_id(run_id)
        for entry in self._store.run_feedback(tenant, agent_id, run_id):
            if entry.id == feedback_id:
                return EntryWithHistory.from_entry(entry)
        raise NotFound(f"Run {run_id[:128]!r} of agent {agent_id!r} has no feedback entry {feedback_id[:64]!r}.")

    def feedback_summary(
        self, tenant: str, agent_id: str, window: DayWindow, version: str | None = None
    ) -> FeedbackSummary:
        """Read from the aggregates: one query of days x versions items, whatever the number of votes."""
        return summarise(agent_id, window, self.daily_counts(tenant, agent_id, window), version)

    def daily_counts(self, tenant: str, agent_id: str, window: DayWindow) -> list[DayCounts]:
        """The aggregates of a window, one per (version, UTC day) with votes or runs, oldest day first.

        Each holds current positive and negative votes first given that day, runs created that day and how
        many of those have a current vote. What the summary, a version comparison or a dashboard counts from.
        """
        return self._aggregates.day_counts(tenant, agent_id, window.first_day, window.last_day)

    def check_aggregates(self, tenant: str, agent_id: str, window: DayWindow, seconds: float) -> AggregatesCheck:
        """Compare the aggregates of each day of the window with a recount, oldest day first, for about `seconds`."""
        done, found = self._sweep(tenant, agent_id, window, seconds, self._recounter.check_day)
        return AggregatesCheck(
            **_sweep_fields(agent_id, window, done),
            consistent=not found,
            differences=[_difference(item) for item in found],
        )

    def compare_versions(
        self, tenant: str, agent_id: str, base: str, candidate: str, window: DayWindow
    ) -> VersionComparison:
        """Satisfaction of two versions over the window's current votes (one per run and user), and whether the
        candidate differs from the base beyond chance (review.comparison). Versions by number or id
        (version_reference); ValidationFailed when both name the same version.

        Counts come from the aggregates of the window's whole UTC days (daily_counts), as the summary's do.
        """
        base_number, base_id = version_reference(self._registry, tenant, agent_id, "base", base)
        candidate_number, candidate_id = version_reference(self._registry, tenant, agent_id, "candidate", candidate)
        if base_id == candidate_id:
            raise ValidationFailed("Invalid request: base and candidate name the same version; compare two versions.")
        tallies = {base_id: VoteTally(), candidate_id: VoteTally()}
        # One read of the window's aggregates (days x versions items) serves both versions.
        for counts in self.daily_counts(tenant, agent_id, window):
            tally = tallies.get(counts.slot.version_id)
            if tally is not None:
                tally.positive += counts.positive
                tally.negative += counts.negative
        comparison = compare_tallies(tallies[base_id], tallies[candidate_id])
        return VersionComparison.of(
            agent_id,
            (stored_time(window.since), stored_time(window.until)),
            ComparedVersion.of(base_number, base_id, tallies[base_id]),
            ComparedVersion.of(candidate_number, candidate_id, tallies[candidate_id]),
            comparison,
        )

    def rebuild_aggregates(self, tenant: str, agent_id: str, window: DayWindow, seconds: float) -> AggregatesRebuild:
        """Recount each day of the window and overwrite its aggregates, oldest day first, for about `seconds`."""
        done, found = self._sweep(tenant, agent_id, window, seconds, self._recounter.rebuild_day)
        logger.info(
            "aggregates rebuilt",
            extra={"tenant": tenant, "agent_id": agent_id, "days": len(done), "corrected": len(found)},
        )
        return AggregatesRebuild(
            **_sweep_fields(agent_id, window, done), corrected=[_difference(item) for item in found]
        )

    @staticmethod
    def _sweep(
        tenant: str,
        agent_id: str,
        window: DayWindow,
        seconds: float,
        visit: Callable[[str, str, str], list[Difference]],
    ) -> tuple[list[str], list[Difference]]:
        """Visit days oldest first while the next one is expected to finish in time (at least one day)."""
        deadline = time.monotonic() + seconds
        done: list[str] = []
        found: list[Difference] = []
        slowest = 0.0
        for day in window.days():
            started = time.monotonic()
            if done and started + slowest > deadline:
                break
            found += visit(tenant, agent_id, day)
            done.append(day)
            slowest = max(slowest, time.monotonic() - started)
        return done, found

    def erase_user(self, tenant: str, user_id: str) -> ErasedUser:
        """Delete every feedback entry of one end user in the tenant (all agents), each with its history, under any
        spelling of the id (user_id_spellings); and erase the input, output and metadata of the runs made for
        them (RunStore.erase_end_user). Safe to repeat. ValidationFailed (422) for an id no entry can be stored
        under.

        The by_user indexes are eventually consistent: an entry or run written a moment ago may be missed;
        repeating the request then erases it.
        """
        store = self._store
        spellings = user_id_spellings(user_id)
        erased = sum(
            store.delete_user_entry(key, tenant, spelling)
            for spelling in spellings
            for key in store.user_entry_keys(tenant, spelling)
        )
        # Runs store their end user in the canonical form only (they were never stored otherwise).
        runs_erased = self._runs.erase_end_user(tenant, spellings[0])
        # The user id itself is not logged: that would keep what the request asked to erase.
        logger.info("end-user feedback erased", extra={"tenant": tenant, "erased": erased, "runs_erased": runs_erased})
        return ErasedUser(user_id=spellings[0], erased=erased, runs_erased=runs_erased)


def _slot_figures(counts: DayCounts) -> SlotFigures:
    return SlotFigures(
        positive=counts.positive,
        negative=counts.negative,
        runs=counts.runs,
        runs_with_feedback=counts.rated_runs,
        flips=_flips([counts]),
    )


def _difference(found: Difference) -> AggregateDifference:
    return AggregateDifference(
        day=found.slot.day,
        version=found.slot.version_id,
        stored=_slot_figures(found.stored),
        recounted=_slot_figures(found.recounted),
    )


def _sweep_fields(agent_id: str, window: DayWindow, done: list[str]) -> dict[str, Any]:
    done_until = window.since + timedelta(days=len(done))
    return {
        "agent_id": agent_id,
        "since": stored_time(window.since),
        "until": stored_time(window.until),
        "done_until": stored_time(done_until),
        "next_since": stored_time(done_until) if done_until < window.until else None,
        "days": len(done),
    }
