"""The data the MCP tests read, made the way users make it: an agent registered and run (offline model) and a
chat completion through the API, votes posted to the public feedback route; two tenants' API keys."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest
import requests

from agentfeedback.keys.store import ApiKeyStore

TIMEOUT = 30
AGENT = "mcp-bot"
CHAT_AGENT = "mcp-chat"
SCHEMAS = {
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    "output_schema": {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]},
}


@dataclass(frozen=True)
class Seeded:
    url: str
    key: str
    other_key: str
    runs: list[str]  # oldest first: negative with comment, positive with comment, negative without comment
    version: str


def _api(stack, key: str, method: str, path: str, body=None) -> dict:
    response = requests.request(
        method, f"{stack.base_url}{path}", json=body, headers={"Authorization": f"Bearer {key}"}, timeout=TIMEOUT
    )
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture(scope="module")
def seeded(stack, settings) -> Seeded:
    keys = ApiKeyStore(stack.dynamodb_client(), settings.api_keys_table)
    key, _ = keys.create(f"mcp-{uuid.uuid4().hex[:8]}", "mcp tests")
    other_key, _ = keys.create(f"mcp-other-{uuid.uuid4().hex[:8]}", "mcp tests, another tenant")
    schema_id = _api(stack, key, "POST", "/v1/_/agents", {"id": AGENT, **SCHEMAS})["schema_id"]
    votes = [("negative", "Wrong CITY, and slow."), ("positive", "Spot on"), ("negative", None)]
    runs, version = [], ""
    for number, (outcome, comment) in enumerate(votes):
        run = _api(
            stack,
            key,
            "POST",
            f"/v1/_/agents/{AGENT}/schemas/{schema_id}/run",
            {"task_input": {"city": f"City {number}"}, "version": {"model": "offline", "instructions": "Be brief."}},
        )
        runs.append(run["id"])
        version = run["version"]["id"]
        body = {"feedback_token": run["feedback_token"], "outcome": outcome, "user_id": f"user-{number}"}
        if comment:
            body["comment"] = comment
        response = requests.post(f"{stack.base_url}/v1/feedback", json=body, timeout=TIMEOUT)
        assert response.status_code == 200, response.text
    chat = {"model": "offline", "messages": [{"role": "user", "content": "hi"}], "metadata": {"agent_id": CHAT_AGENT}}
    _api(stack, key, "POST", "/v1/chat/completions", chat)
    # Summaries and comparisons read the aggregates: let the streams deliver what was written (as Lambda's event
    # source mappings do a moment after each write).
    stack.wait_for_streams()
    return Seeded(f"{stack.base_url}/mcp", key, other_key, runs, version)
