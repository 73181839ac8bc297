"""`feedbackctl mcp`: the MCP server over stdio, for desktop MCP clients, reading through the review API.

The tools are the ones the deployed `/mcp` endpoint serves (agentfeedback.mcp.server); here their backend is an
HTTP client of the review API with the CLI's base URL and API key, so they read the key's tenant, as over HTTP.
Nothing is written to stdout but the protocol; the MCP SDK logs to stderr.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from agentfeedback.mcp.backend import FeedbackQuery, ReviewRefused
from feedbackctl.http_client import ApiClientError, FeedbackApiClient, path


class ApiReviewBackend:
    """agentfeedback.mcp.backend.ReviewBackend over the review API (`_`: the key's own tenant)."""

    def __init__(self, client: FeedbackApiClient) -> None:
        self._client = client

    def _get(self, url_path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        try:
            answer: dict[str, Any] = self._client.get(url_path, params)
        except ApiClientError as error:
            raise ReviewRefused(str(error)) from error
        return answer

    def list_agents(self, limit: int, cursor: str | None) -> dict[str, Any]:
        return self._get(path("v1", "_", "agents"), {"limit": limit, "cursor": cursor})

    def has_agent(self, agent_id: str) -> bool:
        try:
            self._client.get(path("v1", "_", "agents", agent_id))
        except ApiClientError as error:
            if error.status == 404:
                return False
            raise ReviewRefused(str(error)) from error
        return True

    def list_feedback(self, agent_id: str, query: FeedbackQuery, limit: int, cursor: str | None) -> dict[str, Any]:
        params = {**dataclasses.asdict(query), "limit": limit, "cursor": cursor}
        return self._get(path("v1", "_", "agents", agent_id, "feedback"), params)

    def feedback_summary(
        self, agent_id: str, since: str | None, until: str | None, version: str | None
    ) -> dict[str, Any]:
        params = {"since": since, "until": until, "version": version}
        return self._get(path("v1", "_", "agents", agent_id, "feedback", "summary"), params)

    def run_detail(self, agent_id: str, run_id: str) -> dict[str, Any]:
        return self._get(path("v1", "_", "agents", agent_id, "runs", run_id))

    def compare_versions(
        self, agent_id: str, base: str, candidate: str, since: str | None, until: str | None
    ) -> dict[str, Any]:
        params = {"base": base, "candidate": candidate, "since": since, "until": until}
        return self._get(path("v1", "_", "agents", agent_id, "versions", "compare"), params)


def serve_stdio(client: FeedbackApiClient) -> None:
    """Run the MCP server on stdin/stdout until the client closes it; every tool reads the API through `client`."""
    from agentfeedback.mcp.server import build_server

    backend = ApiReviewBackend(client)
    build_server(lambda _ctx: backend).run("stdio")
