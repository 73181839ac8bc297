"""`feedbackctl mcp`: the MCP server's read-only review tools over stdio, for desktop MCP clients."""

from __future__ import annotations

import click

from feedbackctl.errors import UserError
from feedbackctl.http_client import NO_KEY_HINT
from feedbackctl.options import Command, api_url_option, connect


@click.command("mcp", cls=Command, short_help="serve the MCP tools over stdio, for desktop MCP clients")
@api_url_option
def mcp_command(api_url: str | None) -> None:
    """Run the MCP server on stdin/stdout (an MCP client starts it): the read-only review tools
    (list_agents, list_feedback, feedback_summary, get_run, negative_comments) over the review API at the
    CLI's base URL, with the key in $FEEDBACK_API_KEY. Nothing else is printed on stdout.

    \b
    Examples:
      $ feedbackctl mcp
      $ feedbackctl mcp --api-url https://abc123.execute-api.eu-west-1.amazonaws.com/prod
    """
    client = connect(api_url)
    if not client.has_key:
        raise UserError(NO_KEY_HINT)
    from feedbackctl.mcp_stdio import serve_stdio

    serve_stdio(client)


COMMANDS = [mcp_command]
