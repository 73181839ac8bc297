"""An environment split between two versions: assignment (sticky per end user, else per run), promote, roll back."""

from __future__ import annotations

from collections import Counter

import pytest

from agentfeedback.runs.traffic import Split, assigned_number, bucket, end_user_of
from tests.helpers import load_event
from tests.unit.runs.test_run_handler import OFFLINE, call, register, run

SPLIT = Split(number=1, canary_number=2, canary_weight=10)


# --- assignment -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("metadata", "expected"),
    [
        ({"user_id": "ana"}, "ana"),
        ({"user_id": "  jose\u0301 "}, "jos\u00e9"),  # one form per id, as the feedback store keeps it
        ({"user_id": 42}, "42"),
        ({"user_id": ""}, None),
        ({"user_id": "   "}, None),
        ({"user_id": True}, None),
        ({"user_id": {"id": 1}}, None),
        ({"session": "s1"}, None),
        (None, None),
    ],
)
def test_the_end_user_comes_from_metadata_user_id(metadata, expected):
    assert end_user_of(metadata) == expected


def test_one_end_user_always_gets_the_same_version():
    for user in ("ana", "bo", "cy", "dee"):
        picks = {assigned_number(SPLIT, "acme", "bot", "production", user, f"run-{index}") for index in range(50)}
        assert len(picks) == 1


def test_weights_hold_over_many_users_and_over_runs_without_one():
    by_user = Counter(assigned_number(SPLIT, "acme", "bot", "production", f"user-{i}", "r") for i in range(20_000))
    by_run = Counter(assigned_number(SPLIT, "acme", "bot", "production", None, f"run-{i}") for i in range(20_000))
    for counts in (by_user, by_run):
        # 10% of 20,000 is 2,000; the binomial standard deviation is 42: 4.5 of them either side is 190.
        assert abs(counts[2] - 2000) < 190 and counts[1] + counts[2] == 20_000


def test_raising_the_canary_weight_keeps_every_user_it_had():
    users = [f"user-{i}" for i in range(2000)]
    wider = Split(number=1, canary_number=2, canary_weight=50)
    on_canary = {u for u in users if assigned_number(SPLIT, "acme", "bot", "production", u, "r") == 2}
    on_wider = {u for u in users if assigned_number(wider, "acme", "bot", "production", u, "r") == 2}
    assert on_canary < on_wider


def test_a_new_canary_draws_a_fresh_set_of_users():
    buckets = [bucket("acme", "bot", "production", canary, "user:ana") for canary in range(2, 12)]
    assert len(set(buckets)) > 5


def test_no_canary_means_the_main_version():
    assert assigned_number(Split(number=3), "acme", "bot", "production", "ana", "r") == 3


# --- the routes -----------------------------------------------------------------------------------------------


def deploy(invoke, body, environment="production"):
    return call(invoke, "bind_environment", body, path={"environment": environment})


def post(invoke, name, environment="production"):
    return invoke("run", load_event(f"run/{name}.json", path={"environment": environment}))


@pytest.fixture
def two_versions(aws, invoke):
    register(invoke)
    first = call(invoke, "save_version", OFFLINE)[2]
    second = call(invoke, "save_version", {**OFFLINE, "instructions": "Give facts; name the country first."})[2]
    return first, second


def test_split_environment_answers_both_versions_and_records_which_each_run_used(aws, invoke, two_versions):
    first, second = two_versions
    status, _, body = deploy(invoke, {"version": 1, "canary": {"version": 2, "weight": 50}})
    assert status == 200, body
    assert body == {
        "environment": "production",
        "version": 1,
        "version_id": first["id"],
        "weight": 50,
        "canary": {"version": 2, "version_id": second["id"], "weight": 50},
        "previous_version": None,
    }
    used = {}
    for index in range(12):
        user = f"user-{index}"
        answers = {run(invoke, "production", metadata={"user_id": user})[2]["version"]["id"] for _ in range(2)}
        assert len(answers) == 1, "one end user, one version"
        used[user] = answers.pop()
    assert set(used.values()) == {first["id"], second["id"]}
    anonymous = {run(invoke, "production")[2]["version"]["id"] for _ in range(16)}
    assert anonymous == {first["id"], second["id"]}  # 2^-15 chance that 16 runs all land on one side
    # The stored run and its token carry the version used, so feedback and compare see it.
    response = run(invoke, "production", metadata={"user_id": "user-0"})[2]
    stored = aws.dynamodb.get_item(TableName="RunsTable", Key={"run_id": {"S": response["id"]}})["Item"]
    assert stored["version_id"]["S"] == used["user-0"] == response["version"]["id"]


def test_versions_list_shows_the_split(aws, invoke, two_versions):
    # The event as it is: production at version 1, version 2 as a 10% canary.
    status, _, body = invoke("run", load_event("run/bind_environment_with_canary.json"))
    assert status == 200 and body["canary"]["weight"] == 10, body
    event = load_event("run/save_version.json")
    event["httpMethod"] = event["requestContext"]["httpMethod"] = "GET"
    event["body"] = None
    status, _, body = invoke("run", event)
    assert status == 200, body
    assert body["environments"] == {"production": 1}
    production = body["deployments"]["production"]
    assert (production["version"], production["weight"], production["canary"]["version"]) == (1, 90, 2)
    assert production["canary"]["weight"] == 10


def test_promote_makes_the_canary_the_one_version_and_rollback_returns(aws, invoke, two_versions):
    first, second = two_versions
    deploy(invoke, {"version": 1, "canary": {"version": 2, "weight": 10}})
    status, _, body = post(invoke, "promote_canary")
    assert status == 200, body
    assert (body["version"], body["weight"], body["canary"], body["previous_version"]) == (2, 100, None, 1)
    assert {run(invoke, "production", metadata={"user_id": f"u{i}"})[2]["version"]["id"] for i in range(6)} == {
        second["id"]
    }
    status, _, body = post(invoke, "roll_back_environment")
    assert status == 200, body
    assert (body["version"], body["canary"], body["previous_version"]) == (1, None, None)
    assert run(invoke, "production")[2]["version"]["id"] == first["id"]
    status, _, body = post(invoke, "roll_back_environment")
    assert status == 409 and "nothing to roll back" in body["error"]["message"]


def test_rollback_with_a_canary_drops_the_canary_only(aws, invoke, two_versions):
    deploy(invoke, {"version": 1})
    deploy(invoke, {"version": 2})
    deploy(invoke, {"version": 2, "canary": {"version": 1, "weight": 25}})
    status, _, body = post(invoke, "roll_back_environment")
    assert status == 200, body
    assert (body["version"], body["canary"], body["previous_version"]) == (2, None, 1)


def test_promote_without_a_canary_is_409(aws, invoke, two_versions):
    deploy(invoke, {"version": 1})
    status, _, body = post(invoke, "promote_canary")
    assert status == 409 and "no canary to promote" in body["error"]["message"]


@pytest.mark.parametrize(
    ("body", "status", "mentions"),
    [
        ({"version": 1, "canary": {"version": 1, "weight": 10}}, 422, "another version"),
        ({"version": 1, "canary": {"version": 2, "weight": 0}}, 422, "weight"),
        ({"version": 1, "canary": {"version": 2, "weight": 100}}, 422, "weight"),
        ({"version": 1, "canary": {"version": 2}}, 422, "weight"),
        ({"version": 1, "canary": {"version": 2, "weight": 10, "sticky": False}}, 422, "sticky"),
        ({"version": 1, "canary": {"version": 9, "weight": 10}}, 404, "no saved version 9"),
    ],
)
def test_bad_splits_are_clear_4xx_and_change_nothing(aws, invoke, two_versions, body, status, mentions):
    deploy(invoke, {"version": 1})
    got, _, answer = deploy(invoke, body)
    assert got == status, answer
    assert mentions in answer["error"]["message"]
    assert deploy(invoke, {"version": 1})[2]["canary"] is None


def test_promote_and_rollback_of_an_unbound_or_unknown_environment(aws, invoke, two_versions):
    assert post(invoke, "promote_canary", environment="staging")[0] == 404
    status, _, body = post(invoke, "roll_back_environment", environment="nightly")
    assert status == 422 and "Unknown environment" in body["error"]["message"]


def test_an_environment_bound_before_splits_existed_still_runs_and_splits(aws, invoke, two_versions):
    first, _ = two_versions
    aws.dynamodb.put_item(
        TableName="AgentsTable",
        Item={"pk": {"S": "acme#city-facts"}, "sk": {"S": "env#production"}, "number": {"N": "1"}},
    )
    assert run(invoke, "production")[2]["version"]["id"] == first["id"]
    status, _, body = deploy(invoke, {"version": 1, "canary": {"version": 2, "weight": 10}})
    assert status == 200 and body["canary"]["version"] == 2, body


def test_a_change_racing_another_is_refused_not_lost(aws, invoke, two_versions):
    from agentfeedback import composition

    registry = composition.agent_registry()
    registry.deploy("acme", "city-facts", "production", 1)
    stale = registry.deployment("acme", "city-facts", "production")
    registry.deploy("acme", "city-facts", "production", 2)  # someone else's change lands first
    from agentfeedback.core.errors import Conflict

    with pytest.raises(Conflict, match="changed while"):
        registry._write("acme", "city-facts", stale, stale)
    assert registry.deployment("acme", "city-facts", "production").number == 2


def test_an_action_route_takes_an_empty_body_but_still_refuses_a_bad_one(aws, invoke, two_versions):
    deploy(invoke, {"version": 1, "canary": {"version": 2, "weight": 10}})
    event = load_event("run/promote_canary.json")
    event["body"] = "[1]"
    status, _, body = invoke("run", event)
    assert status == 400 and body["error"]["code"] == "invalid_json"
    event["body"] = "{}"
    assert invoke("run", event)[0] == 200
