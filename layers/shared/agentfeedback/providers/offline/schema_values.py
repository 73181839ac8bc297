"""`SchemaFaker`: one JSON value valid against a JSON Schema, every choice drawn from `Entropy`."""

from __future__ import annotations

import json
import math
from typing import Any

from agentfeedback.providers.offline.entropy import Entropy
from agentfeedback.providers.offline.pattern_text import PatternText, first_matching
from agentfeedback.providers.offline.schema_refs import flatten, merge
from agentfeedback.providers.offline.string_values import formatted, words

# Recursive schemas (a tree of nodes) would never end: past this depth only required fields and the
# fewest items are generated, and a nullable choice takes null.
MAX_DEPTH = 6


class SchemaFaker:
    """Builds one JSON value valid against a JSON schema (draft 7 to 2020-12, as pydantic writes them).

    Covers types, enum/const, string lengths and common formats, numeric bounds and multipleOf, arrays
    (items, prefixItems, min/maxItems, uniqueItems), objects (properties, required, additionalProperties,
    min/maxProperties, propertyNames), anyOf/oneOf (the first choice), allOf (merged), local $ref ($defs,
    definitions) and `pattern` (see PatternText). `not`, `if`/`then`/`else` and `contains` are ignored.

    `seed` (bytes) fixes every choice: the same schema and seed give the same value. `free_text`, when
    given, fills a bare `{"type": "object"}` at the top (JSON mode) as `{"reply": free_text}` rather than `{}`.
    """

    def __init__(self, schema: Any, seed: bytes, free_text: str | None = None) -> None:
        self._root = schema
        self._entropy = Entropy(seed)
        self._free_text = free_text

    def value(self) -> Any:
        """The value (dict, list, str, int, float, bool or None). Raises `RecursionError` for a schema whose
        `allOf` contains itself (see `schema_refs.flatten`)."""
        return self._make(self._root, "$", 0)

    def _hash(self, path: str) -> int:
        return self._entropy.number(path)

    def _make(self, schema: Any, path: str, depth: int) -> Any:
        if schema is False or depth > 4 * MAX_DEPTH:
            return None
        if not isinstance(schema, dict):
            schema = {}
        schema = flatten(schema, self._root)
        if "const" in schema:
            return schema["const"]
        enum = schema.get("enum")
        if isinstance(enum, list) and enum:
            return enum[self._hash(path) % len(enum)]
        for keyword in ("anyOf", "oneOf"):
            options = schema.get(keyword)
            if isinstance(options, list) and options:
                rest = {key: value for key, value in schema.items() if key != keyword}
                return self._make(merge(rest, self._choose(options, depth)), path, depth + 1)
        kind = _type(schema, depth)
        if kind == "object":
            return self._object(schema, path, depth)
        if kind == "array":
            return self._array(schema, path, depth)
        if kind == "integer":
            return self._integer(schema, path)
        if kind == "number":
            return self._number(schema, path)
        if kind == "boolean":
            return self._hash(path) % 2 == 0
        if kind == "null":
            return None
        return self._string(schema, path)

    def _choose(self, options: list[Any], depth: int) -> dict[str, Any]:
        flat = [flatten(option, self._root) if isinstance(option, dict) else {} for option in options]
        if depth >= MAX_DEPTH:
            for option in flat:
                if option.get("type") == "null":
                    return option
        return flat[0]

    def _object(self, schema: dict[str, Any], path: str, depth: int) -> dict[str, Any]:
        properties = schema.get("properties")
        properties = properties if isinstance(properties, dict) else {}
        required = [name for name in schema.get("required", []) if isinstance(name, str)]
        extra = schema.get("additionalProperties", True)
        result: dict[str, Any] = {}
        for name, subschema in properties.items():
            if depth < MAX_DEPTH or name in required:
                result[name] = self._make(subschema, f"{path}.{name}", depth + 1)
        for name in required:
            if name not in result:
                result[name] = self._make(extra if isinstance(extra, dict) else {}, f"{path}.{name}", depth + 1)
        open_object = extra is True and not properties and "propertyNames" not in schema
        if depth == 0 and open_object and self._free_text is not None and schema.get("maxProperties") != 0:
            result["reply"] = self._free_text
        wanted = int(schema.get("minProperties", 0))
        if isinstance(extra, dict) and not properties and depth < MAX_DEPTH:
            wanted = max(wanted, 1)  # a map (dict[str, X]): show one entry
        names = schema.get("propertyNames")
        index = 0
        while len(result) < wanted and extra is not False and index < wanted + 16:
            index += 1
            # Keys follow propertyNames when there is one (dict[Literal[...], X]); a name it cannot give is skipped.
            key = self._make(names, f"{path}{{key{index}}}", depth + 1) if isinstance(names, dict) else f"key{index}"
            if isinstance(key, str) and key not in result:
                result[key] = self._make(extra if isinstance(extra, dict) else {}, f"{path}.{key}", depth + 1)
        limit = schema.get("maxProperties")
        if isinstance(limit, int):
            for name in [name for name in reversed(result) if name not in required][: max(len(result) - limit, 0)]:
                del result[name]
        return result

    def _array(self, schema: dict[str, Any], path: str, depth: int) -> list[Any]:
        items = schema.get("items", {})
        prefix = schema.get("prefixItems")
        if isinstance(items, list):  # draft 7 tuples: items is a list, additionalItems the rest
            prefix, items = items, schema.get("additionalItems", {})
        prefix = prefix if isinstance(prefix, list) else []
        low = int(schema.get("minItems", 0))
        high = schema.get("maxItems")
        count = low if depth >= MAX_DEPTH else max(low, len(prefix) or 1 + self._hash(path) % 2)
        if items is False:
            count = min(count, len(prefix))
        if isinstance(high, int):
            count = min(count, high)
        unique = schema.get("uniqueItems") is True
        result: list[Any] = []
        seen: set[str] = set()
        for index in range(count):
            subschema = prefix[index] if index < len(prefix) else items
            for attempt in range(8 if unique else 1):
                where = f"{path}[{index}]" + (f"~{attempt}" if attempt else "")
                value = self._make(subschema, where, depth + 1)
                key = json.dumps(value, sort_keys=True)
                if key not in seen:
                    break
            if unique and key in seen:
                continue  # every attempt collided (a two-value enum asked for three items): give fewer
            seen.add(key)
            result.append(value)
        return result

    def _integer(self, schema: dict[str, Any], path: str) -> int:
        low, high = _bounds(schema)
        lowest = None if low is None else math.floor(low[0]) + 1 if low[1] else math.ceil(low[0])
        highest = None if high is None else math.ceil(high[0]) - 1 if high[1] else math.floor(high[0])
        span = _span(lowest, highest, 100)
        lowest, highest = int(span[0]), int(span[1])
        step = schema.get("multipleOf")
        if isinstance(step, int) and step > 0:
            first = -(-lowest // step) * step  # integer ceiling: exact for any size
            choices = (highest - first) // step + 1
            return first + (self._hash(path) % choices) * step if choices > 0 else first
        if lowest > highest:
            return lowest
        return lowest + self._hash(path) % (highest - lowest + 1)

    def _number(self, schema: dict[str, Any], path: str) -> float | int:
        low, high = _bounds(schema)
        lowest, highest = _span(None if low is None else low[0], None if high is None else high[0], 100.0)
        step = schema.get("multipleOf")
        if isinstance(step, int | float) and step > 0:
            first, last = math.ceil(lowest / step), math.floor(highest / step)
            if low is not None and low[1] and first * step <= low[0]:
                first += 1
            if high is not None and high[1] and last * step >= high[0]:
                last -= 1
            choices = max(last - first + 1, 1)
            start = self._hash(path) % choices
            # Validators divide by a float multipleOf and want a whole quotient: 0.3 / 0.1 is not one.
            for offset in range(min(choices, 64)):
                value = round((first + (start + offset) % choices) * step, 12)
                if (value / step).is_integer():
                    break
            return int(value) if float(value).is_integer() else value

        def fits(value: float) -> bool:
            above = low is None or (value > low[0] if low[1] else value >= low[0])
            below = high is None or (value < high[0] if high[1] else value <= high[0])
            return above and below

        value = round(lowest + (highest - lowest) * (self._hash(path) % 10_001) / 10_000, 2)
        for candidate in (value, (lowest + highest) / 2):
            if fits(candidate):
                return candidate
        return lowest

    def _string(self, schema: dict[str, Any], path: str) -> str:
        text = formatted(self._entropy, str(schema.get("format", "")), path)
        shortest = int(schema.get("minLength", 0))
        longest = schema.get("maxLength")
        if text is None or len(text) < shortest or (isinstance(longest, int) and len(text) > longest):
            text = words(self._entropy, path, shortest, longest if isinstance(longest, int) else None)
        pattern = schema.get("pattern")
        if isinstance(pattern, str):
            made = PatternText(pattern, lambda index: self._hash(f"{path}/pattern#{index}")).text()
            text = first_matching(pattern, [text] if made is None else [made, text])
        return text


def _type(schema: dict[str, Any], depth: int) -> str:
    """The one type to make: the declared one (the first non-null of a list; null past MAX_DEPTH when allowed),
    else the one its keywords imply, else string."""
    declared = schema.get("type")
    if isinstance(declared, list):
        concrete = [kind for kind in declared if kind != "null"]
        if not concrete or ("null" in declared and depth >= MAX_DEPTH):
            return "null"
        declared = concrete[0]
    if isinstance(declared, str):
        return declared
    if any(key in schema for key in ("properties", "additionalProperties", "required", "minProperties")):
        return "object"
    if any(key in schema for key in ("items", "prefixItems", "minItems", "maxItems")):
        return "array"
    if any(key in schema for key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")):
        return "number"
    return "string"


def _bounds(schema: dict[str, Any]) -> tuple[tuple[float, bool] | None, tuple[float, bool] | None]:
    """(value, exclusive) for each side; draft 4's boolean exclusiveMinimum/Maximum included."""

    def side(inclusive: str, exclusive: str) -> tuple[float, bool] | None:
        flag = schema.get(exclusive)
        if isinstance(flag, int | float) and not isinstance(flag, bool):
            return (flag, True)
        value = schema.get(inclusive)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return (value, flag is True)
        return None

    return side("minimum", "exclusiveMinimum"), side("maximum", "exclusiveMaximum")


def _span(low: float | None, high: float | None, width: float) -> tuple[float, float]:
    """The range to draw from: a missing bound sits `width` away from the other one (0..width if none)."""
    if low is None:
        return (0, width) if high is None else (high - width, high)
    return (low, low + width) if high is None else (low, high)
