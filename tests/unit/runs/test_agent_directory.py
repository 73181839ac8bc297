"""The agent directory: GET /v1/{tenant}/agents and /agents/{agent_id}, fed by registration and by every run
(chat agents are never registered), per tenant, paged; served by the sparse by_tenant index, never a scan."""

from __future__ import annotations

import pytest

from agentfeedback import composition
from tests.helpers import load_event
from tests.unit.runs.test_run_handler import OFFLINE, register, run

MESSAGES = [{"role": "user", "content": "Say hello."}]


@pytest.fixture(autouse=True)
def no_scans(aws, monkeypatch):
    def scan(**_):
        raise AssertionError("the agent directory scanned a table")

    monkeypatch.setattr(composition.dynamodb(), "scan", scan)


def agents(invoke, tenant=None, **query):
    status, _, body = invoke("run", load_event("run/list_agents.json", query={"limit": "50", **query}, tenant=tenant))
    assert status == 200, body
    return body


def chat(invoke, agent_id, tenant=None):
    body = {"model": "offline", "messages": MESSAGES, "metadata": {"agent_id": agent_id}}
    status, _, response = invoke("chat", load_event("chat/chat_completion.json", body=body, tenant=tenant))
    assert status == 200, response
    return response


def test_registered_and_chat_agents_are_listed_in_id_order_with_their_counts(aws, invoke):
    register(invoke, "city-facts")
    assert run(invoke, OFFLINE)[0] == 200
    chat(invoke, "greeter")
    listed = agents(invoke)
    assert [(agent["id"], agent["schemas"], agent["versions"]) for agent in listed["agents"]] == [
        ("city-facts", 1, 0),
        ("greeter", 0, 0),
    ]
    assert listed["next_cursor"] is None and all(agent["created_at"] for agent in listed["agents"])


def test_each_tenant_lists_only_its_own_agents(aws, invoke):
    chat(invoke, "acme-bot")
    chat(invoke, "globex-bot", tenant="globex")
    assert [agent["id"] for agent in agents(invoke)["agents"]] == ["acme-bot"]
    assert [agent["id"] for agent in agents(invoke, tenant="globex")["agents"]] == ["globex-bot"]


def test_pages_follow_the_cursor_without_loss_or_repeats(aws, invoke):
    for name in ("delta", "alpha", "echo", "charlie", "bravo"):
        chat(invoke, name)
    seen, cursor = [], None
    for _ in range(5):
        page = agents(invoke, limit="2", **({"cursor": cursor} if cursor else {}))
        seen += [agent["id"] for agent in page["agents"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ["alpha", "bravo", "charlie", "delta", "echo"]


def test_a_container_notes_an_agent_once(aws, invoke, monkeypatch):
    client = composition.dynamodb()
    noted = []
    update_item = client.update_item

    def counting(**request):
        if request["Key"].get("sk") == {"S": "meta"}:
            noted.append(request["Key"]["pk"]["S"])
        return update_item(**request)

    monkeypatch.setattr(client, "update_item", counting)
    for _ in range(3):
        chat(invoke, "greeter")
    assert noted == ["acme#greeter"]


def test_an_agent_registered_before_the_directory_is_found_and_listed_once_it_runs(aws, invoke):
    table = composition.settings().agents_table
    aws.dynamodb.put_item(
        TableName=table,
        Item={"pk": {"S": "acme#legacy"}, "sk": {"S": "meta"}, "schema_counter": {"N": "2"}},
    )
    status, _, body = invoke("run", load_event("run/get_agent.json", path={"agent_id": "legacy"}))
    assert status == 200 and body["id"] == "legacy" and body["schemas"] == 2
    assert agents(invoke)["agents"] == []
    composition.agent_registry().note_agent("acme", "legacy")
    assert [(agent["id"], agent["schemas"]) for agent in agents(invoke)["agents"]] == [("legacy", 2)]


def test_get_agent_answers_the_agent_or_a_clear_404(aws, invoke):
    register(invoke, "city-facts")
    status, _, body = invoke("run", load_event("run/get_agent.json", path={"agent_id": "city-facts"}))
    assert status == 200 and body["id"] == "city-facts" and body["schemas"] == 1
    status, _, body = invoke("run", load_event("run/get_agent.json", path={"agent_id": "nobody"}))
    assert status == 404 and "No agent 'nobody'" in body["error"]["message"]
    status, _, body = invoke("run", load_event("run/get_agent.json", path={"agent_id": "city-facts"}, tenant="globex"))
    assert status == 404


@pytest.mark.parametrize(("query", "field"), [({"limit": "0"}, "limit"), ({"cursor": "Not An Id"}, "agent id")])
def test_bad_paging_is_a_clear_4xx(aws, invoke, query, field):
    status, _, body = invoke("run", load_event("run/list_agents.json", query={"limit": "50", **query}))
    assert 400 <= status < 500 and field in body["error"]["message"]


def test_a_failing_note_does_not_fail_the_run(aws, invoke, monkeypatch):
    def broken(tenant, agent_id):
        raise RuntimeError("directory down")

    monkeypatch.setattr(composition.agent_registry(), "note_agent", broken)
    composition.run_recorder.cache_clear()  # built again with the broken note
    assert chat(invoke, "greeter")["choices"][0]["feedback_token"]
