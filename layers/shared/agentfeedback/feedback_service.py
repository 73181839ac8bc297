"""The public feedback flow: verify the token, then save or read the one entry of (run, user)."""

from __future__ import annotations

from functools import lru_cache

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from agentfeedback import aws_clients
from agentfeedback.feedback_models import FeedbackRequest, FeedbackResponse, FeedbackState
from agentfeedback.feedback_store import FeedbackEntry, FeedbackStore
from agentfeedback.settings import get_settings
from agentfeedback.tokens import TokenVerifier

logger = Logger(child=True)


@lru_cache(maxsize=1)
def default_verifier() -> TokenVerifier:
    settings = get_settings()
    return TokenVerifier(
        aws_clients.kms(),
        (settings.token_key_id, *settings.previous_token_key_ids),
        require_expiry=settings.token_lifetime_days > 0,
    )


@lru_cache(maxsize=1)
def default_store() -> FeedbackStore:
    settings = get_settings()
    return FeedbackStore(aws_clients.dynamodb(), settings.feedback_table, settings.max_users_per_run)


def submit_feedback(
    request: FeedbackRequest,
    verifier: TokenVerifier | None = None,
    store: FeedbackStore | None = None,
) -> FeedbackEntry:
    # Tenant, agent, run and version come from the signed token, never from the request body.
    claims = (verifier or default_verifier()).verify(request.feedback_token)
    return (store or default_store()).save(
        claims,
        user_id=request.user_id or None,
        outcome=request.outcome,
        comment=request.comment or None,
    )


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


def read_feedback(
    feedback_token: str,
    user_id: str | None,
    verifier: TokenVerifier | None = None,
    store: FeedbackStore | None = None,
) -> FeedbackState:
    claims = (verifier or default_verifier()).verify(feedback_token)
    entry = (store or default_store()).get(claims.run_id, user_id or None)
    if entry is None:
        return FeedbackState(outcome=None)
    return FeedbackState(outcome=entry.outcome, comment=entry.comment)  # type: ignore[arg-type]


def to_response(entry: FeedbackEntry) -> FeedbackResponse:
    return FeedbackResponse(
        id=entry.id,
        outcome=entry.outcome,  # type: ignore[arg-type]
        comment=entry.comment,
        user_id=entry.user_id,
    )
