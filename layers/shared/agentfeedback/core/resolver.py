"""The Powertools side of HTTP, for the functions that use a resolver: CORS, validation errors, size limits.

Domain errors become responses through `core.http_api`, the one mapping; this module plugs it into
`APIGatewayRestResolver` and turns Powertools' own validation failures into the same error shape.
"""

from __future__ import annotations

from collections.abc import Mapping
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
    InternalError,
    InvalidJson,
    NotFound,
    ServiceUnavailable,
)
from agentfeedback.core.http_api import (
    CORS_ALLOW_HEADERS,
    CORS_MAX_AGE_SECONDS,
    JSON_MEDIA_TYPE,
    MAX_BODY_BYTES,
    body_bytes,
    cors_headers,
    error_json,
    invalid_request,
    parse_json_object,
    proxy_error,
    request_refusal,
    status_of,
    too_large,
    unsupported_media_type,
    unwanted_body_refusal,
    with_standard_headers,
)
from agentfeedback.core.ids import AGENT_ID_REGEX
from agentfeedback.core.proxy_events import problems, tenant_of
from agentfeedback.core.storage import unavailable
from agentfeedback.core.streaming import StreamedResponse

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
    from pydantic import BaseModel, GetJsonSchemaHandler
    from pydantic.json_schema import JsonSchemaValue
    from pydantic_core import CoreSchema


_logger = Logger(child=True)

# Path parameters every authenticated route shares (the authorizer has already checked the key).
TenantPath = Annotated[str, Path(min_length=1, max_length=63)]
AgentIdPath = Annotated[str, Path(min_length=1, max_length=64, pattern=AGENT_ID_REGEX)]


def cors_config(allowed_origins: tuple[str, ...]) -> CORSConfig:
    first, *extra = allowed_origins
    return CORSConfig(
        allow_origin=first,
        extra_origins=extra or None,
        allow_headers=list(CORS_ALLOW_HEADERS),
        max_age=CORS_MAX_AGE_SECONDS,
    )


_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def with_canonical_media_type(event: dict[str, Any]) -> dict[str, Any]:
    """The event with a JSON Content-Type spelled as Powertools expects: media types are case-insensitive
    (RFC 9110, 8.3.1), so `Application/JSON; charset=UTF-8` is JSON too. Other headers are left as sent."""
    changed: dict[str, Any] = {}
    for field in ("headers", "multiValueHeaders"):
        headers = event.get(field) or {}
        for name, value in headers.items():
            if name.lower() != "content-type":
                continue
            values = value if isinstance(value, list) else [value]
            fixed = []
            for text in values:
                media_type, separator, parameters = str(text).partition(";")
                canonical = media_type.strip().lower()
                fixed.append(canonical + separator + parameters if canonical == JSON_MEDIA_TYPE else text)
            if fixed != values:
                changed[field] = {**headers, name: fixed if isinstance(value, list) else fixed[0]}
    return {**event, **changed} if changed else event


def body_refusal(
    event: dict[str, Any], max_body_bytes: int | None = None, takes_body: bool = True
) -> DomainError | None:
    """What the shared body rules say of a request before any route sees it. A route that takes a body (a
    POST, PUT or PATCH with a body parameter): 413 past max_body_bytes, then, for a JSON (or undeclared) body,
    core.http_api.parse_json_object's 400 (Powertools answers 415 itself). A route that takes none (a GET, a
    DELETE, an action such as promote): core.http_api.unwanted_body_refusal, the same rules for any method."""
    raw = body_bytes(event.get("body"), bool(event.get("isBase64Encoded")))
    headers = {str(name).lower(): value for name, value in (event.get("headers") or {}).items()}
    limit = max_body_bytes if max_body_bytes is not None else MAX_BODY_BYTES
    if not takes_body or str(event.get("httpMethod", "")).upper() not in _BODY_METHODS:
        return unwanted_body_refusal(raw, headers.get("content-type"), limit)
    if len(raw) > limit:
        return too_large(limit)
    if unsupported_media_type(headers.get("content-type")) is not None:
        return None  # Powertools answers it: 415 through validation_error
    try:
        parse_json_object(raw)
    except InvalidJson as refused:
        return refused
    return None


class ApiResolver(APIGatewayRestResolver):
    """Powertools' REST resolver with validation, plus the rules every route shares, applied before it:
    media types compared case-insensitively, and bodies parsed by the one parser with its limits (depth,
    number length, a JSON object, no NaN or Infinity), so a bad body is a 400 on every route."""

    def __init__(self, allowed_origins: tuple[str, ...] = (), max_body_bytes: int = MAX_BODY_BYTES) -> None:
        """`max_body_bytes`: the largest body any route takes (413 past it, before validation)."""
        super().__init__(enable_validation=True, cors=cors_config(allowed_origins) if allowed_origins else None)
        self._allowed_origins = allowed_origins
        self.max_body_bytes = max_body_bytes

    def resolve(self, event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        event = with_canonical_media_type(dict(event))
        # An unknown route is a 404 whatever its body; the body rules are for requests a route will take.
        takes_body = self._route_takes_body(event)
        refused = body_refusal(event, self.max_body_bytes, takes_body) if takes_body is not None else None
        if refused is None:
            vary = {"Vary": "Origin"} if self._allowed_origins and "*" not in self._allowed_origins else {}
            return with_standard_headers(super().resolve(event, context), vary)
        _logger.info("request refused", extra={"code": refused.code, "reason": refused.message})
        headers = {str(name).lower(): value for name, value in (event.get("headers") or {}).items()}
        # Without CORS (no allowed origins) a refusal has no CORS headers, as the resolver's other answers.
        cors = cors_headers(headers.get("origin"), self._allowed_origins) if self._allowed_origins else {}
        return proxy_error(refused, cors)

    def _route_takes_body(self, event: Mapping[str, Any]) -> bool | None:
        """Whether the route that takes the event's method and path (matched as Powertools does) declares a
        body parameter; None when no route of this resolver takes it."""
        method, path = str(event.get("httpMethod", "")).upper(), str(event.get("path", ""))
        for route in self._static_routes + self._dynamic_routes:
            if route.method == method and route.rule.match(path):
                dependant = getattr(route, "dependant", None)
                return dependant is None or bool(dependant.body_params)
        return None


def error_response(error: DomainError) -> Response[str]:
    return Response(
        status_code=status_of(error), content_type="application/json", body=error_json(error), headers=error.headers
    )


def body_size(app: APIGatewayRestResolver) -> int:
    """The body's size in bytes as sent, also when it is not UTF-8 text (decoding it would raise)."""
    return len(body_bytes(app.current_event.body, bool(app.current_event.is_base64_encoded)))


def ensure_body_within_limit(app: APIGatewayRestResolver, limit: int = MAX_BODY_BYTES) -> None:
    if body_size(app) > limit:
        raise too_large(limit)


def validation_error(
    app: APIGatewayRestResolver, exc: RequestValidationError | RequestUnsupportedContentType
) -> DomainError:
    """Turn pydantic's findings into one message that names each offending field (after 413 and 415)."""
    errors = list(exc.errors())
    found: DomainError
    if any(error.get("type") == "json_invalid" for error in errors):
        found = InvalidJson("The request body is not valid JSON.")
    else:
        found = invalid_request(problems(errors))
    limit = app.max_body_bytes if isinstance(app, ApiResolver) else MAX_BODY_BYTES
    return request_refusal(found, body_size(app), app.current_event.headers.get("content-type"), limit)


def caller_tenant(app: APIGatewayRestResolver, path_tenant: str) -> str:
    """The tenant of the API key (set by the authorizer); `_` in a path means that tenant."""
    return tenant_of(app.current_event.request_context.authorizer.raw_event, path_tenant)


def as_resolver_response(answer: dict[str, Any] | StreamedResponse, model: type[BaseModel]) -> Response[Any]:
    """A light path's 200 (core.proxy_events) as a documented route returns it: the JSON body as `model`, which
    Powertools checks and serialises again, or a stream's events whole (a resolver cannot stream)."""
    if isinstance(answer, StreamedResponse):
        text = b"".join(answer.body).decode()
        return Response(
            status_code=answer.status_code,
            content_type=answer.headers["Content-Type"],
            body=text,
            headers={"Cache-Control": answer.headers["Cache-Control"]},
        )
    return Response(status_code=200, content_type=JSON_MEDIA_TYPE, body=model.model_validate_json(answer["body"]))


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
    # wire: core.proxy_events.sse_event frames the events.
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
