"""The MCP SDK's own client, for the tests: one session over Streamable HTTP or stdio, driven synchronously.

`over_http(url, key, script)` and `over_stdio(params, script)` open a session, call `initialize`, run
`await script(session)` and return what it returns. Tool results come back as the SDK's CallToolResult.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import anyio
import httpx2
from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

T = TypeVar("T")
Script = Callable[[ClientSession], Awaitable[T]]
TIMEOUT_SECONDS = 60


def over_http(url: str, api_key: str | None, script: Script[T]) -> T:
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}

    async def main() -> T:
        with anyio.fail_after(TIMEOUT_SECONDS):
            async with (
                httpx2.AsyncClient(headers=headers, timeout=TIMEOUT_SECONDS) as http,
                streamable_http_client(url, http_client=http) as (read, write),
                ClientSession(read, write) as session,
            ):
                await session.initialize()
                return await script(session)

    return anyio.run(main)


def over_stdio(params: StdioServerParameters, script: Script[T]) -> T:
    async def main() -> T:
        with anyio.fail_after(TIMEOUT_SECONDS):
            async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
                await session.initialize()
                return await script(session)

    return anyio.run(main)


def call(name: str, **arguments: Any) -> Script[Any]:
    """A script that calls one tool and returns its CallToolResult."""

    async def script(session: ClientSession) -> Any:
        return await session.call_tool(name, arguments)

    return script


def structured(result: Any) -> dict[str, Any]:
    """A successful tool result's JSON (its structured content, which its text content repeats)."""
    assert not result.is_error, error_text(result)
    assert json.loads(result.content[0].text) == result.structured_content
    return dict(result.structured_content)


def error_text(result: Any) -> str:
    return " ".join(getattr(part, "text", "") for part in result.content)
