"""Issue 10, classes 4 and 5 through feedbackctl: any end-user id the API accepts is listed (--user-id) and erased
(erase-user), over real HTTP to the real review function (fake_api.py), in any Unicode spelling.
"""

from __future__ import annotations

import json
import unicodedata
from urllib.parse import parse_qs, urlsplit

import pytest
from feedbackctl.errors import UserError
from feedbackctl.http_client import path, query_string

from agentfeedback.core.ids import canonical_user_id
from tests.unit.cli.fake_api import AGENT, DAY, run_cli, vote

NFC = unicodedata.normalize("NFC", "josé")
NFD = unicodedata.normalize("NFD", "josé")
ODD_IDS = [".", "..", "/", "%", "?", "#", "a b", "josé", "日本語", "../..", "a?b=c&d#e", "+", "%2e%2e", "ünï /?#%."]


def save(store, user_id, run_id="r1"):
    """A vote as the public POST saves it: under core.ids.canonical_user_id."""
    return vote(store, run_id, canonical_user_id(user_id), "positive", DAY)


def listed_ids(capsys, *argv):
    status, out, err = run_cli(capsys, "list", "--agent", AGENT, "--json", *argv)
    assert status == 0, err
    return [item["user_id"] for item in json.loads(out)["items"]]


@pytest.mark.parametrize("user_id", ODD_IDS)
def test_an_odd_id_is_listed_and_erased(gateway, store, capsys, aws, user_id):
    save(store, user_id)
    save(store, "someone-else", run_id="r2")

    assert listed_ids(capsys, "--user-id", user_id) == [user_id]
    # The query string carries the id percent-encoded, a space as %20 (a '+' may stay a plus on some servers).
    target = urlsplit(gateway.targets[-1])
    assert parse_qs(target.query)["user_id"] == [user_id]
    assert "+" not in target.query.replace("%2B", "")

    status, out, err = run_cli(capsys, "erase-user", user_id, "--yes")
    assert status == 0, err
    assert out == f"Erased 1 feedback entry of end user {user_id!r} in your tenant.\n"
    assert gateway.requests[-1][:2] == ("POST", "/v1/_/feedback/erasures")
    assert gateway.bodies[-1] == {"user_id": user_id}
    assert [item["user_id"]["S"] for item in aws.items()] == ["someone-else"]
    assert listed_ids(capsys, "--user-id", user_id) == []


def test_erase_user_in_nfd_erases_the_vote_saved_in_nfc(gateway, store, capsys, aws):
    save(store, NFD, run_id="r1")  # the POST saved it as NFC
    save(store, NFC, run_id="r2")
    assert listed_ids(capsys, "--user-id", f" {NFD} ") == [NFC, NFC]
    status, out, _ = run_cli(capsys, "erase-user", NFD, "--yes")
    assert status == 0
    assert out == f"Erased 2 feedback entries of end user {NFC!r} in your tenant.\n"
    assert aws.items() == []


@pytest.mark.parametrize("user_id", ["   ", "a\x1b[2Kb", "left\u202eright", "x" * 257])
def test_an_id_no_entry_can_have_is_refused_before_any_request(gateway, capsys, user_id):
    for argv in (["erase-user", user_id, "--yes"], ["list", "--agent", AGENT, "--user-id", user_id]):
        status, _, err = run_cli(capsys, *argv)
        assert status == 2
        assert err.count("\n") == 1 and "an end-user id: must" in err
        assert "\x1b" not in err and "\u202e" not in err
    assert gateway.requests == []


def test_a_dot_segment_is_refused_rather_than_sent_to_another_route(gateway, capsys):
    status, _, err = run_cli(capsys, "list", "--agent", "..")
    assert status == 2 and err == "error: '..' cannot be sent as part of a URL path (clients remove it)\n"
    assert gateway.requests == []
    with pytest.raises(UserError):
        path("v1", ".", "agents")
    assert path("v1", "a/b", "..x", "%") == "/v1/a%2Fb/..x/%25"


def test_query_string_percent_encodes_every_value():
    params = {"user_id": "a b+c/?#%&=é", "has_comment": True, "cursor": None, "limit": 30}
    assert query_string(params) == "user_id=a%20b%2Bc%2F%3F%23%25%26%3D%C3%A9&has_comment=true&limit=30"
    assert query_string({}) == ""
