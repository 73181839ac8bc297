"""Response shapes of the review routes (the API key holder reads its tenant's feedback)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from agentfeedback.core.ids import MAX_USER_ID_CHARS
from agentfeedback.feedback.models import Outcome
from agentfeedback.feedback.store import FeedbackEntry
from agentfeedback.review.satisfaction import VoteTally
from agentfeedback.runs.models import RunVersion

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 30
FIGURE_DECIMALS = 4
# A user id as sent, before core.ids.canonical_user_id: room for every spelling of an id of MAX_USER_ID_CHARS
# (NFD at most quadruples a text: UAX #15, maximum expansion factor), so any accepted id can be asked for.
MAX_SENT_USER_ID_CHARS = 4 * MAX_USER_ID_CHARS


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
        return cls(
            id=entry.id,
            agent_id=entry.agent_id,
            run_id=entry.run_id,
            outcome=entry.outcome,  # type: ignore[arg-type]
            comment=entry.comment,
            user_id=entry.user_id,
            version=entry.version_id,
            created_at=entry.created_at,
            updated_at=entry.updated_at,
            revision=entry.revision,
        )


class FeedbackPage(BaseModel):
    items: list[FeedbackItem]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page. A page may be shorter than "
        "`limit` (even empty) while a cursor follows."
    )


class RunFeedback(BaseModel):
    run_id: str
    items: list[FeedbackItem]


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
    feedback: list[FeedbackItem]


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


class VersionFigures(Figures):
    version: str
    last_feedback_at: str | None = Field(
        description="When the latest vote on this version in the window was first given (a vote erased since may "
        "still be this one)."
    )


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
    erased: int = Field(description="How many feedback entries were deleted.")


class AggregatesWindow(BaseModel):
    """`POST .../feedback/aggregates/rebuild`: the days to recount (whole UTC days, as a summary's window)."""

    model_config = ConfigDict(extra="forbid")

    since: str | None = Field(default=None, max_length=40, description="ISO 8601 date or time; default 30 days ago.")
    until: str | None = Field(default=None, max_length=40, description="ISO 8601 date or time; default now.")


class SlotFigures(BaseModel):
    positive: int
    negative: int
    runs: int
    runs_with_feedback: int


class AggregateDifference(BaseModel):
    day: str = Field(description="UTC day, YYYY-MM-DD.")
    version: str
    stored: SlotFigures = Field(description="What the aggregates held.")
    recounted: SlotFigures = Field(description="What counting the votes and runs again gives.")


class AggregatesSweep(BaseModel):
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
