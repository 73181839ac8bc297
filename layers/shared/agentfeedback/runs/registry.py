"""Agents, their schemas, saved versions and environments, in one DynamoDB table (pk tenant#agent, sk kind#id).

Schema ids and version numbers are small integers, as the WorkflowAI SDKs expect. The same schemas
(or the same version properties) always map to the same number: a content-hash item guards each one.

Each agent's `meta` item (its counters) also names its tenant and id, so the sparse `by_tenant` index lists a
tenant's agents: registered ones, and those that only ran (chat completions name agents without registering
them; the run recorder notes them, once per container and agent).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agentfeedback.core.errors import NotFound, ServiceUnavailable, ValidationFailed
from agentfeedback.core.ids import validate_agent_id
from agentfeedback.core.storage import Put, Query, Table, utc_now

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

ENVIRONMENTS = ("dev", "staging", "production")
# The sparse index of the agents' meta items, by tenant and agent id (template.yaml, AgentsTable).
AGENTS_INDEX = "by_tenant"
MAX_AGENT_PAGE = 100


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_hash(value: Any) -> str:
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()[:32]


# What a run's system prompt says when its version gives no instructions (runs.runner.build_messages).
DEFAULT_INSTRUCTIONS = "Complete the task described by the input and output schemas."
# Accepted for SDK compatibility, but they change nothing about how a version runs.
_NOT_IN_VERSION_ID = frozenset({"provider"})


def canonical_properties(properties: dict[str, Any]) -> dict[str, Any]:
    """The properties that identify a version, with defaults applied so that equal behaviour is equal data.

    Absent, null and empty mean the same (the workflowai Python SDK sends `"instructions": ""`, its JS SDK and
    plain REST send nothing); instructions equal to DEFAULT_INSTRUCTIONS are that default; a temperature is a
    number whatever its spelling (1 and 1.0); `provider` is left out. Shape: {name: value}, sorted by name.
    """
    canonical: dict[str, Any] = {}
    for name, value in sorted(properties.items()):
        if name in _NOT_IN_VERSION_ID or value is None or value == "":
            continue
        if name == "instructions" and isinstance(value, str) and value.strip() == DEFAULT_INSTRUCTIONS:
            continue
        if name == "temperature" and isinstance(value, int | float) and not isinstance(value, bool):
            value = float(value)
        canonical[name] = value
    return canonical


def version_id(properties: dict[str, Any]) -> str:
    """A version is identified by its canonical properties (canonical_properties): same behaviour, same id."""
    return content_hash(canonical_properties(properties))


def stable_uid(*parts: str) -> int:
    """A positive integer id derived from names (the SDK wants integer uid and tenant_uid)."""
    return int.from_bytes(hashlib.sha256("/".join(parts).encode()).digest()[:6], "big")


def slugify(value: str) -> str:
    slug = re.sub(r"[^a-z0-9_-]+", "-", value.strip().lower()).strip("-_")
    return slug[:64] or "default"


def _number_in(sort_key: str) -> int:
    """The number in a sort key such as 'schema#3' or 'version#12'."""
    return int(sort_key.split("#", 1)[1])


@dataclass(frozen=True)
class AgentSchema:
    agent_id: str
    schema_id: int
    input_schema: dict[str, Any]
    output_schema: dict[str, Any]

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> AgentSchema:
        """From a stored schema item (pk tenant#agent, sk schema#N); the schemas are kept as JSON text."""
        return cls(
            # A tenant never holds '#', so everything after the first one is the agent id.
            agent_id=str(item["pk"]).split("#", 1)[1],
            schema_id=_number_in(item["sk"]),
            input_schema=json.loads(item["input_schema"]),
            output_schema=json.loads(item["output_schema"]),
        )


def _schema_body(input_schema: dict[str, Any], output_schema: dict[str, Any]) -> dict[str, Any]:
    """The attributes of a schema item besides its key."""
    return {"input_schema": canonical_json(input_schema), "output_schema": canonical_json(output_schema)}


@dataclass(frozen=True)
class SavedVersion:
    number: int
    id: str
    properties: dict[str, Any]
    created_at: str

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> SavedVersion:
        """From a stored version item (sk version#N); the properties are kept as JSON text."""
        return cls(
            number=_number_in(item["sk"]),
            id=str(item["version_id"]),
            properties=json.loads(item["properties"]),
            created_at=str(item["created_at"]),
        )


@dataclass(frozen=True)
class AgentEntry:
    """An agent of a tenant as the directory knows it: since when, and how many schemas and versions it saved."""

    agent_id: str
    created_at: str
    schemas: int
    versions: int

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> AgentEntry:
        """From a meta item (sk meta); an agent that only ran has no counters yet."""
        return cls(
            agent_id=str(item["agent_id"]),
            created_at=str(item.get("created_at", "")),
            schemas=int(item.get("schema_counter", 0)),
            versions=int(item.get("version_counter", 0)),
        )


def _version_body(properties: dict[str, Any], created_at: str) -> dict[str, Any]:
    """The attributes of a version item besides its key (its number is allocated when it is stored)."""
    return {"properties": canonical_json(properties), "version_id": version_id(properties), "created_at": created_at}


class AgentRegistry:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._table = Table(client, table_name)
        # Agents this container has already noted in the directory (note_agent writes once per agent).
        self._noted: set[tuple[str, str]] = set()

    def _key(self, tenant: str, agent_id: str, sk: str) -> dict[str, str]:
        return {"pk": f"{tenant}#{agent_id}", "sk": sk}

    def _get(self, tenant: str, agent_id: str, sk: str) -> dict[str, Any] | None:
        return self._table.get(self._key(tenant, agent_id, sk), consistent=True)

    def _items(self, tenant: str, agent_id: str, prefix: str) -> list[dict[str, Any]]:
        """Every item of the agent whose sort key starts with prefix."""
        values = {":pk": f"{tenant}#{agent_id}", ":prefix": prefix}
        query = Query("pk = :pk AND begins_with(sk, :prefix)", values=values)
        return list(self._table.query_all(query))

    def _next_number(self, tenant: str, agent_id: str, counter: str) -> int:
        updated = self._table.update(
            self._key(tenant, agent_id, "meta"),
            "ADD #counter :one SET created_at = if_not_exists(created_at, :now), tenant = :tenant, agent_id = :agent",
            names={"#counter": counter},
            values={":one": 1, ":now": utc_now(), ":tenant": tenant, ":agent": agent_id},
            returns="UPDATED_NEW",
        )
        assert updated is not None  # an unconditional update always applies
        return int(updated[counter])

    def _claim_number(
        self, tenant: str, agent_id: str, kind: str, digest: str, counter: str, body: dict[str, Any]
    ) -> int:
        """Allocate the next number for new content, or return the one its hash already holds."""
        existing = self._get(tenant, agent_id, f"{kind}_hash#{digest}")
        if existing:
            return int(existing["number"])
        number = self._next_number(tenant, agent_id, counter)
        hash_item = {**self._key(tenant, agent_id, f"{kind}_hash#{digest}"), "number": number}
        written = self._table.put_all(
            [
                # Two concurrent registrations of the same content: one wins, the other reads it.
                Put(hash_item, condition="attribute_not_exists(pk)"),
                Put({**self._key(tenant, agent_id, f"{kind}#{number}"), **body}),
            ]
        )
        if written:
            return number
        winner = self._get(tenant, agent_id, f"{kind}_hash#{digest}")
        if not winner:
            # The hash item refused ours, then vanished (they are never deleted): nothing was written.
            raise ServiceUnavailable(f"Agent {agent_id!r} changed while this {kind} was saved; retry shortly.")
        return int(winner["number"])

    def register(self, tenant: str, agent_id: str, input_schema: dict[str, Any], output_schema: dict[str, Any]) -> int:
        validate_agent_id(agent_id)
        # Imported here: the schema compiler (fastjsonschema) is for registration and runs, not for chat.
        from agentfeedback.runs.schemas import check_schema

        check_schema(input_schema, "input_schema")
        check_schema(output_schema, "output_schema")
        schemas = {"input": input_schema, "output": output_schema}
        body = _schema_body(input_schema, output_schema)
        return self._claim_number(tenant, agent_id, "schema", content_hash(schemas), "schema_counter", body)

    def schema(self, tenant: str, agent_id: str, schema_id: int) -> AgentSchema:
        item = self._get(tenant, agent_id, f"schema#{schema_id}")
        if not item:
            raise NotFound(
                f"Agent {agent_id!r} has no schema {schema_id}. Register it first with POST /v1/{{tenant}}/agents."
            )
        return AgentSchema.from_item(item)

    def save_version(self, tenant: str, agent_id: str, properties: dict[str, Any]) -> SavedVersion:
        validate_agent_id(agent_id)
        body = _version_body(properties, utc_now())
        number = self._claim_number(tenant, agent_id, "version", body["version_id"], "version_counter", body)
        return self.version(tenant, agent_id, number)

    def version(self, tenant: str, agent_id: str, number: int) -> SavedVersion:
        item = self._get(tenant, agent_id, f"version#{number}")
        if not item:
            raise NotFound(f"Agent {agent_id!r} has no saved version {number}.")
        return SavedVersion.from_item(item)

    def versions(self, tenant: str, agent_id: str) -> list[SavedVersion]:
        found = [SavedVersion.from_item(item) for item in self._items(tenant, agent_id, "version#")]
        return sorted(found, key=lambda version: version.number)

    def bind_environment(self, tenant: str, agent_id: str, environment: str, number: int) -> SavedVersion:
        if environment not in ENVIRONMENTS:
            raise ValidationFailed(f"Unknown environment {environment!r}: use one of {', '.join(ENVIRONMENTS)}.")
        saved = self.version(tenant, agent_id, number)
        self._table.put({**self._key(tenant, agent_id, f"env#{environment}"), "number": number})
        return saved

    def environments(self, tenant: str, agent_id: str) -> dict[str, int]:
        """Which saved version number each bound environment points at."""
        return {str(item["sk"]).split("#", 1)[1]: int(item["number"]) for item in self._items(tenant, agent_id, "env#")}

    def environment(self, tenant: str, agent_id: str, environment: str) -> SavedVersion:
        if environment not in ENVIRONMENTS:
            raise ValidationFailed(
                f"Unknown version {environment!r}: use a saved version number, one of "
                f'{", ".join(ENVIRONMENTS)}, or inline properties such as {{"model": "offline"}}.'
            )
        item = self._get(tenant, agent_id, f"env#{environment}")
        if not item:
            raise NotFound(
                f"No version of agent {agent_id!r} is deployed to {environment!r}; bind one with "
                f"PUT /v1/{{tenant}}/agents/{agent_id}/environments/{environment}."
            )
        return self.version(tenant, agent_id, int(item["number"]))

    def note_agent(self, tenant: str, agent_id: str) -> None:
        """Put the agent in its tenant's directory (the by_tenant index) if this container has not yet done so.

        One UpdateItem per agent and container; it keeps the meta item's counters and first date. Raises
        ServiceUnavailable as any write (the run recorder logs it and goes on).
        """
        if (tenant, agent_id) in self._noted:
            return
        self._table.update(
            self._key(tenant, agent_id, "meta"),
            "SET created_at = if_not_exists(created_at, :now), tenant = :tenant, agent_id = :agent",
            values={":now": utc_now(), ":tenant": tenant, ":agent": agent_id},
        )
        self._noted.add((tenant, agent_id))

    def agents(self, tenant: str, limit: int, after: str | None = None) -> tuple[list[AgentEntry], str | None]:
        """One page of the tenant's agents in id order, from just after `after`; and the id to resume after
        (None on the last page). ValidationFailed (422) when `after` is not an agent id."""
        values: dict[str, Any] = {":tenant": tenant}
        condition = "tenant = :tenant"
        if after is not None:
            validate_agent_id(after)
            condition += " AND agent_id > :after"
            values[":after"] = after
        query = Query(condition, index=AGENTS_INDEX, values=values)
        page = self._table.query(query, limit=min(limit, MAX_AGENT_PAGE))
        entries = [AgentEntry.from_item(item) for item in page.items]
        return entries, entries[-1].agent_id if entries and page.last_key is not None else None

    def agent(self, tenant: str, agent_id: str) -> AgentEntry:
        """The agent's directory entry; NotFound for an agent this tenant never registered nor ran."""
        validate_agent_id(agent_id)
        item = self._get(tenant, agent_id, "meta")
        if not item:
            raise NotFound(
                f"No agent {agent_id!r} in this tenant (an agent appears once registered or run); "
                "GET /v1/{tenant}/agents lists them."
            )
        # A meta item written before the directory existed lacks the agent id; its key has it.
        return AgentEntry.from_item({"agent_id": agent_id, **item})
