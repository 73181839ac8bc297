"""What the CLI shows on a terminal: text from end users and the server made harmless, visibly.

A comment, a user id, an agent id or a server's error message may hold characters a terminal obeys
rather than shows: an ANSI escape sequence (ESC [ 1 A moves the cursor up, ESC [ 2 K erases a line, so
one comment can hide other rows or change the terminal's mode), other control characters, or a Unicode
text-direction override that makes a line read differently from what it holds. `visible` replaces each
such character by its Python escape, so the reader sees that it is there and nothing acts on it:

- C0 controls U+0000-U+001F (ESC, the start of every ANSI sequence, among them), DEL U+007F and the C1
  controls U+0080-U+009F (U+009B is a one-character CSI): `\\x1b`, `\\x7f`, `\\x9b`; tab, line feed and
  carriage return as `\\t`, `\\n`, `\\r`.
- Bidirectional formatting: the embeddings and overrides U+202A-U+202E, the isolates U+2066-U+2069, the
  marks U+200E, U+200F and U+061C, and the line and paragraph separators U+2028, U+2029: `\\u202e`.
- Lone surrogates U+D800-U+DFFF (JSON may carry them; no terminal encoding can print them): `\\ud800`.

Every other character, backslashes included, is shown as it is: escaping is for the terminal's safety,
not a reversible encoding. JSON output keeps exact values instead: `json_text` writes the same
characters as JSON \\u escapes, which every JSON parser reads back unchanged.
"""

from __future__ import annotations

import json
import re
from typing import Any

_BIDI_AND_SEPARATORS = "\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
UNSAFE = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI_AND_SEPARATORS}\ud800-\udfff]")
# json.dumps escapes C0 controls inside strings itself; outside them, its line breaks and indents are layout.
_UNSAFE_IN_JSON = re.compile(f"[\x7f-\x9f{_BIDI_AND_SEPARATORS}\ud800-\udfff]")
_SHORT = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _escape(found: re.Match[str]) -> str:
    char = found.group()
    code = ord(char)
    return _SHORT.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def visible(text: object) -> str:
    """`text` (str() of it) with every character listed in the module docstring escaped, e.g. ESC -> `\\x1b`."""
    return UNSAFE.sub(_escape, str(text))


def _json_escape(found: re.Match[str]) -> str:
    return f"\\u{ord(found.group()):04x}"


def json_text(value: Any, indent: int | None = None) -> str:
    """`value` as JSON that is safe on a terminal and decodes to exactly `value`.

    Like json.dumps(ensure_ascii=False) (so "josé" stays readable), except that the characters `visible`
    escapes are written as \\uXXXX escapes: json.dumps already does so for C0 controls, not for DEL, C1
    controls, bidi formatting or lone surrogates. Those only occur inside JSON strings (json.dumps writes
    nothing but ASCII around them), where a \\u escape means the same character.
    """
    return _UNSAFE_IN_JSON.sub(_json_escape, json.dumps(value, indent=indent, ensure_ascii=False))
