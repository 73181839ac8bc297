"""The odd-input classes of the hostile-input issue, fed to every route over real HTTP (local stack).

Schemathesis (test_fuzz_schemathesis.py) generates from the OpenAPI document, so it rarely produces what a
peer's bug report or an attacker sends on purpose. This fuzzer draws from those classes instead and mixes them:
bodies that are not a JSON object within limits, media types in any case, odd end-user and run ids (NFC/NFD,
controls, text-direction overrides, dot segments, percent signs, other spellings of a UUIDv7), odd values in
valid bodies, and sends them to every route of template.yaml, with and without a key and a valid token.
Every answer must be below 500 and, when refused, our JSON error shape.

Bounded for `make test` (ODD_EXAMPLES, default 300 requests); `make fuzz` runs it longer.
"""

from __future__ import annotations

import collections
import json
import os
import unicodedata
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentfeedback.keys.store import ApiKeyStore
from local.stack import LocalStack
from local.template import api_routes, load_template

pytestmark = pytest.mark.integration

EXAMPLES = int(os.environ.get("ODD_EXAMPLES") or 300)
TIMEOUT = 15
TENANT = "oddfuzz"
AGENT = "odd-agent"
# Every REST route of template.yaml. /mcp (ANY) speaks JSON-RPC with its own error shape: the MCP SDK's tests
# and tests/unit/mcp/test_mcp_properties.py feed it odd bodies instead.
ROUTES = sorted(
    {(route.path, route.method.upper()) for route in api_routes(load_template()) if route.method.upper() != "ANY"}
)

JOSE = "jos\u00e9"
ODD_TEXT = [
    JOSE,
    unicodedata.normalize("NFD", JOSE),
    " padded \ufeff",
    "..",
    ".",
    "/",
    "a/../b",
    "%2e%2e",
    "100%",
    "?x=1",
    "#frag",
    "tab\there",
    "bell\x07",
    "esc\x1b[2K\x1b[1A",
    "rtl\u202eoverride",
    "\u2028line",
    "\U0001f600",
    '=HYPERLINK("x")',
    "",
    " ",
    "x" * 300,
]
RUN_ID = "01931e7a-5b3c-7def-8a12-3456789abcde"
ODD_RUN_IDS = [RUN_ID, RUN_ID.upper(), "{" + RUN_ID + "}", "urn:uuid:" + RUN_ID, RUN_ID.replace("-", ""), "not-a-uuid"]
BAD_BODIES = [
    '{"outcome": ' + "9" * 4301 + "}",
    '{"task_input": {"x": Infinity}}',
    '{"x": NaN}',
    '{"x": 1e999}',
    '{"x": ' + "[" * 200 + "]" * 200 + "}",
    "[]",
    '"text"',
    "null",
    "",
    "{not json",
    "\xff\xfe",
]
CONTENT_TYPES = [
    "application/json",
    "Application/JSON",
    "APPLICATION/JSON; charset=UTF-8",
    "application/json;charset=utf-8",
    "text/plain",
    "application/x-www-form-urlencoded",
    None,
]
odd_scalars = st.one_of(
    st.sampled_from(ODD_TEXT),
    st.sampled_from(ODD_RUN_IDS),
    st.sampled_from([0, -1, 2**63, 1.5, True, None, [], {}]),
)


def json_body(draw: st.DrawFn, token: str) -> dict[str, Any]:
    """A body that is mostly valid for some route, with odd values in its fields."""
    base: dict[str, Any] = draw(
        st.sampled_from(
            [
                {"feedback_token": token, "outcome": "positive", "user_id": JOSE, "comment": "ok"},
                {"id": AGENT, "input_schema": {"type": "object"}, "output_schema": {"type": "object"}},
                {"task_input": {"q": "hi"}, "version": {"model": "offline"}},
                {"model": "offline", "messages": [{"role": "user", "content": "hi"}], "metadata": {"agent_id": AGENT}},
                {"user_id": JOSE},
                {"environment": "production", "version": 1},
                {"model": "offline", "instructions": ""},
            ]
        )
    )
    body = dict(base)
    for name in draw(st.lists(st.sampled_from([*sorted(base), "extra", "user_id", "id"]), max_size=3, unique=True)):
        body[name] = draw(odd_scalars)
    return body


@st.composite
def requests_to(draw: st.DrawFn, route: tuple[str, str], token: str) -> dict[str, Any]:
    path, method = route
    values = {"tenant": draw(st.sampled_from(["_", "_", TENANT, "other", ".."])), "agent_id": AGENT}
    for name in ("run_id", "user_id", "schema_id", "number", "environment", "agent_id", "proxy"):
        if draw(st.integers(0, 3)) == 0:
            values[name] = draw(st.sampled_from(ODD_TEXT + ODD_RUN_IDS + ["1", "0", "-1"]))
    url_path = path
    for name, value in values.items():
        url_path = url_path.replace("{" + name + "}", quote(str(value), safe="") or "%20")
    url_path = url_path.replace("{run_id}", RUN_ID).replace("{user_id}", "u").replace("{schema_id}", "1")
    query = {}
    if method == "GET":
        for name in draw(st.lists(st.sampled_from(["feedback_token", "user_id", "run_id", "outcome", "cursor"]))):
            query[name] = token if name == "feedback_token" and draw(st.booleans()) else draw(st.sampled_from(ODD_TEXT))
    body: bytes | None = None
    content_type = draw(st.sampled_from(CONTENT_TYPES))
    if method in ("POST", "PUT", "PATCH"):
        if draw(st.booleans()):
            body = draw(st.sampled_from(BAD_BODIES)).encode("utf-8", "surrogateescape")
        else:
            body = json.dumps(json_body(draw, token), ensure_ascii=draw(st.booleans())).encode()
    headers = {"Content-Type": content_type} if content_type and body is not None else {}
    return {"method": method, "path": url_path, "query": query, "body": body, "headers": headers}


@pytest.fixture(scope="module")
def odd_key(stack: LocalStack, settings) -> str:
    """A key of the fuzzer's own tenant, with its agent registered (schema 1), so runs reach the model."""
    key, _ = ApiKeyStore(stack.dynamodb_client(), settings.api_keys_table).create(TENANT, "odd-input fuzzing")
    agent = {"id": AGENT, "input_schema": {"type": "object"}, "output_schema": {"type": "object"}}
    response = requests.post(
        f"{stack.base_url}/v1/_/agents", json=agent, headers={"Authorization": f"Bearer {key}"}, timeout=TIMEOUT
    )
    assert response.status_code == 200, response.text
    return key


@pytest.mark.parametrize("route", ROUTES, ids=[f"{method} {path}" for path, method in ROUTES])
def test_no_route_answers_5xx_to_odd_input(
    stack: LocalStack, odd_key: str, mint_token: Callable[..., str], route: tuple[str, str]
) -> None:
    token = mint_token(tenant=TENANT, agent_id=AGENT, run_id=str(uuid.uuid4()))
    session = requests.Session()
    seen: list[int] = []

    @settings(
        max_examples=max(4, EXAMPLES // len(ROUTES)),
        deadline=None,
        database=None,
        derandomize="ODD_EXAMPLES" not in os.environ,
        suppress_health_check=list(HealthCheck),
    )
    @given(request=requests_to(route, token), with_key=st.integers(0, 4).map(bool))
    def fuzz(request: dict[str, Any], with_key: bool) -> None:
        headers = dict(request["headers"])
        if with_key:
            headers["Authorization"] = f"Bearer {odd_key}"
        response = session.request(
            request["method"],
            stack.base_url + request["path"],
            params=request["query"],
            data=request["body"],
            headers=headers,
            timeout=TIMEOUT,
        )
        seen.append(response.status_code)
        assert response.status_code < 500, (request, response.status_code, response.text[:500])
        if response.status_code >= 400:
            error = response.json()["error"]
            assert error["status_code"] == response.status_code and error["code"] and error["message"], error

    fuzz()
    assert seen  # the route was really called
    if os.environ.get("FUZZ_VERBOSE"):
        print(route, sorted(collections.Counter(seen).items()))
