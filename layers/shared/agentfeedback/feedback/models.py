"""Request and response shapes of the public feedback routes, as pydantic models: the documented contract.

The public function checks requests with `feedback.validation` (no pydantic at its cold start), whose limits
these models use; `feedback.openapi` documents the routes with them, and a property test holds both to the
same verdicts.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from agentfeedback.feedback.validation import MAX_COMMENT_CHARS, MAX_USER_ID_CHARS, Outcome
from agentfeedback.tokens import MAX_TOKEN_CHARS

__all__ = [
    "MAX_COMMENT_CHARS",
    "MAX_USER_ID_CHARS",
    "FeedbackRequest",
    "FeedbackResponse",
    "FeedbackSaved",
    "FeedbackState",
    "Outcome",
    "OutcomeOnly",
    "Retraction",
]


class FeedbackRequest(BaseModel):
    # Unknown fields are ignored so that clients sending extra context keep working.
    model_config = ConfigDict(extra="ignore")

    feedback_token: str = Field(min_length=1, max_length=MAX_TOKEN_CHARS)
    outcome: Outcome
    comment: str | None = Field(default=None, max_length=MAX_COMMENT_CHARS)
    user_id: str | None = Field(
        default=None,
        max_length=MAX_USER_ID_CHARS,
        description="The end user. With a token bound to an end user (the run named one): that user's id, or "
        "left out; another id is 403 token_bound_to_another_user.",
    )
    keep_comment: bool = Field(
        default=False,
        strict=True,
        description="Keep the saved comment and change only the outcome (`comment` is then ignored). Without it "
        "a post replaces the whole entry, and no comment removes the saved one.",
    )


class FeedbackResponse(BaseModel):
    id: str
    outcome: Outcome
    comment: str | None
    user_id: str | None


class FeedbackSaved(BaseModel):
    """The answer to `keep_comment: true` with a token bound to no end user: the comment kept is not shown, as
    GET does not show it to such a token."""

    id: str
    outcome: Outcome
    user_id: str | None


class FeedbackState(BaseModel):
    """The saved vote, for a token bound to this end user: outcome null when there is none (or it was retracted),
    and the saved comment."""

    outcome: Outcome | None
    comment: str | None = None


class OutcomeOnly(BaseModel):
    """The saved vote, for a token bound to no end user: the outcome only (anyone holding the token may name any
    user_id, so the comment is not shown). Send `keep_comment: true` to change the outcome and keep the comment."""

    outcome: Outcome | None


class Retraction(BaseModel):
    """The entry after DELETE /v1/feedback: its vote taken back (it leaves every count; its history stays)."""

    id: str
    outcome: None = None
    comment: None = None
    user_id: str | None
