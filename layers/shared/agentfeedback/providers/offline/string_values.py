"""Strings for `type: string` without a `pattern`: a value for a known `format`, else a few words."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from agentfeedback.providers.offline.entropy import Entropy

WORDS = (
    "amber", "anchor", "breeze", "canyon", "cedar", "comet", "delta", "ember", "falcon", "fern",
    "glacier", "harbor", "indigo", "island", "juniper", "lagoon", "lantern", "maple", "meadow", "nova",
    "orbit", "pebble", "quartz", "raven", "river", "saffron", "summit", "tundra", "valley", "willow",
    "zephyr", "aurora",
)  # fmt: skip
# Dates and times fall within the year from this moment.
_EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
_YEAR_SECONDS = 365 * 86400


def word(entropy: Entropy, place: str, index: int) -> str:
    """The `index`-th word drawn for `place`, from `WORDS`."""
    return WORDS[entropy.number(f"{place}#{index}") % len(WORDS)]


def words(entropy: Entropy, place: str, shortest: int, longest: int | None) -> str:
    """Two to four words joined by spaces, whole words where the length limits allow.

    More words are added to reach `shortest` (at least one character); past `longest` the text is cut
    mid-word, and trailing spaces go unless that makes it too short again.
    """
    wanted = 2 + entropy.number(place) % 3
    text, index = "", 0
    while longest is None or len(text) < longest:
        next_word = word(entropy, place, index)
        longer = f"{text} {next_word}" if text else next_word
        if longest is not None and len(longer) > longest:
            break
        text, index = longer, index + 1
        if index >= wanted and len(text) >= shortest:
            return text
    while len(text) < max(shortest, 1):
        text = f"{text} {word(entropy, place, index)}" if text else word(entropy, place, index)
        index += 1
    if longest is not None and len(text) > longest:
        text = text[:longest]
        if len(text.rstrip()) >= shortest:
            text = text.rstrip()
    return text


def formatted(entropy: Entropy, kind: str, place: str) -> str | None:
    """A value for the JSON Schema `format` `kind` (the names of draft 2020-12 validation §7.3, plus `url`),
    or None for a format not listed here, which the caller answers with `words`.

    Addresses and names are the ones reserved for documentation: example.com (RFC 2606), 192.0.2.0/24
    (RFC 5737) and 2001:db8::/32 (RFC 3849). Dates fall in 2024 (UTC); a uuid is a version 4 one.
    """
    number = entropy.number(place)
    moment = _EPOCH + timedelta(seconds=number % _YEAR_SECONDS)
    match kind:
        case "date-time":
            return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
        case "date":
            return moment.strftime("%Y-%m-%d")
        case "time":
            return moment.strftime("%H:%M:%SZ")
        case "duration":
            return f"PT{number % 120 + 1}M"
        case "email" | "idn-email":
            return f"{word(entropy, place, 0)}.{word(entropy, place, 1)}@example.com"
        case "hostname" | "idn-hostname":
            return f"{word(entropy, place, 0)}.example.com"
        case "ipv4":
            return f"192.0.2.{number % 254 + 1}"
        case "ipv6":
            return f"2001:db8::{number % 0xFFFF:x}"
        case "uri" | "iri" | "url" | "uri-reference":
            return f"https://example.com/{word(entropy, place, 0)}/{word(entropy, place, 1)}"
        case "uuid":
            return str(uuid.UUID(bytes=entropy.digest(place)[:16], version=4))
    return None
