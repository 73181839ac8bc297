"""What counts, in one place: whether a stored item is a current vote or a run, and in which slot it counts.

A slot is (tenant, agent, version, UTC day). The stream aggregator applies the difference between what an
item's old and new images count as (`counted_vote`, `counted_run`, `CountedVote.figures`), and the recount
applies the same functions to the items it reads: both agree by construction on what a vote is.

A vote's figures are its outcome (1 on positive or negative) and its flips: the entry's counters of changes of
mind (feedback.store FLIPS_TO_NEGATIVE, FLIPS_TO_POSITIVE) and whether it flipped at all. Aggregating the
counters of current votes, rather than the outcome changes seen in the stream, keeps the summary's `flips`
exactly what it was when counted from the votes: a retracted or erased vote takes its flips out with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from agentfeedback.feedback.store import FLIPS_TO_NEGATIVE, FLIPS_TO_POSITIVE

OUTCOMES = ("positive", "negative")
# Votes that flipped at least once (either way): a figure of the aggregates only.
FLIPPED_VOTES = "flipped_votes"
# The stored timestamp format (core.storage.TIMESTAMP_FORMAT) begins with the UTC day: YYYY-MM-DD.
DAY_CHARS = 10
# The attributes counted_vote reads: what the recount asks the indexes for.
VOTE_ATTRIBUTES = (
    "pk",
    "tenant",
    "agent_id",
    "run_id",
    "version_id",
    "outcome",
    "created_at",
    FLIPS_TO_NEGATIVE,
    FLIPS_TO_POSITIVE,
)


@dataclass(frozen=True, order=True)
class Slot:
    """Where a vote or a run counts: its tenant, agent and version, and a UTC day (YYYY-MM-DD)."""

    tenant: str
    agent_id: str
    version_id: str
    day: str


@dataclass(frozen=True)
class CountedVote:
    slot: Slot  # the day is the one the vote was first given (created_at): a changed vote stays on it
    outcome: str  # "positive" or "negative"
    run_id: str
    created_at: str
    flips_to_negative: int = 0  # the entry's changes from positive to negative, ever
    flips_to_positive: int = 0

    def figures(self) -> dict[str, int]:
        """What this vote adds to its slot: 1 on its outcome, its flips, and 1 flipped vote if it ever flipped."""
        return {
            self.outcome: 1,
            FLIPS_TO_NEGATIVE: self.flips_to_negative,
            FLIPS_TO_POSITIVE: self.flips_to_positive,
            FLIPPED_VOTES: int(bool(self.flips_to_negative or self.flips_to_positive)),
        }


@dataclass(frozen=True)
class CountedRun:
    slot: Slot  # the day the run was created
    run_id: str
    created_at: str


def day_of(timestamp: str) -> str:
    """The UTC day (YYYY-MM-DD) of a stored timestamp."""
    return timestamp[:DAY_CHARS]


def counted_vote(image: Mapping[str, Any] | None) -> CountedVote | None:
    """The current vote a FeedbackTable item stands for, or None when it counts as no vote.

    `image` holds plain values (core.items.from_item), e.g. a stream record's OldImage or NewImage, or an
    item a query returned; None when the item does not exist (never written, erased or deleted: a stream's
    INSERT has no old image and its REMOVE no new one). None also for the run's user counter (key: the bare
    run id) and for an outcome other than positive or negative.

    This is the one place that says what a vote is. A retracted vote is an entry without an outcome
    (feedback.store: DELETE /v1/feedback empties it but keeps its history) and an erased one is deleted: both
    return None here, so that vote -> retracted is -1 and retracted -> vote (the entry voted again, on its first
    created_at) is +1, for the aggregates and the recount alike.
    """
    if not image or "#" not in str(image.get("pk", "")):
        return None
    outcome = image.get("outcome")
    if outcome not in OUTCOMES:
        return None
    created_at = str(image["created_at"])
    slot = Slot(str(image["tenant"]), str(image["agent_id"]), str(image["version_id"]), day_of(created_at))
    return CountedVote(
        slot=slot,
        outcome=str(outcome),
        run_id=str(image["run_id"]),
        created_at=created_at,
        flips_to_negative=int(image.get(FLIPS_TO_NEGATIVE, 0)),
        flips_to_positive=int(image.get(FLIPS_TO_POSITIVE, 0)),
    )


def counted_run(image: Mapping[str, Any] | None) -> CountedRun | None:
    """The run a RunsTable item stands for (on the day it was created), or None for no item."""
    if not image or "run_id" not in image:
        return None
    created_at = str(image["created_at"])
    slot = Slot(str(image["tenant"]), str(image["agent_id"]), str(image["version_id"]), day_of(created_at))
    return CountedRun(slot=slot, run_id=str(image["run_id"]), created_at=created_at)
