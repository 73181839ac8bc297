"""AWS cost per million runs and per million feedback posts, from list prices and what one run or post does here.

Each phase is one warm container, its handler called N times in-process against moto (DynamoDB, KMS), and
measured there:
- Lambda duration: the median warm handler time (run and chat with the offline model, so without any model
  call; feedback: first votes, the most expensive post) less the time moto took to answer its AWS calls
  (timed between botocore's before-call and after-call events), plus an assumed in-Region latency for each of
  those calls (DYNAMODB_CALL_MS, KMS_CALL_MS: assumptions, not measured here), rounded up to Lambda's 1 ms
  billing unit, at the template's 512 MB on arm64.
- DynamoDB: every call the handler makes (a botocore hook) and the size of every item written or read,
  turned into request units by DynamoDB's rules (item size: "Item sizes and formats" in the DynamoDB
  Developer Guide; a write is 1 WRU per KB of item, plus one write per global secondary index whose keys the
  item has, sized by its projection; a failed conditional write still costs 1 WRU; an eventually consistent
  read is 0.5 RRU per 4 KB, a strongly consistent one 1 RRU).
- Logs: the bytes the handler prints (JSON log lines and EMF metrics), plus Lambda's own START, END and
  REPORT lines (LAMBDA_PLATFORM_LOG_BYTES: their usual length with active tracing, an estimate).
- KMS: calls counted by operation. "before": one Sign per run or completion (tests/legacy_tokens.py, the
  signer before key delegation). "now": one Sign per container and hour and one GetPublicKey per container,
  however many runs: its cost per million runs depends on how many containers run for how long, so the
  table gives it for KMS_SCENARIO (stated under the table).
Not counted: the model call itself, the API-key authorizer (its answer is cached 5 minutes per key), X-Ray
traces, CloudWatch custom metrics (billed per metric a month, not per request), data transfer, free tiers.
Usage: python bench/costs.py [calls]
"""

from __future__ import annotations

import functools
import json
import math
import os
import statistics
import sys
import tempfile
import time
import warnings
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import in_process_aws

in_process_aws.prepare(log_level="INFO")  # the template's default LogLevel

import botocore.handlers  # noqa: E402
from moto import mock_aws  # noqa: E402

from agentfeedback import composition  # noqa: E402
from local.template import table_definitions  # noqa: E402
from tests.helpers import FakeContext, load_event, load_handler  # noqa: E402
from tests.legacy_tokens import KmsTokenSigner  # noqa: E402

warnings.filterwarnings("ignore", message="No application metrics to publish")

# USD, us-east-1: AWS's published list prices as the author knows them (last read on AWS's pricing pages in
# 2025; this machine cannot reach the web to check them again), with the date each took effect where known.
PRICES: dict[str, tuple[float, str, str]] = {
    "api_gateway_per_million": (
        3.50,
        "REST API requests, first 333 million a month; unchanged since 2016",
        "https://aws.amazon.com/api-gateway/pricing/",
    ),
    "lambda_requests_per_million": (0.20, "Lambda requests", "https://aws.amazon.com/lambda/pricing/"),
    "lambda_arm64_gb_second": (
        0.0000133334,
        "Lambda duration on arm64, first 6 billion GB-seconds a month; since Graviton2 (September 2021)",
        "https://aws.amazon.com/lambda/pricing/",
    ),
    "dynamodb_wru_per_million": (
        0.625,
        "DynamoDB on-demand write request units; since 1 November 2024 (halved)",
        "https://aws.amazon.com/dynamodb/pricing/on-demand/",
    ),
    "dynamodb_rru_per_million": (
        0.125,
        "DynamoDB on-demand read request units; since 1 November 2024",
        "https://aws.amazon.com/dynamodb/pricing/on-demand/",
    ),
    "kms_asymmetric_per_10k": (
        0.15,
        "KMS requests on asymmetric keys other than RSA 2048 (ECC Sign, GetPublicKey); outside the free tier",
        "https://aws.amazon.com/kms/pricing/",
    ),
    "logs_ingestion_per_gb": (
        0.50,
        "CloudWatch Logs ingestion, Standard class (Lambda logs: first 10 TB a month)",
        "https://aws.amazon.com/cloudwatch/pricing/",
    ),
}
MEMORY_GB = 512 / 1024  # template.yaml Globals: MemorySize 512
# START (~90 B), END (~60 B), REPORT with an X-Ray trace id (~260 B), plus 26 B per event: an estimate.
LAMBDA_PLATFORM_LOG_BYTES = 90 + 60 + 260 + 3 * 26
LOG_EVENT_OVERHEAD_BYTES = 26  # per log line, as CloudWatch Logs sizes events
# Assumed latency of one call from Lambda in the same Region (DynamoDB: "single-digit milliseconds").
DYNAMODB_CALL_MS = 5
KMS_CALL_MS = 10
# How "now" is priced per million runs: 1 million runs in a 30-day month, 2 containers busy all the time, each
# replaced by Lambda every 2 hours (a container's life is not documented; hours is what is commonly seen).
KMS_SCENARIO = {"runs": 1_000_000, "hours": 720, "containers": 2, "container_life_hours": 2}

CALLS: list[tuple[str, dict[str, Any], dict[str, Any] | None]] = []  # (operation, params, response)


AWS_SECONDS: list[float] = []  # time moto took to answer each call (between before-call and after-call)


def _params(model: Any, params: dict[str, Any], context: dict[str, Any], **kwargs: Any) -> None:
    context["bench_params"] = params


def _started(context: dict[str, Any], **kwargs: Any) -> None:
    context["bench_started"] = time.perf_counter()


def _after(model: Any, parsed: dict[str, Any], context: dict[str, Any], **kwargs: Any) -> None:
    AWS_SECONDS.append(time.perf_counter() - context["bench_started"])
    prefix = "kms:" if model.service_model.service_name == "kms" else ""
    CALLS.append((prefix + model.name, context.get("bench_params", {}), parsed))


# -- DynamoDB's item size and request units ---------------------------------------------------------------------


def value_bytes(value: dict[str, Any]) -> int:
    """The size of one AttributeValue, by the Developer Guide's "Item sizes and formats"."""
    (kind, inner), *_ = value.items()
    if kind == "S":
        return len(inner.encode())
    if kind == "N":
        digits = Decimal(inner).normalize().as_tuple().digits
        return (len(digits) + 1) // 2 + 1
    if kind == "B":
        return len(inner)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "L":
        return 3 + sum(value_bytes(element) + 1 for element in inner)
    if kind == "M":
        return 3 + sum(len(name.encode()) + value_bytes(element) + 1 for name, element in inner.items())
    if kind in ("SS", "NS", "BS"):
        return sum(value_bytes({kind[0]: element}) for element in inner)
    raise ValueError(kind)


def item_bytes(item: dict[str, Any], names: set[str] | None = None) -> int:
    return sum(
        len(name.encode()) + value_bytes(value) for name, value in item.items() if names is None or name in names
    )


@functools.cache
def _indexes() -> dict[str, list[tuple[set[str], set[str] | None]]]:
    """table -> [(the index's key attributes, its projected attributes or None for ALL)]."""
    indexes: dict[str, list[tuple[set[str], set[str] | None]]] = {}
    for table, definition in table_definitions().items():
        table_keys = {key["AttributeName"] for key in definition["KeySchema"]}
        for index in definition.get("GlobalSecondaryIndexes", []):
            keys = {key["AttributeName"] for key in index["KeySchema"]}
            projection = index["Projection"]
            projected = None
            if projection["ProjectionType"] == "KEYS_ONLY":
                projected = table_keys | keys
            elif projection["ProjectionType"] == "INCLUDE":
                projected = table_keys | keys | set(projection.get("NonKeyAttributes", []))
            indexes.setdefault(table, []).append((keys, projected))
    return indexes


def write_units(table: str, item: dict[str, Any] | None) -> int:
    """A successful write of a new item (None: a failed conditional write, or an item of unknown size ≤ 1 KB)."""
    if item is None:
        return 1
    units = math.ceil(item_bytes(item) / 1024) or 1
    for keys, projected in _indexes().get(table, []):
        if keys <= set(item):  # the item is in this (sparse) index
            units += math.ceil(item_bytes(item, projected) / 1024) or 1
    return units


def request_units(calls: list[tuple[str, dict[str, Any], dict[str, Any] | None]]) -> tuple[float, float]:
    """(write units, read units) of the DynamoDB calls recorded."""
    writes = reads = 0.0
    for operation, params, parsed in calls:
        parsed = parsed or {}
        failed = "Error" in parsed
        if operation == "PutItem":
            writes += write_units(params["TableName"], None if failed else params["Item"])
        elif operation == "UpdateItem":
            writes += write_units(params["TableName"], None if failed else parsed.get("Attributes"))
        elif operation == "TransactWriteItems":
            writes += 2 * len(params["TransactItems"])  # transactions cost twice; items here are small
        elif operation in ("GetItem", "Query"):
            items = [parsed["Item"]] if parsed.get("Item") else parsed.get("Items", [])
            size = sum(item_bytes(item) for item in items)
            reads += (1.0 if params.get("ConsistentRead") else 0.5) * max(1, math.ceil(size / 4096))
    return writes, reads


# -- measuring ---------------------------------------------------------------------------------------------------


class StdoutBytes:
    """Counts the bytes and lines written to file descriptor 1 (the handlers' loggers hold sys.stdout)."""

    def __enter__(self) -> StdoutBytes:
        sys.stdout.flush()
        self._saved = os.dup(1)
        self._file = tempfile.TemporaryFile()
        os.dup2(self._file.fileno(), 1)
        return self

    def __exit__(self, *exc_info: object) -> None:
        sys.stdout.flush()
        os.dup2(self._saved, 1)
        os.close(self._saved)
        self._file.seek(0)
        text = self._file.read()
        self._file.close()
        self.bytes = len(text)
        self.lines = text.count(b"\n")


def measure(label: str, invoke: Callable[[int], Any], calls: int) -> dict[str, Any]:
    with StdoutBytes():
        invoke(-1)  # warm: the container's first call builds clients, fetches keys, makes the delegation
    CALLS.clear()
    own = []  # per invocation: its time less the time moto took to answer
    with StdoutBytes() as output:
        for index in range(calls):
            AWS_SECONDS.clear()
            started = time.perf_counter()
            invoke(index)
            own.append(time.perf_counter() - started - sum(AWS_SECONDS))
    dynamodb = [call for call in CALLS if not call[0].startswith("kms:")]
    kms = [call for call in CALLS if call[0].startswith("kms:")]
    writes, reads = request_units(dynamodb)
    own_ms = statistics.median(own) * 1000
    modeled_ms = own_ms + (len(dynamodb) * DYNAMODB_CALL_MS + len(kms) * KMS_CALL_MS) / calls
    return {
        "label": label,
        "own_ms": own_ms,
        "modeled_ms": modeled_ms,
        "billed_ms": math.ceil(modeled_ms),
        "kms_calls": len(kms) / calls,
        "wru": writes / calls,
        "rru": reads / calls,
        "dynamodb_calls": Counter(operation for operation, _, _ in dynamodb),
        "log_bytes": (output.bytes + output.lines * LOG_EVENT_OVERHEAD_BYTES) / calls + LAMBDA_PLATFORM_LOG_BYTES,
        "calls": calls,
    }


def _ok(function: str, event: dict[str, Any]) -> dict[str, Any]:
    response: dict[str, Any] = load_handler(function).lambda_handler(event, FakeContext())
    assert response["statusCode"] == 200, response["body"]
    return response


def main(calls: int) -> None:
    for service in ("dynamodb", "kms"):
        botocore.handlers.BUILTIN_HANDLERS.append((f"before-parameter-build.{service}", _params))
        botocore.handlers.BUILTIN_HANDLERS.append((f"before-call.{service}", _started))
        botocore.handlers.BUILTIN_HANDLERS.append((f"after-call.{service}", _after))
    with mock_aws():
        in_process_aws.create_tables_and_key()
        composition.reset()
        with StdoutBytes():
            _ok("run", load_event("run/register_agent.json"))
        rows = []
        run_event, chat_event = load_event("run/run_agent.json"), load_event("chat/chat_completion.json")
        composition.reset()
        tokens: list[str] = []
        rows.append(
            measure(
                "run, now",
                lambda index: tokens.append(json.loads(_ok("run", run_event)["body"])["feedback_token"]),
                calls,
            )
        )
        composition.reset()
        rows.append(measure("chat, now", lambda index: _ok("chat", chat_event), calls))
        composition.reset()

        def vote(index: int) -> Any:
            body = {"feedback_token": tokens[index], "outcome": "positive", "user_id": "user-1", "comment": "Helpful"}
            return _ok("feedback", load_event("feedback/post_feedback.json", body=body))

        rows.append(measure("feedback, first vote", vote, calls))

        # The same runs and completions with the signer from before delegation: a KMS Sign per token.
        config = composition.settings()
        before = functools.cache(
            lambda: KmsTokenSigner(composition.kms(), config.token_key_id, config.token_lifetime_days)
        )
        for label, function, event in (("run", "run", run_event), ("chat", "chat", chat_event)):
            composition.reset()
            before.cache_clear()
            composition.token_signer = before  # type: ignore[assignment]
            rows.append(measure(f"{label}, before", lambda index, f=function, e=event: _ok(f, e), calls))

    print_table(rows)


def _price(name: str) -> float:
    return PRICES[name][0]


def print_table(rows: list[dict[str, Any]]) -> None:
    gb_second = _price("lambda_arm64_gb_second")
    kms_price = _price("kms_asymmetric_per_10k") / 10_000
    scenario = KMS_SCENARIO
    containers_started = scenario["containers"] * scenario["hours"] / scenario["container_life_hours"]
    kms_calls_now = containers_started + scenario["containers"] * scenario["hours"]  # GetPublicKey + Sign
    order = ["run, before", "run, now", "chat, before", "chat, now", "feedback, first vote"]
    rows = sorted(rows, key=lambda row: order.index(row["label"]))
    print(f"Per invocation, {rows[0]['calls']} warm calls each, in-process (moto):")
    print(
        f"{'':<22} {'own ms':>7} {'+AWS ms':>8} {'billed':>7} {'KMS':>5} {'WRU':>5} {'RRU':>5} {'log B':>6}"
        "  DynamoDB calls"
    )
    for row in rows:
        operations = ", ".join(
            f"{count / row['calls']:g} {name}" for name, count in sorted(row["dynamodb_calls"].items())
        )
        print(
            f"{row['label']:<22} {row['own_ms']:>7.2f} {row['modeled_ms'] - row['own_ms']:>8.0f} {row['billed_ms']:>7} "
            f"{row['kms_calls']:>5.3f} {row['wru']:>5.1f} {row['rru']:>5.1f} {row['log_bytes']:>6.0f}  {operations}"
        )
    print("\nUSD per million invocations, us-east-1 list prices (see below):")
    header = f"{'':<30} " + " ".join(f"{row['label'].replace(', first vote', ''):>13}" for row in rows)
    print(header)
    print("-" * len(header))
    totals = [0.0] * len(rows)

    def line(label: str, values: list[float]) -> None:
        for index, value in enumerate(values):
            totals[index] += value
        print(f"{label:<30} " + " ".join(f"{value:>13.2f}" for value in values))

    line("API Gateway (REST)", [_price("api_gateway_per_million")] * len(rows))
    line("Lambda requests", [_price("lambda_requests_per_million")] * len(rows))
    line("Lambda duration", [row["billed_ms"] / 1000 * MEMORY_GB * gb_second * 1_000_000 for row in rows])
    line("DynamoDB writes", [row["wru"] * _price("dynamodb_wru_per_million") for row in rows])
    line("DynamoDB reads", [row["rru"] * _price("dynamodb_rru_per_million") for row in rows])
    line(
        "CloudWatch Logs ingestion",
        [row["log_bytes"] * _price("logs_ingestion_per_gb") * 1e6 / 1024**3 for row in rows],
    )
    kms = []
    for row in rows:
        if row["label"].endswith("before"):
            kms.append(row["kms_calls"] * kms_price * 1_000_000)  # a Sign per run, measured
        elif row["label"].startswith("feedback"):
            kms.append(0.0)  # one GetPublicKey per container start, either design
        else:
            kms.append(kms_calls_now * kms_price * 1_000_000 / scenario["runs"])
    line("KMS", kms)
    print("-" * len(header))
    print(f"{'total':<30} " + " ".join(f"{total:>13.2f}" for total in totals))
    print(
        f"\nKMS now: one GetPublicKey per container start and one Sign per container and hour, whatever the runs."
        f"\nPriced for {scenario['runs']:,} runs in {scenario['hours']} hours on {scenario['containers']} containers,"
        f" each replaced every {scenario['container_life_hours']} h: {kms_calls_now:,.0f} calls."
        f"\n+AWS ms: assumed in-Region latency, {DYNAMODB_CALL_MS} ms per DynamoDB call and {KMS_CALL_MS} ms per"
        f" KMS call; each billed ms costs {MEMORY_GB * gb_second * 1000:.4f} USD per million at 512 MB."
    )
    print("\nPrices (USD, us-east-1), as known to the author from AWS's pricing pages, last read in 2025:")
    for value, what, source in PRICES.values():
        print(f"  {value:<13g} {what} ({source})")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300)
