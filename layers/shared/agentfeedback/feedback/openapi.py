"""The public feedback routes as a Powertools resolver with their pydantic models: their OpenAPI description.

The public function answers through `feedback.http` (no framework at its cold start); this resolver is built
only when someone asks for the OpenAPI document (the local stack's GET /openapi.json, which schemathesis
fuzzes). Its routes are working ones: Powertools checks the request against the models, then the route
calls the same FeedbackApi as the public function, and the model checks the answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.event_handler.openapi.params import Query

from agentfeedback.core.http_api import MAX_BODY_BYTES
from agentfeedback.core.resolver import ApiResolver, ensure_body_within_limit, install_error_handlers
from agentfeedback.feedback.http import PATH, FeedbackApi
from agentfeedback.feedback.models import (
    FeedbackRequest,
    FeedbackResponse,
    FeedbackSaved,
    FeedbackState,
    OutcomeOnly,
    Retraction,
)
from agentfeedback.feedback.validation import MAX_USER_ID_CHARS, Vote, VoteQuery
from agentfeedback.tokens import MAX_TOKEN_CHARS

Token = Annotated[str, Query(min_length=1, max_length=MAX_TOKEN_CHARS)]
UserId = Annotated[
    str | None,
    Query(
        max_length=MAX_USER_ID_CHARS,
        description="The end user; with a token bound to an end user, that user's id or none (another is 403).",
    ),
]


def documented_resolver(api: FeedbackApi, allowed_origins: Sequence[str], logger: Logger) -> APIGatewayRestResolver:
    """A resolver with the routes of `api`, typed with the models of `feedback.models`."""
    app = ApiResolver(tuple(allowed_origins), max_body_bytes=MAX_BODY_BYTES)
    install_error_handlers(app, logger)

    @app.post(PATH)
    def post_feedback(body: FeedbackRequest) -> FeedbackSaved | FeedbackResponse:  # keep_comment, unbound: no comment
        ensure_body_within_limit(app)
        saved = api.submit(Vote(**body.model_dump()))
        return FeedbackResponse.model_validate(saved) if "comment" in saved else FeedbackSaved.model_validate(saved)

    @app.get(PATH)
    def get_feedback(
        feedback_token: Token, user_id: UserId = None
    ) -> OutcomeOnly | FeedbackState:  # an unbound token reads the outcome only
        state = api.read(VoteQuery(feedback_token, user_id))
        return FeedbackState.model_validate(state) if "comment" in state else OutcomeOnly.model_validate(state)

    @app.delete(PATH)
    def retract_feedback(feedback_token: Token, user_id: UserId = None) -> Retraction:
        return Retraction.model_validate(api.retract(VoteQuery(feedback_token, user_id)))

    return app
