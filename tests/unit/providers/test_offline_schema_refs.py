"""providers/offline/schema_refs.py: $ref and allOf become one plain schema."""

from __future__ import annotations

from typing import Any

import pytest

from agentfeedback.providers.offline.schema_refs import MAX_REF_HOPS, flatten, lookup, merge

ROOT: dict[str, Any] = {
    "$defs": {
        "Name": {"type": "string", "maxLength": 10},
        "a/b": {"type": "integer"},
        "t~x": {"type": "boolean"},
        "Both": {"allOf": [{"$ref": "#/$defs/Name"}, {"minLength": 2}]},
    },
    "definitions": {"Old": {"type": "null"}},
    "prefixItems": [{"const": 1}, {"const": 2}],
}


def test_lookup_follows_a_json_pointer_with_its_escapes() -> None:
    assert lookup("#/$defs/Name", ROOT) == {"type": "string", "maxLength": 10}
    assert lookup("#/$defs/a~1b", ROOT) == {"type": "integer"}
    assert lookup("#/$defs/t~0x", ROOT) == {"type": "boolean"}
    assert lookup("#/definitions/Old", ROOT) == {"type": "null"}
    assert lookup("#/prefixItems/1", ROOT) == {"const": 2}
    assert lookup("#", ROOT) is ROOT


@pytest.mark.parametrize("ref", ["#/$defs/Missing", "#/prefixItems/7", "#/prefixItems/x", "https://example.com/s"])
def test_lookup_of_nothing_or_a_remote_schema_allows_any_value(ref: str) -> None:
    assert lookup(ref, ROOT) == {}


def test_ref_is_replaced_by_its_target_and_own_keywords_win() -> None:
    flat = flatten({"$ref": "#/$defs/Name", "maxLength": 3, "description": "short"}, ROOT)
    assert flat == {"type": "string", "maxLength": 3, "description": "short"}


def test_all_of_parts_are_merged_through_their_refs() -> None:
    assert flatten({"$ref": "#/$defs/Both"}, ROOT) == {"type": "string", "maxLength": 10, "minLength": 2}


def test_merge_adds_up_properties_and_required_without_repeats() -> None:
    base = {"type": "object", "properties": {"a": {}}, "required": ["a", "b"], "title": "base"}
    extra = {"properties": {"b": {"type": "integer"}}, "required": ["b", "c"], "title": "extra"}
    assert merge(base, extra) == {
        "type": "object",
        "properties": {"a": {}, "b": {"type": "integer"}},
        "required": ["a", "b", "c"],
        "title": "extra",
    }


def test_a_cycle_of_refs_stops_after_the_hop_limit() -> None:
    root = {"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}}}
    assert MAX_REF_HOPS > 2
    assert "$ref" in flatten({"$ref": "#/$defs/a"}, root)


def test_an_all_of_that_contains_itself_raises_recursion_error() -> None:
    root = {"allOf": [{"$ref": "#"}]}
    with pytest.raises(RecursionError):
        flatten(root, root)
