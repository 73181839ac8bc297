"""Load: concurrent feedback posts at the local stack, then prove that nothing was lost or duplicated.

N posts over M runs x (U users + anonymous), random outcomes and comments, sent by a bounded pool of
threads over HTTP to 127.0.0.1 only. The posts of one (run, user) pair are sent one after the other by
one worker, so "the last post of a pair" is well defined; different pairs run concurrently. A few
forged tokens (a genuine token whose run id was altered) are mixed in: they must be refused and leave
nothing behind. Afterwards the feedback table is scanned (consistent reads) and must hold exactly one
item per pair that got a 2xx, with the outcome and comment of its last accepted post and
revision = its number of real changes (an accepted post that repeats the previous one changes nothing).

While the load runs, a probe measures the aggregation lag: twice a second it posts a first vote (a new user on a
run of an agent of its own) and times, from the answer, until the aggregates count it (DynamoDB Local read every
10 ms). After the load, the aggregates of the load's own agent must equal the votes stored (how long they take to
catch up is reported).

Usage:
  python bench/load_feedback.py [--posts 2000] [--concurrency 16] [--runs 50] [--users 20]
  python bench/load_feedback.py --api-url http://127.0.0.1:3000   # the stack of `make local`
Without --api-url a fresh in-memory stack is started in a child process (so that the load generator and
the server do not share one interpreter lock) and stopped at the end. Exit status 1 if anything was
lost, duplicated or wrong.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
for _path in (str(ROOT), str(ROOT / "layers" / "shared")):
    if _path not in sys.path:
        sys.path.insert(0, _path)

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
TENANT = "load"
REQUEST_TIMEOUT_SECONDS = 30
COMMENTS = ("Spot on", "Wrong city", "Too long", "Helpful, thanks")


# -- what to send -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Post:
    run_id: str
    user_id: str | None
    outcome: str
    comment: str | None
    forged: bool = False


@dataclass
class Plan:
    """The posts, grouped into tasks: one task per (run, user) pair, its posts in sending order."""

    prefix: str
    run_ids: list[str]
    tasks: list[list[Post]]

    @property
    def agent_id(self) -> str:
        """An agent of this run's own, so that its aggregates count this load and nothing else."""
        return self.prefix.rstrip("-")

    @property
    def posts(self) -> int:
        return sum(len(task) for task in self.tasks)


def make_plan(
    posts: int, runs: int, users: int, anonymous_share: float = 0.2, forged_share: float = 0.02, seed: int = 0
) -> Plan:
    rng = random.Random(seed)
    prefix = f"load-{uuid.uuid4().hex[:8]}-"
    run_ids = [f"{prefix}{index:04d}" for index in range(runs)]
    pairs: dict[tuple[str, str | None], list[Post]] = defaultdict(list)
    forged: list[list[Post]] = []
    for index in range(posts):
        outcome = rng.choice(("positive", "negative"))
        comment = rng.choice((None, None, *COMMENTS))
        if rng.random() < forged_share:
            # Its own "ghost" run, so a forged post never races a genuine one; it must store nothing.
            forged.append([Post(f"{prefix}ghost-{index:05d}", None, outcome, comment, forged=True)])
            continue
        run_id = rng.choice(run_ids)
        user_id = None if rng.random() < anonymous_share else f"user-{rng.randrange(users):03d}"
        pairs[(run_id, user_id)].append(Post(run_id, user_id, outcome, comment))
    tasks = [*pairs.values(), *forged]
    rng.shuffle(tasks)
    return Plan(prefix=prefix, run_ids=run_ids, tasks=tasks)


# -- where to send it ---------------------------------------------------------------------------


@dataclass
class Target:
    """A running stack: its HTTP base URL, a token minter, and a reader of its feedback table."""

    base_url: str
    mint: Callable[[str, str], str]  # (run_id, agent_id) -> feedback token
    scan: Callable[[str], list[dict[str, Any]]]  # run id prefix -> raw DynamoDB items
    aggregates: Callable[[str], tuple[int, int]]  # agent_id -> (positive, negative) current votes it counts


def _require_loopback(url: str) -> None:
    host = urlsplit(url).hostname
    if host not in LOOPBACK_HOSTS:
        raise SystemExit(f"error: {url} is not on this machine; the load test only targets 127.0.0.1")


def _scanner(dynamodb: Any, table: str) -> Callable[[str], list[dict[str, Any]]]:
    def scan(prefix: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        request: dict[str, Any] = {
            "TableName": table,
            "ConsistentRead": True,
            "FilterExpression": "begins_with(pk, :prefix)",
            "ExpressionAttributeValues": {":prefix": {"S": prefix}},
        }
        while True:
            page = dynamodb.scan(**request)
            items += page["Items"]
            if "LastEvaluatedKey" not in page:
                return items
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    return scan


def _minter(kms: Any, settings: Any) -> Callable[[str, str], str]:
    from agentfeedback.tokens import TokenClaims
    from agentfeedback.tokens.signer import TokenSigner

    signer = TokenSigner(kms, settings.token_key_id, settings.token_lifetime_days, settings.stack_name)
    return lambda run_id, agent_id: signer.mint(
        TokenClaims(tenant=TENANT, agent_id=agent_id, run_id=run_id, version_id="1")
    )


def _aggregates(dynamodb: Any, table: str) -> Callable[[str], tuple[int, int]]:
    """The agent's current votes as the aggregates count them (its counts items, every day)."""

    def read(agent_id: str) -> tuple[int, int]:
        response = dynamodb.query(
            TableName=table,
            ConsistentRead=True,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :day)",
            ExpressionAttributeValues={":pk": {"S": f"{TENANT}#{agent_id}"}, ":day": {"S": "day#"}},
        )
        items = response["Items"]
        return (
            sum(int(item.get("positive", {}).get("N", 0)) for item in items),
            sum(int(item.get("negative", {}).get("N", 0)) for item in items),
        )

    return read


def target_from_stack(stack: Any) -> Target:
    """An in-process `local.stack.LocalStack` (the integration tests' `stack` fixture)."""
    from agentfeedback.core.settings import Settings

    settings = Settings.from_env(stack.environment)
    return Target(
        base_url=stack.base_url,
        mint=_minter(stack.kms_client(), settings),
        scan=_scanner(stack.dynamodb_client(), settings.feedback_table),
        aggregates=_aggregates(stack.dynamodb_client(), settings.aggregates_table),
    )


def target_from_state(state: dict[str, Any], api_url: str | None = None) -> Target:
    """A stack in another process, reached through its state file (.local/stack.json for `make local`)."""
    import boto3

    from agentfeedback.core.settings import Settings

    base_url = api_url or state["base_url"]
    for url in (base_url, state["dynamodb_endpoint"], state["kms_endpoint"]):
        _require_loopback(url)
    settings = Settings.from_env(state["environment"])
    credentials = {"region_name": state["region"], "aws_access_key_id": "local", "aws_secret_access_key": "local"}
    kms = boto3.client("kms", endpoint_url=state["kms_endpoint"], **credentials)
    dynamodb = boto3.client("dynamodb", endpoint_url=state["dynamodb_endpoint"], **credentials)
    return Target(
        base_url=base_url,
        mint=_minter(kms, settings),
        scan=_scanner(dynamodb, settings.feedback_table),
        aggregates=_aggregates(dynamodb, settings.aggregates_table),
    )


# -- sending ------------------------------------------------------------------------------------


@dataclass
class Result:
    post: Post
    status: int  # 0: transport error (the request may or may not have been applied)
    seconds: float


class _Client:
    """One keep-alive connection per worker thread."""

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        self._host, self._port = parts.hostname or "127.0.0.1", parts.port or 80
        self._path = parts.path.rstrip("/") + "/v1/feedback"
        self._local = threading.local()

    def post(self, body: bytes) -> tuple[int, float]:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._local.connection = http.client.HTTPConnection(
                self._host, self._port, timeout=REQUEST_TIMEOUT_SECONDS
            )
        started = time.perf_counter()
        try:
            connection.request(
                "POST",
                self._path,
                body=body,
                headers={"Content-Type": "application/json", "Origin": "https://load.example.com"},
            )
            response = connection.getresponse()
            response.read()
        except (OSError, http.client.HTTPException):
            connection.close()
            self._local.connection = None
            return 0, time.perf_counter() - started
        if response.will_close:
            connection.close()
            self._local.connection = None
        return response.status, time.perf_counter() - started


def fire(target: Target, plan: Plan, concurrency: int, time_limit_seconds: float) -> tuple[list[Result], float, int]:
    """Send the plan; return the results, the elapsed seconds and how many posts the time limit left unsent."""
    tokens = {run_id: target.mint(run_id, plan.agent_id) for run_id in plan.run_ids}
    client = _Client(target.base_url)
    results: list[Result] = []
    lock = threading.Lock()
    deadline = time.monotonic() + time_limit_seconds
    unsent = 0

    def token_for(post: Post) -> str:
        if not post.forged:
            return tokens[post.run_id]
        # A genuine token with its run id swapped: the signature no longer matches the payload.
        header, payload, signature = tokens[plan.run_ids[0]].removeprefix("fb_").split(".")
        claims = json.loads(_b64decode(payload))
        claims["run"] = post.run_id
        return f"fb_{header}.{_b64encode(json.dumps(claims, separators=(',', ':')).encode())}.{signature}"

    def send_pair(posts: list[Post]) -> None:
        nonlocal unsent
        for index, post in enumerate(posts):
            if time.monotonic() > deadline:
                with lock:
                    unsent += len(posts) - index
                return
            body: dict[str, Any] = {"feedback_token": token_for(post), "outcome": post.outcome}
            if post.comment:
                body["comment"] = post.comment
            if post.user_id:
                body["user_id"] = post.user_id
            status, seconds = client.post(json.dumps(body).encode())
            with lock:
                results.append(Result(post, status, seconds))

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="load") as pool:
        for future in [pool.submit(send_pair, task) for task in plan.tasks]:
            future.result()
    return results, time.perf_counter() - started, unsent


@dataclass
class LagProbe:
    """Posts a first vote now and then while the load runs, and times each until the aggregates count it."""

    target: Target
    agent_id: str
    interval_seconds: float = 0.5
    timeout_seconds: float = 30.0
    lags_ms: list[float] = field(default_factory=list)
    unseen: int = 0
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        client = _Client(self.target.base_url)
        counted = 0
        token = ""
        while not self.stop.is_set():
            if counted % 500 == 0:  # well under the run's user cap
                # Its runs stay out of the load's run-id prefix (the load's check reads that prefix).
                token = self.target.mint(f"probe-{self.agent_id}-{counted // 500}", self.agent_id)
            body = {"feedback_token": token, "outcome": "positive", "user_id": f"probe-{counted}"}
            status, _ = client.post(json.dumps(body).encode())
            answered = time.perf_counter()
            if status != 200:
                self.stop.wait(self.interval_seconds)
                continue
            counted += 1
            while self.target.aggregates(self.agent_id)[0] < counted:
                if time.perf_counter() - answered > self.timeout_seconds:
                    self.unseen += 1
                    # Later probes wait for this one too: count it as seen from now on.
                    break
                time.sleep(0.01)
            else:
                self.lags_ms.append((time.perf_counter() - answered) * 1000)
            self.stop.wait(self.interval_seconds)


def _b64decode(text: str) -> bytes:
    import base64

    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _b64encode(data: bytes) -> str:
    import base64

    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


# -- checking -----------------------------------------------------------------------------------


@dataclass
class Report:
    sent: int
    unsent: int
    elapsed_seconds: float
    statuses: Counter[int]
    latencies_ms: list[float]
    pairs_expected: int
    items_stored: int
    lost: int = 0
    duplicated: int = 0
    wrong_outcome: int = 0
    wrong_comment: int = 0
    wrong_revision: int = 0
    forged_accepted: int = 0
    # Informational: the user cap's per-run counters against the entries actually stored.
    counters_checked: int = 0
    counter_mismatches: int = 0
    problems: list[str] = field(default_factory=list)
    # Aggregation: probe lags during the load, and after it whether the aggregates caught up with the votes stored.
    lags_ms: list[float] = field(default_factory=list)
    lags_unseen: int = 0
    aggregates_match: bool | None = None
    catch_up_seconds: float | None = None

    @property
    def accepted(self) -> int:
        return sum(count for status, count in self.statuses.items() if 200 <= status < 300)

    @property
    def refused(self) -> int:
        return sum(count for status, count in self.statuses.items() if status >= 300)

    @property
    def transport_errors(self) -> int:
        return self.statuses.get(0, 0)

    @property
    def ok(self) -> bool:
        wrong = self.wrong_outcome + self.wrong_comment + self.wrong_revision + self.forged_accepted
        return self.lost == 0 and self.duplicated == 0 and wrong == 0 and self.aggregates_match is not False

    def percentile(self, share: float, values: list[float] | None = None) -> float:
        """Nearest-rank percentile of the request latencies (or of `values`), in ms."""
        ordered = sorted(self.latencies_ms if values is None else values)
        return ordered[max(0, math.ceil(share * len(ordered)) - 1)] if ordered else float("nan")

    @property
    def throughput(self) -> float:
        return self.sent / self.elapsed_seconds if self.elapsed_seconds else float("nan")


def _same(before: Post | None, post: Post) -> bool:
    """Whether post says what the post before it said (then the server leaves the entry alone)."""
    return before is not None and (before.outcome, before.comment or None) == (post.outcome, post.comment or None)


def check(results: list[Result], items: list[dict[str, Any]], elapsed: float, unsent: int) -> Report:
    # Every pair's results are in sending order: one worker sent them one after the other.
    accepted: dict[tuple[str, str | None], list[Post]] = defaultdict(list)
    uncertain: Counter[tuple[str, str | None]] = Counter()
    for result in results:
        pair = (result.post.run_id, result.post.user_id)
        if 200 <= result.status < 300:
            accepted[pair].append(result.post)
        elif result.status == 0:
            uncertain[pair] += 1
    stored: dict[tuple[str, str | None], list[dict[str, Any]]] = defaultdict(list)
    counters: dict[str, int] = {}
    for item in items:
        run_id, separator, user_id = item["pk"]["S"].partition("#")
        if separator:
            stored[(run_id, user_id or None)].append(item)
        elif "user_count" in item:  # the per-run user counter of the user cap (key: the bare run id)
            counters[run_id] = int(item["user_count"]["N"])
    entries = sum(len(found) for found in stored.values())
    report = Report(
        sent=len(results),
        unsent=unsent,
        elapsed_seconds=elapsed,
        statuses=Counter(result.status for result in results),
        latencies_ms=[result.seconds * 1000 for result in results],
        pairs_expected=len(accepted),
        items_stored=entries,
        forged_accepted=sum(1 for result in results if result.post.forged and 200 <= result.status < 300),
    )
    for pair in accepted.keys() - stored.keys():
        if not uncertain[pair]:
            report.lost += 1
            report.problems.append(f"lost: {pair} had {len(accepted[pair])} accepted posts and no item")
    for pair, found in stored.items():
        posts = accepted.get(pair, [])
        extra = len(found) - 1 if posts or uncertain[pair] else len(found)
        if extra:
            report.duplicated += extra
            report.problems.append(f"duplicated: {pair} has {len(found)} items for {len(posts)} accepted posts")
        if not posts:
            continue
        item, last = found[0], posts[-1]
        revision = int(item["revision"]["N"])
        # revision counts real changes: an accepted post that repeats the one before it changes nothing.
        changes = sum(1 for before, post in zip([None, *posts], posts, strict=False) if not _same(before, post))
        # A post whose answer was lost may or may not have been applied: then only the bounds are known.
        low, high = (1, len(posts) + uncertain[pair]) if uncertain[pair] else (changes, changes)
        if not low <= revision <= high:
            report.wrong_revision += 1
            report.problems.append(f"revision: {pair} is at {revision} after {changes} changes in {len(posts)} posts")
        if uncertain[pair]:
            continue  # a post whose answer was lost may have been the last one applied
        if item["outcome"]["S"] != last.outcome:
            report.wrong_outcome += 1
            report.problems.append(f"outcome: {pair} is {item['outcome']['S']}, last accepted {last.outcome}")
        if item.get("comment", {}).get("S") != last.comment:
            report.wrong_comment += 1
            report.problems.append(f"comment: {pair} is {item.get('comment')}, last accepted {last.comment!r}")
    pairs_per_run = Counter(run_id for run_id, _ in stored)
    report.counters_checked = len(counters)
    report.counter_mismatches = sum(1 for run_id, count in counters.items() if count != pairs_per_run[run_id])
    return report


def run_load(
    target: Target,
    posts: int = 2000,
    concurrency: int = 16,
    runs: int = 50,
    users: int = 20,
    anonymous_share: float = 0.2,
    forged_share: float = 0.02,
    time_limit_seconds: float = 120,
    seed: int = 0,
) -> Report:
    _require_loopback(target.base_url)
    plan = make_plan(posts, runs, users, anonymous_share, forged_share, seed)
    probe = LagProbe(target, f"{plan.agent_id}-lag")
    prober = threading.Thread(target=probe.run, name="lag-probe", daemon=True)
    prober.start()
    try:
        results, elapsed, unsent = fire(target, plan, max(1, min(concurrency, 64)), time_limit_seconds)
    finally:
        probe.stop.set()
        prober.join(probe.timeout_seconds + 5)
    items = target.scan(plan.prefix)
    report = check(results, items, elapsed, unsent)
    report.lags_ms, report.lags_unseen = probe.lags_ms, probe.unseen
    report.aggregates_match, report.catch_up_seconds = catch_up(target, plan.agent_id, items)
    return report


def catch_up(
    target: Target, agent_id: str, items: list[dict[str, Any]], timeout_seconds: float = 60
) -> tuple[bool, float]:
    """Wait until the agent's aggregates count the votes stored; whether they did, and after how long."""
    entries = [item for item in items if "#" in item["pk"]["S"] and "outcome" in item]
    stored = (
        sum(item["outcome"]["S"] == "positive" for item in entries),
        sum(item["outcome"]["S"] == "negative" for item in entries),
    )
    started = time.perf_counter()
    while (counted := target.aggregates(agent_id)) != stored and time.perf_counter() - started < timeout_seconds:
        time.sleep(0.05)
    return counted == stored, time.perf_counter() - started


def format_report(report: Report, title: str) -> str:
    statuses = ", ".join(f"{status or 'transport error'}: {count}" for status, count in sorted(report.statuses.items()))
    rows = [
        ("posts sent", f"{report.sent}"),
        ("posts not sent (time limit)", f"{report.unsent}"),
        ("accepted (2xx)", f"{report.accepted}"),
        ("refused (4xx/5xx)", f"{report.refused}"),
        ("transport errors", f"{report.transport_errors}"),
        ("statuses", statuses),
        ("forged tokens accepted", f"{report.forged_accepted}"),
        ("elapsed s", f"{report.elapsed_seconds:.1f}"),
        ("throughput req/s", f"{report.throughput:.1f}"),
        ("latency p50 ms", f"{report.percentile(0.50):.1f}"),
        ("latency p90 ms", f"{report.percentile(0.90):.1f}"),
        ("latency p99 ms", f"{report.percentile(0.99):.1f}"),
        ("latency max ms", f"{max(report.latencies_ms, default=float('nan')):.1f}"),
        ("distinct pairs accepted", f"{report.pairs_expected}"),
        ("items stored", f"{report.items_stored}"),
        ("lost", f"{report.lost}"),
        ("duplicated", f"{report.duplicated}"),
        (
            "wrong outcome / comment / revision",
            f"{report.wrong_outcome} / {report.wrong_comment} / {report.wrong_revision}",
        ),
        ("user-cap counters checked / wrong", f"{report.counters_checked} / {report.counter_mismatches}"),
        ("aggregation lag probes (seen / not in 30 s)", f"{len(report.lags_ms)} / {report.lags_unseen}"),
        (
            "aggregation lag ms: median / p90 / max",
            f"{report.percentile(0.5, report.lags_ms):.0f} / {report.percentile(0.9, report.lags_ms):.0f} / "
            f"{max(report.lags_ms, default=float('nan')):.0f}",
        ),
        (
            "aggregates = votes stored (caught up after s)",
            "n/a"
            if report.aggregates_match is None
            else f"{'yes' if report.aggregates_match else 'NO'} ({report.catch_up_seconds:.2f})",
        ),
        ("verdict", "OK: nothing lost or duplicated" if report.ok else "FAILED"),
    ]
    width = max(len(name) for name, _ in rows)
    lines = [title, f"{'metric':<{width}}  value", f"{'-' * width}  {'-' * 30}"]
    lines += [f"{name:<{width}}  {value}" for name, value in rows]
    lines += [f"  {problem}" for problem in report.problems[:20]]
    return "\n".join(lines)


# -- a stack of its own, in a child process -----------------------------------------------------


def _serve_stack(state_file: Path, lifetime_seconds: float) -> int:
    """The child: an in-memory stack until SIGTERM, the parent's death or the lifetime, whichever is first."""
    from local.stack import LocalStack

    parent = os.getppid()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    signal.signal(signal.SIGINT, lambda signum, frame: stop.set())
    deadline = time.monotonic() + lifetime_seconds
    with LocalStack(port=0, state_file=state_file):
        while not stop.wait(0.5) and os.getppid() == parent and time.monotonic() < deadline:
            pass
    return 0


@contextmanager
def child_stack(lifetime_seconds: float) -> Iterator[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="load-stack-") as directory:
        state_file = Path(directory) / "stack.json"
        log_path = Path(directory) / "stack.log"
        with log_path.open("wb") as log:
            child = subprocess.Popen(
                [sys.executable, __file__, "--serve-stack", str(state_file), "--stack-lifetime", str(lifetime_seconds)],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
            )
        try:
            deadline = time.monotonic() + 90
            while not state_file.exists():
                if child.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"error: the local stack did not start:\n{log_path.read_text()[-3000:]}")
                time.sleep(0.2)
            yield json.loads(state_file.read_text())
        finally:
            child.send_signal(signal.SIGTERM)
            try:
                child.wait(30)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait(10)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--posts", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16, help="worker threads (at most 64)")
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--users", type=int, default=20, help="distinct user ids (plus anonymous posts)")
    parser.add_argument("--anonymous", type=float, default=0.2, help="share of anonymous posts")
    parser.add_argument("--forged", type=float, default=0.02, help="share of posts with a forged token")
    parser.add_argument("--time-limit", type=float, default=120, help="stop sending after this many seconds")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--api-url", help="a running local stack (loopback only), e.g. http://127.0.0.1:3000")
    parser.add_argument("--state", type=Path, default=None, help="its state file (default .local/stack.json)")
    parser.add_argument("--serve-stack", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--stack-lifetime", type=float, default=600, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_stack:
        return _serve_stack(args.serve_stack, args.stack_lifetime)

    options = {
        "posts": args.posts,
        "concurrency": args.concurrency,
        "runs": args.runs,
        "users": args.users,
        "anonymous_share": args.anonymous,
        "forged_share": args.forged,
        "time_limit_seconds": args.time_limit,
        "seed": args.seed,
    }
    shape = f"{args.posts} posts, {args.concurrency} workers, {args.runs} runs x ({args.users} users + anonymous)"
    if args.api_url:
        from local.stack_state import STATE_FILE, StackNotRunning, read_state

        _require_loopback(args.api_url)
        try:
            state = read_state(args.state or STATE_FILE)
        except StackNotRunning as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        report = run_load(target_from_state(state, args.api_url), **options)
        where = args.api_url
    else:
        with child_stack(lifetime_seconds=args.time_limit + 300) as state:
            report = run_load(target_from_state(state), **options)
            where = f"{state['base_url']} (a fresh in-memory local stack in a child process)"
    print(format_report(report, f"Feedback load: {shape}, at {where}"))
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
