"""CSV cells that no spreadsheet runs as a formula, whatever separator the reader's locale uses.

A spreadsheet opening a CSV file treats a cell that begins with = + - or @ as a formula, which can
fetch URLs (HYPERLINK, WEBSERVICE) or start programs (DDE); end users wrote the comments and the user
ids we export. The csv module quotes fields for a reader that splits on commas, but a reader whose
locale separates on semicolons (or tabs) splits the same line at every semicolon, quotes or not, and
starts a row at every line break, so a cell may also begin inside a field. Hence the rule, applied by
`safe_cell` to every text cell of `feedbackctl export --format csv`:

    At the start of the text, and right after each comma, semicolon, tab or line break (CR, LF or
    CR LF) in it, a single quote (') is inserted when what follows
    - begins with a tab or a carriage return, or
    - begins, once whitespace, control characters, invisible formatting characters (Unicode Cf) and
      quotation marks (" and ') are passed over, with = + - or @, or a character that Unicode
      compatibility normalisation (NFKC) turns into one, such as the full-width = (U+FF1D).
    Nothing else changes: no character is removed or replaced.

A cell beginning with ' is text to spreadsheets (Excel hides the quote, others show it). The file stays
valid CSV (RFC 4180, written by the csv module) and Python's csv module reads back exactly the cells
written; `feedbackctl export --format jsonl` gives the raw values.
"""

from __future__ import annotations

import unicodedata

CELL_BREAKS = frozenset(",;\t\r\n")
FORMULA_STARTS = frozenset("=+-@")
_QUOTES = frozenset("\"'")
_BARE_TRIGGERS = frozenset("\t\r")


def _passed_over(char: str) -> bool:
    return char.isspace() or char in _QUOTES or unicodedata.category(char) in ("Cc", "Cf")


def opens_formula(char: str) -> bool:
    """Whether `char`, as the first meaningful character of a cell, makes a spreadsheet read a formula."""
    return unicodedata.normalize("NFKC", char)[:1] in FORMULA_STARTS


def safe_cell(text: str) -> str:
    """`text` with a ' inserted at each cell start that would open a formula (the rule in the module docstring)."""
    # first_meaningful[i]: the first character at or after i that is not passed over ("" if none); one pass
    # from the end keeps this linear however long a run of tabs or spaces is.
    first_meaningful = [""] * (len(text) + 1)
    for index in range(len(text) - 1, -1, -1):
        char = text[index]
        first_meaningful[index] = first_meaningful[index + 1] if _passed_over(char) else char
    out: list[str] = []
    for index, char in enumerate(text):
        before = text[index - 1] if index else ""
        starts_cell = index == 0 or (before in CELL_BREAKS and before + char != "\r\n")
        if starts_cell and (char in _BARE_TRIGGERS or opens_formula(first_meaningful[index])):
            out.append("'")
        out.append(char)
    return "".join(out)
