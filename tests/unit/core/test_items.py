"""core.items: plain values to DynamoDB's wire format and back, with boto3's codecs."""

from __future__ import annotations

import json
import math

import pytest

from agentfeedback.core.items import from_item, to_item


def test_plain_values_become_the_attribute_values_dynamodb_stores():
    assert to_item(
        {"pk": "run-1#u1", "revision": 1, "delta": -1, "truncated": True, "cost_usd": 0.000123, "user_id": ""}
    ) == {
        "pk": {"S": "run-1#u1"},
        "revision": {"N": "1"},
        "delta": {"N": "-1"},
        "truncated": {"BOOL": True},
        "cost_usd": {"N": "0.000123"},
        "user_id": {"S": ""},
    }


def test_json_text_stays_a_string_and_none_is_left_out():
    schema = json.dumps({"type": "object"})
    assert to_item({"input_schema": schema, "revoked_at": None}) == {"input_schema": {"S": schema}}


def test_numbers_come_back_as_int_when_integral_and_float_otherwise():
    item = from_item({"revision": {"N": "20"}, "cost_usd": {"N": "0.000123"}, "large": {"N": "12345678901234567890"}})
    assert item == {"revision": 20, "cost_usd": 0.000123, "large": 12345678901234567890}
    assert type(item["revision"]) is int and type(item["cost_usd"]) is float


def test_a_float_keeps_its_decimal_value_through_a_round_trip():
    values = {"duration_seconds": 1.234567, "tiny": 2.5e-05, "whole": 3.0, "nested": {"scores": [0.1, 2]}}
    back = from_item(to_item(values))
    assert back["duration_seconds"] == 1.234567 and back["tiny"] == 2.5e-05 and back["whole"] == 3
    assert back["nested"] == {"scores": [0.1, 2]}


def test_strings_and_booleans_come_back_unchanged():
    assert from_item({"pk": {"S": "run-1#"}, "metadata_truncated": {"BOOL": False}}) == {
        "pk": "run-1#",
        "metadata_truncated": False,
    }


@pytest.mark.parametrize("value", [math.nan, math.inf, object()])
def test_a_value_dynamodb_cannot_hold_is_refused(value):
    with pytest.raises(TypeError):
        to_item({"value": value})
