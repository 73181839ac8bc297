"""The improvement loop over real HTTP on the local stack, with the offline model: runs on version 1 and votes
(negative comments among them), improve, version 2 saved unbound, production split 50/50, more runs and votes,
compare; then promote and roll back."""

from __future__ import annotations

import pytest
import requests

pytestmark = pytest.mark.integration

TIMEOUT = 30
AGENT = "order-helper"
SCHEMAS = {
    "id": AGENT,
    "input_schema": {"type": "object", "properties": {"question": {"type": "string"}}, "required": ["question"]},
    "output_schema": {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]},
}
INSTRUCTIONS = "Answer customer questions about their orders."
COMPLAINTS = ["Far too long.", "It did not use my order number.", "Far too long."]


class Api:
    def __init__(self, base_url: str, key: str) -> None:
        self.base = f"{base_url}/v1/_/agents/{AGENT}"
        self.root = base_url
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {key}"

    def call(self, method: str, path: str, expected: int = 200, **kwargs: object) -> dict:
        response = self.session.request(method, f"{self.base}{path}", timeout=TIMEOUT, **kwargs)
        assert response.status_code == expected, response.text
        return response.json()

    def run(self, schema_id: int, user: str) -> dict:
        body = {"task_input": {"question": f"Where is my order, {user}?"}, "version": "production"}
        return self.call("POST", f"/schemas/{schema_id}/run", json={**body, "metadata": {"user_id": user}})

    def vote(self, run: dict, user: str, outcome: str, comment: str | None = None) -> None:
        body = {"feedback_token": run["feedback_token"], "outcome": outcome, "user_id": user}
        if comment is not None:
            body["comment"] = comment
        response = requests.post(f"{self.root}/v1/feedback", json=body, timeout=TIMEOUT)
        assert response.status_code == 200, response.text


def test_the_whole_loop(stack, api_key):
    api = Api(stack.base_url, api_key)
    schema_id = requests.post(
        f"{stack.base_url}/v1/_/agents", json=SCHEMAS, headers=api.session.headers, timeout=TIMEOUT
    ).json()["schema_id"]
    first = api.call("POST", "/versions", json={"model": "offline", "instructions": INSTRUCTIONS})
    api.call("PUT", "/environments/production", json={"version": first["number"]})

    # Version 1 in production: 3 happy users, 9 unhappy ones (3 of them say why).
    for index in range(12):
        user = f"early-{index}"
        run = api.run(schema_id, user)
        assert run["version"]["id"] == first["id"]
        if index < 3:
            api.vote(run, user, "positive")
        else:
            api.vote(run, user, "negative", COMPLAINTS[index - 3] if index < 6 else None)

    improved = api.call("POST", f"/versions/{first['number']}/improve", json={})
    second = improved["version"]
    assert (improved["base_version"], improved["created"], second["number"]) == (first["number"], True, 2)
    assert improved["diff"].startswith(f"--- version {first['number']}\n+++ version 2\n")
    assert '+- "Far too long."' in improved["diff"] and '+- "It did not use my order number."' in improved["diff"]
    assert len(improved["feedback_ids"]) == 3  # the commented negative votes only
    listed = api.call("GET", "/versions")
    assert [version["number"] for version in listed["versions"]] == [1, 2]
    assert listed["environments"] == {"production": 1}  # the draft is bound to nothing

    split = api.call("PUT", "/environments/production", json={"version": 1, "canary": {"version": 2, "weight": 50}})
    assert (split["weight"], split["canary"]["version"], split["canary"]["weight"]) == (50, 2, 50)
    assert api.call("GET", "/versions")["deployments"]["production"]["canary"]["version_id"] == second["id"]

    # Production split: users on version 2 are happy, users on version 1 mostly are not.
    expected = {first["id"]: [3, 12], second["id"]: [0, 0]}  # [positive, votes], version 1's earlier votes included
    for index in range(40):
        user = f"later-{index}"
        run = api.run(schema_id, user)
        assert api.run(schema_id, user)["version"]["id"] == run["version"]["id"], "one end user, one version"
        happy = run["version"]["id"] == second["id"] or index % 4 == 0
        api.vote(run, user, "positive" if happy else "negative")
        expected[run["version"]["id"]][0] += happy
        expected[run["version"]["id"]][1] += 1
    assert expected[second["id"]][1] >= 10 and expected[first["id"]][1] >= 22  # both sides got traffic

    stack.wait_for_streams()  # the comparison reads the aggregates the streams keep
    compared = api.call("GET", "/versions/compare", params={"base": "1", "candidate": "2"})
    for side, version in (("base", first), ("candidate", second)):
        positive, total = expected[version["id"]]
        assert (compared[side]["version"], compared[side]["positive"], compared[side]["total"]) == (
            version["number"],
            positive,
            total,
        )
        assert compared[side]["satisfaction"] == round(positive / total, 4)
    assert compared["decision"] == "candidate_better"
    assert compared["verdict"].startswith("candidate better: 100.0% vs ")
    assert compared["difference"]["interval"]["low"] > 0 and compared["significance"]["p_value"] < 0.05

    promoted = api.call("POST", "/environments/production/promote")
    assert (promoted["version"], promoted["canary"], promoted["previous_version"]) == (2, None, 1)
    assert api.run(schema_id, "early-0")["version"]["id"] == second["id"]
    rolled_back = api.call("POST", "/environments/production/rollback")
    assert (rolled_back["version"], rolled_back["canary"]) == (1, None)
    assert api.run(schema_id, "later-1")["version"]["id"] == first["id"]


def test_improve_without_negative_comments_is_a_clear_409(stack, api_key):
    api = Api(stack.base_url, api_key)
    requests.post(f"{stack.base_url}/v1/_/agents", json=SCHEMAS, headers=api.session.headers, timeout=TIMEOUT)
    version = api.call("POST", "/versions", json={"model": "offline", "instructions": "Nobody complained yet."})
    answer = api.call("POST", f"/versions/{version['number']}/improve", expected=409, json={})
    assert answer["error"]["code"] == "no_negative_feedback"
    assert "no negative feedback with a comment" in answer["error"]["message"]
