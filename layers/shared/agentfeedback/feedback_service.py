"""The public feedback flow: verify the token, then save or read the one entry of (run, user)."""

from __future__ import annotations

from functools import lru_cache

from agentfeedback import aws_clients
from agentfeedback.feedback_store import FeedbackEntry, FeedbackStore
from agentfeedback.models import FeedbackRequest, FeedbackResponse, FeedbackState
from agentfeedback.settings import get_settings
from agentfeedback.tokens import TokenVerifier


@lru_cache(maxsize=1)
def default_verifier() -> TokenVerifier:
    settings = get_settings()
    return TokenVerifier(aws_clients.kms(), (settings.token_key_id, *settings.previous_token_key_ids))


@lru_cache(maxsize=1)
def default_store() -> FeedbackStore:
    return FeedbackStore(aws_clients.dynamodb(), get_settings().feedback_table)


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
