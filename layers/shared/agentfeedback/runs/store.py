"""Every run, with what produced it, kept for a retention period (DynamoDB TTL)."""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agentfeedback.core.errors import Conflict
from agentfeedback.core.storage import Table
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
        """From a stored item (plain values); input, output and metadata are kept as JSON text."""

        def loads(name: str) -> Any:
            text = item[name]
            return {"truncated": text} if item.get(f"{name}_truncated", False) else json.loads(text)

        return cls(
            run_id=str(item["run_id"]),
            tenant=str(item["tenant"]),
            agent_id=str(item["agent_id"]),
            schema_id=int(item["schema_id"]),
            version_id=str(item["version_id"]),
            version_properties=json.loads(item["version_properties"]),
            task_input=loads("task_input"),
            task_output=loads("task_output"),
            model=str(item["model"]),
            input_tokens=int(item["input_tokens"]),
            output_tokens=int(item["output_tokens"]),
            cost_usd=float(item["cost_usd"]),
            duration_seconds=float(item["duration_seconds"]),
            created_at=str(item["created_at"]),
            metadata=loads("metadata") if "metadata" in item else {},
        )

    def to_item(self) -> dict[str, Any]:
        """The stored item, without its expiry; input, output and metadata past their size limits are truncated."""
        task_input, input_truncated = _stored(self.task_input, "task_input")
        task_output, output_truncated = _stored(self.task_output, "task_output")
        metadata, metadata_truncated = _stored(self.metadata, "metadata")
        return {
            "run_id": self.run_id,
            "tenant": self.tenant,
            "agent_id": self.agent_id,
            "tenant_agent": f"{self.tenant}#{self.agent_id}",
            "schema_id": self.schema_id,
            "version_id": self.version_id,
            "version_properties": canonical_json(self.version_properties),
            "task_input": task_input,
            "task_output": task_output,
            "task_input_truncated": input_truncated,
            "task_output_truncated": output_truncated,
            "model": self.model,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cost_usd": self.cost_usd,
            "duration_seconds": round(self.duration_seconds, 6),
            "created_at": self.created_at,
            "metadata": metadata,
            "metadata_truncated": metadata_truncated,
        }


class RunStore:
    def __init__(self, client: DynamoDBClient, table_name: str, retention_days: int) -> None:
        self._table = Table(client, table_name)
        self._retention_seconds = retention_days * 86400

    def save(self, run: RunRecord) -> None:
        """Conflict when a run with this id already exists (in any tenant)."""
        item = run.to_item()
        if self._retention_seconds:
            item["expires_at"] = int(time.time()) + self._retention_seconds
        # Run ids are global: a client-chosen id may never overwrite another run (or tenant's).
        if not self._table.put(item, condition="attribute_not_exists(run_id)"):
            raise Conflict(f"A run with id {run.run_id} already exists; use a new id.")

    def exists(self, run_id: str) -> bool:
        return self._table.get({"run_id": run_id}, projection="run_id") is not None

    def get(self, tenant: str, run_id: str) -> RunRecord | None:
        item = self._table.get({"run_id": run_id})
        if not item or item["tenant"] != tenant:
            return None
        return RunRecord.from_item(item)
