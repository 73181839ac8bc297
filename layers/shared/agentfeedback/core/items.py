"""DynamoDB's wire format ({"S": "..."}, {"N": "1"}) to plain Python values and back, with boto3's own codecs.

Only `core.storage` speaks the wire format; every store hands it plain mappings and gets plain dicts back.
Numbers: DynamoDB has one number type, which boto3 reads as Decimal; here an integral number comes back as
an int and any other as a float, and a float goes in as the Decimal of its repr (boto3 refuses floats,
whose binary value is rarely the decimal one meant).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

_SERIALIZER = TypeSerializer()
_DESERIALIZER = TypeDeserializer()


def to_item(values: Mapping[str, Any]) -> dict[str, Any]:
    """{"pk": "r#u", "revision": 1} -> {"pk": {"S": "r#u"}, "revision": {"N": "1"}}.

    A value of None is left out (none of our tables stores NULL): an optional attribute is simply absent.
    Raises TypeError for a value DynamoDB cannot hold (NaN, infinity, an arbitrary object).
    """
    return {name: _SERIALIZER.serialize(_storable(value)) for name, value in values.items() if value is not None}


def from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    """{"pk": {"S": "r#u"}, "revision": {"N": "1"}} -> {"pk": "r#u", "revision": 1}."""
    return {name: _plain(_DESERIALIZER.deserialize(value)) for name, value in item.items()}


def _storable(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {name: _storable(inner) for name, inner in value.items()}
    if isinstance(value, list):
        return [_storable(inner) for inner in value]
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {name: _plain(inner) for name, inner in value.items()}
    if isinstance(value, list):
        return [_plain(inner) for inner in value]
    return value
