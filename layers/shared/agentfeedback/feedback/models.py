"""Request and response shapes of the public feedback routes."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from agentfeedback.tokens import MAX_TOKEN_CHARS

MAX_COMMENT_CHARS = 5000
MAX_USER_ID_CHARS = 256

Outcome = Literal["positive", "negative"]


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
