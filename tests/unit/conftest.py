"""Fixtures of the unit tests: in-process AWS (moto) with the tables built from template.yaml's own key schema."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from agentfeedback import composition
from local.template import table_definitions
from tests.helpers import Aws, FakeContext, StreamPump, load_handler


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    with mock_aws():
        kms = boto3.client("kms")
        dynamodb = boto3.client("dynamodb")
        for table_name, definition in table_definitions().items():
            dynamodb.create_table(TableName=table_name, **definition)
        key_arn = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["Arn"]
        monkeypatch.setenv("TOKEN_KEY_ID", key_arn)
        monkeypatch.setenv("FEEDBACK_TABLE", "FeedbackTable")
        composition.reset()
        yield Aws(kms=kms, dynamodb=dynamodb, key_arn=key_arn, table="FeedbackTable")
    composition.reset()


@pytest.fixture
def invoke() -> Callable[..., tuple[int, dict[str, str], Any]]:
    """Call a function's real lambda_handler with a file from events/; return (status, headers, json body)."""

    def call(function: str, event: dict) -> tuple[int, dict[str, str], Any]:
        response = load_handler(function).lambda_handler(event, FakeContext())
        body = json.loads(response["body"]) if response.get("body") else None
        headers = {name: values[-1] for name, values in (response.get("multiValueHeaders") or {}).items()}
        return response["statusCode"], headers | (response.get("headers") or {}), body

    return call


@pytest.fixture
def streams(aws: Aws) -> StreamPump:
    """The template's event source mappings over moto's streams: `streams.pump()` hands the records written so far
    to the aggregator, as Lambda does a moment after each write (summaries and comparisons read aggregates)."""
    return StreamPump(aws.dynamodb)
