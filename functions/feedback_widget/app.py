"""The dashboard's feedback page: a CloudWatch custom widget. The dashboard invokes this function with the
viewer's own credentials and shows the HTML it returns (the event: events/feedback_widget/; the flow:
agentfeedback.review.widget)."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from agentfeedback import composition
from agentfeedback.review.widget import FeedbackWidget

logger = Logger()
# Builds nothing yet: the review service comes from the composition root on the first invocation.
widget = FeedbackWidget(composition.review_service)


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> str:
    return widget.answer(event, context.invoked_function_arn, context.aws_request_id)
