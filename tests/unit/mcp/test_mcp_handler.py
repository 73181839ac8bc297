"""The mcp function, called as Lambda calls it, with API Gateway events from events/mcp/."""

from __future__ import annotations

import json

from tests.helpers import FakeContext, load_event, load_handler
from tests.unit.mcp.conftest import AGENT


def invoke(name, tenant=None, body=None, **headers):
    event = load_event(f"mcp/{name}.json", tenant=tenant, body=body, **headers)
    return load_handler("mcp").lambda_handler(event, FakeContext())


def tool_call(tool, tenant=None, **arguments):
    body = {"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": {"name": tool, "arguments": arguments}}
    response = invoke("call_negative_comments", tenant=tenant, body=body)
    assert response["statusCode"] == 200, response
    return json.loads(response["body"])["result"]


def test_one_container_serves_invocation_after_invocation(aws):
    # An app whose session manager ran once cannot run again (python-sdk issue 3121): each call builds its own.
    for name in ("initialize", "list_tools", "call_negative_comments", "initialize", "list_tools"):
        response = invoke(name)
        assert response["statusCode"] == 200, response
        assert "error" not in json.loads(response["body"])


def test_initialize_and_list_tools_answer_the_servers_tools(aws):
    initialized = json.loads(invoke("initialize")["body"])["result"]
    assert initialized["serverInfo"]["name"] == "agent-feedback"
    assert initialized["protocolVersion"] == "2025-06-18"
    tools = json.loads(invoke("list_tools")["body"])["result"]["tools"]
    assert sorted(tool["name"] for tool in tools) == [
        "compare_versions",
        "feedback_summary",
        "get_run",
        "list_agents",
        "list_feedback",
        "negative_comments",
    ]
    assert all(tool["annotations"]["readOnlyHint"] for tool in tools)


def test_responses_are_json_without_a_session_and_with_the_apis_headers(aws):
    response = invoke("list_tools")
    headers = {name.lower(): value for name, value in response["headers"].items()}
    assert headers["content-type"] == "application/json"
    assert headers["x-content-type-options"] == "nosniff" and headers["cache-control"] == "no-store"
    assert "mcp-session-id" not in headers
    assert isinstance(response["statusCode"], int) and type(response["statusCode"]) is int


def test_tools_read_the_tenant_of_the_key_from_the_authorizer(aws, data):
    data.vote("run-acme", "negative", 0, comment="acme's comment")
    data.vote("run-globex", "negative", 1, comment="globex's comment", tenant="globex")
    acme = tool_call("negative_comments", agent_id=AGENT)
    assert [c["run_id"] for c in acme["structuredContent"]["comments"]] == ["run-acme"]
    globex = tool_call("negative_comments", tenant="globex", agent_id=AGENT)
    assert [c["run_id"] for c in globex["structuredContent"]["comments"]] == ["run-globex"]


def test_an_event_without_the_authorizers_tenant_gets_a_tool_error(aws):
    event = load_event("mcp/call_negative_comments.json")
    del event["requestContext"]["authorizer"]
    response = load_handler("mcp").lambda_handler(event, FakeContext())
    result = json.loads(response["body"])["result"]
    assert result["isError"] and "Missing or invalid API key" in result["content"][0]["text"]


def test_a_storage_failure_is_a_tool_error_not_a_5xx(aws, monkeypatch):
    from botocore.exceptions import EndpointConnectionError

    from agentfeedback import composition

    def unreachable(**_):
        raise EndpointConnectionError(endpoint_url="http://dynamodb")

    monkeypatch.setattr(composition.dynamodb(), "query", unreachable)
    result = tool_call("list_agents")
    assert result["isError"] and "retry" in result["content"][0]["text"]


def test_a_body_that_is_not_json_rpc_is_a_json_rpc_error_not_a_5xx(aws):
    response = invoke("list_tools", body="{not json")
    assert 400 <= response["statusCode"] < 500
    assert json.loads(response["body"])["error"]["code"] < 0


def test_get_and_delete_are_405_at_once_as_a_stateless_server_answers(aws):
    for method in ("GET", "DELETE"):
        event = load_event("mcp/list_tools.json")
        event["httpMethod"], event["body"] = method, None
        response = load_handler("mcp").lambda_handler(event, FakeContext())
        assert response["statusCode"] == 405 and response["headers"]["Allow"] == "POST"
        assert "stateless" in json.loads(response["body"])["error"]["message"]


def test_the_route_is_found_whatever_base_path_precedes_it(aws):
    event = load_event("mcp/list_tools.json")
    event["path"] = "/feedback-api/mcp"  # a custom domain's base path mapping
    response = load_handler("mcp").lambda_handler(event, FakeContext())
    assert response["statusCode"] == 200 and json.loads(response["body"])["result"]["tools"]
