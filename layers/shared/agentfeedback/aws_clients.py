"""boto3 clients, created once per container. Endpoints come from AWS_ENDPOINT_URL_* locally."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_kms import KMSClient

# Short timeouts: API Gateway gives up after 29 s, and a feedback post should fail fast and say why.
_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 4},
    connect_timeout=2,
    read_timeout=5,
)


@lru_cache(maxsize=1)
def dynamodb() -> DynamoDBClient:
    return boto3.client("dynamodb", config=_CONFIG)


@lru_cache(maxsize=1)
def kms() -> KMSClient:
    return boto3.client("kms", config=_CONFIG)
