"""The built-in model `offline`: deterministic answers with no AI provider, for demos, tests and local use.

Given an output schema it returns JSON valid against that schema; otherwise a short chat reply. Every
value derives from a hash of the conversation, the schema and the value's place in the document, so the
same input always gives the same output, and a changed input gives a visibly different one.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import math
import re
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from agentfeedback.core.errors import ProviderError
from agentfeedback.providers.base import ChatMessage, Completion, CompletionRequest, estimate_tokens, truncate

OFFLINE_MODEL = "offline"

# Recursive schemas (a tree of nodes) would never end: past this depth only required fields and the
# fewest items are generated, and a nullable choice takes null.
_MAX_DEPTH = 6
_MAX_REF_HOPS = 64
_EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
_YEAR_SECONDS = 365 * 86400
_WORDS = (
    "amber", "anchor", "breeze", "canyon", "cedar", "comet", "delta", "ember", "falcon", "fern",
    "glacier", "harbor", "indigo", "island", "juniper", "lagoon", "lantern", "maple", "meadow", "nova",
    "orbit", "pebble", "quartz", "raven", "river", "saffron", "summit", "tundra", "valley", "willow",
    "zephyr", "aurora",
)  # fmt: skip
_CLASS_POOL = "abcxyzABCXYZ0123456789_-. "
_CATEGORIES: dict[str, Callable[[str], bool]] = {
    "CATEGORY_DIGIT": lambda char: char.isdigit(),
    "CATEGORY_NOT_DIGIT": lambda char: not char.isdigit(),
    "CATEGORY_SPACE": lambda char: char.isspace(),
    "CATEGORY_NOT_SPACE": lambda char: not char.isspace(),
    "CATEGORY_WORD": lambda char: char.isalnum() or char == "_",
    "CATEGORY_NOT_WORD": lambda char: not (char.isalnum() or char == "_"),
}
_CATEGORY_SAMPLES = {"CATEGORY_DIGIT": "0123456789", "CATEGORY_SPACE": " ", "CATEGORY_WORD": "abcdefxyz"}


class OfflineModel:
    """Implements `Provider`. Temperature is ignored: the offline model is deterministic by design."""

    def complete(self, request: CompletionRequest, provider_model: str = OFFLINE_MODEL) -> Completion:
        prompt = "\n".join(f"{message.role}: {message.content}" for message in request.messages)
        if request.json_schema is not None:
            schema_text = json.dumps(request.json_schema, sort_keys=True)
            seed = _seed(request.messages, schema_text)
            try:
                value = SchemaFaker(request.json_schema, seed, free_text=chat_reply(request.messages)).value()
            except RecursionError:
                raise ProviderError("offline", "the output schema refers to itself without end.") from None
            text = json.dumps(value, ensure_ascii=False)
            prompt += "\n" + schema_text
        else:
            text = chat_reply(request.messages)
            if request.max_tokens is not None:
                text = text[: max(request.max_tokens, 0) * 4]
        return Completion(
            text=text,
            input_tokens=estimate_tokens(prompt),
            output_tokens=estimate_tokens(text),
            model=OFFLINE_MODEL,
        )


def chat_reply(messages: Sequence[ChatMessage]) -> str:
    last_user = next((message.content for message in reversed(messages) if message.role == "user"), "")
    summary = truncate(last_user, 80)
    intro = "This is the offline model: it answers without calling any AI provider."
    if not summary:
        return f"{intro} There was no user message to answer."
    return f'{intro} You said: "{summary}"'


def _seed(messages: Sequence[ChatMessage], schema_text: str) -> bytes:
    material = json.dumps([[message.role, message.content] for message in messages], ensure_ascii=False)
    return hashlib.sha256(f"{material}\n{schema_text}".encode()).digest()


class SchemaFaker:
    """Builds one JSON value valid against a JSON schema (draft 7 to 2020-12, as pydantic writes them).

    Covers types, enum/const, string lengths and common formats, numeric bounds and multipleOf, arrays
    (items, prefixItems, min/maxItems, uniqueItems), objects (properties, required, additionalProperties,
    min/maxProperties, propertyNames), anyOf/oneOf (the first choice), allOf (merged), local $ref ($defs,
    definitions) and `pattern` (see PatternText). `not`, `if`/`then`/`else` and `contains` are ignored.
    """

    def __init__(self, schema: Any, seed: bytes, free_text: str | None = None) -> None:
        self._root = schema
        self._seed = seed
        # A bare {"type": "object"} (JSON mode) at the top gets {"reply": free_text} rather than {}.
        self._free_text = free_text

    def value(self) -> Any:
        return self._make(self._root, "$", 0)

    def _hash(self, path: str) -> int:
        return int.from_bytes(hashlib.sha256(self._seed + path.encode()).digest()[:8], "big")

    def _word(self, path: str, index: int) -> str:
        return _WORDS[self._hash(f"{path}#{index}") % len(_WORDS)]

    # Schema plumbing: $ref and allOf become one plain schema before a value is made.

    def _lookup(self, ref: str) -> Any:
        if not ref.startswith("#"):
            return {}  # a remote reference: nothing to fetch offline, so any value will do
        node: Any = self._root
        for part in ref[1:].split("/")[1:] if ref != "#" else []:
            part = part.replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                return {}
        return node

    def _flatten(self, schema: dict[str, Any]) -> dict[str, Any]:
        for _ in range(_MAX_REF_HOPS):
            if "$ref" in schema:
                target = self._lookup(str(schema["$ref"]))
                rest = {key: value for key, value in schema.items() if key != "$ref"}
                schema = {**target, **rest} if isinstance(target, dict) else rest
            elif "allOf" in schema:
                merged = {key: value for key, value in schema.items() if key != "allOf"}
                for part in schema["allOf"]:
                    if isinstance(part, dict):
                        merged = _merge(merged, self._flatten(part))
                schema = merged
            else:
                return schema
        return schema

    # Values

    def _make(self, schema: Any, path: str, depth: int) -> Any:
        if schema is False or depth > 4 * _MAX_DEPTH:
            return None
        if not isinstance(schema, dict):
            schema = {}
        schema = self._flatten(schema)
        if "const" in schema:
            return schema["const"]
        enum = schema.get("enum")
        if isinstance(enum, list) and enum:
            return enum[self._hash(path) % len(enum)]
        for keyword in ("anyOf", "oneOf"):
            options = schema.get(keyword)
            if isinstance(options, list) and options:
                rest = {key: value for key, value in schema.items() if key != keyword}
                return self._make(_merge(rest, self._choose(options, depth)), path, depth + 1)
        kind = self._type(schema, depth)
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
        flat = [self._flatten(option) if isinstance(option, dict) else {} for option in options]
        if depth >= _MAX_DEPTH:
            for option in flat:
                if option.get("type") == "null":
                    return option
        return flat[0]

    @staticmethod
    def _type(schema: dict[str, Any], depth: int) -> str:
        declared = schema.get("type")
        if isinstance(declared, list):
            concrete = [kind for kind in declared if kind != "null"]
            if not concrete or ("null" in declared and depth >= _MAX_DEPTH):
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

    def _object(self, schema: dict[str, Any], path: str, depth: int) -> dict[str, Any]:
        properties = schema.get("properties")
        properties = properties if isinstance(properties, dict) else {}
        required = [name for name in schema.get("required", []) if isinstance(name, str)]
        extra = schema.get("additionalProperties", True)
        result: dict[str, Any] = {}
        for name, subschema in properties.items():
            if depth < _MAX_DEPTH or name in required:
                result[name] = self._make(subschema, f"{path}.{name}", depth + 1)
        for name in required:
            if name not in result:
                result[name] = self._make(extra if isinstance(extra, dict) else {}, f"{path}.{name}", depth + 1)
        open_object = extra is True and not properties and "propertyNames" not in schema
        if depth == 0 and open_object and self._free_text is not None and schema.get("maxProperties") != 0:
            result["reply"] = self._free_text
        wanted = int(schema.get("minProperties", 0))
        if isinstance(extra, dict) and not properties and depth < _MAX_DEPTH:
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
        count = low if depth >= _MAX_DEPTH else max(low, len(prefix) or 1 + self._hash(path) % 2)
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
            return int(first + (self._hash(path) % choices) * step) if choices > 0 else int(first)
        if lowest > highest:
            return int(lowest)
        return int(lowest + self._hash(path) % (highest - lowest + 1))

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
        text = self._formatted(str(schema.get("format", "")), path)
        shortest = int(schema.get("minLength", 0))
        longest = schema.get("maxLength")
        if text is None or len(text) < shortest or (isinstance(longest, int) and len(text) > longest):
            text = self._words(path, shortest, longest if isinstance(longest, int) else None)
        pattern = schema.get("pattern")
        if isinstance(pattern, str):
            made = PatternText(pattern, lambda index: self._hash(f"{path}/pattern#{index}")).text()
            text = _first_matching(pattern, [text] if made is None else [made, text])
        return text

    def _words(self, path: str, shortest: int, longest: int | None) -> str:
        """A few words, whole words where the length limits allow."""
        wanted = 2 + self._hash(path) % 3
        text, index = "", 0
        while longest is None or len(text) < longest:
            word = self._word(path, index)
            longer = f"{text} {word}" if text else word
            if longest is not None and len(longer) > longest:
                break
            text, index = longer, index + 1
            if index >= wanted and len(text) >= shortest:
                return text
        while len(text) < max(shortest, 1):
            text = f"{text} {self._word(path, index)}" if text else self._word(path, index)
            index += 1
        if longest is not None and len(text) > longest:
            text = text[:longest]
            if len(text.rstrip()) >= shortest:
                text = text.rstrip()
        return text

    def _formatted(self, kind: str, path: str) -> str | None:
        number = self._hash(path)
        moment = _EPOCH + timedelta(seconds=number % _YEAR_SECONDS)
        word, other = self._word(path, 0), self._word(path, 1)
        formats = {
            "date-time": lambda: moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "date": lambda: moment.strftime("%Y-%m-%d"),
            "time": lambda: moment.strftime("%H:%M:%SZ"),
            "duration": lambda: f"PT{number % 120 + 1}M",
            "email": lambda: f"{word}.{other}@example.com",
            "idn-email": lambda: f"{word}.{other}@example.com",
            "hostname": lambda: f"{word}.example.com",
            "idn-hostname": lambda: f"{word}.example.com",
            "ipv4": lambda: f"192.0.2.{number % 254 + 1}",  # TEST-NET-1, documentation addresses
            "ipv6": lambda: f"2001:db8::{number % 0xFFFF:x}",
            "uri": lambda: f"https://example.com/{word}/{other}",
            "iri": lambda: f"https://example.com/{word}/{other}",
            "url": lambda: f"https://example.com/{word}/{other}",
            "uri-reference": lambda: f"https://example.com/{word}/{other}",
            "uuid": lambda: str(uuid.UUID(bytes=hashlib.sha256(self._seed + path.encode()).digest()[:16], version=4)),
        }
        make = formats.get(kind)
        return make() if make else None


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """Both schemas at once (allOf, or a choice with its siblings): properties and required add up."""
    merged = {**base, **extra}
    if isinstance(base.get("properties"), dict) and isinstance(extra.get("properties"), dict):
        merged["properties"] = {**base["properties"], **extra["properties"]}
    if isinstance(base.get("required"), list) and isinstance(extra.get("required"), list):
        merged["required"] = list(dict.fromkeys([*base["required"], *extra["required"]]))
    return merged


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


def _first_matching(pattern: str, candidates: list[str]) -> str:
    try:
        compiled = re.compile(pattern)
    except re.error:
        return candidates[0]  # an ECMA-only construct Python cannot read: keep the ordinary value
    return next((candidate for candidate in candidates if compiled.search(candidate)), candidates[0])


class PatternText:
    """A string matching a regular expression, built from Python's own parse of the pattern.

    Handles literals, classes, repeats, groups, alternation and anchors: what output schemas use for
    codes and identifiers. Anything else (back-references, lookarounds that bite) gives None, and the
    caller falls back to ordinary text.
    """

    def __init__(self, pattern: str, entropy: Callable[[int], int]) -> None:
        self._pattern = pattern
        self._entropy = entropy
        self._draws = 0

    def text(self) -> str | None:
        try:
            # re._parser is private but present on every Python we run (3.11 to 3.13); any surprise is caught.
            parser: Any = importlib.import_module("re._parser")
            parts: list[str] = []
            self._emit(parser.parse(self._pattern), parts, parser.MAXREPEAT)
        except Exception:
            return None
        return "".join(parts)

    def _pick(self, count: int) -> int:
        self._draws += 1
        return self._entropy(self._draws) % count if count > 0 else 0

    def _emit(self, items: Any, out: list[str], unbounded: int) -> None:
        for op, argument in items:
            name = str(op)
            if name == "LITERAL":
                out.append(chr(argument))
            elif name == "NOT_LITERAL":
                out.append("b" if chr(argument) == "a" else "a")
            elif name == "ANY":
                out.append("a")
            elif name == "IN":
                out.append(self._member(argument))
            elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
                low, high, repeated = argument
                high = low + 3 if high == unbounded else min(high, low + 3)
                for _ in range(low + self._pick(high - low + 1)):
                    self._emit(repeated, out, unbounded)
            elif name == "SUBPATTERN":
                self._emit(argument[-1], out, unbounded)
            elif name == "ATOMIC_GROUP":
                self._emit(argument, out, unbounded)
            elif name == "BRANCH":
                branches = argument[1]
                self._emit(branches[self._pick(len(branches))], out, unbounded)
            elif name not in ("AT", "ASSERT", "ASSERT_NOT"):
                raise ValueError(f"unsupported pattern construct {name}")

    def _member(self, items: Any) -> str:
        negated = any(str(op) == "NEGATE" for op, _ in items)
        pool = _CLASS_POOL
        if not negated:
            samples = []
            for op, argument in items:
                name = str(op)
                if name == "LITERAL":
                    samples.append(chr(argument))
                elif name == "RANGE":
                    samples.extend(chr(code) for code in range(argument[0], min(argument[1], argument[0] + 25) + 1))
                elif name == "CATEGORY":
                    samples.extend(_CATEGORY_SAMPLES.get(str(argument), ""))
            pool = "".join(samples) or pool
        members = [char for char in pool if _in_class(char, items)]
        if not members:
            raise ValueError("no sample character fits the class")
        return members[self._pick(len(members))]


def _in_class(char: str, items: Any) -> bool:
    negated = found = False
    for op, argument in items:
        name = str(op)
        if name == "NEGATE":
            negated = True
        elif name == "LITERAL":
            found = found or ord(char) == argument
        elif name == "RANGE":
            found = found or argument[0] <= ord(char) <= argument[1]
        elif name == "CATEGORY":
            test = _CATEGORIES.get(str(argument))
            found = found or (test is not None and test(char))
    return found != negated
