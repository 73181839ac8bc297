"""The aggregator: batches of DynamoDB stream records (FeedbackTable and RunsTable) in, per-day counts out.

Triggered by the event source mappings in template.yaml (partial batch responses on, bisect on error, an
SQS on-failure destination); the work is agentfeedback.aggregates.stream.StreamAggregator.
"""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from agentfeedback import composition

logger = Logger()


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    failed = composition.stream_aggregator().process(event.get("Records") or [])
    # Lambda restarts the batch at the lowest sequence number listed; an empty list means all were applied.
    return {"batchItemFailures": [{"itemIdentifier": sequence} for sequence in failed]}
