"""How boto3 clients are made (timeouts, retries). The composition root keeps one of each per container.

Endpoints come from AWS_ENDPOINT_URL_* locally.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_kms import KMSClient

# Short timeouts: a feedback post should fail fast and say why (503 with Retry-After), and that answer must
# come before the function's own timeout (6 s for the feedback function), or API Gateway answers a bare 502.
# Standard mode waits rand(0, 1 s x 2^i) after a throttle, so 3 attempts wait at most 1 + 2 s, and with 1 s
# timeouts a failing call ends within about 4 s. (`max_attempts` would count retries: 4 meant 5 attempts.)
_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 3},
    connect_timeout=1,
    read_timeout=1,
)


def dynamodb_client() -> DynamoDBClient:
    return boto3.client("dynamodb", config=_CONFIG)


def kms_client() -> KMSClient:
    return boto3.client("kms", config=_CONFIG)
