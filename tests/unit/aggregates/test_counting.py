"""counting: the one place that says what a stored item counts as."""

from __future__ import annotations

import pytest

from agentfeedback.aggregates.counting import Slot, counted_run, counted_vote

ENTRY = {
    "pk": "run-1#user-1",
    "tenant": "acme",
    "agent_id": "support-bot",
    "run_id": "run-1",
    "version_id": "v1",
    "outcome": "positive",
    "comment": "Spot on",
    "created_at": "2026-11-02T23:59:59.999999Z",
    "updated_at": "2026-11-04T08:00:00.000000Z",
    "revision": 3,
}


def test_an_entry_counts_on_the_utc_day_it_was_first_given_with_its_current_outcome():
    vote = counted_vote(ENTRY)
    assert vote is not None
    assert vote.slot == Slot("acme", "support-bot", "v1", "2026-11-02")  # not the day it was last changed
    assert (vote.outcome, vote.run_id, vote.created_at) == ("positive", "run-1", ENTRY["created_at"])


def test_an_anonymous_entry_counts_too():
    assert counted_vote({**ENTRY, "pk": "run-1#", "user_id": ""}) is not None


@pytest.mark.parametrize(
    "image",
    [
        None,  # no item: never written, or erased (deleted)
        {},
        {"pk": "run-1", "user_count": 3},  # the run's user counter of MaxUsersPerRun
        {**ENTRY, "outcome": "meh"},
        # A retracted vote (FeedbackStore.retract): no outcome, no comment, out of by_agent_time, history and
        # flips kept.
        {
            **{key: value for key, value in ENTRY.items() if key not in ("outcome", "comment")},
            "history": ["1793613600000p", "1793692800000n", "1793782800000r"],
            "flips_to_negative": 1,
        },
    ],
)
def test_what_is_not_a_current_vote_counts_as_none(image):
    assert counted_vote(image) is None


def test_a_comment_or_revision_does_not_change_what_an_entry_counts_as():
    assert counted_vote(ENTRY) == counted_vote({**ENTRY, "comment": "Changed", "revision": 4, "updated_at": "x"})


def test_a_run_counts_on_the_day_it_was_created():
    run = counted_run(
        {
            "run_id": "run-1",
            "tenant": "acme",
            "agent_id": "support-bot",
            "version_id": "v2",
            "created_at": "2026-11-03T00:00:00.000000Z",
            "task_input": "{}",
        }
    )
    assert run is not None and run.slot == Slot("acme", "support-bot", "v2", "2026-11-03")
    assert counted_run(None) is None


def test_a_vote_adds_its_outcome_and_its_flips_to_its_slot():
    flipped = counted_vote({**ENTRY, "flips_to_negative": 2, "flips_to_positive": 1})
    assert flipped is not None
    assert flipped.figures() == {"positive": 1, "flips_to_negative": 2, "flips_to_positive": 1, "flipped_votes": 1}
    steady = counted_vote({**ENTRY, "outcome": "negative"})
    assert steady is not None
    assert steady.figures() == {"negative": 1, "flips_to_negative": 0, "flips_to_positive": 0, "flipped_votes": 0}
