"""Request and response shapes of the public feedback routes, as pydantic models: the documented contract.

The public function checks requests with `feedback.validation` (no pydantic at its cold start), whose limits
these models use; `feedback.openapi` documents the routes with them, and a property test holds both to the
same verdicts.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from agentfeedback.feedback.validation import MAX_COMMENT_CHARS, MAX_USER_ID_CHARS, Outcome
from agentfeedback.tokens import MAX_TOKEN_CHARS

__all__ = ["MAX_COMMENT_CHARS", "MAX_USER_ID_CHARS", "FeedbackRequest", "FeedbackResponse", "FeedbackState", "Outcome"]


class FeedbackRequest(BaseModel):
    # Unknown fields are ignored so that clients sending extra context keep working.
    model_config = ConfigDict(extra="ignore")

    feedback_token: str = Field(min_length=1, max_length=MAX_TOKEN_CHARS)
    outcome: Outcome
    comment: str | None = Field(default=None, max_length=MAX_COMMENT_CHARS)
    user_id: str | None = Field(default=None, max_length=MAX_USER_ID_CHARS)


class FeedbackResponse(BaseModel):
    id: str
    outcome: Outcome
    comment: str | None
    user_id: str | None


class FeedbackState(BaseModel):
    """What a button needs to show the saved vote: null when this user has not voted yet."""

    outcome: Outcome | None
    comment: str | None = None
