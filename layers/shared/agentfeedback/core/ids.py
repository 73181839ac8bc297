"""Identifier rules shared by routes and stores: what an agent id may look like."""

from __future__ import annotations

import re
import unicodedata
import uuid

from agentfeedback.core.errors import ValidationFailed

AGENT_ID_REGEX = r"^[a-z0-9][a-z0-9_-]{0,63}$"
AGENT_ID_PATTERN = re.compile(AGENT_ID_REGEX)


def validate_agent_id(agent_id: str) -> str:
    """The id itself; ValidationFailed (422) unless it is 1-64 of [a-z0-9_-], starting with [a-z0-9]."""
    if not AGENT_ID_PATTERN.match(agent_id):
        raise ValidationFailed(
            f"Invalid agent id {agent_id[:80]!r}: use 1-64 lowercase letters, digits, '-' or '_', "
            "starting with a letter or digit."
        )
    return agent_id


def canonical_run_id(run_id: str) -> str:
    """A run id as stored: a UUID in any spelling (upper case, braces, urn:uuid:, no dashes) becomes its
    canonical lowercase 8-4-4-4-12 form; anything else is returned unchanged (and simply matches no run)."""
    try:
        return str(uuid.UUID(run_id))
    except ValueError:
        return run_id


MAX_USER_ID_CHARS = 256
# Characters no end-user id may hold: they are invisible or reorder text wherever the id is shown.
_BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_REFUSED_CATEGORIES = frozenset({"Cc", "Cs", "Zl", "Zp"})
# Every character str.isspace() accepts (what a bare strip() removes), written out: computing it at import
# (a scan of all 0x110000 code points) cost every function ~70 ms of cold start. Plus U+FEFF.
_EDGE_SPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000\ufeff"
)


def canonical_user_id(user_id: str, field: str = "user_id") -> str:
    """The one form of an end-user id: Unicode NFC, surrounding white space removed.

    "josé" typed as NFC or NFD is one user; " alice " is "alice". ValidationFailed (422, naming `field`) when
    what is left is empty, longer than MAX_USER_ID_CHARS, or holds a control, line-separator or bidi character
    (they hide or reorder text in operators' tools). Source: Unicode Standard Annex #15 (normalization forms).
    """
    # U+FEFF (a byte-order mark pasted in) is trimmed too, as JavaScript's trim() does in the web SDK.
    canonical = unicodedata.normalize("NFC", user_id).strip(_EDGE_SPACE)
    if not canonical:
        raise ValidationFailed(f"Invalid request: {field}: must not be empty or only white space.")
    if len(canonical) > MAX_USER_ID_CHARS:
        raise ValidationFailed(f"Invalid request: {field}: must be at most {MAX_USER_ID_CHARS} characters.")
    for char in canonical:
        if unicodedata.category(char) in _REFUSED_CATEGORIES or char in _BIDI_CONTROLS:
            raise ValidationFailed(
                f"Invalid request: {field}: must not contain control or text-direction characters "
                f"(found U+{ord(char):04X})."
            )
    return canonical


def end_user_id(value: object, field: str) -> str | None:
    """The end user a backend names on a run (metadata.user_id, OpenAI's `user`), in canonical form.

    None when absent, null or empty. A string, or a whole number (some backends key users by number, and a web
    page then sends "42"), becomes canonical_user_id's form; anything else, or an id canonical_user_id refuses,
    is ValidationFailed (422) naming `field`.
    """
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise ValidationFailed(f"Invalid request: {field}: must be a string (the end user's id), or a whole number.")
    return canonical_user_id(value, field)
