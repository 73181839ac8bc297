"""Lambda's DynamoDB event source mappings, on this machine.

Each `AWS::Lambda::EventSourceMapping` of template.yaml reads its table's stream through DynamoDB Local's own
Streams API (DescribeStream, GetShardIterator, GetRecords) and hands the records to the real function in
Lambda's event shape, with Lambda's rules: batches of at most BatchSize records of one shard, in order, a shard
polled four times a second; a partial batch response (ReportBatchItemFailures) retries from the first record
named; a function error halves the batch (BisectBatchOnFunctionError) down to the failing record; after
MaximumRetryAttempts a description of the batch goes to the on-failure destination (here: `failures`, and
the log). Checkpoints can be kept in a file, so a restarted `make local` goes on where it stopped.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from local.lambda_runtime import FunctionError, FunctionTimeout
from local.template import TemplateError, resources_of_type

logger = logging.getLogger(__name__)

# Lambda polls each shard of a DynamoDB stream four times a second.
POLL_SECONDS = 0.25
# MaximumRetryAttempts -1 means "until the record expires" (24 hours); locally, this many.
UNLIMITED_RETRIES = 10_000
_QUICK = Config(connect_timeout=1, read_timeout=5, retries={"max_attempts": 2, "mode": "standard"})

Invoke = Callable[[str, Any], Any]


@dataclass(frozen=True)
class EventSourceMapping:
    """What the local stack emulates of an AWS::Lambda::EventSourceMapping on a DynamoDB stream."""

    logical_id: str
    function_id: str
    table_id: str
    batch_size: int = 100
    starting_position: str = "TRIM_HORIZON"
    report_item_failures: bool = False
    bisect_on_error: bool = False
    max_retries: int = UNLIMITED_RETRIES
    on_failure: str | None = None  # the destination's logical id


def _logical_id(expression: Any, intrinsic: str, what: str) -> str:
    value = expression.get(intrinsic) if isinstance(expression, dict) else None
    if intrinsic == "Fn::GetAtt" and isinstance(value, list) and value[1:] == ["StreamArn"]:
        return str(value[0])
    if intrinsic == "Ref" and isinstance(value, str):
        return value
    raise TemplateError(
        f"{what}: the local stack reads a table's stream from !GetAtt Table.StreamArn and a function from !Ref"
    )


def event_source_mappings(template: Mapping[str, Any]) -> list[EventSourceMapping]:
    """The template's event source mappings; TemplateError for one the local stack cannot emulate."""
    mappings = []
    for logical_id, properties in resources_of_type(template, "AWS::Lambda::EventSourceMapping").items():
        retries = int(properties.get("MaximumRetryAttempts", -1))
        destination = ((properties.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
        mappings.append(
            EventSourceMapping(
                logical_id=logical_id,
                function_id=_logical_id(properties.get("FunctionName"), "Ref", logical_id),
                table_id=_logical_id(properties.get("EventSourceArn"), "Fn::GetAtt", logical_id),
                batch_size=int(properties.get("BatchSize", 100)),
                starting_position=str(properties.get("StartingPosition", "TRIM_HORIZON")),
                report_item_failures="ReportBatchItemFailures" in (properties.get("FunctionResponseTypes") or []),
                bisect_on_error=bool(properties.get("BisectBatchOnFunctionError", False)),
                max_retries=UNLIMITED_RETRIES if retries < 0 else retries,
                on_failure=destination["Fn::GetAtt"][0] if isinstance(destination, dict) else destination,
            )
        )
    return mappings


def streams_client(endpoint: str, region: str = "us-east-1") -> Any:
    return boto3.client(
        "dynamodbstreams",
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=_QUICK,
    )


def lambda_record(record: Mapping[str, Any], stream_arn: str, region: str) -> dict[str, Any]:
    """A Streams API record as a Lambda event carries it: the stream's ARN added, the time in epoch seconds."""
    dynamodb = dict(record["dynamodb"])
    moment = dynamodb.get("ApproximateCreationDateTime")
    if isinstance(moment, datetime):
        dynamodb["ApproximateCreationDateTime"] = int(moment.timestamp())
    return {**record, "awsRegion": region, "dynamodb": dynamodb, "eventSourceARN": stream_arn}


@dataclass
class _Shard:
    shard_id: str
    parent_id: str | None
    iterator: str | None = None
    done: bool = False  # closed, and read to its end


class StreamReader:
    """Reads one stream's shards in order (a parent before its children), from a checkpoint per shard."""

    def __init__(
        self,
        client: Any,
        stream_arn: str,
        starting_position: str = "TRIM_HORIZON",
        checkpoints: Mapping[str, str] | None = None,
    ) -> None:
        self._client = client
        self.stream_arn = stream_arn
        self._starting_position = starting_position
        # The last sequence number delivered, per shard.
        self.checkpoints: dict[str, str] = dict(checkpoints or {})
        self._shards: dict[str, _Shard] = {}
        self._discovered = 0.0

    def reset(self) -> None:
        """Forget iterators (after an error): the next read starts again from the checkpoints."""
        self._shards = {}
        self._discovered = 0.0

    def _discover(self) -> None:
        description = self._client.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]
        for shard in description.get("Shards", []):
            if shard["ShardId"] not in self._shards:
                self._shards[shard["ShardId"]] = _Shard(shard["ShardId"], shard.get("ParentShardId"))
        self._discovered = time.monotonic()

    def _iterator(self, shard: _Shard) -> str:
        request: dict[str, Any] = {"StreamArn": self.stream_arn, "ShardId": shard.shard_id}
        checkpoint = self.checkpoints.get(shard.shard_id)
        if checkpoint is not None:
            request |= {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": checkpoint}
        elif shard.parent_id is not None and shard.parent_id in self._shards:
            request["ShardIteratorType"] = "TRIM_HORIZON"  # a child shard is read from its start
        else:
            request["ShardIteratorType"] = self._starting_position
        return str(self._client.get_shard_iterator(**request)["ShardIterator"])

    def next_batch(self, limit: int) -> list[dict[str, Any]]:
        """The next records of the first shard that has some (at most `limit`); [] when nothing is new."""
        if not self._shards or time.monotonic() - self._discovered > 5:
            self._discover()
        for shard in list(self._shards.values()):
            parent = self._shards.get(shard.parent_id or "")
            if shard.done or (parent is not None and not parent.done):
                continue
            if shard.iterator is None:
                shard.iterator = self._iterator(shard)
            response = self._client.get_records(ShardIterator=shard.iterator, Limit=limit)
            shard.iterator = response.get("NextShardIterator")
            shard.done = shard.iterator is None
            if response["Records"]:
                return [{**record, "_shard_id": shard.shard_id} for record in response["Records"]]
        return []

    def commit(self, records: Sequence[Mapping[str, Any]]) -> None:
        """Mark records as delivered (the next read after a reset starts after them)."""
        for record in records:
            self.checkpoints[record["_shard_id"]] = record["dynamodb"]["SequenceNumber"]


@dataclass
class BatchDelivery:
    """Hands one shard's batch to a function as Lambda's event source mapping would, retries included."""

    mapping: EventSourceMapping
    invoke: Invoke
    stream_arn: str
    region: str = "us-east-1"
    sleep: Callable[[float], None] = time.sleep
    failures: list[dict[str, Any]] = field(default_factory=list)

    def deliver(self, records: Sequence[Mapping[str, Any]]) -> None:
        pending = list(records)
        attempts = 0
        while pending:
            event = {
                "Records": [
                    lambda_record(self._without_shard(record), self.stream_arn, self.region) for record in pending
                ]
            }
            try:
                response = self.invoke(self.mapping.function_id, event)
            except (FunctionError, FunctionTimeout) as exc:
                logger.warning(
                    "%s: %s failed on %d records: %s",
                    self.mapping.logical_id,
                    self.mapping.function_id,
                    len(pending),
                    exc,
                )
                if self.mapping.bisect_on_error and len(pending) > 1:
                    # Halves are retried on their own (bisecting does not count as a retry).
                    half = len(pending) // 2
                    self.deliver(pending[:half])
                    self.deliver(pending[half:])
                    return
                failed_at: int | None = 0
            else:
                failed_at = self._first_failed(response, pending)
            if failed_at is None:
                return
            attempts += 1
            pending = pending[failed_at:]
            if attempts > self.mapping.max_retries:
                self._give_up(pending)
                return
            self.sleep(min(1.0, 0.05 * 2 ** min(attempts, 5)))

    def _first_failed(self, response: Any, records: Sequence[Mapping[str, Any]]) -> int | None:
        """Where a partial batch response asks to resume; None when the whole batch succeeded."""
        if not self.mapping.report_item_failures or not isinstance(response, dict):
            return None
        named = {str(failure.get("itemIdentifier")) for failure in response.get("batchItemFailures") or []}
        if not named:
            return None
        positions = [index for index, record in enumerate(records) if record["dynamodb"]["SequenceNumber"] in named]
        # An identifier that names no record of the batch (or is empty) fails the whole batch, as in Lambda.
        return min(positions) if len(positions) == len(named) else 0

    def _give_up(self, records: Sequence[Mapping[str, Any]]) -> None:
        """What Lambda sends to the on-failure destination: a description of the batch, not its records."""
        info = {
            "shardId": records[0].get("_shard_id"),
            "startSequenceNumber": records[0]["dynamodb"]["SequenceNumber"],
            "endSequenceNumber": records[-1]["dynamodb"]["SequenceNumber"],
            "batchSize": len(records),
            "streamArn": self.stream_arn,
        }
        self.failures.append(
            {"mapping": self.mapping.logical_id, "destination": self.mapping.on_failure, "DDBStreamBatchInfo": info}
        )
        logger.error(
            "%s: records sent to the on-failure destination %s: %s",
            self.mapping.logical_id,
            self.mapping.on_failure,
            info,
        )

    @staticmethod
    def _without_shard(record: Mapping[str, Any]) -> dict[str, Any]:
        return {name: value for name, value in record.items() if name != "_shard_id"}


def deliver_pending(reader: StreamReader, delivery: BatchDelivery) -> int:
    """Read and deliver every record the stream has now; how many were delivered (for tests and benchmarks)."""
    delivered = 0
    while batch := reader.next_batch(delivery.mapping.batch_size):
        delivery.deliver(batch)
        reader.commit(batch)
        delivered += len(batch)
    return delivered


class StreamPoller:
    """A thread that runs every event source mapping of the template against DynamoDB Local."""

    def __init__(
        self,
        mappings: Sequence[EventSourceMapping],
        stream_arns: Mapping[str, str],
        invoke: Invoke,
        client: Any,
        region: str = "us-east-1",
        checkpoint_file: Path | None = None,
    ) -> None:
        self._checkpoint_file = checkpoint_file
        kept = self._read_checkpoints()
        self._lanes: list[tuple[StreamReader, BatchDelivery]] = []
        for mapping in mappings:
            arn = stream_arns[mapping.table_id]
            saved = kept.get(mapping.logical_id, {})
            checkpoints = saved.get("shards", {}) if saved.get("stream_arn") == arn else {}
            reader = StreamReader(client, arn, mapping.starting_position, checkpoints)
            self._lanes.append((reader, BatchDelivery(mapping, invoke, arn, region)))
        self._stop = threading.Event()
        self._changed = threading.Condition()
        self._passes = 0  # passes over every mapping completed
        self._last_idle_pass = -1  # the latest completed pass that found nothing to deliver
        self._thread = threading.Thread(target=self._run, name="stream-poller", daemon=True)

    @property
    def failures(self) -> list[dict[str, Any]]:
        """What went to on-failure destinations so far."""
        return [failure for _, delivery in self._lanes for failure in delivery.failures]

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(30)

    def drain(self, timeout_seconds: float = 30) -> None:
        """Wait until a whole pass that started after this call found nothing left to deliver.

        TimeoutError when the streams are still busy after `timeout_seconds`.
        """
        with self._changed:
            # The pass under way may have read a stream before the last write: the one after it starts later.
            target = self._passes + 2
            if not self._changed.wait_for(lambda: self._last_idle_pass >= target, timeout_seconds):
                raise TimeoutError(f"the streams were still being delivered after {timeout_seconds} s")

    def _run(self) -> None:
        while not self._stop.is_set():
            delivered = False
            for reader, delivery in self._lanes:
                try:
                    batch = reader.next_batch(delivery.mapping.batch_size)
                except (BotoCoreError, ClientError) as exc:
                    # DynamoDB Local restarting, an expired iterator: read again from the checkpoints.
                    logger.debug("%s: reading the stream failed: %s", delivery.mapping.logical_id, exc)
                    reader.reset()
                    self._stop.wait(1)
                    continue
                if batch:
                    delivery.deliver(batch)
                    reader.commit(batch)
                    delivered = True
            if delivered:
                self._write_checkpoints()
            with self._changed:
                self._passes += 1
                if not delivered:
                    self._last_idle_pass = self._passes
                self._changed.notify_all()
            if not delivered:
                self._stop.wait(POLL_SECONDS)

    def _read_checkpoints(self) -> dict[str, Any]:
        if self._checkpoint_file is None:
            return {}
        with contextlib.suppress(OSError, ValueError):
            kept = json.loads(self._checkpoint_file.read_text(encoding="utf-8"))
            return kept if isinstance(kept, dict) else {}
        return {}

    def _write_checkpoints(self) -> None:
        if self._checkpoint_file is None:
            return
        state = {
            delivery.mapping.logical_id: {"stream_arn": reader.stream_arn, "shards": reader.checkpoints}
            for reader, delivery in self._lanes
        }
        partial = self._checkpoint_file.with_suffix(".tmp")
        partial.write_text(json.dumps(state, indent=2), encoding="utf-8")
        partial.replace(self._checkpoint_file)
