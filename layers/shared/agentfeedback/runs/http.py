"""POST /v1/{tenant}/agents|tasks/{agent_id}/schemas/{schema_id}/run straight from API Gateway's proxy event.

The run function's request path for runs, without Powertools' event handler (`core.proxy_events`): it answers
as the documented resolver (`runs.routes`) does, which serves the function's other routes and documents these.
The path parameters and the body are checked by pydantic models with the resolver's constraints, so a refusal
reads the same; with `stream: true` the answer is a StreamedResponse of server-sent events.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, Field, ValidationError

from agentfeedback.core.http_api import MAX_RUN_BODY_BYTES, proxy_json
from agentfeedback.core.proxy_events import (
    PATH_PARAMETER,
    check_problems,
    deadline_of,
    error_response,
    event_stream,
    event_tenant,
    problems,
    read_json_body,
)
from agentfeedback.core.streaming import StreamedResponse
from agentfeedback.runs.models import AgentId, PartialRun, RunRequest, RunResponse

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger

# What a run is given: owner (tenant), agent id, schema id, the request and its deadline (time.monotonic).
RunCall = Callable[[str, str, int, RunRequest, float], RunResponse]
StreamCall = Callable[[str, str, int, RunRequest, float], Iterator[PartialRun | RunResponse]]

# The two run routes, matched as Powertools' REST resolver matches `/v1/<tenant>/agents/<agent_id>/...`.
RUN_PATHS = tuple(
    re.compile(
        rf"^/v1/(?P<tenant>{PATH_PARAMETER})/{kind}/(?P<agent_id>{PATH_PARAMETER})"
        rf"/schemas/(?P<schema_id>{PATH_PARAMETER})/run/*$"
    )
    for kind in ("agents", "tasks")
)


class RunPath(BaseModel):
    """The run routes' path parameters, with the constraints the documented routes declare (core.resolver)."""

    tenant: Annotated[str, Field(min_length=1, max_length=63)]
    agent_id: AgentId
    schema_id: Annotated[int, Field(ge=1)]


class RunApi:
    """The run routes over the runner's `run` (whole) and `stream` (events as they come), given as callables so
    that importing the handler builds nothing."""

    def __init__(self, run: RunCall, stream: StreamCall, logger: Logger) -> None:
        self._run = run
        self._stream = stream
        self._logger = logger

    @staticmethod
    def path_parameters(event: Mapping[str, Any]) -> dict[str, str] | None:
        """The path parameters when the event is a POST to a run route; None for any other request."""
        if str(event.get("httpMethod") or "").upper() != "POST":
            return None
        path = str(event.get("path") or "")
        for pattern in RUN_PATHS:
            found = pattern.match(path)
            if found:
                return found.groupdict()
        return None

    def respond(
        self, owner: str, agent_id: str, schema_id: int, request: RunRequest, deadline: float
    ) -> dict[str, Any] | StreamedResponse:
        """The answer to a checked run request: the RunResponse as JSON, or (stream: true) its events."""
        if request.stream:
            return event_stream(self._stream(owner, agent_id, schema_id, request, deadline), self._logger)
        return proxy_json(200, self._run(owner, agent_id, schema_id, request, deadline).model_dump(mode="json"))

    def resolve(self, event: Mapping[str, Any], context: Any) -> dict[str, Any] | StreamedResponse:
        """The response to a run route's event (path_parameters is not None for it)."""
        try:
            raw_path = self.path_parameters(event) or {}
            body = read_json_body(event, MAX_RUN_BODY_BYTES)
            found: list[str] = []
            path = request = None
            try:
                path = RunPath.model_validate(raw_path)
            except ValidationError as exc:
                found += problems(exc.errors())
            # from_attributes as Powertools validates (JSON holds no objects: it changes only a message's words).
            try:
                request = RunRequest.model_validate(body, from_attributes=True)
            except ValidationError as exc:
                found += problems(exc.errors())
            check_problems(found)
            assert path is not None and request is not None
            owner = event_tenant(event, path.tenant)
            return self.respond(owner, path.agent_id, path.schema_id, request, deadline_of(context))
        except Exception as exc:
            return error_response(exc, self._logger)
