"""OpenAI-compatible chat completions (API key required); every choice carries a feedback token."""

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from agentfeedback import composition
from agentfeedback.chat.models import ChatCompletion, ChatCompletionChunk, ChatCompletionRequest, UsageChunk
from agentfeedback.chat.service import stream_chunks
from agentfeedback.core.http_api import MAX_RUN_BODY_BYTES
from agentfeedback.core.resolver import (
    ApiResolver,
    caller_tenant,
    install_error_handlers,
    server_sent_events,
    streamed_responses,
)

logger = Logger()
metrics = Metrics()
app = ApiResolver(max_body_bytes=MAX_RUN_BODY_BYTES)
install_error_handlers(app, logger)


# JSON, or (stream: true) server-sent events: chunks, the last choice chunk with the feedback token, then [DONE].
# Powertools validates what the route returns against its annotation: the completion, or the events' text.
@app.post(
    "/v1/chat/completions",
    responses=streamed_responses(ChatCompletion, ChatCompletionChunk | UsageChunk, done_marker=True),
)
def create_chat_completion(body: ChatCompletionRequest) -> Response[ChatCompletion | str]:
    response = composition.chat_completions().create(caller_tenant(app, "_"), body)
    if body.stream:
        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        chunks = (chunk.model_dump(mode="json") for chunk in stream_chunks(response, include_usage))
        return server_sent_events(chunks, done_marker=True)
    return Response(status_code=200, content_type="application/json", body=response)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
