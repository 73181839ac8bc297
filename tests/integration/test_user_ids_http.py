"""Issue 10, classes 4 and 5 over real HTTP: any end-user id the public POST accepts is listed and erased through
the review API and through `feedbackctl` (run as a program), in any Unicode spelling.

Each test rates runs of an agent of its own, so listings see only its own votes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import unicodedata
import uuid
from urllib.parse import quote

import pytest
import requests

pytestmark = pytest.mark.integration

TIMEOUT = 15
NFC = unicodedata.normalize("NFC", "josé")
NFD = unicodedata.normalize("NFD", "josé")
# The issue's characters, alone and mixed: each is something a path, a query string or a URL parser rewrites.
ODD_IDS = [".", "..", "/", "%", "?", "#", "a b", "josé", "日本語", "../..", "a?b=c&d#e", "+", "%2e%2e", "ünï /?#%."]


@pytest.fixture
def agent() -> str:
    return f"ids-{uuid.uuid4().hex[:10]}"


def vote(stack, mint_token, agent: str, user_id: str) -> str:
    """Rates a new run through the public POST; returns the run id."""
    run_id = f"run-{uuid.uuid4().hex[:12]}"
    token = mint_token(tenant="acme", agent_id=agent, run_id=run_id)
    body = {"feedback_token": token, "outcome": "negative", "user_id": user_id}
    response = requests.post(f"{stack.base_url}/v1/feedback", json=body, timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    return run_id


def listed(stack, api_key: str, agent: str, query: str) -> list[dict]:
    """GET .../feedback with a query string sent exactly as given (already encoded)."""
    response = requests.get(
        f"{stack.base_url}/v1/_/agents/{agent}/feedback?{query}",
        headers={"Authorization": f"Bearer {api_key}"},
        timeout=TIMEOUT,
    )
    assert response.status_code == 200, response.text
    return response.json()["items"]


def erase(stack, api_key: str, user_id: str) -> requests.Response:
    return requests.post(
        f"{stack.base_url}/v1/_/feedback/erasures",
        json={"user_id": user_id},
        headers={"Authorization": f"Bearer {api_key}"},
        timeout=TIMEOUT,
    )


def feedbackctl(stack, api_key: str, tmp_path, *argv: str) -> subprocess.CompletedProcess[str]:
    """The CLI as a user runs it: its own process, the id as an argv, the API URL and key from the environment."""
    env = {**os.environ, "FEEDBACK_API_URL": stack.base_url, "FEEDBACK_API_KEY": api_key, "PYTHONIOENCODING": "utf-8"}
    return subprocess.run(
        [sys.executable, "-m", "feedbackctl", *argv],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("user_id", ODD_IDS)
def test_an_odd_id_is_listed_and_erased_through_the_api(stack, mint_token, api_key, agent, user_id):
    run_id = vote(stack, mint_token, agent, user_id)
    other = vote(stack, mint_token, agent, "someone-else")

    # The query string in both encodings a client may use for a space: %20 and the form convention '+'.
    for query in (f"user_id={quote(user_id, safe='')}", f"user_id={quote(user_id, safe='').replace('%20', '+')}"):
        assert [(item["run_id"], item["user_id"]) for item in listed(stack, api_key, agent, query)] == [
            (run_id, user_id)
        ]

    response = erase(stack, api_key, user_id)
    assert response.status_code == 200, response.text
    assert response.json() == {"user_id": user_id, "erased": 1, "runs_erased": 0}
    assert [item["run_id"] for item in listed(stack, api_key, agent, "")] == [other]
    assert erase(stack, api_key, user_id).json() == {"user_id": user_id, "erased": 0, "runs_erased": 0}


@pytest.mark.parametrize("user_id", [user_id for user_id in ODD_IDS if user_id not in (".", "..")])
def test_the_delete_route_still_erases_the_ids_a_path_can_carry(stack, mint_token, api_key, agent, user_id):
    vote(stack, mint_token, agent, user_id)
    response = requests.delete(
        f"{stack.base_url}/v1/_/feedback/users/{quote(user_id, safe='')}",
        headers={"Authorization": f"Bearer {api_key}"},
        timeout=TIMEOUT,
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"user_id": user_id, "erased": 1, "runs_erased": 0}


def test_the_issues_example_a_path_cannot_carry_dot_dot(stack, mint_token, api_key, agent):
    """`DELETE .../users/..` never reaches the route (the client resolves the dot segment): the body route does."""
    vote(stack, mint_token, agent, "..")
    response = requests.delete(
        f"{stack.base_url}/v1/_/feedback/users/..", headers={"Authorization": f"Bearer {api_key}"}, timeout=TIMEOUT
    )
    assert response.status_code != 200
    assert erase(stack, api_key, "..").json() == {"user_id": "..", "erased": 1, "runs_erased": 0}


def test_a_vote_posted_in_nfd_is_listed_and_erased_in_nfc(stack, mint_token, api_key, agent):
    assert NFC != NFD
    run_id = vote(stack, mint_token, agent, NFD)
    for spelling in (NFC, NFD, f" {NFC}\t"):
        assert [item["run_id"] for item in listed(stack, api_key, agent, f"user_id={quote(spelling)}")] == [run_id]
    response = erase(stack, api_key, NFC)
    assert response.json() == {"user_id": NFC, "erased": 1, "runs_erased": 0}
    assert listed(stack, api_key, agent, "") == []


@pytest.mark.parametrize("user_id", ["   ", "a\x1b[2Kb", "left\u202eright"])
def test_an_id_no_vote_can_have_is_refused_naming_the_field(stack, api_key, agent, user_id):
    for response in (
        erase(stack, api_key, user_id),
        requests.get(
            f"{stack.base_url}/v1/_/agents/{agent}/feedback",
            params={"user_id": user_id},
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=TIMEOUT,
        ),
    ):
        assert response.status_code == 422, response.text
        assert "user_id" in response.json()["error"]["message"]


def test_an_erasure_request_for_another_tenant_is_forbidden(stack, mint_token, api_key, agent):
    vote(stack, mint_token, agent, "user-of-acme")
    response = requests.post(
        f"{stack.base_url}/v1/globex/feedback/erasures",
        json={"user_id": "user-of-acme"},
        headers={"Authorization": f"Bearer {api_key}"},
        timeout=TIMEOUT,
    )
    assert response.status_code == 403, response.text
    assert len(listed(stack, api_key, agent, "")) == 1


# --- through feedbackctl ------------------------------------------------------------------------------


@pytest.mark.parametrize("user_id", ODD_IDS)
def test_feedbackctl_lists_and_erases_an_odd_id(stack, mint_token, api_key, agent, tmp_path, user_id):
    run_id = vote(stack, mint_token, agent, user_id)
    vote(stack, mint_token, agent, "someone-else")

    shown = feedbackctl(stack, api_key, tmp_path, "list", "--agent", agent, "--user-id", user_id, "--json")
    assert shown.returncode == 0, shown.stderr
    assert [(item["run_id"], item["user_id"]) for item in json.loads(shown.stdout)["items"]] == [(run_id, user_id)]

    erased = feedbackctl(stack, api_key, tmp_path, "erase-user", user_id, "--yes")
    assert erased.returncode == 0, erased.stderr
    assert erased.stdout == f"Erased 1 feedback entry of end user {user_id!r} in your tenant.\n"
    assert [item["user_id"] for item in listed(stack, api_key, agent, "")] == ["someone-else"]


def test_feedbackctl_erases_a_vote_posted_in_nfd_by_its_nfc_spelling(stack, mint_token, api_key, agent, tmp_path):
    vote(stack, mint_token, agent, NFD)
    vote(stack, mint_token, agent, NFC)
    erased = feedbackctl(stack, api_key, tmp_path, "erase-user", NFC, "--yes")
    assert erased.returncode == 0, erased.stderr
    assert erased.stdout == f"Erased 2 feedback entries of end user {NFC!r} in your tenant.\n"
    assert listed(stack, api_key, agent, "") == []
