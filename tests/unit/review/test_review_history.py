"""Review of changes of mind: each entry's history (per run and per entry), retracted votes, flips in the summary,
and erasure of an end user's runs."""

from __future__ import annotations

from datetime import timedelta

import pytest

from agentfeedback.feedback.store import FeedbackStore
from agentfeedback.runs.store import RunStore
from agentfeedback.tokens import TokenClaims
from tests.unit.review.test_review_handler import AGENT, T0, call, listing, record_run, stamp, vote


@pytest.fixture
def store(aws):
    return FeedbackStore(aws.dynamodb, "FeedbackTable")


@pytest.fixture
def runs(aws):
    return RunStore(aws.dynamodb, "RunsTable", retention_days=90)


def retract(store, run_id, user_id, at, agent=AGENT):
    claims = TokenClaims(tenant="acme", agent_id=agent, run_id=run_id, version_id="v1")
    return store.retract(claims, user_id, now=stamp(at))


def test_run_feedback_shows_each_entry_with_its_history_retracted_ones_too(aws, invoke, store, runs):
    record_run(runs, "run-1", T0)
    vote(store, "run-1", "u1", "positive", T0)
    vote(store, "run-1", "u1", "negative", T0 + timedelta(minutes=1), comment="Wrong city")
    vote(store, "run-1", "u2", "positive", T0 + timedelta(minutes=2))
    retract(store, "run-1", "u2", T0 + timedelta(minutes=3))
    status, _, body = call(invoke, "get_run_feedback")
    assert status == 200, body
    by_user = {item["user_id"]: item for item in body["items"]}
    assert by_user["u1"]["outcome"] == "negative" and by_user["u1"]["revision"] == 2
    assert by_user["u1"]["history"] == [
        {"at": "2026-11-02T09:00:00.000Z", "outcome": "positive", "comment_changed": False},
        {"at": "2026-11-02T09:01:00.000Z", "outcome": "negative", "comment_changed": True},
    ]
    assert by_user["u2"]["outcome"] is None and by_user["u2"]["comment"] is None
    assert [event["outcome"] for event in by_user["u2"]["history"]] == ["positive", None]
    assert all(item["dropped_events"] == 0 for item in body["items"])
    # The run detail carries the same entries; the list and the summary count the current vote only.
    assert call(invoke, "get_run")[2]["feedback"] == body["items"]
    assert [item["user_id"] for item in listing(invoke)["items"]] == ["u1"]


def test_one_entry_with_its_history_by_its_public_id(aws, invoke, store):
    entry = vote(store, "run-1", "u1", "positive", T0)
    vote(store, "run-1", "u1", "negative", T0 + timedelta(minutes=1))
    status, _, body = call(invoke, "get_feedback_entry", path={"feedback_id": entry.id})
    assert status == 200, body
    assert body["id"] == entry.id and [event["outcome"] for event in body["history"]] == ["positive", "negative"]
    status, _, body = call(invoke, "get_feedback_entry", path={"feedback_id": "not-an-entry"})
    assert status == 404 and body["error"]["code"] == "not_found"
    other_agent = call(invoke, "get_feedback_entry", path={"feedback_id": entry.id, "agent_id": "billing-bot"})
    assert other_agent[0] == 404


def test_summary_counts_flips_per_version_of_current_votes(aws, invoke, store):
    # v1: u1 positive -> negative -> positive (2 flips, one vote); u2 positive -> negative; u3 negative, never flips.
    for minute, outcome in enumerate(["positive", "negative", "positive"]):
        vote(store, "run-1", "u1", outcome, T0 + timedelta(minutes=minute))
    vote(store, "run-2", "u2", "positive", T0)
    vote(store, "run-2", "u2", "negative", T0 + timedelta(minutes=5))
    vote(store, "run-3", "u3", "negative", T0)
    # v2: a flip that was then retracted leaves the summary with its vote.
    vote(store, "run-4", "u4", "negative", T0, version="v2")
    vote(store, "run-4", "u4", "positive", T0 + timedelta(minutes=1), version="v2")
    vote(store, "run-5", "u5", "negative", T0, version="v2")
    retract(store, "run-4", "u4", T0 + timedelta(minutes=2))
    query = {"since": "2026-11-01", "until": "2026-11-03"}
    status, _, body = call(invoke, "feedback_summary", query=query)
    assert status == 200, body
    versions = {figures["version"]: figures for figures in body["by_version"]}
    assert versions["v1"]["flips"] == {"positive_to_negative": 2, "negative_to_positive": 1, "votes": 2}
    assert versions["v1"]["total"] == 3
    assert versions["v2"]["flips"] == {"positive_to_negative": 0, "negative_to_positive": 0, "votes": 0}
    assert versions["v2"]["total"] == 1 and body["overall"]["total"] == 4


def test_erasing_an_end_user_erases_their_runs_input_and_output_and_says_how_many(aws, invoke, store, runs):
    for run_id in ("run-1", "run-2"):
        aws.recorded_run(run_id=run_id, end_user="user-42")
    aws.recorded_run(run_id="run-3", end_user="user-7")
    aws.recorded_run(run_id="run-4", end_user="user-42", tenant="globex")
    vote(store, "run-1", "user-42", "negative", T0, comment="My address is wrong")
    status, _, body = call(invoke, "erase_user")
    assert status == 200, body
    assert body == {"user_id": "user-42", "erased": 1, "runs_erased": 2}
    for run_id in ("run-1", "run-2"):
        erased = runs.get("acme", run_id)
        assert erased is not None and erased.erased and erased.end_user is None
        assert (erased.task_input, erased.task_output, erased.metadata) == (None, None, {})
        assert erased.cost_usd == 0.0 and erased.version_id == "v1"  # what review counts stays
    detail = call(invoke, "get_run")[2]
    assert detail["erased"] is True and detail["task_input"] is None and detail["feedback"] == []
    assert runs.get("acme", "run-3").task_input == {"question": "Where is my parcel?"}
    assert runs.get("globex", "run-4").end_user == "user-42"
    assert call(invoke, "erase_user")[2] == {"user_id": "user-42", "erased": 0, "runs_erased": 0}
