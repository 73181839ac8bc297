"""Creates the template's DynamoDB tables in DynamoDB Local, and notices when a kept table has drifted."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def _indexes(description: Mapping[str, Any]) -> dict[str, tuple[str, frozenset[str]]]:
    """Each global secondary index's projection: its type and the non-key attributes it includes."""
    return {
        index["IndexName"]: (
            index["Projection"]["ProjectionType"],
            frozenset(index["Projection"].get("NonKeyAttributes", ())),
        )
        for index in description.get("GlobalSecondaryIndexes", [])
    }


def drift(existing: Mapping[str, Any], definition: Mapping[str, Any]) -> str | None:
    """How a kept table differs from its definition in key schema or indexes; None when it does not."""
    if existing["KeySchema"] != definition["KeySchema"]:
        return "its key schema"
    if set(_indexes(existing)) != set(_indexes(definition)):
        return "its global secondary indexes"
    if _indexes(existing) != _indexes(definition):
        return "its indexes' projections"
    return None


def create_missing_tables(
    client: DynamoDBClient,
    definitions: Mapping[str, Mapping[str, Any]],
    names: Mapping[str, str],
) -> list[str]:
    """Create each table that does not exist yet; return a warning per kept table that has drifted."""
    existing: set[str] = set()
    for page in client.get_paginator("list_tables").paginate():
        existing.update(page["TableNames"])
    warnings = []
    for logical_id, definition in definitions.items():
        name = names[logical_id]
        if name not in existing:
            client.create_table(TableName=name, **definition)
            client.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
            continue
        description = client.describe_table(TableName=name)["Table"]
        difference = drift(description, definition)
        if difference:
            warnings.append(
                f"table {name} was kept from an earlier run but {difference} differ from template.yaml: "
                "`make clean` removes the local data so that it is created anew"
            )
        stream = definition.get("StreamSpecification")
        if stream and description.get("StreamSpecification") != stream:
            # Data kept from before the table had its stream: turn it on, and say what it cannot know.
            client.update_table(TableName=name, StreamSpecification=stream)
            warnings.append(
                f"table {name} was kept from an earlier run without its stream, now turned on: items written "
                "before are not aggregated; rebuild each agent's aggregates (POST .../feedback/aggregates/rebuild)"
            )
    return warnings
