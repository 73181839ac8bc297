"""feedbackctl list / summary / export / erase-user, over real HTTP to the real review function (fake_api.py)."""

from __future__ import annotations

import csv
import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from feedbackctl.main import main

from agentfeedback.runs.store import RunRecord, RunStore
from tests.unit.cli.fake_api import AGENT, DAY, KEY, GatewayServer, run_cli, vote

# --- list ---------------------------------------------------------------------------------------------


def test_list_prints_the_table_newest_first(gateway, store, capsys):
    long_comment = "The answer ignored my question about refunds\nand then " + "went on and on " * 10
    vote(store, "0190a1b2-0000-7000-8000-000000000001", "u1", "positive", DAY, comment="Spot on")
    vote(store, "0190a1b2-0000-7000-8000-000000000002", "u2", "negative", DAY + timedelta(hours=1), long_comment)
    vote(store, "0190a1b2-0000-7000-8000-000000000003", None, "positive", DAY + timedelta(hours=2), version="a" * 32)
    status, out, err = run_cli(capsys, "list", "--agent", AGENT)
    assert status == 0 and err == ""
    header, rule, *rows = out.splitlines()
    assert re.split(r"\s{2,}", header) == ["OUTCOME", "DATE (UTC)", "COMMENT", "VERSION", "RUN"]
    assert set(rule) <= {"-", " "}
    assert len(rows) == 3 and all(len(row) <= 110 for row in rows)
    assert rows[0].split()[:4] == ["positive", "2026-11-02", "11:00", "-"]
    assert "aaaaaaaa…" in rows[0] and rows[0].endswith("0190a1b2-0000-7000-8000-000000000003")
    assert rows[1].startswith("negative  2026-11-02 10:00  The answer ignored my question …")
    assert "…" in rows[1] and "v1" in rows[1]
    assert "Spot on" in rows[2]


def test_list_limit_and_cursor_resume_exactly_where_the_screen_stopped(gateway, store, capsys):
    for index in range(7):
        vote(store, f"run-{index}", "u1", "positive", DAY + timedelta(minutes=index))
    seen = []
    status, out, err = run_cli(capsys, "list", "--agent", AGENT, "--limit", "3")
    while True:
        assert status == 0
        seen += [line.split()[-1] for line in out.splitlines()[2:]]
        cursor = re.search(r"--cursor (\S+)", err)
        if not cursor:
            break
        status, out, err = run_cli(capsys, "list", "--agent", AGENT, "--limit", "3", "--cursor", cursor.group(1))
    assert seen == [f"run-{index}" for index in reversed(range(7))]


def test_list_beyond_one_api_page_asks_for_only_what_is_left(gateway, store, capsys):
    for index in range(130):
        vote(store, f"run-{index:03d}", "u1", "positive", DAY + timedelta(seconds=index))
    status, out, err = run_cli(capsys, "list", "--agent", AGENT, "--limit", "120")
    assert status == 0
    assert len(out.splitlines()) == 2 + 120
    assert [query["limit"] for _, _, query in gateway.requests] == ["100", "20"]
    assert "--cursor" in err


def test_list_sends_filters_and_relative_times(gateway, store, capsys):
    recent = datetime.now(UTC) - timedelta(days=1)
    vote(store, "r1", "u1", "negative", recent, comment="Wrong", version="v2")
    vote(store, "r2", "u1", "negative", recent, version="v2")
    vote(store, "r3", "u1", "negative", recent - timedelta(days=10), comment="Old", version="v2")
    argv = ["list", "--agent", AGENT, "--outcome", "negative", "--with-comment", "--since", "7d"]
    status, out, _ = run_cli(capsys, *argv, "--user-id", "u1", "--version", "v2")
    assert status == 0
    [row] = out.splitlines()[2:]
    assert "Wrong" in row and row.split()[-1] == "r1"
    [(method, url_path, query)] = gateway.requests
    assert (method, url_path) == ("GET", f"/v1/_/agents/{AGENT}/feedback")
    since = datetime.fromisoformat(query.pop("since"))
    assert abs(since - (datetime.now(UTC) - timedelta(days=7))) < timedelta(minutes=1)
    assert query == {"outcome": "negative", "has_comment": "true", "user_id": "u1", "version": "v2", "limit": "30"}


def test_list_json_has_every_field(gateway, store, capsys):
    vote(store, "r1", "u1", "positive", DAY, comment="Fine")
    status, out, _ = run_cli(capsys, "list", "--agent", AGENT, "--json")
    body = json.loads(out)
    assert status == 0 and body["next_cursor"] is None
    assert set(body["items"][0]) >= {"id", "run_id", "outcome", "comment", "user_id", "version", "revision"}


def test_empty_list_says_so(gateway, capsys):
    assert run_cli(capsys, "list", "--agent", AGENT)[1] == "No feedback matches.\n"


# --- summary ------------------------------------------------------------------------------------------


@pytest.fixture
def ten_runs(aws, store):
    runs = RunStore(aws.dynamodb, "RunsTable", retention_days=90)
    for index in range(10):
        runs.save(
            RunRecord(
                run_id=f"r{index}",
                tenant="acme",
                agent_id=AGENT,
                schema_id=1,
                version_id="v1",
                version_properties={},
                task_input={},
                task_output={},
                model="offline",
                input_tokens=1,
                output_tokens=1,
                cost_usd=0.0,
                duration_seconds=0.1,
                created_at=(DAY + timedelta(minutes=index)).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            )
        )
    # 8 positive and 2 negative on 8 of the 10 runs (two users on r0 and r1).
    for index, (run_id, user_id, outcome) in enumerate(
        [("r0", "a", "positive"), ("r0", "b", "positive"), ("r1", "a", "negative"), ("r1", "b", "positive")]
        + [(f"r{n}", "a", "positive") for n in range(2, 7)]
        + [("r7", "a", "negative")]
    ):
        vote(store, run_id, user_id, outcome, DAY + timedelta(hours=1, minutes=index))


def test_summary_screen_shows_satisfaction_with_interval_and_counts(gateway, ten_runs, capsys):
    argv = ["summary", "--agent", AGENT, "--since", "2026-11-01", "--until", "2026-11-08"]
    status, out, _ = run_cli(capsys, *argv)
    assert status == 0
    # 8 of 10: p = 0.8, Wilson 95% [0.4902, 0.9433] (tests/unit/test_satisfaction.py works it by hand).
    assert "Satisfaction 80.0% (95% interval [49.0%, 94.3%]) from 10 votes: 8 positive, 2 negative." in out
    assert "8 of 10 runs got feedback (80.0%)." in out
    lines = out.splitlines()
    version_row = lines[lines.index("By version (most recently rated first)") + 3]
    assert version_row.split() == [
        "v1",
        "80.0%",
        "[49.0%,",
        "94.3%]",
        "8",
        "2",
        "10",
        "10",
        "8",
        "80.0%",
        "2026-11-02",
        "10:09",
    ]
    day_row = lines[lines.index("By day (UTC, day of the first vote)") + 3]
    assert day_row.split() == ["2026-11-02", "80.0%", "[49.0%,", "94.3%]", "8", "2", "10", "10", "8", "80.0%"]


def test_summary_json_is_the_api_answer(gateway, ten_runs, capsys):
    status, out, _ = run_cli(
        capsys, "summary", "--agent", AGENT, "--since", "2026-11-01", "--until", "2026-11-08", "--json"
    )
    body = json.loads(out)
    assert status == 0
    assert body["overall"]["interval"] == {"low": 0.4902, "high": 0.9433}


# --- export -------------------------------------------------------------------------------------------


def test_export_jsonl_pages_through_everything(gateway, store, capsys, tmp_path):
    for index in range(230):
        vote(
            store,
            f"run-{index:03d}",
            f"u{index % 7}",
            "positive" if index % 3 else "negative",
            DAY + timedelta(seconds=index),
        )
    target = tmp_path / "feedback.jsonl"
    status, out, err = run_cli(capsys, "export", "--agent", AGENT, "--format", "jsonl", "--output", str(target))
    assert status == 0 and out == ""
    rows = [json.loads(line) for line in target.read_text().splitlines()]
    assert len(rows) == len({row["id"] for row in rows}) == 230
    assert [row["run_id"] for row in rows] == [f"run-{index:03d}" for index in reversed(range(230))]
    assert err.strip() == f"Exported 230 feedback entries (3 pages) to {target}."
    assert [query.get("limit") for _, _, query in gateway.requests] == ["100", "100", "100"]


def test_export_csv_keeps_comments_intact_and_defuses_formulas(gateway, store, capsys, tmp_path):
    vote(store, "r1", "u1", "negative", DAY, comment='Line one, with a comma\nand "quotes"')
    vote(store, "r2", "=cmd|' /C calc'!A0", "negative", DAY + timedelta(minutes=1), comment='=HYPERLINK("http://x")')
    target = tmp_path / "feedback.csv"
    status, _, _ = run_cli(
        capsys, "export", "--agent", AGENT, "--format", "csv", "-o", str(target), "--outcome", "negative"
    )
    assert status == 0
    rows = list(csv.DictReader(target.open(newline="", encoding="utf-8")))
    assert list(rows[0]) == [
        "id",
        "created_at",
        "updated_at",
        "outcome",
        "comment",
        "user_id",
        "version",
        "run_id",
        "agent_id",
        "revision",
    ]
    assert rows[0]["comment"] == '\'=HYPERLINK("http://x")' and rows[0]["user_id"] == "'=cmd|' /C calc'!A0"
    assert rows[1]["comment"] == 'Line one, with a comma\nand "quotes"'
    assert rows[1]["run_id"] == "r1" and rows[1]["revision"] == "1"


def test_failed_export_leaves_no_file_and_repeats_the_server_message(gateway, store, capsys, tmp_path):
    for index in range(150):
        vote(store, f"run-{index:03d}", "u1", "positive", DAY + timedelta(seconds=index))
    gateway.fail_on = 2
    target = tmp_path / "feedback.jsonl"
    status, _, err = run_cli(capsys, "export", "--agent", AGENT, "--output", str(target))
    assert status == 1
    assert "Export stopped after 100 items; nothing was written" in err
    assert "error: 503 service_unavailable: Storage is busy; retry shortly." in err
    assert list(tmp_path.iterdir()) == []


def test_export_to_standard_output(gateway, store, capsys):
    vote(store, "r1", "u1", "positive", DAY)
    status, out, err = run_cli(capsys, "export", "--agent", AGENT, "--output", "-")
    assert status == 0 and json.loads(out)["run_id"] == "r1"
    assert "to standard output" in err


def test_export_progress_is_drawn_on_a_terminal_then_removed(gateway, store, capsys, tmp_path, monkeypatch):
    for index in range(230):
        vote(store, f"run-{index:03d}", "u1", "positive", DAY + timedelta(seconds=index))
    monkeypatch.setenv("TTY_COMPATIBLE", "1")  # rich: the output is a terminal
    target = tmp_path / "feedback.jsonl"
    status, _, err = run_cli(capsys, "export", "--agent", AGENT, "-o", str(target))
    assert status == 0
    # Redrawn in place after each page (carriage return, erase line), with what is known so far.
    assert "100 items, 1 page" in err and "200 items, 2 pages" in err and "230 items, 3 pages" in err
    assert "\x1b[2K" in err
    # Then removed: what stays is the final line.
    assert err.endswith(f"Exported 230 feedback entries (3 pages) to {target}.\n")


# --- erase-user ---------------------------------------------------------------------------------------


def test_erase_user_needs_confirmation_then_erases(gateway, store, capsys, aws):
    user_id = "ana+test@example.com/1"
    vote(store, "r1", user_id, "positive", DAY)
    vote(store, "r2", user_id, "negative", DAY, agent="billing-bot")
    vote(store, "r3", "someone-else", "negative", DAY)
    status, out, err = run_cli(capsys, "erase-user", user_id)
    assert status == 2 and "--yes" in err and len(aws.items()) == 3
    assert gateway.requests == []

    status, out, _ = run_cli(capsys, "erase-user", user_id, "--yes")
    assert status == 0
    assert out == f"Erased 2 feedback entries of end user {user_id!r} in your tenant.\n"
    assert [item["user_id"]["S"] for item in aws.items()] == ["someone-else"]
    [(method, url_path, _)] = gateway.requests
    # The id travels in the body of POST .../erasures (a path cannot carry `.` or `..`): exactly as typed.
    assert (method, url_path) == ("POST", "/v1/_/feedback/erasures")
    assert gateway.bodies == [{"user_id": user_id}]


# --- errors and help ----------------------------------------------------------------------------------


def test_errors_repeat_what_the_server_said(gateway, capsys, monkeypatch):
    status, _, err = run_cli(capsys, "list", "--agent", AGENT, "--tenant", "globex")
    assert status == 1
    assert err.startswith("error: 403 forbidden: This API key belongs to another tenant")

    status, _, err = run_cli(capsys, "list", "--agent", "Not An Agent")
    assert status == 1 and err.startswith("error: 422 validation_error:") and "agent_id" in err

    monkeypatch.setenv("FEEDBACK_API_KEY", "afk_wrong")
    status, _, err = run_cli(capsys, "summary", "--agent", AGENT)
    assert err == "error: 401 unauthorized: Missing or invalid API key. (the key comes from FEEDBACK_API_KEY)\n"

    monkeypatch.delenv("FEEDBACK_API_KEY")
    status, _, err = run_cli(capsys, "list", "--agent", AGENT)
    assert status == 1 and "No API key: set FEEDBACK_API_KEY" in err


def test_unreachable_api_is_explained(aws, capsys, monkeypatch):
    server = GatewayServer()
    url = server.url
    server.server_close()  # nothing listens there any more
    monkeypatch.setenv("FEEDBACK_API_KEY", KEY)
    status, _, err = run_cli(capsys, "list", "--agent", AGENT, "--api-url", url)
    assert status == 1
    assert err.startswith(f"error: Cannot reach the API at {url}: is it running (make local)")


def test_api_url_may_come_before_or_after_the_command(gateway, capsys, monkeypatch):
    monkeypatch.delenv("FEEDBACK_API_URL")
    assert run_cli(capsys, "--api-url", gateway.url, "list", "--agent", AGENT)[0] == 0
    assert run_cli(capsys, "list", "--agent", AGENT, "--api-url", gateway.url)[0] == 0
    assert len(gateway.requests) == 2


def test_bad_time_is_refused_before_any_request(gateway, capsys):
    assert main(["list", "--agent", AGENT, "--since", "last tuesday"]) == 2
    assert "relative time (30m, 12h, 7d, 2w)" in capsys.readouterr().err
    assert gateway.requests == []


@pytest.mark.parametrize(
    ("argv", "mentions"),
    [
        ([], ["list", "summary", "export", "erase-user", "FEEDBACK_API_KEY", "FEEDBACK_API_URL"]),
        (["list"], ["--agent", "--outcome", "--with-comment", "--since", "--limit", "--cursor"]),
        (["summary"], ["Wilson", "--version", "--until"]),
        (["export"], ["--format", "jsonl", "csv", "--output"]),
        (["erase-user"], ["USER_ID", "--yes"]),
    ],
)
def test_help(capsys, argv, mentions):
    assert main([*argv, "--help"]) == 0
    text = capsys.readouterr().out
    for mention in mentions:
        assert mention in text
