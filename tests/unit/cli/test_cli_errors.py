"""Issue 10, class 14: a user's mistake is one clear line on stderr and an exit status, never a traceback.

Exit status 2: the command line, a file it names or the environment is wrong. Exit status 1: the API (or
AWS) refused or could not be reached (test_cli_review.py keeps those assertions).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from feedbackctl.http_client import FeedbackApiClient
from feedbackctl.main import main

from tests.unit.cli.fake_api import AGENT


@pytest.fixture
def no_request(monkeypatch):
    """The API is never called: the mistake is found first."""

    def request(self, *args, **kwargs):
        raise AssertionError("no request should be made")

    monkeypatch.setattr(FeedbackApiClient, "request", request)
    monkeypatch.setenv("FEEDBACK_API_KEY", "afk_test_key_of_acme")


def one_line_error(capsys, argv: list[str], status: int = 2) -> str:
    """Runs the CLI; asserts the exit status and one line on stderr, with no traceback; returns that line."""
    try:
        code = main(argv)
    except SystemExit as exited:  # argparse
        code = exited.code
    err = capsys.readouterr().err
    assert code == status, err
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert "Traceback" not in err
    return err.rstrip("\n")


SAVE = ["versions", "save", "--agent", "bot", "--model", "offline", "--api-url", "http://127.0.0.1:9"]


def test_missing_instructions_file(no_request, capsys, tmp_path):
    """The issue's example."""
    missing = tmp_path / "prompt.txt"
    line = one_line_error(capsys, [*SAVE, "--instructions-file", str(missing)])
    assert line == f"error: --instructions-file {missing}: no such file"


def test_instructions_file_that_is_a_folder_or_not_text(no_request, capsys, tmp_path):
    line = one_line_error(capsys, [*SAVE, "--instructions-file", str(tmp_path)])
    assert line == f"error: --instructions-file {tmp_path}: is a folder, not a file"
    binary = tmp_path / "prompt.bin"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    line = one_line_error(capsys, [*SAVE, "--instructions-file", str(binary)])
    assert line == f"error: --instructions-file {binary}: not UTF-8 text (byte 0)"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_unreadable_instructions_file(no_request, capsys, tmp_path):
    secret = tmp_path / "prompt.txt"
    secret.write_text("x")
    secret.chmod(0)
    line = one_line_error(capsys, [*SAVE, "--instructions-file", str(secret)])
    assert line.startswith(f"error: --instructions-file {secret}: cannot read it (")


# The wording after "error:" is click's own (it was argparse's until the CLI moved to click).
@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["list"], "feedbackctl list: error: Missing option '--agent'."),
        (["list", "--agent", AGENT, "--limit", "0"], "Invalid value for '--limit': 0 is not in the range x>=1."),
        (["deploy", "--agent", "bot", "live", "1"], "Invalid value for 'ENVIRONMENT': 'live' is not one of 'dev',"),
        (["nonsense"], "feedbackctl: error: No such command 'nonsense'."),
        ([], "feedbackctl: error: Missing command."),
        (["keys", "--local"], "feedbackctl keys: error: Missing command."),
        (["agents", "show"], "feedbackctl agents show: error: Missing argument 'AGENT_ID'."),
    ],
)
def test_bad_arguments_are_one_line_with_a_help_hint(no_request, capsys, argv, says):
    line = one_line_error(capsys, argv)
    assert says in line and line.endswith("--help`)")


def test_a_mistake_names_the_command_it_is_in(no_request, capsys):
    """Whatever command (a new one too) the mistake is in, the line names it and its --help."""
    from tests.unit.cli.test_cli_hints import command_paths

    for path in command_paths():
        command = " ".join(["feedbackctl", *path])
        line = one_line_error(capsys, [*path, "--no-such-option"])
        assert line.startswith(f"{command}: error: No such option '--no-such-option'.")
        assert line.endswith(f" (see `{command} --help`)")
    line = one_line_error(capsys, ["list", "--agent"])
    assert line == "feedbackctl list: error: Option '--agent' requires an argument. (see `feedbackctl list --help`)"


def test_bad_api_url(no_request, capsys, monkeypatch):
    line = one_line_error(capsys, ["list", "--agent", AGENT, "--api-url", "localhost:3000"])
    assert line == "error: --api-url 'localhost:3000' is not an http(s) URL: give one like http://127.0.0.1:3000"
    monkeypatch.setenv("FEEDBACK_API_URL", "127.0.0.1:3000")
    line = one_line_error(capsys, ["list", "--agent", AGENT])
    assert line.startswith("error: $FEEDBACK_API_URL '127.0.0.1:3000' is not an http(s) URL")


def test_unreachable_api_is_one_line_saying_where_the_url_came_from(capsys, monkeypatch):
    monkeypatch.setenv("FEEDBACK_API_KEY", "afk_test_key_of_acme")
    monkeypatch.setenv("FEEDBACK_API_URL", "http://127.0.0.1:9")  # the discard port: nothing listens
    line = one_line_error(capsys, ["summary", "--agent", AGENT], status=1)
    assert line.startswith("error: Cannot reach the API at http://127.0.0.1:9: is it running (make local)")
    assert line.endswith("(the URL came from $FEEDBACK_API_URL)")


def test_export_to_a_missing_folder_or_onto_a_folder(no_request, capsys, tmp_path):
    target = tmp_path / "nowhere" / "feedback.csv"
    line = one_line_error(capsys, ["export", "--agent", AGENT, "--api-url", "http://127.0.0.1:9", "-o", str(target)])
    assert line == f"error: --output {target}: {target.parent} is not a folder; create it or choose another --output"
    line = one_line_error(capsys, ["export", "--agent", AGENT, "--api-url", "http://127.0.0.1:9", "-o", str(tmp_path)])
    assert line == f"error: --output {tmp_path} is a folder; name a file in it"


def test_keys_without_a_table(capsys, monkeypatch):
    monkeypatch.delenv("API_KEYS_TABLE", raising=False)
    line = one_line_error(capsys, ["keys", "list", "--tenant", "acme"])
    assert line == "error: name the API keys table with --table or API_KEYS_TABLE (see the stack's outputs)"


def test_keys_with_a_bad_tenant_or_a_missing_table(aws, capsys):
    line = one_line_error(capsys, ["keys", "--table", "ApiKeysTable", "create", "--tenant", "Not A Tenant"])
    assert line.startswith("error: a tenant is 1-63 lowercase letters")
    line = one_line_error(capsys, ["keys", "--table", "NoSuchTable", "list", "--tenant", "acme"], status=1)
    assert line.startswith("error: DynamoDB refused: ResourceNotFoundException")


def test_keys_local_without_a_running_stack(capsys, local_state_file):
    line = one_line_error(capsys, ["keys", "--local", "list", "--tenant", "acme"])
    assert line == "error: the local stack is not running: start it with `make local`"


def test_keys_local_with_a_state_file_that_is_not_json(capsys, local_state_file):
    """A bad JSON file: named, with what to do, in one line."""
    local_state_file.parent.mkdir(parents=True)
    local_state_file.write_text('{"pid": 12, "base_url": ')
    line = one_line_error(capsys, ["keys", "--local", "list", "--tenant", "acme"])
    assert line.startswith(f"error: {local_state_file} is not a local stack's state (")
    assert line.endswith("delete it and start the stack with `make local`")
    local_state_file.write_text(json.dumps(["not", "an", "object"]))
    line = one_line_error(capsys, ["keys", "--local", "list", "--tenant", "acme"])
    assert line.startswith(f"error: {local_state_file} is not a local stack's state")


def test_keys_local_with_a_state_file_left_by_a_stopped_stack(capsys, local_state_file):
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    local_state_file.parent.mkdir(parents=True)
    local_state_file.write_text(json.dumps({"pid": int(finished.stdout), "base_url": "http://127.0.0.1:3999"}))
    line = one_line_error(capsys, ["keys", "--local", "list", "--tenant", "acme"])
    assert line == f"error: {local_state_file} is left from a local stack that has stopped: start it with `make local`"


def test_erase_user_without_yes_off_a_terminal(no_request, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    line = one_line_error(capsys, ["erase-user", "ana", "--api-url", "http://127.0.0.1:9"])
    assert line.endswith("re-run with --yes to confirm.")


def test_erase_user_answered_with_end_of_input_erases_nothing(no_request, capsys, monkeypatch):
    def no_input(prompt: str = "") -> str:
        raise EOFError

    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("builtins.input", no_input)
    assert main(["erase-user", "ana", "--api-url", "http://127.0.0.1:9"]) == 1
    assert capsys.readouterr().err == "Nothing erased.\n"
