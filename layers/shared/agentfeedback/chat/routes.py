"""The chat route on Powertools' REST resolver, typed with its models: its OpenAPI description.

The chat function answers through `chat.http` (no framework at its cold start); this resolver is built only
when the OpenAPI document is asked for (the local stack's GET /openapi.json, which schemathesis fuzzes) and by
the tests that compare the two paths. Its route works: Powertools checks the request against the model, then
calls the same `ChatApi.respond`.
"""

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response

from agentfeedback.chat.http import ChatApi
from agentfeedback.chat.models import ChatCompletion, ChatCompletionChunk, ChatCompletionRequest, UsageChunk
from agentfeedback.core.http_api import MAX_RUN_BODY_BYTES
from agentfeedback.core.proxy_events import deadline_of
from agentfeedback.core.resolver import (
    ApiResolver,
    as_resolver_response,
    caller_tenant,
    install_error_handlers,
    streamed_responses,
)


def chat_resolver(chat: ChatApi, logger: Logger) -> ApiResolver:
    """POST /v1/chat/completions on a resolver, answered by `chat`."""
    app = ApiResolver(max_body_bytes=MAX_RUN_BODY_BYTES)
    install_error_handlers(app, logger)

    # JSON, or (stream: true) server-sent events: chunks, the last choice chunk with the feedback token, then [DONE].
    # Powertools validates what the route returns against its annotation: the completion, or the events' text.
    @app.post(
        "/v1/chat/completions",
        responses=streamed_responses(ChatCompletion, ChatCompletionChunk | UsageChunk, done_marker=True),
    )
    def create_chat_completion(body: ChatCompletionRequest) -> Response[ChatCompletion | str]:
        answer = chat.respond(caller_tenant(app, "_"), body, deadline_of(app.lambda_context))
        return as_resolver_response(answer, ChatCompletion)

    return app
