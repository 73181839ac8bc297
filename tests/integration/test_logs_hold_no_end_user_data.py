"""Erasure reaches everything it can: what the functions log holds no end-user comment and no end-user id.

Every request that carries them goes over real HTTP to the local stack (posts, changed votes, refused posts,
the public read, review listings filtered by user, a run's feedback, both erasure routes) and the dashboard's
widget is invoked as CloudWatch invokes it. Everything the process printed and logged is then searched for the
comment and the id, in every form a log line could hold them (as sent, JSON-escaped, percent-encoded, NFD).
CloudWatch Logs keep a log group's lines for its retention (30 days); an erasure cannot reach them, so they must
never hold what it erases.
"""

from __future__ import annotations

import json
import unicodedata
import uuid
from urllib.parse import quote, quote_plus

import pytest
import requests

from tests.helpers import widget_event

pytestmark = pytest.mark.integration

TIMEOUT = 15
USER_ID = "zoë.erasure-7f3a@example.com"
COMMENT = "Comment 9d1e: my order 55-0142 never arrived <b>ever</b>"
# Pieces that would show a partial or transformed copy as well.
MARKERS = ("erasure-7f3a", "9d1e", "55-0142")


def spellings(value: str) -> set[str]:
    forms = {value, unicodedata.normalize("NFD", value)}
    return {
        encoded
        for form in forms
        for encoded in (
            form,
            json.dumps(form)[1:-1],
            json.dumps(form, ensure_ascii=False)[1:-1],
            quote(form, safe=""),
            quote_plus(form),
        )
    }


def test_logs_of_posts_reviews_and_erasure_hold_neither_comment_nor_user_id(stack, api_key, mint_token, capfd, caplog):
    caplog.set_level("INFO")  # what the functions log at their level (LogLevel: INFO); botocore DEBUG is off
    agent = f"logs-{uuid.uuid4().hex[:8]}"
    run_id = f"run-{uuid.uuid4().hex[:12]}"
    token = mint_token(tenant="acme", agent_id=agent, run_id=run_id)
    base, auth = stack.base_url, {"Authorization": f"Bearer {api_key}"}
    capfd.readouterr()

    def post(body: dict, status: int = 200) -> None:
        response = requests.post(f"{base}/v1/feedback", json=body, timeout=TIMEOUT)
        assert response.status_code == status, response.text

    vote = {"feedback_token": token, "outcome": "negative", "comment": COMMENT, "user_id": USER_ID}
    post(vote)
    post(vote)  # an identical repost: "feedback unchanged"
    post({**vote, "outcome": "positive"})  # a changed vote
    post({**vote, "comment": COMMENT * 200}, 422)  # refused: too long
    post({**vote, "feedback_token": "fb_forged.token.value"}, 401)  # refused: forged token
    post({**vote, "user_id": USER_ID + "\u202e"}, 422)  # refused: a text-direction character
    read = requests.get(f"{base}/v1/feedback", params={"feedback_token": token, "user_id": USER_ID}, timeout=TIMEOUT)
    # An unbound token reads the outcome only (issue 12); the comment stays in the table.
    assert read.status_code == 200 and read.json()["outcome"] == "positive" and read.json().get("comment") is None

    listed = requests.get(
        f"{base}/v1/_/agents/{agent}/feedback", params={"user_id": USER_ID}, headers=auth, timeout=TIMEOUT
    )
    assert [item["comment"] for item in listed.json()["items"]] == [COMMENT]
    run = requests.get(f"{base}/v1/_/agents/{agent}/runs/{run_id}/feedback", headers=auth, timeout=TIMEOUT)
    assert run.json()["items"][0]["user_id"] == USER_ID

    widget = stack.invoke("FeedbackWidgetFunction", widget_event(agent))
    assert "9d1e" in widget  # the widget shows it; its logs must not
    assert "9d1e" in stack.invoke("FeedbackWidgetFunction", widget_event(agent, run=run_id))

    erased = requests.post(f"{base}/v1/_/feedback/erasures", json={"user_id": USER_ID}, headers=auth, timeout=TIMEOUT)
    assert erased.json()["erased"] == 1
    path = f"{base}/v1/_/feedback/users/{quote(USER_ID, safe='')}"
    assert requests.delete(path, headers=auth, timeout=TIMEOUT).json()["erased"] == 0
    refused = requests.post(
        f"{base}/v1/_/feedback/erasures", json={"user_id": USER_ID, "agent": agent}, headers=auth, timeout=TIMEOUT
    )
    assert refused.status_code == 422

    captured = capfd.readouterr()
    # Every field of every log record (Powertools puts extra keys on the record), plus raw output.
    logs = captured.out + captured.err + "\n".join(repr(vars(record)) for record in caplog.records)
    # The positive control: the lines this test is about were written, so the search below has something to read.
    for message in ("feedback saved", "feedback unchanged", "request refused", "feedback widget listed"):
        assert message in logs, message
    assert "end-user feedback erased" in logs and run_id in logs
    found = [form for form in (*spellings(USER_ID), *spellings(COMMENT), *MARKERS) if form in logs]
    where = [line[:300] for line in logs.splitlines() if "9d1e" in line or "erasure-7f3a" in line][:8]
    assert not found, f"the logs hold end-user data: {found} in {where}"
