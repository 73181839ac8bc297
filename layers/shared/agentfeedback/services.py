"""The composition root of the authenticated functions: one instance of each service per container."""

from __future__ import annotations

from functools import lru_cache

from agentfeedback import aws_clients
from agentfeedback.agent_registry import AgentRegistry
from agentfeedback.agent_runs import AgentRunner
from agentfeedback.chat_completions import ChatCompletions
from agentfeedback.providers.router import default_router
from agentfeedback.run_recorder import default_recorder, default_run_store
from agentfeedback.settings import get_settings


@lru_cache(maxsize=1)
def agent_registry() -> AgentRegistry:
    return AgentRegistry(aws_clients.dynamodb(), get_settings().agents_table)


@lru_cache(maxsize=1)
def agent_runner() -> AgentRunner:
    return AgentRunner(agent_registry(), default_router().complete, default_recorder(), default_run_store())


@lru_cache(maxsize=1)
def chat_completions() -> ChatCompletions:
    router = default_router()
    return ChatCompletions(router.complete, router.is_known, default_recorder())
