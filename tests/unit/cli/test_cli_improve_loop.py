"""feedbackctl improve / deploy --canary / promote / rollback / compare, over real HTTP to the real review and run
functions (fake_api.py): the loop of README's "Improve your agent", with what each command prints."""

from __future__ import annotations

import json
import re
import shlex
from datetime import UTC, datetime, timedelta

import pytest

from tests.unit.cli.fake_api import AGENT, run_cli, vote
from tests.unit.cli.test_cli_hints import parse

RECENT = datetime.now(UTC) - timedelta(days=1)
COMPLAINTS = ["It ignored my order number.", "Far too long, I just wanted the date."]


def save(capsys, instructions: str) -> dict:
    argv = ["versions", "save", "--agent", AGENT, "--model", "offline", "--instructions", instructions, "--json"]
    status, out, _ = run_cli(capsys, *argv)
    assert status == 0
    return json.loads(out)


def votes(store, version: dict, positive: int, negative: int, comments=()) -> None:
    for index in range(positive + negative):
        outcome = "positive" if index < positive else "negative"
        comment = comments[index - positive] if outcome == "negative" and index - positive < len(comments) else None
        at = RECENT + timedelta(minutes=index)
        vote(store, f"run-{version['number']}-{index}", f"user-{index}", outcome, at, comment, version["id"])


@pytest.fixture
def one_version(gateway, store, capsys) -> dict:
    first = save(capsys, "Answer customer questions about their orders.")
    votes(store, first, positive=1, negative=2, comments=COMPLAINTS)
    return first


# --- improve ------------------------------------------------------------------------------------------


def test_improve_prints_the_diff_the_saved_version_and_the_next_step(one_version, gateway, capsys):
    status, out, err = run_cli(capsys, "improve", "--agent", AGENT, "1")
    assert status == 0 and err == ""
    assert gateway.requests[-1][:2] == ("POST", f"/v1/_/agents/{AGENT}/versions/1/improve")
    assert gateway.bodies[-1] == {}  # always a JSON body: the defaults
    lines = out.splitlines()
    assert lines[:3] == ["--- version 1", "+++ version 2", lines[2]] and lines[2].startswith("@@ ")
    assert " Answer customer questions about their orders." in lines
    assert all(f'+- "{complaint}"' in lines for complaint in COMPLAINTS)
    assert "\x1b" not in out  # colour only on a terminal
    assert "Saved as version 2, not deployed." in lines
    changes = lines[lines.index("Changes:") + 1 :]
    assert changes[0].startswith("  - ")
    assert "Drafted from 2 feedback items of version 1 by offline: " in out and "$0.0000." in out
    [hint] = re.findall(r"`([^`]+)`", out)
    assert hint == f"feedbackctl deploy --agent {AGENT} production 1 --canary 2=10"
    assert parse(shlex.split(hint)[1:]).params["canary"] == (2, 10)


def test_improve_again_names_the_version_it_equals_and_sends_the_options(one_version, gateway, capsys):
    assert run_cli(capsys, "improve", "--agent", AGENT, "1")[0] == 0
    argv = ["improve", "--agent", AGENT, "1", "--model", "offline", "--max-feedback", "5", "--include-positive"]
    status, out, _ = run_cli(capsys, *argv)
    assert status == 0
    assert gateway.bodies[-1] == {"model": "offline", "max_feedback": 5, "include_positive": True}
    assert "The draft equals version 2, saved before: nothing new was saved, nothing deployed." in out
    assert "Saved as" not in out


def test_improve_colours_the_diff_on_a_terminal_only(one_version, capsys, monkeypatch):
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.delenv("NO_COLOR", raising=False)
    status, out, _ = run_cli(capsys, "improve", "--agent", AGENT, "1")
    assert status == 0
    added = next(line for line in out.splitlines() if COMPLAINTS[0] in line)
    assert added.startswith("\x1b[32m+") and added.endswith("\x1b[0m")


def test_improve_shows_end_user_text_escaped(gateway, store, capsys):
    first = save(capsys, "Be brief.")
    votes(store, first, positive=0, negative=1, comments=["Bad \x1b[2K answer"])
    status, out, _ = run_cli(capsys, "improve", "--agent", AGENT, "1")
    assert status == 0
    assert "\x1b" not in out and "Bad \\x1b[2K answer" in out


def test_improve_without_negative_feedback_exits_1_with_the_servers_message(gateway, capsys):
    save(capsys, "Be brief.")
    status, out, err = run_cli(capsys, "improve", "--agent", AGENT, "1")
    assert status == 1 and out == ""
    assert err.startswith("error: 409 no_negative_feedback: Version 1 of agent 'support-bot' has no negative")


def test_improve_json_is_the_apis_answer(one_version, capsys):
    status, out, _ = run_cli(capsys, "improve", "--agent", AGENT, "1", "--json")
    improved = json.loads(out)
    assert status == 0 and improved["base_version"] == 1 and improved["version"]["number"] == 2
    assert improved["created"] is True and len(improved["feedback_ids"]) == 2


# --- deploy --canary, promote, rollback, versions list ----------------------------------------------------


def test_canary_split_promote_and_rollback(one_version, gateway, capsys):
    save(capsys, "Answer in one sentence.")
    status, out, _ = run_cli(capsys, "deploy", "--agent", AGENT, "production", "1")
    assert (status, out) == (0, f"{AGENT}: production -> 1\n")
    status, out, _ = run_cli(capsys, "deploy", "--agent", AGENT, "production", "1", "--canary", "2=10")
    assert (status, out) == (0, f"{AGENT}: production -> 1 (90%) + canary 2 (10%)\n")
    assert gateway.bodies[-1] == {"version": 1, "canary": {"version": 2, "weight": 10}}

    status, out, _ = run_cli(capsys, "versions", "list", "--agent", AGENT)
    assert status == 0
    header, _, first, second, blank, split = out.splitlines()
    assert "DEPLOYED TO" in header and blank == ""
    assert "production 90%" in first and "production 10% (canary)" in second
    assert split == "production -> 1 (90%) + canary 2 (10%)"

    status, out, _ = run_cli(capsys, "promote", "--agent", AGENT, "production")
    assert (status, out) == (0, f"{AGENT}: production -> 2, previous 1\n")
    assert gateway.requests[-1][:2] == ("POST", f"/v1/_/agents/{AGENT}/environments/production/promote")
    status, out, err = run_cli(capsys, "promote", "--agent", AGENT, "production")
    assert status == 1 and out == "" and err.startswith("error: 409 conflict: Environment 'production' of agent")
    status, out, _ = run_cli(capsys, "rollback", "--agent", AGENT, "production")
    assert (status, out) == (0, f"{AGENT}: production -> 1\n")
    status, _, err = run_cli(capsys, "rollback", "--agent", AGENT, "production")
    assert status == 1 and "409" in err


@pytest.mark.parametrize(
    ("canary", "complaint"),
    [
        ("3", "is not VERSION=WEIGHT"),
        ("x=10", "is not VERSION=WEIGHT"),
        ("3=0", "the weight is a percent of the runs, 1 to 99"),
        ("3=100", "the weight is a percent of the runs, 1 to 99"),
        ("0=10", "the version is a saved version number"),
    ],
)
def test_a_wrong_canary_is_a_usage_error(gateway, capsys, canary, complaint):
    status, out, err = run_cli(capsys, "deploy", "--agent", AGENT, "production", "1", "--canary", canary)
    assert status == 2 and out == "" and complaint in err
    assert gateway.requests == []


# --- compare ------------------------------------------------------------------------------------------


def test_compare_prints_each_version_the_difference_and_the_verdict(gateway, store, capsys):
    first, second = save(capsys, "Be brief."), save(capsys, "Be brief and kind.")
    votes(store, first, positive=4, negative=9)
    votes(store, second, positive=9, negative=2)
    status, out, err = run_cli(capsys, "compare", "--agent", AGENT, "1", "2", "--since", "7d")
    assert status == 0 and err == ""
    method, url_path, query = gateway.requests[-1]
    assert (method, url_path) == ("GET", f"/v1/_/agents/{AGENT}/versions/compare")
    assert query["base"] == "1" and query["candidate"] == "2" and "since" in query
    _, json_out, _ = run_cli(capsys, "compare", "--agent", AGENT, "1", "2", "--since", query["since"], "--json")
    found = json.loads(json_out)
    lines = out.splitlines()
    assert lines[0].startswith(f"Agent {AGENT}: ")
    assert re.split(r"\s+", lines[2].strip()) == ["VERSION", "VOTES", "POS", "NEG", "SATISFACTION", "95%", "INTERVAL"]
    base_row, candidate_row = lines[4].split(), lines[5].split()
    assert base_row[:6] == ["base", "1", "13", "4", "9", "30.8%"]
    assert candidate_row[:6] == ["candidate", "2", "11", "9", "2", "81.8%"]
    low, high = found["base"]["interval"]["low"], found["base"]["interval"]["high"]
    assert " ".join(base_row[6:]) == f"[{low * 100:.1f}%, {high * 100:.1f}%]"
    difference = found["difference"]
    assert lines[7] == (
        f"Difference: {difference['estimate'] * 100:+.1f} points (95% interval "
        f"{difference['interval']['low'] * 100:+.1f} to {difference['interval']['high'] * 100:+.1f}), "
        f"p = {found['significance']['p_value']:.3g} (two-proportion z-test)"
    )
    assert found["significance"]["test"] == "two_proportion_z"
    needed, more = found["votes_needed_per_version"], found["more_votes_needed"]
    assert lines[8].startswith(f"Votes needed per version: {needed} (")
    assert (f"{more} more for the version with fewer" if more else "both have enough") in lines[8]
    assert lines[9] == f"Verdict: {found['verdict']}"
    assert found["decision"] == "candidate_better"


def test_compare_without_votes_says_so(gateway, capsys):
    save(capsys, "Be brief.")
    version_id = save(capsys, "Be kind.")["id"]
    status, out, _ = run_cli(capsys, "compare", "--agent", AGENT, "1", version_id)
    assert status == 0
    assert "Difference: - (a version has no votes in this window)" in out
    assert "Votes needed per version: - (no difference observed)" in out
    assert re.search(r"^candidate +2 +0 +0 +0 +- +-$", out, re.MULTILINE)
    assert out.splitlines()[-1].startswith("Verdict: not enough votes yet")
