"""What the compare and improve tests share: saved versions, runs and votes on them, calls to the review function."""

from __future__ import annotations

from typing import Any

from agentfeedback import composition
from agentfeedback.feedback.store import FeedbackStore
from agentfeedback.runs.registry import SavedVersion
from agentfeedback.runs.store import RunRecord, RunStore, new_run_id
from agentfeedback.tokens import TokenClaims
from tests.helpers import load_event

AGENT = "support-bot"  # the agent of the events in events/review/
TENANT = "acme"  # the tenant their authorizer context names


def save_version(instructions: str, agent: str = AGENT, tenant: str = TENANT) -> SavedVersion:
    return composition.agent_registry().save_version(tenant, agent, {"model": "offline", "instructions": instructions})


def record_run(
    version: SavedVersion, task_input: Any, task_output: Any, agent: str = AGENT, tenant: str = TENANT
) -> str:
    run_id = new_run_id()
    RunStore(composition.dynamodb(), "RunsTable", retention_days=90).save(
        RunRecord(
            run_id=run_id,
            tenant=tenant,
            agent_id=agent,
            schema_id=1,
            version_id=version.id,
            version_properties=version.properties,
            task_input=task_input,
            task_output=task_output,
            model="offline",
            input_tokens=10,
            output_tokens=5,
            cost_usd=0.0,
            duration_seconds=0.1,
            created_at="2026-11-02T09:00:00.000000Z",
        )
    )
    return run_id


def vote(
    version_id: str,
    outcome: str,
    run_id: str | None = None,
    user_id: str | None = "u-1",
    comment: str | None = None,
    agent: str = AGENT,
    tenant: str = TENANT,
) -> str:
    """One current vote (now, so inside the default window); returns the entry's public id."""
    claims = TokenClaims(tenant=tenant, agent_id=agent, run_id=run_id or new_run_id(), version_id=version_id)
    return FeedbackStore(composition.dynamodb(), "FeedbackTable").save(claims, user_id, outcome, comment).id


def votes(version_id: str, positive: int, total: int) -> None:
    """`positive` positive and `total - positive` negative votes, each on its own run."""
    for index in range(total):
        vote(version_id, "positive" if index < positive else "negative", user_id=f"u-{index}")


def compare(invoke, base: str, candidate: str, tenant: str | None = None, **query: str):
    event = load_event(
        "review/compare_versions.json", query={"base": base, "candidate": candidate, **query}, tenant=tenant
    )
    return invoke("review", event)


def improve(invoke, number: int | str = 1, body: Any = None, tenant: str | None = None):
    event = load_event(
        "review/improve_version.json", body={} if body is None else body, path={"number": str(number)}, tenant=tenant
    )
    return invoke("review", event)
