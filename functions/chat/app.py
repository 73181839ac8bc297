"""OpenAI-compatible chat completions (API key required); every choice carries a feedback token.

Answered without a web framework (agentfeedback.chat.http), so that a cold start loads no more than a
completion needs; the route is documented through a Powertools resolver (agentfeedback.chat.routes), built
only when the OpenAPI document is asked for.
"""

from collections.abc import Iterator
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from agentfeedback import composition
from agentfeedback.chat.http import ChatApi
from agentfeedback.chat.models import ChatCompletion, ChatCompletionChunk, ChatCompletionRequest, UsageChunk
from agentfeedback.core.proxy_events import LazyResolver, when_done
from agentfeedback.core.streaming import StreamedResponse, buffered

logger = Logger()
metrics = Metrics()


def create(tenant: str, request: ChatCompletionRequest, deadline: float) -> ChatCompletion:
    return composition.chat_completions().create(tenant, request, composition.run_deadline(deadline))


def stream(tenant: str, request: ChatCompletionRequest, deadline: float) -> Iterator[ChatCompletionChunk | UsageChunk]:
    """OpenAI's chunks as the model's deltas come (ChatCompletions.stream: pre-checks raise here, at the call)."""
    return composition.chat_completions().stream(tenant, request, composition.run_deadline(deadline))


chat = ChatApi(create, stream, logger)


def _resolver() -> Any:
    from agentfeedback.chat.routes import chat_resolver

    return chat_resolver(chat, logger)


# The documented route (GET /openapi.json of the local stack): Powertools loads only when it is asked for.
app = LazyResolver(_resolver)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def handle(event: dict[str, Any], context: LambdaContext) -> dict[str, Any] | StreamedResponse:
    """The response whole (a dict), or streamed (stream: true); metrics are flushed once it is complete."""
    return when_done(chat.resolve(event, context), metrics.flush_metrics)


def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return buffered(handle(event, context))
