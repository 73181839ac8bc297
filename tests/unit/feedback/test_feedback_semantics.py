"""What a post means: retries are not changes of mind, reads check what writes check, ids reveal nothing,
one end user has one slot (issue: hostile and odd input, items 4, 6, 10, 11)."""

from __future__ import annotations

import json
import unicodedata
import uuid

from agentfeedback.feedback.store import FeedbackStore
from agentfeedback.tokens import TokenClaims
from tests.helpers import load_event


def post(invoke, body):
    return invoke("feedback", load_event("feedback/post_feedback.json", body=body))


def get(invoke, query):
    return invoke("feedback", load_event("feedback/get_feedback.json", query=query))


def metrics_printed(capsys) -> list[dict]:
    """The EMF blobs the handler printed since the last call."""
    blobs = []
    for line in capsys.readouterr().out.splitlines():
        try:
            parsed = json.loads(line)
        except ValueError:
            continue
        if "_aws" in parsed:
            blobs.append(parsed)
    return blobs


def counts(blob: dict) -> dict[str, float]:
    return {name: sum(blob[name]) for name in ("Feedback", "FirstVotes", "ChangedVotes")}


def test_identical_repost_changes_nothing_and_counts_nothing(aws, invoke, capsys):
    body = {"feedback_token": aws.mint(), "outcome": "negative", "comment": "Too long", "user_id": "u1"}
    first = post(invoke, body)
    assert first[0] == 200
    [blob] = metrics_printed(capsys)
    assert counts(blob) == {"Feedback": 1, "FirstVotes": 1, "ChangedVotes": 0}
    for _ in range(2):
        again = post(invoke, body)
        assert again[0] == 200 and again[2] == first[2]  # same answer, same id
        assert metrics_printed(capsys) == []  # no metric at all
    [item] = aws.items()
    assert item["revision"]["N"] == "1"


def test_revision_counts_real_changes_and_changed_votes_count_changed_outcomes(aws, invoke, capsys):
    token = aws.mint()
    steps = [
        ({"outcome": "positive"}, {"Feedback": 1, "FirstVotes": 1, "ChangedVotes": 0}, "1"),
        ({"outcome": "positive", "comment": "Nice"}, {"Feedback": 0, "FirstVotes": 0, "ChangedVotes": 0}, "2"),
        ({"outcome": "negative", "comment": "Nice"}, {"Feedback": 1, "FirstVotes": 0, "ChangedVotes": 1}, "3"),
        ({"outcome": "negative"}, {"Feedback": 0, "FirstVotes": 0, "ChangedVotes": 0}, "4"),  # comment removed
        ({"outcome": "negative"}, None, "4"),  # identical
    ]
    for fields, expected, revision in steps:
        status, _, answer = post(invoke, {"feedback_token": token, "user_id": "u1", **fields})
        assert status == 200, answer
        blobs = metrics_printed(capsys)
        assert (counts(blobs[0]) if blobs else None) == expected, fields
        [item] = aws.items()
        assert item["revision"]["N"] == revision, fields


def test_a_write_applied_twice_counts_once(aws):
    """botocore retries a write whose answer was lost: the second application finds nothing to change."""
    store = FeedbackStore(aws.dynamodb, aws.table)
    claims = TokenClaims(tenant="acme", agent_id="support-bot", run_id="run-1", version_id="v1")
    first = store.save(claims, "u1", "positive", None)
    second = store.save(claims, "u1", "positive", None)
    assert (first.change, second.change) == ("created", "none")
    assert second.revision == first.revision == 1 and second.id == first.id


def test_reads_check_tenant_and_run_as_writes_do(aws, invoke):
    # An entry under run-1 that belongs to another tenant (run ids are global; this one was replayed).
    FeedbackStore(aws.dynamodb, aws.table).save(
        TokenClaims(tenant="globex", agent_id="bot", run_id="run-1", version_id="v9"), "u1", "negative", "secret"
    )
    token = aws.mint(run_id="run-1")  # tenant acme
    write = post(invoke, {"feedback_token": token, "outcome": "positive", "user_id": "u1"})
    read = get(invoke, {"feedback_token": token, "user_id": "u1"})
    assert write[0] == read[0] == 409
    assert read[2]["error"]["code"] == write[2]["error"]["code"] == "conflict"
    assert "secret" not in json.dumps(read[2])


def test_public_id_is_random_and_kept_across_changes(aws, invoke):
    token = aws.mint()
    ids = set()
    for user in ("u1", "u2"):
        first = post(invoke, {"feedback_token": token, "outcome": "positive", "user_id": user})[2]["id"]
        changed = post(invoke, {"feedback_token": token, "outcome": "negative", "user_id": user})[2]["id"]
        assert first == changed and uuid.UUID(first).version == 4
        ids.add(first)
    assert len(ids) == 2
    # Not derivable from the run and user: the same pair in a fresh table gets another id.
    aws.dynamodb.delete_item(TableName=aws.table, Key={"pk": {"S": "run-1#u1"}})
    again = post(invoke, {"feedback_token": token, "outcome": "positive", "user_id": "u1"})[2]["id"]
    assert again not in ids


def test_one_end_user_one_slot_whatever_the_unicode_spelling(aws, invoke):
    token = aws.mint()
    nfc, nfd = unicodedata.normalize("NFC", "josé"), unicodedata.normalize("NFD", "josé")
    assert post(invoke, {"feedback_token": token, "outcome": "positive", "user_id": nfd})[2]["user_id"] == nfc
    assert post(invoke, {"feedback_token": token, "outcome": "negative", "user_id": f" {nfc} "})[0] == 200
    [item] = aws.items()
    assert item["user_id"]["S"] == nfc and item["outcome"]["S"] == "negative"
    assert get(invoke, {"feedback_token": token, "user_id": nfd})[2]["outcome"] == "negative"


def test_user_ids_with_control_or_direction_characters_are_422_naming_the_field(aws, invoke):
    token = aws.mint()
    for bad in ("a\x1bb", "a\u202eb", "   "):
        status, _, body = post(invoke, {"feedback_token": token, "outcome": "positive", "user_id": bad})
        assert status == 422 and "user_id" in body["error"]["message"], bad
        status, _, body = get(invoke, {"feedback_token": token, "user_id": bad})
        assert status == 422 and "user_id" in body["error"]["message"], bad
    assert aws.items() == []
