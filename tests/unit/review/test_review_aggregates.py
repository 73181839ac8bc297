"""Summaries read the aggregates: whole UTC days, the aggregates check and rebuild routes, and daily counts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from agentfeedback import composition
from agentfeedback.review.service import summary_window
from tests.helpers import FakeContext, load_event
from tests.unit.review.test_review_handler import assert_error, call, vote

AGENT = "support-bot"


@pytest.fixture
def full_time(monkeypatch):
    """The review function's 28 s, as API Gateway calls it (the unit tests' context otherwise has 5 s left)."""
    monkeypatch.setattr(FakeContext, "get_remaining_time_in_millis", lambda self: 28_000)


def summary(invoke, **query):
    status, _, body = call(invoke, "feedback_summary", query=query)
    assert status == 200, body
    return body


def check(invoke, **query):
    status, _, body = call(invoke, "check_aggregates", query=query)
    assert status == 200, body
    return body


def rebuild(invoke, **window):
    status, _, body = invoke("review", load_event("review/rebuild_aggregates.json", body=window))
    assert status == 200, body
    return body


def aggregate_items(aws) -> list[dict]:
    return aws.dynamodb.scan(TableName="AggregatesTable", ConsistentRead=True)["Items"]


def figures(body) -> tuple:
    return body["overall"], body["by_version"], body["by_day"]


# --- whole days ---------------------------------------------------------------------------------------


def test_a_window_inside_days_counts_the_whole_utc_days_it_touches_and_says_so(aws, invoke, summary_fixture):
    # The votes of 2026-11-02 fall between 09:00 and 14:00: all of that day counts, and the window says it.
    body = summary(invoke, since="2026-11-02T12:00:00Z", until="2026-11-04T11:00:00+01:00")
    assert (body["since"], body["until"]) == ("2026-11-02T00:00:00.000000Z", "2026-11-05T00:00:00.000000Z")
    assert (body["overall"]["positive"], body["overall"]["negative"]) == (6, 4)
    assert figures(body) == figures(summary(invoke, since="2026-11-02", until="2026-11-05"))


def test_until_at_midnight_is_exclusive_and_an_offset_can_move_the_day(aws, invoke, summary_fixture):
    body = summary(invoke, since="2026-11-01", until="2026-11-04T00:00:00Z")
    assert [row["day"] for row in body["by_day"]] == ["2026-11-02", "2026-11-03"]
    assert (body["overall"]["positive"], body["overall"]["negative"]) == (5, 3)
    # 2026-11-03T23:30-01:00 is 2026-11-04T00:30Z: the window reaches into 2026-11-04.
    later = summary(invoke, since="2026-11-01", until="2026-11-03T23:30:00-01:00")
    assert later["until"] == "2026-11-05T00:00:00.000000Z"


def test_default_window_is_the_30_days_ending_today():
    window = summary_window(None, None, now=datetime(2026, 11, 26, 17, 46, tzinfo=UTC))
    assert (window.since, window.until) == (datetime(2026, 10, 28, tzinfo=UTC), datetime(2026, 11, 27, tzinfo=UTC))
    assert len(window.days()) == 30 and window.days()[-1] == "2026-11-26"


def test_daily_counts_are_per_version_and_day_for_a_comparison(aws, invoke, summary_fixture):
    summary(invoke)  # lets the streams through
    counts = composition.review_service().daily_counts("acme", AGENT, summary_window("2026-11-01", "2026-11-08"))
    table = {(entry.slot.day, entry.slot.version_id): entry.figures for entry in counts}
    # (positive, negative, runs, rated runs, flips to negative, flips to positive, votes that flipped)
    assert table == {
        ("2026-11-02", "v1"): (4, 1, 4, 3, 0, 0, 0),
        ("2026-11-03", "v1"): (1, 0, 2, 1, 0, 0, 0),
        ("2026-11-03", "v2"): (0, 2, 2, 1, 0, 0, 0),
        ("2026-11-04", "v2"): (1, 1, 2, 1, 1, 0, 1),  # u4 changed to negative on 9 Nov: counted on the 4th
    }


# --- check and rebuild --------------------------------------------------------------------------------


def test_check_finds_what_differs_and_a_rebuild_corrects_it(aws, invoke, summary_fixture, full_time):
    window = {"since": "2026-11-01", "until": "2026-11-08"}
    before = summary(invoke, **window)
    assert check(invoke, **window)["consistent"] is True
    # An incident: one slot wrong, another lost.
    aws.dynamodb.put_item(
        TableName="AggregatesTable",
        Item={
            "pk": {"S": f"acme#{AGENT}"},
            "sk": {"S": "day#2026-11-03#v2"},
            **{name: {"S": value} for name, value in (("tenant", "acme"), ("agent_id", AGENT), ("version_id", "v2"))},
            "day": {"S": "2026-11-03"},
            **{name: {"N": "9"} for name in ("positive", "negative", "runs", "rated_runs")},
        },
    )
    aws.dynamodb.delete_item(
        TableName="AggregatesTable", Key={"pk": {"S": f"acme#{AGENT}"}, "sk": {"S": "day#2026-11-02#v1"}}
    )
    # And a third slot's flips lost (u4's change of mind, counted on 4 November).
    aws.dynamodb.update_item(
        TableName="AggregatesTable",
        Key={"pk": {"S": f"acme#{AGENT}"}, "sk": {"S": "day#2026-11-04#v2"}},
        UpdateExpression="SET flips_to_negative = :zero, flipped_votes = :zero",
        ExpressionAttributeValues={":zero": {"N": "0"}},
    )
    assert summary(invoke, **window)["overall"] != before["overall"]

    found = check(invoke, **window)
    assert found["consistent"] is False and found["next_since"] is None and found["days"] == 7
    no_flips = {"positive_to_negative": 0, "negative_to_positive": 0, "votes": 0}
    assert found["differences"] == [
        {
            "day": "2026-11-02",
            "version": "v1",
            "stored": {"positive": 0, "negative": 0, "runs": 0, "runs_with_feedback": 0, "flips": no_flips},
            "recounted": {"positive": 4, "negative": 1, "runs": 4, "runs_with_feedback": 3, "flips": no_flips},
        },
        {
            "day": "2026-11-03",
            "version": "v2",
            "stored": {"positive": 9, "negative": 9, "runs": 9, "runs_with_feedback": 9, "flips": no_flips},
            "recounted": {"positive": 0, "negative": 2, "runs": 2, "runs_with_feedback": 1, "flips": no_flips},
        },
        {
            "day": "2026-11-04",
            "version": "v2",
            "stored": {"positive": 1, "negative": 1, "runs": 2, "runs_with_feedback": 1, "flips": no_flips},
            "recounted": {
                "positive": 1,
                "negative": 1,
                "runs": 2,
                "runs_with_feedback": 1,
                "flips": {"positive_to_negative": 1, "negative_to_positive": 0, "votes": 1},
            },
        },
    ]
    assert rebuild(invoke, **window)["corrected"] == found["differences"]
    assert check(invoke, **window)["consistent"] is True
    assert summary(invoke, **window) == before


def test_a_rebuild_from_nothing_restores_the_counts_and_the_run_states(aws, invoke, store, summary_fixture, full_time):
    window = {"since": "2026-11-01", "until": "2026-11-08"}
    before = summary(invoke, **window)
    for item in aggregate_items(aws):
        aws.dynamodb.delete_item(TableName="AggregatesTable", Key={"pk": item["pk"], "sk": item["sk"]})
    assert summary(invoke, **window)["overall"]["total"] == 0
    assert len(rebuild(invoke, **window)["corrected"]) == 4
    assert summary(invoke, **window) == before
    # The run states came back too: later votes move rated runs from the right starting point.
    vote(store, "r4", "u9", "positive", datetime(2026, 11, 5, 9, tzinfo=UTC))  # r4 (11-02) gets its first vote
    vote(store, "r7", "u1", "positive", datetime(2026, 11, 5, 9, tzinfo=UTC))  # r7 already rated: a change
    after = {row["day"]: row for row in summary(invoke, **window)["by_day"]}
    assert (after["2026-11-02"]["runs_with_feedback"], after["2026-11-03"]["runs_with_feedback"]) == (4, 2)
    assert check(invoke, **window)["consistent"] is True


def test_a_call_stops_before_its_time_runs_out_and_says_where_to_go_on(aws, invoke, summary_fixture):
    # The unit tests' Lambda context has 5 s left: the call keeps none of it for more days, so one day a call.
    window = {"since": "2026-11-01", "until": "2026-11-05"}
    days, since = [], window["since"]
    while since is not None:
        body = check(invoke, since=since, until=window["until"])
        assert body["days"] == 1 and body["until"] == "2026-11-05T00:00:00.000000Z"
        days.append(body["done_until"])
        since = body["next_since"]
    assert days == [f"2026-11-0{day}T00:00:00.000000Z" for day in (2, 3, 4, 5)]
    done = rebuild(invoke, since="2026-11-03T10:00:00Z", until=window["until"])
    assert (done["since"], done["done_until"], done["next_since"]) == (
        "2026-11-03T00:00:00.000000Z",
        "2026-11-04T00:00:00.000000Z",
        "2026-11-04T00:00:00.000000Z",
    )


@pytest.mark.parametrize(
    ("body", "mentions"),
    [
        ({"since": "2026-11-05", "until": "2026-11-01"}, "since must be earlier than until"),
        ({"since": "2024-01-01", "until": "2026-01-01"}, "366 days"),
        ({"since": "yesterday"}, "since"),
        ({"agent": "other"}, "agent"),
    ],
)
def test_a_bad_rebuild_window_is_a_422_and_rebuilds_nothing(aws, invoke, summary_fixture, body, mentions):
    summary(invoke)
    before = aggregate_items(aws)
    assert_error(
        invoke("review", load_event("review/rebuild_aggregates.json", body=body)), 422, "validation_error", mentions
    )
    assert aggregate_items(aws) == before


@pytest.mark.parametrize("name", ["check_aggregates", "rebuild_aggregates"])
def test_aggregates_routes_stay_in_the_callers_tenant(aws, invoke, store, name, full_time):
    vote(store, "run-1", "u1", "positive", datetime(2026, 11, 2, tzinfo=UTC), tenant="globex")
    assert_error(invoke("review", load_event(f"review/{name}.json", path={"tenant": "globex"})), 403, "forbidden")
    status, _, body = invoke("review", load_event(f"review/{name}.json"))
    assert status == 200 and body.get("differences", body.get("corrected")) == []  # acme has nothing to count
