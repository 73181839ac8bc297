"""The MCP server on Lambda behind API Gateway (REST): Streamable HTTP, stateless, JSON responses, via Mangum.

A Lambda container serves one invocation at a time and keeps nothing between them that a client could rely on,
so the server runs stateless (no session id, every POST complete in itself) and answers plain JSON rather than
an SSE stream (API Gateway REST buffers the response anyway). The MCPServer and its tools are built once per
container; the Starlette app and its session manager are built per invocation, because a session manager runs
once only and Mangum enters the app's lifespan on every call (python-sdk issue 3121). Each invocation also gets
its own event loop, closed when it ends, so that nothing of one request outlives it.

The tenant comes from the API-key authorizer's context (`requestContext.authorizer.tenant`), never from the
request: a tool call can only read the tenant of the key that made it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

from mangum import Mangum
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.transport_security import TransportSecuritySettings

from agentfeedback.core.http_api import MAX_BODY_BYTES
from agentfeedback.mcp.backend import ReviewBackend
from agentfeedback.mcp.server import build_server
from agentfeedback.mcp.tools import ToolFailure

MCP_PATH = "/mcp"
# What every response of the API says (core.http_api does the same for the other functions).
STANDARD_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}
# API Gateway checks the Host and the API key before a request arrives, so the SDK's DNS-rebinding guard (for
# servers on localhost without authentication) has nothing to add, and would refuse the API's own host name.
_BEHIND_API_GATEWAY = TransportSecuritySettings(enable_dns_rebinding_protection=False)

for _name in ("mcp", "mangum"):
    # Their INFO lines (session manager started, POST /mcp 200) repeat on every invocation.
    logging.getLogger(_name).setLevel(logging.WARNING)


def tenant_of(event: Mapping[str, Any]) -> str | None:
    """The tenant the API-key authorizer put in the event, or None."""
    authorizer = (event.get("requestContext") or {}).get("authorizer") or {}
    tenant = authorizer.get("tenant")
    return str(tenant) if tenant else None


def method_not_allowed() -> dict[str, Any]:
    """405 for GET and DELETE: a stateless server has no event stream to open (the transport's spec answers a GET
    it cannot stream with 405) and no session to end; the SDK would hold a GET open until the function timed out."""
    body = {
        "jsonrpc": "2.0",
        "id": None,
        "error": {"code": -32600, "message": "Method not allowed: this MCP server is stateless; send POST /mcp."},
    }
    headers = {"Content-Type": "application/json", "Allow": "POST", **STANDARD_HEADERS}
    return {"statusCode": 405, "headers": headers, "body": json.dumps(body), "isBase64Encoded": False}


class LambdaMcpEndpoint:
    """Serves `POST /mcp` (and answers GET/DELETE as a stateless server does) for API Gateway proxy events."""

    def __init__(self, backend_for_tenant: Callable[[str], ReviewBackend]) -> None:
        self._backend_for_tenant = backend_for_tenant
        self._server: MCPServer = build_server(self._backend_of_request)

    def _backend_of_request(self, ctx: Context) -> ReviewBackend:
        request = ctx.request_context.request
        event = getattr(request, "scope", {}).get("aws.event") or {}
        tenant = tenant_of(event)
        if tenant is None:
            raise ToolFailure("Missing or invalid API key: send Authorization: Bearer <key>.")
        return self._backend_for_tenant(tenant)

    def handle(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        """One API Gateway proxy event -> its proxy response (JSON-RPC over Streamable HTTP)."""
        if str(event.get("httpMethod", "")).upper() != "POST":
            return method_not_allowed()
        app = self._server.streamable_http_app(
            streamable_http_path=MCP_PATH,
            json_response=True,
            stateless_http=True,
            transport_security=_BEHIND_API_GATEWAY,
            max_request_body_size=MAX_BODY_BYTES,
        )
        # This function serves one resource: its path, whatever stage or custom-domain base path came before it.
        event = {**event, "path": MCP_PATH}
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            response = Mangum(app, lifespan="auto")(event, context)
        finally:
            asyncio.set_event_loop(None)
            loop.close()
        response["statusCode"] = int(response["statusCode"])
        response["headers"] = {**(response.get("headers") or {}), **STANDARD_HEADERS}
        return response
