"""Fixtures of the CLI tests: the fake API (fake_api.py), its store, and a local stack's state file of their own.

The CLI tests never find a developer's running `make local`: the local stack's state is looked for only in
a temporary folder.
"""

from __future__ import annotations

import io
import logging
import threading
from pathlib import Path

import pytest

from agentfeedback.feedback.store import FeedbackStore
from tests.helpers import StreamPump, load_handler
from tests.unit.cli.fake_api import KEY, GatewayServer


@pytest.fixture(autouse=True)
def local_state_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where the CLI looks for a running local stack's state in this test (nothing is there unless written)."""
    state_file = tmp_path / "checkout" / ".local" / "stack.json"
    monkeypatch.setattr("feedbackctl.local_stack.state_files", lambda start=None: [state_file])
    return state_file


@pytest.fixture
def gateway(aws, monkeypatch):
    # The function's log lines go to a buffer: its handler still holds the stdout of the test that imported it.
    load_handler("review")
    load_handler("run")
    for handler in logging.getLogger("agent-feedback").handlers:
        if isinstance(handler, logging.StreamHandler):
            monkeypatch.setattr(handler, "stream", io.StringIO())
    server = GatewayServer()
    server.streams = StreamPump(aws.dynamodb)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("FEEDBACK_API_URL", server.url)
    monkeypatch.setenv("FEEDBACK_API_KEY", KEY)
    monkeypatch.setenv("COLUMNS", "110")
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def store(aws):
    return FeedbackStore(aws.dynamodb, "FeedbackTable")
