"""Review reads (and the one erasure) over feedback and runs: every access is a key or an index query.

Indexes used, all declared in template.yaml: FeedbackTable.by_agent_time (an agent's feedback by time),
FeedbackTable.by_run (one run's feedback), FeedbackTable.by_user (one end user's entries, sparse) and
RunsTable.by_agent_time (an agent's runs by time). Nothing here scans a table.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from agentfeedback.core.storage import error_code, storage_errors
from agentfeedback.feedback.store import FeedbackEntry

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# A filtered page evaluates up to this many index entries per round trip, and makes at most this many
# round trips; a sparse filter then returns a short page with a cursor rather than running out the clock.
_FILTERED_READ_LIMIT = 500
_MAX_ROUND_TRIPS = 6


@dataclass(frozen=True)
class FeedbackFilter:
    outcome: str | None = None
    user_id: str | None = None
    version: str | None = None
    has_comment: bool | None = None

    @property
    def active(self) -> bool:
        return any(value is not None for value in (self.outcome, self.user_id, self.version, self.has_comment))


@dataclass(frozen=True)
class TimeRange:
    """Inclusive bounds on created_at, in the stored timestamp format; None leaves that side open."""

    lowest: str | None = None
    highest: str | None = None


@dataclass(frozen=True)
class Vote:
    run_id: str
    version_id: str
    outcome: str
    created_at: str


@dataclass(frozen=True)
class RunStamp:
    run_id: str
    created_at: str
    # Only present if RunsTable.by_agent_time projects version_id (KEYS_ONLY does not).
    version_id: str | None


def _key_condition(partition: str, value: str, times: TimeRange) -> tuple[str, dict[str, str], dict[str, Any]]:
    names = {"#p": partition}
    values: dict[str, Any] = {":p": {"S": value}}
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
        values[":lowest"] = {"S": times.lowest}
    if times.highest is not None:
        values[":highest"] = {"S": times.highest}
    return condition, names, values


def _index_position(item: dict[str, Any]) -> dict[str, Any]:
    """The ExclusiveStartKey that resumes right after this item in by_agent_time."""
    return {name: item[name] for name in ("pk", "tenant_agent", "created_at")}


class ReviewStore:
    def __init__(self, client: DynamoDBClient, feedback_table: str, runs_table: str) -> None:
        self._client = client
        self._feedback_table = feedback_table
        self._runs_table = runs_table

    def _query(self, **kwargs: Any) -> dict[str, Any]:
        with storage_errors():
            return dict(self._client.query(**kwargs))

    def _all_items(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        while True:
            response = self._query(**kwargs)
            yield from response["Items"]
            if "LastEvaluatedKey" not in response:
                return
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def feedback_page(
        self,
        tenant: str,
        agent_id: str,
        filters: FeedbackFilter,
        times: TimeRange,
        limit: int,
        start: dict[str, Any] | None = None,
    ) -> tuple[list[FeedbackEntry], dict[str, Any] | None]:
        """Up to `limit` entries, newest first, and the position after the last one (None: nothing left).

        New feedback gets a later created_at than anything already listed, and a changed vote keeps its
        created_at, so resuming from a position neither skips nor repeats an entry while votes arrive.
        """
        condition, names, values = _key_condition("tenant_agent", f"{tenant}#{agent_id}", times)
        checks = []
        for attribute, value in (
            ("outcome", filters.outcome),
            ("user_id", filters.user_id),
            ("version_id", filters.version),
        ):
            if value is not None:
                names[f"#{attribute}"] = attribute
                values[f":{attribute}"] = {"S": value}
                checks.append(f"#{attribute} = :{attribute}")
        if filters.has_comment is not None:
            names["#comment"] = "comment"
            checks.append("attribute_exists(#comment)" if filters.has_comment else "attribute_not_exists(#comment)")
        request: dict[str, Any] = {
            "TableName": self._feedback_table,
            "IndexName": "by_agent_time",
            "KeyConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "ScanIndexForward": False,
        }
        if checks:
            request["FilterExpression"] = " AND ".join(checks)
        # One entry more than asked tells whether another page exists, so the last page has no cursor.
        wanted = limit + 1
        collected: list[dict[str, Any]] = []
        position = start
        for _ in range(_MAX_ROUND_TRIPS):
            request["Limit"] = _FILTERED_READ_LIMIT if checks else wanted - len(collected)
            if position is not None:
                request["ExclusiveStartKey"] = position
            response = self._query(**request)
            collected.extend(response["Items"])
            position = response.get("LastEvaluatedKey")
            if len(collected) >= wanted or position is None:
                break
        if len(collected) > limit:
            page = collected[:limit]
            return [FeedbackEntry.from_item(item) for item in page], _index_position(page[-1])
        # Either the index is exhausted (position None) or the read budget ran out mid-way.
        return [FeedbackEntry.from_item(item) for item in collected], position

    def run_feedback(self, tenant: str, agent_id: str, run_id: str) -> list[FeedbackEntry]:
        """Every entry of one run, newest first (one per user, plus the anonymous slot)."""
        condition, names, values = _key_condition("tenant_run", f"{tenant}#{run_id}", TimeRange())
        names["#agent_id"] = "agent_id"
        values[":agent_id"] = {"S": agent_id}
        items = self._all_items(
            TableName=self._feedback_table,
            IndexName="by_run",
            KeyConditionExpression=condition,
            FilterExpression="#agent_id = :agent_id",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            ScanIndexForward=False,
        )
        return [FeedbackEntry.from_item(item) for item in items]

    def votes(self, tenant: str, agent_id: str, times: TimeRange, version: str | None = None) -> Iterator[Vote]:
        """The current votes on an agent created in a time range: only what the summary counts is read."""
        condition, names, values = _key_condition("tenant_agent", f"{tenant}#{agent_id}", times)
        names.update({"#run_id": "run_id", "#version_id": "version_id", "#outcome": "outcome", "#t": "created_at"})
        request: dict[str, Any] = {
            "TableName": self._feedback_table,
            "IndexName": "by_agent_time",
            "KeyConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "ProjectionExpression": "#run_id, #version_id, #outcome, #t",
        }
        if version is not None:
            values[":version"] = {"S": version}
            request["FilterExpression"] = "#version_id = :version"
        for item in self._all_items(**request):
            yield Vote(
                run_id=item["run_id"]["S"],
                version_id=item["version_id"]["S"],
                outcome=item["outcome"]["S"],
                created_at=item["created_at"]["S"],
            )

    def runs(self, tenant: str, agent_id: str, times: TimeRange) -> Iterator[RunStamp]:
        """The agent's runs created in a time range, from the runs index (keys and version_id: cheap to read)."""
        condition, names, values = _key_condition("tenant_agent", f"{tenant}#{agent_id}", times)
        for item in self._all_items(
            TableName=self._runs_table,
            IndexName="by_agent_time",
            KeyConditionExpression=condition,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        ):
            version = item.get("version_id", {}).get("S")
            yield RunStamp(run_id=item["run_id"]["S"], created_at=item["created_at"]["S"], version_id=version)

    def user_entry_keys(self, tenant: str, user_id: str) -> list[str]:
        """Table keys of one end user's entries in a tenant (the by_user index is sparse: no anonymous ones)."""
        condition, names, values = _key_condition("tenant_user", f"{tenant}#{user_id}", TimeRange())
        names["#pk"] = "pk"
        items = self._all_items(
            TableName=self._feedback_table,
            IndexName="by_user",
            KeyConditionExpression=condition,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            ProjectionExpression="#pk",
        )
        return [item["pk"]["S"] for item in items]

    def delete_user_entry(self, key: str, tenant: str, user_id: str) -> bool:
        """Delete one entry if it still belongs to that tenant's user; False if it was already gone."""
        try:
            with storage_errors():
                self._client.delete_item(
                    TableName=self._feedback_table,
                    Key={"pk": {"S": key}},
                    ConditionExpression="#tenant_user = :tenant_user",
                    ExpressionAttributeNames={"#tenant_user": "tenant_user"},
                    ExpressionAttributeValues={":tenant_user": {"S": f"{tenant}#{user_id}"}},
                )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        self._release_user_slot(run_id=key.split("#", 1)[0])
        return True

    def _release_user_slot(self, run_id: str) -> None:
        """Give the erased user's place back to the run's user cap (see FeedbackStore)."""
        try:
            with storage_errors():
                self._client.update_item(
                    TableName=self._feedback_table,
                    Key={"pk": {"S": run_id}},
                    UpdateExpression="ADD user_count :minus_one",
                    ConditionExpression="user_count > :zero",
                    ExpressionAttributeValues={":minus_one": {"N": "-1"}, ":zero": {"N": "0"}},
                )
        except ClientError as exc:
            # No counter (the cap is off) or already at zero: nothing to give back.
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
