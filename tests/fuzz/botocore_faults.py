"""Fault injection into boto3 clients through botocore's `before-send` event.

`before-send` fires once per HTTP attempt, inside botocore's retry loop: an error answered (or raised) there
goes through the client's real retry policy (standard mode, its backoff and its retry quota), exactly as a
throttled or failing AWS endpoint would. Registered first, the fault also pre-empts moto's in-process
stubber, which answers from the same event.
"""

from __future__ import annotations

import io
import json
import time
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import botocore.endpoint
from botocore.awsrequest import AWSResponse
from botocore.exceptions import EndpointConnectionError

_JSON_CONTENT_TYPES = {"dynamodb": "application/x-amz-json-1.0", "kms": "application/x-amz-json-1.1"}


class _Raw(io.BytesIO):
    def stream(self, **kwargs: Any) -> Iterator[bytes]:
        yield self.getvalue()


class Fault:
    """Fails the first `failures` attempts of one operation (None: every attempt), then lets calls through.

    Either answers an AWS error (`code`, HTTP `status`) or raises `exception(request)` (e.g. a refused
    connection). `match(request)` narrows it to some requests (e.g. one key); `attempts` counts every
    matching attempt, failed or not.
    """

    def __init__(
        self,
        client: Any,
        operation: str,
        *,
        code: str | None = None,
        status: int = 400,
        exception: Callable[[Any], BaseException] | None = None,
        failures: int | None = None,
        match: Callable[[Any], bool] | None = None,
    ) -> None:
        if (code is None) == (exception is None):
            raise ValueError("give either an error code or an exception")
        self.client = client
        self.service = client.meta.service_model.service_id.hyphenize()
        self.event = f"before-send.{self.service}.{operation}"
        self.code = code
        self.status = status
        self.exception = exception
        self.failures = failures
        self.match = match
        self.attempts = 0
        self.failed = 0

    def __call__(self, request: Any, **kwargs: Any) -> AWSResponse | None:
        if self.match is not None and not self.match(request):
            return None
        self.attempts += 1
        if self.failures is not None and self.failed >= self.failures:
            return None
        self.failed += 1
        if self.exception is not None:
            raise self.exception(request)
        body = json.dumps({"__type": self.code, "message": f"injected {self.code}"}).encode()
        headers = {
            "Content-Type": _JSON_CONTENT_TYPES.get(self.service, "application/json"),
            "x-amzn-RequestId": "fault",
        }
        return AWSResponse(request.url, self.status, headers, _Raw(body))

    def __enter__(self) -> Fault:
        self.client.meta.events.register_first(self.event, self, unique_id=f"fault-{id(self)}")
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.client.meta.events.unregister(self.event, unique_id=f"fault-{id(self)}")


def connection_refused(request: Any) -> BaseException:
    return EndpointConnectionError(endpoint_url=request.url)


def request_key(request: Any) -> str:
    """The `pk` of a DynamoDB request (JSON protocol): its Key's, or its Item's (PutItem); "" when it has none."""
    body = json.loads(request.body.decode() if isinstance(request.body, bytes) else request.body or "{}")
    return str((body.get("Key") or body.get("Item") or {}).get("pk", {}).get("S", ""))


def feedback_entry(request: Any) -> bool:
    """The write or read of a (run, user) entry, keyed `run_id#user_id` (not the run's user counter)."""
    return "#" in request_key(request)


def user_counter(request: Any) -> bool:
    """The write of a run's distinct-user counter, keyed by the bare run id."""
    return request_key(request) != "" and "#" not in request_key(request)


@contextmanager
def recorded_backoff(real_sleep: bool = False) -> Iterator[list[float]]:
    """The delays botocore's retry loop sleeps between attempts; not slept unless `real_sleep`."""
    delays: list[float] = []

    def sleep(seconds: float) -> None:
        delays.append(seconds)
        if real_sleep:
            time.sleep(seconds)

    original = botocore.endpoint.time
    botocore.endpoint.time = types.SimpleNamespace(sleep=sleep, time=time.time, monotonic=time.monotonic)  # type: ignore[attr-defined]
    try:
        yield delays
    finally:
        botocore.endpoint.time = original  # type: ignore[attr-defined]
