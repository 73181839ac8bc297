"""What the review tests share: the tables written through the real stores, no scans, and the streams.

Review reads aggregates: before each handler call, the stream records written so far reach the aggregator, as
Lambda's event source mappings would hand them over (a moment after each write, in AWS).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from agentfeedback import composition
from agentfeedback.feedback.store import FeedbackStore
from agentfeedback.runs.store import RunStore
from tests.helpers import StreamPump, vote
from tests.unit.review.test_review_handler import record_run


@pytest.fixture
def invoke(invoke: Callable[..., Any], streams: StreamPump) -> Callable[..., Any]:
    def call(function: str, event: dict) -> Any:
        streams.pump()
        assert not streams.failures
        return invoke(function, event)

    return call


@pytest.fixture(autouse=True)
def no_scans(aws, monkeypatch):
    """Every review query must be served by a key or an index: a Scan fails the test."""

    def scan(**_):
        raise AssertionError("a review route scanned a table")

    monkeypatch.setattr(composition.dynamodb(), "scan", scan)


@pytest.fixture
def store(aws):
    return FeedbackStore(aws.dynamodb, "FeedbackTable")


@pytest.fixture
def runs(aws):
    return RunStore(aws.dynamodb, "RunsTable", retention_days=90)


@pytest.fixture
def summary_fixture(store, runs):
    """Worked by hand in test_summary_matches_hand_computation. Window: [2026-11-01, 2026-11-08)."""
    day = lambda d, h=10: datetime(2026, 11, d, h, tzinfo=UTC)  # noqa: E731
    for run_id, created, version in [
        ("r1", day(2), "v1"),
        ("r2", day(2), "v1"),
        ("r3", day(2), "v1"),
        ("r4", day(2), "v1"),
        ("r5", day(3), "v1"),
        ("r6", day(3), "v1"),
        ("r7", day(3), "v2"),
        ("r8", day(3), "v2"),
        ("r9", day(4), "v2"),
        ("r10", day(4), "v2"),
    ]:
        record_run(runs, run_id, created, version=version)
    record_run(runs, "r0", datetime(2026, 10, 30, tzinfo=UTC))  # before the window
    record_run(runs, "late", day(8, 0))  # exactly at `until`: outside
    # v1: 5 positive, 1 negative
    vote(store, "r1", "u1", "positive", day(2, 11))
    vote(store, "r1", "u2", "positive", day(2, 12))
    vote(store, "r2", "u1", "positive", day(2, 13))
    vote(store, "r3", None, "negative", day(2, 14))
    vote(store, "r5", "u3", "positive", day(3, 11))
    vote(store, "r0", "u1", "positive", day(2, 9))  # a vote in the window on a run from before it
    # v2: 1 positive, 3 negative (one of them changed its mind: counted once, on its first day)
    vote(store, "r7", "u1", "negative", day(3, 12), version="v2")
    vote(store, "r7", "u2", "negative", day(3, 13), version="v2")
    vote(store, "r9", "u1", "positive", day(4, 11), version="v2")
    vote(store, "r9", "u4", "positive", day(4, 12), version="v2")
    vote(store, "r9", "u4", "negative", day(9, 12), version="v2")
    # Not counted: before the window, another agent, another tenant.
    vote(store, "r0", "u5", "positive", datetime(2026, 10, 31, tzinfo=UTC))
    vote(store, "x1", "u1", "negative", day(2), agent="billing-bot")
    vote(store, "x2", "u1", "negative", day(2), tenant="globex")
