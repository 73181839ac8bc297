"""Issue 10, class 14: the CLI finds the running local stack on any PORT, and its dev key file is private.

The local stack writes .local/stack.json (base_url included) while it runs; the CLI reads it when
neither --api-url nor $FEEDBACK_API_URL is given. The conftest points the search at a temporary file.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from feedbackctl.http_client import DEFAULT_API_URL, api_url
from feedbackctl.local_stack import state_files as real_state_files
from feedbackctl.main import main

from local.stack import development_key
from local.stack_state import STATE_FILE
from tests.unit.cli.fake_api import AGENT, DAY, run_cli, vote


def write_state(path: Path, base_url: str, pid: int | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"pid": pid or os.getpid(), "base_url": base_url, "region": "us-east-1"}))


def finished_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(done.stdout)


def test_cli_finds_the_local_stack_on_another_port(gateway, store, capsys, monkeypatch, local_state_file):
    """The issue's example: a stack on another PORT, no --api-url, no $FEEDBACK_API_URL."""
    monkeypatch.delenv("FEEDBACK_API_URL")
    assert not gateway.url.endswith(":3000")
    write_state(local_state_file, gateway.url)
    vote(store, "r1", "u1", "positive", DAY, comment="Found you")
    status, out, _ = run_cli(capsys, "list", "--agent", AGENT)
    assert status == 0 and "Found you" in out
    assert len(gateway.requests) == 1


def test_api_url_precedence(local_state_file, monkeypatch):
    stack_url = "http://127.0.0.1:4123"
    given = "http://flag.example"
    none_given = None
    environment = {"FEEDBACK_API_URL": "http://env.example"}

    assert api_url(none_given, {}) == (DEFAULT_API_URL, "the default")
    write_state(local_state_file, stack_url)
    assert api_url(none_given, {}) == (stack_url, f"the local stack's {local_state_file}")
    assert api_url(none_given, environment) == ("http://env.example", "$FEEDBACK_API_URL")
    assert api_url(given, environment) == ("http://flag.example", "--api-url")


def test_a_stack_that_stopped_is_not_used(local_state_file):
    write_state(local_state_file, "http://127.0.0.1:4123", pid=finished_pid())
    assert api_url(None, {}) == (DEFAULT_API_URL, "the default")


def test_state_is_looked_for_from_here_upward_then_in_the_checkout(tmp_path):
    start = tmp_path / "project" / "sub"
    start.mkdir(parents=True)
    found = real_state_files(start)
    assert found[:3] == [
        start / ".local/stack.json",
        tmp_path / "project" / ".local/stack.json",
        tmp_path / ".local/stack.json",
    ]
    assert found[-1] == STATE_FILE and len(found) == len(set(found))


def test_help_states_the_order(capsys):
    assert main(["--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    order = ["1. --api-url URL", "2. $FEEDBACK_API_URL", "3. the running local stack's URL", "4. http://127.0.0.1:3000"]
    positions = [text.index(step) for step in order]
    assert positions == sorted(positions) and ".local/stack.json" in text


@pytest.fixture
def fake_stack(aws):
    return SimpleNamespace(dynamodb_client=lambda: aws.dynamodb, table_names={"ApiKeysTable": "ApiKeysTable"})


def test_dev_api_key_is_readable_by_its_owner_only(fake_stack, tmp_path, monkeypatch):
    monkeypatch.delenv("LOCAL_API_KEY", raising=False)
    key = development_key(fake_stack, tmp_path)
    saved = tmp_path / "dev_api_key"
    assert saved.read_text() == key + "\n"
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600


def test_dev_api_key_file_left_wider_by_an_older_version_is_narrowed(fake_stack, tmp_path, monkeypatch):
    monkeypatch.delenv("LOCAL_API_KEY", raising=False)
    saved = tmp_path / "dev_api_key"
    saved.write_text("afk_an_older_development_key_0123456789\n")
    saved.chmod(0o644)
    key = development_key(fake_stack, tmp_path)
    assert key == "afk_an_older_development_key_0123456789"
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600 and saved.read_text() == key + "\n"
