"""What the dashboard and the alarm read: the EMF lines and the log line each function prints, parsed."""

from __future__ import annotations

import io
import json
import logging

import pytest

from tests.helpers import load_event, load_handler


def printed(capsys) -> list[dict]:
    lines = []
    for line in capsys.readouterr().out.splitlines():
        try:
            lines.append(json.loads(line))
        except ValueError:
            continue
    return lines


@pytest.fixture
def log_output(monkeypatch):
    """What the functions' Powertools logger writes (its handler keeps the stdout it was created with)."""
    for function in ("feedback", "run", "chat"):
        load_handler(function)
    buffer = io.StringIO()
    for handler in logging.getLogger("agent-feedback").handlers:
        if isinstance(handler, logging.StreamHandler):
            monkeypatch.setattr(handler, "stream", buffer)
    return buffer


def value(blob: dict, name: str) -> float:
    # Powertools writes each metric value as a list (values of one name in one invocation).
    raw = blob[name]
    return sum(raw) if isinstance(raw, list) else raw


def emf_blobs(lines: list[dict]) -> list[dict]:
    return [line for line in lines if "_aws" in line]


def metric_names(blob: dict) -> set[str]:
    return {metric["Name"] for metric in blob["_aws"]["CloudWatchMetrics"][0]["Metrics"]}


def post(invoke, body):
    return invoke("feedback", load_event("feedback/post_feedback.json", body=body))


def test_feedback_emits_count_by_agent_and_outcome_and_first_vote(aws, invoke, capsys):
    capsys.readouterr()
    token = aws.mint()
    assert post(invoke, {"feedback_token": token, "outcome": "positive", "user_id": "u1"})[0] == 200
    [blob] = emf_blobs(printed(capsys))
    [directive] = blob["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "AgentFeedback"
    # Per agent and outcome, and the same without the agent (what the all-agents alarm watches).
    assert sorted(map(sorted, directive["Dimensions"])) == [["agent", "outcome", "service"], ["outcome", "service"]]
    assert (blob["service"], blob["agent"], blob["outcome"]) == ("agent-feedback", "support-bot", "positive")
    assert metric_names(blob) == {"Feedback", "FirstVotes", "ChangedVotes"}
    assert all(metric["Unit"] == "Count" for metric in directive["Metrics"])
    assert [value(blob, name) for name in ("Feedback", "FirstVotes", "ChangedVotes")] == [1, 1, 0]


def test_changed_vote_counts_as_changed_under_its_new_outcome(aws, invoke, capsys):
    token = aws.mint()
    post(invoke, {"feedback_token": token, "outcome": "positive", "user_id": "u1"})
    capsys.readouterr()
    post(invoke, {"feedback_token": token, "outcome": "negative", "user_id": "u1"})
    [blob] = emf_blobs(printed(capsys))
    assert blob["outcome"] == "negative"
    assert [value(blob, name) for name in ("Feedback", "FirstVotes", "ChangedVotes")] == [1, 0, 1]


def test_each_post_is_its_own_blob_without_leftover_dimensions(aws, invoke, capsys):
    post(invoke, {"feedback_token": aws.mint(agent_id="billing-bot"), "outcome": "negative"})
    post(invoke, {"feedback_token": aws.mint(run_id="run-2"), "outcome": "positive"})
    blobs = emf_blobs(printed(capsys))
    assert [(blob["agent"], blob["outcome"]) for blob in blobs] == [
        ("billing-bot", "negative"),
        ("support-bot", "positive"),
    ]
    assert all(len(blob["_aws"]["CloudWatchMetrics"][0]["Dimensions"]) == 2 for blob in blobs)


def test_a_retraction_emits_retractions_by_agent_and_no_vote(aws, invoke, capsys):
    token = aws.mint()
    post(invoke, {"feedback_token": token, "outcome": "negative", "user_id": "u1"})
    capsys.readouterr()
    query = {"feedback_token": token, "user_id": "u1"}
    assert invoke("feedback", load_event("feedback/retract_feedback.json", query=query))[0] == 200
    [blob] = emf_blobs(printed(capsys))
    assert metric_names(blob) == {"Retractions"} and value(blob, "Retractions") == 1
    assert blob["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["agent", "service"]]
    assert blob["agent"] == "support-bot"


def test_refused_feedback_emits_no_feedback_metric(aws, invoke, capsys):
    capsys.readouterr()
    assert post(invoke, {"feedback_token": "fb_forged.token.here", "outcome": "positive"})[0] == 401
    assert not any("Feedback" in blob for blob in emf_blobs(printed(capsys)))


def test_feedback_log_line_says_whether_there_is_a_comment_but_holds_neither_it_nor_the_user_id(
    aws, invoke, log_output
):
    body = {"feedback_token": aws.mint(), "outcome": "negative", "comment": "Too long", "user_id": "alice@example.com"}
    post(invoke, body)
    post(invoke, {"feedback_token": aws.mint(run_id="run-2"), "outcome": "positive"})
    lines = [json.loads(line) for line in log_output.getvalue().splitlines()]
    saved = [line for line in lines if line.get("message") == "feedback saved"]
    fields = ("tenant", "agent_id", "run_id", "version_id", "outcome", "revision", "has_comment")
    assert [{key: line[key] for key in fields} for line in saved] == [
        {"tenant": "acme", "agent_id": "support-bot", "run_id": "run-1", "version_id": "v1"}
        | {"outcome": "negative", "revision": 1, "has_comment": True},
        {"tenant": "acme", "agent_id": "support-bot", "run_id": "run-2", "version_id": "v1"}
        | {"outcome": "positive", "revision": 1, "has_comment": False},
    ]
    assert all(line["level"] == "INFO" and "comment" not in line for line in saved)
    assert "alice@example.com" not in json.dumps(lines) and "Too long" not in json.dumps(lines)


def test_run_function_emits_runs_cost_and_duration_by_agent(aws, invoke, capsys):
    schemas = {"type": "object", "properties": {"city": {"type": "string"}}}
    register = {"id": "city-facts", "input_schema": schemas, "output_schema": {"type": "object"}}
    invoke("run", load_event("run/register_agent.json", body=register))
    capsys.readouterr()
    version = {"model": "offline", "instructions": "Give facts about the city."}
    run = {"task_input": {"city": "Paris"}, "version": version}
    status, _, response = invoke("run", load_event("run/run_agent.json", body=run))
    assert status == 200, response
    [blob] = [blob for blob in emf_blobs(printed(capsys)) if "Runs" in blob]
    [directive] = blob["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "AgentFeedback"
    assert sorted(directive["Dimensions"][0]) == ["agent", "service"]
    assert blob["agent"] == "city-facts" and blob["service"] == "agent-feedback"
    assert {"Runs", "RunCostUsd", "RunDuration"} <= metric_names(blob)
    assert value(blob, "Runs") == 1 and value(blob, "RunCostUsd") == response["cost_usd"]
    assert value(blob, "RunDuration") >= 0 and "TokenFailures" not in blob


def test_chat_function_emits_runs_by_agent(aws, invoke, capsys):
    capsys.readouterr()
    body = {"model": "offline", "messages": [{"role": "user", "content": "Hi"}], "metadata": {"agent_id": "greeter"}}
    status, _, response = invoke("chat", load_event("chat/chat_completion.json", body=body))
    assert status == 200, response
    [blob] = [blob for blob in emf_blobs(printed(capsys)) if "Runs" in blob]
    assert blob["agent"] == "greeter" and value(blob, "Runs") == 1
    assert {"Runs", "RunCostUsd", "RunDuration"} <= metric_names(blob)


def test_token_failure_is_counted(aws, invoke, capsys, monkeypatch):
    from agentfeedback import composition

    def broken(**_):
        raise RuntimeError("dynamodb down")

    monkeypatch.setattr(composition.dynamodb(), "put_item", broken)
    capsys.readouterr()
    body = {"model": "offline", "messages": [{"role": "user", "content": "Hi"}], "metadata": {"agent_id": "greeter"}}
    status, _, response = invoke("chat", load_event("chat/chat_completion.json", body=body))
    assert status == 200 and response["choices"][0]["feedback_token"] is None  # output kept, no token
    [blob] = [blob for blob in emf_blobs(printed(capsys)) if "Runs" in blob]
    assert value(blob, "TokenFailures") == 1
