"""The review function, called as Lambda calls it, with API Gateway events from events/review/."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest

from agentfeedback.core.errors import UserLimitReached
from agentfeedback.feedback.store import FeedbackStore
from agentfeedback.review import store as review_store
from agentfeedback.review.cursor import encode_cursor
from agentfeedback.review.store import FeedbackPosition
from agentfeedback.runs.store import RunRecord
from tests.helpers import load_event, stamp, vote

AGENT = "support-bot"
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def record_run(runs, run_id, at, version="v1", agent=AGENT, tenant="acme"):
    runs.save(
        RunRecord(
            run_id=run_id,
            tenant=tenant,
            agent_id=agent,
            schema_id=1,
            version_id=version,
            version_properties={"model": "offline", "instructions": "Answer support questions."},
            task_input={"question": "Where is my order?"},
            task_output={"answer": "On its way."},
            model="offline",
            input_tokens=12,
            output_tokens=5,
            cost_usd=0.0001,
            duration_seconds=0.25,
            created_at=stamp(at) if isinstance(at, datetime) else at,
            metadata={"session": "s1"},
        )
    )


def call(invoke, name, path=None, query=None, tenant=None):
    return invoke("review", load_event(f"review/{name}.json", path=path, query=query, tenant=tenant))


def listing(invoke, **query):
    query = {name: str(value).lower() if isinstance(value, bool) else str(value) for name, value in query.items()}
    status, _, body = call(invoke, "list_feedback", query=query)
    assert status == 200, body
    return body


def all_pages(invoke, **query):
    pages = []
    cursor = None
    while True:
        body = listing(invoke, **query, **({"cursor": cursor} if cursor else {}))
        pages.append(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages


def assert_error(result, status, code, mentions=""):
    got_status, _, body = result
    assert got_status == status, body
    assert body["error"]["status_code"] == status and body["error"]["code"] == code
    assert mentions in body["error"]["message"]


# --- list ---------------------------------------------------------------------------------------------


def test_list_is_newest_first_with_every_field(aws, invoke, store):
    vote(store, "run-1", "u1", "positive", T0, comment="Spot on")
    saved = vote(store, "run-2", None, "negative", T0 + timedelta(minutes=5), version="v2")
    body = listing(invoke)
    assert body["next_cursor"] is None
    newest, oldest = body["items"]
    assert newest == {
        "id": saved.id,
        "agent_id": AGENT,
        "run_id": "run-2",
        "outcome": "negative",
        "comment": None,
        "user_id": None,
        "version": "v2",
        "created_at": "2026-11-02T09:05:00.000000Z",
        "updated_at": "2026-11-02T09:05:00.000000Z",
        "revision": 1,
    }
    assert oldest["run_id"] == "run-1" and oldest["comment"] == "Spot on" and oldest["user_id"] == "u1"


def test_changed_vote_shows_its_revision_and_keeps_its_place(aws, invoke, store):
    vote(store, "run-1", "u1", "positive", T0)
    vote(store, "run-2", "u1", "positive", T0 + timedelta(minutes=1))
    vote(store, "run-1", "u1", "negative", T0 + timedelta(minutes=2), comment="Changed my mind")
    items = listing(invoke)["items"]
    assert [item["run_id"] for item in items] == ["run-2", "run-1"]
    assert items[1]["revision"] == 2 and items[1]["outcome"] == "negative"
    assert items[1]["created_at"] < items[1]["updated_at"]


@pytest.fixture
def mixed(store):
    """Eight votes with every combination the filters distinguish; plus other agents and tenants."""
    rows = [
        ("r1", "u1", "positive", "Great", "v1"),
        ("r2", "u2", "negative", "Wrong answer", "v1"),
        ("r3", None, "negative", None, "v2"),
        ("r4", "u1", "negative", None, "v2"),
        ("r5", "u3", "positive", None, "v1"),
        ("r6", "u2", "positive", "Fast", "v2"),
        ("r7", "u1", "negative", "Rude", "v2"),
        ("r8", None, "positive", None, "v1"),
    ]
    for index, (run_id, user_id, outcome, comment, version) in enumerate(rows):
        vote(store, run_id, user_id, outcome, T0 + timedelta(days=index), comment=comment, version=version)
    vote(store, "other-agent-run", "u1", "negative", T0, comment="x", agent="billing-bot")
    vote(store, "other-tenant-run", "u1", "negative", T0, comment="x", tenant="globex")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, ["r8", "r7", "r6", "r5", "r4", "r3", "r2", "r1"]),
        ({"outcome": "negative"}, ["r7", "r4", "r3", "r2"]),
        ({"user_id": "u1"}, ["r7", "r4", "r1"]),
        ({"version": "v2"}, ["r7", "r6", "r4", "r3"]),
        ({"has_comment": True}, ["r7", "r6", "r2", "r1"]),
        ({"has_comment": False}, ["r8", "r5", "r4", "r3"]),
        ({"since": "2026-11-05"}, ["r8", "r7", "r6", "r5", "r4"]),  # r4 at 2026-11-05T09:00
        ({"until": "2026-11-04T09:00:00Z"}, ["r2", "r1"]),  # until is exclusive: r3 is at exactly 09:00
        ({"since": "2026-11-03T09:00:00Z", "until": "2026-11-05T09:00:00.000001Z"}, ["r4", "r3", "r2"]),
        ({"since": "2026-11-03T10:00:00+01:00", "until": "2026-11-04"}, ["r2"]),  # offsets are honoured
        ({"outcome": "negative", "user_id": "u1", "has_comment": True, "version": "v2"}, ["r7"]),
        ({"user_id": "nobody"}, []),
    ],
)
def test_filters(aws, invoke, mixed, query, expected):
    assert [item["run_id"] for item in listing(invoke, **query)["items"]] == expected


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"outcome": "meh"}, "outcome"),
        ({"limit": "101"}, "limit"),
        ({"limit": "0"}, "limit"),
        ({"has_comment": "perhaps"}, "has_comment"),
        ({"since": "last tuesday"}, "since"),
        ({"until": "2026-13-01"}, "until"),
        ({"until": "9999-12-31T23:00:00-05:00"}, "until"),
        ({"since": "1999-12-31"}, "since"),
        ({"since": "2026-11-05", "until": "2026-11-01"}, "since must be earlier than until"),
    ],
)
def test_bad_query_parameters_are_422_naming_the_field(aws, invoke, query, field):
    assert_error(call(invoke, "list_feedback", query=query), 422, "validation_error", field)


def test_filtered_event_from_events_folder_works_as_is(aws, invoke, mixed):
    status, _, body = call(invoke, "list_feedback_filtered")
    assert status == 200, body
    assert [item["run_id"] for item in body["items"]] == ["r7", "r2"]


# --- pagination ---------------------------------------------------------------------------------------


def test_pages_lose_and_repeat_nothing_while_feedback_arrives(aws, invoke, store):
    original = {}
    for index in range(25):
        entry = vote(store, f"run-{index:02d}", f"u{index}", "positive", T0 + timedelta(seconds=index))
        original[entry.id] = entry.run_id
    # Five of them share one timestamp, across a page boundary: ties are resolved by the table key.
    for index in range(5):
        entry = vote(store, f"tie-{index}", "u-tie", "negative", T0 + timedelta(seconds=15, microseconds=500_000))
        original[entry.id] = entry.run_id

    seen: list[str] = []
    page = listing(invoke, limit=10)
    seen += [item["id"] for item in page["items"]]
    ties_on_first_page = sum(item["run_id"].startswith("tie-") for item in page["items"])
    assert 0 < ties_on_first_page < 5  # the tied entries straddle the first page boundary
    arrivals = 0
    while page["next_cursor"]:
        # Between pages: brand-new votes arrive, and users change votes already listed and not yet listed.
        arrivals += 1
        vote(store, f"new-{arrivals}", "late", "positive", datetime.now(UTC))
        vote(store, "run-24", "u24", "negative", datetime.now(UTC), comment="changed after being listed")
        vote(store, "run-00", "u0", "negative", datetime.now(UTC), comment="changed before being listed")
        page = listing(invoke, limit=10, cursor=page["next_cursor"])
        assert len(page["items"]) <= 10
        seen += [item["id"] for item in page["items"]]

    assert arrivals == 2  # 30 entries, pages of 10: the last page carries no cursor
    assert len(seen) == len(set(seen)) == 30
    assert set(seen) == set(original)
    created = [item["created_at"] for item in listing(invoke, limit=100)["items"]]
    assert created == sorted(created, reverse=True)


def test_last_page_has_no_cursor_even_when_it_is_full(aws, invoke, store):
    for index in range(4):
        vote(store, f"run-{index}", "u1", "positive", T0 + timedelta(seconds=index))
    pages = all_pages(invoke, limit=2)
    assert [len(page) for page in pages] == [2, 2]


def test_filtered_pages_follow_the_filter_across_many_entries(aws, invoke, store, monkeypatch):
    # A tiny read budget forces short (even empty) pages with cursors: following them still finds every match.
    monkeypatch.setattr(review_store, "_FILTERED_READ_LIMIT", 3)
    monkeypatch.setattr(review_store, "_MAX_ROUND_TRIPS", 2)
    expected = []
    for index in range(40):
        matching = index % 8 == 3
        vote(store, f"run-{index:02d}", "u1", "negative" if matching else "positive", T0 + timedelta(minutes=index))
        if matching:
            expected.append(f"run-{index:02d}")
    pages = all_pages(invoke, outcome="negative", limit=2)
    found = [item["run_id"] for page in pages for item in page]
    assert found == list(reversed(expected))
    assert any(len(page) < 2 for page in pages[:-1])  # short pages happened, and were followed


@pytest.mark.parametrize(
    "cursor",
    [
        "not-a-cursor",
        base64.urlsafe_b64encode(b"[1, 2]").decode(),
        base64.urlsafe_b64encode(json.dumps({"f": 1, "pk": "r#", "ta": f"acme#{AGENT}"}).encode()).decode(),
        base64.urlsafe_b64encode(
            json.dumps({"f": 1, "pk": "r#", "ta": f"acme#{AGENT}", "at": "yesterday"}).encode()
        ).decode(),
        base64.urlsafe_b64encode(
            json.dumps({"f": True, "pk": "r#", "ta": f"acme#{AGENT}", "at": "2026-11-02T09:00:00.000000Z"}).encode()
        ).decode(),
        base64.urlsafe_b64encode(b"[" * 1500).decode(),
    ],
)
def test_tampered_cursor_is_400(aws, invoke, cursor):
    assert_error(call(invoke, "list_feedback", query={"cursor": cursor}), 400, "invalid_cursor")


def test_cursor_of_another_agent_or_tenant_or_window_is_400(aws, invoke, store):
    position = {"pk": "run-1#u1", "created_at": "2026-11-02T09:00:00.000000Z"}
    other_agent = encode_cursor(FeedbackPosition(**position, tenant_agent="acme#billing-bot"))
    other_tenant = encode_cursor(FeedbackPosition(**position, tenant_agent=f"globex#{AGENT}"))
    assert_error(call(invoke, "list_feedback", query={"cursor": other_agent}), 400, "invalid_cursor", "another agent")
    assert_error(call(invoke, "list_feedback", query={"cursor": other_tenant}), 400, "invalid_cursor", "tenant")
    own = encode_cursor(FeedbackPosition(**position, tenant_agent=f"acme#{AGENT}"))
    assert call(invoke, "list_feedback", query={"cursor": own})[0] == 200
    outside = {"cursor": own, "since": "2026-11-10"}
    assert_error(call(invoke, "list_feedback", query=outside), 400, "invalid_cursor", "window")


# --- runs ---------------------------------------------------------------------------------------------


def test_run_comes_with_its_input_output_and_all_its_feedback(aws, invoke, store, runs):
    record_run(runs, "run-1", T0)
    vote(store, "run-1", "u1", "positive", T0 + timedelta(minutes=1), comment="Helpful")
    vote(store, "run-1", None, "negative", T0 + timedelta(minutes=2))
    vote(store, "run-2", "u1", "negative", T0 + timedelta(minutes=3))
    status, _, body = call(invoke, "get_run")
    assert status == 200, body
    assert body["id"] == "run-1" and body["agent_id"] == AGENT
    assert body["task_input"] == {"question": "Where is my order?"}
    assert body["task_output"] == {"answer": "On its way."}
    assert body["version"] == {
        "id": "v1",
        "properties": {"model": "offline", "instructions": "Answer support questions."},
    }
    assert body["cost_usd"] == 0.0001 and body["metadata"] == {"session": "s1"}
    assert [(item["user_id"], item["outcome"]) for item in body["feedback"]] == [(None, "negative"), ("u1", "positive")]

    status, _, body = call(invoke, "get_run_feedback")
    assert status == 200
    assert body["run_id"] == "run-1" and [item["comment"] for item in body["items"]] == [None, "Helpful"]


def test_run_of_another_agent_or_unknown_is_404(aws, invoke, store, runs):
    record_run(runs, "run-1", T0, agent="billing-bot")
    vote(store, "run-1", "u1", "positive", T0, agent="billing-bot")
    assert_error(call(invoke, "get_run"), 404, "not_found", "run-1")
    assert_error(call(invoke, "get_run_feedback"), 404, "not_found")
    assert_error(call(invoke, "get_run", path={"run_id": "nope"}), 404, "not_found", "nope")


def test_feedback_outlives_an_expired_run(aws, invoke, store):
    vote(store, "run-1", "u1", "positive", T0)  # the run itself is gone (TTL), its feedback is not
    status, _, body = call(invoke, "get_run_feedback")
    assert status == 200 and len(body["items"]) == 1
    assert_error(call(invoke, "get_run"), 404, "not_found", "kept for 90 days")


# --- summary ------------------------------------------------------------------------------------------


def test_summary_matches_hand_computation(aws, invoke, summary_fixture):
    status, _, body = call(invoke, "feedback_summary")
    assert status == 200, body
    assert (body["since"], body["until"]) == ("2026-11-01T00:00:00.000000Z", "2026-11-08T00:00:00.000000Z")
    # Overall: 6 positive, 4 negative; p = 0.6, Wilson [0.3127, 0.8318] (test_satisfaction: six of ten).
    # Runs created in the window: r1..r10 = 10; of them rated: r1 r2 r3 r5 r7 r9 = 6 (r0 is older) -> 0.6.
    assert body["overall"] == {
        "positive": 6,
        "negative": 4,
        "total": 10,
        "satisfaction": 0.6,
        "interval": {"low": 0.3127, "high": 0.8318},
        "runs": 10,
        "runs_with_feedback": 6,
        "feedback_share": 0.6,
    }
    v2, v1 = body["by_version"]  # most recently rated first
    # v1: 5 of 6. 1 + z²/n = 1.640267; centre = (0.833333 + 0.320133) / 1.640267 = 0.703220
    # half = 1.96 · sqrt(0.0231481 + 0.0266778) / 1.640267 = 1.96 · 0.223217 / 1.640267 = 0.266727
    assert v1["version"] == "v1" and (v1["positive"], v1["negative"], v1["satisfaction"]) == (5, 1, 0.8333)
    assert v1["interval"] == {"low": 0.4365, "high": 0.9699}
    # v2: 1 of 4. 1 + z²/n = 1.9604; centre = (0.25 + 0.4802) / 1.9604 = 0.372475
    # half = 1.96 · sqrt(0.046875 + 0.060025) / 1.9604 = 1.96 · 0.326956 / 1.9604 = 0.326889
    assert v2["version"] == "v2" and (v2["positive"], v2["negative"], v2["satisfaction"]) == (1, 3, 0.25)
    assert v2["interval"] == {"low": 0.0456, "high": 0.6994}
    assert v2["last_feedback_at"] == "2026-11-04T12:00:00.000000Z"
    # The runs index carries version_id: v1 ran r1..r6, of which r1 r2 r3 r5 were rated; v2 ran r7..r10, rated r7 r9.
    assert (v1["runs"], v1["runs_with_feedback"], v1["feedback_share"]) == (6, 4, 0.6667)
    assert (v2["runs"], v2["runs_with_feedback"], v2["feedback_share"]) == (4, 2, 0.5)

    days = {row["day"]: row for row in body["by_day"]}
    assert list(days) == ["2026-11-02", "2026-11-03", "2026-11-04"]
    # 11-02: votes r1u1+ r1u2+ r2u1+ r3- r0u1+ = 4/5; n = 5: centre = 1.18416 / 1.76832 = 0.669653,
    # half = 1.96 · sqrt(0.032 + 0.038416) / 1.76832 = 0.294124 -> [0.3755, 0.9638]; runs r1..r4, rated r1 r2 r3.
    assert days["2026-11-02"] == {
        "day": "2026-11-02",
        "positive": 4,
        "negative": 1,
        "total": 5,
        "satisfaction": 0.8,
        "interval": {"low": 0.3755, "high": 0.9638},
        "runs": 4,
        "runs_with_feedback": 3,
        "feedback_share": 0.75,
    }
    # 11-03: r5u3+ r7u1- r7u2-; runs r5..r8, rated r5 r7.  11-04: r9u1+ r9u4-; runs r9 r10, rated r9.
    assert [days["2026-11-03"][k] for k in ("positive", "negative", "runs", "runs_with_feedback")] == [1, 2, 4, 2]
    assert (days["2026-11-03"]["satisfaction"], days["2026-11-03"]["feedback_share"]) == (0.3333, 0.5)
    assert [days["2026-11-04"][k] for k in ("positive", "negative", "runs", "runs_with_feedback")] == [1, 1, 2, 1]


def test_summary_of_one_version_and_of_an_empty_window(aws, invoke, summary_fixture):
    query = {"since": "2026-11-01", "until": "2026-11-08", "version": "v2"}
    status, _, body = call(invoke, "feedback_summary", query=query)
    assert status == 200
    assert (body["overall"]["positive"], body["overall"]["negative"], body["version"]) == (1, 3, "v2")
    assert [row["version"] for row in body["by_version"]] == ["v2"]
    assert (body["overall"]["runs"], body["overall"]["runs_with_feedback"]) == (4, 2)  # r7..r10; rated r7 r9

    status, _, body = call(invoke, "feedback_summary", query={"since": "2025-01-01", "until": "2025-01-08"})
    assert status == 200
    assert body["overall"]["total"] == 0 and body["overall"]["satisfaction"] is None
    assert body["overall"]["interval"] is None and body["by_version"] == body["by_day"] == []


def test_summary_defaults_to_the_last_30_days_and_refuses_more_than_a_year(aws, invoke, store):
    vote(store, "recent", "u1", "positive", datetime.now(UTC) - timedelta(days=2))
    vote(store, "old", "u1", "negative", datetime.now(UTC) - timedelta(days=40))
    status, _, body = call(invoke, "feedback_summary", query={})
    assert status == 200 and (body["overall"]["positive"], body["overall"]["negative"]) == (1, 0)
    too_long = {"since": "2024-01-01", "until": "2026-01-01"}
    assert_error(call(invoke, "feedback_summary", query=too_long), 422, "validation_error", "366 days")


# --- erase-user ---------------------------------------------------------------------------------------


def test_erase_user_removes_every_entry_of_that_user_in_the_tenant_and_nothing_else(aws, invoke, store):
    vote(store, "run-1", "user-42", "positive", T0, comment="mine")
    vote(store, "run-2", "user-42", "negative", T0 + timedelta(minutes=1))
    vote(store, "run-3", "user-42", "negative", T0, agent="billing-bot")
    vote(store, "run-1", "user-7", "positive", T0)
    vote(store, "run-1", None, "positive", T0)
    vote(store, "run-9", "user-42", "positive", T0, tenant="globex")
    vote(store, "run-4", "user-420", "positive", T0)
    before = {item["pk"]["S"] for item in aws.items()}

    status, _, body = call(invoke, "erase_user")
    assert status == 200, body
    assert body == {"user_id": "user-42", "erased": 3, "runs_erased": 0}
    after = {item["pk"]["S"] for item in aws.items()}
    assert before - after == {"run-1#user-42", "run-2#user-42", "run-3#user-42"}
    assert after == {"run-1#user-7", "run-1#", "run-9#user-42", "run-4#user-420"}
    assert listing(invoke, user_id="user-42")["items"] == []

    assert call(invoke, "erase_user")[2] == {"user_id": "user-42", "erased": 0, "runs_erased": 0}  # safe to repeat


def test_erasing_a_user_gives_their_place_back_to_the_run_user_cap(aws, invoke):
    capped = FeedbackStore(aws.dynamodb, "FeedbackTable", max_users_per_run=2)
    vote(capped, "run-1", "user-42", "positive", T0)
    vote(capped, "run-1", "user-7", "positive", T0)
    with pytest.raises(UserLimitReached):
        vote(capped, "run-1", "user-8", "positive", T0)
    assert call(invoke, "erase_user")[2]["erased"] == 1
    assert aws.user_count("run-1") == 1
    assert vote(capped, "run-1", "user-8", "negative", T0).revision == 1


def test_erase_user_with_reserved_characters_in_the_id(aws, invoke, store):
    user_id = "ana+test@example.com/1"
    vote(store, "run-1", user_id, "positive", T0)
    event = load_event("review/erase_user.json", path={"user_id": user_id})
    event["path"] = event["requestContext"]["resourcePath"] = f"/v1/_/feedback/users/{quote(user_id, safe='')}"
    status, _, body = invoke("review", event)
    assert status == 200, body
    assert body == {"user_id": user_id, "erased": 1, "runs_erased": 0}
    assert aws.items() == []


def test_erase_does_not_log_the_user_id(aws, invoke, store, capsys):
    vote(store, "run-1", "user-42", "positive", T0)
    capsys.readouterr()
    call(invoke, "erase_user")
    assert "user-42" not in capsys.readouterr().out


# --- tenancy ------------------------------------------------------------------------------------------

ROUTES = [
    ("list_feedback", {}),
    ("feedback_summary", {}),
    ("get_run", {}),
    ("get_run_feedback", {}),
    ("erase_user", {}),
    ("request_erasure", {}),
]


@pytest.mark.parametrize(("name", "path"), ROUTES)
def test_every_route_refuses_another_tenant_in_the_path(aws, invoke, store, name, path):
    vote(store, "run-1", "user-42", "positive", T0, tenant="globex")
    assert_error(call(invoke, name, path={**path, "tenant": "globex"}), 403, "forbidden", "globex")
    assert len(aws.items()) == 1  # nothing erased


@pytest.mark.parametrize(("name", "path"), ROUTES)
def test_every_route_needs_the_authorizer_tenant(aws, invoke, name, path):
    event = load_event(f"review/{name}.json")
    event["requestContext"]["authorizer"] = {}
    assert_error(invoke("review", event), 401, "unauthorized")


@pytest.mark.parametrize("path_tenant", ["_", "acme"])
def test_every_route_sees_only_the_callers_tenant(aws, invoke, store, runs, path_tenant):
    # globex has the same agent, run ids and user ids; acme has nothing at all.
    record_run(runs, "run-1", T0, tenant="globex")
    vote(store, "run-1", "user-42", "negative", T0, comment="globex secret", tenant="globex")
    path = {"tenant": path_tenant}
    assert call(invoke, "list_feedback", path=path)[2] == {"items": [], "next_cursor": None}
    summary = call(invoke, "feedback_summary", path=path)[2]
    assert summary["overall"]["total"] == 0 and summary["overall"]["runs"] == 0
    assert_error(call(invoke, "get_run", path=path), 404, "not_found")
    assert_error(call(invoke, "get_run_feedback", path=path), 404, "not_found")
    assert call(invoke, "erase_user", path=path)[2] == {"user_id": "user-42", "erased": 0, "runs_erased": 0}
    assert call(invoke, "request_erasure", path=path)[2] == {"user_id": "user-42", "erased": 0, "runs_erased": 0}
    assert len(aws.items()) == 1

    # ... and the same requests made with globex's key see globex's data.
    assert len(call(invoke, "list_feedback", tenant="globex")[2]["items"]) == 1
    assert call(invoke, "get_run", tenant="globex")[0] == 200
    assert call(invoke, "erase_user", tenant="globex")[2]["erased"] == 1


def test_unknown_route_is_404_json(aws, invoke):
    event = load_event("review/list_feedback.json")
    event["path"] = "/v1/_/agents/support-bot/nothing"
    assert_error(invoke("review", event), 404, "not_found")


def test_a_run_is_found_by_any_spelling_of_its_uuid(aws, invoke, store, runs):
    run_id = "0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b"
    record_run(runs, run_id, T0)
    vote(store, run_id, "u1", "positive", T0)
    for spelling in (run_id.upper(), "{" + run_id + "}", "urn:uuid:" + run_id, run_id.replace("-", "")):
        status, _, body = call(invoke, "get_run", path={"run_id": spelling})
        assert status == 200 and body["id"] == run_id, spelling
        status, _, body = call(invoke, "get_run_feedback", path={"run_id": spelling})
        assert status == 200 and body["run_id"] == run_id and len(body["items"]) == 1, spelling
