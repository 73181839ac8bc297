"""The public feedback flow: verify the token, then save or read the one entry of (run, user)."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from agentfeedback.feedback.models import FeedbackRequest, FeedbackResponse, FeedbackState
from agentfeedback.feedback.store import FeedbackEntry, FeedbackStore
from agentfeedback.tokens import TokenVerifier

logger = Logger(child=True)


class FeedbackService:
    """Verify the token, then save or read the one entry of (run, user)."""

    def __init__(self, verifier: TokenVerifier, store: FeedbackStore) -> None:
        self._verifier = verifier
        self._store = store

    def submit(self, request: FeedbackRequest) -> FeedbackEntry:
        """Save the vote; InvalidFeedbackToken, Conflict, UserLimitReached or ServiceUnavailable otherwise."""
        # Tenant, agent, run and version come from the signed token, never from the request body.
        claims = self._verifier.verify(request.feedback_token)
        return self._store.save(
            claims,
            user_id=request.user_id or None,
            outcome=request.outcome,
            comment=request.comment or None,
        )

    def read(self, feedback_token: str, user_id: str | None) -> FeedbackState:
        """The saved vote of (run, user), or outcome null when there is none."""
        claims = self._verifier.verify(feedback_token)
        entry = self._store.get(claims.run_id, user_id or None)
        if entry is None:
            return FeedbackState(outcome=None)
        return FeedbackState(outcome=entry.outcome, comment=entry.comment)  # type: ignore[arg-type]


def record_feedback(metrics: Metrics, entry: FeedbackEntry) -> None:
    """EMF metrics (feedback by agent and outcome; first-time vs changed votes) and one log line for review.

    `metrics` must be the handler's own instance: extra dimension sets live on the instance, not shared.
    """
    metrics.add_dimension(name="agent", value=entry.agent_id)
    metrics.add_dimension(name="outcome", value=entry.outcome)
    # The same figures without the agent: the dashboard's and the alarm's all-agents satisfaction.
    metrics.add_dimensions(service=metrics.provider.service or "agent-feedback", outcome=entry.outcome)
    first_vote = entry.revision == 1
    metrics.add_metric(name="Feedback", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="FirstVotes", unit=MetricUnit.Count, value=1 if first_vote else 0)
    metrics.add_metric(name="ChangedVotes", unit=MetricUnit.Count, value=0 if first_vote else 1)
    # Read by the dashboard's "latest comments" table. No user id: erasing a user cannot reach the logs.
    fields: dict[str, object] = {
        "tenant": entry.tenant,
        "agent_id": entry.agent_id,
        "run_id": entry.run_id,
        "version_id": entry.version_id,
        "outcome": entry.outcome,
        "revision": entry.revision,
    }
    if entry.comment:
        fields["comment"] = entry.comment
    logger.info("feedback saved", extra=fields)


def to_response(entry: FeedbackEntry) -> FeedbackResponse:
    return FeedbackResponse(
        id=entry.id,
        outcome=entry.outcome,  # type: ignore[arg-type]
        comment=entry.comment,
        user_id=entry.user_id,
    )
