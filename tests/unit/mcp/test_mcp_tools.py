"""What the tools answer over the in-process backend (moto): paging, comment search, truncation, refusals."""

from __future__ import annotations

import pytest

from agentfeedback.mcp import tools
from agentfeedback.mcp.backend import FeedbackQuery
from tests.unit.mcp.conftest import AGENT


def every_page(backend, limit, query=None, search=None):
    pages, cursor = [], None
    while True:
        page = tools.list_feedback(backend, AGENT, query or FeedbackQuery(), search, limit, cursor)
        pages.append(page)
        cursor = page["next_cursor"]
        if cursor is None:
            return pages


def test_paging_hands_out_every_entry_once_newest_first(data, backend):
    for minute in range(7):
        data.vote(f"run-{minute}", "positive", minute)
    pages = every_page(backend, limit=3)
    run_ids = [item["run_id"] for page in pages for item in page["items"]]
    assert run_ids == [f"run-{minute}" for minute in reversed(range(7))]
    assert all("cursor=next_cursor" in page["note"] for page in pages[:-1])


def test_search_reads_older_pages_and_resumes_mid_page_without_loss(data, backend, monkeypatch):
    # 150 commented entries: every 20th mentions a refund, so matches sit on both review-API pages (100 + 50).
    expected = []
    for minute in range(150):
        refund = minute % 20 == 7
        data.vote(f"run-{minute:03}", "negative", minute, comment=("Where is my REFUND?" if refund else "meh"))
        if refund:
            expected.append(f"run-{minute:03}")
    expected.reverse()
    pages = every_page(backend, limit=3, search="refund")
    found = [item["run_id"] for page in pages for item in page["items"]]
    assert found == expected
    assert all(len(page["items"]) == 3 for page in pages[:-1])


def test_search_stops_after_its_page_budget_with_a_cursor_to_go_on(data, backend, monkeypatch):
    monkeypatch.setattr(tools, "SEARCH_PAGE", 2)
    monkeypatch.setattr(tools, "MAX_PAGES_PER_CALL", 3)
    for minute in range(10):
        data.vote(f"run-{minute}", "negative", minute, comment="needle" if minute == 0 else "hay")
    first = tools.list_feedback(backend, AGENT, FeedbackQuery(), "needle", 5, None)
    assert first["items"] == [] and first["next_cursor"]
    assert "Searched 3 pages" in first["note"]
    second = tools.list_feedback(backend, AGENT, FeedbackQuery(), "needle", 5, first["next_cursor"])
    assert [item["run_id"] for item in second["items"]] == ["run-0"] and second["next_cursor"] is None


def test_long_comments_are_cut_and_say_so(data, backend):
    data.vote("run-1", "negative", 0, comment="x" * 1_200)
    page = tools.list_feedback(backend, AGENT, FeedbackQuery(), None, 10, None)
    (item,) = page["items"]
    assert item["comment"] == "x" * tools.COMMENT_CHARS + "…" and item["comment_chars"] == 1_200
    assert "get_run" in page["note"]


def test_negative_comments_keep_only_commented_thumbs_down_of_the_version(data, backend):
    data.vote("run-1", "negative", 0, comment="Wrong answer", version="v1")
    data.vote("run-2", "negative", 1, version="v1")
    data.vote("run-3", "positive", 2, comment="Great", version="v1")
    data.vote("run-4", "negative", 3, comment="Other version", version="v2")
    data.vote("run-5", "negative", 4, comment="Too long", version="v1")
    result = tools.negative_comments(backend, AGENT, "v1", None, None, 10, None)
    assert [(c["run_id"], c["comment"]) for c in result["comments"]] == [
        ("run-5", "Too long"),
        ("run-1", "Wrong answer"),
    ]
    everything = tools.negative_comments(backend, AGENT, None, None, None, 10, None)
    assert [c["run_id"] for c in everything["comments"]] == ["run-5", "run-4", "run-1"]


def test_get_run_cuts_large_parts_to_max_chars(data, backend):
    data.run("run-big", task_input={"text": "y" * 5_000})
    data.vote("run-big", "negative", 1, comment="z" * 300, user_id="u1")
    small = tools.get_run(backend, AGENT, "run-big", 200)
    assert small["task_input"]["chars"] > 5_000 and len(small["task_input"]["truncated_json"]) == 201
    assert small["task_output"] == {"answer": "On its way."}
    assert small["feedback"][0]["comment_chars"] == 300
    assert "larger max_chars" in small["note"]
    whole = tools.get_run(backend, AGENT, "run-big", tools.MAX_RUN_CHARS)
    assert whole["task_input"] == {"text": "y" * 5_000} and "note" not in whole


def test_summary_shows_the_latest_days_and_says_how_to_see_more(data, backend):
    for day in range(5):
        data.vote(f"run-{day}", "positive" if day % 2 else "negative", day * 24 * 60)
    summary = tools.feedback_summary(backend, AGENT, "2026-11-01", "2026-11-10", None, 2)
    assert [day["day"] for day in summary["by_day"]] == ["2026-11-05", "2026-11-06"]
    assert "latest 2 of 5 days" in summary["note"]
    assert summary["overall"]["total"] == 5 and summary["overall"]["interval"] is not None


def test_an_agent_with_no_data_and_no_directory_entry_is_unknown(data, backend):
    with pytest.raises(tools.ToolFailure, match=r"Unknown agent 'ghost'.*list_agents"):
        tools.list_feedback(backend, "ghost", FeedbackQuery(), None, 10, None)
    with pytest.raises(tools.ToolFailure, match="Unknown agent 'ghost'"):
        tools.feedback_summary(backend, "ghost", None, None, None, 14)
    data.run("run-1", agent="quiet")  # known (it ran), with no feedback yet: an empty answer, not an error
    assert tools.list_feedback(backend, "quiet", FeedbackQuery(), None, 10, None)["items"] == []


@pytest.mark.parametrize("cursor", ["%%%", "bm90LWpzb24", "eyJhIjpudWxsLCJzIjo1LCJuIjoyfQ", "W10"])
def test_a_cursor_this_tool_did_not_return_is_refused(backend, cursor):
    with pytest.raises(tools.ToolFailure, match="not one this tool returned"):
        tools.list_feedback(backend, AGENT, FeedbackQuery(), None, 10, cursor)


def test_refusals_carry_the_apis_message(backend):
    with pytest.raises(tools.ToolFailure, match="since must be earlier than until"):
        tools.list_feedback(backend, AGENT, FeedbackQuery(since="2026-11-05", until="2026-11-01"), None, 10, None)
    with pytest.raises(tools.ToolFailure, match="No run 'run-x' of agent"):
        tools.get_run(backend, AGENT, "run-x", 1_000)
