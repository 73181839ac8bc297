"""Run costs from list prices per million tokens."""

from __future__ import annotations

import logging

import pytest

from agentfeedback.providers.router import ROUTES
from agentfeedback.runs import pricing
from agentfeedback.runs.pricing import Price, cost_usd, price_of


@pytest.mark.parametrize(
    ("model", "input_tokens", "output_tokens", "expected"),
    [
        ("gpt-4o-mini", 1_000_000, 1_000_000, 0.75),
        ("gpt-4o-mini", 1_000, 500, 0.00045),
        ("gpt-4o", 1_000, 500, 0.0075),
        ("gpt-4.1-mini", 2_000, 1_000, 0.0024),
        ("amazon.nova-micro-v1:0", 1_000, 1_000, 0.000175),
        ("claude-3-5-haiku", 1_000, 1_000, 0.0048),
        ("offline", 123_456, 7_890, 0.0),
    ],
)
def test_cost_is_list_price_per_million_tokens(
    model: str, input_tokens: int, output_tokens: int, expected: float
) -> None:
    assert cost_usd(model, input_tokens, output_tokens) == pytest.approx(expected, abs=1e-12)


def test_small_runs_keep_a_non_zero_cost_rounded_to_eight_decimals() -> None:
    assert cost_usd("amazon.nova-micro-v1:0", 1, 0) == 0.00000004  # 0.035 / 1M = 3.5e-8, rounded half to even
    assert cost_usd("gpt-4o-mini", 7, 3) == 0.00000285
    assert cost_usd("gpt-4o-mini", 0, 0) == 0.0


@pytest.mark.parametrize(
    "spelling",
    [
        "gpt-4o-mini-latest",  # WorkflowAI SDK id
        "gpt-4o-mini-2024-07-18",  # the snapshot OpenAI reports back
        "openai/gpt-4o-mini",
    ],
)
def test_every_spelling_of_a_model_finds_its_price(spelling: str) -> None:
    assert price_of(spelling) == Price(0.15, 0.60)


@pytest.mark.parametrize(
    "spelling",
    [
        "claude-3-5-haiku",
        "claude-3-5-haiku-latest",
        "bedrock/anthropic.claude-3-5-haiku-20241022-v1:0",
        "us.anthropic.claude-3-5-haiku-20241022-v1:0",  # cross-region inference profile
        "bedrock/eu.anthropic.claude-3-5-haiku-20241022-v1:0",
    ],
)
def test_bedrock_ids_aliases_and_inference_profiles_share_the_model_price(spelling: str) -> None:
    assert price_of(spelling) == Price(0.80, 4.00)


def test_every_routed_model_has_a_price() -> None:
    assert [model for model in ROUTES if price_of(model) is None] == []


def test_unknown_model_costs_zero_and_warns_once(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pricing, "_warned", set())
    with caplog.at_level(logging.WARNING, logger="agentfeedback.runs.pricing"):
        assert cost_usd("bedrock/meta.llama3-8b-instruct-v1:0", 1_000, 1_000) == 0.0
        assert cost_usd("bedrock/meta.llama3-8b-instruct-v1:0", 1_000, 1_000) == 0.0
    assert price_of("bedrock/meta.llama3-8b-instruct-v1:0") is None
    [record] = caplog.records
    assert "meta.llama3-8b-instruct-v1:0" in record.getMessage() and "pricing.PRICES" in record.getMessage()


def test_negative_token_counts_are_a_bug_not_a_refund() -> None:
    with pytest.raises(ValueError, match="negative"):
        cost_usd("gpt-4o-mini", -1, 0)
