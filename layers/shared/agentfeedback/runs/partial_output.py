"""A streamed structured answer's output so far: its JSON text parsed leniently, as far as it is valid."""

from __future__ import annotations

from typing import Any

from pydantic_core import from_json


def partial_output(text: str) -> dict[str, Any] | None:
    """The JSON object the text so far begins, or None when it begins none (yet, or at all).

    Parsed by pydantic_core's partial mode ("trailing-strings"): an unfinished string is kept as far as it
    goes, an unfinished key, literal or exponent is left out, and a number may still grow ("12" of "123").
    A leading Markdown fence line (```json) is skipped, as the full answer's check skips it. What this
    returns is a preview for the SDKs' partial outputs, never validated: the full answer is, at the end.
    """
    text = text.lstrip()
    if text.startswith("```"):
        _, newline, text = text.partition("\n")
        if not newline:
            return None
    try:
        value = from_json(text, allow_partial="trailing-strings")
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
