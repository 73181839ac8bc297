"""Reads and writes feedback entries: one item per (run, user), with its bounded change history.

What each write costs, in DynamoDB write units (WCU) for an entry under 1 KB (a refused conditional write is
billed one WCU; `bench/write_cost.py` measures them on DynamoDB Local):

- a first vote: a PutItem if the entry is absent (the table and its three indexes, 4 WCU), then the run's
  user counter (1 WCU): 5 WCU in 2 calls;
- a change: the same PutItem, refused (1 WCU), hands back the entry as it is (ReturnValuesOnConditionCheckFailure),
  from which the exact next state is written by an UpdateItem conditioned on what was read (the table and
  by_agent_time, 2 WCU; by_run and by_user project keys only, and their keys do not change): 3 WCU in 2 calls,
  whatever the history's length (feedback.history bounds it);
- an identical repost (or a retried write that was applied): the refused PutItem alone, 1 WCU in 1 call;
- a retraction: a consistent GetItem, the UpdateItem that empties the entry (2 WCU), the counter (1 WCU).

A change and its history event are one write, so concurrent changes leave their events in the order DynamoDB
applied them; an UpdateItem that lost a race (its condition names the revision it read) starts again from the
entry it found.
"""

from __future__ import annotations

import logging
import uuid
from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

from agentfeedback.core.errors import Conflict, DomainError, NothingToRetract, ServiceUnavailable, UserLimitReached
from agentfeedback.core.storage import Table, utc_now
from agentfeedback.feedback.history import HistoryEvent, appended, decoded, event_at
from agentfeedback.tokens import TokenClaims, binds_user

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

logger = logging.getLogger(__name__)


def feedback_key(run_id: str, user_id: str | None) -> str:
    """The table key `run_id#user_id`; anonymous feedback has an empty user part, one slot per run."""
    return f"{run_id}#{user_id or ''}"


def new_feedback_id() -> str:
    """A public id for a new entry: random (UUIDv4), so it reveals nothing of the run or the user.

    Written once, when the entry is created; entries created before ids were random keep the UUIDv5 they were
    given then.
    """
    return str(uuid.uuid4())


# What a write did to the entry: created it (or brought it back after a retraction), changed its outcome,
# changed only its comment, retracted it, or nothing (an identical repost, or a retry of an applied write).
Change = Literal["created", "outcome", "comment", "retracted", "none"]

# Counters of flips, kept on the entry for the summary (the history is bounded; these are not).
FLIPS_TO_NEGATIVE = "flips_to_negative"
FLIPS_TO_POSITIVE = "flips_to_positive"


@dataclass(frozen=True)
class FeedbackEntry:
    id: str
    tenant: str
    agent_id: str
    run_id: str
    version_id: str
    user_id: str | None
    outcome: str | None  # None: the vote was retracted (the entry stays for its history)
    comment: str | None
    created_at: str
    updated_at: str
    revision: int  # 1 when created; each real change (outcome, comment, retraction) adds 1
    history: tuple[HistoryEvent, ...] = ()  # oldest first, bounded (feedback.history); () when not read
    flips_to_negative: int = 0  # changes of a vote from positive to negative, ever
    flips_to_positive: int = 0
    change: Change = "none"  # what the write that returned this entry did (reads: "none")

    @property
    def dropped_events(self) -> int:
        """How many changes the bounded history no longer lists (all of them, for an entry older than histories)."""
        return max(self.revision - len(self.history), 0)

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> FeedbackEntry:
        """From a stored item (plain values, as `core.storage.Table` returns them), or the attributes an index
        projects (then without its history)."""
        return cls(
            id=str(item["feedback_id"]),
            tenant=str(item["tenant"]),
            agent_id=str(item["agent_id"]),
            run_id=str(item["run_id"]),
            version_id=str(item["version_id"]),
            # Anonymous entries store an empty user_id (it is part of the key).
            user_id=item.get("user_id") or None,
            outcome=item.get("outcome"),
            comment=item.get("comment"),
            created_at=str(item["created_at"]),
            updated_at=str(item["updated_at"]),
            revision=int(item["revision"]),
            history=decoded(item.get("history")),
            flips_to_negative=int(item.get(FLIPS_TO_NEGATIVE, 0)),
            flips_to_positive=int(item.get(FLIPS_TO_POSITIVE, 0)),
        )


def _foreign_run(run_id: str) -> DomainError:
    return Conflict(f"Run id {run_id} already has feedback from another tenant; this token cannot change it.")


def _busy() -> ServiceUnavailable:
    return ServiceUnavailable("Feedback storage is busy right now; nothing was changed; retry shortly.")


# How often a write that lost a race to a concurrent change of the same entry starts again: each round, one of
# the writers racing for the entry wins, so this bounds the wait of the last of that many concurrent changes.
_ATTEMPTS = 32
# Runs whose user counter refused a new user lately (per container): their posts read the entry before writing,
# so that an attacker's posts for ever new users cost one write unit each, not a creation undone.
_FULL_RUNS_KEPT = 1024


def _first_item(
    claims: TokenClaims, user_id: str | None, outcome: str, comment: str | None, now: str
) -> dict[str, Any]:
    """The whole item of a first vote."""
    item: dict[str, Any] = {
        "pk": feedback_key(claims.run_id, user_id),
        "feedback_id": new_feedback_id(),
        "tenant": claims.tenant,
        "agent_id": claims.agent_id,
        "run_id": claims.run_id,
        "version_id": claims.version_id,
        "user_id": user_id or "",
        "outcome": outcome,
        "comment": comment,  # None is left out (core.items)
        "created_at": now,
        "updated_at": now,
        "revision": 1,
        "history": appended([], event_at(now, outcome, comment_changed=comment is not None)),
        # Index keys. by_user is sparse: anonymous entries have no tenant_user and stay out of per-user queries.
        "tenant_agent": f"{claims.tenant}#{claims.agent_id}",
        "tenant_run": f"{claims.tenant}#{claims.run_id}",
        "tenant_user": f"{claims.tenant}#{user_id}" if user_id else None,
    }
    return item


@dataclass(frozen=True)
class _Update:
    """The exact UpdateItem that takes an entry from the state it was read in to the next one."""

    sets: dict[str, Any]
    removes: list[str]
    expression: str
    names: dict[str, str]
    values: dict[str, Any]
    condition: str

    def applied_to(self, before: dict[str, Any]) -> dict[str, Any]:
        """The item as this update leaves it."""
        after = {**before, **self.sets}
        for name in self.removes:
            after.pop(name, None)
        return after


def _update(before: dict[str, Any], sets: dict[str, Any], removes: list[str]) -> _Update:
    """SET and REMOVE what changes, on the condition that the entry is still the one read (same random id,
    same revision): a concurrent change, an erasure or a re-creation in between refuses it."""
    removes = [name for name in removes if name in before]
    # Written before histories existed; nothing reads it any more.
    if "previous_outcome" in before:
        removes.append("previous_outcome")
    names = {f"#{name}": name for name in [*sets, *removes, "feedback_id"]}
    values = {f":{name}": value for name, value in sets.items()}
    values.update({":expected_id": before["feedback_id"], ":expected_revision": before["revision"]})
    # Every name goes through a placeholder: several of ours (comment, outcome, ...) are reserved words.
    expression = "SET " + ", ".join(f"#{name} = :{name}" for name in sets)
    if removes:
        expression += " REMOVE " + ", ".join(f"#{name}" for name in removes)
    condition = "#feedback_id = :expected_id AND #revision = :expected_revision"
    return _Update(sets, removes, expression, names, values, condition)


def _after(before: dict[str, Any], now: str) -> str:
    """The time of the next change: `now`, or the entry's last change if a concurrent writer's clock ran ahead,
    so that updated_at and the history's times never go back (same fixed-width format: text order is time order)."""
    return max(now, str(before.get("updated_at", "")))


def _change_update(
    claims: TokenClaims, before: dict[str, Any], outcome: str, comment: str | None, now: str
) -> tuple[_Update, Change] | None:
    """The update that applies a post to an existing entry, and what it changes; None when it changes nothing."""
    now = _after(before, now)
    was = before.get("outcome")
    comment_changed = before.get("comment") != comment
    if was == outcome and not comment_changed:
        return None
    sets: dict[str, Any] = {
        "outcome": outcome,
        "updated_at": now,
        "revision": int(before["revision"]) + 1,
        "history": appended(list(before.get("history") or ()), event_at(now, outcome, comment_changed)),
    }
    removes = []
    if comment is None:
        removes.append("comment")
    else:
        sets["comment"] = comment
    if was is None:
        # Back after a retraction: into the review index again.
        sets["tenant_agent"] = f"{claims.tenant}#{claims.agent_id}"
        change: Change = "created"
    elif was != outcome:
        flips = FLIPS_TO_NEGATIVE if outcome == "negative" else FLIPS_TO_POSITIVE
        sets[flips] = int(before.get(flips, 0)) + 1
        change = "outcome"
    else:
        change = "comment"
    return _update(before, sets, removes), change


def _retraction_update(before: dict[str, Any], now: str) -> _Update:
    """Empty the entry but keep its history: no outcome, no comment, out of the review index (tenant_agent)."""
    now = _after(before, now)
    sets = {
        "updated_at": now,
        "revision": int(before["revision"]) + 1,
        "history": appended(
            list(before.get("history") or ()), event_at(now, None, comment_changed="comment" in before)
        ),
    }
    return _update(before, sets, ["outcome", "comment", "tenant_agent"])


class FeedbackStore:
    """One entry per (run, user), and at most max_users_per_run distinct users per run (0: no cap).

    The cap keeps a leaked token from filling the table; changing an existing vote is always allowed. A per-run
    counter (key: the bare run id) counts the entries that hold a vote: raised with a conditional write right
    after an entry is created (or a retracted one voted again), lowered by a retraction or an erasure. When it
    refuses, the creation is undone. Plain conditional writes rather than a transaction (which bills twice): a
    crash between the creation and the count can leave one entry uncounted, so the cap may then let one more
    user in; a crash between a retraction and its count leaves the counter one too high, on the safe side.
    """

    def __init__(self, client: DynamoDBClient, table_name: str, max_users_per_run: int = 0) -> None:
        self._table = Table(client, table_name)
        self._max_users = max_users_per_run
        self._full_runs: OrderedDict[str, None] = OrderedDict()

    # -- votes ------------------------------------------------------------------------------------------------

    def save(
        self,
        claims: TokenClaims,
        user_id: str | None,
        outcome: str,
        comment: str | None,
        now: str | None = None,
        keep_comment: bool = False,
    ) -> FeedbackEntry:
        """Create or change the one entry of (run, user): a retry or a change of mind overwrites it, nothing is
        ever duplicated. `keep_comment` keeps the saved comment (`comment` is then ignored).

        Conflict for an entry of another tenant's run; UserLimitReached when a new user would pass the cap;
        ServiceUnavailable when storage is busy (nothing changed).
        """
        now = now or utc_now()
        key = {"pk": feedback_key(claims.run_id, user_id)}
        before: dict[str, Any] | None = None
        # A run whose counter refused a new user lately: most posts here are new users it refuses again. Read the
        # entry and count before creating, so that each refusal costs one write unit, not a creation undone.
        full = bool(self._max_users) and claims.run_id in self._full_runs
        if full:
            before = self._table.get(key, consistent=True)
        for _attempt in range(_ATTEMPTS):
            if before is None:
                if full and not self._count_user(claims.run_id, +1):
                    raise self._limit_reached(claims.run_id)
                first = _first_item(claims, user_id, outcome, None if keep_comment else comment, now)
                written = self._table.put_checked(first, condition="attribute_not_exists(pk)")
                if written.applied:
                    created = replace(FeedbackEntry.from_item(first), change="created")
                    return created if full else self._counted(claims, first, created)
                if full:
                    self._count_user(claims.run_id, -1)  # not a new user after all
                before = written.before
                if before is None:  # erased between our two calls
                    continue
            if before.get("tenant_run") != f"{claims.tenant}#{claims.run_id}":
                raise _foreign_run(claims.run_id)
            wanted = before.get("comment") if keep_comment else comment
            planned = _change_update(claims, before, outcome, wanted, now)
            if planned is None:
                return FeedbackEntry.from_item(before)
            update, change = planned
            if change == "created" and not self._count_user(claims.run_id, +1):
                raise self._limit_reached(claims.run_id)
            written = self._table.update_checked(
                key, update.expression, condition=update.condition, names=update.names, values=update.values
            )
            if written.applied:
                return replace(FeedbackEntry.from_item(update.applied_to(before)), change=change)
            if change == "created":
                self._count_user(claims.run_id, -1)  # the vote we counted did not happen
            before = written.before  # the entry as the race left it (None: erased), and start again
        raise _busy()

    def retract(self, claims: TokenClaims, user_id: str | None, now: str | None = None) -> FeedbackEntry:
        """Take back the vote of (run, user): the entry leaves every count but keeps its history, and its place
        under the run's user cap is given back. The entry as it is after (outcome None).

        NothingToRetract when there is no vote (never one, or retracted already); Conflict for an entry of
        another tenant's run; ServiceUnavailable when storage is busy.
        """
        now = now or utc_now()
        key = {"pk": feedback_key(claims.run_id, user_id)}
        before = self._table.get(key, consistent=True)
        for _attempt in range(_ATTEMPTS):
            if before is None or before.get("outcome") is None:
                raise NothingToRetract(
                    "There is no vote to retract for this run and user_id (none was cast, or it was retracted)."
                )
            if before.get("tenant_run") != f"{claims.tenant}#{claims.run_id}":
                raise _foreign_run(claims.run_id)
            update = _retraction_update(before, now)
            written = self._table.update_checked(
                key, update.expression, condition=update.condition, names=update.names, values=update.values
            )
            if written.applied:
                if self._max_users:
                    self._release_user_slot(claims.run_id)
                return replace(FeedbackEntry.from_item(update.applied_to(before)), change="retracted")
            before = written.before
        raise _busy()

    def read(self, claims: TokenClaims, user_id: str | None) -> FeedbackEntry | None:
        """The entry of (run, user) as a token of that run may see it: None when there is none (a retracted vote
        is an entry whose outcome is None).

        Conflict when the stored entry belongs to another tenant or run, exactly as a write would refuse it.
        """
        item = self._table.get({"pk": feedback_key(claims.run_id, user_id)}, consistent=True)
        if not item:
            return None
        if item.get("tenant_run") != f"{claims.tenant}#{claims.run_id}":
            raise _foreign_run(claims.run_id)
        return FeedbackEntry.from_item(item)

    # -- the user cap -----------------------------------------------------------------------------------------

    def _counted(self, claims: TokenClaims, item: dict[str, Any], created: FeedbackEntry) -> FeedbackEntry:
        """Count a created entry under the run's cap, or undo the creation when the cap refuses it.

        When the counter cannot be reached the vote stays saved and uncounted (the cap may then let one more user
        in, as after a crash): answering 503 for a vote that was saved would be untrue.
        """
        try:
            if self._count_user(claims.run_id, +1):
                return created
        except ServiceUnavailable:
            logger.warning("run's user counter not raised: the entry stays uncounted", extra={"run_id": claims.run_id})
            return created
        undone = self._table.delete_checked(
            {"pk": item["pk"]},
            condition="#feedback_id = :id AND #revision = :one",
            names={"#feedback_id": "feedback_id", "#revision": "revision"},
            values={":id": item["feedback_id"], ":one": 1},
        )
        if undone.applied or undone.before is None:
            raise self._limit_reached(claims.run_id)
        # The same user changed it meanwhile (a concurrent post that was answered 200): keep it, and count it.
        self._table.update({"pk": claims.run_id}, "ADD user_count :one", values={":one": 1})
        return FeedbackEntry.from_item(undone.before)

    def _limit_reached(self, run_id: str) -> UserLimitReached:
        self._full_runs[run_id] = None
        self._full_runs.move_to_end(run_id)
        while len(self._full_runs) > _FULL_RUNS_KEPT:
            self._full_runs.popitem(last=False)
        return UserLimitReached(
            f"This run already has feedback from {self._max_users} different users, the most one run "
            "accepts; users who already voted can still change their vote."
        )

    def _count_user(self, run_id: str, delta: int) -> bool:
        """Move the run's user counter by delta; False when raising it would pass the cap."""
        if not self._max_users:
            return True
        values: dict[str, Any] = {":delta": delta}
        condition = None
        if delta > 0:
            condition = "attribute_not_exists(user_count) OR user_count < :cap"
            values[":cap"] = self._max_users
        # No '#': a run id never holds one, so this key cannot collide with a (run, user) entry.
        counted = self._table.update({"pk": run_id}, "ADD user_count :delta", condition=condition, values=values)
        if counted is not None and delta > 0:
            self._full_runs.pop(run_id, None)
        return counted is not None

    def _release_user_slot(self, run_id: str) -> None:
        """Give a retracted vote's place back to the run's user cap (never below zero)."""
        self._table.update(
            {"pk": run_id},
            "ADD user_count :minus_one",
            condition="user_count > :zero",
            values={":minus_one": -1, ":zero": 0},
        )


class RunEndUsers:
    """The end user a run was made for, as the run and chat functions stored it (RunsTable `end_user`).

    The public function reads it when a token bound to an end user comes without a user_id (the token holds
    only a digest of the id, tokens.user_binding): one consistent GetItem of three attributes, which is all its
    IAM policy lets it read of a run.
    """

    def __init__(self, client: DynamoDBClient, runs_table: str) -> None:
        self._table = Table(client, runs_table)

    def bound_user(self, claims: TokenClaims) -> str | None:
        """The run's end user if the token binds that user; None when the run is gone (expired) or says otherwise."""
        item = self._table.get(
            {"run_id": claims.run_id},
            consistent=True,
            projection="#run_id, #tenant, #end_user",
            names={"#run_id": "run_id", "#tenant": "tenant", "#end_user": "end_user"},
        )
        if not item or item.get("tenant") != claims.tenant:
            return None
        user = item.get("end_user")
        return user if isinstance(user, str) and binds_user(claims, user) else None
