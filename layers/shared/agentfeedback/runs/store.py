"""Every run, with what produced it, kept for a retention period (DynamoDB TTL)."""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from agentfeedback.core.errors import Conflict
from agentfeedback.core.storage import error_code, storage_errors
from agentfeedback.runs.registry import canonical_json

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# DynamoDB items stop at 400 KB: input, output and metadata beyond these sizes are stored truncated (and flagged).
MAX_STORED_BYTES = {"task_input": 150_000, "task_output": 150_000, "metadata": 20_000}


def new_run_id() -> str:
    """A UUIDv7: unique and roughly time-ordered."""
    millis = time.time_ns() // 1_000_000
    value = (millis << 80) | (0x7 << 76) | (int.from_bytes(os.urandom(10), "big") & ((1 << 76) - 1))
    value = (value & ~(0x3 << 62)) | (0x2 << 62)  # RFC 4122 variant
    return str(uuid.UUID(int=value))


def _stored(value: Any, name: str) -> tuple[str, bool]:
    text = canonical_json(value)
    limit = MAX_STORED_BYTES[name]
    encoded = text.encode("utf-8")
    if len(encoded) <= limit:
        return text, False
    return encoded[:limit].decode("utf-8", errors="ignore"), True


@dataclass
class RunRecord:
    run_id: str
    tenant: str
    agent_id: str
    schema_id: int
    version_id: str
    version_properties: dict[str, Any]
    task_input: Any
    task_output: Any
    model: str
    input_tokens: int
    output_tokens: int
    cost_usd: float
    duration_seconds: float
    created_at: str
    metadata: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> RunRecord:
        def loads(name: str) -> Any:
            text = item[name]["S"]
            truncated = item.get(f"{name}_truncated", {}).get("BOOL", False)
            return {"truncated": text} if truncated else json.loads(text)

        return cls(
            run_id=item["run_id"]["S"],
            tenant=item["tenant"]["S"],
            agent_id=item["agent_id"]["S"],
            schema_id=int(item["schema_id"]["N"]),
            version_id=item["version_id"]["S"],
            version_properties=json.loads(item["version_properties"]["S"]),
            task_input=loads("task_input"),
            task_output=loads("task_output"),
            model=item["model"]["S"],
            input_tokens=int(item["input_tokens"]["N"]),
            output_tokens=int(item["output_tokens"]["N"]),
            cost_usd=float(item["cost_usd"]["N"]),
            duration_seconds=float(item["duration_seconds"]["N"]),
            created_at=item["created_at"]["S"],
            metadata=loads("metadata") if "metadata" in item else {},
        )


class RunStore:
    def __init__(self, client: DynamoDBClient, table_name: str, retention_days: int) -> None:
        self._client = client
        self._table = table_name
        self._retention_seconds = retention_days * 86400

    def save(self, run: RunRecord) -> None:
        task_input, input_truncated = _stored(run.task_input, "task_input")
        task_output, output_truncated = _stored(run.task_output, "task_output")
        metadata, metadata_truncated = _stored(run.metadata, "metadata")
        item: dict[str, Any] = {
            "run_id": {"S": run.run_id},
            "tenant": {"S": run.tenant},
            "agent_id": {"S": run.agent_id},
            "tenant_agent": {"S": f"{run.tenant}#{run.agent_id}"},
            "schema_id": {"N": str(run.schema_id)},
            "version_id": {"S": run.version_id},
            "version_properties": {"S": canonical_json(run.version_properties)},
            "task_input": {"S": task_input},
            "task_output": {"S": task_output},
            "task_input_truncated": {"BOOL": input_truncated},
            "task_output_truncated": {"BOOL": output_truncated},
            "model": {"S": run.model},
            "input_tokens": {"N": str(run.input_tokens)},
            "output_tokens": {"N": str(run.output_tokens)},
            "cost_usd": {"N": repr(run.cost_usd)},
            "duration_seconds": {"N": repr(round(run.duration_seconds, 6))},
            "created_at": {"S": run.created_at},
            "metadata": {"S": metadata},
            "metadata_truncated": {"BOOL": metadata_truncated},
        }
        if self._retention_seconds:
            item["expires_at"] = {"N": str(int(time.time()) + self._retention_seconds)}
        try:
            self._client.put_item(
                TableName=self._table,
                Item=item,
                # Run ids are global: a client-chosen id may never overwrite another run (or tenant's).
                ConditionExpression="attribute_not_exists(run_id)",
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                raise Conflict(f"A run with id {run.run_id} already exists; use a new id.") from exc
            raise

    def exists(self, run_id: str) -> bool:
        with storage_errors():
            response = self._client.get_item(
                TableName=self._table, Key={"run_id": {"S": run_id}}, ProjectionExpression="run_id"
            )
        return "Item" in response

    def get(self, tenant: str, run_id: str) -> RunRecord | None:
        item = self._client.get_item(TableName=self._table, Key={"run_id": {"S": run_id}}).get("Item")
        if not item or item["tenant"]["S"] != tenant:
            return None
        return RunRecord.from_item(item)
