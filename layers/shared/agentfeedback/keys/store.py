"""API keys: shown once at creation, stored only as SHA-256 hashes, each bound to one tenant."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agentfeedback.core.storage import Query, Table, utc_now

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

KEY_PREFIX = "afk_"
TENANT_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def validate_tenant(tenant: str) -> str:
    if not TENANT_PATTERN.match(tenant):
        raise ValueError("a tenant is 1-63 lowercase letters, digits or dashes, starting with a letter or digit")
    return tenant


@dataclass(frozen=True)
class ApiKeyRecord:
    key_id: str  # the public part: safe to show in lists and logs
    tenant: str
    name: str
    created_at: str
    revoked_at: str | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> ApiKeyRecord:
        """From a stored item (plain values)."""
        return cls(
            key_id=str(item["key_id"]),
            tenant=str(item["tenant"]),
            name=str(item.get("name", "")),
            created_at=str(item["created_at"]),
            revoked_at=item.get("revoked_at"),
        )

    def to_item(self, key_hash: str) -> dict[str, Any]:
        """The stored item, keyed by the hash of the secret key (a revoked key keeps its revoked_at)."""
        return {
            "key_hash": key_hash,
            "key_id": self.key_id,
            "tenant": self.tenant,
            "name": self.name,
            "created_at": self.created_at,
            "revoked_at": self.revoked_at,
        }


class ApiKeyStore:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._table = Table(client, table_name)

    def create(self, tenant: str, name: str = "") -> tuple[str, ApiKeyRecord]:
        """Returns the secret key (shown once) and its record."""
        validate_tenant(tenant)
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        return key, self.import_key(key, tenant, name)

    def import_key(self, key: str, tenant: str, name: str = "") -> ApiKeyRecord:
        """Store a key chosen by the operator (e.g. $LOCAL_API_KEY for development)."""
        validate_tenant(tenant)
        if len(key) < 20:
            raise ValueError("an API key must be at least 20 characters long")
        record = ApiKeyRecord(key_id=key[:12], tenant=tenant, name=name, created_at=utc_now(), revoked_at=None)
        self._table.put(record.to_item(hash_key(key)))
        return record

    def lookup(self, key: str) -> ApiKeyRecord | None:
        item = self._table.get({"key_hash": hash_key(key)})
        return ApiKeyRecord.from_item(item) if item else None

    def _tenant_items(self, tenant: str) -> list[dict[str, Any]]:
        return list(self._table.query_all(Query("tenant = :tenant", index="by_tenant", values={":tenant": tenant})))

    def list(self, tenant: str) -> list[ApiKeyRecord]:
        return [ApiKeyRecord.from_item(item) for item in self._tenant_items(tenant)]

    def revoke(self, tenant: str, key_id: str) -> int:
        """Revoke the tenant's active keys whose public id is key_id; returns how many."""
        revoked = 0
        for item in self._tenant_items(tenant):
            if item["key_id"] == key_id and "revoked_at" not in item:
                self._table.update({"key_hash": item["key_hash"]}, "SET revoked_at = :now", values={":now": utc_now()})
                revoked += 1
        return revoked
