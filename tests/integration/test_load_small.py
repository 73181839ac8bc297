"""A small run of bench/load_feedback.py against the test session's local stack: nothing lost or duplicated.

It asserts what was stored, never how fast: the figures are for `make load`.
"""

from __future__ import annotations

import importlib.util
import sys
from collections import Counter
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

_SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "load_feedback.py"


def _load_module():
    name = "bench_load_feedback"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, _SCRIPT)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


load = _load_module()


def test_concurrent_posts_store_one_entry_per_run_and_user_with_the_last_outcome(stack):
    report = load.run_load(
        load.target_from_stack(stack),
        posts=200,
        concurrency=8,
        runs=8,
        users=5,
        anonymous_share=0.2,
        forged_share=0.05,
        time_limit_seconds=120,
        seed=7,
    )

    print(load.format_report(report, "small load"))
    assert report.sent == 200 and report.unsent == 0
    assert report.transport_errors == 0
    assert report.forged_accepted == 0
    assert set(report.statuses) <= {200, 401}, report.statuses
    assert report.statuses[401] > 0  # the forged tokens were refused...
    assert report.lost == 0 and report.duplicated == 0, report.problems
    assert (report.wrong_outcome, report.wrong_comment, report.wrong_revision) == (0, 0, 0), report.problems
    assert report.items_stored == report.pairs_expected > 0  # ...and left nothing behind
    # The aggregates count exactly the votes stored, and every probe vote reached them.
    assert report.aggregates_match is True and report.lags_unseen == 0 and report.lags_ms
    assert report.ok


def _item(run_id: str, user_id: str | None, outcome: str, revision: int) -> dict:
    return {
        "pk": {"S": f"{run_id}#{user_id or ''}"},
        "run_id": {"S": run_id},
        "user_id": {"S": user_id or ""},
        "outcome": {"S": outcome},
        "revision": {"N": str(revision)},
    }


def test_the_check_reports_lost_duplicated_and_stale_entries():
    """The checker itself: a clean run must not pass merely because it cannot see a problem."""
    post = load.Post
    results = [
        load.Result(post("r1", "u1", "positive", None), 200, 0.01),
        load.Result(post("r1", "u1", "negative", None), 200, 0.01),  # the last one wins
        load.Result(post("r2", None, "positive", None), 200, 0.01),  # lost below
        load.Result(post("r3", "u2", "negative", None), 200, 0.01),
        load.Result(post("ghost", None, "positive", None, forged=True), 401, 0.01),
    ]
    items = [
        _item("r1", "u1", "positive", 2),  # stale outcome
        _item("r3", "u2", "negative", 1),
        _item("r3", "u2", "negative", 1),  # a second entry for the same pair
        _item("ghost", None, "positive", 1),  # stored although refused
    ]

    report = load.check(results, items, elapsed=1.0, unsent=0)

    assert report.statuses == Counter({200: 4, 401: 1})
    assert (report.lost, report.duplicated, report.wrong_outcome) == (1, 2, 1)
    assert not report.ok
