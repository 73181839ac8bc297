"""Agents, their schemas, saved versions and environments, in one DynamoDB table (pk tenant#agent, sk kind#id).

Schema ids and version numbers are small integers, as the WorkflowAI SDKs expect. The same schemas
(or the same version properties) always map to the same number: a content-hash item guards each one.

A tenant's catalogue of agents is one more partition of the same table, pk = the tenant (which never holds
'#', so it meets no agent's partition), sk = agent#ID: every registration and saved version writes its item
(idempotently), and listing the tenant's agents is one query in agent-id order, never a scan.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agentfeedback.core.errors import Conflict, NotFound, ServiceUnavailable, ValidationFailed
from agentfeedback.core.ids import validate_agent_id
from agentfeedback.core.storage import Put, Query, Table, utc_now
from agentfeedback.runs.traffic import Split

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

ENVIRONMENTS = ("dev", "staging", "production")


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
class AgentEntry:
    """One agent of a tenant's catalogue: its id and when it was first registered (ISO 8601, UTC)."""

    agent_id: str
    created_at: str


@dataclass(frozen=True)
class AgentPage:
    """One page of a tenant's agents in id order; `last_agent_id` resumes after it (None: nothing left)."""

    agents: list[AgentEntry]
    last_agent_id: str | None


@dataclass(frozen=True)
class AgentDetails:
    """What `agent` tells about one agent: its schemas (by id), saved versions and bound environments."""

    agent_id: str
    created_at: str | None
    schemas: list[AgentSchema]
    version_count: int
    environments: dict[str, int]


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


def _version_body(properties: dict[str, Any], created_at: str) -> dict[str, Any]:
    """The attributes of a version item besides its key (its number is allocated when it is stored)."""
    return {"properties": canonical_json(properties), "version_id": version_id(properties), "created_at": created_at}


class AgentRegistry:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._table = Table(client, table_name)

    def _key(self, tenant: str, agent_id: str, sk: str) -> dict[str, str]:
        return {"pk": f"{tenant}#{agent_id}", "sk": sk}

    def _get(self, tenant: str, agent_id: str, sk: str) -> dict[str, Any] | None:
        return self._table.get(self._key(tenant, agent_id, sk), consistent=True)

    def _note_agent(self, tenant: str, agent_id: str) -> None:
        """Put the agent in its tenant's catalogue, keeping the time it was first noted.

        Done on every registration, so an agent registered before the catalogue existed joins it the next time
        its client registers it (the SDKs do so when they start).
        """
        self._table.update(
            {"pk": tenant, "sk": f"agent#{agent_id}"},
            "SET agent_id = :agent, created_at = if_not_exists(created_at, :now)",
            values={":agent": agent_id, ":now": utc_now()},
        )

    def _items(self, tenant: str, agent_id: str, prefix: str) -> list[dict[str, Any]]:
        """Every item of the agent whose sort key starts with prefix."""
        values = {":pk": f"{tenant}#{agent_id}", ":prefix": prefix}
        query = Query("pk = :pk AND begins_with(sk, :prefix)", values=values)
        return list(self._table.query_all(query))

    def _count(self, tenant: str, agent_id: str, prefix: str) -> int:
        """How many items of the agent have a sort key starting with prefix (only their keys are returned)."""
        values = {":pk": f"{tenant}#{agent_id}", ":prefix": prefix}
        query = Query("pk = :pk AND begins_with(sk, :prefix)", values=values, projection="sk")
        return sum(1 for _ in self._table.query_all(query))

    def _next_number(self, tenant: str, agent_id: str, counter: str) -> int:
        updated = self._table.update(
            self._key(tenant, agent_id, "meta"),
            "ADD #counter :one SET created_at = if_not_exists(created_at, :now)",
            names={"#counter": counter},
            values={":one": 1, ":now": utc_now()},
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
        self._note_agent(tenant, agent_id)
        return self._claim_number(tenant, agent_id, "schema", content_hash(schemas), "schema_counter", body)

    def schema(self, tenant: str, agent_id: str, schema_id: int) -> AgentSchema:
        item = self._get(tenant, agent_id, f"schema#{schema_id}")
        if not item:
            raise NotFound(
                f"Agent {agent_id!r} has no schema {schema_id}. Register it first with POST /v1/{{tenant}}/agents."
            )
        return AgentSchema.from_item(item)

    def agents(self, tenant: str, limit: int, after: str | None = None) -> AgentPage:
        """Up to `limit` of the tenant's agents in id order, starting after the agent id `after` if given.

        ValidationFailed when `after` is not an agent id. DynamoDB may answer a full page with a last key
        and nothing after it: the next page is then empty, with no further cursor.
        """
        start = None
        if after is not None:
            validate_agent_id(after)
            start = {"pk": tenant, "sk": f"agent#{after}"}
        query = Query("pk = :pk AND begins_with(sk, :prefix)", values={":pk": tenant, ":prefix": "agent#"})
        page = self._table.query(query, limit=limit, start=start)
        agents = [AgentEntry(str(item["agent_id"]), str(item["created_at"])) for item in page.items]
        return AgentPage(agents, agents[-1].agent_id if page.last_key and agents else None)

    def agent(self, tenant: str, agent_id: str) -> AgentDetails:
        """One agent's schemas, number of saved versions and environments; NotFound if it was never registered."""
        validate_agent_id(agent_id)
        schemas = sorted(
            (AgentSchema.from_item(item) for item in self._items(tenant, agent_id, "schema#")),
            key=lambda schema: schema.schema_id,
        )
        meta = self._get(tenant, agent_id, "meta")
        if not schemas and not meta:
            raise NotFound(
                f"No agent {agent_id!r} in this tenant: register it with POST /v1/{{tenant}}/agents "
                "(or list the agents with GET /v1/{tenant}/agents)."
            )
        entry = self._table.get({"pk": tenant, "sk": f"agent#{agent_id}"})
        created_at = entry["created_at"] if entry else (meta or {}).get("created_at")
        return AgentDetails(
            agent_id=agent_id,
            created_at=None if created_at is None else str(created_at),
            schemas=schemas,
            version_count=self._count(tenant, agent_id, "version#"),
            environments=self.environments(tenant, agent_id),
        )

    def save_version(self, tenant: str, agent_id: str, properties: dict[str, Any]) -> SavedVersion:
        validate_agent_id(agent_id)
        body = _version_body(properties, utc_now())
        self._note_agent(tenant, agent_id)
        number = self._claim_number(tenant, agent_id, "version", body["version_id"], "version_counter", body)
        return self.version(tenant, agent_id, number)

    def version(self, tenant: str, agent_id: str, number: int) -> SavedVersion:
        item = self._get(tenant, agent_id, f"version#{number}")
        if not item:
            raise NotFound(f"Agent {agent_id!r} has no saved version {number}.")
        return SavedVersion.from_item(item)

    def number_of(self, tenant: str, agent_id: str, version_id: str) -> int | None:
        """The saved number of a version id (its properties' hash), or None when no saved version has it."""
        item = self._get(tenant, agent_id, f"version_hash#{version_id}")
        return int(item["number"]) if item else None

    def versions(self, tenant: str, agent_id: str) -> list[SavedVersion]:
        found = [SavedVersion.from_item(item) for item in self._items(tenant, agent_id, "version#")]
        return sorted(found, key=lambda version: version.number)

    def deployments(self, tenant: str, agent_id: str) -> list[Deployment]:
        """Every bound environment of the agent, in ENVIRONMENTS order."""
        found = {
            environment: Deployment.from_item(environment, item)
            for item in self._items(tenant, agent_id, "env#")
            if (environment := str(item["sk"]).split("#", 1)[1]) in ENVIRONMENTS
        }
        return [found[name] for name in ENVIRONMENTS if name in found]

    def environments(self, tenant: str, agent_id: str) -> dict[str, int]:
        """Which saved version number each bound environment points at (its main version, canary aside)."""
        return {deployment.environment: deployment.number for deployment in self.deployments(tenant, agent_id)}

    def _current(self, tenant: str, agent_id: str, environment: str) -> Deployment | None:
        item = self._get(tenant, agent_id, f"env#{environment}")
        return Deployment.from_item(environment, item) if item else None

    def deployment(self, tenant: str, agent_id: str, environment: str, *, for_run: bool = False) -> Deployment:
        """What the environment points at. ValidationFailed for an unknown environment (worded for a run's
        `version` when `for_run`), NotFound for an unbound one."""
        _check_environment(environment, for_run)
        current = self._current(tenant, agent_id, environment)
        if current is None:
            raise NotFound(
                f"No version of agent {agent_id!r} is deployed to {environment!r}; bind one with "
                f"PUT /v1/{{tenant}}/agents/{agent_id}/environments/{environment}."
            )
        return current

    def deploy(
        self,
        tenant: str,
        agent_id: str,
        environment: str,
        number: int,
        canary: tuple[int, int] | None = None,
    ) -> Deployment:
        """Point the environment at saved version `number`, or split it with `canary` = (number, weight percent).

        The version it pointed at before is kept as `previous_number` (what `rollback` returns to).
        ValidationFailed for an unknown environment, a canary equal to the main version or a weight outside
        1-99; NotFound for a version that was never saved; Conflict when the environment changed meanwhile.
        """
        _check_environment(environment)
        self.version(tenant, agent_id, number)
        if canary is not None:
            canary_number, weight = canary
            if canary_number == number:
                raise ValidationFailed(
                    f"Invalid request: the canary must be another version than {number}; to send all traffic "
                    "to one version, leave the canary out."
                )
            if not 1 <= weight <= 99:
                raise ValidationFailed("Invalid request: canary weight must be a percentage from 1 to 99.")
            self.version(tenant, agent_id, canary_number)
        current = self._current(tenant, agent_id, environment)
        previous = current.previous_number if current is not None else None
        if current is not None and current.number != number:
            previous = current.number
        wanted = Deployment(
            environment=environment,
            number=number,
            canary_number=canary[0] if canary else None,
            canary_weight=canary[1] if canary else 0,
            previous_number=previous,
        )
        return self._write(tenant, agent_id, wanted, current)

    def promote(self, tenant: str, agent_id: str, environment: str) -> Deployment:
        """The canary becomes the environment's one version; the main one becomes `previous_number`.

        NotFound for an unbound environment; Conflict when it has no canary, or changed meanwhile.
        """
        current = self.deployment(tenant, agent_id, environment)
        if current.canary_number is None:
            raise Conflict(
                f"Environment {environment!r} of agent {agent_id!r} has no canary to promote (it runs version "
                f"{current.number} only); split it first with PUT .../environments/{environment} and a canary."
            )
        wanted = Deployment(environment=environment, number=current.canary_number, previous_number=current.number)
        return self._write(tenant, agent_id, wanted, current)

    def rollback(self, tenant: str, agent_id: str, environment: str) -> Deployment:
        """Drop the canary (the main version takes every run); without a canary, return to `previous_number`.

        One step back: after a rollback to the previous version there is no further one. NotFound for an
        unbound environment; Conflict when there is nothing to roll back to, or the environment changed meanwhile.
        """
        current = self.deployment(tenant, agent_id, environment)
        if current.canary_number is not None:
            wanted = Deployment(environment=environment, number=current.number, previous_number=current.previous_number)
        elif current.previous_number is not None:
            self.version(tenant, agent_id, current.previous_number)
            wanted = Deployment(environment=environment, number=current.previous_number)
        else:
            raise Conflict(
                f"Environment {environment!r} of agent {agent_id!r} has nothing to roll back to: it runs version "
                f"{current.number}, with no canary and no earlier version recorded."
            )
        return self._write(tenant, agent_id, wanted, current)

    def _write(self, tenant: str, agent_id: str, wanted: Deployment, current: Deployment | None) -> Deployment:
        """Store `wanted` if the environment is still as `current` was read (its revision); Conflict otherwise."""
        revision = current.revision if current is not None else 0
        names = {"#number": "number", "#revision": "revision"}
        values: dict[str, Any] = {":number": wanted.number, ":revision": revision + 1, ":now": utc_now()}
        assignments = ["#number = :number", "#revision = :revision", "updated_at = :now"]
        removed = []
        optional = {
            "canary_number": wanted.canary_number,
            "canary_weight": wanted.canary_weight or None,
            "previous_number": wanted.previous_number,
        }
        for attribute, value in optional.items():
            if value is None:
                removed.append(attribute)
            else:
                assignments.append(f"{attribute} = :{attribute}")
                values[f":{attribute}"] = value
        expression = "SET " + ", ".join(assignments) + (" REMOVE " + ", ".join(removed) if removed else "")
        # Environments bound before revisions existed have none: they count as revision 0.
        condition = "#revision = :expected" if revision else "attribute_not_exists(#revision)"
        if revision:
            values[":expected"] = revision
        key = self._key(tenant, agent_id, f"env#{wanted.environment}")
        if self._table.update(key, expression, condition=condition, names=names, values=values) is None:
            raise Conflict(
                f"Environment {wanted.environment!r} of agent {agent_id!r} changed while this change was being "
                "saved; read it again (GET .../versions) and retry."
            )
        return dataclasses.replace(wanted, revision=revision + 1)

    def note_agent(self, tenant: str, agent_id: str) -> None:
        """Put an agent that runs without being registered (chat completions name theirs) in the catalogue.

        The run recorder calls it once per agent and container (runs.recorder.RunRecorder); ServiceUnavailable as
        any write.
        """
        self._note_agent(tenant, agent_id)

    def catalogued(self, tenant: str, agent_id: str) -> bool:
        """Whether the agent is in its tenant's catalogue (registered, or ran since the catalogue exists)."""
        return self._table.get({"pk": tenant, "sk": f"agent#{agent_id}"}) is not None


def _check_environment(environment: str, for_run: bool = False) -> None:
    if environment in ENVIRONMENTS:
        return
    if for_run:
        raise ValidationFailed(
            f"Unknown version {environment!r}: use a saved version number, one of "
            f'{", ".join(ENVIRONMENTS)}, or inline properties such as {{"model": "offline"}}.'
        )
    raise ValidationFailed(f"Unknown environment {environment!r}: use one of {', '.join(ENVIRONMENTS)}.")


@dataclass(frozen=True)
class Deployment:
    """What an environment points at: version `number`, and optionally a canary taking `canary_weight` percent of
    the runs (runs.traffic decides which). `previous_number` is what a rollback without a canary returns to;
    `revision` counts the changes (a write checks it, so two concurrent changes cannot both apply)."""

    environment: str
    number: int
    canary_number: int | None = None
    canary_weight: int = 0
    previous_number: int | None = None
    revision: int = 0

    @classmethod
    def from_item(cls, environment: str, item: dict[str, Any]) -> Deployment:
        """From a stored environment item (sk env#NAME); items written before splits existed hold only `number`."""

        def optional(name: str) -> int | None:
            return int(item[name]) if item.get(name) is not None else None

        return cls(
            environment=environment,
            number=int(item["number"]),
            canary_number=optional("canary_number"),
            canary_weight=optional("canary_weight") or 0,
            previous_number=optional("previous_number"),
            revision=optional("revision") or 0,
        )

    @property
    def split(self) -> Split:
        return Split(number=self.number, canary_number=self.canary_number, canary_weight=self.canary_weight)
