"""The Powertools side of HTTP, for the functions that use a resolver: CORS, validation errors, size limits.

Domain errors become responses through `core.http_api`, the one mapping; this module plugs it into
`APIGatewayRestResolver` and turns Powertools' own validation failures into the same error shape.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Annotated, Any, Literal

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.openapi.params import Path
from pydantic import create_model

from agentfeedback.core.errors import (
    DomainError,
    Forbidden,
    InternalError,
    InvalidJson,
    NotFound,
    PayloadTooLarge,
    ServiceUnavailable,
    Unauthorized,
    UnsupportedMediaType,
    ValidationFailed,
)
from agentfeedback.core.http_api import MAX_BODY_BYTES, error_json, status_of
from agentfeedback.core.ids import AGENT_ID_REGEX
from agentfeedback.core.storage import unavailable

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
    from pydantic import BaseModel, GetJsonSchemaHandler
    from pydantic.json_schema import JsonSchemaValue
    from pydantic_core import CoreSchema


# Path parameters every authenticated route shares (the authorizer has already checked the key).
TenantPath = Annotated[str, Path(min_length=1, max_length=63)]
AgentIdPath = Annotated[str, Path(min_length=1, max_length=64, pattern=AGENT_ID_REGEX)]


def cors_config(allowed_origins: tuple[str, ...]) -> CORSConfig:
    first, *extra = allowed_origins
    return CORSConfig(
        allow_origin=first,
        extra_origins=extra or None,
        # The workflowai SDK always sends Authorization; the public routes ignore it but must allow it.
        allow_headers=["Content-Type", "Authorization"],
        max_age=600,
    )


def error_response(error: DomainError) -> Response[str]:
    return Response(
        status_code=status_of(error), content_type="application/json", body=error_json(error), headers=error.headers
    )


def body_size(app: APIGatewayRestResolver) -> int:
    """The body's size in bytes as sent, also when it is not UTF-8 text (decoding it would raise)."""
    event = app.current_event
    if not event.body:
        return 0
    if event.is_base64_encoded:
        return len(base64.b64decode(event.body))
    return len(event.body.encode("utf-8", errors="surrogatepass"))


def ensure_body_within_limit(app: APIGatewayRestResolver, limit: int = MAX_BODY_BYTES) -> None:
    if body_size(app) > limit:
        raise PayloadTooLarge(f"The request body is larger than {limit // 1024} KiB.")


def _field_name(location: Any) -> str:
    parts = [str(part) for part in location if part not in ("body", "query", "path", "header")]
    return ".".join(parts) or "request body"


def validation_error(
    app: APIGatewayRestResolver, exc: RequestValidationError | RequestUnsupportedContentType
) -> DomainError:
    """Turn pydantic's findings into one message that names each offending field."""
    if body_size(app) > MAX_BODY_BYTES:
        return PayloadTooLarge(f"The request body is larger than {MAX_BODY_BYTES // 1024} KiB.")
    content_type = (app.current_event.headers.get("content-type") or "").split(";")[0].strip().lower()
    if content_type and content_type != "application/json":
        return UnsupportedMediaType(
            f"Send the body as JSON with Content-Type: application/json, not {content_type[:60]}."
        )
    errors = list(exc.errors())
    if any(error.get("type") == "json_invalid" for error in errors):
        return InvalidJson("The request body is not valid JSON.")
    problems = []
    for error in errors:
        field = _field_name(error.get("loc", ()))
        if field == "request body":
            problems.append("the request body must be a JSON object")
        else:
            problems.append(f"{field}: {error.get('msg', 'invalid value')}")
    return ValidationFailed("Invalid request: " + "; ".join(dict.fromkeys(problems)) + ".")


def caller_tenant(app: APIGatewayRestResolver, path_tenant: str) -> str:
    """The tenant of the API key (set by the authorizer); `_` in a path means that tenant."""
    authorizer = app.current_event.request_context.authorizer.raw_event or {}
    tenant = authorizer.get("tenant")
    if not tenant:
        raise Unauthorized("Missing or invalid API key: send Authorization: Bearer <key>.")
    if path_tenant not in ("_", tenant):
        raise Forbidden(f"This API key belongs to another tenant; it cannot access tenant {path_tenant[:64]!r}.")
    return str(tenant)


def server_sent_events(events: Iterable[Any], done_marker: bool = False) -> Response[str]:
    """API Gateway REST buffers Lambda responses, so a stream is sent whole, in SSE framing."""
    body = "".join(f"data: {json.dumps(event, separators=(',', ':'))}\n\n" for event in events)
    if done_marker:
        body += "data: [DONE]\n\n"
    return Response(status_code=200, content_type="text/event-stream", body=body, headers={"Cache-Control": "no-cache"})


class _JsonText:
    """Describes a field that holds a JSON document as text: a string whose content is of the annotated type.

    Schemathesis checks such content (`contentSchema`) in each server-sent event it receives.
    """

    def __get_pydantic_json_schema__(self, schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        return {"type": "string", "contentMediaType": "application/json", "contentSchema": handler(schema)}


def streamed_responses(
    json_model: type[BaseModel], event: Any, done_marker: bool = False
) -> dict[int, OpenAPIResponse]:
    """`responses=` of a route that streams with `stream: true`: its 200 is JSON, or server-sent events.

    json_model: the whole response, as JSON. event: what each event's `data` is a JSON document of (a model, or a
    union of models); done_marker: the stream ends with `data: [DONE]`, as OpenAI's does.
    """
    # Before OpenAPI 3.2, the schema of text/event-stream describes each event. The model only describes the
    # wire: server_sent_events frames the events.
    data: Any = Annotated[event, _JsonText()]
    if done_marker:
        data = data | Literal["[DONE]"]
    event_model = create_model(
        f"{json_model.__name__}Event", __doc__="One server-sent event (`data: ...`).", data=(data, ...)
    )
    content: Any = {"application/json": {"model": json_model}, "text/event-stream": {"model": event_model}}
    return {
        200: {
            "description": "The response as JSON or, with stream: true, as server-sent events",
            "content": content,
        }
    }


def install_error_handlers(app: APIGatewayRestResolver, logger: Logger) -> None:
    """One JSON error shape for every failure; never a stack trace in a response."""

    @app.exception_handler(DomainError)
    def handle_api_error(exc: DomainError) -> Response[str]:
        if isinstance(exc, ServiceUnavailable):
            # Expected during an outage, possibly thousands of times: one line with the cause, no traceback.
            logger.warning("request failed", extra={"code": exc.code, "cause": repr(exc.__cause__)[:500]})
        elif status_of(exc) >= 500:
            logger.warning("request failed", extra={"code": exc.code, "reason": exc.message}, exc_info=exc)
        return error_response(exc)

    # Powertools raises RequestUnsupportedContentType (not a validation error) for e.g. text/plain bodies.
    @app.exception_handler([RequestValidationError, RequestUnsupportedContentType])
    def handle_validation_error(exc: RequestValidationError | RequestUnsupportedContentType) -> Response[str]:
        error = validation_error(app, exc)
        logger.info("request refused", extra={"code": error.code, "reason": error.message})
        return error_response(error)

    # A body that is not UTF-8 (API Gateway passes it base64-encoded) fails in Powertools' decoding: a 400.
    @app.exception_handler(UnicodeDecodeError)
    def handle_undecodable_body(exc: UnicodeDecodeError) -> Response[str]:
        try:
            _ = app.current_event.decoded_body
        except UnicodeDecodeError:
            logger.info("request refused", extra={"code": InvalidJson.code, "reason": "body is not UTF-8"})
            return error_response(InvalidJson("The request body is not valid JSON: it is not UTF-8 text."))
        logger.exception("unhandled error")
        return error_response(InternalError("Something went wrong on our side; it has been logged."))

    @app.not_found
    def handle_not_found(exc: Exception) -> Response[str]:
        event = app.current_event
        return error_response(NotFound(f"No route for {event.http_method} {event.path}."))

    @app.exception_handler(Exception)
    def handle_unexpected(exc: Exception) -> Response[str]:
        # A throttled or unreachable AWS service anywhere (runs, agents, keys) is a 503, not our fault.
        busy = unavailable(exc)
        if busy is not None:
            logger.warning("request failed", extra={"code": busy.code, "cause": repr(exc)[:500]})
            return error_response(busy)
        logger.exception("unhandled error")
        return error_response(InternalError("Something went wrong on our side; it has been logged."))
