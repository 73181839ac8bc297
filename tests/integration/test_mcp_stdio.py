"""`feedbackctl mcp`: the same tools over stdio, started and driven by the MCP SDK's own stdio client, reading the
local stack's review API with the CLI's URL and key (data: tests/integration/mcp_data.py)."""

from __future__ import annotations

import subprocess
import sys

from mcp import StdioServerParameters

from tests.integration.mcp_data import AGENT, CHAT_AGENT, seeded
from tests.mcp_client import call, error_text, over_stdio, structured

__all__ = ["seeded"]  # the module-scoped fixture this file's tests share


def server(api_url: str, api_key: str) -> StdioServerParameters:
    return StdioServerParameters(
        command=sys.executable,
        args=["-m", "feedbackctl", "mcp", "--api-url", api_url],
        env={"FEEDBACK_API_KEY": api_key},
    )


def test_stdio_server_lists_and_calls_every_tool(stack, seeded):
    params = server(stack.base_url, seeded.key)

    async def script(session):
        tools = (await session.list_tools()).tools
        results = {
            "list_agents": await session.call_tool("list_agents", {}),
            "list_feedback": await session.call_tool("list_feedback", {"agent_id": AGENT, "search": "city"}),
            "feedback_summary": await session.call_tool("feedback_summary", {"agent_id": AGENT}),
            "get_run": await session.call_tool("get_run", {"agent_id": AGENT, "run_id": seeded.runs[1]}),
            "negative_comments": await session.call_tool("negative_comments", {"agent_id": AGENT}),
            "compare_versions": await session.call_tool(
                "compare_versions", {"agent_id": AGENT, "base": seeded.version, "candidate": "0" * 32}
            ),
        }
        return tools, results

    tools, results = over_stdio(params, script)
    assert {tool.name for tool in tools} == set(results)
    assert all(tool.annotations.read_only_hint for tool in tools)
    assert [agent["id"] for agent in structured(results["list_agents"])["agents"]] == [AGENT, CHAT_AGENT]
    assert [item["run_id"] for item in structured(results["list_feedback"])["items"]] == [seeded.runs[0]]
    assert structured(results["feedback_summary"])["overall"]["total"] == 3
    assert structured(results["get_run"])["feedback"][0]["comment"] == "Spot on"
    assert [c["run_id"] for c in structured(results["negative_comments"])["comments"]] == [seeded.runs[0]]
    comparison = structured(results["compare_versions"])
    assert (comparison["base"]["total"], comparison["candidate"]["total"]) == (3, 0) and comparison["verdict"]


def test_stdio_tools_refuse_as_the_api_does(stack, seeded):
    async def script(session):
        unknown = await session.call_tool("feedback_summary", {"agent_id": "no-such-agent"})
        bad_time = await session.call_tool("list_feedback", {"agent_id": AGENT, "until": "soon"})
        return unknown, bad_time

    unknown, bad_time = over_stdio(server(stack.base_url, seeded.key), script)
    assert unknown.is_error and "Unknown agent 'no-such-agent'" in error_text(unknown)
    assert bad_time.is_error and "422" in error_text(bad_time) and "ISO 8601" in error_text(bad_time)


def test_stdio_with_an_unknown_key_answers_tool_errors_naming_the_key(stack):
    result = over_stdio(server(stack.base_url, "afk_not-a-key"), call("list_agents"))
    assert result.is_error and "401" in error_text(result) and "FEEDBACK_API_KEY" in error_text(result)


def test_stdio_without_a_key_stops_at_once_and_says_how_to_set_one(stack):
    completed = subprocess.run(
        [sys.executable, "-m", "feedbackctl", "mcp", "--api-url", stack.base_url],
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 2
    assert completed.stdout == ""
    assert "FEEDBACK_API_KEY" in completed.stderr
