"""What every function's resolver shares: CORS, the JSON error shape, and request-size limits."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)

from agentfeedback.errors import (
    ApiError,
    Forbidden,
    InternalError,
    InvalidJson,
    NotFound,
    PayloadTooLarge,
    Unauthorized,
    UnsupportedMediaType,
    ValidationFailed,
)
from agentfeedback.models import MAX_BODY_BYTES


def cors_config(allowed_origins: tuple[str, ...]) -> CORSConfig:
    first, *extra = allowed_origins
    return CORSConfig(
        allow_origin=first,
        extra_origins=extra or None,
        # The workflowai SDK always sends Authorization; the public routes ignore it but must allow it.
        allow_headers=["Content-Type", "Authorization"],
        max_age=600,
    )


def error_response(error: ApiError) -> Response[str]:
    return Response(
        status_code=error.status_code,
        content_type="application/json",
        body=json.dumps(error.to_body()),
        headers=error.headers,
    )


def body_size(app: APIGatewayRestResolver) -> int:
    body = app.current_event.decoded_body
    return len(body.encode("utf-8")) if body else 0


def ensure_body_within_limit(app: APIGatewayRestResolver, limit: int = MAX_BODY_BYTES) -> None:
    if body_size(app) > limit:
        raise PayloadTooLarge(f"The request body is larger than {limit // 1024} KiB.")


def _field_name(location: Any) -> str:
    parts = [str(part) for part in location if part not in ("body", "query", "path", "header")]
    return ".".join(parts) or "request body"


def validation_error(
    app: APIGatewayRestResolver, exc: RequestValidationError | RequestUnsupportedContentType
) -> ApiError:
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


def install_error_handlers(app: APIGatewayRestResolver, logger: Logger) -> None:
    """One JSON error shape for every failure; never a stack trace in a response."""

    @app.exception_handler(ApiError)
    def handle_api_error(exc: ApiError) -> Response[str]:
        if exc.status_code >= 500:
            logger.warning("request failed", extra={"code": exc.code, "reason": exc.message}, exc_info=exc)
        return error_response(exc)

    # Powertools raises RequestUnsupportedContentType (not a validation error) for e.g. text/plain bodies.
    @app.exception_handler([RequestValidationError, RequestUnsupportedContentType])
    def handle_validation_error(exc: RequestValidationError | RequestUnsupportedContentType) -> Response[str]:
        error = validation_error(app, exc)
        logger.info("request refused", extra={"code": error.code, "reason": error.message})
        return error_response(error)

    @app.not_found
    def handle_not_found(exc: Exception) -> Response[str]:
        event = app.current_event
        return error_response(NotFound(f"No route for {event.http_method} {event.path}."))

    @app.exception_handler(Exception)
    def handle_unexpected(exc: Exception) -> Response[str]:
        logger.exception("unhandled error")
        return error_response(InternalError("Something went wrong on our side; it has been logged."))
