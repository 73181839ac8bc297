"""Property: any sequence of posts, identical reposts and retractions leaves each entry, its history, the run's
user count, the review list and the summary exactly as replaying the sequence on a plain model says.

The sequence goes through the real handlers (public feedback function, then the review function) on moto; the
model below is the whole specification of what a post, a repost and a retraction do (README, "What a post
means" and "Retraction").
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentfeedback.feedback.history import MAX_EVENTS
from agentfeedback.feedback.store import FeedbackStore
from agentfeedback.tokens import TokenClaims
from tests.helpers import load_event

USERS = ["u1", "u2", None]  # None: the run's anonymous slot
REPLAY = settings(
    max_examples=int(os.environ.get("PROPERTY_EXAMPLES") or 40),  # more with `make fuzz`
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def steps_of(users: st.SearchStrategy[str | None]) -> st.SearchStrategy[tuple]:
    posts = st.builds(
        lambda user, outcome, comment, keep: ("post", user, outcome, comment, keep),
        users,
        st.sampled_from(["positive", "negative"]),
        st.sampled_from([None, "", "Too slow", "Spot on"]),
        st.booleans(),
    )
    reposts = st.builds(lambda user: ("repost", user), users)
    retractions = st.builds(lambda user: ("retract", user), users)
    return st.one_of(posts, posts, reposts, retractions)


mixed = st.lists(steps_of(st.sampled_from(USERS)), max_size=40)
# One user changing their mind more often than the history keeps, among others' steps.
long_histories = st.tuples(
    st.lists(steps_of(st.just("u1")), min_size=3 * MAX_EVENTS // 2, max_size=2 * MAX_EVENTS), mixed
)
sequences = mixed | long_histories.map(lambda parts: [*parts[0], *parts[1]])


@dataclass
class Entry:
    """The model of one (run, user) entry."""

    exists: bool = False
    outcome: str | None = None
    comment: str | None = None
    revision: int = 0
    history: list[tuple[str | None, bool]] = field(default_factory=list)
    flips_to_negative: int = 0
    flips_to_positive: int = 0
    last_post: dict | None = None

    def record(self, outcome: str | None, comment_changed: bool) -> None:
        self.revision += 1
        self.history.append((outcome, comment_changed))

    def post(self, outcome: str, comment: str | None, keep: bool) -> int:
        wanted = self.comment if keep else (comment or None)
        if self.exists and self.outcome == outcome and self.comment == wanted:
            return 200  # identical: nothing changes
        if self.exists and self.outcome is not None and self.outcome != outcome:
            if outcome == "negative":
                self.flips_to_negative += 1
            else:
                self.flips_to_positive += 1
        self.record(outcome, comment_changed=self.comment != wanted)
        self.exists, self.outcome, self.comment = True, outcome, wanted
        return 200

    def retract(self) -> int:
        if self.outcome is None:
            return 404
        self.record(None, comment_changed=self.comment is not None)
        self.outcome = self.comment = None
        return 200

    def kept_history(self) -> list[tuple[str | None, bool]]:
        """The bound of feedback.history: the first event and the latest MAX_EVENTS - 1."""
        if len(self.history) <= MAX_EVENTS:
            return self.history
        return [self.history[0], *self.history[-(MAX_EVENTS - 1) :]]


def summary(invoke, agent_id: str) -> dict:
    event = load_event("review/feedback_summary.json", path={"agent_id": agent_id}, query={})
    status, _, body = invoke("review", event)
    assert status == 200, body
    return body


def review_list(invoke, agent_id: str) -> list[dict]:
    event = load_event("review/list_feedback.json", path={"agent_id": agent_id}, query={"limit": "100"})
    status, _, body = invoke("review", event)
    assert status == 200, body
    return body["items"]


@REPLAY
@given(steps=sequences)
def test_any_sequence_leaves_entries_history_counts_and_summary_as_its_replay(aws, invoke, streams, steps):
    agent_id = f"agent-{uuid.uuid4().hex[:8]}"
    run_id = f"run-{uuid.uuid4().hex}"
    token = aws.mint(run_id=run_id, agent_id=agent_id)
    model = {user: Entry() for user in USERS}

    for step in steps:
        kind, user = step[0], step[1]
        entry = model[user]
        named = {"user_id": user} if user else {}
        if kind == "retract":
            expected = entry.retract()
            query = {"feedback_token": token, **named}
            status, _, body = invoke("feedback", load_event("feedback/retract_feedback.json", query=query))
        else:
            if kind == "post":
                _, _, outcome, comment, keep = step
                request = {"outcome": outcome, **({"comment": comment} if comment is not None else {})}
                request |= {"keep_comment": True} if keep else {}
            elif entry.last_post is None:
                continue  # nothing to repeat yet
            else:
                request = entry.last_post
            entry.last_post = request
            expected = entry.post(request["outcome"], request.get("comment"), request.get("keep_comment", False))
            body_sent = {"feedback_token": token, **named, **request}
            status, _, body = invoke("feedback", load_event("feedback/post_feedback.json", body=body_sent))
        assert status == expected, (step, body)

    store = FeedbackStore(aws.dynamodb, aws.table)
    claims = TokenClaims(tenant="acme", agent_id=agent_id, run_id=run_id, version_id="v1")
    for user, entry in model.items():
        saved = store.read(claims, user)
        if not entry.exists:
            assert saved is None, user
            continue
        assert saved is not None, user
        assert (saved.outcome, saved.comment, saved.revision) == (entry.outcome, entry.comment, entry.revision), user
        assert [(event.outcome, event.comment_changed) for event in saved.history] == entry.kept_history(), user
        assert saved.dropped_events == len(entry.history) - len(entry.kept_history())
        assert (saved.flips_to_negative, saved.flips_to_positive) == (entry.flips_to_negative, entry.flips_to_positive)
        # What the public GET shows (an unbound token: the outcome only).
        query = {"feedback_token": token, **({"user_id": user} if user else {})}
        assert invoke("feedback", load_event("feedback/get_feedback.json", query=query))[2] == {
            "outcome": entry.outcome
        }

    live = {user: entry for user, entry in model.items() if entry.outcome is not None}
    assert aws.user_count(run_id) == len(live)
    listed = review_list(invoke, agent_id)
    assert sorted((item["user_id"] or "", item["outcome"]) for item in listed) == sorted(
        (user or "", entry.outcome) for user, entry in live.items()
    )
    streams.pump()  # the summary reads the aggregates the aggregator keeps from the stream
    assert not streams.failures
    figures = summary(invoke, agent_id)
    positive = sum(entry.outcome == "positive" for entry in live.values())
    assert (figures["overall"]["positive"], figures["overall"]["negative"]) == (positive, len(live) - positive)
    if live:
        [version] = figures["by_version"]
        assert version["flips"] == {
            "positive_to_negative": sum(entry.flips_to_negative for entry in live.values()),
            "negative_to_positive": sum(entry.flips_to_positive for entry in live.values()),
            "votes": sum(bool(entry.flips_to_negative or entry.flips_to_positive) for entry in live.values()),
        }
    else:
        assert figures["by_version"] == []
