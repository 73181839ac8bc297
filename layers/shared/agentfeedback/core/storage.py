"""What every DynamoDB store shares: the timestamp format, and how storage failures reach callers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from botocore.exceptions import BotoCoreError, ClientError

from agentfeedback.core.errors import ServiceUnavailable

# Fixed-width ISO-8601 with microseconds sorts lexically in time order (the review indexes rely on it).
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"

# Throttling and server-side faults are retried by botocore (standard mode, with backoff) before
# they reach us; what still fails is answered 503 with Retry-After, never dropped silently.
RETRYABLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "TransactionConflictException",
    }
)


def utc_now() -> str:
    return datetime.now(UTC).strftime(TIMESTAMP_FORMAT)


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def unavailable(exc: Exception) -> ServiceUnavailable | None:
    """The 503 that a retryable AWS failure becomes; None for any other error."""
    if isinstance(exc, ClientError) and error_code(exc) in RETRYABLE_CODES:
        return ServiceUnavailable("Storage is busy right now; nothing was changed; retry shortly.")
    if isinstance(exc, BotoCoreError):
        return ServiceUnavailable("Storage is unreachable right now; nothing was changed; retry shortly.")
    return None


@contextmanager
def storage_errors() -> Iterator[None]:
    try:
        yield
    except (ClientError, BotoCoreError) as exc:
        mapped = unavailable(exc)
        if mapped is None:
            raise
        raise mapped from exc
