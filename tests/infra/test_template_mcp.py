"""template.yaml for the MCP server (McpFunction at /mcp), and the chat function's part in the agent catalogue."""

from __future__ import annotations

import json
import re
from pathlib import Path

from local.template import api_routes, load_template

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = load_template()
RESOURCES = TEMPLATE["Resources"]


def grants_of(function: str) -> dict[str, list[str]]:
    """action -> the resources it is granted on (as JSON text), from the function's inline policy."""
    grants: dict[str, list[str]] = {}
    for statement in RESOURCES[function]["Properties"]["Policies"][0]["Statement"]:
        if not isinstance(statement, dict) or "Effect" not in statement:
            continue  # a conditional statement (Fn::If)
        assert statement["Effect"] == "Allow"
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        for action in actions:
            grants.setdefault(action, []).extend(json.dumps(resource) for resource in resources)
    return grants


def test_mcp_is_one_route_of_its_own_function_behind_the_api_key_authorizer():
    routes = [route for route in api_routes(TEMPLATE) if route.path == "/mcp"]
    assert [(route.function_id, route.method, route.authorizer) for route in routes] == [
        ("McpFunction", "ANY", "ApiKeyAuthorizer")
    ]
    assert RESOURCES["McpFunction"]["Properties"]["CodeUri"] == "functions/mcp/"


def test_mcp_function_only_reads_through_keys_and_indexes():
    grants = grants_of("McpFunction")
    assert set(grants) == {"dynamodb:Query", "dynamodb:GetItem", "dynamodb:BatchGetItem"}
    # get_run reads the run's entries by the keys by_run lists (KEYS_ONLY): ReviewStore.run_feedback.
    assert grants["dynamodb:BatchGetItem"] == [json.dumps({"Fn::GetAtt": ["FeedbackTable", "Arn"]})]
    assert sorted(grants["dynamodb:Query"]) == sorted(
        [
            *(
                json.dumps({"Fn::Sub": f"${{{table}.Arn}}/index/{index}"})
                for table, index in [
                    ("FeedbackTable", "by_agent_time"),
                    ("FeedbackTable", "by_run"),
                ]
            ),
            # Summaries and comparisons read an agent's partition of the aggregates.
            json.dumps({"Fn::GetAtt": ["AggregatesTable", "Arn"]}),
            # The agent catalogue is a partition of AgentsTable (pk = the tenant), read by key.
            json.dumps({"Fn::GetAtt": ["AgentsTable", "Arn"]}),
        ]
    )
    assert sorted(grants["dynamodb:GetItem"]) == sorted(
        json.dumps({"Fn::GetAtt": [table, "Arn"]}) for table in ("RunsTable", "AgentsTable")
    )


def test_mcp_sdk_ships_with_the_function_not_the_shared_layer():
    function_requirements = (ROOT / "functions/mcp/requirements.txt").read_text()
    layer_requirements = (ROOT / "layers/shared/requirements.txt").read_text()
    assert re.search(r"^mcp==", function_requirements, re.MULTILINE)
    assert re.search(r"^mangum==", function_requirements, re.MULTILINE)
    assert not re.search(r"^(mcp|mangum|starlette)\b", layer_requirements, re.MULTILINE)
    # Pins the function shares with the layer are the layer's (the function's copy is the one imported).
    layer_pins = dict(re.findall(r"^([\w\[\]-]+)==(\S+)$", layer_requirements, re.MULTILINE))
    for name, version in re.findall(r"^([\w\[\]-]+)==(\S+)$", function_requirements, re.MULTILINE):
        assert layer_pins.get(name, version) == version, name


def test_chat_may_note_its_agents_in_the_catalogue():
    chat = grants_of("ChatFunction")
    assert chat["dynamodb:UpdateItem"] == [json.dumps({"Fn::GetAtt": ["AgentsTable", "Arn"]})]


def test_mcp_function_has_a_log_group_in_the_errors_query_and_a_url_output():
    group = RESOURCES["McpFunctionLogGroup"]["Properties"]
    assert group["LogGroupName"] == {"Fn::Sub": "/aws/lambda/${McpFunction}"}
    assert {"Ref": "McpFunctionLogGroup"} in RESOURCES["ErrorsQuery"]["Properties"]["LogGroupNames"]
    assert TEMPLATE["Outputs"]["McpUrl"]["Value"]["Fn::Sub"].endswith("/${Stage}/mcp")


def test_mcp_events_in_events_folder_are_posts_to_the_route_with_a_tenant():
    files = sorted((ROOT / "events/mcp").glob("*.json"))
    assert files
    for event_file in files:
        event = json.loads(event_file.read_text())
        assert (event["httpMethod"], event["resource"], event["path"]) == ("POST", "/mcp", "/mcp"), event_file.name
        assert event["requestContext"]["authorizer"]["tenant"]
        assert json.loads(event["body"])["jsonrpc"] == "2.0"
