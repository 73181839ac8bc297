"""Tokens bound to an end user (the run named one): that user's entry only, the comment readable, no id revealed."""

from __future__ import annotations

import base64
import json
import unicodedata

import pytest

from agentfeedback import composition
from agentfeedback.tokens import TokenClaims, user_binding
from tests.helpers import load_event


def post(invoke, body):
    return invoke("feedback", load_event("feedback/post_feedback.json", body=body))


def get(invoke, query):
    return invoke("feedback", load_event("feedback/get_feedback.json", query=query))


def retract(invoke, query):
    return invoke("feedback", load_event("feedback/retract_feedback.json", query=query))


def payload(token: str) -> dict:
    part = token.removeprefix("fb_").split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def test_the_binding_is_a_digest_of_run_and_user_that_reveals_neither(aws):
    token = aws.recorded_run(end_user="ana@example.com")
    claims = payload(token)
    assert claims["usr"] == user_binding("run-1", "ana@example.com")
    assert "ana" not in json.dumps(claims) and len(claims["usr"]) == 22
    # Salted by the run: the same user's binding on another run is unrelated; another user's differs.
    assert user_binding("run-2", "ana@example.com") != claims["usr"] != user_binding("run-1", "bob@example.com")
    assert composition.token_verifier().verify(token).user_binding == claims["usr"]


@pytest.mark.parametrize("method", ["post", "get", "retract"])
def test_another_user_id_is_403_and_touches_nothing(aws, invoke, method):
    token = aws.recorded_run(end_user="ana")
    assert post(invoke, {"feedback_token": token, "outcome": "positive", "comment": "mine"})[0] == 200
    before = aws.items()
    request = {"feedback_token": token, "user_id": "mallory"}
    if method == "post":
        status, _, body = post(invoke, {**request, "outcome": "negative", "comment": "overwritten"})
    else:
        status, _, body = (get if method == "get" else retract)(invoke, request)
    assert status == 403, body
    assert body["error"]["code"] == "token_bound_to_another_user"
    assert "mine" not in json.dumps(body) and "ana" not in json.dumps(body)
    assert aws.items() == before


def test_without_user_id_the_bound_user_is_taken_and_their_comment_is_read(aws, invoke):
    token = aws.recorded_run(end_user="ana")
    status, _, body = post(invoke, {"feedback_token": token, "outcome": "negative", "comment": "Wrong"})
    assert status == 200 and body["user_id"] == "ana"
    [item] = aws.items()
    assert item["pk"]["S"] == "run-1#ana" and item["tenant_user"]["S"] == "acme#ana"
    assert get(invoke, {"feedback_token": token})[2] == {"outcome": "negative", "comment": "Wrong"}
    # Naming the bound user, in any spelling, is the same entry.
    nfd = unicodedata.normalize("NFD", "ana")
    assert get(invoke, {"feedback_token": token, "user_id": f" {nfd}\t"})[2]["comment"] == "Wrong"


def test_the_bound_user_in_another_unicode_spelling_is_that_user(aws, invoke):
    token = aws.recorded_run(end_user=unicodedata.normalize("NFC", "josé"))  # the run route stores it canonical
    body = {"feedback_token": token, "outcome": "positive", "user_id": unicodedata.normalize("NFD", "josé")}
    status, _, answer = post(invoke, body)
    assert status == 200 and answer["user_id"] == "josé"


def test_an_unbound_token_keeps_todays_behaviour_but_reads_no_comment(aws, invoke):
    token = aws.recorded_run()  # the run named no end user
    assert "usr" not in payload(token)
    assert post(invoke, {"feedback_token": token, "outcome": "positive", "comment": "c1", "user_id": "u1"})[0] == 200
    # Any user id (anyone holding the token may type one): the outcome is shown, the comment is not.
    assert get(invoke, {"feedback_token": token, "user_id": "u1"})[2] == {"outcome": "positive"}
    assert post(invoke, {"feedback_token": token, "outcome": "negative", "user_id": "u1"})[2]["comment"] is None


def test_keep_comment_changes_the_outcome_and_keeps_a_comment_it_cannot_read(aws, invoke):
    token = aws.recorded_run()
    post(invoke, {"feedback_token": token, "outcome": "positive", "comment": "Useful", "user_id": "u1"})
    keep = {"feedback_token": token, "user_id": "u1", "keep_comment": True}
    status, _, body = post(invoke, {**keep, "outcome": "negative"})
    # The comment kept is not shown to an unbound token (no more than GET shows it): the answer leaves it out.
    assert status == 200 and body == {"id": body["id"], "outcome": "negative", "user_id": "u1"}
    assert post(invoke, {**keep, "outcome": "negative"})[2] == body  # identical: the same answer, still no comment
    [item] = aws.items()
    assert item["comment"]["S"] == "Useful" and item["revision"]["N"] == "2"
    # keep_comment on a first vote: there is no comment to keep.
    first = post(invoke, {"feedback_token": token, "outcome": "negative", "user_id": "u2", "keep_comment": True})
    assert first[0] == 200 and "comment" not in first[2]
    assert [item["comment"]["S"] for item in aws.items() if "comment" in item] == ["Useful"]


def test_keep_comment_with_a_bound_token_shows_the_comment_kept(aws, invoke):
    token = aws.recorded_run(end_user="ana")
    post(invoke, {"feedback_token": token, "outcome": "positive", "comment": "Useful"})
    status, _, body = post(invoke, {"feedback_token": token, "outcome": "negative", "keep_comment": True})
    assert status == 200 and body["comment"] == "Useful" and body["outcome"] == "negative"


@pytest.mark.parametrize("value", [1, "true", None, []])
def test_keep_comment_must_be_a_json_boolean(aws, invoke, value):
    body = {"feedback_token": aws.mint(), "outcome": "positive", "keep_comment": value}
    status, _, answer = post(invoke, body)
    assert status == 422 and "keep_comment: Input should be a valid boolean" in answer["error"]["message"]
    assert aws.items() == []


def test_a_bound_token_without_user_id_after_its_run_expired_is_422_naming_user_id(aws, invoke):
    token = aws.recorded_run(end_user="ana")
    aws.dynamodb.delete_item(TableName="RunsTable", Key={"run_id": {"S": "run-1"}})  # what TTL does
    status, _, body = post(invoke, {"feedback_token": token, "outcome": "positive"})
    assert status == 422 and "user_id" in body["error"]["message"]
    assert aws.items() == []
    assert post(invoke, {"feedback_token": token, "outcome": "positive", "user_id": "ana"})[0] == 200


def test_a_run_record_that_names_someone_else_is_not_trusted(aws, invoke):
    """The binding is checked against the stored end user too: a run record of another tenant, or whose end user
    the token does not bind, gives no user."""
    token = aws.mint(run_id="run-7", bound_to="ana")
    aws.recorded_run(run_id="run-7", end_user="mallory")
    status, _, body = post(invoke, {"feedback_token": token, "outcome": "positive"})
    assert status == 422 and "user_id" in body["error"]["message"] and aws.items() == []
    aws.dynamodb.delete_item(TableName="RunsTable", Key={"run_id": {"S": "run-7"}})
    aws.recorded_run(run_id="run-7", end_user="ana", tenant="globex")
    assert post(invoke, {"feedback_token": token, "outcome": "positive"})[0] == 422


def test_a_usr_claim_that_is_not_a_binding_is_refused_at_minting(aws):
    with pytest.raises(ValueError, match="user_binding"):
        TokenClaims(tenant="acme", agent_id="a", run_id="r", version_id="v", user_binding="ana")
