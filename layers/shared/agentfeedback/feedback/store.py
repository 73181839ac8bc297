"""Reads and writes feedback entries: one item per (run, user), overwritten atomically."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from agentfeedback.core.errors import Conflict, DomainError, ServiceUnavailable, UserLimitReached
from agentfeedback.core.storage import error_code, storage_errors, utc_now
from agentfeedback.tokens import TokenClaims

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

_FEEDBACK_ID_NAMESPACE = uuid.UUID("6f1c1c52-2f43-4c3e-9a4b-5d0f3f0b7a11")


def feedback_key(run_id: str, user_id: str | None) -> str:
    """The table key `run_id#user_id`; anonymous feedback has an empty user part, one slot per run."""
    return f"{run_id}#{user_id or ''}"


def feedback_id(run_id: str, user_id: str | None) -> str:
    """A stable public id for the entry, which reveals neither the run id nor the user id."""
    return str(uuid.uuid5(_FEEDBACK_ID_NAMESPACE, feedback_key(run_id, user_id)))


@dataclass(frozen=True)
class FeedbackEntry:
    id: str
    tenant: str
    agent_id: str
    run_id: str
    version_id: str
    user_id: str | None
    outcome: str
    comment: str | None
    created_at: str
    updated_at: str
    revision: int

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> FeedbackEntry:
        def text(name: str) -> str | None:
            return item[name]["S"] if name in item else None

        return cls(
            id=item["feedback_id"]["S"],
            tenant=item["tenant"]["S"],
            agent_id=item["agent_id"]["S"],
            run_id=item["run_id"]["S"],
            version_id=item["version_id"]["S"],
            user_id=text("user_id") or None,
            outcome=item["outcome"]["S"],
            comment=text("comment"),
            created_at=item["created_at"]["S"],
            updated_at=item["updated_at"]["S"],
            revision=int(item["revision"]["N"]),
        )


# Every overwrite checks that the entry belongs to the token's tenant and run: run ids are unique, and
# this keeps them so even if a run id were ever replayed.
_SAME_RUN = "#tenant_run = :tenant_run"


def _foreign_run(run_id: str) -> DomainError:
    return Conflict(f"Run id {run_id} already has feedback from another tenant; this token cannot change it.")


@dataclass(frozen=True)
class _FeedbackWrite:
    """The UpdateItem that writes one (run, user) entry."""

    key: dict[str, Any]
    expression: str
    names: dict[str, str]
    values: dict[str, Any]

    def update(self, table: str, condition: str) -> dict[str, Any]:
        return {
            "TableName": table,
            "Key": self.key,
            "UpdateExpression": self.expression,
            "ConditionExpression": condition,
            "ExpressionAttributeNames": self.names,
            "ExpressionAttributeValues": self.values,
        }


def _feedback_write(
    claims: TokenClaims, user_id: str | None, outcome: str, comment: str | None, now: str
) -> _FeedbackWrite:
    assigned: dict[str, str] = {
        "updated_at": now,
        "outcome": outcome,
        "tenant": claims.tenant,
        "agent_id": claims.agent_id,
        "run_id": claims.run_id,
        "version_id": claims.version_id,
        "user_id": user_id or "",
        "feedback_id": feedback_id(claims.run_id, user_id),
        "tenant_agent": f"{claims.tenant}#{claims.agent_id}",
        "tenant_run": f"{claims.tenant}#{claims.run_id}",
    }
    removed = []
    if comment:
        assigned["comment"] = comment
    else:
        removed.append("comment")
    if user_id:
        # Sparse index: anonymous entries have no tenant_user and stay out of per-user queries.
        assigned["tenant_user"] = f"{claims.tenant}#{user_id}"
    # Every name goes through a placeholder: several of ours (comment, user, ...) are reserved words.
    names = {f"#{name}": name for name in [*assigned, *removed, "created_at", "revision"]}
    values: dict[str, Any] = {f":{name}": {"S": value} for name, value in assigned.items()}
    values[":one"] = {"N": "1"}
    sets = [f"#{name} = :{name}" for name in assigned]
    # created_at is written once; later posts keep it, so the review index order is stable.
    sets.append("#created_at = if_not_exists(#created_at, :updated_at)")
    expression = "SET " + ", ".join(sets) + " ADD #revision :one"
    if removed:
        expression += " REMOVE " + ", ".join(f"#{name}" for name in removed)
    key = {"pk": {"S": feedback_key(claims.run_id, user_id)}}
    return _FeedbackWrite(key=key, expression=expression, names=names, values=values)


class FeedbackStore:
    """One entry per (run, user), and at most max_users_per_run distinct users per run (0: no cap).

    The cap keeps a leaked token from filling the table; changing an existing vote is always allowed.
    A per-run counter (key: the bare run id) is raised with a conditional write before an entry is
    created, so concurrent posts can never pass the cap. Plain conditional writes rather than a
    transaction: a crash between the two can only leave the counter one too high, on the safe side.
    """

    def __init__(self, client: DynamoDBClient, table_name: str, max_users_per_run: int = 0) -> None:
        self._client = client
        self._table = table_name
        self._max_users = max_users_per_run

    def save(
        self,
        claims: TokenClaims,
        user_id: str | None,
        outcome: str,
        comment: str | None,
        now: str | None = None,
    ) -> FeedbackEntry:
        """A retry or a change of mind overwrites the one entry of (run, user); nothing is ever duplicated."""
        write = _feedback_write(claims, user_id, outcome, comment, now or utc_now())
        if not self._max_users:
            entry = self._write(write, condition=f"attribute_not_exists(pk) OR {_SAME_RUN}")
            if entry is None:
                raise _foreign_run(claims.run_id)
            return entry
        for _attempt in range(3):
            counted = self._count_user(claims.run_id, +1)
            if counted:
                created = self._write(write, condition="attribute_not_exists(pk)")
                if created is not None:
                    return created
                # Not a new user after all (a change of vote, or a concurrent first post): undo the count.
                self._count_user(claims.run_id, -1)
            changed = self._write(write, condition=f"attribute_exists(pk) AND {_SAME_RUN}")
            if changed is not None:
                return changed
            if self.get(claims.run_id, user_id) is not None:
                raise _foreign_run(claims.run_id)
            if not counted:
                raise UserLimitReached(
                    f"This run already has feedback from {self._max_users} different users, the most one run "
                    "accepts; users who already voted can still change their vote."
                )
            # The entry was erased between our two writes: start again.
        raise ServiceUnavailable("Feedback storage is busy right now; retry shortly.")

    def _write(self, write: _FeedbackWrite, condition: str) -> FeedbackEntry | None:
        """The UpdateItem; None when its condition does not hold."""
        try:
            with storage_errors():
                response = self._client.update_item(**write.update(self._table, condition), ReturnValues="ALL_NEW")
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return None
            raise
        return FeedbackEntry.from_item(response["Attributes"])

    def _count_user(self, run_id: str, delta: int) -> bool:
        """Move the run's user counter by delta; False when raising it would pass the cap."""
        update: dict[str, Any] = {
            "TableName": self._table,
            # No '#': a run id never holds one, so this key cannot collide with a (run, user) entry.
            "Key": {"pk": {"S": run_id}},
            "UpdateExpression": "ADD user_count :delta",
            "ExpressionAttributeValues": {":delta": {"N": str(delta)}},
        }
        if delta > 0:
            update["ConditionExpression"] = "attribute_not_exists(user_count) OR user_count < :cap"
            update["ExpressionAttributeValues"][":cap"] = {"N": str(self._max_users)}
        try:
            with storage_errors():
                self._client.update_item(**update)
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def get(self, run_id: str, user_id: str | None) -> FeedbackEntry | None:
        with storage_errors():
            response = self._client.get_item(
                TableName=self._table,
                Key={"pk": {"S": feedback_key(run_id, user_id)}},
                ConsistentRead=True,
            )
        item = response.get("Item")
        return FeedbackEntry.from_item(item) if item else None
