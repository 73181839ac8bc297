"""POST, GET and DELETE /v1/feedback straight from API Gateway's proxy event: the public function's request path.

No web framework and no pydantic: the public function's cold start is most of its latency for a user who
clicks once, so it loads only what a vote needs (boto3, the token verifier, Powertools' Logger and Metrics).
It answers as the Powertools resolvers of the other functions do: the same response shape, CORS (allowed
origins echoed, preflight answered for any path), the JSON error shape of `core.http_api`, and the same
checks in the same order (413 over the size limit, 415 for a body that is not JSON, 400 for a body that
does not parse, 422 naming each offending field). `feedback.openapi` documents these routes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from agentfeedback.core.errors import (
    DomainError,
    InternalError,
    InvalidJson,
    NotFound,
    ServiceUnavailable,
    ValidationFailed,
)
from agentfeedback.core.http_api import (
    MAX_BODY_BYTES,
    body_bytes,
    cors_headers,
    parse_json_object,
    proxy_error,
    proxy_json,
    proxy_response,
    request_refusal,
    status_of,
    too_large,
    unsupported_media_type,
    unwanted_body_refusal,
)
from agentfeedback.core.storage import unavailable
from agentfeedback.feedback.service import FeedbackService, record_feedback, to_response
from agentfeedback.feedback.validation import Vote, VoteQuery, parse_vote, parse_vote_query, query_values

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger, Metrics
    from aws_lambda_powertools.event_handler import APIGatewayRestResolver

PATH = "/v1/feedback"
# Statuses of the request's own faults: answered with a log line, never a traceback.
_REFUSALS = frozenset({400, 413, 415, 422})


def _header(headers: Mapping[str, Any] | None, name: str) -> Any:
    """A header's value, whatever its case (API Gateway passes names as the client sent them)."""
    for key, value in (headers or {}).items():
        if key.lower() == name:
            return value
    return None


def _origin(event: Mapping[str, Any]) -> str | None:
    """The Origin header (the first, if sent more than once)."""
    origin = _header(event.get("multiValueHeaders") or event.get("headers"), "origin")
    if isinstance(origin, list):
        origin = origin[0] if origin else None
    return str(origin) if origin is not None else None


def _content_type(event: Mapping[str, Any]) -> str | None:
    value = _header(event.get("headers"), "content-type")
    return str(value) if value is not None else None


def _refused(event: Mapping[str, Any], error: DomainError, raw: bytes | None = None) -> DomainError:
    """The refusal of a request whose checks found `error`: 413 and 415 first, as in every function."""
    if raw is None:
        raw = body_bytes(event.get("body"), bool(event.get("isBase64Encoded")))
    return request_refusal(error, len(raw), _content_type(event))


def read_vote(event: Mapping[str, Any], limit: int = MAX_BODY_BYTES) -> Vote:
    """The vote in a POST's body; PayloadTooLarge, UnsupportedMediaType, InvalidJson or ValidationFailed."""
    raw = body_bytes(event.get("body"), bool(event.get("isBase64Encoded")))
    not_json = unsupported_media_type(_content_type(event))
    if not_json is not None:
        raise _refused(event, not_json, raw)
    try:
        vote = parse_vote(parse_json_object(raw))
    except (InvalidJson, ValidationFailed) as error:
        raise _refused(event, error, raw) from None
    if len(raw) > limit:
        raise too_large(limit)
    return vote


def read_vote_query(event: Mapping[str, Any]) -> VoteQuery:
    """Whose vote a GET (or DELETE) query names; ValidationFailed (or, as for any refusal, 413 or 415) otherwise.
    These routes take no body: one sent is refused as on every route (core.http_api.unwanted_body_refusal)."""
    body_refused = unwanted_body_refusal(
        body_bytes(event.get("body"), bool(event.get("isBase64Encoded"))), _content_type(event)
    )
    if body_refused is not None:
        raise body_refused
    query = query_values(event.get("queryStringParameters"), event.get("multiValueQueryStringParameters"))
    try:
        return parse_vote_query(query)
    except ValidationFailed as error:
        raise _refused(event, error) from None


class FeedbackApi:
    """The public routes over a FeedbackService; `resolve(event)` answers one API Gateway proxy event.

    The service and the allowed origins are asked for on each request (the composition root builds them on
    first use), so importing the handler builds nothing. `metrics` must be the handler's own instance,
    flushed by its `log_metrics`.
    """

    def __init__(
        self,
        service: Callable[[], FeedbackService],
        allowed_origins: Callable[[], Sequence[str]],
        metrics: Metrics,
        logger: Logger,
    ) -> None:
        self._service = service
        self._allowed_origins = allowed_origins
        self._metrics = metrics
        self._logger = logger
        # method -> the route, which answers the 200's body
        self._routes: dict[str, Callable[[Mapping[str, Any]], dict[str, str | None]]] = {
            "POST": self._post,
            "GET": self._get,
            "DELETE": self._delete,
        }

    # -- the routes, once the request is checked: also what feedback.openapi's documented routes call --

    def submit(self, vote: Vote) -> dict[str, str | None]:
        """Save the vote and count it (metrics, the review log line); the body of the 200."""
        saved = self._service().submit(vote)
        record_feedback(self._metrics, saved.entry)
        return to_response(saved.entry, saved.comment_shown)

    def read(self, query: VoteQuery) -> dict[str, str | None]:
        """The saved vote of (run, user); the body of the 200."""
        return self._service().read(query.feedback_token, query.user_id)

    def retract(self, query: VoteQuery) -> dict[str, str | None]:
        """Take back the vote of (run, user) and count it (metrics, the log line); the body of the 200."""
        entry = self._service().retract(query.feedback_token, query.user_id)
        record_feedback(self._metrics, entry)
        return to_response(entry)

    def documented(self) -> APIGatewayRestResolver:
        """These routes as a Powertools resolver typed with the pydantic models (`feedback.openapi`)."""
        from agentfeedback.feedback.openapi import documented_resolver

        return documented_resolver(self, self._allowed_origins(), self._logger)

    def get_openapi_json_schema(self, **options: Any) -> str:
        """The OpenAPI document of these routes, asked for as Powertools' resolvers are (local/openapi.py)."""
        return self.documented().get_openapi_json_schema(**options)

    # -- HTTP ---------------------------------------------------------------------------------------------

    def resolve(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """The proxy response to one event, with the CORS headers of its origin."""
        cors = cors_headers(_origin(event), self._allowed_origins())
        method = str(event.get("httpMethod") or "").upper()
        if method == "OPTIONS":
            # A preflight: answered for any path, so that the browser sees the error of the real request.
            allowed = ",".join(sorted({*self._routes, "OPTIONS"}))
            return proxy_response(204, "", {"Access-Control-Allow-Methods": allowed, **cors})
        route = self._routes.get(method) if event.get("resource") == PATH else None
        try:
            if route is None:
                raise NotFound(f"No route for {method} {event.get('path')}.")
            return proxy_json(200, route(event), cors)
        except DomainError as error:
            self._log_refusal(error)
            return proxy_error(error, cors)
        except Exception as exc:  # the last resort: a JSON 500 (or 503), never a stack trace
            busy = unavailable(exc)
            if busy is not None:
                self._logger.warning("request failed", extra={"code": busy.code, "cause": repr(exc)[:500]})
                return proxy_error(busy, cors)
            self._logger.exception("unhandled error")
            return proxy_error(InternalError("Something went wrong on our side; it has been logged."), cors)

    def _post(self, event: Mapping[str, Any]) -> dict[str, str | None]:
        return self.submit(read_vote(event))

    def _get(self, event: Mapping[str, Any]) -> dict[str, str | None]:
        return self.read(read_vote_query(event))

    def _delete(self, event: Mapping[str, Any]) -> dict[str, str | None]:
        return self.retract(read_vote_query(event))

    def _log_refusal(self, error: DomainError) -> None:
        status = status_of(error)
        if isinstance(error, ServiceUnavailable):
            # Expected during an outage, possibly thousands of times: one line with the cause, no traceback.
            self._logger.warning("request failed", extra={"code": error.code, "cause": repr(error.__cause__)[:500]})
        elif status >= 500:
            self._logger.warning("request failed", extra={"code": error.code, "reason": error.message}, exc_info=error)
        elif status in _REFUSALS:
            self._logger.info("request refused", extra={"code": error.code, "reason": error.message})
