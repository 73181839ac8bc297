"""The MCP server at /mcp on the local stack, through the MCP SDK's own Streamable HTTP client, over real HTTP.

Every tool is called on data made through the API (tests/integration/mcp_data.py); errors are tool errors; a
missing or unknown key is a 401, and another tenant's key reads nothing of this one.
"""

from __future__ import annotations

import pytest
import requests

from tests.integration.mcp_data import AGENT, CHAT_AGENT, TIMEOUT, seeded
from tests.mcp_client import call, error_text, over_http, structured

TOOLS = {"list_agents", "list_feedback", "feedback_summary", "get_run", "negative_comments", "compare_versions"}
__all__ = ["seeded"]  # the module-scoped fixture this file's tests share


def test_initialize_names_the_server_and_says_how_to_start(seeded):
    async def script(session):
        return session.initialize_result

    result = over_http(seeded.url, seeded.key, script)
    assert result.server_info.name == "agent-feedback"
    assert "list_agents" in result.instructions


def test_lists_the_six_read_only_tools_with_descriptions(seeded):
    async def script(session):
        return (await session.list_tools()).tools

    tools = {tool.name: tool for tool in over_http(seeded.url, seeded.key, script)}
    assert set(tools) == TOOLS
    for tool in tools.values():
        assert tool.annotations.read_only_hint is True and tool.annotations.destructive_hint is False
        assert len(tool.description) > 80 and "\n        " not in tool.description
    arguments = set(tools["list_feedback"].input_schema["properties"])
    assert {
        "agent_id",
        "outcome",
        "version",
        "since",
        "until",
        "user_id",
        "has_comment",
        "search",
        "cursor",
    } <= arguments


def test_list_agents_shows_registered_and_chat_agents_of_the_keys_tenant_only(seeded):
    agents = structured(over_http(seeded.url, seeded.key, call("list_agents")))["agents"]
    assert [agent["id"] for agent in agents] == [AGENT, CHAT_AGENT]
    assert all(agent["created_at"].endswith("Z") for agent in agents)
    other = structured(over_http(seeded.url, seeded.other_key, call("list_agents")))
    assert other["agents"] == [] and "no agents" in other["note"]


def test_list_feedback_filters_searches_and_pages_without_loss(seeded):
    first, second, third = seeded.runs
    negative = structured(over_http(seeded.url, seeded.key, call("list_feedback", agent_id=AGENT, outcome="negative")))
    assert [item["run_id"] for item in negative["items"]] == [third, first]

    found = structured(over_http(seeded.url, seeded.key, call("list_feedback", agent_id=AGENT, search="city")))
    assert [(item["run_id"], item["comment"]) for item in found["items"]] == [(first, "Wrong CITY, and slow.")]

    seen, cursor = [], None
    for _ in range(4):
        arguments = {"agent_id": AGENT, "limit": 2} | ({"cursor": cursor} if cursor else {})
        page = structured(over_http(seeded.url, seeded.key, call("list_feedback", **arguments)))
        seen += [item["run_id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [third, second, first]


def test_feedback_summary_gives_satisfaction_with_its_interval(seeded):
    summary = structured(over_http(seeded.url, seeded.key, call("feedback_summary", agent_id=AGENT)))
    overall = summary["overall"]
    assert (overall["positive"], overall["negative"], overall["total"]) == (1, 2, 3)
    assert overall["satisfaction"] == pytest.approx(1 / 3, abs=1e-4)
    assert 0 < overall["interval"]["low"] < overall["satisfaction"] < overall["interval"]["high"] < 1
    assert [version["version"] for version in summary["by_version"]] == [seeded.version]
    assert "Wilson" in summary["note"]


UNUSED_VERSION = "0" * 32  # a version id no run used: no votes


def test_compare_versions_gives_counts_intervals_test_and_verdict(seeded):
    result = structured(
        over_http(
            seeded.url,
            seeded.key,
            call("compare_versions", agent_id=AGENT, base=seeded.version, candidate=UNUSED_VERSION),
        )
    )
    base, candidate = result["base"], result["candidate"]
    assert (base["version_id"], base["positive"], base["negative"], base["total"]) == (seeded.version, 1, 2, 3)
    assert (candidate["version_id"], candidate["total"]) == (UNUSED_VERSION, 0)
    assert base["satisfaction"] == pytest.approx(1 / 3, abs=1e-4)
    # A version without votes: no difference or test yet, and the verdict says so.
    assert result["difference"] is None and result["significance"] is None and result["verdict"]


def test_compare_versions_refuses_bad_arguments_as_tool_errors(seeded):
    same = over_http(
        seeded.url, seeded.key, call("compare_versions", agent_id=AGENT, base=seeded.version, candidate=seeded.version)
    )
    assert same.is_error and "same version" in error_text(same)
    unknown = over_http(seeded.url, seeded.key, call("compare_versions", agent_id=AGENT, base="99", candidate="1"))
    assert unknown.is_error and error_text(unknown)
    word = over_http(seeded.url, seeded.key, call("compare_versions", agent_id=AGENT, base="latest", candidate="1"))
    assert word.is_error and "version number" in error_text(word)


def test_get_run_shows_input_output_version_cost_and_feedback(seeded):
    run = structured(over_http(seeded.url, seeded.key, call("get_run", agent_id=AGENT, run_id=seeded.runs[0])))
    assert run["task_input"] == {"city": "City 0"}
    assert isinstance(run["task_output"]["answer"], str)
    assert run["version"]["properties"]["model"] == "offline" and run["cost_usd"] == 0
    assert [(item["outcome"], item["comment"]) for item in run["feedback"]] == [("negative", "Wrong CITY, and slow.")]


def test_negative_comments_lists_commented_thumbs_down_with_run_ids(seeded):
    result = structured(
        over_http(seeded.url, seeded.key, call("negative_comments", agent_id=AGENT, version=seeded.version))
    )
    assert result["comments"] == [
        {
            "run_id": seeded.runs[0],
            "comment": "Wrong CITY, and slow.",
            "version": seeded.version,
            "created_at": result["comments"][0]["created_at"],
        }
    ]


@pytest.mark.parametrize(
    ("tool", "arguments", "message"),
    [
        ("list_feedback", {"agent_id": "no-such-agent"}, "Unknown agent 'no-such-agent'"),
        ("feedback_summary", {"agent_id": "no-such-agent"}, "Unknown agent 'no-such-agent'"),
        ("list_feedback", {"agent_id": AGENT, "limit": 0}, "limit"),
        ("list_feedback", {"agent_id": "Not An Id"}, "agent_id"),
        ("list_feedback", {"agent_id": AGENT, "since": "last tuesday"}, "ISO 8601"),
        ("list_feedback", {"agent_id": AGENT, "cursor": "bm90LWEtY3Vyc29y"}, "cursor"),
        ("get_run", {"agent_id": AGENT, "run_id": "0190d2a4-0000-7000-8000-000000000000"}, "No run"),
        ("get_run", {"agent_id": AGENT}, "run_id"),
        ("no_such_tool", {}, "no_such_tool"),
    ],
)
def test_bad_arguments_and_unknown_things_are_tool_errors_with_a_clear_message(seeded, tool, arguments, message):
    result = over_http(seeded.url, seeded.key, call(tool, **arguments))
    assert result.is_error
    assert message in error_text(result)


def test_another_tenants_key_reads_nothing_of_this_tenant(seeded):
    listed = over_http(seeded.url, seeded.other_key, call("list_feedback", agent_id=AGENT))
    assert listed.is_error and "Unknown agent" in error_text(listed)
    run = over_http(seeded.url, seeded.other_key, call("get_run", agent_id=AGENT, run_id=seeded.runs[0]))
    assert run.is_error and "No run" in error_text(run)


@pytest.mark.parametrize("authorization", [None, "Bearer afk_not-a-key", "Basic abc"])
def test_missing_or_unknown_key_is_a_401(stack, authorization):
    headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
    if authorization:
        headers["Authorization"] = authorization
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    response = requests.post(f"{stack.base_url}/mcp", json=body, headers=headers, timeout=TIMEOUT)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


def test_responses_are_plain_json_without_a_session(seeded):
    headers = {
        "Authorization": f"Bearer {seeded.key}",
        "Accept": "application/json, text/event-stream",
        "Content-Type": "application/json",
        "Mcp-Protocol-Version": "2025-06-18",
    }
    body = {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "list_agents", "arguments": {}}}
    response = requests.post(seeded.url, json=body, headers=headers, timeout=TIMEOUT)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    assert "Mcp-Session-Id" not in response.headers
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.json()["result"]["structuredContent"]["agents"][0]["id"] == AGENT


def test_get_is_a_405_at_once_not_a_held_open_stream(seeded):
    headers = {"Authorization": f"Bearer {seeded.key}", "Accept": "text/event-stream"}
    response = requests.get(seeded.url, headers=headers, timeout=TIMEOUT)
    assert response.status_code == 405 and response.headers["Allow"] == "POST"
