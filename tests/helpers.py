"""What the tests share: in-process AWS (moto) with tables built from template.yaml, handlers, events, contexts."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from agentfeedback.tokens import TokenClaims, TokenSigner

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Aws:
    kms: Any
    dynamodb: Any
    key_arn: str
    table: str

    def create_token_key(self) -> str:
        return self.kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["Arn"]

    def signer(self, key_arn: str | None = None, lifetime_days: int = 30, clock: Callable[[], float] | None = None):
        kwargs = {"clock": clock} if clock else {}
        return TokenSigner(self.kms, key_arn or self.key_arn, lifetime_days, **kwargs)

    def mint(self, run_id: str = "run-1", **claims: str) -> str:
        values = {"tenant": "acme", "agent_id": "support-bot", "version_id": "v1", **claims}
        return self.signer().mint(TokenClaims(run_id=run_id, **values))

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
