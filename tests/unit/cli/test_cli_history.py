"""feedbackctl history: a run's entries with their change history, over real HTTP to the real review function."""

from __future__ import annotations

import json
import re
from datetime import timedelta

from agentfeedback.tokens import TokenClaims
from tests.unit.cli.fake_api import AGENT, DAY, run_cli, vote

RUN = "0190a1b2-0000-7000-8000-0000000000aa"


def stamp(minutes: int) -> str:
    return (DAY + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_history_lists_every_change_of_each_entry_oldest_first(gateway, store, capsys):
    vote(store, RUN, "ana", "positive", DAY)
    vote(store, RUN, "ana", "negative", DAY + timedelta(minutes=1), comment="Wrong date")
    vote(store, RUN, "ana", "negative", DAY + timedelta(minutes=2), comment="Wrong date\x1b[2K")
    claims = TokenClaims(tenant="acme", agent_id=AGENT, run_id=RUN, version_id="v1")
    store.retract(claims, "ana", now=stamp(3))
    vote(store, RUN, "ana", "positive", DAY + timedelta(minutes=4))
    vote(store, RUN, None, "negative", DAY + timedelta(minutes=5))
    status, out, err = run_cli(capsys, "history", RUN, "--agent", AGENT)
    assert status == 0 and err == ""
    blocks = out.split("\n\n")
    assert len(blocks) == 2
    headers = [block.splitlines()[0] for block in blocks]
    ana = next(block for block in blocks if ": ana, positive" in block.splitlines()[0])
    assert any("(anonymous), negative" in header for header in headers)
    rows = [re.split(r"\s{2,}", line.strip()) for line in ana.splitlines()[3:]]
    assert [row[0] for row in rows] == ["1", "2", "3", "4", "5"]
    assert [row[-1] for row in rows] == [
        "vote: positive",
        "positive → negative, comment changed",
        "comment (negative)",
        "retracted",
        "vote again: positive",
    ]
    assert "\x1b" not in out  # the escape in the comment never reaches the terminal (comments are not shown)


def test_history_json_is_the_api_answer_and_an_entry_can_be_asked_alone(gateway, store, capsys):
    vote(store, RUN, "ana", "positive", DAY)
    vote(store, RUN, "ana", "negative", DAY + timedelta(minutes=1))
    status, out, _ = run_cli(capsys, "history", RUN, "--agent", AGENT, "--json")
    assert status == 0
    answer = json.loads(out)
    [entry] = answer["items"]
    assert [event["outcome"] for event in entry["history"]] == ["positive", "negative"]
    assert entry["revision"] == 2 and entry["dropped_events"] == 0
    status, out, _ = run_cli(capsys, "history", RUN, "--agent", AGENT, "--entry", entry["id"], "--json")
    assert status == 0 and json.loads(out)["items"] == [entry]


def test_an_unknown_run_or_entry_exits_1_with_the_apis_message(gateway, store, capsys):
    status, out, err = run_cli(capsys, "history", RUN, "--agent", AGENT)
    assert (status, out) == (1, "") and RUN in err
    vote(store, RUN, "ana", "positive", DAY)
    status, _, err = run_cli(capsys, "history", RUN, "--agent", AGENT, "--entry", "no-such-entry")
    assert status == 1 and err.strip()
