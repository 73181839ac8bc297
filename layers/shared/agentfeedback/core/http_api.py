"""HTTP for every function: which status each domain error becomes, and the one JSON error shape.

Light on purpose (standard library only): the public feedback function answers through this module
without loading Powertools' event handler. `core.resolver` plugs the same mapping into the Powertools
resolvers of the authenticated functions.
"""

from __future__ import annotations

import json
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
