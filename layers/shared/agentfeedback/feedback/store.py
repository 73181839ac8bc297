"""Reads and writes feedback entries: one item per (run, user), overwritten atomically."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agentfeedback.core.errors import Conflict, DomainError, ServiceUnavailable, UserLimitReached
from agentfeedback.core.storage import Table, utc_now
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
        """From a stored item (plain values, as `core.storage.Table` returns them)."""
        return cls(
            id=str(item["feedback_id"]),
            tenant=str(item["tenant"]),
            agent_id=str(item["agent_id"]),
            run_id=str(item["run_id"]),
            version_id=str(item["version_id"]),
            # Anonymous entries store an empty user_id (it is part of the key).
            user_id=item.get("user_id") or None,
            outcome=str(item["outcome"]),
            comment=item.get("comment"),
            created_at=str(item["created_at"]),
            updated_at=str(item["updated_at"]),
            revision=int(item["revision"]),
        )


# Every overwrite checks that the entry belongs to the token's tenant and run: run ids are unique, and
# this keeps them so even if a run id were ever replayed.
_SAME_RUN = "#tenant_run = :tenant_run"


def _foreign_run(run_id: str) -> DomainError:
    return Conflict(f"Run id {run_id} already has feedback from another tenant; this token cannot change it.")


@dataclass(frozen=True)
class _FeedbackWrite:
    """The UpdateItem that writes one (run, user) entry, under a condition each attempt chooses."""

    key: dict[str, str]
    expression: str
    names: dict[str, str]
    values: dict[str, Any]


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
    values: dict[str, Any] = {f":{name}": value for name, value in assigned.items()}
    values[":one"] = 1
    sets = [f"#{name} = :{name}" for name in assigned]
    # created_at is written once; later posts keep it, so the review index order is stable.
    sets.append("#created_at = if_not_exists(#created_at, :updated_at)")
    expression = "SET " + ", ".join(sets) + " ADD #revision :one"
    if removed:
        expression += " REMOVE " + ", ".join(f"#{name}" for name in removed)
    key = {"pk": feedback_key(claims.run_id, user_id)}
    return _FeedbackWrite(key=key, expression=expression, names=names, values=values)


class FeedbackStore:
    """One entry per (run, user), and at most max_users_per_run distinct users per run (0: no cap).

    The cap keeps a leaked token from filling the table; changing an existing vote is always allowed.
    A per-run counter (key: the bare run id) is raised with a conditional write before an entry is
    created, so concurrent posts can never pass the cap. Plain conditional writes rather than a
    transaction: a crash between the two can only leave the counter one too high, on the safe side.
    """

    def __init__(self, client: DynamoDBClient, table_name: str, max_users_per_run: int = 0) -> None:
        self._table = Table(client, table_name)
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
        item = self._table.update(
            write.key,
            write.expression,
            condition=condition,
            names=write.names,
            values=write.values,
            returns="ALL_NEW",
        )
        return None if item is None else FeedbackEntry.from_item(item)

    def _count_user(self, run_id: str, delta: int) -> bool:
        """Move the run's user counter by delta; False when raising it would pass the cap."""
        values: dict[str, Any] = {":delta": delta}
        condition = None
        if delta > 0:
            condition = "attribute_not_exists(user_count) OR user_count < :cap"
            values[":cap"] = self._max_users
        # No '#': a run id never holds one, so this key cannot collide with a (run, user) entry.
        counted = self._table.update({"pk": run_id}, "ADD user_count :delta", condition=condition, values=values)
        return counted is not None

    def get(self, run_id: str, user_id: str | None) -> FeedbackEntry | None:
        item = self._table.get({"pk": feedback_key(run_id, user_id)}, consistent=True)
        return FeedbackEntry.from_item(item) if item else None
