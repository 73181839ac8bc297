"""Opaque page cursors for the review list: a position in the by_agent_time index, checked on the way back in.

The cursor is base64url JSON of the position (table key + index keys). It is not secret (the
caller may read everything in it anyway), but it is never trusted: it must decode into exactly that
shape, name the same tenant and agent as the request, and lie inside the requested time window, or
the request is refused with 400 before DynamoDB sees it.
"""

from __future__ import annotations

import base64
import binascii
import json
import re

from agentfeedback.core.errors import InvalidCursor
from agentfeedback.review.store import FeedbackPosition

CURSOR_FORMAT = 1
MAX_CURSOR_CHARS = 2048
_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")
_FIELDS = {"f", "pk", "ta", "at"}


def encode_cursor(position: FeedbackPosition) -> str:
    """From a position in the by_agent_time index to an opaque string."""
    plain = {"f": CURSOR_FORMAT, "pk": position.pk, "ta": position.tenant_agent, "at": position.created_at}
    raw = json.dumps(plain, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: str, tenant_agent: str, lowest: str | None, highest: str | None) -> FeedbackPosition:
    """Back to a position, after checking it belongs to this tenant, agent and window; else InvalidCursor."""
    if len(cursor) > MAX_CURSOR_CHARS:
        raise InvalidCursor("it is too long")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        plain = json.loads(raw.decode("utf-8"))
    except (binascii.Error, UnicodeDecodeError, ValueError, RecursionError):
        raise InvalidCursor("it is not a cursor this API returned") from None
    if (
        not isinstance(plain, dict)
        or set(plain) != _FIELDS
        or type(plain["f"]) is not int
        or plain["f"] != CURSOR_FORMAT
        or not all(isinstance(plain[name], str) for name in ("pk", "ta", "at"))
        or "#" not in plain["pk"]
        or not _TIMESTAMP.match(plain["at"])
    ):
        raise InvalidCursor("it is not a cursor this API returned")
    if plain["ta"] != tenant_agent:
        raise InvalidCursor("it was returned for another agent or tenant")
    # DynamoDB refuses a start key outside the key condition; say why in our words instead.
    if (lowest is not None and plain["at"] < lowest) or (highest is not None and plain["at"] > highest):
        raise InvalidCursor("it lies outside the since/until window of this request")
    return FeedbackPosition(pk=plain["pk"], tenant_agent=plain["ta"], created_at=plain["at"])
