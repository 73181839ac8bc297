"""providers/offline/schema_values.py: SchemaFaker makes one value valid against a JSON Schema, per seed."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema.validators import validator_for

from agentfeedback.providers.offline.schema_values import MAX_DEPTH, SchemaFaker

# One schema per keyword family SchemaFaker covers, in the drafts pydantic and hand-written schemas use.
SCHEMAS: dict[str, dict[str, Any]] = {
    "const and enum": {
        "type": "object",
        "properties": {"kind": {"const": "ticket"}, "level": {"enum": [1, "two", None, {"three": 3}]}},
        "required": ["kind", "level"],
    },
    "string lengths": {"type": "string", "minLength": 7, "maxLength": 9},
    "string formats": {
        "type": "array",
        "prefixItems": [{"type": "string", "format": kind} for kind in ("date-time", "date", "email", "uuid", "ipv6")],
        "items": False,
    },
    "pattern and length": {"type": "string", "pattern": "^(foo|bar)_[a-z0-9]+$", "maxLength": 12},
    "integer bounds and multipleOf": {
        "type": "array",
        "prefixItems": [
            {"type": "integer", "minimum": -5, "maximum": 5},
            {"type": "integer", "exclusiveMinimum": 10, "exclusiveMaximum": 12},
            {"type": "integer", "minimum": 10**15, "multipleOf": 7},
            {"type": "integer", "maximum": -3},
        ],
        "minItems": 4,
    },
    "number bounds and multipleOf": {
        "type": "array",
        "prefixItems": [
            {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 0.5},
            {"type": "number", "minimum": 0.1, "maximum": 0.9, "multipleOf": 0.1},
            {"type": "number", "multipleOf": 0.01},
            {"type": "number", "minimum": 2.5, "maximum": 2.5},
        ],
        "minItems": 4,
    },
    "draft 4 boolean exclusive bounds": {
        "$schema": "http://json-schema.org/draft-04/schema#",
        "type": "integer",
        "minimum": 3,
        "exclusiveMinimum": True,
        "maximum": 5,
        "exclusiveMaximum": True,
    },
    "draft 7 tuple": {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "array",
        "items": [{"type": "boolean"}, {"type": "null"}],
        "additionalItems": False,
    },
    "unique items": {
        "type": "array",
        "items": {"type": "integer", "minimum": 0, "maximum": 50},
        "minItems": 5,
        "uniqueItems": True,
    },
    "objects": {
        "type": "object",
        "properties": {"a": {"type": "string"}, "b": {"type": "integer"}},
        "required": ["a", "z"],
        "additionalProperties": {"type": "boolean"},
        "minProperties": 4,
        "maxProperties": 4,
    },
    "map with property names": {
        "type": "object",
        "additionalProperties": {"type": "integer"},
        "propertyNames": {"enum": ["red", "green", "blue"]},
        "minProperties": 2,
    },
    "closed object": {"type": "object", "properties": {"x": {"type": "number"}}, "additionalProperties": False},
    "choices with siblings": {
        "anyOf": [{"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}, {"type": "null"}],
        "properties": {"b": {"type": "string"}},
        "required": ["b"],
    },
    "one of": {"oneOf": [{"type": "string", "maxLength": 3}, {"type": "integer"}]},
    "type lists": {"type": ["null", "integer"], "minimum": 1},
    "keywords imply the type": {"properties": {"n": {"minimum": 4}, "l": {"minItems": 2}}, "required": ["n", "l"]},
    "refs and all of": {
        "$defs": {
            "Base": {"type": "object", "properties": {"id": {"type": "string", "format": "uuid"}}, "required": ["id"]}
        },
        "allOf": [{"$ref": "#/$defs/Base"}, {"properties": {"name": {"type": "string"}}, "required": ["name"]}],
    },
    "recursive tree": {
        "$defs": {
            "Node": {
                "type": "object",
                "properties": {
                    "label": {"type": "string"},
                    "parent": {"anyOf": [{"$ref": "#/$defs/Node"}, {"type": "null"}]},
                    "kids": {"type": "array", "items": {"$ref": "#/$defs/Node"}},
                },
                "required": ["label", "parent", "kids"],
            }
        },
        "$ref": "#/$defs/Node",
    },
}


def assert_valid(schema: dict[str, Any], value: Any) -> None:
    validator = validator_for(schema)
    validator(schema, format_checker=validator.FORMAT_CHECKER).validate(value)


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


@pytest.mark.parametrize("schema", SCHEMAS.values(), ids=SCHEMAS.keys())
def test_the_same_schema_and_seed_give_the_same_value(schema: dict[str, Any]) -> None:
    seed = b"\x01" * 32
    first = SchemaFaker(schema, seed).value()
    assert json.dumps(first) == json.dumps(SchemaFaker(schema, seed).value())


@settings(max_examples=40, deadline=None)
@given(seed=st.binary(min_size=0, max_size=32))
@pytest.mark.parametrize("schema", SCHEMAS.values(), ids=SCHEMAS.keys())
def test_any_seed_gives_a_valid_value(schema: dict[str, Any], seed: bytes) -> None:
    assert_valid(schema, SchemaFaker(schema, seed).value())


def test_seeds_change_the_value() -> None:
    schema = SCHEMAS["recursive tree"]
    values = {canonical(SchemaFaker(schema, bytes([number])).value()) for number in range(10)}
    assert len(values) == 10


def test_recursion_stops_past_the_depth_limit() -> None:
    tree = SchemaFaker(SCHEMAS["recursive tree"], b"seed").value()
    depth = 0
    while tree is not None:
        tree, depth = tree["parent"], depth + 1
    assert depth <= MAX_DEPTH  # past it a nullable choice takes null


def test_unique_items_gives_fewer_items_rather_than_repeats() -> None:
    schema = {"type": "array", "items": {"enum": ["yes", "no"]}, "minItems": 3, "uniqueItems": True}
    value = SchemaFaker(schema, b"seed").value()
    assert sorted(value) == ["no", "yes"]


def test_free_text_fills_only_an_open_object_at_the_top() -> None:
    assert SchemaFaker({"type": "object"}, b"s", free_text="hi").value() == {"reply": "hi"}
    assert SchemaFaker({"type": "object"}, b"s").value() == {}
    assert SchemaFaker({"type": "object", "maxProperties": 0}, b"s", free_text="hi").value() == {}
    nested = {"type": "object", "properties": {"inner": {"type": "object"}}, "required": ["inner"]}
    assert SchemaFaker(nested, b"s", free_text="hi").value() == {"inner": {}}
