"""Issue 10, class 3(b): nothing the CLI prints lets end-user or server text steer the terminal.

Control characters (C0, DEL, C1), hence every ANSI escape sequence, and Unicode text-direction
overrides, isolates and marks are shown escaped (`\\x1b`, `\\u202e`) by terminal.visible in tables,
summaries, listings and errors; JSON output keeps the exact values, as JSON escapes.
"""

from __future__ import annotations

import io
import json
import unicodedata

import pytest
from feedbackctl import main as cli
from feedbackctl.commands.review import summary_view
from feedbackctl.http_client import ApiClientError, FeedbackApiClient
from feedbackctl.output import print_parts
from feedbackctl.terminal import json_text, visible
from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console

from tests.unit.cli.fake_api import AGENT, DAY, run_cli, vote

# Stated here on their own, from the issue: what a terminal must never receive raw.
BIDI = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")


def forbidden(char: str) -> bool:
    return unicodedata.category(char) in ("Cc", "Cs") or char in BIDI


SPECIAL = [*BIDI, "\x1b", "\x9b", "\x7f", "\x00", "\n", "\\", "é", "\ud800", "\udfff"]
hostile_text = st.text(st.one_of(st.sampled_from(SPECIAL), st.characters()), max_size=60)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | hostile_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(hostile_text, inner, max_size=4),
    max_leaves=12,
)


@given(hostile_text)
def test_visible_never_outputs_a_control_or_direction_character(text):
    shown = visible(text)
    assert not any(forbidden(char) for char in shown)


@given(st.text(st.characters(exclude_categories=("Cc", "Cs"))))
def test_visible_leaves_ordinary_text_alone(text):
    if not any(char in BIDI or char in "\u2028\u2029" for char in text):
        assert visible(text) == text


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("\x1b[1A\x1b[2K", "\\x1b[1A\\x1b[2K"),
        ("a\tb\nc\rd", "a\\tb\\nc\\rd"),
        ("\x00\x7f\x9b", "\\x00\\x7f\\x9b"),
        ("\u202eevil\u202c \u2066x\u2069", "\\u202eevil\\u202c \\u2066x\\u2069"),
        ("\u200e\u200f\u061c\u2028\u2029", "\\u200e\\u200f\\u061c\\u2028\\u2029"),
        ("\ud800", "\\ud800"),
        ("josé ✓ C:\\path", "josé ✓ C:\\path"),
    ],
)
def test_visible_examples(text, shown):
    assert visible(text) == shown


@given(json_values)
def test_json_text_is_exact_json_with_nothing_a_terminal_obeys(value):
    compact = json_text(value)
    assert json.loads(compact) == value
    assert not any(forbidden(char) for char in compact)
    indented = json_text(value, indent=2)
    assert json.loads(indented) == value
    assert not any(forbidden(char) for char in indented if char != "\n")


def test_list_shows_an_escape_sequence_in_a_comment_escaped(gateway, store, capsys):
    """The issue's example: cursor up + erase line would hide the row above."""
    vote(store, "r1", "u1", "positive", DAY, comment="Great answer")
    vote(store, "r2", "u2", "negative", DAY, comment="nice\x1b[1A\x1b[2K")
    vote(store, "r3", "u3", "negative", DAY, comment="\u202edetrevni\u202c and \x9b2J")
    status, out, err = run_cli(capsys, "list", "--agent", AGENT)
    assert status == 0 and err == ""
    assert "nice\\x1b[1A\\x1b[2K" in out and "\\u202edetrevni\\u202c and \\x9b2J" in out
    assert not any(forbidden(char) for char in out if char != "\n")
    assert "Great answer" in out


def test_list_json_and_export_jsonl_keep_exact_values(gateway, store, capsys, tmp_path):
    comment = "nice\x1b[1A\x1b[2K \x7f\x9b \u202eevil\u202c josé"
    vote(store, "r1", "u1", "negative", DAY, comment=comment)
    status, out, _ = run_cli(capsys, "list", "--agent", AGENT, "--json")
    assert status == 0 and json.loads(out)["items"][0]["comment"] == comment
    assert not any(forbidden(char) for char in out if char != "\n") and "josé" in out
    target = tmp_path / "feedback.jsonl"
    assert run_cli(capsys, "export", "--agent", AGENT, "-o", str(target))[0] == 0
    [line] = target.read_text(encoding="utf-8").splitlines()
    assert json.loads(line)["comment"] == comment
    assert not any(forbidden(char) for char in line)


def summary_text(summary) -> str:
    """The summary screen as `feedbackctl summary` prints it off a terminal."""
    screen = Console(file=io.StringIO(), width=110, markup=False, highlight=False)
    print_parts(screen, summary_view(summary))
    return screen.file.getvalue()


def test_summary_escapes_server_text():
    figures = {
        "satisfaction": 1.0,
        "interval": {"low": 0.2, "high": 1.0},
        "positive": 1,
        "negative": 0,
        "total": 1,
        "runs": None,
        "runs_with_feedback": None,
        "feedback_share": None,
    }
    summary = {
        "agent_id": "bot\x1b[2J",
        "version": "v\u202e1",
        "since": "2026-11-01T00:00:00Z",
        "until": "2026-11-08T00:00:00Z\x07",
        "overall": figures,
        "by_version": [{"version": "v\x1b[31m1", "last_feedback_at": "2026-11-02T09:00:00Z", **figures}],
        "by_day": [{"day": "2026-11-02\x9b", **figures}],
    }
    text = summary_text(summary)
    assert not any(forbidden(char) for char in text if char != "\n")
    assert "bot\\x1b[2J" in text and "v\\x1b[31m1" in text and "2026-11-02\\x9b" in text


def test_server_error_messages_are_escaped(capsys, monkeypatch):
    def refuse(self, method, url_path, params=None, body=None):
        raise ApiClientError("403 forbidden: \x1b[2J\x1b]0;pwned\x07 gone \u202e")

    monkeypatch.setattr(FeedbackApiClient, "request", refuse)
    assert cli.main(["summary", "--agent", AGENT, "--api-url", "http://127.0.0.1:9"]) == 1
    err = capsys.readouterr().err
    assert err == "error: 403 forbidden: \\x1b[2J\\x1b]0;pwned\\x07 gone \\u202e\n"


def test_argument_errors_are_escaped(capsys):
    status = cli.main(["deploy", "--agent", "bot", "\x1b[2Jstaging", "1"])
    err = capsys.readouterr().err
    assert status == 2 and "\x1b" not in err and "\\x1b[2Jstaging" in err


def test_versions_list_escapes_models_and_environments(capsys, monkeypatch):
    answer = {
        "versions": [{"number": 1, "id": "a", "properties": {"model": "gpt\x1b[8m", "instructions": "Hi\u202e"}}],
        "environments": {"prod\x1b[0m": 1},
        "deployments": {
            "prod\x1b[0m": {
                "environment": "prod\x1b[0m",
                "version": 1,
                "version_id": "a",
                "weight": 90,
                "canary": {"version": 2, "version_id": "b", "weight": 10},
                "previous_version": None,
            }
        },
    }
    monkeypatch.setattr(FeedbackApiClient, "request", lambda *args, **kwargs: answer)
    assert cli.main(["versions", "list", "--agent", "bot", "--api-url", "http://127.0.0.1:9"]) == 0
    out = capsys.readouterr().out
    assert not any(forbidden(char) for char in out if char != "\n")
    assert "gpt\\x1b[8m" in out and "prod\\x1b[0m" in out and "Hi\\u202e" in out
    assert "prod\\x1b[0m -> 1 (90%) + canary 2 (10%)" in out
