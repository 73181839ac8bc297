"""The MCP server (the official MCP Python SDK's MCPServer): six read-only tools over a ReviewBackend.

`build_server(backend_for)` registers the tools once; `backend_for(ctx)` gives each call the backend of its
request: in Lambda the tenant of the request's API key (agentfeedback.mcp.lambda_http), over stdio the one
backend of the process. The tools' descriptions are what an assistant reads to choose and call them.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import ToolAnnotations
from pydantic import Field

from agentfeedback.core.ids import AGENT_ID_REGEX, MAX_USER_ID_CHARS
from agentfeedback.mcp import tools
from agentfeedback.mcp.backend import FeedbackQuery, ReviewBackend

SERVER_NAME = "agent-feedback"
INSTRUCTIONS = """\
Read the end-user feedback (thumbs up or down, optional comment) collected on this tenant's AI agent runs.
Start with list_agents; feedback_summary gives satisfaction per version and day; negative_comments and
list_feedback show what users said, each with its run_id; get_run shows a run's input, output and feedback;
compare_versions says whether a new version is really better.
Every tool is read-only. Times are ISO 8601 (UTC unless an offset is given)."""

# Read-only, repeatable, and closed-world: the tools read this tenant's stored feedback and nothing else.
READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False)

AgentId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        pattern=AGENT_ID_REGEX,
        description="The agent's id, as list_agents shows it (e.g. support-bot).",
    ),
]
Version = Annotated[
    str | None,
    Field(min_length=1, max_length=64, description="An agent version id (as in the `version` of an entry)."),
]
Since = Annotated[
    str | None,
    Field(max_length=40, description="Only entries created at or after this ISO 8601 date or time (UTC by default)."),
]
Until = Annotated[
    str | None, Field(max_length=40, description="Only entries created before this ISO 8601 date or time.")
]
# Summaries and comparisons count whole UTC days (the aggregates are per day).
DaysSince = Annotated[
    str | None,
    Field(
        max_length=40,
        description="Start of the window, taken back to its UTC midnight (default: 30 days before until).",
    ),
]
DaysUntil = Annotated[
    str | None,
    Field(
        max_length=40,
        description="End of the window (exclusive), taken forward to the next UTC midnight (default: end of today).",
    ),
]
Cursor = Annotated[
    str | None,
    Field(
        min_length=1,
        max_length=tools.CURSOR_CHARS,
        description="next_cursor from the previous call (same agent and filters), to read the next page.",
    ),
]
Limit = Annotated[int, Field(ge=1, le=100, description="Entries per page (1-100).")]

BackendFor = Callable[[Context], ReviewBackend]


def _answer(produce: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    try:
        return produce()
    except tools.ToolFailure as failure:
        raise ToolError(str(failure)) from None


def build_server(backend_for: BackendFor) -> MCPServer:
    """The MCP server with its tools; `backend_for(ctx)` gives the backend of one tool call's request."""
    server: MCPServer = MCPServer(SERVER_NAME, instructions=INSTRUCTIONS, log_level="WARNING")

    def tool(title: str) -> Callable[[Callable[..., dict[str, Any]]], Callable[..., dict[str, Any]]]:
        def register(function: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
            # The docstring is the description an assistant reads (3.11 and 3.12 keep its indentation).
            description = inspect.cleandoc(function.__doc__ or "")
            server.add_tool(function, title=title, description=description, annotations=READ_ONLY)
            return function

        return register

    @tool("List agents")
    def list_agents(
        ctx: Context,
        limit: Annotated[int, Field(ge=1, le=100, description="Agents per page (1-100).")] = 50,
        cursor: Annotated[
            str | None, Field(min_length=1, max_length=64, description="next_cursor from the previous call.")
        ] = None,
    ) -> dict[str, Any]:
        """List the agents of this tenant (id, and when it was first registered or run), in id order. Use an
        agent's id with the other tools."""
        return _answer(lambda: tools.list_agents(backend_for(ctx), limit, cursor))

    @tool("List feedback")
    def list_feedback(
        ctx: Context,
        agent_id: AgentId,
        outcome: Annotated[
            Literal["positive", "negative"] | None, Field(description="Only thumbs up, or only thumbs down.")
        ] = None,
        version: Version = None,
        since: Since = None,
        until: Until = None,
        user_id: Annotated[
            str | None,
            Field(min_length=1, max_length=4 * MAX_USER_ID_CHARS, description="Only this end user's feedback."),
        ] = None,
        has_comment: Annotated[
            bool | None, Field(description="true: only entries with a comment; false: only those without.")
        ] = None,
        search: Annotated[
            str | None,
            Field(
                min_length=1,
                max_length=200,
                description="Only entries whose comment contains this text (case-insensitive).",
            ),
        ] = None,
        limit: Limit = 20,
        cursor: Cursor = None,
    ) -> dict[str, Any]:
        """List an agent's end-user feedback, newest first: outcome, comment, user, version, date and the run_id
        (pass it to get_run). Filter by outcome, version, time, user, comment presence or a text in the comment;
        page with cursor. Comments are cut at 500 characters."""
        query = FeedbackQuery(
            outcome=outcome, version=version, since=since, until=until, user_id=user_id, has_comment=has_comment
        )
        return _answer(lambda: tools.list_feedback(backend_for(ctx), agent_id, query, search, limit, cursor))

    @tool("Feedback summary")
    def feedback_summary(
        ctx: Context,
        agent_id: AgentId,
        since: DaysSince = None,
        until: DaysUntil = None,
        version: Version = None,
        days: Annotated[
            int, Field(ge=1, le=366, description="How many of the latest days to show per day (1-366).")
        ] = tools.DEFAULT_SUMMARY_DAYS,
    ) -> dict[str, Any]:
        """Satisfaction of an agent over a window of whole UTC days (default: the 30 days ending today): overall,
        per version (most recently rated first) and per UTC day, each with positive and negative counts,
        satisfaction = positive / (positive + negative), its 95% Wilson interval, and how many runs got
        feedback. Compare versions here; read the reasons with negative_comments."""
        return _answer(lambda: tools.feedback_summary(backend_for(ctx), agent_id, since, until, version, days))

    @tool("Get run")
    def get_run(
        ctx: Context,
        agent_id: AgentId,
        run_id: Annotated[
            str, Field(min_length=1, max_length=128, description="The run's id (run_id of a feedback entry).")
        ],
        max_chars: Annotated[
            int,
            Field(
                ge=100,
                le=tools.MAX_RUN_CHARS,
                description="Longest input, output or comment shown before it is cut (100-20000).",
            ),
        ] = tools.DEFAULT_RUN_CHARS,
    ) -> dict[str, Any]:
        """One run of an agent: its input, its output, the version (model, instructions) it ran with, cost,
        duration, and every end-user feedback on it. Use it to see what a user was reacting to."""
        return _answer(lambda: tools.get_run(backend_for(ctx), agent_id, run_id, max_chars))

    @tool("Negative comments")
    def negative_comments(
        ctx: Context,
        agent_id: AgentId,
        version: Annotated[
            str | None,
            Field(min_length=1, max_length=64, description="Only this version's comments (default: every version)."),
        ] = None,
        since: Since = None,
        until: Until = None,
        limit: Limit = 20,
        cursor: Cursor = None,
    ) -> dict[str, Any]:
        """The thumbs-down comments on an agent (or one version of it), newest first, each with its run_id: what
        users disliked, to improve the agent's instructions. Page with cursor."""
        return _answer(
            lambda: tools.negative_comments(backend_for(ctx), agent_id, version, since, until, limit, cursor)
        )

    @tool("Compare versions")
    def compare_versions(
        ctx: Context,
        agent_id: AgentId,
        base: Annotated[
            str,
            Field(
                min_length=1,
                max_length=64,
                description="The version to compare against: a saved number or a version id.",
            ),
        ],
        candidate: Annotated[
            str,
            Field(min_length=1, max_length=64, description="The version to judge: a saved number or a version id."),
        ],
        since: DaysSince = None,
        until: DaysUntil = None,
    ) -> dict[str, Any]:
        """Whether a candidate version of an agent satisfies users better than a base version, with real
        statistics over current votes of the window's whole UTC days: each version's counts and satisfaction
        with its 95% Wilson interval, the difference with its 95% interval (Newcombe), a two-sided p-value
        (Fisher's exact test for small counts, else a two-proportion z-test), the votes each needs to detect
        that difference at 80% power, and a one-line verdict. Use after a canary split; read reasons with
        negative_comments."""
        return _answer(lambda: tools.compare_versions(backend_for(ctx), agent_id, base, candidate, since, until))

    return server
