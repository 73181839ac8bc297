"""What the tests share: in-process AWS (moto) with tables built from template.yaml, handlers, events, contexts."""

from __future__ import annotations

import importlib.util
import json
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any

from agentfeedback.core.settings import DEFAULT_STACK_NAME
from agentfeedback.providers.base import Completion, CompletionRequest, StreamEvent, TextDelta
from agentfeedback.tokens import TokenClaims, user_binding
from agentfeedback.tokens.signer import TokenSigner
from agentfeedback.tokens.verifier import TokenVerifier

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Aws:
    kms: Any
    dynamodb: Any
    key_arn: str
    table: str
    stack: str = DEFAULT_STACK_NAME  # what the functions' settings say when STACK_NAME is not set

    def create_token_key(self) -> str:
        return self.kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["Arn"]

    def signer(
        self,
        key_arn: str | None = None,
        lifetime_days: int = 30,
        clock: Callable[[], float] | None = None,
        stack: str | None = None,
    ) -> TokenSigner:
        kwargs = {"clock": clock} if clock else {}
        return TokenSigner(self.kms, key_arn or self.key_arn, lifetime_days, stack or self.stack, **kwargs)

    def verifier(self, *key_arns: str, **options: Any) -> TokenVerifier:
        """The functions' verifier over this key (or these keys: current first, then previous ones)."""
        return TokenVerifier(self.kms, key_arns or [self.key_arn], self.stack, **options)

    def mint(self, run_id: str = "run-1", bound_to: str | None = None, **claims: str) -> str:
        """A token of run_id (tenant acme, agent support-bot, version v1 unless given); `bound_to` binds it to that
        end user, as a run made for them would."""
        values = {"tenant": "acme", "agent_id": "support-bot", "version_id": "v1", **claims}
        binding = user_binding(run_id, bound_to) if bound_to is not None else None
        return self.signer().mint(TokenClaims(run_id=run_id, user_binding=binding, **values))

    def recorded_run(
        self, run_id: str = "run-1", end_user: str | None = None, tenant: str = "acme", agent_id: str = "support-bot"
    ) -> str:
        """Store a run as the run function does (runs.store.RunStore), made for `end_user` if given, and return the
        token runs.recorder.RunRecorder mints for it (bound to that user)."""
        from agentfeedback.runs.recorder import RunRecorder
        from agentfeedback.runs.store import RunRecord, RunStore

        record = RunRecord(
            run_id=run_id,
            tenant=tenant,
            agent_id=agent_id,
            schema_id=1,
            version_id="v1",
            version_properties={"model": "offline"},
            task_input={"question": "Where is my parcel?"},
            task_output={"answer": "On its way."},
            model="offline",
            input_tokens=10,
            output_tokens=5,
            cost_usd=0.0,
            duration_seconds=0.01,
            created_at="2026-11-26T17:00:00.000000Z",
            metadata={"user_id": end_user} if end_user else {},
            end_user=end_user,
        )
        from agentfeedback.runs import recorder

        token = RunRecorder(RunStore(self.dynamodb, "RunsTable", 90), self.signer()).record(record)
        # The run function flushes the recorder's metrics; here nothing does, and Powertools keeps them for the
        # next handler that flushes (Metrics instances share one metric set).
        recorder.metrics.clear_metrics()
        assert token is not None
        return token

    def items(self) -> list[dict[str, Any]]:
        """The feedback entries (keys run_id#user_id), without the per-run user counters (keys run_id)."""
        items = self.dynamodb.scan(TableName=self.table, ConsistentRead=True)["Items"]
        return [item for item in items if "#" in item["pk"]["S"]]

    def user_count(self, run_id: str) -> int:
        item = self.dynamodb.get_item(TableName=self.table, Key={"pk": {"S": run_id}}).get("Item")
        return int(item["user_count"]["N"]) if item else 0


def load_handler(function: str) -> ModuleType:
    """Import functions/<function>/app.py under a unique name (every function has an app.py)."""
    name = f"{function}_app"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "functions" / function / "app.py")
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


class FakeContext:
    function_name = "FeedbackFunction"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:FeedbackFunction"
    aws_request_id = "7c1b2f8e-0d7e-4a51-9d0a-6d5c1a2b3c4d"

    def get_remaining_time_in_millis(self) -> int:
        return 5000


def load_event(
    relative: str,
    body: Any = None,
    query: dict[str, str] | None = None,
    tenant: str | None = None,
    path: dict[str, str] | None = None,
    **headers: str,
) -> dict:
    """A file from events/, with the body, query, caller's tenant or path parameters replaced."""
    event = json.loads((ROOT / "events" / relative).read_text())
    if tenant is not None:
        event["requestContext"]["authorizer"]["tenant"] = tenant
    if path:
        event["pathParameters"] = {**event["pathParameters"], **path}
        event["path"] = event["resource"].format(**event["pathParameters"])
        event["requestContext"]["path"] = "/dev" + event["path"]
    if body is not None:
        event["body"] = body if isinstance(body, str) else json.dumps(body)
    if query is not None:
        event["queryStringParameters"] = query
        event["multiValueQueryStringParameters"] = {k: [v] for k, v in query.items()}
    for name, value in headers.items():
        event["headers"][name] = value
        event["multiValueHeaders"][name] = [value]
    return event


def widget_event(agent: str, tenant: str = "acme", **top: Any) -> dict[str, Any]:
    """The dashboard's call of the User feedback widget (events/feedback_widget/render.json) for one agent, over
    the last hour; `top` adds a button's parameters (e.g. run=...)."""
    event = json.loads((ROOT / "events" / "feedback_widget" / "render.json").read_text())
    now = int(time.time() * 1000)
    params = {"tenant": tenant, "agent": agent, "limit": 20}
    event.update(params, **top)
    context = event["widgetContext"]
    context["params"] = params
    context["timeRange"] = {
        "mode": "relative",
        "start": now - 3_600_000,
        "end": now + 60_000,
        "relativeStart": 3_600_000,
    }
    return event


class PastClock:
    """A settable clock in Unix seconds, for a run container's signer: it starts three hours ago, so that what
    a test mints with it over the next hours is in the past for the verifier (PyJWT checks `iat` and `exp`
    against the real time)."""

    def __init__(self) -> None:
        self.now = float(int(time.time()) - 3 * 3600)

    def __call__(self) -> float:
        return self.now


def emf_metric(output: str, name: str) -> float:
    """The sum of one metric over the EMF documents (Powertools Metrics) printed in `output`."""
    total = 0.0
    for line in output.splitlines():
        try:
            document = json.loads(line)
        except ValueError:
            continue
        if not isinstance(document, dict) or "_aws" not in document:
            continue
        declared = {metric["Name"] for block in document["_aws"]["CloudWatchMetrics"] for metric in block["Metrics"]}
        if name in declared:
            value = document[name]
            total += sum(value) if isinstance(value, list) else value
    return total


def stamp(moment: datetime) -> str:
    """A stored timestamp: ISO 8601 UTC to the microsecond (2026-11-02T09:00:00.000000Z)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def vote(
    store: Any,
    run_id: str,
    user_id: str | None,
    outcome: str,
    at: datetime | str,
    comment: str | None = None,
    version: str = "v1",
    agent: str = "support-bot",
    tenant: str = "acme",
) -> Any:
    """Save a vote straight through a feedback.store.FeedbackStore, as the public function would, at `at`."""
    claims = TokenClaims(tenant=tenant, agent_id=agent, run_id=run_id, version_id=version)
    return store.save(claims, user_id, outcome, comment, now=stamp(at) if isinstance(at, datetime) else at)


class StreamPump:
    """Lambda's event source mappings of template.yaml, run on demand over moto's streams: `pump()` hands every
    stream record written since the last call to the real function's handler, in Lambda's event shape."""

    def __init__(self, dynamodb: Any, invoke: Callable[[str, Any], Any] | None = None) -> None:
        import boto3

        from local.streams import BatchDelivery, StreamReader, event_source_mappings
        from local.template import functions, load_template

        template = load_template()
        specs = functions(template)
        # moto answers on the regional endpoint, not the account-based one botocore derives from a stream ARN.
        streams = boto3.client("dynamodbstreams", endpoint_url="https://streams.dynamodb.us-east-1.amazonaws.com")

        def handler(function_id: str, event: Any) -> Any:
            return load_handler(specs[function_id].code_dir.name).lambda_handler(event, FakeContext())

        self.lanes = []
        for mapping in event_source_mappings(template):
            arn = dynamodb.describe_table(TableName=mapping.table_id)["Table"]["LatestStreamArn"]
            reader = StreamReader(streams, arn, mapping.starting_position)
            self.lanes.append((reader, BatchDelivery(mapping, invoke or handler, arn, sleep=lambda _: None)))

    def pump(self) -> int:
        """Deliver every pending record; how many were delivered."""
        from local.streams import deliver_pending

        return sum(deliver_pending(reader, delivery) for reader, delivery in self.lanes)

    @property
    def failures(self) -> list[dict[str, Any]]:
        return [failure for _, delivery in self.lanes for failure in delivery.failures]


class ScriptedModel:
    """A model stream for the services (providers.base.Stream): the pieces as TextDeltas, then the Completion (40
    input and 12 output tokens); `fail` is raised after the pieces instead. Records each request and event."""

    def __init__(self, pieces: list[str], fail: Exception | None = None) -> None:
        self.pieces = pieces
        self.fail = fail
        self.requests: list[CompletionRequest] = []
        self.yielded: list[StreamEvent] = []

    def __call__(self, request: CompletionRequest) -> Iterator[StreamEvent]:
        self.requests.append(request)
        return self._events()

    def _events(self) -> Iterator[StreamEvent]:
        for piece in self.pieces:
            self.yielded.append(TextDelta(piece))
            yield self.yielded[-1]
        if self.fail is not None:
            raise self.fail
        self.yielded.append(Completion("".join(self.pieces), 40, 12, "scripted"))
        yield self.yielded[-1]

    @property
    def finished(self) -> bool:
        return any(isinstance(event, Completion) for event in self.yielded)
