"""Public feedback routes: POST and GET /v1/feedback, authorised by the feedback token alone.

Answered without a web framework (agentfeedback.feedback.http), so that the cold start a user waits for
loads no more than a vote needs; the same routes are documented through a Powertools resolver.
"""

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from agentfeedback import composition
from agentfeedback.feedback.http import FeedbackApi

logger = Logger()
metrics = Metrics()
# Builds nothing yet: the service and the settings come from the composition root on the first request.
app = FeedbackApi(composition.feedback_service, lambda: composition.settings().allowed_origins, metrics, logger)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event)
