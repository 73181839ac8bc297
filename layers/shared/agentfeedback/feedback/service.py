"""The public feedback flow: verify the token, then save or read the one entry of (run, user)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from agentfeedback.core.ids import canonical_user_id
from agentfeedback.feedback.store import FeedbackEntry, FeedbackStore
from agentfeedback.feedback.validation import Vote

if TYPE_CHECKING:
    # The verifier's module loads with the first request (composition.token_verifier), not at cold import.
    from agentfeedback.tokens.verifier import TokenVerifier

logger = Logger(child=True)


class FeedbackService:
    """Verify the token, then save or read the one entry of (run, user)."""

    def __init__(self, verifier: TokenVerifier, store: FeedbackStore) -> None:
        self._verifier = verifier
        self._store = store

    def submit(self, vote: Vote) -> FeedbackEntry:
        """Save the vote; InvalidFeedbackToken, Conflict, UserLimitReached or ServiceUnavailable otherwise."""
        # Tenant, agent, run and version come from the signed token, never from the request body.
        claims = self._verifier.verify(vote.feedback_token)
        return self._store.save(
            claims,
            user_id=_user(vote.user_id),
            outcome=vote.outcome,
            comment=vote.comment or None,
        )

    def read(self, feedback_token: str, user_id: str | None) -> dict[str, str | None]:
        """The saved vote of (run, user) as feedback.models.FeedbackState: {"outcome", "comment"}, both null
        when this user has not voted yet."""
        claims = self._verifier.verify(feedback_token)
        entry = self._store.read(claims, _user(user_id))
        if entry is None:
            return {"outcome": None, "comment": None}
        return {"outcome": entry.outcome, "comment": entry.comment}


def _user(user_id: str | None) -> str | None:
    """Absent or empty: the run's anonymous slot; otherwise the one canonical form (core.ids.canonical_user_id)."""
    return canonical_user_id(user_id) if user_id else None


def record_feedback(metrics: Metrics, entry: FeedbackEntry) -> None:
    """EMF metrics (feedback by agent and outcome; first-time vs changed votes) and one log line for review,
    with no end-user text and no end-user id in either.

    Feedback counts votes cast: a first vote (FirstVotes) or a changed outcome (ChangedVotes). A change of
    comment alone publishes zeros, and a save that changed nothing (an identical repost, a retried write)
    publishes nothing. `metrics` must be the handler's own instance: extra dimension sets live on the
    instance, not shared.
    """
    if entry.change == "none":
        logger.info("feedback unchanged", extra={"tenant": entry.tenant, "run_id": entry.run_id})
        return
    metrics.add_dimension(name="agent", value=entry.agent_id)
    metrics.add_dimension(name="outcome", value=entry.outcome)
    # The same figures without the agent: the dashboard's and the alarm's all-agents satisfaction.
    metrics.add_dimensions(service=metrics.provider.service or "agent-feedback", outcome=entry.outcome)
    first_vote, changed_vote = entry.change == "created", entry.change == "outcome"
    metrics.add_metric(name="Feedback", unit=MetricUnit.Count, value=1 if first_vote or changed_vote else 0)
    metrics.add_metric(name="FirstVotes", unit=MetricUnit.Count, value=1 if first_vote else 0)
    metrics.add_metric(name="ChangedVotes", unit=MetricUnit.Count, value=1 if changed_vote else 0)
    # Read by the saved Logs Insights queries. Neither the comment nor the user id: erasing an end user cannot
    # reach the logs (they age out after the log group's retention), so they never hold what could be erased.
    fields: dict[str, object] = {
        "tenant": entry.tenant,
        "agent_id": entry.agent_id,
        "run_id": entry.run_id,
        "version_id": entry.version_id,
        "outcome": entry.outcome,
        "revision": entry.revision,
        "has_comment": bool(entry.comment),
    }
    logger.info("feedback saved", extra=fields)


def to_response(entry: FeedbackEntry) -> dict[str, str | None]:
    """The saved entry as feedback.models.FeedbackResponse: {"id", "outcome", "comment", "user_id"}."""
    return {"id": entry.id, "outcome": entry.outcome, "comment": entry.comment, "user_id": entry.user_id}
