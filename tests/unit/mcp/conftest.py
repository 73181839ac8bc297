"""Stored data for the MCP tests: votes and runs written through the real stores, into moto's tables.

Summaries and comparisons read the aggregates: before each backend call, the stream records written so far reach
the aggregator, as Lambda's event source mappings hand them over a moment after each write in AWS.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from agentfeedback import composition
from agentfeedback.feedback.store import FeedbackStore
from agentfeedback.mcp.backend import ServiceBackend
from agentfeedback.runs.store import RunRecord, RunStore
from agentfeedback.tokens import TokenClaims
from tests.helpers import StreamPump, stamp

AGENT = "support-bot"
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


class Data:
    """Writes votes and runs; `minutes` after T0 orders them (newest = largest)."""

    def __init__(self, aws) -> None:
        self.votes = FeedbackStore(aws.dynamodb, "FeedbackTable")
        self.runs = RunStore(aws.dynamodb, "RunsTable", retention_days=90)

    def vote(self, run_id, outcome, minutes, comment=None, user_id=None, version="v1", agent=AGENT, tenant="acme"):
        claims = TokenClaims(tenant=tenant, agent_id=agent, run_id=run_id, version_id=version)
        at = stamp(T0 + timedelta(minutes=minutes))
        return self.votes.save(claims, user_id, outcome, comment, now=at)

    def run(self, run_id, minutes=0, task_input=None, version="v1", agent=AGENT, tenant="acme"):
        self.runs.save(
            RunRecord(
                run_id=run_id,
                tenant=tenant,
                agent_id=agent,
                schema_id=1,
                version_id=version,
                version_properties={"model": "offline", "instructions": "Answer support questions."},
                task_input=task_input if task_input is not None else {"question": "Where is my order?"},
                task_output={"answer": "On its way."},
                model="offline",
                input_tokens=12,
                output_tokens=5,
                cost_usd=0.0001,
                duration_seconds=0.25,
                created_at=stamp(T0 + timedelta(minutes=minutes)),
                metadata={},
            )
        )
        composition.agent_registry().note_agent(tenant, agent)


@pytest.fixture
def data(aws) -> Data:
    return Data(aws)


class StreamedBackend:
    """A backend whose every call first lets the stream records written so far through to the aggregator."""

    def __init__(self, backend: ServiceBackend, streams: StreamPump) -> None:
        self._backend = backend
        self._streams = streams

    def __getattr__(self, name: str) -> Any:
        found = getattr(self._backend, name)
        if not callable(found):
            return found

        def call(*args: Any, **kwargs: Any) -> Any:
            self._streams.pump()
            assert not self._streams.failures
            return found(*args, **kwargs)

        return call


@pytest.fixture
def backend(aws) -> ServiceBackend:
    """The in-process backend of tenant acme, as the mcp function builds it."""
    return StreamedBackend(composition.mcp_backend("acme"), StreamPump(aws.dynamodb))  # type: ignore[return-value]
