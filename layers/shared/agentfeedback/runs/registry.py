"""Agents, their schemas, saved versions and environments, in one DynamoDB table (pk tenant#agent, sk kind#id).

Schema ids and version numbers are small integers, as the WorkflowAI SDKs expect. The same schemas
(or the same version properties) always map to the same number: a content-hash item guards each one.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from agentfeedback.core.errors import NotFound, ValidationFailed
from agentfeedback.core.ids import validate_agent_id
from agentfeedback.core.storage import error_code, utc_now
from agentfeedback.runs.schemas import check_schema

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

ENVIRONMENTS = ("dev", "staging", "production")


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_hash(value: Any) -> str:
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()[:32]


def version_id(properties: dict[str, Any]) -> str:
    """A version is identified by its properties: the same model, instructions and temperature, the same id."""
    meaningful = {key: value for key, value in properties.items() if value is not None}
    return content_hash(meaningful)


def stable_uid(*parts: str) -> int:
    """A positive integer id derived from names (the SDK wants integer uid and tenant_uid)."""
    return int.from_bytes(hashlib.sha256("/".join(parts).encode()).digest()[:6], "big")


def slugify(value: str) -> str:
    slug = re.sub(r"[^a-z0-9_-]+", "-", value.strip().lower()).strip("-_")
    return slug[:64] or "default"


@dataclass(frozen=True)
class AgentSchema:
    agent_id: str
    schema_id: int
    input_schema: dict[str, Any]
    output_schema: dict[str, Any]


@dataclass(frozen=True)
class SavedVersion:
    number: int
    id: str
    properties: dict[str, Any]
    created_at: str


class AgentRegistry:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def _key(self, tenant: str, agent_id: str, sk: str) -> dict[str, Any]:
        return {"pk": {"S": f"{tenant}#{agent_id}"}, "sk": {"S": sk}}

    def _get(self, tenant: str, agent_id: str, sk: str) -> dict[str, Any] | None:
        return self._client.get_item(
            TableName=self._table, Key=self._key(tenant, agent_id, sk), ConsistentRead=True
        ).get("Item")

    def _next_number(self, tenant: str, agent_id: str, counter: str) -> int:
        response = self._client.update_item(
            TableName=self._table,
            Key=self._key(tenant, agent_id, "meta"),
            UpdateExpression="ADD #counter :one SET created_at = if_not_exists(created_at, :now)",
            ExpressionAttributeNames={"#counter": counter},
            ExpressionAttributeValues={":one": {"N": "1"}, ":now": {"S": utc_now()}},
            ReturnValues="UPDATED_NEW",
        )
        return int(response["Attributes"][counter]["N"])

    def _claim_number(
        self, tenant: str, agent_id: str, kind: str, digest: str, counter: str, body: dict[str, Any]
    ) -> int:
        """Allocate the next number for new content, or return the one its hash already holds."""
        existing = self._get(tenant, agent_id, f"{kind}_hash#{digest}")
        if existing:
            return int(existing["number"]["N"])
        number = self._next_number(tenant, agent_id, counter)
        hash_item = {**self._key(tenant, agent_id, f"{kind}_hash#{digest}"), "number": {"N": str(number)}}
        try:
            self._client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": hash_item,
                            # Two concurrent registrations of the same content: one wins, the other reads it.
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": {**self._key(tenant, agent_id, f"{kind}#{number}"), **body},
                        }
                    },
                ]
            )
        except ClientError as exc:
            if error_code(exc) != "TransactionCanceledException":
                raise
            winner = self._get(tenant, agent_id, f"{kind}_hash#{digest}")
            if not winner:
                raise
            return int(winner["number"]["N"])
        return number

    def register(self, tenant: str, agent_id: str, input_schema: dict[str, Any], output_schema: dict[str, Any]) -> int:
        validate_agent_id(agent_id)
        check_schema(input_schema, "input_schema")
        check_schema(output_schema, "output_schema")
        schemas = {"input": input_schema, "output": output_schema}
        body = {
            "input_schema": {"S": canonical_json(input_schema)},
            "output_schema": {"S": canonical_json(output_schema)},
        }
        return self._claim_number(tenant, agent_id, "schema", content_hash(schemas), "schema_counter", body)

    def schema(self, tenant: str, agent_id: str, schema_id: int) -> AgentSchema:
        item = self._get(tenant, agent_id, f"schema#{schema_id}")
        if not item:
            raise NotFound(
                f"Agent {agent_id!r} has no schema {schema_id}. Register it first with POST /v1/{{tenant}}/agents."
            )
        return AgentSchema(
            agent_id=agent_id,
            schema_id=schema_id,
            input_schema=json.loads(item["input_schema"]["S"]),
            output_schema=json.loads(item["output_schema"]["S"]),
        )

    def save_version(self, tenant: str, agent_id: str, properties: dict[str, Any]) -> SavedVersion:
        validate_agent_id(agent_id)
        vid = version_id(properties)
        now = utc_now()
        body = {"properties": {"S": canonical_json(properties)}, "version_id": {"S": vid}, "created_at": {"S": now}}
        number = self._claim_number(tenant, agent_id, "version", vid, "version_counter", body)
        return self.version(tenant, agent_id, number)

    def version(self, tenant: str, agent_id: str, number: int) -> SavedVersion:
        item = self._get(tenant, agent_id, f"version#{number}")
        if not item:
            raise NotFound(f"Agent {agent_id!r} has no saved version {number}.")
        return SavedVersion(
            number=number,
            id=item["version_id"]["S"],
            properties=json.loads(item["properties"]["S"]),
            created_at=item["created_at"]["S"],
        )

    def versions(self, tenant: str, agent_id: str) -> list[SavedVersion]:
        pages = self._client.get_paginator("query").paginate(
            TableName=self._table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues={":pk": {"S": f"{tenant}#{agent_id}"}, ":prefix": {"S": "version#"}},
        )
        found = [
            SavedVersion(
                number=int(item["sk"]["S"].split("#", 1)[1]),
                id=item["version_id"]["S"],
                properties=json.loads(item["properties"]["S"]),
                created_at=item["created_at"]["S"],
            )
            for page in pages
            for item in page["Items"]
        ]
        return sorted(found, key=lambda version: version.number)

    def bind_environment(self, tenant: str, agent_id: str, environment: str, number: int) -> SavedVersion:
        if environment not in ENVIRONMENTS:
            raise ValidationFailed(f"Unknown environment {environment!r}: use one of {', '.join(ENVIRONMENTS)}.")
        saved = self.version(tenant, agent_id, number)
        self._client.put_item(
            TableName=self._table,
            Item={**self._key(tenant, agent_id, f"env#{environment}"), "number": {"N": str(number)}},
        )
        return saved

    def environments(self, tenant: str, agent_id: str) -> dict[str, int]:
        """Which saved version number each bound environment points at."""
        items = self._client.query(
            TableName=self._table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues={":pk": {"S": f"{tenant}#{agent_id}"}, ":prefix": {"S": "env#"}},
        )["Items"]
        return {item["sk"]["S"].split("#", 1)[1]: int(item["number"]["N"]) for item in items}

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
        return self.version(tenant, agent_id, int(item["number"]["N"]))
