"""Response shapes of the review routes (the API key holder reads its tenant's feedback)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt

from agentfeedback.core.ids import MAX_USER_ID_CHARS
from agentfeedback.feedback.history import MAX_EVENTS
from agentfeedback.feedback.models import Outcome
from agentfeedback.feedback.store import FeedbackEntry
from agentfeedback.review.comparison import Comparison
from agentfeedback.review.proportions import ALPHA, POWER
from agentfeedback.review.satisfaction import Interval, VoteTally
from agentfeedback.runs.models import RunVersion, SavedVersionResponse

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 30
FIGURE_DECIMALS = 4
# A user id as sent, before core.ids.canonical_user_id: room for every spelling of an id of MAX_USER_ID_CHARS
# (NFD at most quadruples a text: UAX #15, maximum expansion factor), so any accepted id can be asked for.
MAX_SENT_USER_ID_CHARS = 4 * MAX_USER_ID_CHARS


def _entry_fields(entry: FeedbackEntry) -> dict[str, Any]:
    """The fields FeedbackItem and EntryWithHistory share, from a stored entry (pydantic checks the outcome)."""
    return {
        "id": entry.id,
        "agent_id": entry.agent_id,
        "run_id": entry.run_id,
        "outcome": entry.outcome,
        "comment": entry.comment,
        "user_id": entry.user_id,
        "version": entry.version_id,
        "created_at": entry.created_at,
        "updated_at": entry.updated_at,
        "revision": entry.revision,
    }


class FeedbackItem(BaseModel):
    id: str
    agent_id: str
    run_id: str
    outcome: Outcome
    comment: str | None
    user_id: str | None
    version: str = Field(description="The agent version id the run used.")
    created_at: str
    updated_at: str
    revision: int = Field(description="1 for a first vote; each change of mind adds 1.")

    @classmethod
    def from_entry(cls, entry: FeedbackEntry) -> FeedbackItem:
        return cls(**_entry_fields(entry))


class HistoryEventItem(BaseModel):
    at: str = Field(description="When, ISO 8601 UTC to the millisecond.")
    outcome: Outcome | None = Field(description="The outcome the change left; null: the vote was retracted.")
    comment_changed: bool = Field(description="Whether the comment was set, edited or removed by this change.")


class EntryWithHistory(BaseModel):
    """One (run, user) entry with its change history; a retracted vote's entry too (outcome null)."""

    id: str
    agent_id: str
    run_id: str
    outcome: Outcome | None = Field(description="null when the vote was retracted.")
    comment: str | None
    user_id: str | None
    version: str = Field(description="The agent version id the run used.")
    created_at: str
    updated_at: str
    revision: int = Field(description="How many real changes the entry had: the first vote, then each change.")
    history: list[HistoryEventItem] = Field(
        description=f"Oldest first, at most {MAX_EVENTS}: past that, the first event and the latest "
        f"{MAX_EVENTS - 1} are kept."
    )
    dropped_events: int = Field(
        description="Changes no longer listed (between the first event and the rest): revision - len(history)."
    )

    @classmethod
    def from_entry(cls, entry: FeedbackEntry) -> EntryWithHistory:
        return cls(
            **_entry_fields(entry),
            history=[
                HistoryEventItem(at=event.at, outcome=event.outcome, comment_changed=event.comment_changed)  # type: ignore[arg-type]
                for event in entry.history
            ],
            dropped_events=entry.dropped_events,
        )


class FeedbackPage(BaseModel):
    items: list[FeedbackItem]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page. A page may be shorter than "
        "`limit` (even empty) while a cursor follows."
    )


class RunFeedback(BaseModel):
    run_id: str
    items: list[EntryWithHistory] = Field(description="Newest first; retracted votes' entries included.")


class RunDetail(BaseModel):
    id: str
    agent_id: str
    schema_id: int
    version: RunVersion
    task_input: Any
    task_output: Any
    model: str
    input_tokens: int
    output_tokens: int
    cost_usd: float
    duration_seconds: float
    created_at: str
    metadata: dict[str, Any]
    erased: bool = Field(description="The run's end user was erased: input, output and metadata are gone.")
    feedback: list[EntryWithHistory]


class SatisfactionInterval(BaseModel):
    low: float
    high: float


class Figures(BaseModel):
    positive: int
    negative: int
    total: int = Field(description="positive + negative: current votes, one per run and user.")
    satisfaction: float | None = Field(description="positive / total; null without votes.")
    interval: SatisfactionInterval | None = Field(description="95% Wilson score interval of satisfaction.")
    runs: int | None = Field(description="Runs created in the slice; null when it cannot be counted by index.")
    runs_with_feedback: int | None
    feedback_share: float | None = Field(description="runs_with_feedback / runs.")

    @classmethod
    def of(cls, tally: VoteTally, runs: int | None = None, runs_with_feedback: int | None = None) -> Figures:
        interval = tally.interval
        satisfaction = tally.satisfaction
        share = runs_with_feedback / runs if runs and runs_with_feedback is not None else None
        return cls(
            positive=tally.positive,
            negative=tally.negative,
            total=tally.total,
            satisfaction=None if satisfaction is None else round(satisfaction, FIGURE_DECIMALS),
            interval=None
            if interval is None
            else SatisfactionInterval(
                low=round(interval.low, FIGURE_DECIMALS), high=round(interval.high, FIGURE_DECIMALS)
            ),
            runs=runs,
            runs_with_feedback=runs_with_feedback if runs is not None else None,
            feedback_share=None if share is None else round(share, FIGURE_DECIMALS),
        )


class Flips(BaseModel):
    """How the slice's current votes changed their minds (retracted votes left the slice with their flips)."""

    positive_to_negative: int = Field(description="Changes of a vote from positive to negative.")
    negative_to_positive: int = Field(description="Changes of a vote from negative to positive.")
    votes: int = Field(description="Votes that flipped at least once, either way.")


class VersionFigures(Figures):
    version: str
    last_feedback_at: str | None = Field(
        description="When the latest vote on this version in the window was first given (a vote erased since may "
        "still be this one)."
    )
    flips: Flips


class DayFigures(Figures):
    day: str = Field(description="UTC day, YYYY-MM-DD.")


class FeedbackSummary(BaseModel):
    agent_id: str
    since: str = Field(description="Start of the window: midnight UTC of the day `since` falls in.")
    until: str = Field(
        description="Exclusive end of the window: `until` rounded up to the next midnight UTC. Summaries count "
        "whole UTC days."
    )
    version: str | None = Field(description="The version filter, if any.")
    overall: Figures
    by_version: list[VersionFigures] = Field(description="Most recently rated version first.")
    by_day: list[DayFigures] = Field(description="Oldest day first; days with neither runs nor votes are left out.")


class ErasureRequest(BaseModel):
    """`POST /v1/{tenant}/feedback/erasures`: the id travels in the body, so no client or proxy can rewrite it
    (a path drops `.` and `..` segments and may decode `%2F`; a body carries any text)."""

    # An erasure deletes data: a field it does not know (say, a hoped-for agent scope) is refused, not ignored.
    model_config = ConfigDict(extra="forbid")

    user_id: str = Field(
        min_length=1,
        max_length=MAX_SENT_USER_ID_CHARS,
        description="The end user's id, as your front end sent it: any Unicode form, surrounding white space "
        "ignored; control and text-direction characters are refused.",
    )


class ErasedUser(BaseModel):
    user_id: str = Field(max_length=MAX_USER_ID_CHARS, description="The end user's id in its canonical form.")
    erased: int = Field(description="How many feedback entries were deleted (each with its history).")
    runs_erased: int = Field(description="How many of the user's runs had their input, output and metadata erased.")


class _Deferred(BaseModel):
    # Validators are built on first use, not at import: the review function's cold start builds only the models
    # its request touches.
    model_config = ConfigDict(defer_build=True)


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, FIGURE_DECIMALS)


class Bounds(_Deferred):
    low: float
    high: float

    @classmethod
    def of(cls, interval: Interval | None) -> Bounds | None:
        if interval is None:
            return None
        return cls(low=round(interval.low, FIGURE_DECIMALS), high=round(interval.high, FIGURE_DECIMALS))


class ComparedVersion(_Deferred):
    version: int | None = Field(description="The saved version number; null for a version that was never saved.")
    version_id: str
    positive: int
    negative: int
    total: int = Field(description="positive + negative: current votes in the window, one per run and user.")
    satisfaction: float | None = Field(description="positive / total; null without votes.")
    interval: Bounds | None = Field(description="95% Wilson score interval of satisfaction (Wilson 1927).")

    @classmethod
    def of(cls, number: int | None, version_id: str, tally: VoteTally) -> ComparedVersion:
        return cls(
            version=number,
            version_id=version_id,
            positive=tally.positive,
            negative=tally.negative,
            total=tally.total,
            satisfaction=_rounded(tally.satisfaction),
            interval=Bounds.of(tally.interval),
        )


class Difference(_Deferred):
    estimate: float = Field(description="Candidate satisfaction minus base satisfaction, from -1 to 1.")
    interval: Bounds = Field(description="95% interval of the difference (Newcombe 1998, method 10).")
    method: Literal["newcombe_hybrid_score"] = "newcombe_hybrid_score"


class SignificanceFigures(_Deferred):
    test: Literal["fisher_exact", "two_proportion_z"] = Field(
        description="fisher_exact when an expected count of the 2x2 table is below 5, else the pooled z-test."
    )
    p_value: float = Field(description="Two-sided p-value (6 significant digits).")
    z: float | None = Field(description="The z statistic (z-test only).")
    alpha: float = ALPHA


Decision = Literal["candidate_better", "candidate_worse", "no_detectable_difference", "not_enough_votes"]


class VersionComparison(_Deferred):
    agent_id: str
    since: str = Field(description="Start of the window: midnight UTC of the day `since` falls in.")
    until: str = Field(
        description="Exclusive end of the window: `until` rounded up to the next midnight UTC. Comparisons count "
        "whole UTC days, as summaries do."
    )
    base: ComparedVersion
    candidate: ComparedVersion
    difference: Difference | None = Field(description="Null while a version has no votes.")
    significance: SignificanceFigures | None = Field(description="Null while a version has no votes.")
    power: float = POWER
    votes_needed_per_version: int | None = Field(
        description="Votes each version needs for the observed difference, if real, to be detected with this power "
        "by a two-sided test at alpha (Fleiss, Levin and Paik 2003); null when there is no difference."
    )
    more_votes_needed: int | None = Field(
        description="votes_needed_per_version minus the votes of the version that has fewer (at least 0)."
    )
    decision: Decision
    verdict: str = Field(description="The decision in one line of words, with the figures behind it.")

    @classmethod
    def of(
        cls,
        agent_id: str,
        window: tuple[str, str],
        base: ComparedVersion,
        candidate: ComparedVersion,
        comparison: Comparison,
    ) -> VersionComparison:
        difference = comparison.difference
        interval = Bounds.of(comparison.difference_interval)
        test = comparison.test
        return cls(
            agent_id=agent_id,
            since=window[0],
            until=window[1],
            base=base,
            candidate=candidate,
            difference=None
            if difference is None or interval is None
            else Difference(estimate=round(difference, FIGURE_DECIMALS), interval=interval),
            significance=None
            if test is None
            else SignificanceFigures(
                test=test.name,  # type: ignore[arg-type]
                p_value=float(f"{test.p_value:.6g}"),
                z=None if test.z is None else round(test.z, FIGURE_DECIMALS),
            ),
            votes_needed_per_version=comparison.votes_needed_per_version,
            more_votes_needed=comparison.more_votes_needed,
            decision=comparison.decision,  # type: ignore[arg-type]
            verdict=comparison.verdict,
        )


MAX_IMPROVE_FEEDBACK = 50
DEFAULT_IMPROVE_FEEDBACK = 20


class ImproveRequest(_Deferred):
    """`POST .../versions/{number}/improve`: every field optional (an empty body is fine)."""

    model_config = ConfigDict(defer_build=True, extra="forbid")

    model: str | None = Field(
        default=None,
        min_length=1,
        max_length=128,
        description="The model that drafts the instructions (any model id a run accepts); default: the version's.",
    )
    max_feedback: StrictInt = Field(
        default=DEFAULT_IMPROVE_FEEDBACK,
        ge=1,
        le=MAX_IMPROVE_FEEDBACK,
        description="The most feedback items of each outcome to use, newest first.",
    )
    include_positive: StrictBool = Field(
        default=False, description="Also show the model positive feedback with a comment: what to keep."
    )


class ImprovedVersion(_Deferred):
    agent_id: str
    base_version: int = Field(description="The version whose feedback was used.")
    version: SavedVersionResponse = Field(description="The saved draft: a new version, bound to no environment.")
    created: bool = Field(description="false when the draft equals a version saved before (that one is returned).")
    instructions: str
    changelog: list[str]
    diff: str = Field(description="Unified diff from the base version's instructions to the new ones.")
    feedback_ids: list[str] = Field(description="The feedback entries shown to the model, newest first.")
    model: str
    input_tokens: int
    output_tokens: int
    cost_usd: float


class AggregatesWindow(_Deferred):
    """`POST .../feedback/aggregates/rebuild`: the days to recount (whole UTC days, as a summary's window)."""

    model_config = ConfigDict(defer_build=True, extra="forbid")

    since: str | None = Field(default=None, max_length=40, description="ISO 8601 date or time; default 30 days ago.")
    until: str | None = Field(default=None, max_length=40, description="ISO 8601 date or time; default now.")


class SlotFigures(_Deferred):
    positive: int
    negative: int
    runs: int
    runs_with_feedback: int
    flips: Flips


class AggregateDifference(_Deferred):
    day: str = Field(description="UTC day, YYYY-MM-DD.")
    version: str
    stored: SlotFigures = Field(description="What the aggregates held.")
    recounted: SlotFigures = Field(description="What counting the votes and runs again gives.")


class AggregatesSweep(_Deferred):
    agent_id: str
    since: str = Field(description="Start of the window asked for (midnight UTC).")
    until: str = Field(description="Exclusive end of the window asked for (midnight UTC).")
    done_until: str = Field(description="Days from `since` up to this (exclusive) were processed by this call.")
    next_since: str | None = Field(
        description="null when the whole window was processed; otherwise call again with this as `since` and the "
        "same `until` (one call stops before API Gateway's 29-second limit)."
    )
    days: int = Field(description="How many days this call processed.")


class AggregatesCheck(AggregatesSweep):
    consistent: bool = Field(description="Whether the processed days' aggregates equal the recount.")
    differences: list[AggregateDifference]


class AggregatesRebuild(AggregatesSweep):
    corrected: list[AggregateDifference] = Field(description="Slots whose figures the rebuild changed.")
