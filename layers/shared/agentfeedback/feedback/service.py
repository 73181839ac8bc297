"""The public feedback flow: verify the token, check whose vote it may touch, then save, read or retract the one
entry of (run, user)."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from agentfeedback.core.errors import BoundToAnotherUser, ValidationFailed
from agentfeedback.core.ids import canonical_user_id
from agentfeedback.feedback.store import FeedbackEntry, FeedbackStore, RunEndUsers
from agentfeedback.feedback.validation import Vote
from agentfeedback.tokens import TokenClaims, binds_user

if TYPE_CHECKING:
    # The verifier's module loads with the first request (composition.token_verifier), not at cold import.
    from agentfeedback.tokens.verifier import TokenVerifier

logger = Logger(child=True)


class Submitted(NamedTuple):
    """A saved vote, and whether the answer may show its comment (feedback.service.to_response)."""

    entry: FeedbackEntry
    comment_shown: bool


class FeedbackService:
    """Verify the token, check whose vote it may touch, then save, read or retract the one entry of (run, user).

    A token bound to an end user (its run named one, tokens.user_binding) touches that user's entry only: another
    user_id is BoundToAnotherUser (403), none is taken as the bound user. An unbound token touches any user's
    entry of its run, as it always has, but reads only the outcome (not the comment).
    """

    def __init__(self, verifier: TokenVerifier, store: FeedbackStore, end_users: RunEndUsers) -> None:
        self._verifier = verifier
        self._store = store
        self._end_users = end_users

    def submit(self, vote: Vote) -> Submitted:
        """Save the vote; InvalidFeedbackToken, BoundToAnotherUser, ValidationFailed, Conflict, UserLimitReached or
        ServiceUnavailable otherwise."""
        # Tenant, agent, run and version come from the signed token, never from the request body.
        claims = self._verifier.verify(vote.feedback_token)
        entry = self._store.save(
            claims,
            user_id=self._voter(claims, vote.user_id),
            outcome=vote.outcome,
            comment=vote.comment or None,
            keep_comment=vote.keep_comment,
        )
        # A comment kept unseen is not shown to an unbound token, as GET does not show it: the answer leaves it out.
        return Submitted(entry, comment_shown=claims.user_binding is not None or not vote.keep_comment)

    def read(self, feedback_token: str, user_id: str | None) -> dict[str, str | None]:
        """The saved vote of (run, user): feedback.models.FeedbackState {"outcome", "comment"} for a bound token,
        feedback.models.OutcomeOnly {"outcome"} for an unbound one; outcome null when there is no vote."""
        claims = self._verifier.verify(feedback_token)
        entry = self._store.read(claims, self._voter(claims, user_id))
        state: dict[str, str | None] = {"outcome": entry.outcome if entry else None}
        if claims.user_binding is not None:
            state["comment"] = entry.comment if entry else None
        return state

    def retract(self, feedback_token: str, user_id: str | None) -> FeedbackEntry:
        """Take the vote of (run, user) back; NothingToRetract (404) when there is none, and the errors of submit."""
        claims = self._verifier.verify(feedback_token)
        return self._store.retract(claims, self._voter(claims, user_id))

    def _voter(self, claims: TokenClaims, user_id: str | None) -> str | None:
        """Whose entry the request touches: the canonical user id, None for the anonymous slot."""
        voter = _user(user_id)
        if claims.user_binding is None:
            return voter
        if voter is not None:
            if not binds_user(claims, voter):
                raise BoundToAnotherUser()
            return voter
        bound = self._end_users.bound_user(claims)
        if bound is None:
            raise ValidationFailed(
                "Invalid request: user_id: required with this feedback token, which is bound to an end user whose "
                "run is no longer stored (runs expire); send the end user's id."
            )
        return bound


def _user(user_id: str | None) -> str | None:
    """Absent or empty: the run's anonymous slot; otherwise the one canonical form (core.ids.canonical_user_id)."""
    return canonical_user_id(user_id) if user_id else None


def record_feedback(metrics: Metrics, entry: FeedbackEntry) -> None:
    """EMF metrics (feedback by agent and outcome; first-time vs changed votes; retractions) and one log line
    for review, with no end-user text and no end-user id in either.

    Feedback counts votes cast: a first vote (FirstVotes, also a vote cast again after a retraction) or a changed
    outcome (ChangedVotes). A change of comment alone publishes zeros, and a save that changed nothing (an
    identical repost, a retried write) publishes nothing. A retraction publishes Retractions, by agent.
    `metrics` must be the handler's own instance: extra dimension sets live on the instance, not shared.
    """
    if entry.change == "none":
        logger.info("feedback unchanged", extra={"tenant": entry.tenant, "run_id": entry.run_id})
        return
    if entry.change == "retracted" or entry.outcome is None:
        metrics.add_dimension(name="agent", value=entry.agent_id)
        metrics.add_metric(name="Retractions", unit=MetricUnit.Count, value=1)
        # No user id and no comment: a retraction leaves nothing of the vote in the logs either.
        logger.info(
            "feedback retracted",
            extra={
                "tenant": entry.tenant,
                "agent_id": entry.agent_id,
                "run_id": entry.run_id,
                "revision": entry.revision,
            },
        )
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


def to_response(entry: FeedbackEntry, comment_shown: bool = True) -> dict[str, str | None]:
    """The saved entry as feedback.models.FeedbackResponse {"id", "outcome", "comment", "user_id"} (without
    "comment" when not comment_shown: feedback.models.FeedbackSaved); after a retraction, feedback.models.Retraction
    (outcome and comment null)."""
    response = {"id": entry.id, "outcome": entry.outcome, "comment": entry.comment, "user_id": entry.user_id}
    if not comment_shown:
        del response["comment"]
    return response
