"""providers/offline/string_values.py: format values and words within length limits."""

from __future__ import annotations

import ipaddress
import re
import uuid
from datetime import date, datetime, time
from urllib.parse import urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from agentfeedback.providers.offline.entropy import Entropy
from agentfeedback.providers.offline.string_values import WORDS, formatted, word, words

SEEDS = [bytes([number]) * 32 for number in range(12)]
_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


def hostname(text: str) -> bool:
    """RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens."""
    return all(_LABEL.match(label) for label in text.split("."))


# Checked by jsonschema's own format checker where it has one, else by the standard library.
ORACLES = {
    "date-time": lambda text: Draft202012Validator.FORMAT_CHECKER.conforms(text, "date-time"),
    "date": lambda text: date.fromisoformat(text) is not None and len(text) == 10,
    "time": lambda text: (
        Draft202012Validator.FORMAT_CHECKER.conforms(text, "time")
        and time.fromisoformat(text.removesuffix("Z")) is not None
    ),
    "duration": lambda text: re.fullmatch(r"PT([1-9]|[1-9]\d|1[01]\d|120)M", text) is not None,
    "email": lambda text: Draft202012Validator.FORMAT_CHECKER.conforms(text, "email") and text.count("@") == 1,
    "idn-email": lambda text: Draft202012Validator.FORMAT_CHECKER.conforms(text, "idn-email"),
    "hostname": hostname,
    "idn-hostname": lambda text: Draft202012Validator.FORMAT_CHECKER.conforms(text, "idn-hostname"),
    "ipv4": lambda text: ipaddress.IPv4Address(text) in ipaddress.IPv4Network("192.0.2.0/24"),
    "ipv6": lambda text: ipaddress.IPv6Address(text) in ipaddress.IPv6Network("2001:db8::/32"),
    "uri": lambda text: urlsplit(text).scheme == "https" and urlsplit(text).netloc == "example.com",
    "iri": lambda text: urlsplit(text).scheme == "https" and urlsplit(text).netloc == "example.com",
    "url": lambda text: urlsplit(text).scheme == "https" and urlsplit(text).netloc == "example.com",
    "uri-reference": lambda text: urlsplit(text).netloc == "example.com",
    "uuid": lambda text: uuid.UUID(text).version == 4 and str(uuid.UUID(text)) == text,
}


@pytest.mark.parametrize("kind", sorted(ORACLES))
def test_each_known_format_gives_a_value_of_that_format(kind: str) -> None:
    values = {formatted(Entropy(seed), kind, "$.field") for seed in SEEDS}
    assert None not in values
    assert all(ORACLES[kind](value) for value in values), values
    assert len(values) > 1, "the seed changes the value"


def test_date_time_falls_in_2024_utc() -> None:
    for seed in SEEDS:
        value = formatted(Entropy(seed), "date-time", "$")
        assert value is not None
        assert datetime.fromisoformat(value.replace("Z", "+00:00")).year == 2024


@pytest.mark.parametrize("kind", ["", "regex", "json-pointer", "made-up"])
def test_an_unknown_format_gives_none(kind: str) -> None:
    assert formatted(Entropy(SEEDS[0]), kind, "$") is None


def test_the_same_place_gives_the_same_value_and_another_place_may_differ() -> None:
    entropy = Entropy(SEEDS[3])
    assert formatted(entropy, "uuid", "$.a") == formatted(Entropy(SEEDS[3]), "uuid", "$.a")
    assert formatted(entropy, "uuid", "$.a") != formatted(entropy, "uuid", "$.b")
    assert word(entropy, "$.a", 0) in WORDS


@settings(max_examples=200, deadline=None)
@given(seed=st.binary(min_size=1, max_size=32), shortest=st.integers(0, 60), extra=st.integers(0, 60) | st.none())
def test_words_fit_the_length_limits(seed: bytes, shortest: int, extra: int | None) -> None:
    longest = None if extra is None else shortest + extra
    text = words(Entropy(seed), "$.text", shortest, longest)
    assert len(text) >= shortest
    assert longest is None or len(text) <= longest
    assert text == words(Entropy(seed), "$.text", shortest, longest)


@settings(max_examples=100, deadline=None)
@given(seed=st.binary(min_size=1, max_size=32))
def test_words_without_limits_are_two_to_four_whole_words(seed: bytes) -> None:
    parts = words(Entropy(seed), "$", 0, None).split(" ")
    assert 2 <= len(parts) <= 4
    assert all(part in WORDS for part in parts)
