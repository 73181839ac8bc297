"""HTTP for every function: which status each domain error becomes, and the one JSON error shape.

Light on purpose (standard library only): the public feedback function answers through this module
without loading Powertools' event handler. `core.resolver` plugs the same mapping into the Powertools
resolvers of the authenticated functions.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from agentfeedback.core.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InternalError,
    InvalidCursor,
    InvalidFeedbackToken,
    InvalidJson,
    InvalidModelOutput,
    ModelNotConfigured,
    NotFound,
    PayloadTooLarge,
    ProviderError,
    ProviderTimeout,
    ServiceUnavailable,
    Unauthorized,
    UnknownModel,
    UnsupportedMediaType,
    UnsupportedParameter,
    ValidationFailed,
)

# The largest request body any route accepts; API Gateway's own limit (10 MB) is far above it.
MAX_BODY_BYTES = 16 * 1024
# Run and chat requests carry task inputs, messages and schemas: up to runs.store.MAX_STORED_BYTES each (150 KB)
# and runs.schemas.MAX_SCHEMA_BYTES (64 KiB); 1 MiB bounds them well under API Gateway's 10 MB.
MAX_RUN_BODY_BYTES = 1024 * 1024
# The one media type request bodies may have (parameters such as charset aside).
JSON_MEDIA_TYPE = "application/json"
# What a body that is not a JSON object is told (in a ValidationFailed).
NOT_AN_OBJECT = "the request body must be a JSON object"

# CORS of the public routes, which browsers call from the customers' pages. These are the headers Powertools'
# CORSConfig allows by default, and the workflowai SDK always sends Authorization (the public routes ignore
# it but must allow it); core.resolver configures Powertools with the same values.
CORS_ALLOW_HEADERS = ("Authorization", "Content-Type", "X-Amz-Date", "X-Amz-Security-Token", "X-Api-Key")
CORS_MAX_AGE_SECONDS = 7200  # as long as browsers keep a preflight (Chromium's cap: 2 hours)

# The one place where domain errors become status codes. A subclass takes its nearest listed ancestor's.
STATUS_BY_ERROR: dict[type[DomainError], int] = {
    InvalidJson: 400,
    InvalidCursor: 400,
    UnsupportedParameter: 400,
    UnknownModel: 400,
    ModelNotConfigured: 400,
    InvalidFeedbackToken: 401,
    Unauthorized: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    PayloadTooLarge: 413,
    UnsupportedMediaType: 415,
    ValidationFailed: 422,
    InternalError: 500,
    ProviderError: 502,
    InvalidModelOutput: 502,
    ServiceUnavailable: 503,
    ProviderTimeout: 504,
    DomainError: 400,
}


def status_of(error: DomainError) -> int:
    """The HTTP status of a domain error (400 for one not listed in STATUS_BY_ERROR)."""
    for cls in type(error).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 400


def error_body(error: DomainError) -> dict[str, dict[str, Any]]:
    """{"error": {"status_code", "code", "message"}}: the shape of every error any route answers."""
    return {"error": {"status_code": status_of(error), "code": error.code, "message": error.message}}


def error_json(error: DomainError) -> str:
    return json.dumps(error_body(error))


# -- requests and responses without a framework (the public feedback function) ----------------------------


def body_bytes(body: str | None, base64_encoded: bool) -> bytes:
    """The request body as sent. API Gateway passes a body that is not UTF-8 text base64-encoded.

    Raises InvalidJson for base64 that does not decode (API Gateway never sends such).
    """
    if not body:
        return b""
    if base64_encoded:
        try:
            return base64.b64decode(body)
        except (binascii.Error, ValueError):
            raise InvalidJson("The request body is not valid JSON.") from None
    # surrogatepass: a body that is not UTF-8 text is measured, not refused here.
    return body.encode("utf-8", errors="surrogatepass")


# Limits on what a JSON body may hold, on every route: deeper nesting or longer numbers than any client of
# this API sends are refused before they cost anything (Python's int() refuses more than 4,300 digits with
# a ValueError; json's recursion fails far deeper).
MAX_JSON_DEPTH = 32
MAX_NUMBER_CHARS = 64


def _refuse_constant(name: str) -> Any:
    raise InvalidJson(f"The request body is not valid JSON: {name} is not a JSON number (RFC 8259).")


def _bounded_int(text: str) -> int:
    if len(text) > MAX_NUMBER_CHARS:
        raise InvalidJson(f"A number in the request body is longer than {MAX_NUMBER_CHARS} characters.")
    return int(text)


def _bounded_float(text: str) -> float:
    if len(text) > MAX_NUMBER_CHARS:
        raise InvalidJson(f"A number in the request body is longer than {MAX_NUMBER_CHARS} characters.")
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise InvalidJson(f"A number in the request body is out of range: {text[:20]}.")
    return value


def _depth(value: Any) -> int:
    """How deeply arrays and objects nest in value (a scalar is 0), without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        deepest = max(deepest, level)
        if level <= MAX_JSON_DEPTH:
            stack.extend((child, level + 1) for child in children)
    return deepest


def parse_json_object(raw: bytes) -> dict[str, Any]:
    """The body as a JSON object (RFC 8259: no NaN or Infinity), within MAX_JSON_DEPTH and MAX_NUMBER_CHARS.

    The one body parser of every route. Raises InvalidJson (400) naming the problem: not UTF-8, not JSON,
    not an object, nested too deeply, a number too long or out of range.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidJson("The request body is not valid JSON: it is not UTF-8 text.") from None
    if not text.strip():
        raise InvalidJson("The request body is empty: send a JSON object.")
    try:
        value = json.loads(text, parse_constant=_refuse_constant, parse_int=_bounded_int, parse_float=_bounded_float)
    except RecursionError:
        raise InvalidJson(f"The request body nests deeper than {MAX_JSON_DEPTH} levels.") from None
    except ValueError as exc:  # json.JSONDecodeError: say where
        raise InvalidJson(f"The request body is not valid JSON: {str(exc)[:120]}.") from None
    if not isinstance(value, dict):
        kind = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(type(value), "a number")
        raise InvalidJson(f"The request body must be a JSON object, not {kind}.")
    if _depth(value) > MAX_JSON_DEPTH:
        raise InvalidJson(f"The request body nests deeper than {MAX_JSON_DEPTH} levels.")
    return value


def too_large(limit: int = MAX_BODY_BYTES) -> PayloadTooLarge:
    return PayloadTooLarge(f"The request body is larger than {limit // 1024} KiB.")


def unsupported_media_type(content_type: str | None) -> UnsupportedMediaType | None:
    """The error for a body declared as anything but JSON; None when it is JSON or undeclared."""
    media_type = (content_type or "").split(";")[0].strip().lower()
    if media_type and media_type != JSON_MEDIA_TYPE:
        return UnsupportedMediaType(
            f"Send the body as JSON with Content-Type: {JSON_MEDIA_TYPE}, not {media_type[:60]}."
        )
    return None


def request_refusal(
    error: DomainError, body_size: int, content_type: str | None, limit: int = MAX_BODY_BYTES
) -> DomainError:
    """What a request that failed its checks is told. The body's size (413) and media type (415) come first,
    then what the checks found (e.g. 400 for a body that does not parse, 422 naming the fields)."""
    if body_size > limit:
        return too_large(limit)
    return unsupported_media_type(content_type) or error


def unwanted_body_refusal(raw: bytes, content_type: str | None, limit: int = MAX_BODY_BYTES) -> DomainError | None:
    """What a route that takes no body (a GET, a DELETE, an action such as promote) says of the body it was sent:
    None for an empty one or a JSON object within the one parser's limits (ignored, as unknown fields are);
    otherwise 413 past `limit`, 415 for another media type, 400 for a body that does not parse."""
    if not raw:
        return None
    if len(raw) > limit:
        return too_large(limit)
    refused = unsupported_media_type(content_type)
    if refused is not None:
        return refused
    try:
        parse_json_object(raw)
    except InvalidJson as error:
        return error
    return None


def invalid_request(problems: Iterable[str]) -> ValidationFailed:
    """One 422 naming every problem ("field: what is wrong"), each once, in the order given."""
    return ValidationFailed("Invalid request: " + "; ".join(dict.fromkeys(problems)) + ".")


def cors_headers(origin: str | None, allowed_origins: Sequence[str]) -> dict[str, str]:
    """The CORS headers of a response to a request from `origin`: none unless it is allowed.

    An origin in allowed_origins is echoed; with "*" among them any origin is allowed and "*" is sent.
    """
    # With a list of origins the answer depends on the request's Origin: caches must key on it.
    vary = {} if "*" in allowed_origins else {"Vary": "Origin"}
    if not origin:
        return vary
    if origin in allowed_origins:
        allowed = origin
    elif "*" in allowed_origins:
        allowed = "*"
    else:
        return vary
    return {
        **vary,
        "Access-Control-Allow-Origin": allowed,
        "Access-Control-Allow-Headers": ",".join(sorted(CORS_ALLOW_HEADERS)),
        "Access-Control-Max-Age": str(CORS_MAX_AGE_SECONDS),
    }


# On every response of every route: no MIME sniffing of our JSON, and nothing kept by shared or browser
# caches (feedback state and review data are per user and change).
STANDARD_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}


def with_standard_headers(response: dict[str, Any], extra: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A proxy response with STANDARD_HEADERS (and `extra`) added where it does not set them itself (a stream
    keeps its own Cache-Control)."""
    multi = dict(response.get("multiValueHeaders") or {})
    single = response.get("headers") or {}
    present = {name.lower() for name in (*multi, *single)}
    for name, value in {**STANDARD_HEADERS, **(extra or {})}.items():
        if name.lower() not in present:
            multi[name] = [value]
    return {**response, "multiValueHeaders": multi}


def proxy_response(status: int, body: str, headers: Mapping[str, str]) -> dict[str, Any]:
    """The API Gateway (REST, Lambda proxy) response, in the shape Powertools' REST resolver gives its own:
    {"statusCode", "body", "isBase64Encoded": false, "multiValueHeaders": {name: [value]}}."""
    response = {
        "statusCode": status,
        "body": body,
        "isBase64Encoded": False,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
    }
    return with_standard_headers(response)


def proxy_json(status: int, body: Any, headers: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A JSON proxy response; compact, as Powertools serialises a route's result."""
    content = {"Content-Type": JSON_MEDIA_TYPE, **(headers or {})}
    return proxy_response(status, json.dumps(body, separators=(",", ":")), content)


def proxy_error(error: DomainError, headers: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The proxy response of a domain error: its status, the JSON error shape, its own headers (Retry-After)."""
    content = {"Content-Type": JSON_MEDIA_TYPE, **error.headers, **(headers or {})}
    return proxy_response(status_of(error), error_json(error), content)


# What any route may answer in the error shape: the gateway's own responses (401/403 from the authorizer,
# 413, 429 throttling, 502/504) and the shared handlers' (400, 404, 409, 415, 422, 503 with Retry-After).
ERROR_STATUSES: dict[int, str] = {
    400: "Bad request (e.g. the body is not valid JSON)",
    401: "Missing or invalid credentials (API key or feedback token)",
    403: "The API key may not access this tenant or resource",
    404: "No such route, agent, schema, version or run",
    409: "Conflict (e.g. a run id that is already taken)",
    413: "The request body is too large",
    415: "The body is not JSON",
    422: "Invalid request: the message names each offending field",
    429: "Too many requests",
    502: "An upstream model or the gateway failed",
    503: "Storage or the signing key is unavailable for now; retry after Retry-After seconds",
    504: "The request took too long",
}
_HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})
_ERROR_SCHEMA: dict[str, Any] = {
    "title": "Error",
    "type": "object",
    "required": ["error"],
    "additionalProperties": False,
    "properties": {
        "error": {
            "type": "object",
            "required": ["status_code", "code", "message"],
            "additionalProperties": False,
            "properties": {
                "status_code": {"type": "integer"},
                "code": {"type": "string"},
                "message": {"type": "string"},
            },
        }
    },
}


def with_error_responses(document: dict[str, Any]) -> dict[str, Any]:
    """Declare the JSON error shape on every operation of an OpenAPI document.

    Powertools documents only 200 and its own 422 shape (`detail`), which core.resolver replaces.
    """
    document.setdefault("components", {}).setdefault("schemas", {})["Error"] = _ERROR_SCHEMA
    for path_item in document.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in _HTTP_METHODS:
                continue
            responses = operation.setdefault("responses", {})
            for status, description in ERROR_STATUSES.items():
                schema = {
                    "allOf": [
                        {"$ref": "#/components/schemas/Error"},
                        {"properties": {"error": {"properties": {"status_code": {"const": status}}}}},
                    ]
                }
                response: dict[str, Any] = {
                    "description": description,
                    "content": {"application/json": {"schema": schema}},
                }
                if status == 503:
                    response["headers"] = {
                        "Retry-After": {"required": True, "schema": {"type": "integer", "minimum": 0}}
                    }
                responses[str(status)] = response
    return document
