"""Agents' JSON Schemas: checked when registered, compiled once, and used to validate inputs and outputs."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import fastjsonschema

from agentfeedback.core.errors import ValidationFailed

MAX_SCHEMA_BYTES = 64 * 1024


def _refuse_remote(uri: str) -> Any:
    raise ValidationFailed(f"$ref {uri[:100]!r} is not allowed: schemas may only refer inside themselves (#/...).")


# fastjsonschema fetches a non-local $ref with urlopen: never let a schema read files or call out.
_NO_REMOTE_REFS = {scheme: _refuse_remote for scheme in ("http", "https", "file", "ftp", "data", "")}


def _remote_refs(schema: Any) -> list[str]:
    if isinstance(schema, dict):
        found = [ref for key, ref in schema.items() if key == "$ref" and not str(ref).startswith("#")]
        return found + [ref for value in schema.values() for ref in _remote_refs(value)]
    if isinstance(schema, list):
        return [ref for value in schema for ref in _remote_refs(value)]
    return []


@lru_cache(maxsize=256)
def _compiled(schema_json: str) -> Callable[[Any], Any]:
    return fastjsonschema.compile(json.loads(schema_json), handlers=_NO_REMOTE_REFS)


def _validator(schema: dict[str, Any], name: str) -> Callable[[Any], Any]:
    text = json.dumps(schema, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    if len(text.encode("utf-8")) > MAX_SCHEMA_BYTES:
        raise ValidationFailed(f"{name} is larger than {MAX_SCHEMA_BYTES // 1024} KiB.")
    remote = _remote_refs(schema)
    if remote:
        raise ValidationFailed(f"{name}: $ref {remote[0][:100]!r} is not allowed; only local refs (#/...) are.")
    try:
        return _compiled(text)
    except ValidationFailed:
        raise
    except Exception as exc:  # invalid schemas fail in many ways (bad regex, bad types, ...)
        raise ValidationFailed(f"{name} is not a valid JSON Schema: {str(exc)[:300]}") from None


def check_schema(schema: dict[str, Any], name: str) -> None:
    """Refuse, with a 422 naming it, a schema that is too large, refers outside itself, or does not compile."""
    _validator(schema, name)


def schema_problem(schema: dict[str, Any], value: Any, name: str = "schema") -> str | None:
    """None when value is valid against schema, else what is wrong with it."""
    validator = _validator(schema, name)
    try:
        validator(value)
    except fastjsonschema.JsonSchemaValueException as exc:
        return str(exc.message)
    return None
