"""DynamoDB Local killed and restarted while feedback posts keep arriving over HTTP.

A few threads post continuously; the test kills DynamoDB Local (SIGKILL, as a crash), keeps it down for a
few seconds, then starts it again on the same port and data folder (-dbPath, so data survives). Afterwards:
every post answered 2xx is stored with its outcome; every other post got a 503 in the error shape with
Retry-After, within a bounded time (no hang, no 502 from a function timeout, never a 2xx without the write).
"""

from __future__ import annotations

import collections
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from local.stack import LocalStack
from tests.fuzz.local_stack import cold_start_layer, layer_module

pytestmark = pytest.mark.integration

THREADS = 4
MAX_POSTS_PER_THREAD = 400  # a bound on the loops; the run stops on time well before
OUTAGE_SECONDS = 3.0
REQUEST_TIMEOUT = 15.0  # no post may take longer (the feedback function's own timeout is 6 s)
WAIT_SECONDS = 10.0  # for the posts before and after the outage to succeed


@dataclass
class Post:
    run_id: str
    user_id: str
    outcome: str
    started: float
    elapsed: float
    status: int | None = None
    body: Any = None
    retry_after: str | None = None
    error: str | None = None


@pytest.fixture
def fresh_layer() -> Iterator[None]:
    cold_start_layer()
    yield
    cold_start_layer()


def poster(stack: LocalStack, token: str, run_id: str, thread: int, stop: threading.Event, posts: list[Post]) -> None:
    session = requests.Session()
    for sequence in range(MAX_POSTS_PER_THREAD):
        if stop.is_set():
            return
        user_id, outcome = f"user-{thread}-{sequence}", ("positive", "negative")[sequence % 2]
        started = time.monotonic()
        post = Post(run_id, user_id, outcome, started, 0.0)
        try:
            response = session.post(
                f"{stack.base_url}/v1/feedback",
                json={"feedback_token": token, "outcome": outcome, "user_id": user_id},
                timeout=REQUEST_TIMEOUT,
            )
            post.status, post.retry_after = response.status_code, response.headers.get("Retry-After")
            try:
                post.body = response.json()
            except ValueError:
                post.body = response.text
        except requests.RequestException as exc:
            post.error = repr(exc)
        post.elapsed = time.monotonic() - started
        posts.append(post)
        time.sleep(0.01)


def wait_for(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_every_acknowledged_post_survives_a_dynamodb_crash_and_restart(stack, settings, mint_token, fresh_layer):
    runs = [f"restart-{uuid.uuid4().hex[:10]}-{thread}" for thread in range(THREADS)]
    tokens = [mint_token(run_id=run_id) for run_id in runs]
    posts: list[Post] = []
    stop = threading.Event()
    threads = [
        threading.Thread(target=poster, args=(stack, tokens[i], runs[i], i, stop, posts), daemon=True)
        for i in range(THREADS)
    ]
    started = time.monotonic()
    killed_at = restarted_at = 0.0
    try:
        for thread in threads:
            thread.start()
        assert wait_for(lambda: sum(post.status == 200 for post in posts) >= THREADS, WAIT_SECONDS), posts[:5]
        killed_at = time.monotonic()
        stack.kill_dynamodb()
        time.sleep(OUTAGE_SECONDS)
        stack.start_dynamodb()
        restarted_at = time.monotonic()
        assert wait_for(
            lambda: sum(post.status == 200 and post.started > restarted_at for post in posts) >= THREADS,
            WAIT_SECONDS,
        ), "no post succeeded after the restart"
        time.sleep(0.5)
    finally:
        stop.set()
        for thread in threads:
            thread.join(REQUEST_TIMEOUT + 5)
        if not stack.dynamodb_running:
            stack.start_dynamodb()
    assert not any(thread.is_alive() for thread in threads)

    statuses = collections.Counter(post.status for post in posts)
    slowest = max(post.elapsed for post in posts)
    print(
        f"\n{len(posts)} posts in {time.monotonic() - started:.1f} s around a {restarted_at - killed_at:.1f} s "
        f"DynamoDB Local outage: {dict(statuses)}; slowest {slowest:.2f} s"
    )

    # Every post was answered, quickly, and only with a 200 or a 503 in the error shape.
    assert [post for post in posts if post.error] == []
    assert set(statuses) <= {200, 503}, [post for post in posts if post.status not in (200, 503)][:3]
    assert slowest < REQUEST_TIMEOUT
    unavailable = [post for post in posts if post.status == 503]
    assert unavailable, "no post reached the function while DynamoDB Local was down"
    for post in unavailable:
        assert post.body == {
            "error": {"status_code": 503, "code": "service_unavailable", "message": post.body["error"]["message"]}
        }
        assert post.retry_after and int(post.retry_after) >= 1

    # Every acknowledged post is stored, whole, with its outcome.
    client = stack.dynamodb_client()
    for post in (post for post in posts if post.status == 200):
        item = client.get_item(
            TableName=settings.feedback_table, Key={"pk": {"S": f"{post.run_id}#{post.user_id}"}}, ConsistentRead=True
        ).get("Item")
        assert item is not None, f"acknowledged but lost: {post}"
        assert item["outcome"]["S"] == post.outcome == post.body["outcome"]
        assert item["feedback_id"]["S"] == post.body["id"] and item["user_id"]["S"] == post.user_id
        assert item["run_id"]["S"] == post.run_id and item["tenant"]["S"] and item["created_at"]["S"]
        assert int(item["revision"]["N"]) >= 1

    # The aggregates followed: the stream poller read on from its checkpoints after the restart, and the days of
    # these posts count what a recount finds.
    stack.wait_for_streams(60)
    recounter = layer_module("agentfeedback.composition").recounter()
    days = {time.strftime("%Y-%m-%d", time.gmtime(moment)) for moment in (time.time() - 120, time.time())}
    assert all(recounter.check_day("acme", "support-bot", day) == [] for day in days)
    assert stack.stream_failures == []
