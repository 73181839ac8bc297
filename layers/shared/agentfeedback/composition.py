"""The composition root: every long-lived object of a function (settings, AWS clients, stores, services).

Each is built on first use and then kept for the container's life, as Lambda reuses a container across
invocations. Feature modules are imported inside the builders, so a function loads only what its own
routes need: the public feedback function never imports runs, providers or review. `reset()` forgets
everything (tests and benchmarks call it to get a fresh container).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from agentfeedback.core.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_kms import KMSClient

    from agentfeedback.aggregates.recount import Recounter
    from agentfeedback.aggregates.store import AggregateStore
    from agentfeedback.aggregates.stream import StreamAggregator
    from agentfeedback.chat.service import ChatCompletions
    from agentfeedback.feedback.service import FeedbackService
    from agentfeedback.keys.store import ApiKeyStore
    from agentfeedback.mcp.backend import ServiceBackend
    from agentfeedback.mcp.lambda_http import LambdaMcpEndpoint
    from agentfeedback.providers.router import ModelRouter
    from agentfeedback.providers.settings import ProviderSettings
    from agentfeedback.review.improve import ImproveService
    from agentfeedback.review.service import ReviewService
    from agentfeedback.review.store import ReviewStore
    from agentfeedback.runs.recorder import RunRecorder
    from agentfeedback.runs.registry import AgentRegistry
    from agentfeedback.runs.runner import AgentRunner
    from agentfeedback.runs.store import RunStore
    from agentfeedback.tokens.signer import TokenSigner
    from agentfeedback.tokens.verifier import TokenVerifier

T = TypeVar("T")
_BUILT: list[Any] = []


def _once(build: Callable[[], T]) -> Callable[[], T]:
    cached = functools.cache(build)
    _BUILT.append(cached)
    return cached


def reset() -> None:
    """Forget every object built so far; the next call builds it again from the environment."""
    for cached in _BUILT:
        cached.cache_clear()


# -- configuration and clients ------------------------------------------------------------------


@_once
def settings() -> Settings:
    return Settings.from_env()


@_once
def provider_settings() -> ProviderSettings:
    from agentfeedback.providers.settings import ProviderSettings

    return ProviderSettings.from_env()


@_once
def dynamodb() -> DynamoDBClient:
    from agentfeedback.core.aws_clients import dynamodb_client

    return dynamodb_client()


@_once
def kms() -> KMSClient:
    from agentfeedback.core.aws_clients import kms_client

    return kms_client()


# -- tokens -------------------------------------------------------------------------------------


@_once
def token_verifier() -> TokenVerifier:
    from agentfeedback.tokens.verifier import TokenVerifier

    config = settings()
    return TokenVerifier(
        kms(),
        (config.token_key_id, *config.previous_token_key_ids),
        config.stack_name,
        require_expiry=config.token_lifetime_days > 0,
    )


@_once
def token_signer() -> TokenSigner:
    from agentfeedback.tokens.signer import TokenSigner

    config = settings()
    return TokenSigner(kms(), config.token_key_id, config.token_lifetime_days, config.stack_name)


# -- the public feedback function ---------------------------------------------------------------


@_once
def feedback_service() -> FeedbackService:
    from agentfeedback.feedback.service import FeedbackService
    from agentfeedback.feedback.store import FeedbackStore, RunEndUsers

    config = settings()
    store = FeedbackStore(dynamodb(), config.feedback_table, config.max_users_per_run)
    return FeedbackService(token_verifier(), store, RunEndUsers(dynamodb(), config.runs_table))


# -- the authorizer -----------------------------------------------------------------------------


@_once
def api_key_store() -> ApiKeyStore:
    from agentfeedback.keys.store import ApiKeyStore

    return ApiKeyStore(dynamodb(), settings().api_keys_table)


# -- runs and chat completions ------------------------------------------------------------------


@_once
def model_router() -> ModelRouter:
    from agentfeedback.providers.router import ModelRouter

    return ModelRouter(provider_settings())


@_once
def run_store() -> RunStore:
    from agentfeedback.runs.store import RunStore

    return RunStore(dynamodb(), settings().runs_table, settings().run_retention_days)


@_once
def run_recorder() -> RunRecorder:
    from agentfeedback.runs.recorder import RunRecorder

    return RunRecorder(run_store(), token_signer(), agent_registry().note_agent)


@_once
def agent_registry() -> AgentRegistry:
    from agentfeedback.runs.registry import AgentRegistry

    return AgentRegistry(dynamodb(), settings().agents_table)


def run_deadline(invocation_deadline: float) -> float:
    """When a run or chat completion must end (time.monotonic seconds): the invocation's own end, or
    RUN_TIME_LIMIT_SECONDS after now (Settings.run_time_limit_seconds), whichever comes first. Behind the Lambda
    Web Adapter a streaming function's Timeout is a 900 s backstop; the run time limit is what bounds a run."""
    return min(invocation_deadline, time.monotonic() + settings().run_time_limit_seconds)


@_once
def agent_runner() -> AgentRunner:
    from agentfeedback.runs.runner import AgentRunner

    router = model_router()
    return AgentRunner(agent_registry(), router.complete, run_recorder(), run_store(), router.stream)


@_once
def chat_completions() -> ChatCompletions:
    from agentfeedback.chat.service import ChatCompletions

    router = model_router()
    return ChatCompletions(router.complete, router.is_known, run_recorder(), router.stream)


# -- aggregates ---------------------------------------------------------------------------------


@_once
def aggregate_store() -> AggregateStore:
    from agentfeedback.aggregates.store import AggregateStore

    return AggregateStore(dynamodb(), settings().aggregates_table)


@_once
def stream_aggregator() -> StreamAggregator:
    from agentfeedback.aggregates.stream import StreamAggregator

    config = settings()
    return StreamAggregator(aggregate_store(), config.feedback_table, config.runs_table)


@_once
def recounter() -> Recounter:
    from agentfeedback.aggregates.recount import Recounter

    config = settings()
    return Recounter(dynamodb(), config.feedback_table, config.runs_table, aggregate_store())


# -- review -------------------------------------------------------------------------------------


@_once
def review_store() -> ReviewStore:
    from agentfeedback.review.store import ReviewStore

    return ReviewStore(dynamodb(), settings().feedback_table)


@_once
def review_service() -> ReviewService:
    from agentfeedback.review.service import ReviewService

    config = settings()
    return ReviewService(
        review_store(), run_store(), agent_registry(), config.run_retention_days, aggregate_store(), recounter()
    )


@_once
def improve_service() -> ImproveService:
    from agentfeedback.review.improve import ImproveService

    return ImproveService(review_store(), run_store(), agent_registry(), model_router().complete)


# -- the MCP server -----------------------------------------------------------------------------


def mcp_backend(tenant: str) -> ServiceBackend:
    """The review of one tenant, in this process (each MCP request names its tenant through its API key)."""
    from agentfeedback.mcp.backend import ServiceBackend

    return ServiceBackend(review_service(), agent_registry(), tenant)


@_once
def mcp_endpoint() -> LambdaMcpEndpoint:
    from agentfeedback.mcp.lambda_http import LambdaMcpEndpoint

    return LambdaMcpEndpoint(mcp_backend)
