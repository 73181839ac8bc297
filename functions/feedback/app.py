"""Public feedback routes: POST and GET /v1/feedback, authorised by the feedback token alone."""

from typing import Annotated, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from agentfeedback import composition
from agentfeedback.core.resolver import cors_config, ensure_body_within_limit, install_error_handlers
from agentfeedback.feedback.models import MAX_USER_ID_CHARS, FeedbackRequest, FeedbackResponse, FeedbackState
from agentfeedback.feedback.service import record_feedback, to_response
from agentfeedback.tokens import MAX_TOKEN_CHARS

logger = Logger()
metrics = Metrics()
app = APIGatewayRestResolver(enable_validation=True, cors=cors_config(composition.settings().allowed_origins))
install_error_handlers(app, logger)


@app.post("/v1/feedback")
def post_feedback(body: FeedbackRequest) -> FeedbackResponse:
    ensure_body_within_limit(app)
    entry = composition.feedback_service().submit(body)
    record_feedback(metrics, entry)
    return to_response(entry)


@app.get("/v1/feedback")
def get_feedback(
    feedback_token: Annotated[str, Query(min_length=1, max_length=MAX_TOKEN_CHARS)],
    user_id: Annotated[str | None, Query(max_length=MAX_USER_ID_CHARS)] = None,
) -> FeedbackState:
    return composition.feedback_service().read(feedback_token, user_id)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
