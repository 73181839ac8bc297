"""What the in-process benchmarks share: the project on sys.path and an offline AWS environment (moto)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def prepare(log_level: str = "ERROR") -> None:
    """Call before importing the project: nothing may reach a real AWS account."""
    sys.path[:0] = [str(ROOT / "layers" / "shared"), str(ROOT)]
    os.environ.update(
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        POWERTOOLS_TRACE_DISABLED="true",
        POWERTOOLS_LOG_LEVEL=log_level,
        POWERTOOLS_METRICS_NAMESPACE="AgentFeedbackBench",
        POWERTOOLS_SERVICE_NAME="agent-feedback",
        FEEDBACK_TABLE="FeedbackTable",
        RUNS_TABLE="RunsTable",
        AGENTS_TABLE="AgentsTable",
        API_KEYS_TABLE="ApiKeysTable",
        AGGREGATES_TABLE="AggregatesTable",
        ALLOWED_ORIGINS="*",
    )


def create_tables_and_key() -> str:
    """Inside mock_aws: the template's tables and a token key; returns the key ARN (also set as TOKEN_KEY_ID)."""
    import boto3

    from local.template import table_definitions

    dynamodb = boto3.client("dynamodb")
    for name, definition in table_definitions().items():
        dynamodb.create_table(TableName=name, **definition)
    key = boto3.client("kms").create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["Arn"]
    os.environ["TOKEN_KEY_ID"] = key
    return str(key)
