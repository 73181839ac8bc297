"""The merged OpenAPI document (GET /openapi.json on the local stack) describes every 200 with a concrete schema.

A route that returns a plain dict or Any is documented as `{}` or a bare object, which schemathesis cannot check:
these tests name any such operation. Streaming routes must describe both of their answers (JSON, and each
server-sent event's `data`), and what the handlers send must match what the document says.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
import schemathesis
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from schemathesis.core.transport import Response

from local.openapi import merged_openapi
from tests.helpers import ROOT, FakeContext, load_event, load_handler

EVENT_STREAM = "text/event-stream"


def function_modules() -> list[Any]:
    """Every function under functions/ (merged_openapi keeps those with a Powertools resolver)."""
    return [load_handler(app.parent.name) for app in sorted(ROOT.glob("functions/*/app.py"))]


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return merged_openapi(function_modules(), "API", "http://127.0.0.1")


def resolve(schema: dict[str, Any], document: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def is_concrete(schema: dict[str, Any], document: dict[str, Any]) -> bool:
    """Whether a schema says what the value is: named properties, a constant, or a JSON document that does."""
    schema = resolve(schema, document)
    for union in ("anyOf", "oneOf"):
        if union in schema:
            return all(is_concrete(branch, document) for branch in schema[union])
    if "const" in schema or "enum" in schema:
        return True
    if "contentSchema" in schema:
        return is_concrete(schema["contentSchema"], document)
    if schema.get("type") == "array" and "items" in schema:
        return is_concrete(schema["items"], document)
    return bool(schema.get("properties"))


def undescribed_responses(document: dict[str, Any]) -> list[str]:
    """`METHOD path media-type` of each 200 whose schema is missing or says nothing of the body."""
    found = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            content = operation.get("responses", {}).get("200", {}).get("content") or {"(none)": {}}
            for media_type, entry in content.items():
                schema = entry.get("schema") or {}
                if media_type == EVENT_STREAM:
                    # Each event's `data` must say what JSON it holds, not only that it is a string.
                    schema = resolve(schema, document).get("properties", {}).get("data", {})
                if not is_concrete(schema, document):
                    found.append(f"{method.upper()} {path} {media_type}")
    return found


def test_every_operation_documents_a_concrete_200(document):
    assert document["paths"], "no operation was documented"
    assert undescribed_responses(document) == []


def test_an_untyped_route_is_named():
    untyped = APIGatewayRestResolver(enable_validation=True)

    @untyped.get("/plain")
    def plain() -> dict[str, Any]:
        return {}

    @untyped.get("/anything")
    def anything() -> Any:
        return {}

    @untyped.post("/stream", responses={200: {"description": "events", "content": {EVENT_STREAM: {}}}})
    def stream() -> Any:
        return {}

    document = json.loads(untyped.get_openapi_json_schema())
    assert sorted(undescribed_responses(document)) == [
        "GET /anything application/json",
        "GET /plain application/json",
        f"POST /stream {EVENT_STREAM}",
    ]


def test_routes_that_stream_document_json_and_events(document):
    streaming = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
            if "stream" in resolve(body.get("schema", {}), document).get("properties", {}):
                streaming.append(f"{method.upper()} {path}")
                assert set(operation["responses"]["200"]["content"]) == {"application/json", EVENT_STREAM}
    assert sorted(streaming) == [
        "POST /v1/chat/completions",
        "POST /v1/{tenant}/agents/{agent_id}/schemas/{schema_id}/run",
        "POST /v1/{tenant}/tasks/{agent_id}/schemas/{schema_id}/run",
    ]


# -- what the handlers send conforms to the document (schemathesis' own response check) ---------------------------

MESSAGES = [{"role": "user", "content": "Say hello."}]
AGENT = {
    "id": "city-facts",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
    "output_schema": {"type": "object", "properties": {"country": {"type": "string"}}, "required": ["country"]},
}
OFFLINE = {"model": "offline", "instructions": "Give facts about the city."}


def check_conforms(document: dict[str, Any], path: str, method: str, lambda_response: dict[str, Any]) -> None:
    operation = schemathesis.openapi.from_dict(document)[path][method]
    headers = {name.lower(): values for name, values in lambda_response["multiValueHeaders"].items()}
    request = requests.Request(method, f"http://127.0.0.1{path}").prepare()
    response = Response(lambda_response["statusCode"], headers, lambda_response["body"].encode(), request, 0.0, True)
    assert lambda_response["statusCode"] == 200, lambda_response["body"]
    operation.validate_response(response)


@pytest.mark.parametrize(
    "body",
    [{}, {"stream": True}, {"stream": True, "stream_options": {"include_usage": True}}],
    ids=["json", "events", "events-with-usage"],
)
def test_chat_answers_as_documented(aws, document, body):
    event = load_event("chat/chat_completion.json", body={"model": "offline", "messages": MESSAGES, **body})
    check_conforms(document, "/v1/chat/completions", "POST", load_handler("chat").lambda_handler(event, FakeContext()))


@pytest.mark.parametrize("stream", [False, True], ids=["json", "events"])
def test_run_answers_as_documented(aws, document, stream):
    run = load_handler("run").lambda_handler
    assert run(load_event("run/register_agent.json", body=AGENT), FakeContext())["statusCode"] == 200
    body = {"task_input": {"city": "Paris"}, "version": OFFLINE, "stream": stream}
    event = load_event("run/run_agent.json", body=body, path={"agent_id": "city-facts", "schema_id": "1"})
    path = "/v1/{tenant}/agents/{agent_id}/schemas/{schema_id}/run"
    check_conforms(document, path, "POST", run(event, FakeContext()))


def test_version_routes_answer_as_documented(aws, document):
    run = load_handler("run").lambda_handler
    assert run(load_event("run/register_agent.json", body=AGENT), FakeContext())["statusCode"] == 200
    saved = run(load_event("run/save_version.json", body=OFFLINE), FakeContext())
    check_conforms(document, "/v1/{tenant}/agents/{agent_id}/versions", "POST", saved)
    bound = run(load_event("run/bind_environment.json", body={"version": 1}), FakeContext())
    check_conforms(document, "/v1/{tenant}/agents/{agent_id}/environments/{environment}", "PUT", bound)
    listing = load_event("run/save_version.json")
    listing["httpMethod"] = listing["requestContext"]["httpMethod"] = "GET"
    listing["body"] = None
    check_conforms(document, "/v1/{tenant}/agents/{agent_id}/versions", "GET", run(listing, FakeContext()))
