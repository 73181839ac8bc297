"""Issue 10, class 14: every command line the CLI suggests works.

The CLI writes a suggested command in backticks: `feedbackctl keys --local create --tenant local`,
`make local`. This collects every such span from what the CLI can print (every string in its modules
and in local/stack_state.py, docstrings aside; every --help text; every argument error) and runs each
`feedbackctl ...` through the real argument parser, and checks each `make TARGET` names a Makefile
target. A hint outside backticks would escape the check, so that is refused too.
"""

from __future__ import annotations

import argparse
import ast
import re
import shlex
from pathlib import Path

import pytest
from feedbackctl.main import build_parser

ROOT = Path(__file__).resolve().parents[3]
PRINTING_MODULES = [*sorted((ROOT / "cli/feedbackctl").glob("*.py")), ROOT / "local/stack_state.py"]
BACKTICKED = re.compile(r"`([^`]+)`")
MAKE_IN_PARENTHESES = re.compile(r"\(make ([\w-]+)\)")
COMMAND_NAMES = sorted(build_parser()._subparsers._group_actions[0].choices)  # type: ignore[union-attr]


def module_strings(path: Path) -> list[str]:
    """The string literals of a module, docstrings left out, f-string fields shown as VALUE."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
    }
    in_fstrings = {id(part) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for part in node.values}
    found = []
    for node in ast.walk(tree):
        if id(node) in docstrings or id(node) in in_fstrings:
            continue
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.append(node.value)
        elif isinstance(node, ast.JoinedStr):
            found.append("".join(p.value if isinstance(p, ast.Constant) else "VALUE" for p in node.values))
    return found


def parsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """`parser` and every subcommand's parser below it."""
    found = [parser]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                found += parsers(child)
    return found


def argument_errors(capsys) -> list[str]:
    """What each parser prints for a mistake (each names its own --help)."""
    printed = []
    for parser in parsers(build_parser()):
        with pytest.raises(SystemExit):
            parser.parse_args(["--no-such-option"])
        printed.append(capsys.readouterr().err)
    return printed


def printable_texts(capsys) -> list[str]:
    texts = [text for path in PRINTING_MODULES for text in module_strings(path)]
    texts += [parser.format_help() for parser in parsers(build_parser())]
    return texts + argument_errors(capsys)


def runnable(line: str) -> list[list[str]]:
    """argv lists for a suggested line: placeholders (TENANT, USER_ID, VALUE) get a value, COMMAND each name."""
    words = [word for word in shlex.split(line)[1:] if word != "..."]
    if "COMMAND" in words:
        return [[name if word == "COMMAND" else word for word in words] for name in COMMAND_NAMES]
    return [["sample" if re.fullmatch(r"[A-Z][A-Z_]*", word) else word for word in words]]


def test_every_suggested_feedbackctl_command_parses(capsys):
    spans = {span for text in printable_texts(capsys) for span in BACKTICKED.findall(text)}
    suggested = sorted(span for span in spans if span.startswith("feedbackctl"))
    # The ones this issue is about, so the collection itself is known to work.
    assert "feedbackctl keys --local create --tenant local" in suggested
    assert "feedbackctl list --help" in suggested and "feedbackctl COMMAND --help" in suggested
    for line in suggested:
        for argv in runnable(line):
            try:
                build_parser().parse_args(argv)
            except SystemExit as exited:
                assert exited.code == 0, f"the hint `{line}` does not parse: {capsys.readouterr().err}"
            capsys.readouterr()


def test_every_suggested_make_target_exists(capsys):
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([A-Za-z0-9_.-]+)\s*:(?!=)", makefile, re.MULTILINE))
    texts = printable_texts(capsys)
    suggested = {span.split()[1] for text in texts for span in BACKTICKED.findall(text) if span.startswith("make ")}
    suggested |= {target for text in texts for target in MAKE_IN_PARENTHESES.findall(text)}
    assert "local" in suggested
    assert suggested <= targets, suggested - targets


def test_suggested_commands_are_all_in_backticks():
    """So that the tests above see them: `feedbackctl WORD` in a string outside backticks is refused."""
    for path in PRINTING_MODULES:
        for text in module_strings(path):
            outside = BACKTICKED.sub("", text)
            assert not re.search(r"feedbackctl [a-z-]", outside), f"{path.name}: {text!r}"


@pytest.mark.parametrize(
    "argv",
    [
        ["keys", "--local", "create", "--tenant", "acme"],
        ["keys", "create", "--local", "--tenant", "acme"],
    ],
)
def test_keys_local_goes_before_or_after_the_action(argv):
    args = build_parser().parse_args(argv)
    assert args.local is True and args.tenant == "acme"


def test_keys_table_goes_before_or_after_the_action(monkeypatch):
    monkeypatch.setenv("API_KEYS_TABLE", "FromEnvironment")
    assert build_parser().parse_args(["keys", "--table", "T", "list", "--tenant", "a"]).table == "T"
    assert build_parser().parse_args(["keys", "list", "--table", "T", "--tenant", "a"]).table == "T"
    args = build_parser().parse_args(["keys", "list", "--tenant", "a"])
    assert args.table == "FromEnvironment" and args.local is False
