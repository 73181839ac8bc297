"""Concurrent changes of one entry on DynamoDB Local: 20 changes leave 20 history events, in the order applied.

Each change and its event are one conditional write (feedback.store): a writer that loses the race starts again
from the entry it found, so none is lost and none is recorded twice.
"""

from __future__ import annotations

import threading
import uuid

import pytest
import requests

from agentfeedback.feedback.store import FeedbackEntry, FeedbackStore
from agentfeedback.tokens import TokenClaims

pytestmark = pytest.mark.integration
WRITERS = 20


def assert_applied_in_order(results: list[FeedbackEntry], saved: FeedbackEntry) -> None:
    """Each writer got its own revision; event k is the change of the writer that got revision k."""
    assert sorted(entry.revision for entry in results) == list(range(1, WRITERS + 1))
    assert saved.revision == WRITERS and len(saved.history) == WRITERS and saved.dropped_events == 0
    by_revision = {entry.revision: entry for entry in results}
    for revision, event in enumerate(saved.history, start=1):
        assert event.outcome == by_revision[revision].outcome and event.comment_changed, revision
    assert [event.at for event in saved.history] == sorted(event.at for event in saved.history)
    assert saved.comment == by_revision[WRITERS].comment


def test_twenty_concurrent_writers_leave_twenty_events_in_order(stack, settings):
    claims = TokenClaims(tenant="acme", agent_id="support-bot", run_id=f"run-{uuid.uuid4().hex}", version_id="1")
    barrier = threading.Barrier(WRITERS)
    results: list[FeedbackEntry] = []
    failures: list[BaseException] = []

    def change(writer: int) -> None:
        # One client and store per writer, as separate Lambda containers would have.
        store = FeedbackStore(stack.dynamodb_client(), settings.feedback_table, settings.max_users_per_run)
        outcome = ("positive", "negative")[writer % 2]
        barrier.wait()
        try:
            results.append(store.save(claims, "u1", outcome, f"change {writer}"))  # a unique comment: a real change
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=change, args=(writer,)) for writer in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not failures, failures
    saved = FeedbackStore(stack.dynamodb_client(), settings.feedback_table).read(claims, "u1")
    assert saved is not None
    assert_applied_in_order(results, saved)
    assert [entry.change for entry in results].count("created") == 1


def test_twenty_concurrent_posts_over_http_leave_twenty_events(stack, mint_token, settings):
    run_id = f"run-{uuid.uuid4().hex}"
    token = mint_token(run_id=run_id)
    answers: list[requests.Response] = []

    def post(writer: int) -> None:
        body = {
            "feedback_token": token,
            "outcome": ("positive", "negative")[writer % 2],
            "comment": f"change {writer}",
            "user_id": "u1",
        }
        answers.append(requests.post(f"{stack.base_url}/v1/feedback", json=body, timeout=30))

    threads = [threading.Thread(target=post, args=(writer,)) for writer in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert [answer.status_code for answer in answers] == [200] * WRITERS
    claims = TokenClaims(tenant="acme", agent_id="support-bot", run_id=run_id, version_id="1")
    saved = FeedbackStore(stack.dynamodb_client(), settings.feedback_table).read(claims, "u1")
    assert saved is not None and saved.revision == WRITERS and len(saved.history) == WRITERS
    assert {answer.json()["comment"] for answer in answers} == {f"change {writer}" for writer in range(WRITERS)}
