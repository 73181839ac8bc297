"""Write cost of each kind of vote, measured: DynamoDB write units (WCU) and calls, today's path beside the new one.

Both stores run against AWS's DynamoDB Local (in memory, on 127.0.0.1), each on a FeedbackTable created from its
own template: "today" is the store and template of commit BASELINE (read with `git show`, so this needs the
repository's history), "new" is the working tree's. Every DynamoDB call the store makes is counted through a
botocore event hook that asks for ReturnConsumedCapacity=INDEXES and adds up what DynamoDB Local reports per
table and index. A conditional write whose condition fails reports no capacity, but AWS bills it one WCU
(DynamoDB developer guide, "Conditional writes"): each counts 1 here. Calls are sequential in both stores.

Items are typical: a UUIDv7 run id, a 32-character version id, an e-mail user id, no comment unless the case
says so, the user cap on (1,000). A history of N events means N earlier changes of that entry.
Usage: python bench/write_cost.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import types
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for _path in (str(ROOT), str(ROOT / "layers" / "shared")):
    if _path not in sys.path:
        sys.path.insert(0, _path)

import yaml  # noqa: E402

from agentfeedback.core.errors import DomainError  # noqa: E402
from agentfeedback.feedback import store as new_store  # noqa: E402
from agentfeedback.feedback.history import MAX_EVENTS  # noqa: E402
from agentfeedback.tokens import TokenClaims  # noqa: E402
from local.dynamodb_local import DynamoDBLocal, dynamodb_client  # noqa: E402
from local.template import _CloudFormationLoader, load_template, table_definitions  # noqa: E402

BASELINE = "f58c125"  # the last commit before histories, retraction and projected indexes
CAP = 1000
USER = "user-12345@example.com"
VERSION = "a" * 32


@dataclass
class Cost:
    """What one operation cost: write units, write calls, read units, read calls, and where the units went."""

    write_units: float = 0
    write_calls: int = 0
    read_units: float = 0
    read_calls: int = 0
    refused_writes: int = 0
    where: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        parts = [f"{name} {units:g}" for name, units in self.where.items()]
        if self.refused_writes:
            parts.append(f"{self.refused_writes} refused write{'s' if self.refused_writes > 1 else ''} 1")
        return ", ".join(parts)


WRITES = {"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems"}


class Meter:
    """Counts every DynamoDB call of a boto3 client, with the capacity DynamoDB Local reports for it."""

    def __init__(self, client: Any) -> None:
        self.cost = Cost()
        events = client.meta.events
        events.register("provide-client-params.dynamodb.*", self._ask_for_capacity)
        events.register("after-call.dynamodb.*", self._count)

    @staticmethod
    def _ask_for_capacity(params: dict[str, Any], model: Any, **_: Any) -> None:
        if "ReturnConsumedCapacity" in model.input_shape.members:
            params["ReturnConsumedCapacity"] = "INDEXES"

    def _count(self, http_response: Any, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        write = model.name in WRITES
        consumed = parsed.get("ConsumedCapacity")
        entries = consumed if isinstance(consumed, list) else [consumed] if consumed else []
        if write:
            self.cost.write_calls += 1
        else:
            self.cost.read_calls += 1
        if parsed.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            self.cost.write_units += 1
            self.cost.refused_writes += 1
            return
        for entry in entries:
            if write:
                self.cost.write_units += entry["CapacityUnits"]
            else:
                self.cost.read_units += entry["CapacityUnits"]
            if not write:
                continue
            table = entry.get("Table", {}).get("CapacityUnits", 0)
            self.cost.where["table"] = self.cost.where.get("table", 0) + table
            for index, units in entry.get("GlobalSecondaryIndexes", {}).items():
                self.cost.where[index] = self.cost.where.get(index, 0) + units["CapacityUnits"]

    @contextmanager
    def measuring(self) -> Iterator[Cost]:
        """Counts the calls made inside the block into a Cost of their own."""
        measured = self.cost = Cost()
        try:
            yield measured
        finally:
            self.cost = Cost()  # what runs outside the block is counted nowhere


def baseline_store_class() -> tuple[type, dict[str, Any]]:
    """Today's FeedbackStore and FeedbackTable definition, from commit BASELINE."""

    def show(path: str) -> str:
        done = subprocess.run(
            ["git", "show", f"{BASELINE}:{path}"], cwd=ROOT, capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            sys.exit(f"bench/write_cost.py needs the repository's history (commit {BASELINE}): {done.stderr.strip()}")
        return done.stdout

    module = types.ModuleType("baseline_feedback_store")
    sys.modules[module.__name__] = module  # dataclasses look their module up
    source = show("layers/shared/agentfeedback/feedback/store.py")
    exec(compile(source, f"{BASELINE}:feedback/store.py", "exec"), module.__dict__)  # our own code, a pinned commit
    template = yaml.load(show("template.yaml"), Loader=_CloudFormationLoader)  # a SafeLoader subclass
    return module.FeedbackStore, table_definitions(template)["FeedbackTable"]


def claims() -> TokenClaims:
    run_id = str(uuid.uuid4())
    return TokenClaims(tenant="acme", agent_id="support-bot", run_id=run_id, version_id=VERSION)


Operation = Callable[[Any, TokenClaims], Any]


def vote(outcome: str, comment: str | None = None, user: str | None = USER) -> Operation:
    return lambda store, run: store.save(run, user, outcome, comment)


def retract(store: Any, run: TokenClaims) -> Any:
    return store.retract(run, USER)


def changes_before(changes: int) -> tuple[Operation, Operation]:
    """A first vote and `changes` changes of outcome (a history of changes + 1 events, bounded), then the
    operation measured: one more change of outcome."""

    def prepare(store: Any, run: TokenClaims) -> None:
        for number in range(changes + 1):
            store.save(run, USER, ("positive", "negative")[number % 2], None)

    return prepare, vote(("positive", "negative")[(changes + 1) % 2])


def nothing(store: Any, run: TokenClaims) -> None:
    return None


def retracted(store: Any, run: TokenClaims) -> None:
    store.save(run, USER, "positive", None)
    store.retract(run, USER)


# (case, what happens before, the operation measured, whether today's store can do it)
CASES: list[tuple[str, Operation, Operation, bool]] = [
    ("first vote", nothing, vote("positive"), True),
    ("first vote, anonymous", nothing, vote("positive", user=None), True),
    ("first vote with a comment", nothing, vote("negative", "Too slow"), True),
    ("change of outcome, history of 1", *changes_before(0), True),
    ("change of outcome, history of 10", *changes_before(9), True),
    (f"change of outcome, full history ({MAX_EVENTS})", *changes_before(MAX_EVENTS - 1), True),
    ("change of outcome, 40 changes before", *changes_before(39), True),
    ("change of comment only", vote("positive", "First thought"), vote("positive", "Second thought"), True),
    ("identical repost", vote("positive"), vote("positive"), True),
    ("retraction", vote("positive"), retract, False),
    ("vote after a retraction", retracted, vote("negative"), False),
]
REFUSALS = ["new user refused at the cap (first refusal)", "new user refused at the cap (again)"]


def run_cases(
    meter: Meter, make_store: Callable[[int], Any], supported: Callable[[bool], bool]
) -> dict[str, Cost | None]:
    results: dict[str, Cost | None] = {}
    for case, before, operation, today_too in CASES:
        if not supported(today_too):
            results[case] = None
            continue
        store, run = make_store(CAP), claims()
        before(store, run)
        with meter.measuring() as cost:
            operation(store, run)
        results[case] = cost
    # A run at its cap (1 here): one store, as one warm container, refuses two new users in turn.
    capped, run = make_store(1), claims()
    capped.save(run, "someone-else", "positive", None)
    for number, case in enumerate(REFUSALS):
        with meter.measuring() as cost:
            try:
                capped.save(run, f"newcomer-{number}", "positive", None)
            except DomainError as refused:
                assert refused.code == "user_limit_reached", refused
            else:
                raise AssertionError("a new user was let in past the cap")
        results[case] = cost
    return results


def cell(cost: Cost | None) -> str:
    if cost is None:
        return "—"
    reads = f" + {cost.read_calls} read ({cost.read_units:g} RCU)" if cost.read_calls else ""
    return f"{cost.write_units:g} WCU / {cost.write_calls} call{'s' if cost.write_calls != 1 else ''}{reads}"


def main() -> None:
    baseline_class, baseline_table = baseline_store_class()
    new_table = table_definitions(load_template())["FeedbackTable"]
    with tempfile.TemporaryDirectory() as scratch:
        database = DynamoDBLocal(None, Path(scratch) / "dynamodb.log")
        database.start()
        try:
            client = dynamodb_client(database.endpoint)
            for name, definition in (("FeedbackToday", baseline_table), ("FeedbackNew", new_table)):
                client.create_table(TableName=name, **definition)
            meter = Meter(client)
            today = run_cases(meter, lambda cap: baseline_class(client, "FeedbackToday", cap), lambda today: today)
            new = run_cases(meter, lambda cap: new_store.FeedbackStore(client, "FeedbackNew", cap), lambda _: True)
        finally:
            database.stop()

    def projections(definition: dict[str, Any]) -> str:
        return ", ".join(
            f"{index['IndexName']} {index['Projection']['ProjectionType']}"
            for index in definition["GlobalSecondaryIndexes"]
        )

    print("Write cost per operation on FeedbackTable, DynamoDB Local, ReturnConsumedCapacity=INDEXES")
    print(f"  today: store and template of commit {BASELINE} ({projections(baseline_table)})")
    print(f"  new:   working tree ({projections(new_table)}; history bound {MAX_EVENTS} events)")
    print("  a refused conditional write counts 1 WCU (what AWS bills); reads are not write units\n")
    width = max(len(case) for case in new)
    print(f"{'case':<{width}}  {'today':<34}  {'new':<34}  new: where the write units went")
    print("-" * (width + 110))
    for case, cost in new.items():
        print(f"{case:<{width}}  {cell(today[case]):<34}  {cell(cost):<34}  {cost.summary() if cost else ''}")


if __name__ == "__main__":
    main()
