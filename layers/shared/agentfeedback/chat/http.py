"""POST /v1/chat/completions straight from API Gateway's proxy event: the chat function's request path.

Without Powertools' event handler (`core.proxy_events`), answering as the documented resolver (`chat.routes`)
does: the body checked by the same pydantic model, so a refusal reads the same; with `stream: true` the
answer is a StreamedResponse of OpenAI's chunks as server-sent events, ending with `data: [DONE]`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from agentfeedback.chat.models import ChatCompletion, ChatCompletionChunk, ChatCompletionRequest, UsageChunk
from agentfeedback.core.errors import NotFound
from agentfeedback.core.http_api import MAX_RUN_BODY_BYTES, proxy_json
from agentfeedback.core.proxy_events import (
    check_problems,
    deadline_of,
    error_response,
    event_stream,
    event_tenant,
    problems,
    read_json_body,
)
from agentfeedback.core.streaming import StreamedResponse

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger

# (tenant, request, deadline: time.monotonic seconds by which the invocation must end)
CreateCall = Callable[[str, ChatCompletionRequest, float], ChatCompletion]
StreamCall = Callable[[str, ChatCompletionRequest, float], Iterator[ChatCompletionChunk | UsageChunk]]
# The route, matched as Powertools' REST resolver matches it (trailing slashes allowed).
CHAT_PATH = re.compile(r"^/v1/chat/completions/*$")


class ChatApi:
    """The chat route over the service's `create` (whole) and `stream` (chunks as they come), given as callables
    so that importing the handler builds nothing."""

    def __init__(self, create: CreateCall, stream: StreamCall, logger: Logger) -> None:
        self._create = create
        self._stream = stream
        self._logger = logger

    def respond(
        self, tenant: str, request: ChatCompletionRequest, deadline: float
    ) -> dict[str, Any] | StreamedResponse:
        """The answer to a checked request: the completion as JSON, or (stream: true) its chunks."""
        if request.stream:
            return event_stream(self._stream(tenant, request, deadline), self._logger, done_marker=True)
        return proxy_json(200, self._create(tenant, request, deadline).model_dump(mode="json"))

    def resolve(self, event: Mapping[str, Any], context: Any) -> dict[str, Any] | StreamedResponse:
        """The response to any event the chat function gets: the route, or a 404 naming the request."""
        try:
            method = str(event.get("httpMethod") or "").upper()
            if method != "POST" or not CHAT_PATH.match(str(event.get("path") or "")):
                raise NotFound(f"No route for {method} {event.get('path')}.")
            body = read_json_body(event, MAX_RUN_BODY_BYTES)
            # from_attributes as Powertools validates (JSON holds no objects: it changes only a message's words).
            try:
                request = ChatCompletionRequest.model_validate(body, from_attributes=True)
            except ValidationError as exc:
                check_problems(problems(exc.errors()))
                raise  # unreachable: a ValidationError names at least one problem
            return self.respond(event_tenant(event, "_"), request, deadline_of(context))
        except Exception as exc:
            return error_response(exc, self._logger)
