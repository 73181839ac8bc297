"""Property tests of the mcp function, in-process (moto): whatever body or tool arguments reach it, it answers
JSON-RPC in JSON and never a 5xx; a tool call with arguments of any shape is a result or a tool error."""

from __future__ import annotations

import json
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import FakeContext, load_event, load_handler

PROPERTY = settings(
    max_examples=int(os.environ.get("PROPERTY_EXAMPLES") or 60),  # more with `make fuzz`
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
TOOLS = [
    "list_agents",
    "list_feedback",
    "feedback_summary",
    "get_run",
    "negative_comments",
    "compare_versions",
    "no_such_tool",
]
ARGUMENT_NAMES = ["agent_id", "run_id", "outcome", "version", "since", "until", "user_id", "has_comment", "search"]
ARGUMENT_NAMES += ["limit", "cursor", "days", "max_chars"]

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text()
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)
plausible = st.sampled_from(["support-bot", "negative", "2026-11-02", "0", "-1", "", "../..", "\u202e", "x" * 300])
arguments = st.dictionaries(st.sampled_from(ARGUMENT_NAMES), plausible | json_values, max_size=5)


def post(body: str) -> dict:
    response = load_handler("mcp").lambda_handler(load_event("mcp/list_tools.json", body=body), FakeContext())
    assert response["statusCode"] < 500, response
    return response


@PROPERTY
@given(body=st.text(max_size=200) | json_values.map(json.dumps))
def test_any_body_is_answered_without_a_5xx(aws, body):
    response = post(body)
    if response["body"]:
        json.loads(response["body"])


@PROPERTY
@given(tool=st.sampled_from(TOOLS), args=arguments)
def test_any_tool_arguments_give_a_result_or_a_tool_error(aws, tool, args):
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": tool, "arguments": args}}
    response = post(json.dumps(body))
    assert response["statusCode"] == 200, response
    result = json.loads(response["body"])["result"]
    if result["isError"]:
        text = result["content"][0]["text"]
        # An anticipated refusal names what went wrong; the SDK's bare "Error executing tool X" is a crash.
        assert text.rstrip(".") != f"Error executing tool {tool}", text
    else:
        assert tool != "no_such_tool" and isinstance(result["structuredContent"], dict)
