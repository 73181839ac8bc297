"""The review flows behind the authenticated review routes: list, run detail, summary, erasure."""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from aws_lambda_powertools import Logger

from agentfeedback.core.errors import NotFound, ValidationFailed
from agentfeedback.core.ids import canonical_run_id, canonical_user_id
from agentfeedback.core.storage import TIMESTAMP_FORMAT
from agentfeedback.review.comparison import compare_tallies
from agentfeedback.review.cursor import decode_cursor, encode_cursor
from agentfeedback.review.models import (
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
    VersionComparison,
    VersionFigures,
)
from agentfeedback.review.satisfaction import VoteTally
from agentfeedback.review.store import FeedbackFilter, ReviewStore, RunStamp, TimeRange, Vote
from agentfeedback.runs.models import RunVersion
from agentfeedback.runs.registry import AgentRegistry
from agentfeedback.runs.store import RunRecord, RunStore

logger = Logger(child=True)

DEFAULT_SUMMARY_DAYS = 30
MAX_SUMMARY_DAYS = 366


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


def summary_window(since: str | None, until: str | None, now: datetime | None = None) -> Window:
    """Defaults to the last 30 days; longer than a year is refused (summary and compare read every vote in it)."""
    parsed = Window.parse(since, until)
    end = parsed.until or (now or datetime.now(UTC))
    start = parsed.since or end - timedelta(days=DEFAULT_SUMMARY_DAYS)
    if start >= end:
        raise ValidationFailed("Invalid request: since must be earlier than until.")
    if end - start > timedelta(days=MAX_SUMMARY_DAYS):
        raise ValidationFailed(
            f"Invalid request: the window may span at most {MAX_SUMMARY_DAYS} days (since to until)."
        )
    return Window(since=start, until=end)


def summarise(
    agent_id: str,
    window: Window,
    votes: Iterable[Vote],
    runs: Iterable[RunStamp],
    version: str | None = None,
) -> FeedbackSummary:
    """Satisfaction per version and per UTC day of the vote, and the share of the window's runs that got feedback.

    A vote counts on the day it was first given (created_at); a changed vote moves, it is not added; a retracted
    vote is not counted. A run "got feedback" when at least one vote on it was given in the window. Per version,
    `flips` sums how the current votes changed their minds (review.models.Flips).
    """
    assert window.since is not None and window.until is not None
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
    # Runs carry their version only if the runs index projects it; otherwise per-version shares are unknown.
    versions_known = all(run.version_id is not None for run in run_list)
    if version is not None and versions_known:
        run_list = [run for run in run_list if run.version_id == version]
    runs_counted = version is None or versions_known

    def run_counts(selected: Iterable[RunStamp]) -> tuple[int | None, int | None]:
        if not runs_counted:
            return None, None
        ids = {run.run_id for run in selected}
        return len(ids), len(ids & rated_runs)

    days_with_runs: dict[str, list[RunStamp]] = defaultdict(list)
    for run in run_list:
        days_with_runs[run.created_at[:10]].append(run)

    def version_figures(version_id: str, tally: VoteTally) -> VersionFigures:
        of_version = (run for run in run_list if run.version_id == version_id)
        counts = run_counts(of_version) if versions_known else (None, None)
        figures = Figures.of(tally, *counts).model_dump()
        to_negative, to_positive, flipped_votes = flips[version_id]
        return VersionFigures(
            version=version_id,
            last_feedback_at=last_vote[version_id],
            flips=Flips(positive_to_negative=to_negative, negative_to_positive=to_positive, votes=flipped_votes),
            **figures,
        )

    by_version = [
        version_figures(version_id, tally)
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
        version=version,
        overall=Figures.of(overall, *run_counts(run_list)),
        by_version=by_version,
        by_day=by_day,
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
    """The review flows behind the authenticated review routes: list, run detail, summary, compare, erasure."""

    def __init__(self, store: ReviewStore, runs: RunStore, registry: AgentRegistry, run_retention_days: int) -> None:
        self._store = store
        self._runs = runs
        self._registry = registry
        self._run_retention_days = run_retention_days

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
        self, tenant: str, agent_id: str, window: Window, version: str | None = None
    ) -> FeedbackSummary:
        times = window.time_range()
        return summarise(
            agent_id,
            window,
            votes=self._store.votes(tenant, agent_id, times, version),
            runs=self._store.runs(tenant, agent_id, times),
            version=version,
        )

    def compare_versions(
        self, tenant: str, agent_id: str, base: str, candidate: str, window: Window
    ) -> VersionComparison:
        """Satisfaction of two versions over the window's current votes (one per run and user), and whether the
        candidate differs from the base beyond chance (review.comparison). Versions by number or id
        (version_reference); ValidationFailed when both name the same version.
        """
        assert window.since is not None and window.until is not None
        base_number, base_id = version_reference(self._registry, tenant, agent_id, "base", base)
        candidate_number, candidate_id = version_reference(self._registry, tenant, agent_id, "candidate", candidate)
        if base_id == candidate_id:
            raise ValidationFailed("Invalid request: base and candidate name the same version; compare two versions.")
        tallies = {base_id: VoteTally(), candidate_id: VoteTally()}
        # One read of the window's votes (projected to what is counted) serves both versions.
        for vote in self._store.votes(tenant, agent_id, window.time_range()):
            tally = tallies.get(vote.version_id)
            if tally is not None:
                tally.add(vote.outcome)
        comparison = compare_tallies(tallies[base_id], tallies[candidate_id])
        return VersionComparison.of(
            agent_id,
            (stored_time(window.since), stored_time(window.until)),
            ComparedVersion.of(base_number, base_id, tallies[base_id]),
            ComparedVersion.of(candidate_number, candidate_id, tallies[candidate_id]),
            comparison,
        )

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
