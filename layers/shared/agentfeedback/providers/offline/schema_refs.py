"""Schema plumbing: `$ref` and `allOf` become one plain schema before a value is made."""

from __future__ import annotations

from typing import Any

# A chain of references longer than this is cut; the schema is then taken as it stands.
MAX_REF_HOPS = 64


def flatten(schema: dict[str, Any], root: Any) -> dict[str, Any]:
    """`schema` with its `$ref` replaced by the target (its own keywords win) and its `allOf` parts merged in
    (`merge`), repeated until neither is left, at most `MAX_REF_HOPS` times.

    Raises `RecursionError` for an `allOf` that contains itself (`{"allOf": [{"$ref": "#"}]}` at the root).
    """
    for _ in range(MAX_REF_HOPS):
        if "$ref" in schema:
            target = lookup(str(schema["$ref"]), root)
            rest = {key: value for key, value in schema.items() if key != "$ref"}
            schema = {**target, **rest} if isinstance(target, dict) else rest
        elif "allOf" in schema:
            merged = {key: value for key, value in schema.items() if key != "allOf"}
            for part in schema["allOf"]:
                if isinstance(part, dict):
                    merged = merge(merged, flatten(part, root))
            schema = merged
        else:
            return schema
    return schema


def lookup(ref: str, root: Any) -> Any:
    """The node a local reference points at: `#` is the root, `#/$defs/Name` a JSON Pointer (RFC 6901, with
    its `~1` for `/` and `~0` for `~`). A remote reference or a pointer to nothing gives `{}` (any value); a
    plain-name fragment (`#name`) is not resolved and gives the root."""
    if not ref.startswith("#"):
        return {}  # a remote reference: nothing to fetch offline, so any value will do
    node = root
    for part in ref[1:].split("/")[1:]:
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return {}
    return node


def merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """Both schemas at once (allOf, or a choice with its siblings): `extra`'s keywords win, but `properties`
    add up and `required` is the union (in order, without repeats)."""
    merged = {**base, **extra}
    if isinstance(base.get("properties"), dict) and isinstance(extra.get("properties"), dict):
        merged["properties"] = {**base["properties"], **extra["properties"]}
    if isinstance(base.get("required"), list) and isinstance(extra.get("required"), list):
        merged["required"] = list(dict.fromkeys([*base["required"], *extra["required"]]))
    return merged
