"""What every DynamoDB store shares: the timestamp format, and `Table`, through which every store call goes.

`Table` speaks plain values (`core.items` converts them to DynamoDB's wire format and back) and treats
failures one way: a retryable AWS failure becomes ServiceUnavailable, a condition that does not hold is a
return value (False or None), and any other AWS error (a missing table, a malformed expression: a bug or a
broken deployment) propagates unchanged, so the handler logs its traceback and answers 500.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from agentfeedback.core.errors import ServiceUnavailable
from agentfeedback.core.items import from_item, to_item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# Fixed-width ISO-8601 with microseconds sorts lexically in time order (the review indexes rely on it).
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"

# Throttling and server-side faults are retried by botocore (standard mode, with backoff) before
# they reach us; what still fails is answered 503 with Retry-After, never dropped silently.
RETRYABLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "TransactionConflictException",
    }
)


def utc_now() -> str:
    return datetime.now(UTC).strftime(TIMESTAMP_FORMAT)


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


# BatchGetItem's limit on keys per request (DynamoDB API reference, BatchGetItem).
_BATCH_GET_KEYS = 100

# Why DynamoDB cancels a transaction item when the cause is load, not the request.
_BUSY_CANCELLATIONS = frozenset(
    {"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded"}
)


def _cancellation_reasons(exc: ClientError) -> set[str]:
    """The per-item reasons of a TransactionCanceledException, without the items that were fine."""
    reasons = exc.response.get("CancellationReasons", [])
    return {str(reason.get("Code")) for reason in reasons} - {"None"}


def _busy(exc: ClientError) -> bool:
    if error_code(exc) in RETRYABLE_CODES:
        return True
    # A transaction cancelled only by a concurrent one or by throttling is as retryable as a throttled call.
    if error_code(exc) == "TransactionCanceledException":
        reasons = _cancellation_reasons(exc)
        return bool(reasons) and reasons <= _BUSY_CANCELLATIONS
    return False


def _condition_failed(exc: ClientError) -> bool:
    """Whether a write was refused because its condition (or a transaction item's) did not hold."""
    code = error_code(exc)
    if code == "TransactionCanceledException":
        reasons = _cancellation_reasons(exc)
        return not reasons or "ConditionalCheckFailed" in reasons
    return code == "ConditionalCheckFailedException"


def unavailable(exc: Exception) -> ServiceUnavailable | None:
    """The ServiceUnavailable that a retryable AWS failure becomes; None for any other error."""
    if isinstance(exc, ClientError) and _busy(exc):
        return ServiceUnavailable("Storage is busy right now; nothing was changed; retry shortly.")
    if isinstance(exc, BotoCoreError):
        return ServiceUnavailable("Storage is unreachable right now; nothing was changed; retry shortly.")
    return None


@dataclass(frozen=True)
class Page:
    """One query response: its items, and the key to resume right after the last one (None: nothing left)."""

    items: list[dict[str, Any]]
    last_key: dict[str, Any] | None


@dataclass(frozen=True)
class Query:
    """What a query reads: items of one partition of the table, or of one of its indexes.

    `names` and `values` fill the #placeholders and :placeholders of the key condition, the filter and
    the projection; the filter is applied after DynamoDB reads (and counts) the items.
    """

    key_condition: str
    index: str | None = None
    names: Mapping[str, str] | None = None
    values: Mapping[str, Any] | None = None
    filter: str | None = None
    projection: str | None = None
    newest_first: bool = False


@dataclass(frozen=True)
class Written:
    """What a checked write (`Table.put_checked`, `update_checked`, `delete_checked`) did, in one round trip.

    applied: whether the condition held and the write happened. before: the whole item as it was just before the
    write when applied (None: there was none), or as it is now when refused (None: there is none), from DynamoDB's
    ReturnValues / ReturnValuesOnConditionCheckFailure = ALL_OLD, so a refused write needs no second read.
    """

    applied: bool
    before: dict[str, Any] | None


@dataclass(frozen=True)
class Put:
    """One item of a transaction (`Table.put_all`, `Table.write_all`), written only if its condition, if any, holds."""

    item: Mapping[str, Any]
    condition: str | None = None


@dataclass(frozen=True)
class Update:
    """One update of a transaction (`Table.write_all`): DynamoDB's update expression on one key, under a condition
    if any; `names` and `values` fill the placeholders of both."""

    key: Mapping[str, Any]
    expression: str
    condition: str | None = None
    names: Mapping[str, str] | None = None
    values: Mapping[str, Any] | None = None


# TransactWriteItems' limit on actions per request (DynamoDB API reference, TransactWriteItems).
MAX_TRANSACTION_WRITES = 100


class Table:
    """One DynamoDB table through the low-level client; keys, items and expression values are plain mappings.

    Expressions are DynamoDB's own strings; `names` maps their #placeholders to attribute names and
    `values` their :placeholders to plain values. Every method raises ServiceUnavailable when storage is
    busy or unreachable (after botocore's retries); a write whose condition does not hold changes nothing.
    """

    def __init__(self, client: DynamoDBClient, name: str) -> None:
        self._client = client
        self.name = name

    def get(
        self,
        key: Mapping[str, Any],
        *,
        consistent: bool = False,
        projection: str | None = None,
        names: Mapping[str, str] | None = None,
    ) -> dict[str, Any] | None:
        """The item with this key (only the projected attributes, if given), or None."""
        request = self._request(Key=to_item(key), ConsistentRead=consistent or None, ProjectionExpression=projection)
        response = self._send(self._client.get_item, request | _placeholders(names, None))
        item = response.get("Item") if response else None
        return from_item(item) if item else None

    def put(self, item: Mapping[str, Any], *, condition: str | None = None) -> bool:
        """Write the whole item; False when the condition (one without placeholders) did not hold."""
        request = self._request(Item=to_item(item), ConditionExpression=condition)
        return self._send(self._client.put_item, request) is not None

    def update(
        self,
        key: Mapping[str, Any],
        expression: str,
        *,
        condition: str | None = None,
        names: Mapping[str, str] | None = None,
        values: Mapping[str, Any] | None = None,
        returns: str | None = None,
    ) -> dict[str, Any] | None:
        """Apply the update expression; None when the condition did not hold.

        Otherwise the attributes `returns` (DynamoDB's ReturnValues: ALL_NEW, UPDATED_NEW, ...) asked for,
        or an empty dict when it asked for none: test the result with `is None`.
        """
        request = self._request(
            Key=to_item(key), UpdateExpression=expression, ConditionExpression=condition, ReturnValues=returns
        )
        response = self._send(self._client.update_item, request | _placeholders(names, values))
        return None if response is None else from_item(response.get("Attributes", {}))

    def delete(
        self,
        key: Mapping[str, Any],
        *,
        condition: str | None = None,
        names: Mapping[str, str] | None = None,
        values: Mapping[str, Any] | None = None,
    ) -> bool:
        """Delete the item; False when the condition did not hold (nothing deleted)."""
        request = self._request(Key=to_item(key), ConditionExpression=condition)
        return self._send(self._client.delete_item, request | _placeholders(names, values)) is not None

    def put_checked(
        self, item: Mapping[str, Any], *, condition: str, names: Mapping[str, str] | None = None
    ) -> Written:
        """PutItem under a condition; Written says whether it held, with the item it replaced or found."""
        request = self._request(Item=to_item(item), ConditionExpression=condition, ReturnValues="ALL_OLD")
        return self._send_checked(self._client.put_item, request | _placeholders(names, None))

    def update_checked(
        self,
        key: Mapping[str, Any],
        expression: str,
        *,
        condition: str,
        names: Mapping[str, str] | None = None,
        values: Mapping[str, Any] | None = None,
    ) -> Written:
        """UpdateItem under a condition; Written says whether it held, with the item as it was before or found."""
        request = self._request(
            Key=to_item(key), UpdateExpression=expression, ConditionExpression=condition, ReturnValues="ALL_OLD"
        )
        return self._send_checked(self._client.update_item, request | _placeholders(names, values))

    def delete_checked(
        self,
        key: Mapping[str, Any],
        *,
        condition: str,
        names: Mapping[str, str] | None = None,
        values: Mapping[str, Any] | None = None,
    ) -> Written:
        """DeleteItem under a condition; Written says whether it held, with the item it deleted or found."""
        request = self._request(Key=to_item(key), ConditionExpression=condition, ReturnValues="ALL_OLD")
        return self._send_checked(self._client.delete_item, request | _placeholders(names, values))

    def get_many(
        self,
        keys: Sequence[Mapping[str, Any]],
        *,
        consistent: bool = False,
        attempts: int = 8,
        projection: str | None = None,
        names: Mapping[str, str] | None = None,
    ) -> list[dict[str, Any]]:
        """The items with these keys (BatchGetItem, 100 keys a request), in no particular order; missing ones are
        left out; only the projected attributes, if given. Keys DynamoDB leaves unprocessed (throttling) are asked
        again with exponential backoff, up to `attempts` requests per batch, then ServiceUnavailable."""
        found: list[dict[str, Any]] = []
        for start in range(0, len(keys), _BATCH_GET_KEYS):
            pending: dict[str, Any] = {
                self.name: {"Keys": [to_item(key) for key in keys[start : start + _BATCH_GET_KEYS]]}
                | ({"ConsistentRead": True} if consistent else {})
                | ({"ProjectionExpression": projection} if projection else {})
                | _placeholders(names, None)
            }
            for attempt in range(attempts):
                response = self._send(self._client.batch_get_item, {"RequestItems": pending})
                assert response is not None  # a read has no condition to fail
                found.extend(from_item(item) for item in response.get("Responses", {}).get(self.name, []))
                pending = response.get("UnprocessedKeys") or {}
                if not pending:
                    break
                time.sleep(min(0.05 * 2**attempt, 1.0))
            else:
                raise ServiceUnavailable("Storage is busy right now; retry shortly.")
        return found

    def put_all(self, puts: Sequence[Put]) -> bool:
        """Write every item or none (one transaction); False when a condition did not hold."""
        transact = [{"Put": self._request(Item=to_item(put.item), ConditionExpression=put.condition)} for put in puts]
        return self._send(self._client.transact_write_items, {"TransactItems": transact}) is not None

    def write_all(self, writes: Sequence[Put | Update]) -> list[int]:
        """Apply every write or none (one transaction of at most MAX_TRANSACTION_WRITES, each on another item).

        Returns the positions of the writes whose condition did not hold: empty when everything was written,
        otherwise nothing was. A transaction cancelled only because another one held an item, or by
        throttling, raises ServiceUnavailable like any busy call.
        """
        if len(writes) > MAX_TRANSACTION_WRITES:
            raise ValueError(f"a transaction takes at most {MAX_TRANSACTION_WRITES} writes, got {len(writes)}")
        actions = [self._transact_action(write) for write in writes]
        try:
            self._client.transact_write_items(TransactItems=actions)  # type: ignore[arg-type]
        except (ClientError, BotoCoreError) as exc:
            busy = unavailable(exc)
            if busy is not None:
                raise busy from exc
            if isinstance(exc, ClientError) and _condition_failed(exc):
                reasons = exc.response.get("CancellationReasons") or []
                failed = [
                    index for index, reason in enumerate(reasons) if reason.get("Code") == "ConditionalCheckFailed"
                ]
                # Without per-item reasons every write is suspect.
                return failed or list(range(len(writes)))
            raise
        return []

    def _transact_action(self, write: Put | Update) -> dict[str, Any]:
        if isinstance(write, Put):
            return {"Put": self._request(Item=to_item(write.item), ConditionExpression=write.condition)}
        request = self._request(
            Key=to_item(write.key), UpdateExpression=write.expression, ConditionExpression=write.condition
        )
        return {"Update": request | _placeholders(write.names, write.values)}

    def query(self, query: Query, *, limit: int | None = None, start: Mapping[str, Any] | None = None) -> Page:
        """One page of items in sort-key order (descending with newest_first), from `start` if given.

        `limit` caps the items DynamoDB evaluates, before the filter: a filtered page may hold fewer.
        """
        request = self._request(
            IndexName=query.index,
            KeyConditionExpression=query.key_condition,
            FilterExpression=query.filter,
            ProjectionExpression=query.projection,
            ScanIndexForward=False if query.newest_first else None,
            Limit=limit,
            ExclusiveStartKey=to_item(start) if start is not None else None,
        )
        response = self._send(self._client.query, request | _placeholders(query.names, query.values))
        assert response is not None  # a query has no condition to fail
        last_key = response.get("LastEvaluatedKey")
        return Page(
            items=[from_item(item) for item in response["Items"]],
            last_key=from_item(last_key) if last_key else None,
        )

    def query_all(self, query: Query) -> Iterator[dict[str, Any]]:
        """Every matching item, page after page, read lazily as the caller iterates."""
        page = self.query(query)
        yield from page.items
        while page.last_key is not None:
            page = self.query(query, start=page.last_key)
            yield from page.items

    def _request(self, **fields: Any) -> dict[str, Any]:
        """The request for this table, without the fields left at None."""
        return {"TableName": self.name, **{name: value for name, value in fields.items() if value is not None}}

    def _send(self, operation: Callable[..., Any], request: dict[str, Any]) -> dict[str, Any] | None:
        """The response; None when the request's condition did not hold."""
        try:
            return dict(operation(**request))
        except (ClientError, BotoCoreError) as exc:
            busy = unavailable(exc)
            if busy is not None:
                raise busy from exc
            if isinstance(exc, ClientError) and _condition_failed(exc):
                return None
            raise

    def _send_checked(self, operation: Callable[..., Any], request: dict[str, Any]) -> Written:
        """A conditional write that reports the item it met (ALL_OLD either way)."""
        request["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        try:
            response = operation(**request)
        except (ClientError, BotoCoreError) as exc:
            busy = unavailable(exc)
            if busy is not None:
                raise busy from exc
            if isinstance(exc, ClientError) and _condition_failed(exc):
                # ReturnValuesOnConditionCheckFailure puts the item in the error response.
                found = dict(exc.response).get("Item")
                return Written(applied=False, before=from_item(found) if isinstance(found, dict) and found else None)
            raise
        before = response.get("Attributes")
        return Written(applied=True, before=from_item(before) if before else None)


def _placeholders(names: Mapping[str, str] | None, values: Mapping[str, Any] | None) -> dict[str, Any]:
    placeholders: dict[str, Any] = {}
    if names:
        placeholders["ExpressionAttributeNames"] = dict(names)
    if values:
        placeholders["ExpressionAttributeValues"] = to_item(values)
    return placeholders
