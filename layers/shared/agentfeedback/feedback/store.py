"""Reads and writes feedback entries: one item per (run, user), overwritten atomically."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

from agentfeedback.core.errors import Conflict, DomainError, ServiceUnavailable, UserLimitReached
from agentfeedback.core.storage import Table, utc_now
from agentfeedback.tokens import TokenClaims

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def feedback_key(run_id: str, user_id: str | None) -> str:
    """The table key `run_id#user_id`; anonymous feedback has an empty user part, one slot per run."""
    return f"{run_id}#{user_id or ''}"


def new_feedback_id() -> str:
    """A public id for a new entry: random (UUIDv4), so it reveals nothing of the run or the user.

    Written once, when the entry is created (`if_not_exists`); entries created before ids were random keep the
    UUIDv5 they were given then.
    """
    return str(uuid.uuid4())


# What a save did to the entry: created it, changed its outcome, changed only its comment, or nothing (an
# identical repost, or a retry of a write that was applied but whose answer was lost).
Change = Literal["created", "outcome", "comment", "none"]


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
    revision: int  # 1 when created; each real change (outcome or comment) adds 1
    change: Change = "none"  # what the save that returned this entry did (reads: "none")

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


def _change_of(item: dict[str, Any]) -> Change:
    """What a save that succeeded did, from the item its UpdateItem returned (ALL_NEW, with previous_outcome:
    the outcome it replaced, empty when it created the entry)."""
    if int(item["revision"]) == 1:
        return "created"
    return "outcome" if item["previous_outcome"] != item["outcome"] else "comment"


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
    differs: str  # holds when the entry exists and this write would change its outcome or comment


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
    fixed = ["created_at", "revision", "feedback_id", "previous_outcome"]
    names = {f"#{name}": name for name in [*assigned, *removed, *fixed]}
    values: dict[str, Any] = {f":{name}": value for name, value in assigned.items()}
    values.update({":one": 1, ":new_id": new_feedback_id(), ":no_outcome": ""})
    sets = [f"#{name} = :{name}" for name in assigned]
    # created_at and the public id are written once; later posts keep them, so the review index order is stable.
    sets.append("#created_at = if_not_exists(#created_at, :updated_at)")
    sets.append("#feedback_id = if_not_exists(#feedback_id, :new_id)")
    # Operands read the item as it was before this update: this keeps the outcome being replaced.
    sets.append("#previous_outcome = if_not_exists(#outcome, :no_outcome)")
    expression = "SET " + ", ".join(sets) + " ADD #revision :one"
    if removed:
        expression += " REMOVE " + ", ".join(f"#{name}" for name in removed)
    # A change must change something: an identical repost (or botocore retrying a write that was applied but
    # whose answer was lost) fails this and leaves the entry, its revision and the metrics alone.
    comment_differs = (
        "(attribute_not_exists(#comment) OR #comment <> :comment)" if comment else "attribute_exists(#comment)"
    )
    differs = f"(#outcome <> :outcome OR {comment_differs})"
    key = {"pk": feedback_key(claims.run_id, user_id)}
    return _FeedbackWrite(key=key, expression=expression, names=names, values=values, differs=differs)


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
        change = f"attribute_exists(pk) AND {_SAME_RUN} AND {write.differs}"
        if not self._max_users:
            entry = self._write(write, condition=f"attribute_not_exists(pk) OR ({_SAME_RUN} AND {write.differs})")
            return entry if entry is not None else self._unchanged(claims, user_id)
        for _attempt in range(3):
            counted = self._count_user(claims.run_id, +1)
            if counted:
                created = self._write(write, condition="attribute_not_exists(pk)")
                if created is not None:
                    return created
                # Not a new user after all (a change of vote, or a concurrent first post): undo the count.
                self._count_user(claims.run_id, -1)
            changed = self._write(write, condition=change)
            if changed is not None:
                return changed
            if self._table.get(write.key, consistent=True) is not None:
                return self._unchanged(claims, user_id)
            if not counted:
                raise UserLimitReached(
                    f"This run already has feedback from {self._max_users} different users, the most one run "
                    "accepts; users who already voted can still change their vote."
                )
            # The entry was erased between our two writes: start again.
        raise ServiceUnavailable("Feedback storage is busy right now; retry shortly.")

    def _unchanged(self, claims: TokenClaims, user_id: str | None) -> FeedbackEntry:
        """After a change's condition failed on an existing entry: it is the run's and says the same, or a conflict."""
        entry = self.read(claims, user_id)
        if entry is None:  # erased since: the caller's write did not happen
            raise ServiceUnavailable("Feedback storage is busy right now; retry shortly.")
        return entry

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
        return None if item is None else replace(FeedbackEntry.from_item(item), change=_change_of(item))

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

    def read(self, claims: TokenClaims, user_id: str | None) -> FeedbackEntry | None:
        """The entry of (run, user) as a token of that run may see it: None when there is none.

        Conflict when the stored entry belongs to another tenant or run, exactly as a write would refuse it.
        """
        item = self._table.get({"pk": feedback_key(claims.run_id, user_id)}, consistent=True)
        if not item:
            return None
        if item.get("tenant_run") != f"{claims.tenant}#{claims.run_id}":
            raise _foreign_run(claims.run_id)
        return FeedbackEntry.from_item(item)
