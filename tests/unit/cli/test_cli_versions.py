"""`feedbackctl versions` and `deploy` against a fake API: the requests they make and what they print."""

from __future__ import annotations

from typing import Any

import pytest
from feedbackctl import main as cli
from feedbackctl.http_client import FeedbackApiClient


@pytest.fixture
def calls(monkeypatch) -> list[tuple[str, str, Any]]:
    seen: list[tuple[str, str, Any]] = []
    answers = {
        ("POST", "/v1/_/agents/bot/versions"): {"number": 3, "id": "abc", "properties": {}, "created_at": "t"},
        ("GET", "/v1/_/agents/bot/versions"): {
            "versions": [{"number": 1, "id": "a", "properties": {"model": "offline", "instructions": "Be kind."}}],
            "environments": {"production": 1},
            "deployments": {
                "production": {
                    "environment": "production",
                    "version": 1,
                    "version_id": "a",
                    "weight": 100,
                    "canary": None,
                    "previous_version": None,
                }
            },
        },
        ("PUT", "/v1/_/agents/bot/environments/staging"): {
            "environment": "staging",
            "version": 3,
            "version_id": "abc",
            "weight": 100,
            "canary": None,
            "previous_version": 2,
        },
    }

    def request(self, method, url_path, params=None, body=None):
        seen.append((method, url_path, body))
        return answers[(method, url_path)]

    monkeypatch.setattr(FeedbackApiClient, "request", request)
    return seen


def test_save_sends_properties_and_reports_the_number(calls, capsys, tmp_path):
    instructions = tmp_path / "prompt.txt"
    instructions.write_text("Answer in French.")
    argv = ["versions", "save", "--agent", "bot", "--model", "offline", "--instructions-file", str(instructions)]
    assert cli.main([*argv, "--temperature", "0.2"]) == 0
    assert calls == [
        (
            "POST",
            "/v1/_/agents/bot/versions",
            {"model": "offline", "instructions": "Answer in French.", "temperature": 0.2},
        )
    ]
    assert "Saved version 3" in capsys.readouterr().out


def test_list_shows_where_each_version_is_deployed(calls, capsys):
    assert cli.main(["versions", "list", "--agent", "bot"]) == 0
    lines = capsys.readouterr().out.splitlines()
    row = lines[2]  # under the header and its rule
    assert "offline" in row and "production" in row and "Be kind." in row
    assert lines[3:] == ["", "production -> 1"]


def test_deploy_binds_the_environment(calls, capsys):
    assert cli.main(["deploy", "--agent", "bot", "staging", "3"]) == 0
    assert calls == [("PUT", "/v1/_/agents/bot/environments/staging", {"version": 3})]
    assert capsys.readouterr().out == "bot: staging -> 3, previous 2\n"
