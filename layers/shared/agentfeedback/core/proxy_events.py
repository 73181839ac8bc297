"""API Gateway proxy events answered without a web framework: the run and chat functions' request path.

Powertools' event handler and its OpenAPI validation cost a third of those functions' cold start, so their
run and chat routes read the proxy event here and answer exactly as `core.resolver.ApiResolver` does: the same
checks in the same order (413 over the size limit, 415 for a body that is not JSON, 400 for a body that does
not parse, 422 naming each offending field in pydantic's words), the same tenant rules, the JSON error shape
of `core.http_api`, its standard headers, and server-sent events framed alike. `tests/unit/core/
test_light_path_equivalence.py` sends the same requests to both paths and compares the answers.

A streamed answer (`stream: true`) is a `core.streaming.StreamedResponse` whose chunks are SSE events, each
encoded as soon as the service yields it. A DomainError raised by the service's iterator after the first
event becomes one last event in the error shape (the status line has gone out already); errors raised before
that are ordinary JSON error responses.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from agentfeedback.core.errors import DomainError, Forbidden, InternalError, ServiceUnavailable, Unauthorized
from agentfeedback.core.http_api import (
    NOT_AN_OBJECT,
    body_bytes,
    error_body,
    invalid_request,
    parse_json_object,
    proxy_error,
    status_of,
    too_large,
    unsupported_media_type,
    with_standard_headers,
)
from agentfeedback.core.storage import unavailable
from agentfeedback.core.streaming import StreamedResponse

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger

# The characters a path parameter may hold: those Powertools' resolvers match (RFC 3986's unreserved and
# sub-delimiters, and what API Gateway passes decoded), so that both paths route the same paths.
PATH_PARAMETER = r"[-._~()'!*:@,;=+&$%<> \[\]{}|^\w]+"
# no-store as every response (core.http_api.STANDARD_HEADERS): the events carry feedback tokens.
SSE_HEADERS = {"Content-Type": "text/event-stream", "Cache-Control": "no-store"}
DONE_EVENT = b"data: [DONE]\n\n"


def header(event: Mapping[str, Any], name: str) -> str | None:
    """A request header's value, whatever the case of its name (API Gateway passes names as sent)."""
    for key, value in (event.get("headers") or {}).items():
        if str(key).lower() == name:
            return str(value)
    return None


def read_json_body(event: Mapping[str, Any], limit: int) -> dict[str, Any]:
    """The request's JSON object: PayloadTooLarge past `limit` bytes, UnsupportedMediaType for a body declared
    as anything but JSON, InvalidJson when it does not parse (core.http_api.parse_json_object); in that order."""
    raw = body_bytes(event.get("body"), bool(event.get("isBase64Encoded")))
    if len(raw) > limit:
        raise too_large(limit)
    not_json = unsupported_media_type(header(event, "content-type"))
    if not_json is not None:
        raise not_json
    return parse_json_object(raw)


def field_name(location: Iterable[Any]) -> str:
    """A pydantic error's location as the 422 names it: "task_input", "version.int", "request body"."""
    parts = [str(part) for part in location if part not in ("body", "query", "path", "header")]
    return ".".join(parts) or "request body"


def problems(errors: Iterable[Mapping[str, Any]]) -> list[str]:
    """pydantic's errors (`ValidationError.errors()`) as "field: message", in order."""
    found = []
    for error in errors:
        name = field_name(error.get("loc", ()))
        found.append(NOT_AN_OBJECT if name == "request body" else f"{name}: {error.get('msg', 'invalid value')}")
    return found


def check_problems(found: list[str]) -> None:
    """ValidationFailed (422) naming every problem, when there is one."""
    if found:
        raise invalid_request(found)


def tenant_of(authorizer: Mapping[str, Any] | None, path_tenant: str) -> str:
    """The API key's tenant (the authorizer's context); `_` in a path means that tenant.

    Raises Unauthorized without one, Forbidden when the path names another tenant.
    """
    tenant = (authorizer or {}).get("tenant")
    if not tenant:
        raise Unauthorized("Missing or invalid API key: send Authorization: Bearer <key>.")
    if path_tenant not in ("_", tenant):
        raise Forbidden(f"This API key belongs to another tenant; it cannot access tenant {path_tenant[:64]!r}.")
    return str(tenant)


def event_tenant(event: Mapping[str, Any], path_tenant: str) -> str:
    """tenant_of the event's authorizer context."""
    return tenant_of((event.get("requestContext") or {}).get("authorizer"), path_tenant)


def deadline_of(context: Any) -> float:
    """When the invocation must end (time.monotonic): the model calls share what is left of the function's time,
    so a slow model ends in our 504, not a timeout."""
    return time.monotonic() + float(context.get_remaining_time_in_millis()) / 1000


def log_failure(logger: Logger, error: DomainError) -> None:
    """One log line per failed request, as core.resolver's handlers write it."""
    if isinstance(error, ServiceUnavailable):
        # Expected during an outage, possibly thousands of times: one line with the cause, no traceback.
        logger.warning("request failed", extra={"code": error.code, "cause": repr(error.__cause__)[:500]})
    elif status_of(error) >= 500:
        logger.warning("request failed", extra={"code": error.code, "reason": error.message}, exc_info=error)
    elif status_of(error) in (400, 413, 415, 422):
        logger.info("request refused", extra={"code": error.code, "reason": error.message})


def domain_error(exc: Exception, logger: Logger) -> DomainError:
    """What an exception tells the client: itself when it is a DomainError, 503 for a busy or unreachable AWS
    service, else a 500 that names nothing internal (the traceback goes to the log)."""
    if isinstance(exc, DomainError):
        log_failure(logger, exc)
        return exc
    busy = unavailable(exc)
    if busy is not None:
        logger.warning("request failed", extra={"code": busy.code, "cause": repr(exc)[:500]})
        return busy
    logger.exception("unhandled error")
    return InternalError("Something went wrong on our side; it has been logged.")


def error_response(exc: Exception, logger: Logger) -> dict[str, Any]:
    """The proxy response of any exception a route raised (domain_error), with the standard headers."""
    return proxy_error(domain_error(exc, logger))


def json_data(value: Any) -> Any:
    """A pydantic model as JSON data (mode="json", every field), anything else as it is."""
    dump = getattr(value, "model_dump", None)
    return dump(mode="json") if dump is not None else value


def sse_event(data: Any) -> bytes:
    """One server-sent event: `data: <compact JSON>` and a blank line (the framing the workflowai and openai
    SDKs parse: https://html.spec.whatwg.org/multipage/server-sent-events.html)."""
    return b"data: " + json.dumps(json_data(data), separators=(",", ":")).encode() + b"\n\n"


def event_stream(events: Iterator[Any], logger: Logger, done_marker: bool = False) -> StreamedResponse:
    """A 200 `text/event-stream` whose chunks are `events` encoded one by one, as they come.

    done_marker: end with `data: [DONE]` (OpenAI's framing). An exception raised by `events` becomes one event
    `{"error": {"status_code", "code", "message"}}` (domain_error: a DomainError as it is, anything else a 500
    or 503), logged, and the stream ends there (without [DONE]: the stream did not complete). Closing the
    response's body (a client gone) closes `events`.
    """

    def chunks() -> Iterator[bytes]:
        try:
            try:
                for item in events:
                    yield sse_event(item)
            except Exception as exc:
                yield sse_event(error_body(domain_error(exc, logger)))
                return
            if done_marker:
                yield DONE_EVENT
        finally:
            close = getattr(events, "close", None)
            if close is not None:
                close()  # a client gone mid-stream: the service's generator sees GeneratorExit

    headers = with_standard_headers({"headers": SSE_HEADERS})["multiValueHeaders"]
    return StreamedResponse(200, chunks(), {**SSE_HEADERS, **{name: values[0] for name, values in headers.items()}})


def when_done(response: dict[str, Any] | StreamedResponse, on_end: Callable[[], None]) -> Any:
    """Run on_end once the response is complete: now for a whole one, after its last chunk for a stream."""
    if isinstance(response, dict):
        on_end()
        return response
    body = response.body

    def chunks() -> Iterator[bytes]:
        try:
            yield from body
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()
            on_end()

    return StreamedResponse(response.status_code, chunks(), response.headers)


class LazyResolver:
    """A Powertools resolver built on first use (`build` imports it): what a function's light path does not
    answer goes to `resolve`, and the local stack's /openapi.json asks `get_openapi_json_schema`."""

    def __init__(self, build: Callable[[], Any]) -> None:
        self._build = build
        self._resolver: Any = None

    @property
    def resolver(self) -> Any:
        if self._resolver is None:
            self._resolver = self._build()
        return self._resolver

    def resolve(self, event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        response: dict[str, Any] = self.resolver.resolve(event, context)
        return response

    def get_openapi_json_schema(self, **options: Any) -> str:
        document: str = self.resolver.get_openapi_json_schema(**options)
        return document
