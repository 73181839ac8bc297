"""GET /v1/{tenant}/agents and GET /v1/{tenant}/agents/{agent_id}: a tenant's registered agents, one agent's details."""

from __future__ import annotations

import pytest

from tests.helpers import load_event
from tests.unit.runs.test_run_handler import INPUT_SCHEMA, OFFLINE, OUTPUT_SCHEMA, call, register


def list_agents(invoke, tenant=None, **query):
    event = load_event("run/list_agents.json", query={name: str(value) for name, value in query.items()}, tenant=tenant)
    return invoke("run", event)


def show(invoke, agent_id, tenant=None):
    return invoke("run", load_event("run/show_agent.json", path={"agent_id": agent_id}, tenant=tenant))


def test_registered_agents_are_listed_in_id_order_once_each(aws, invoke):
    for agent_id in ("zeta", "alpha", "mid-bot", "alpha"):
        assert register(invoke, agent_id=agent_id)[0] == 200
    status, _, body = list_agents(invoke)
    assert status == 200, body
    assert [agent["id"] for agent in body["items"]] == ["alpha", "mid-bot", "zeta"]
    assert body["next_cursor"] is None
    assert all(agent["created_at"].endswith("Z") for agent in body["items"])


def test_first_registration_time_is_kept(aws, invoke):
    register(invoke, agent_id="alpha")
    first = list_agents(invoke)[2]["items"][0]["created_at"]
    register(invoke, agent_id="alpha", output_schema={"type": "object"})
    assert list_agents(invoke)[2]["items"][0]["created_at"] == first


def test_pages_resume_after_the_cursor_and_cover_every_agent(aws, invoke):
    ids = [f"agent-{index:02d}" for index in range(7)]
    for agent_id in reversed(ids):
        register(invoke, agent_id=agent_id)
    seen, cursor = [], None
    while True:
        query = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        status, _, body = list_agents(invoke, **query)
        assert status == 200, body
        assert len(body["items"]) <= 3
        seen += [agent["id"] for agent in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert seen == ids


def test_saving_a_version_also_lists_the_agent(aws, invoke):
    """An agent that only has versions (chat users save them without a schema) is in the catalogue too."""
    assert call(invoke, "save_version", OFFLINE)[0] == 200
    assert [agent["id"] for agent in list_agents(invoke)[2]["items"]] == ["city-facts"]


def test_agents_of_other_tenants_are_not_listed(aws, invoke):
    register(invoke, agent_id="acme-bot", tenant="acme")
    register(invoke, agent_id="globex-bot", tenant="globex")
    assert [agent["id"] for agent in list_agents(invoke, tenant="globex")[2]["items"]] == ["globex-bot"]
    status, _, body = invoke("run", load_event("run/list_agents.json", path={"tenant": "globex"}, tenant="acme"))
    assert status == 403 and body["error"]["code"] == "forbidden"


@pytest.mark.parametrize(
    ("query", "field"), [({"limit": 0}, "limit"), ({"limit": 101}, "limit"), ({"cursor": "A B"}, "cursor")]
)
def test_bad_paging_is_a_clear_422(aws, invoke, query, field):
    status, _, body = list_agents(invoke, **query)
    assert status == 422 and field in body["error"]["message"], body


def test_show_tells_schemas_versions_and_environments(aws, invoke):
    register(invoke)
    register(invoke, output_schema={"type": "object", "properties": {"country": {"type": "string"}}})
    call(invoke, "save_version", OFFLINE)
    call(invoke, "save_version", {**OFFLINE, "temperature": 1})
    call(invoke, "bind_environment", {"version": 2})
    status, _, body = show(invoke, "city-facts")
    assert status == 200, body
    assert body["id"] == "city-facts" and body["created_at"].endswith("Z")
    assert [schema["schema_id"] for schema in body["schemas"]] == [1, 2]
    assert body["schemas"][0]["input_schema"] == INPUT_SCHEMA and body["schemas"][0]["output_schema"] == OUTPUT_SCHEMA
    assert body["version_count"] == 2 and body["environments"] == {"production": 2}


def test_show_an_unknown_agent_or_another_tenants_is_404(aws, invoke):
    register(invoke, tenant="acme")
    status, _, body = show(invoke, "no-such-agent")
    assert status == 404 and "register it with POST /v1/{tenant}/agents" in body["error"]["message"]
    assert show(invoke, "city-facts", tenant="globex")[0] == 404
    assert show(invoke, "Not An Id")[0] == 422
