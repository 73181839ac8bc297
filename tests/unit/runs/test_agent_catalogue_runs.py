"""Agents that run without being registered (chat completions name theirs) join their tenant's catalogue
(GET /v1/{tenant}/agents), noted once per agent and container, and a failing note never fails the run."""

from __future__ import annotations

from agentfeedback import composition
from tests.helpers import load_event

MESSAGES = [{"role": "user", "content": "Say hello."}]


def chat(invoke, agent_id, tenant=None):
    body = {"model": "offline", "messages": MESSAGES, "metadata": {"agent_id": agent_id}}
    status, _, response = invoke("chat", load_event("chat/chat_completion.json", body=body, tenant=tenant))
    assert status == 200, response
    return response


def listed(invoke, tenant=None):
    status, _, body = invoke("run", load_event("run/list_agents.json", query={}, tenant=tenant))
    assert status == 200, body
    return [agent["id"] for agent in body["items"]]


def test_chat_agents_are_listed_for_their_tenant_only(aws, invoke):
    chat(invoke, "greeter")
    chat(invoke, "globex-bot", tenant="globex")
    assert listed(invoke) == ["greeter"]
    assert listed(invoke, tenant="globex") == ["globex-bot"]


def test_a_container_notes_an_agent_once(aws, invoke, monkeypatch):
    client = composition.dynamodb()
    noted = []
    update_item = client.update_item

    def counting(**request):
        if request["Key"]["sk"]["S"].startswith("agent#"):
            noted.append((request["Key"]["pk"]["S"], request["Key"]["sk"]["S"]))
        return update_item(**request)

    monkeypatch.setattr(client, "update_item", counting)
    for _ in range(3):
        chat(invoke, "greeter")
    assert noted == [("acme", "agent#greeter")]


def test_a_failing_note_does_not_fail_the_run_and_is_tried_again(aws, invoke, monkeypatch):
    calls = []

    def broken(tenant, agent_id):
        calls.append(agent_id)
        raise RuntimeError("catalogue down")

    monkeypatch.setattr(composition.agent_registry(), "note_agent", broken)
    composition.run_recorder.cache_clear()  # built again with the broken note
    assert chat(invoke, "greeter")["choices"][0]["feedback_token"]
    assert chat(invoke, "greeter")["choices"][0]["feedback_token"]
    assert calls == ["greeter", "greeter"]
