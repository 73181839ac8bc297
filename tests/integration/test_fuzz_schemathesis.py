"""Schemathesis against the local stack over real HTTP: no 5xx, and every response as the OpenAPI says.

The document is the one the stack serves at /openapi.json (the functions' Powertools resolvers, merged).
Every operation is fuzzed with schema-valid (positive) and schema-violating (negative) requests. Positive
cases are steered part of the time towards the deep paths (a valid feedback token, the caller's own tenant,
a registered agent, the offline model), otherwise nearly every case would stop at a 401/403/404.

Bounded for `make test` (8 cases per operation and mode, deterministic: 304 cases, about 20 s); a longer
run exploring new inputs each time: `make fuzz` (FUZZ_EXAMPLES=100 by default; FUZZ_VERBOSE=1 also prints
the statuses per operation). The module prints "N generated fuzz cases ..., 0 5xx" past pytest's capture.
"""

from __future__ import annotations

import collections
import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from agentfeedback.keys.store import ApiKeyStore
from local.stack import LocalStack
from local.template import api_routes, load_template

pytestmark = pytest.mark.integration

# Cases per operation and generation mode. The default keeps the whole module well under a minute.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES") or 8)
# `make test` is reproducible; a longer run (FUZZ_EXAMPLES set) explores new inputs each time.
DETERMINISTIC = "FUZZ_EXAMPLES" not in os.environ
TIMEOUT = 15
TENANT = "fuzz"  # its own tenant: what the fuzzer creates or erases stays out of the other tests' data
AGENT = "fuzz-agent"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    negative_data_rejection,
]
# Schemathesis' defaults (minus 5xx), plus 413: an oversized body is rightly refused before validation.
REJECTION_STATUSES = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429"]
# Every route of template.yaml but the CORS preflights (answered by Powertools, not documented operations) and the
# MCP endpoint, which speaks JSON-RPC rather than REST: the MCP SDK's clients test it (test_mcp_http.py), and a
# property test sends it arbitrary bodies (tests/unit/mcp/test_mcp_properties.py).
ROUTES = sorted(
    (route.path, route.method.upper())
    for route in api_routes(load_template())
    if route.method.upper() != "OPTIONS" and route.path != "/mcp"
)


@pytest.fixture(scope="module")
def fuzz_key(stack: LocalStack, settings) -> str:
    key, _ = ApiKeyStore(stack.dynamodb_client(), settings.api_keys_table).create(TENANT, "fuzzing")
    return key


@pytest.fixture(scope="module")
def openapi(stack: LocalStack) -> dict[str, Any]:
    response = requests.get(f"{stack.base_url}/openapi.json", timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture(scope="module")
def schema(openapi: dict[str, Any]) -> schemathesis.BaseSchema:
    config = schemathesis.Config.from_dict(
        {"checks": {"negative_data_rejection": {"expected-statuses": REJECTION_STATUSES}}}
    )
    return schemathesis.openapi.from_dict(openapi, config=config)


@pytest.fixture(scope="module")
def registered_agent(stack: LocalStack, fuzz_key: str) -> None:
    """An agent of the fuzz tenant (schema 1), so that steered runs reach the model and the token."""
    body = {
        "id": AGENT,
        "input_schema": {"type": "object"},
        "output_schema": {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]},
    }
    response = requests.post(
        f"{stack.base_url}/v1/_/agents", json=body, headers={"Authorization": f"Bearer {fuzz_key}"}, timeout=TIMEOUT
    )
    assert response.status_code == 200 and response.json()["schema_id"] == 1, response.text


class Tally:
    def __init__(self) -> None:
        self.statuses: collections.Counter[int] = collections.Counter()
        self.by_operation: collections.Counter[tuple[str, str, int]] = collections.Counter()
        self.operations: set[str] = set()
        self.started = time.monotonic()

    @property
    def cases(self) -> int:
        return sum(self.statuses.values())

    @property
    def server_errors(self) -> int:
        return sum(count for status, count in self.statuses.items() if status >= 500)


@pytest.fixture(scope="module")
def tally(request: pytest.FixtureRequest) -> Iterator[Tally]:
    tally = Tally()
    yield tally
    statuses = ", ".join(f"{status}: {count}" for status, count in sorted(tally.statuses.items()))
    line = (
        f"schemathesis: {tally.cases} generated fuzz cases over {len(tally.operations)} operations, "
        f"{tally.server_errors} 5xx, in {time.monotonic() - tally.started:.1f} s (statuses {statuses})"
    )
    # Printed past pytest's output capture, so that `make test` shows the figure even with -q.
    capture = request.config.pluginmanager.getplugin("capturemanager")
    if capture is None:
        print(line)
        return
    with capture.global_and_fixture_disabled():
        print(f"\n{line}")
        if os.environ.get("FUZZ_VERBOSE"):
            for (label, mode, status), count in sorted(tally.by_operation.items()):
                print(f"  {label:<70} {mode:<9} {status}: {count}")


def declared_body_fields(openapi: dict[str, Any], path: str, method: str) -> set[str]:
    """The properties the operation's JSON body schema declares (chat requests also allow others)."""
    body = openapi["paths"][path][method.lower()].get("requestBody", {})
    schema = body.get("content", {}).get("application/json", {}).get("schema", {})
    if "$ref" in schema:
        schema = openapi["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return set(schema.get("properties", {}))


def steer(case: Any, tenant: str, token: str, fields: set[str]) -> None:
    """Replace generated values by ones that pass the first checks (all of them schema-valid)."""
    for name, value in (("tenant", tenant), ("agent_id", AGENT), ("schema_id", 1)):
        if name in case.path_parameters:
            case.path_parameters[name] = value
    if "feedback_token" in case.query:
        case.query["feedback_token"] = token
    if not isinstance(case.body, dict):
        return
    body = case.body
    # Fields the schema does not declare (it allows them) are refused by chat, and a run id must be a UUID.
    for name in [name for name in body if name not in fields or name == "id"]:
        del body[name]
    if "feedback_token" in body:
        body["feedback_token"] = token
    if "model" in body:
        body["model"] = "offline"
    if "version" in body and "task_input" in body:
        body["version"] = {"model": "offline", "instructions": "Answer briefly."}


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda mode: mode.value)
@pytest.mark.parametrize(("path", "method"), ROUTES, ids=[f"{method} {path}" for path, method in ROUTES])
def test_operation_answers_as_documented(
    stack: LocalStack,
    openapi: dict[str, Any],
    schema: schemathesis.BaseSchema,
    fuzz_key: str,
    registered_agent: None,
    mint_token: Callable[..., str],
    tally: Tally,
    path: str,
    method: str,
    mode: GenerationMode,
) -> None:
    operation = schema[path][method]
    fields = declared_body_fields(openapi, path, method)
    tally.operations.add(operation.label)
    session = requests.Session()

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=DETERMINISTIC,
        suppress_health_check=list(HealthCheck),
        print_blob=True,
    )
    @given(case=operation.as_strategy(generation_mode=mode), data=st.data())
    def fuzz(case: Any, data: st.DataObject) -> None:
        # Half the positive cases are steered past the first checks, towards the deep paths.
        if mode is GenerationMode.POSITIVE and data.draw(st.booleans()):
            steer(case, data.draw(st.sampled_from(["_", TENANT])), mint_token(tenant=TENANT, agent_id=AGENT), fields)
        # Mostly with the fuzz tenant's key; sometimes none (the authorizer's 401 must be documented too).
        headers = {"Authorization": f"Bearer {fuzz_key}"} if data.draw(st.integers(0, 9)) else {}
        response = case.call(base_url=stack.base_url, session=session, headers=headers, timeout=TIMEOUT)
        tally.statuses[response.status_code] += 1
        tally.by_operation[(operation.label, mode.value, response.status_code)] += 1
        case.validate_response(response, checks=CHECKS, headers=headers)

    try:
        fuzz()
    except FailureGroup as failures:
        # A BaseExceptionGroup: re-raised as an ordinary failure that pytest reports with its message.
        pytest.fail(str(failures), pytrace=False)


def test_every_documented_operation_is_a_template_route(openapi: dict[str, Any]) -> None:
    documented = sorted((path, method.upper()) for path, item in openapi["paths"].items() for method in item)
    assert documented == ROUTES
