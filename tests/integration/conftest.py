"""One local stack (DynamoDB Local + moto KMS + the gateway) for the integration tests, on free ports.

Package-scoped (this folder is a package): the stack stops, and os.environ is restored, as soon as the
integration tests are done, before any unit test runs in the same session.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from agentfeedback.core.settings import Settings
from agentfeedback.keys.store import ApiKeyStore
from agentfeedback.tokens import TokenClaims
from agentfeedback.tokens.signer import TokenSigner
from local.stack import LocalStack


@pytest.fixture(scope="package")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    # -dbPath on a temporary folder rather than -inMemory, so that a test can restart DynamoDB Local.
    with LocalStack(port=0, persist_dir=tmp_path_factory.mktemp("local-stack")) as running:
        yield running


@pytest.fixture(scope="package")
def settings(stack: LocalStack) -> Settings:
    """The functions' settings, as template.yaml and the stack set them."""
    return Settings.from_env(stack.environment)


@pytest.fixture(scope="package")
def mint_token(stack: LocalStack, settings: Settings) -> Callable[..., str]:
    """mint_token(tenant=..., agent_id=..., run_id=..., version_id=...) -> a token signed by the stack's key."""
    signer = TokenSigner(stack.kms_client(), settings.token_key_id, settings.token_lifetime_days, settings.stack_name)

    def mint(
        tenant: str = "acme", agent_id: str = "support-bot", run_id: str | None = None, version_id: str = "1"
    ) -> str:
        run_id = run_id or f"run-{uuid.uuid4().hex[:12]}"
        return signer.mint(TokenClaims(tenant=tenant, agent_id=agent_id, run_id=run_id, version_id=version_id))

    return mint


@pytest.fixture
def api_key(stack: LocalStack, settings: Settings) -> str:
    """A fresh API key of tenant acme, for the routes behind the API-key authorizer."""
    key, _ = ApiKeyStore(stack.dynamodb_client(), settings.api_keys_table).create("acme", "integration tests")
    return key


@pytest.fixture
def feedback_items(stack: LocalStack, settings: Settings) -> Callable[[str], list[dict[str, Any]]]:
    """feedback_items(run_id) -> the raw DynamoDB Local items of that run."""

    def items(run_id: str) -> list[dict[str, Any]]:
        response = stack.dynamodb_client().scan(
            TableName=settings.feedback_table,
            ConsistentRead=True,
            FilterExpression="run_id = :run",
            ExpressionAttributeValues={":run": {"S": run_id}},
        )
        return response["Items"]

    return items
