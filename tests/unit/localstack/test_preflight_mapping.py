"""The public route's CORS preflight is API Gateway's mock integration (issue: hostile and odd input, item 12).

Its Velocity mapping template (template.yaml, Api DefinitionBody) is rendered as the local gateway renders it
and must answer every origin exactly as `core.http_api.cors_headers` answers the real request, for any
AllowedOrigins the parameter's pattern admits; and no function runs for a preflight.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentfeedback.core.http_api import CORS_ALLOW_HEADERS, CORS_MAX_AGE_SECONDS, cors_headers
from local.api_gateway import ApiGateway, HttpRequest
from local.template import Resolver, api_routes, load_template, mock_routes

TEMPLATE = load_template()
ORIGIN_PATTERN = TEMPLATE["Parameters"]["AllowedOrigins"]["AllowedPattern"]

origins = st.sampled_from(
    ["https://app.example.com", "https://b.example", "http://127.0.0.1:8000", "https://evil.example", "*"]
)


def preflight(allowed: str) -> object:
    [route] = [
        route
        for route in mock_routes(TEMPLATE, Resolver(TEMPLATE, parameter_overrides={"AllowedOrigins": allowed}))
        if route.path == "/v1/feedback" and route.method == "OPTIONS"
    ]
    assert route.mock is not None
    return route.mock


@settings(max_examples=300, deadline=None)
@given(
    allowed=st.lists(origins, min_size=1, max_size=4),
    origin=st.one_of(st.none(), origins.filter(lambda value: value != "*")),
    header_name=st.sampled_from(["Origin", "origin"]),
)
def test_the_mapping_template_answers_every_origin_as_the_function_does(allowed, origin, header_name):
    listed = ",".join(allowed)
    assert re.fullmatch(ORIGIN_PATTERN, listed)
    status, headers, body = preflight(listed).answer({header_name: origin} if origin else {})
    expected = cors_headers(origin, allowed)
    assert status == 204 and body == b""
    assert headers.get("Access-Control-Allow-Origin") == expected.get("Access-Control-Allow-Origin")
    assert headers.get("Vary") == expected.get("Vary")


def test_static_headers_match_the_functions_cors_and_routes():
    _, headers, _ = preflight("*").answer({"Origin": "https://app.example.com"})
    public_methods = {route.method for route in api_routes(TEMPLATE) if route.path == "/v1/feedback"}
    assert headers["Access-Control-Allow-Methods"].split(",") == sorted({*public_methods, "OPTIONS"})
    assert headers["Access-Control-Allow-Headers"].split(",") == sorted(CORS_ALLOW_HEADERS)
    assert headers["Access-Control-Max-Age"] == str(CORS_MAX_AGE_SECONDS) == "7200"
    assert headers["X-Content-Type-Options"] == "nosniff" and headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("listed", ["https://a.example, https://b.example", 'https://a.example"', "", "a.example"])
def test_allowed_origins_the_template_cannot_quote_are_refused_at_deploy(listed):
    assert re.fullmatch(ORIGIN_PATTERN, listed) is None


class NoFunctions:
    def invoke(self, function_id: str, event: object) -> object:
        raise AssertionError(f"a preflight invoked {function_id}")


def test_the_gateway_answers_a_preflight_without_invoking_a_function():
    gateway = ApiGateway(TEMPLATE, NoFunctions(), parameters={"AllowedOrigins": "https://app.example.com"})  # type: ignore[arg-type]
    request = HttpRequest(
        method="OPTIONS",
        target="/v1/feedback",
        headers=[("Origin", "https://app.example.com"), ("Access-Control-Request-Method", "POST")],
        body=b"",
        source_ip="10.0.0.1",
    )
    response = gateway.handle(request)
    assert response.status == 204
    assert response.header("Access-Control-Allow-Origin") == "https://app.example.com"
    assert response.header("Vary") == "Origin"
