"""Retraction (DELETE /v1/feedback) and each entry's bounded change history, through the public function."""

from __future__ import annotations

import json

import pytest

from agentfeedback import composition
from agentfeedback.feedback.history import MAX_EVENTS, HistoryEvent
from agentfeedback.feedback.store import FeedbackStore
from agentfeedback.tokens import TokenClaims
from tests.helpers import load_event
from tests.unit.feedback.test_feedback_semantics import metrics_printed

CLAIMS = TokenClaims(tenant="acme", agent_id="support-bot", run_id="run-1", version_id="v1")


def post(invoke, body):
    return invoke("feedback", load_event("feedback/post_feedback.json", body=body))


def get(invoke, query):
    return invoke("feedback", load_event("feedback/get_feedback.json", query=query))


def retract(invoke, query):
    return invoke("feedback", load_event("feedback/retract_feedback.json", query=query))


def entry(aws, user="u1"):
    return FeedbackStore(aws.dynamodb, aws.table).read(CLAIMS, user)


def test_a_retraction_empties_the_entry_keeps_its_history_and_frees_its_place(aws, invoke, capsys):
    token = aws.mint()
    post(invoke, {"feedback_token": token, "outcome": "negative", "comment": "Slow", "user_id": "u1"})
    assert aws.user_count("run-1") == 1
    capsys.readouterr()
    status, _, body = retract(invoke, {"feedback_token": token, "user_id": "u1"})
    assert status == 200 and body == {"id": body["id"], "outcome": None, "comment": None, "user_id": "u1"}
    [blob] = metrics_printed(capsys)
    assert blob["Retractions"] == [1.0] and blob["agent"] == "support-bot" and "Feedback" not in blob
    [item] = aws.items()
    # Out of the review index (tenant_agent), no outcome, no comment; the history says what happened.
    assert not {"outcome", "comment", "tenant_agent"} & set(item)
    saved = entry(aws)
    assert [(event.outcome, event.comment_changed) for event in saved.history] == [("negative", True), (None, True)]
    assert saved.revision == 2 and aws.user_count("run-1") == 0
    assert get(invoke, {"feedback_token": token, "user_id": "u1"})[2] == {"outcome": None}


@pytest.mark.parametrize("user", ["u1", None])
def test_retracting_nothing_is_404_and_changes_nothing(aws, invoke, user):
    token = aws.mint()
    query = {"feedback_token": token, **({"user_id": user} if user else {})}
    status, _, body = retract(invoke, query)
    assert status == 404 and body["error"]["code"] == "nothing_to_retract"
    post(invoke, {"feedback_token": token, "outcome": "positive", **({"user_id": user} if user else {})})
    assert retract(invoke, query)[0] == 200
    before = aws.items()
    assert retract(invoke, query)[2]["error"]["code"] == "nothing_to_retract"  # a second retraction
    assert aws.items() == before


def test_a_vote_after_a_retraction_counts_again_and_continues_the_history(aws, invoke, capsys):
    token = aws.mint()
    post(invoke, {"feedback_token": token, "outcome": "positive", "user_id": "u1"})
    retract(invoke, {"feedback_token": token, "user_id": "u1"})
    capsys.readouterr()
    status, _, body = post(invoke, {"feedback_token": token, "outcome": "negative", "user_id": "u1"})
    assert status == 200 and body["outcome"] == "negative"
    [blob] = metrics_printed(capsys)
    assert (blob["Feedback"], blob["FirstVotes"], blob["ChangedVotes"]) == ([1.0], [1.0], [0.0])
    saved = entry(aws)
    assert [event.outcome for event in saved.history] == ["positive", None, "negative"]
    assert saved.flips_to_negative == 0  # across a retraction it is a new vote, not a flip
    assert aws.user_count("run-1") == 1 and "tenant_agent" in aws.items()[0]


def test_a_retraction_gives_the_place_back_to_the_run_user_cap(aws, invoke, monkeypatch):
    monkeypatch.setenv("MAX_USERS_PER_RUN", "2")
    composition.reset()
    token = aws.mint()
    for user in ("u1", "u2"):
        assert post(invoke, {"feedback_token": token, "outcome": "positive", "user_id": user})[0] == 200
    assert post(invoke, {"feedback_token": token, "outcome": "positive", "user_id": "u3"})[0] == 409
    assert retract(invoke, {"feedback_token": token, "user_id": "u1"})[0] == 200
    assert post(invoke, {"feedback_token": token, "outcome": "positive", "user_id": "u3"})[0] == 200
    # u1 voting again would be a third user now.
    assert post(invoke, {"feedback_token": token, "outcome": "positive", "user_id": "u1"})[0] == 409
    assert aws.user_count("run-1") == 2
    assert entry(aws).outcome is None  # the refused vote left u1's retracted entry as it was


def test_history_records_real_changes_only(aws, invoke):
    token = aws.mint()
    steps = [
        ({"outcome": "positive"}, ("positive", False)),
        ({"outcome": "positive"}, None),  # identical repost
        ({"outcome": "positive", "comment": "Nice"}, ("positive", True)),
        ({"outcome": "negative", "comment": "Nice"}, ("negative", False)),
        ({"outcome": "negative", "comment": "Nice"}, None),
        ({"outcome": "positive", "keep_comment": True}, ("positive", False)),
        ({"outcome": "positive"}, ("positive", True)),  # the comment removed
    ]
    expected = []
    for body, event in steps:
        assert post(invoke, {"feedback_token": token, "user_id": "u1", **body})[0] == 200
        expected += [event] if event else []
        saved = entry(aws)
        assert [(e.outcome, e.comment_changed) for e in saved.history] == expected
        assert saved.revision == len(expected) and saved.dropped_events == 0
    assert (saved.flips_to_negative, saved.flips_to_positive) == (1, 1)
    times = [event.at for event in saved.history]
    assert times == sorted(times) and all(time.endswith("Z") and len(time) == 24 for time in times)


def test_history_past_its_bound_keeps_the_first_and_latest_events_and_counts_the_rest(aws):
    store = FeedbackStore(aws.dynamodb, aws.table)
    outcomes = ["positive", "negative"] * 20  # 40 changes
    for minute, outcome in enumerate(outcomes):
        store.save(CLAIMS, "u1", outcome, None, now=f"2026-11-26T17:{minute:02d}:00.000000Z")
    saved = entry(aws)
    assert len(saved.history) == MAX_EVENTS and saved.revision == 40 and saved.dropped_events == 40 - MAX_EVENTS
    assert saved.history[0] == HistoryEvent("2026-11-26T17:00:00.000Z", "positive", False)
    assert [event.at[14:16] for event in saved.history[1:]] == [f"{m:02d}" for m in range(40 - MAX_EVENTS + 1, 40)]
    # The counters are not bounded: every flip is counted.
    assert (saved.flips_to_negative, saved.flips_to_positive) == (20, 19)


def dynamodb_item_size(item: dict) -> int:
    """Bytes of an item as DynamoDB counts them (names + values; numbers about half their digits, lists +3 and
    +1 per element): developer guide, "Item sizes and formats"."""

    def size(value: dict) -> int:
        [(kind, inner)] = value.items()
        if kind == "S":
            return len(inner.encode())
        if kind == "N":
            return len(inner) // 2 + 2
        if kind == "L":
            return 3 + sum(1 + size(element) for element in inner)
        return len(json.dumps(inner))

    return sum(len(name.encode()) + size(value) for name, value in item.items())


def test_a_typical_entry_with_a_full_history_stays_within_one_write_unit(aws):
    """Ids of typical length (UUID run, 32-character version, an e-mail user id), a short comment, 20 events."""
    claims = TokenClaims(
        tenant="acme",
        agent_id="support-bot",
        run_id="0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
        version_id="a" * 32,
    )
    store = FeedbackStore(aws.dynamodb, aws.table)
    for minute in range(30):
        outcome = ("positive", "negative")[minute % 2]
        store.save(claims, "user-12345@example.com", outcome, "Too slow", now=f"2026-11-26T17:{minute:02d}:00.0Z")
    [item] = aws.items()
    assert len(item["history"]["L"]) == MAX_EVENTS
    assert dynamodb_item_size(item) <= 1024
