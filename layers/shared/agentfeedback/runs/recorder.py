"""Stores a finished run and mints its feedback token, never at the cost of the model's output."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, TypeVar

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from agentfeedback.core.errors import DomainError
from agentfeedback.providers.base import Completion, StreamEvent
from agentfeedback.runs.store import RunRecord, RunStore
from agentfeedback.tokens import TokenClaims, user_binding

if TYPE_CHECKING:
    from agentfeedback.tokens.signer import TokenSigner

logger = Logger(child=True)
metrics = Metrics()
Settled = TypeVar("Settled")


def record_abandoned(
    events: Iterable[StreamEvent],
    completion: Completion | None,
    settle: Callable[[Completion | None], Settled],
    record: Callable[[Settled], object],
    context: dict[str, str],
) -> None:
    """A stream whose client stopped reading (AgentRunner.stream, ChatCompletions.stream): read the rest of the
    model's answer, `settle` the last Completion (raising the DomainError a finished stream would have) and
    `record` the run, whose token nobody gets. A failure is logged (with `context`) and nothing is recorded."""
    try:
        for event in events:
            if isinstance(event, Completion):
                completion = event
        settled = settle(completion)
    except DomainError as error:
        logger.warning(
            "stream closed by the client, then the run failed: not recorded", extra={**context, "code": error.code}
        )
        return
    record(settled)
    logger.info("stream closed by the client before its end: run recorded, token not delivered", extra=context)


class RunRecorder:
    def __init__(
        self, store: RunStore, signer: TokenSigner, note_agent: Callable[[str, str], None] | None = None
    ) -> None:
        self._store = store
        self._signer = signer
        # Puts (tenant, agent) in the tenant's agent catalogue (AgentRegistry.note_agent): chat agents are never
        # registered. Once per agent and container: an UpdateItem on every run would double the run's writes.
        self._note_agent = note_agent
        self._noted: set[tuple[str, str]] = set()

    def record(self, run: RunRecord) -> str | None:
        """Save the run and return its feedback token; on any failure, log it, count it and return None."""
        context = {"run_id": run.run_id, "agent_id": run.agent_id, "tenant": run.tenant}
        metrics.add_dimension(name="agent", value=run.agent_id)
        metrics.add_metric(name="Runs", unit=MetricUnit.Count, value=1)
        metrics.add_metric(name="RunCostUsd", unit=MetricUnit.NoUnit, value=run.cost_usd)
        metrics.add_metric(name="RunDuration", unit=MetricUnit.Seconds, value=run.duration_seconds)
        try:
            self._store.save(run)
        except Exception:
            logger.exception("run not stored: returning its output without a feedback token", extra=context)
            metrics.add_metric(name="TokenFailures", unit=MetricUnit.Count, value=1)
            return None
        self._note(run, context)
        try:
            # A run made for a named end user gets a token bound to them (a digest of run and user, not the id).
            binding = user_binding(run.run_id, run.end_user) if run.end_user else None
            claims = TokenClaims(
                tenant=run.tenant,
                agent_id=run.agent_id,
                run_id=run.run_id,
                version_id=run.version_id,
                user_binding=binding,
            )
            return self._signer.mint(claims)
        except Exception:
            logger.exception("feedback token not signed: returning the output without one", extra=context)
            metrics.add_metric(name="TokenFailures", unit=MetricUnit.Count, value=1)
            return None

    def _note(self, run: RunRecord, context: dict[str, str]) -> None:
        if self._note_agent is None or (run.tenant, run.agent_id) in self._noted:
            return
        try:
            self._note_agent(run.tenant, run.agent_id)
        except Exception:
            # The catalogue is for review; a run is not failed for it (the next run notes the agent again).
            logger.exception("agent not noted in the catalogue", extra=context)
            return
        self._noted.add((run.tenant, run.agent_id))
