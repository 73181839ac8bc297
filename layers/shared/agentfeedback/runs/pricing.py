"""What a run cost, from list prices in USD per million input and output tokens.

Prices are keyed by the provider's own model id; any id the router accepts (aliases, `bedrock/...`,
`openai/...`), a cross-region inference profile (`us.anthropic...`) or a dated OpenAI snapshot finds
its base model's price. A model with no known price costs 0.0 and logs a warning once per container:
a run must not fail over bookkeeping, and the warning says which price to add. `price_of()` tells a
caller that wants to show "unknown" instead of zero.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass

from agentfeedback.providers.router import route_of

logger = logging.getLogger(__name__)

COST_DECIMALS = 8  # a millionth of a cent: small runs on cheap models still show a non-zero cost


@dataclass(frozen=True)
class Price:
    input_per_million: float
    output_per_million: float


# List prices (on-demand, standard tier, US regions) as published by OpenAI and AWS.
PRICES: dict[str, Price] = {
    "offline": Price(0.0, 0.0),
    "gpt-4o-mini": Price(0.15, 0.60),
    "gpt-4o": Price(2.50, 10.00),
    "gpt-4.1": Price(2.00, 8.00),
    "gpt-4.1-mini": Price(0.40, 1.60),
    "gpt-4.1-nano": Price(0.10, 0.40),
    "amazon.nova-micro-v1:0": Price(0.035, 0.14),
    "amazon.nova-lite-v1:0": Price(0.06, 0.24),
    "amazon.nova-pro-v1:0": Price(0.80, 3.20),
    "anthropic.claude-3-5-haiku-20241022-v1:0": Price(0.80, 4.00),
    "anthropic.claude-3-haiku-20240307-v1:0": Price(0.25, 1.25),
}

# Cross-region inference profiles cost what the model costs in the calling region.
_PROFILE_PREFIX = re.compile(r"^(us|eu|apac|us-gov|ca|jp|au|global)\.")
_SNAPSHOT_SUFFIX = re.compile(r"-\d{4}-\d{2}-\d{2}$")
_warned: set[str] = set()


def _candidates(model: str) -> Iterator[str]:
    yield model
    route = route_of(model)
    if route is not None:
        yield route.provider_model
        model = route.provider_model
    bare = _PROFILE_PREFIX.sub("", model)
    yield bare
    yield _SNAPSHOT_SUFFIX.sub("", bare)


def price_of(model: str) -> Price | None:
    return next((PRICES[name] for name in _candidates(model) if name in PRICES), None)


def cost_usd(model: str, input_tokens: int, output_tokens: int) -> float:
    if input_tokens < 0 or output_tokens < 0:
        raise ValueError("token counts cannot be negative")
    price = price_of(model)
    if price is None:
        if model not in _warned:
            _warned.add(model)
            logger.warning("no price for model %r: its runs are recorded at cost 0.0; add it to pricing.PRICES", model)
        return 0.0
    cost = (input_tokens * price.input_per_million + output_tokens * price.output_per_million) / 1_000_000
    return round(cost, COST_DECIMALS)
