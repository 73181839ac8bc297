"""Review reads (and the one erasure) over feedback entries: every access is a key or an index query.

Indexes used, all declared in template.yaml: FeedbackTable.by_agent_time (an agent's current votes by time,
projecting what the list reads), FeedbackTable.by_run (one run's entries, keys only: the entries themselves, with
their histories, are then read by key) and FeedbackTable.by_user (one end user's entries, sparse, keys only).
Nothing here scans a table. Summaries and comparisons read the aggregates (agentfeedback.aggregates), not the votes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agentfeedback.core.storage import Query, Table
from agentfeedback.feedback.store import FeedbackEntry

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# A filtered page evaluates up to this many index entries per round trip, and makes at most this many
# round trips; a sparse filter then returns a short page with a cursor rather than running out the clock.
_FILTERED_READ_LIMIT = 500
_MAX_ROUND_TRIPS = 6


@dataclass(frozen=True)
class FeedbackFilter:
    """What a listed entry must match; None (or no user ids) leaves that field open."""

    outcome: str | None = None
    # The spellings one end user's entries may be stored under (review.service.user_id_spellings): any matches.
    user_ids: tuple[str, ...] = ()
    version: str | None = None
    has_comment: bool | None = None


@dataclass(frozen=True)
class TimeRange:
    """Inclusive bounds on created_at, in the stored timestamp format; None leaves that side open."""

    lowest: str | None = None
    highest: str | None = None


@dataclass(frozen=True)
class FeedbackPosition:
    """A place in FeedbackTable.by_agent_time: the table key and the index keys of one entry."""

    pk: str
    tenant_agent: str
    created_at: str

    @classmethod
    def of(cls, item: dict[str, Any]) -> FeedbackPosition:
        """The position of an entry, or the one a query's LastEvaluatedKey names (plain values)."""
        return cls(pk=str(item["pk"]), tenant_agent=str(item["tenant_agent"]), created_at=str(item["created_at"]))

    def key(self) -> dict[str, str]:
        """As an ExclusiveStartKey: the query resumes right after this entry."""
        return {"pk": self.pk, "tenant_agent": self.tenant_agent, "created_at": self.created_at}


def _key_condition(partition: str, value: str, times: TimeRange) -> tuple[str, dict[str, str], dict[str, Any]]:
    names = {"#p": partition}
    values: dict[str, Any] = {":p": value}
    condition = "#p = :p"
    if times.lowest is not None or times.highest is not None:
        names["#t"] = "created_at"
    if times.lowest is not None and times.highest is not None:
        condition += " AND #t BETWEEN :lowest AND :highest"
    elif times.lowest is not None:
        condition += " AND #t >= :lowest"
    elif times.highest is not None:
        condition += " AND #t <= :highest"
    if times.lowest is not None:
        values[":lowest"] = times.lowest
    if times.highest is not None:
        values[":highest"] = times.highest
    return condition, names, values


class ReviewStore:
    def __init__(self, client: DynamoDBClient, feedback_table: str) -> None:
        self._feedback_table = Table(client, feedback_table)

    def feedback_page(
        self,
        tenant: str,
        agent_id: str,
        filters: FeedbackFilter,
        times: TimeRange,
        limit: int,
        start: FeedbackPosition | None = None,
    ) -> tuple[list[FeedbackEntry], FeedbackPosition | None]:
        """Up to `limit` entries, newest first, and the position after the last one (None: nothing left).

        New feedback gets a later created_at than anything already listed, and a changed vote keeps its
        created_at, so resuming from a position neither skips nor repeats an entry while votes arrive.
        """
        condition, names, values = _key_condition("tenant_agent", f"{tenant}#{agent_id}", times)
        checks = []
        for attribute, value in (("outcome", filters.outcome), ("version_id", filters.version)):
            if value is not None:
                names[f"#{attribute}"] = attribute
                values[f":{attribute}"] = value
                checks.append(f"#{attribute} = :{attribute}")
        if filters.user_ids:
            names["#user_id"] = "user_id"
            values.update({f":user_id{index}": user_id for index, user_id in enumerate(filters.user_ids)})
            checks.append(f"#user_id IN ({', '.join(f':user_id{index}' for index in range(len(filters.user_ids)))})")
        if filters.has_comment is not None:
            names["#comment"] = "comment"
            checks.append("attribute_exists(#comment)" if filters.has_comment else "attribute_not_exists(#comment)")
        # One entry more than asked tells whether another page exists, so the last page has no cursor.
        wanted = limit + 1
        collected: list[dict[str, Any]] = []
        position = start.key() if start is not None else None
        for _ in range(_MAX_ROUND_TRIPS):
            page = self._feedback_table.query(
                Query(
                    condition,
                    index="by_agent_time",
                    names=names,
                    values=values,
                    filter=" AND ".join(checks) or None,
                    newest_first=True,
                ),
                limit=_FILTERED_READ_LIMIT if checks else wanted - len(collected),
                start=position,
            )
            collected.extend(page.items)
            position = page.last_key
            if len(collected) >= wanted or position is None:
                break
        if len(collected) > limit:
            shown = collected[:limit]
            return [FeedbackEntry.from_item(item) for item in shown], FeedbackPosition.of(shown[-1])
        # Either the index is exhausted (position None) or the read budget ran out mid-way.
        entries = [FeedbackEntry.from_item(item) for item in collected]
        return entries, FeedbackPosition.of(position) if position is not None else None

    def run_feedback(self, tenant: str, agent_id: str, run_id: str) -> list[FeedbackEntry]:
        """Every entry of one run with its history, newest first (one per user, plus the anonymous slot; retracted
        entries too, with outcome None). by_run projects keys only, so that a change of vote never writes it: the
        entries are read by key (BatchGetItem, consistent), at most the run's user cap plus one."""
        condition, names, values = _key_condition("tenant_run", f"{tenant}#{run_id}", TimeRange())
        keys = [
            {"pk": str(item["pk"])}
            for item in self._feedback_table.query_all(Query(condition, index="by_run", names=names, values=values))
        ]
        items = self._feedback_table.get_many(keys, consistent=True)
        # The index may lag a moment behind an erasure: what is gone is gone; and a run id is one tenant's.
        entries = [
            FeedbackEntry.from_item(item)
            for item in items
            if item.get("agent_id") == agent_id and item.get("tenant_run") == f"{tenant}#{run_id}"
        ]
        return sorted(entries, key=lambda entry: (entry.created_at, entry.id), reverse=True)

    def user_entry_keys(self, tenant: str, user_id: str) -> list[str]:
        """Table keys of one end user's entries in a tenant (the by_user index is sparse: no anonymous ones)."""
        condition, names, values = _key_condition("tenant_user", f"{tenant}#{user_id}", TimeRange())
        items = self._feedback_table.query_all(
            Query(condition, index="by_user", names={**names, "#pk": "pk"}, values=values, projection="#pk")
        )
        return [str(item["pk"]) for item in items]

    def delete_user_entry(self, key: str, tenant: str, user_id: str) -> bool:
        """Delete one entry (its history with it) if it still belongs to that tenant's user; False if it was
        already gone. A deleted entry that held a vote gives its place back to the run's user cap."""
        deleted = self._feedback_table.delete_checked(
            {"pk": key},
            condition="#tenant_user = :tenant_user",
            names={"#tenant_user": "tenant_user"},
            values={":tenant_user": f"{tenant}#{user_id}"},
        )
        if deleted.applied and deleted.before is not None and deleted.before.get("outcome") is not None:
            self._release_user_slot(run_id=key.split("#", 1)[0])
        return deleted.applied

    def _release_user_slot(self, run_id: str) -> None:
        """Give the erased user's place back to the run's user cap (see FeedbackStore)."""
        # No counter (the cap is off) or already at zero: the condition fails and nothing is given back.
        self._feedback_table.update(
            {"pk": run_id},
            "ADD user_count :minus_one",
            condition="user_count > :zero",
            values={":minus_one": -1, ":zero": 0},
        )
