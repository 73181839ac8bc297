"""Summary latency against the votes in its window: today's path before aggregates and the aggregated one, side by side.

DynamoDB Local (in memory, its own process, on loopback). Votes and runs are written straight through the stores
(FeedbackStore.save, RunStore.save, 8 threads), spread over the 30 days of the default summary window, 5 users per
run (one vote in ten changed an hour later: a flip), 2 versions. The aggregates come from the real aggregator
handler, fed from DynamoDB Local's own streams by local.streams, as the local stack feeds it. At each size both
paths are timed in interleaved rounds on the same window: "votes" is bench/summary_from_votes.py (reads every vote
and run of the window, as before), "aggregated" is ReviewService.feedback_summary (reads days x versions items).
Both must give the same figures, flips included. Ratios are within this run.

Usage:
  python bench/summary_latency.py [--sizes 2000,20000,100000] [--rounds 5] [--workers 8]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import random
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for _path in (str(ROOT), str(ROOT / "layers" / "shared"), str(ROOT / "bench")):
    if _path not in sys.path:
        sys.path.insert(0, _path)

TENANT, AGENT = "bench", "summary-bot"
USERS_PER_RUN = 5
TABLES = {
    "FeedbackTable": "FEEDBACK_TABLE",
    "RunsTable": "RUNS_TABLE",
    "AgentsTable": "AGENTS_TABLE",
    "ApiKeysTable": "API_KEYS_TABLE",
    "AggregatesTable": "AGGREGATES_TABLE",
}


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def load_aggregator() -> Any:
    spec = importlib.util.spec_from_file_location("aggregator_app", ROOT / "functions" / "aggregator" / "app.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.lambda_handler


class LambdaContext:
    function_name = "AggregatorFunction"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:AggregatorFunction"
    aws_request_id = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def write(client: Any, first_run: int, runs: int, now: datetime, workers: int) -> None:
    """Runs first_run .. first_run + runs - 1, each with USERS_PER_RUN votes, at times spread over the window."""
    from agentfeedback.feedback.store import FeedbackStore
    from agentfeedback.runs.store import RunRecord, RunStore
    from agentfeedback.tokens import TokenClaims

    feedback = FeedbackStore(client, "FeedbackTable")
    run_store = RunStore(client, "RunsTable", retention_days=90)

    def one_run(index: int) -> None:
        rng = random.Random(index)
        # Inside the 30 days ending today (at least an hour ago, so that the votes after it are in the past too).
        created = now - timedelta(seconds=rng.uniform(3600, 29 * 86400))
        version = f"v{index % 2 + 1}"
        run_id = f"run-{index:07d}"
        run_store.save(
            RunRecord(
                run_id=run_id,
                tenant=TENANT,
                agent_id=AGENT,
                schema_id=1,
                version_id=version,
                version_properties={"model": "offline"},
                task_input={"q": index},
                task_output={"a": index},
                model="offline",
                input_tokens=10,
                output_tokens=5,
                cost_usd=0.0,
                duration_seconds=0.2,
                created_at=stamp(created),
            )
        )
        claims = TokenClaims(tenant=TENANT, agent_id=AGENT, run_id=run_id, version_id=version)
        for user in range(USERS_PER_RUN):
            outcome = "positive" if rng.random() < 0.7 else "negative"
            feedback.save(claims, f"user-{user}", outcome, None, now=stamp(created + timedelta(minutes=user + 1)))
            if rng.random() < 0.1:  # a change of mind (a flip), an hour later: the count moves, it is not added
                changed = "negative" if outcome == "positive" else "positive"
                feedback.save(claims, f"user-{user}", changed, None, now=stamp(created + timedelta(minutes=user + 61)))

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(one_run, range(first_run, first_run + runs)))


def timed(call: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    result = call()
    return (time.perf_counter() - started) * 1000, result


def figures(summary: Any) -> Any:
    return summary.overall, summary.by_version, summary.by_day


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="2000,20000,100000", help="votes in the window, increasing")
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds of each path at each size")
    parser.add_argument("--workers", type=int, default=8, help="writer threads")
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.sizes.split(",")]

    from local.dynamodb_local import DynamoDBLocal

    with tempfile.TemporaryDirectory(prefix="bench-summary-") as scratch:
        dynamodb_local = DynamoDBLocal(db_dir=None, log_path=Path(scratch) / "dynamodb-local.log")
        dynamodb_local.start()
        try:
            return measure(dynamodb_local.endpoint, sizes, args.rounds, args.workers)
        finally:
            dynamodb_local.stop()


def measure(endpoint: str, sizes: list[int], rounds: int, workers: int) -> int:
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL_DYNAMODB": endpoint,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "POWERTOOLS_LOG_LEVEL": "ERROR",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "TOKEN_KEY_ID": "unused-here",
            **{variable: table for table, variable in TABLES.items()},
        }
    )
    from summary_from_votes import summary_from_votes

    from agentfeedback import composition
    from agentfeedback.review.service import summary_window
    from local.dynamodb_local import dynamodb_client
    from local.streams import BatchDelivery, StreamReader, deliver_pending, event_source_mappings, streams_client
    from local.tables import create_missing_tables
    from local.template import load_template, table_definitions

    client = dynamodb_client(endpoint)
    create_missing_tables(client, table_definitions(), {name: name for name in TABLES})
    handler = load_aggregator()
    lanes = []
    for mapping in event_source_mappings(load_template()):
        arn = client.describe_table(TableName=mapping.table_id)["Table"]["LatestStreamArn"]
        invoke = lambda _function, event: handler(event, LambdaContext())  # noqa: E731
        lanes.append((StreamReader(streams_client(endpoint), arn), BatchDelivery(mapping, invoke, arn)))

    now = datetime.now(UTC)
    window = summary_window(None, None, now=now)
    review = composition.review_service()
    rows = []
    written_runs = 0
    for size in sizes:
        runs = size // USERS_PER_RUN
        started = time.perf_counter()
        write(client, written_runs, runs - written_runs, now, workers)
        write_seconds = time.perf_counter() - started
        written_runs = runs
        started = time.perf_counter()
        records = sum(deliver_pending(reader, delivery) for reader, delivery in lanes)
        aggregate_seconds = time.perf_counter() - started
        assert not any(delivery.failures for _, delivery in lanes)
        old_times, new_times = [], []
        for _ in range(rounds):
            old_ms, old = timed(lambda: summary_from_votes(client, "FeedbackTable", "RunsTable", TENANT, AGENT, window))
            new_ms, new = timed(lambda: review.feedback_summary(TENANT, AGENT, window))
            old_times.append(old_ms)
            new_times.append(new_ms)
        same = figures(old) == figures(new)
        rows.append((size, new.overall.total, old_times, new_times, same))
        print(
            f"{size:>7} votes: written in {write_seconds:.0f} s; {records} stream records aggregated in "
            f"{aggregate_seconds:.1f} s ({records / aggregate_seconds:.0f}/s); same figures: {'yes' if same else 'NO'}",
            file=sys.stderr,
            flush=True,
        )

    def spread(values: list[float]) -> str:
        return f"{min(values):8.1f} {statistics.median(values):8.1f} {max(values):8.1f}"

    print(f"\nSummary latency, default window (30 days, {window.first_day} .. {window.last_day}), {rounds} rounds, ms")
    print(
        f"{'votes':>8} | {'votes path: min   median    max':>28} | {'aggregated: min   median    max':>28} | speed-up"
    )
    for _size, total, old_times, new_times, same in rows:
        ratio = statistics.median(old_times) / statistics.median(new_times)
        flag = "" if same else "  (figures differ!)"
        print(f"{total:>8} | {spread(old_times):>28} | {spread(new_times):>28} | {ratio:7.0f}x{flag}")
    first, last = rows[0], rows[-1]
    growth_old = statistics.median(last[2]) / statistics.median(first[2])
    growth_new = statistics.median(last[3]) / statistics.median(first[3])
    print(
        f"\nFrom {first[1]} to {last[1]} votes: votes path x{growth_old:.1f}, aggregated x{growth_new:.2f} "
        "(target: within 1.5x)"
    )
    return 0 if all(row[4] for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
