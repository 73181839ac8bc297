"""What feedbackctl's screens do for people and scripts: colour only on a terminal (and never with NO_COLOR),
tables that fit the width, no markup read from end-user text, --json on every read command, confirmation
prompts, shell completion."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import click
import pytest
from feedbackctl.commands.review import shortened
from feedbackctl.main import cli

from tests.unit.cli.fake_api import AGENT, DAY, run_cli, vote

ANSI = re.compile(r"\x1b\[[0-9;]*m")
COLOUR = re.compile(r"\x1b\[(?:[0-9;]*;)?(?:3[0-7]|9[0-7]|38;[25])[;m]")


@pytest.fixture
def two_votes(store):
    vote(store, "r1", "u1", "positive", DAY, comment="[bold red]not markup[/] :smile:")
    vote(store, "r2", "u2", "negative", DAY, comment="Too long " * 12)


def test_no_colour_when_the_output_is_not_a_terminal(gateway, two_votes, capsys):
    status, out, _ = run_cli(capsys, "list", "--agent", AGENT)
    assert status == 0 and "\x1b" not in out
    assert "[bold red]not markup[/] :smile:" in out


def test_colour_on_a_terminal_and_none_with_no_color(gateway, two_votes, capsys, monkeypatch):
    monkeypatch.setenv("TTY_COMPATIBLE", "1")  # rich: the output is a terminal
    status, out, _ = run_cli(capsys, "list", "--agent", AGENT)
    assert status == 0 and COLOUR.search(out), out
    # End-user text is shown as typed, never read as rich markup or emoji codes.
    assert "[bold red]not markup[/] :smile:" in ANSI.sub("", out)
    monkeypatch.setenv("NO_COLOR", "1")
    status, out, _ = run_cli(capsys, "list", "--agent", AGENT)
    assert status == 0 and not COLOUR.search(out), out
    assert "[bold red]not markup[/] :smile:" in ANSI.sub("", out)


@pytest.mark.parametrize("width", [60, 80, 200])
def test_tables_fit_the_width_cutting_the_comment(gateway, two_votes, capsys, monkeypatch, width):
    monkeypatch.setenv("COLUMNS", str(width))
    status, out, _ = run_cli(capsys, "list", "--agent", AGENT)
    lines = out.splitlines()
    assert status == 0 and len(lines) == 4
    assert all(len(line) <= width and line == line.rstrip() for line in lines)
    negative = next(line for line in lines if line.startswith("negative"))
    assert ("…" in negative) == (width < 200) and negative.endswith("r2")


@pytest.mark.parametrize("width", [60, 80, 200])
def test_the_summary_fits_the_width_and_always_names_the_version(gateway, two_votes, capsys, monkeypatch, width):
    monkeypatch.setenv("COLUMNS", str(width))
    status, out, _ = run_cli(capsys, "summary", "--agent", AGENT, "--since", "2026-11-01", "--until", "2026-11-08")
    lines = out.splitlines()
    header = lines.index("By version (most recently rated first)") + 1
    table = lines[header : header + 3]  # the sentences above wrap as the terminal wraps them; tables must fit
    assert status == 0 and all(len(line) <= width for line in table), out
    assert table[2].startswith("v1 "), out  # squeezed or not, the version is named
    assert table[0].startswith("VERSION ") == (width >= 80), out


def test_a_long_version_id_is_cut_to_a_readable_prefix():
    assert shortened("3f2a9c1b7d0e4455aa0b", 12) == "3f2a9c1b7d0…" and shortened("v1", 12) == "v1"


def read_commands(command: click.Command = cli, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command that only reads: list, show and summary, in any group."""
    if isinstance(command, click.Group):
        return [found for name, child in command.commands.items() for found in read_commands(child, (*path, name))]
    return [path] if path[-1] in ("list", "show", "summary") else []


def test_every_read_command_has_json():
    found = read_commands()
    assert {
        ("list",),
        ("summary",),
        ("agents", "list"),
        ("agents", "show"),
        ("versions", "list"),
        ("keys", "list"),
    } <= set(found)
    for path in found:
        command = cli
        for name in path:
            command = command.commands[name]  # type: ignore[attr-defined]
        assert "--json" in {option for param in command.params for option in param.opts}, path


def test_json_of_each_read_command_parses(gateway, two_votes, capsys, aws):
    # The agent has a saved version, so it is listed (registration is in test_cli_agents.py).
    assert run_cli(capsys, "versions", "save", "--agent", AGENT, "--model", "offline")[0] == 0
    for argv in (
        ["list", "--agent", AGENT],
        ["summary", "--agent", AGENT, "--since", "2026-11-01", "--until", "2026-11-08"],
        ["agents", "list"],
        ["agents", "show", AGENT],
        ["versions", "list", "--agent", AGENT],
        ["keys", "--table", "ApiKeysTable", "list", "--tenant", "acme"],
    ):
        status, out, err = run_cli(capsys, *argv, "--json")
        assert status == 0, (argv, err)
        assert isinstance(json.loads(out), dict), argv


def test_keys_list_json_never_holds_a_key(aws, capsys):
    status, key, _ = run_cli(capsys, "keys", "--table", "ApiKeysTable", "create", "--tenant", "acme", "--name", "ci")
    assert status == 0
    status, out, _ = run_cli(capsys, "keys", "--table", "ApiKeysTable", "list", "--tenant", "acme", "--json")
    [item] = json.loads(out)["items"]
    assert item["name"] == "ci" and item["active"] is True and key.strip().startswith(item["key_id"])
    assert key.strip() not in out


@pytest.mark.parametrize(("answer", "status", "left"), [("y", 0, 0), ("n", 1, 1)])
def test_erase_user_asks_on_a_terminal(gateway, store, capsys, monkeypatch, aws, answer, status, left):
    vote(store, "r1", "ana", "positive", DAY)
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    asked = []
    monkeypatch.setattr("builtins.input", lambda prompt="": asked.append(prompt) or answer)
    code, out, err = run_cli(capsys, "erase-user", "ana")
    assert code == status and len(aws.items()) == left
    assert "Permanently delete every feedback entry of end user 'ana' in your tenant? [y/n]" in out
    assert (err == "Nothing erased.\n") == (answer == "n")


def test_completion_script_and_completions(tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    script = subprocess.run(
        [sys.executable, "-m", "feedbackctl", "completion", "bash"], capture_output=True, text=True, env=env, check=True
    ).stdout
    assert "_FEEDBACKCTL_COMPLETE=bash_complete" in script and "complete -o nosort -F" in script
    # What bash asks when the user presses Tab after `feedbackctl agents s`, and after `list --outcome `.
    for words, cword, expected in (
        ("feedbackctl agents s", "2", "plain,show"),
        ("feedbackctl list --outcome ", "3", "plain,negative"),
    ):
        completed = subprocess.run(
            [sys.executable, "-m", "feedbackctl"],
            capture_output=True,
            text=True,
            env={**env, "_FEEDBACKCTL_COMPLETE": "bash_complete", "COMP_WORDS": words, "COMP_CWORD": cword},
        )
        assert expected in completed.stdout.splitlines(), completed
