"""The API Gateway (REST) part of the local stack: routing, Lambda authorizers, proxy events, and the
responses API Gateway gives by itself, all read from template.yaml."""

from __future__ import annotations

import base64
import json
import logging
import re
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from local.lambda_runtime import FunctionError, FunctionTimeout, LocalFunctions, is_streamed
from local.mock_integration import MockIntegration
from local.routing import RouteMatch, RouteTable
from local.template import (
    ApiRoute,
    Resolver,
    TemplateError,
    TokenAuthorizer,
    api_routes,
    api_stage,
    authorizers,
    gateway_response,
    mock_routes,
    streaming_functions,
)

logger = logging.getLogger(__name__)

# API Gateway's own payload limit; the functions enforce their smaller ones.
MAX_REQUEST_BYTES = 10 * 1024 * 1024
LOCAL_API_ID = "local"
_INTEGRATION_TIMEOUT_SECONDS = 29


@dataclass(frozen=True)
class HttpRequest:
    method: str
    target: str  # path and query string, as on the request line
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    source_ip: str = "127.0.0.1"


@dataclass(frozen=True)
class HttpResponse:
    """What the gateway answers: `body` whole, or (a streaming integration) `chunks` to write as they come."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes
    chunks: Iterator[bytes] | None = None

    def header(self, name: str) -> str | None:
        return next((value for key, value in self.headers if key.lower() == name.lower()), None)

    def json(self) -> Any:
        return json.loads(self.body)


class _Refused(Exception):
    """Stops a request with one of API Gateway's own responses (e.g. UNAUTHORIZED)."""

    def __init__(self, response_type: str, reason: str) -> None:
        super().__init__(reason)
        self.response_type = response_type


def _single_and_multi(pairs: list[tuple[str, str]]) -> tuple[dict[str, str] | None, dict[str, list[str]] | None]:
    """API Gateway's two views of headers and query strings: the last value of each name, and all of them."""
    if not pairs:
        return None, None
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in pairs:
        single[name] = value
        multi.setdefault(name, []).append(value)
    return single, multi


def _context_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list) or value is None:
        raise _Refused(
            "AUTHORIZER_FAILURE", f"authorizer context values must be strings, numbers or booleans: {value!r}"
        )
    return str(value)


def policy_allows(policy: Any, method_arn: str) -> bool:
    """IAM evaluation for an authorizer's policy: an explicit Deny wins, otherwise some Allow must match."""

    def as_list(value: Any) -> list[Any]:
        return value if isinstance(value, list) else [value]

    def matches(statement: Mapping[str, Any]) -> bool:
        actions = as_list(statement.get("Action", []))
        resources = as_list(statement.get("Resource", []))
        return any(fnmatchcase("execute-api:Invoke", str(action)) for action in actions) and any(
            fnmatchcase(method_arn, str(resource)) for resource in resources
        )

    statements = [s for s in as_list((policy or {}).get("Statement", [])) if isinstance(s, dict) and matches(s)]
    if any(statement.get("Effect") == "Deny" for statement in statements):
        return False
    return any(statement.get("Effect") == "Allow" for statement in statements)


class ApiGateway:
    def __init__(
        self,
        template: Mapping[str, Any],
        functions: LocalFunctions,
        region: str = "us-east-1",
        account_id: str = "123456789012",
        extra_routes: Mapping[tuple[str, str], Callable[[], Any]] | None = None,
        parameters: Mapping[str, str] | None = None,
    ) -> None:
        """`parameters` overrides template parameters where the gateway itself reads them (mock integrations)."""
        self._template = template
        self._functions = functions
        self._region = region
        self._account_id = account_id
        self._extra_routes = dict(extra_routes or {})
        routes = api_routes(template)
        mocks = mock_routes(template, Resolver(template, parameter_overrides=dict(parameters or {})))
        self._routes = RouteTable([*routes, *mocks])
        api_ids = {route.api_id for route in routes}
        self._stages = {api_id: api_stage(template, api_id) for api_id in api_ids}
        self._authorizers = {api_id: authorizers(template, api_id) for api_id in api_ids}
        self._default_api_id = sorted(api_ids)[0] if api_ids else "ServerlessRestApi"
        self._authorizer_cache: dict[tuple[str, str], tuple[float, dict[str, Any]]] = {}
        # Integrations with ResponseTransferMode STREAM: the function's `handle` answers, its chunks sent as they come.
        self._streaming = streaming_functions(template)
        for route in routes:
            if route.authorizer and route.authorizer not in self._authorizers[route.api_id]:
                raise TemplateError(f"{route.function_id} {route.event_id}: {route.api_id} has no {route.authorizer}")

    @property
    def routes(self) -> list[ApiRoute]:
        return api_routes(self._template)

    def handle(self, request: HttpRequest) -> HttpResponse:
        request_id = str(uuid.uuid4())
        split = urlsplit(request.target)
        # As API Gateway does: route on the raw path (a %2F stays inside its segment), put the raw path in the
        # event, and decode only the path parameters.
        path = split.path or "/"
        match = self._routes.match(request.method, path)
        if match is not None:
            match = replace(match, path_parameters={k: unquote(v) for k, v in match.path_parameters.items()})
        api_id = match.route.api_id if match else self._default_api_id
        try:
            if len(request.body) > MAX_REQUEST_BYTES:
                raise _Refused("REQUEST_TOO_LARGE", f"{len(request.body)} bytes")
            if match is None:
                extra = self._extra_routes.get((request.method.upper(), path))
                if extra is not None:
                    return self._json_response(200, extra(), request_id)
                raise _Refused("MISSING_AUTHENTICATION_TOKEN", f"no route for {request.method} {path}")
            if match.route.mock is not None:
                return self._mock_response(match.route.mock, request, request_id)
            event = self._proxy_event(request, match, path, split.query, request_id)
            if match.route.authorizer:
                event["requestContext"]["authorizer"] = self._authorize(match.route, request, event)
            return self._invoke(match.route, event, request_id)
        except _Refused as refusal:
            logger.info("%s %s refused: %s (%s)", request.method, path, refusal.response_type, refusal)
            return self._gateway_response(api_id, refusal.response_type, request_id)
        except Exception:
            logger.exception("the local gateway failed on %s %s", request.method, path)
            return self._gateway_response(api_id, "DEFAULT_5XX", request_id)

    def _mock_response(self, mock: MockIntegration, request: HttpRequest, request_id: str) -> HttpResponse:
        status, headers, body = mock.answer(dict(request.headers))
        return HttpResponse(status, [*headers.items(), ("x-amzn-RequestId", request_id)], body)

    def _gateway_response(self, api_id: str, response_type: str, request_id: str) -> HttpResponse:
        response = gateway_response(self._template, api_id, response_type)
        headers = [("Content-Type", "application/json"), *response.headers.items(), ("x-amzn-RequestId", request_id)]
        headers.append(("x-amzn-ErrorType", response_type))
        return HttpResponse(response.status_code, headers, response.body.encode())

    def too_large(self) -> HttpResponse:
        return self._gateway_response(self._default_api_id, "REQUEST_TOO_LARGE", str(uuid.uuid4()))

    def _json_response(self, status: int, body: Any, request_id: str) -> HttpResponse:
        headers = [("Content-Type", "application/json"), ("x-amzn-RequestId", request_id)]
        return HttpResponse(status, headers, json.dumps(body).encode())

    def _method_arn(self, route: ApiRoute, method: str, path: str) -> str:
        stage = self._stages[route.api_id]
        return f"arn:aws:execute-api:{self._region}:{self._account_id}:{LOCAL_API_ID}/{stage}/{method}{path}"

    def _proxy_event(
        self, request: HttpRequest, match: RouteMatch, path: str, query: str, request_id: str
    ) -> dict[str, Any]:
        stage = self._stages[match.route.api_id]
        host = next((value for name, value in request.headers if name.lower() == "host"), "127.0.0.1")
        headers, multi_headers = _single_and_multi(
            [*request.headers, ("X-Forwarded-For", request.source_ip), ("X-Forwarded-Proto", "http")]
        )
        query_parameters, multi_query_parameters = _single_and_multi(parse_qsl(query, keep_blank_values=True))
        try:
            body: str | None = request.body.decode("utf-8") if request.body else None
            is_base64 = False
        except UnicodeDecodeError:
            body, is_base64 = base64.b64encode(request.body).decode("ascii"), True
        now = datetime.now(UTC)
        return {
            "resource": match.route.path,
            "path": path,
            "httpMethod": request.method.upper(),
            "headers": headers,
            "multiValueHeaders": multi_headers,
            "queryStringParameters": query_parameters,
            "multiValueQueryStringParameters": multi_query_parameters,
            "pathParameters": match.path_parameters or None,
            "stageVariables": None,
            "requestContext": {
                "accountId": self._account_id,
                "apiId": LOCAL_API_ID,
                "resourceId": match.route.event_id,
                "resourcePath": match.route.path,
                "httpMethod": request.method.upper(),
                "path": f"/{stage}{path}",
                "stage": stage,
                "requestId": request_id,
                "extendedRequestId": request_id,
                "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
                "requestTimeEpoch": int(now.timestamp() * 1000),
                "protocol": "HTTP/1.1",
                "domainName": host,
                "identity": {
                    "sourceIp": request.source_ip,
                    "userAgent": headers.get("User-Agent") if headers else None,
                    "accountId": None,
                    "caller": None,
                    "user": None,
                    "userArn": None,
                    "apiKey": None,
                    "accessKey": None,
                },
            },
            "body": body,
            "isBase64Encoded": is_base64,
        }

    def _authorize(self, route: ApiRoute, request: HttpRequest, event: Mapping[str, Any]) -> dict[str, Any]:
        """A Lambda TOKEN authorizer: the returned policy decides, its context reaches the function."""
        authorizer: TokenAuthorizer = self._authorizers[route.api_id][route.authorizer or ""]
        token = next((value for name, value in request.headers if name.lower() == authorizer.header.lower()), "")
        if not token:
            raise _Refused("UNAUTHORIZED", f"no {authorizer.header} header")
        if authorizer.validation_expression and not re.fullmatch(authorizer.validation_expression, token):
            raise _Refused("UNAUTHORIZED", f"{authorizer.header} does not match the ValidationExpression")
        method_arn = self._method_arn(route, event["httpMethod"], event["path"])
        result = self._authorizer_result(authorizer, token, method_arn)
        if not policy_allows(result["policyDocument"], method_arn):
            raise _Refused("ACCESS_DENIED", "the authorizer's policy does not allow this method")
        context = {name: _context_value(value) for name, value in (result.get("context") or {}).items()}
        return {**context, "principalId": result["principalId"], "integrationLatency": 0}

    def _authorizer_result(self, authorizer: TokenAuthorizer, token: str, method_arn: str) -> dict[str, Any]:
        # Like API Gateway, a policy is cached per token (ReauthorizeEvery) and applied to later routes too,
        # so a policy that covers only the first route called fails here as it would in AWS.
        cache_key = (authorizer.name, token)
        cached = self._authorizer_cache.get(cache_key)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        try:
            result = self._functions.invoke(
                authorizer.function_id, {"type": "TOKEN", "authorizationToken": token, "methodArn": method_arn}
            )
        except FunctionError as exc:
            # Raising "Unauthorized" is how an authorizer asks for a 401, as in AWS.
            if str(exc.__cause__) == "Unauthorized":
                raise _Refused("UNAUTHORIZED", "the authorizer raised Unauthorized") from None
            logger.exception("authorizer %s failed", authorizer.function_id)
            raise _Refused("AUTHORIZER_FAILURE", str(exc)) from None
        except FunctionTimeout as exc:
            raise _Refused("AUTHORIZER_FAILURE", str(exc)) from None
        if not isinstance(result, dict) or "principalId" not in result or "policyDocument" not in result:
            raise _Refused("AUTHORIZER_FAILURE", f"the authorizer returned {result!r}")
        if authorizer.reauthorize_seconds:
            self._authorizer_cache[cache_key] = (time.monotonic() + authorizer.reauthorize_seconds, result)
        return result

    def forget_authorizations(self) -> None:
        """Drop cached authorizer decisions (API Gateway would keep them for ReauthorizeEvery seconds)."""
        self._authorizer_cache.clear()

    def _invoke(self, route: ApiRoute, event: dict[str, Any], request_id: str) -> HttpResponse:
        started = time.monotonic()
        streams = route.function_id in self._streaming
        try:
            result = self._functions.invoke(route.function_id, event, entry="handle" if streams else None)
        except FunctionError:
            logger.exception("%s failed", route.function_id)
            raise _Refused("DEFAULT_5XX", "the function raised") from None
        except FunctionTimeout as exc:
            response_type = (
                "INTEGRATION_TIMEOUT" if time.monotonic() - started >= _INTEGRATION_TIMEOUT_SECONDS else "DEFAULT_5XX"
            )
            raise _Refused(response_type, str(exc)) from None
        return self._proxy_response(route, result, request_id)

    def _proxy_response(self, route: ApiRoute, result: Any, request_id: str) -> HttpResponse:
        if is_streamed(result):
            # Status and headers first, then the chunks as the function yields them (no Content-Length).
            headers = [(name, str(value)) for name, value in result.headers.items()]
            return HttpResponse(result.status_code, [*headers, ("x-amzn-RequestId", request_id)], b"", result.body)
        if not isinstance(result, dict) or not isinstance(result.get("statusCode"), int):
            logger.error("%s returned a malformed proxy response: %r", route.function_id, result)
            raise _Refused("DEFAULT_5XX", "malformed Lambda proxy response")
        multi = result.get("multiValueHeaders") or {}
        multi_names = {name.lower() for name in multi}
        headers = [
            (name, str(value))
            for name, value in (result.get("headers") or {}).items()
            if name.lower() not in multi_names
        ]
        headers += [(name, str(value)) for name, values in multi.items() for value in values]
        if not any(name.lower() == "content-type" for name, _ in headers):
            headers.append(("Content-Type", "application/json"))
        headers.append(("x-amzn-RequestId", request_id))
        body = result.get("body") or ""
        if not isinstance(body, str):
            logger.error("%s returned a non-string body: %r", route.function_id, body)
            raise _Refused("DEFAULT_5XX", "malformed Lambda proxy response")
        payload = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode("utf-8")
        return HttpResponse(result["statusCode"], headers, payload)
