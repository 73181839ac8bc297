"""providers/offline/pattern_text.py: text built to match a regular expression."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentfeedback.providers.offline.pattern_text import PatternText, first_matching

# What output schemas use for codes and identifiers: literals, classes, repeats, groups, alternation, anchors.
PATTERNS = [
    r"^[A-Z]{3}-\d{4}$",
    r"^(foo|bar)_[a-z0-9]+$",
    r"^[a-f0-9]{8}-[a-f0-9]{4}$",
    r"^\d+(\.\d{1,2})?$",
    r"^[\w.-]+@[a-z]+\.com$",
    r"^[^abc]{2,5}$",
    r"^\s\S\D\W.x*?y+?$",
    r"^(?:ab|cd)*z?$",
    r"^(?>ab)c$",
    r"^a{2,}b++$",
    r"(?i)^[a-z]{3}$",
    r"\bv\d\b",
    r"^x(?=y)y$",
]


@settings(max_examples=150, deadline=None)
@given(pattern=st.sampled_from(PATTERNS), seed=st.integers(0, 2**32))
def test_text_matches_its_pattern(pattern: str, seed: int) -> None:
    text = PatternText(pattern, lambda index: (seed * 2654435761 + index * 40503) % 2**64).text()
    assert text is not None
    assert re.search(pattern, text), (pattern, text)


@pytest.mark.parametrize("pattern", PATTERNS)
def test_the_same_draws_give_the_same_text(pattern: str) -> None:
    def draws(index: int) -> int:
        return index * 7919

    assert PatternText(pattern, draws).text() == PatternText(pattern, draws).text()


def test_draws_choose_between_branches() -> None:
    texts = {PatternText("^(red|green|blue)$", lambda index, seed=seed: seed).text() for seed in range(3)}
    assert texts == {"red", "green", "blue"}


def test_draws_are_numbered_from_one_in_order() -> None:
    asked: list[int] = []

    def draws(index: int) -> int:
        asked.append(index)
        return 0

    PatternText("^[ab]{1,3}(x|y)$", draws).text()
    assert asked == list(range(1, len(asked) + 1)) and len(asked) >= 3


@pytest.mark.parametrize("pattern", [r"(a)\1", r"(?P<n>a)(?P=n)", "[", r"(?(1)a|b)", r"[^\w\W]"])
def test_a_pattern_it_cannot_build_gives_none(pattern: str) -> None:
    assert PatternText(pattern, lambda index: index).text() is None


def test_first_matching_takes_the_first_candidate_the_pattern_finds() -> None:
    assert first_matching(r"^\d+$", ["words", "123", "456"]) == "123"
    assert first_matching(r"\d", ["a1b", "2"]) == "a1b", "JSON Schema patterns are not anchored"


def test_first_matching_falls_back_to_the_first_candidate() -> None:
    assert first_matching(r"^\d+$", ["words", "more"]) == "words"
    assert first_matching(r"\p{L}+", ["words", "more"]) == "words", "an ECMA-only pattern Python cannot compile"
