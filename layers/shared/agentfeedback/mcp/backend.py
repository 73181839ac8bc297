"""Where the MCP tools read from: one protocol, two implementations.

In the `mcp` Lambda function the tools call the review service in-process (`ServiceBackend`, bound to the
tenant of the request's API key); over stdio (`feedbackctl mcp`) they call the review API over HTTP (the CLI's
backend). Both answer with the review API's JSON shapes, so the tools shape one kind of data, and both report a
refusal as `ReviewRefused` carrying the message the API would have sent.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from agentfeedback.core.errors import DomainError, NotFound
from agentfeedback.core.ids import validate_agent_id

if TYPE_CHECKING:
    from agentfeedback.review.service import ReviewService
    from agentfeedback.runs.registry import AgentRegistry


class ReviewRefused(Exception):
    """The backend refused the request (bad argument, unknown run, storage busy); str() is what to tell the user."""


@dataclass(frozen=True)
class FeedbackQuery:
    """The review list's filters (GET /v1/{tenant}/agents/{agent_id}/feedback); None leaves one open."""

    outcome: str | None = None
    version: str | None = None
    since: str | None = None
    until: str | None = None
    user_id: str | None = None
    has_comment: bool | None = None


class ReviewBackend(Protocol):
    """The review API of one tenant. Every method raises ReviewRefused with the API's message on a refusal."""

    def list_agents(self, limit: int, cursor: str | None) -> dict[str, Any]:
        """GET /v1/{tenant}/agents: {"items": [{id, created_at}], "next_cursor"}, in agent id order."""
        ...

    def has_agent(self, agent_id: str) -> bool:
        """Whether the tenant has this agent (GET /v1/{tenant}/agents/{agent_id} answers it, or it ran)."""
        ...

    def list_feedback(self, agent_id: str, query: FeedbackQuery, limit: int, cursor: str | None) -> dict[str, Any]:
        """GET .../feedback: {"items": [FeedbackItem], "next_cursor"}, newest first."""
        ...

    def feedback_summary(
        self, agent_id: str, since: str | None, until: str | None, version: str | None
    ) -> dict[str, Any]:
        """GET .../feedback/summary: FeedbackSummary (overall, by_version, by_day)."""
        ...

    def run_detail(self, agent_id: str, run_id: str) -> dict[str, Any]:
        """GET .../runs/{run_id}: RunDetail (input, output, version, cost, feedback)."""
        ...

    def compare_versions(
        self, agent_id: str, base: str, candidate: str, since: str | None, until: str | None
    ) -> dict[str, Any]:
        """GET .../versions/compare: VersionComparison (both versions' counts and intervals, the difference with
        its Newcombe interval, the test's p-value, the votes needed, the verdict)."""
        ...


class ServiceBackend:
    """ReviewBackend over the review service and the agent registry, in this process, for one tenant."""

    def __init__(self, review: ReviewService, registry: AgentRegistry, tenant: str) -> None:
        self._review = review
        self._registry = registry
        self._tenant = tenant

    def list_agents(self, limit: int, cursor: str | None) -> dict[str, Any]:
        with _refusals():
            page = self._registry.agents(self._tenant, limit, cursor)
        items = [{"id": agent.agent_id, "created_at": agent.created_at} for agent in page.agents]
        return {"items": items, "next_cursor": page.last_agent_id}

    def has_agent(self, agent_id: str) -> bool:
        with _refusals():
            if self._registry.catalogued(self._tenant, agent_id):
                return True
        try:
            # Registered before the catalogue existed: its schemas are there.
            with _refusals():
                self._registry.agent(self._tenant, agent_id)
        except _Missing:
            return False
        return True

    def list_feedback(self, agent_id: str, query: FeedbackQuery, limit: int, cursor: str | None) -> dict[str, Any]:
        from agentfeedback.review.service import Window, feedback_filter

        with _refusals():
            validate_agent_id(agent_id)
            filters = feedback_filter(
                outcome=query.outcome, user_id=query.user_id, version=query.version, has_comment=query.has_comment
            )
            window = Window.parse(query.since, query.until)
            page = self._review.list_feedback(self._tenant, agent_id, filters, window, limit, cursor)
        return page.model_dump(mode="json")

    def feedback_summary(
        self, agent_id: str, since: str | None, until: str | None, version: str | None
    ) -> dict[str, Any]:
        from agentfeedback.review.service import summary_window

        with _refusals():
            validate_agent_id(agent_id)
            summary = self._review.feedback_summary(self._tenant, agent_id, summary_window(since, until), version)
        return summary.model_dump(mode="json")

    def run_detail(self, agent_id: str, run_id: str) -> dict[str, Any]:
        with _refusals():
            validate_agent_id(agent_id)
            return self._review.run_detail(self._tenant, agent_id, run_id).model_dump(mode="json")

    def compare_versions(
        self, agent_id: str, base: str, candidate: str, since: str | None, until: str | None
    ) -> dict[str, Any]:
        from agentfeedback.review.service import summary_window

        with _refusals():
            validate_agent_id(agent_id)
            window = summary_window(since, until)
            comparison = self._review.compare_versions(self._tenant, agent_id, base, candidate, window)
        return comparison.model_dump(mode="json")


class _Missing(ReviewRefused):
    """NotFound, which `has_agent` answers as False."""


@contextmanager
def _refusals() -> Iterator[None]:
    """Turns a domain error into ReviewRefused with its message (NotFound into _Missing)."""
    try:
        yield
    except NotFound as exc:
        raise _Missing(exc.message) from exc
    except DomainError as exc:
        raise ReviewRefused(exc.message) from exc
