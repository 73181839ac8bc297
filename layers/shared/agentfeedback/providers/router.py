"""Which provider serves which model id, and one `complete()` and one `stream()` for all of them.

Model ids are what callers write in a version's `model` (WorkflowAI SDK ids such as
`gpt-4o-mini-latest` included) or in a chat completion's `model`:

- `offline`: the built-in deterministic model, always available.
- OpenAI ids (`gpt-4o-mini`, `gpt-4.1-mini`, `gpt-4o`, ...) and `openai/<any-model-id>`: the
  OpenAI-compatible provider, once OPENAI_API_KEY or OPENAI_API_KEY_SECRET_ARN is set.
- Bedrock ids (`claude-3-5-haiku`, `amazon.nova-micro-v1:0`, ...) and `bedrock/<any-model-id>`:
  Amazon Bedrock, once BEDROCK_ENABLED=true.

`available_models()` lists only what this deployment can serve right now, so the list a caller is
shown is a list they can use. A model we know whose provider is not configured fails with
`model_not_configured` (400, naming what to set), an id we do not know with `unknown_model` (400):
both are the caller's to fix by choosing another model, and both list the available ones.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

from agentfeedback.core.errors import ModelNotConfigured, ProviderError, UnknownModel
from agentfeedback.providers.base import Completion, CompletionRequest, Provider, StreamEvent
from agentfeedback.providers.settings import ProviderSettings

OFFLINE: Final = "offline"
OPENAI: Final = "openai_compatible"
BEDROCK: Final = "bedrock"

# What to set to enable each provider, for the model_not_configured message.
_HOW_TO_ENABLE = {
    OPENAI: "set OPENAI_API_KEY or OPENAI_API_KEY_SECRET_ARN",
    BEDROCK: "set BEDROCK_ENABLED=true",
}
_DISPLAY_NAMES = {OFFLINE: "offline", OPENAI: "OpenAI-compatible", BEDROCK: "Amazon Bedrock"}
# Any model of a provider, written `<prefix><provider's own model id>`.
PASSTHROUGH_PREFIXES = {"openai/": OPENAI, "bedrock/": BEDROCK}


@dataclass(frozen=True)
class Route:
    provider: str
    provider_model: str
    listed: bool = True  # aliases resolve but are not listed, to keep the list short


def _aliases(provider: str, provider_model: str, *names: str) -> dict[str, Route]:
    return {name: Route(provider, provider_model, listed=False) for name in names}


ROUTES: dict[str, Route] = {
    "offline": Route(OFFLINE, "offline"),
    "gpt-4o-mini": Route(OPENAI, "gpt-4o-mini"),
    "gpt-4o": Route(OPENAI, "gpt-4o"),
    "gpt-4.1": Route(OPENAI, "gpt-4.1"),
    "gpt-4.1-mini": Route(OPENAI, "gpt-4.1-mini"),
    "gpt-4.1-nano": Route(OPENAI, "gpt-4.1-nano"),
    # Bedrock: Claude 3.5 Haiku runs on demand only through a cross-region inference profile.
    "claude-3-5-haiku": Route(BEDROCK, "us.anthropic.claude-3-5-haiku-20241022-v1:0"),
    "claude-3-haiku": Route(BEDROCK, "anthropic.claude-3-haiku-20240307-v1:0"),
    "amazon.nova-micro-v1:0": Route(BEDROCK, "amazon.nova-micro-v1:0"),
    "amazon.nova-lite-v1:0": Route(BEDROCK, "amazon.nova-lite-v1:0"),
    "amazon.nova-pro-v1:0": Route(BEDROCK, "amazon.nova-pro-v1:0"),
    # The ids the WorkflowAI SDKs send, and dated OpenAI snapshots.
    **_aliases(OPENAI, "gpt-4o-mini", "gpt-4o-mini-latest"),
    **_aliases(OPENAI, "gpt-4o-mini-2024-07-18", "gpt-4o-mini-2024-07-18"),
    **_aliases(OPENAI, "gpt-4o", "gpt-4o-latest"),
    **_aliases(OPENAI, "gpt-4o-2024-11-20", "gpt-4o-2024-11-20"),
    **_aliases(OPENAI, "gpt-4.1", "gpt-4.1-latest"),
    **_aliases(OPENAI, "gpt-4.1-2025-04-14", "gpt-4.1-2025-04-14"),
    **_aliases(OPENAI, "gpt-4.1-mini", "gpt-4.1-mini-latest"),
    **_aliases(OPENAI, "gpt-4.1-mini-2025-04-14", "gpt-4.1-mini-2025-04-14"),
    **_aliases(OPENAI, "gpt-4.1-nano", "gpt-4.1-nano-latest"),
    **_aliases(OPENAI, "gpt-4.1-nano-2025-04-14", "gpt-4.1-nano-2025-04-14"),
    **_aliases(BEDROCK, "us.anthropic.claude-3-5-haiku-20241022-v1:0", "claude-3-5-haiku-latest"),
    **_aliases(BEDROCK, "us.anthropic.claude-3-5-haiku-20241022-v1:0", "claude-3-5-haiku-20241022"),
    **_aliases(BEDROCK, "anthropic.claude-3-haiku-20240307-v1:0", "claude-3-haiku-20240307"),
    **_aliases(BEDROCK, "amazon.nova-micro-v1:0", "nova-micro"),
    **_aliases(BEDROCK, "amazon.nova-lite-v1:0", "nova-lite"),
    **_aliases(BEDROCK, "amazon.nova-pro-v1:0", "nova-pro"),
}


def route_of(model: str) -> Route | None:
    """The route of a model id, whatever is configured; None for an id no provider knows."""
    route = ROUTES.get(model)
    if route is not None:
        return route
    for prefix, provider in PASSTHROUGH_PREFIXES.items():
        if model.startswith(prefix) and model[len(prefix) :].strip():
            return Route(provider, model[len(prefix) :], listed=False)
    return None


class ModelRouter:
    def __init__(self, settings: ProviderSettings, providers: dict[str, Provider] | None = None) -> None:
        self._settings = settings
        # Tests hand in providers; otherwise each is built on first use, so boto3 loads only for Bedrock.
        self._providers: dict[str, Provider] = dict(providers or {})
        self._lock = threading.Lock()

    def configured(self, provider: str) -> bool:
        if provider == OPENAI:
            return self._settings.openai_configured
        if provider == BEDROCK:
            return self._settings.bedrock_enabled
        return provider == OFFLINE

    def available_models(self) -> list[str]:
        return [model for model, route in ROUTES.items() if route.listed and self.configured(route.provider)]

    def is_known(self, model: str) -> bool:
        """Whether the id names a model (configured or not): `agent/model` parsing asks this first."""
        return route_of(model) is not None

    def resolve(self, model: str) -> Route:
        route = route_of(model)
        if route is None:
            hint = "".join(
                f" Any {_DISPLAY_NAMES[provider]} model can be written {prefix}<model-id>."
                for prefix, provider in PASSTHROUGH_PREFIXES.items()
                if self.configured(provider)
            )
            raise UnknownModel(model, self.available_models(), hint=hint)
        if not self.configured(route.provider):
            raise ModelNotConfigured(
                model, _DISPLAY_NAMES[route.provider], _HOW_TO_ENABLE[route.provider], self.available_models()
            )
        return route

    def complete(self, request: CompletionRequest) -> Completion:
        route = self.resolve(request.model)
        return self._provider(route.provider).complete(request, route.provider_model)

    def stream(self, request: CompletionRequest) -> Iterator[StreamEvent]:
        """The provider's stream, returned once its first event has arrived.

        Whatever fails before the answer's first piece (an unknown model, a refusal, a timeout, an error the
        provider streams first) raises here, so a caller can still answer it as a plain HTTP error; later
        failures raise from the iterator. Its events: TextDeltas, then one Completion.
        """
        route = self.resolve(request.model)
        events = self._provider(route.provider).stream(request, route.provider_model)
        first = next(events, None)
        if first is None:  # a provider's stream ends with its Completion: this one broke its contract
            raise ProviderError(_DISPLAY_NAMES[route.provider], "its stream ended without an answer.")
        return _resumed(first, events)

    def _provider(self, name: str) -> Provider:
        with self._lock:
            provider = self._providers.get(name)
            if provider is None:
                provider = self._providers[name] = _build(name, self._settings)
            return provider


def _resumed(first: StreamEvent, rest: Iterator[StreamEvent]) -> Iterator[StreamEvent]:
    yield first
    yield from rest  # closing this closes the provider's stream too


def _build(name: str, settings: ProviderSettings) -> Provider:
    if name == OPENAI:
        from agentfeedback.providers.openai_compatible import OpenAICompatibleProvider

        return OpenAICompatibleProvider.from_settings(settings)
    if name == BEDROCK:
        from agentfeedback.providers.bedrock import BedrockProvider

        return BedrockProvider.from_settings(settings)
    from agentfeedback.providers.offline import OfflineModel

    return OfflineModel(chunk_delay_seconds=settings.offline_stream_delay_ms / 1000)
