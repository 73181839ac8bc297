"""Every run, with what produced it, kept for a retention period (DynamoDB TTL)."""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agentfeedback.core.errors import Conflict
from agentfeedback.core.storage import Query, Table, utc_now
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
    end_user: str | None = None  # the end user the backend named (canonical), whom the run's token binds
    erased: bool = False  # the end user was erased: input, output and metadata are gone (RunStore.erase_end_user)

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
            end_user=item.get("end_user"),
            erased="erased_at" in item,
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
            # The public function reads end_user (and only it) to know whom a bound token speaks for; tenant_user
            # keys the sparse by_user index, through which erasing an end user finds their runs.
            "end_user": self.end_user,
            "tenant_user": f"{self.tenant}#{self.end_user}" if self.end_user else None,
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

    def erase_end_user(self, tenant: str, user_id: str) -> int:
        """Erase what one end user's runs in the tenant hold of them; return how many runs were erased.

        Input, output and metadata become null, null and {} and the end user is removed (so the run leaves the
        by_user index); the run stays, with its version, cost and duration, which review counts. Safe to repeat
        (a second call finds nothing). The runs are found through the sparse RunsTable.by_user index, which is
        eventually consistent: a run stored a moment ago may be missed, and a repeated request then erases it.
        """
        owner = f"{tenant}#{user_id}"
        found = self._table.query_all(
            Query("#owner = :owner", index="by_user", names={"#owner": "tenant_user"}, values={":owner": owner})
        )
        run_ids = [str(item["run_id"]) for item in found]
        erased = 0
        for run_id in run_ids:
            written = self._table.update_checked(
                {"run_id": run_id},
                "SET #input = :null, #output = :null, #metadata = :empty, #erased_at = :now, "
                "#input_truncated = :false, #output_truncated = :false, #metadata_truncated = :false "
                "REMOVE #end_user, #owner",
                condition="#owner = :owner",
                names={
                    "#input": "task_input",
                    "#output": "task_output",
                    "#metadata": "metadata",
                    "#erased_at": "erased_at",
                    "#input_truncated": "task_input_truncated",
                    "#output_truncated": "task_output_truncated",
                    "#metadata_truncated": "metadata_truncated",
                    "#end_user": "end_user",
                    "#owner": "tenant_user",
                },
                values={":null": "null", ":empty": "{}", ":now": utc_now(), ":false": False, ":owner": owner},
            )
            erased += written.applied
        return erased
