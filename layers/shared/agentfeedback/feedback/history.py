"""Each feedback entry's change history: bounded, compact, stored in the entry itself.

The history is a list attribute of the entry, written by the same UpdateItem (or PutItem) as the change it
records, so a change and its event are one atomic write and concurrent changes leave their events in the order
DynamoDB applied them. Each event is one short string, `<epoch milliseconds><outcome letter>[c]`:

    1764179160123p     a vote (or a change) to positive, comment unchanged
    1764179161500nc    to negative, and the comment changed (set, edited or removed)
    1764179170000r     retracted (a retraction removes the comment too: `rc` when there was one)

Bound: MAX_EVENTS per entry. Past it, the first event (the original vote) and the latest MAX_EVENTS - 1 are
kept; the ones in between are dropped, and counted: the entry's `revision` counts every change ever made, so
`revision - len(history)` changes are no longer listed. 20 events of 15 bytes keep a typical entry (ids of
40 characters, no long comment) under 1 KB, one write unit (DynamoDB bills writes per 1 KB of the larger of
the item before and after).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import NamedTuple

MAX_EVENTS = 20

_OUTCOME_LETTERS = {"positive": "p", "negative": "n", None: "r"}
_OUTCOMES = {letter: outcome for outcome, letter in _OUTCOME_LETTERS.items()}
_COMMENT_CHANGED = "c"


class HistoryEvent(NamedTuple):
    """One real change of an entry: when (ISO 8601 UTC, milliseconds), the outcome it left (None: retracted),
    and whether the comment changed."""

    at: str
    outcome: str | None
    comment_changed: bool

    def encoded(self) -> str:
        """The stored form (see the module docstring)."""
        moment = datetime.strptime(self.at, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
        milliseconds = round(moment.timestamp() * 1000)
        return f"{milliseconds}{_OUTCOME_LETTERS[self.outcome]}{_COMMENT_CHANGED if self.comment_changed else ''}"

    @classmethod
    def decoded(cls, text: str) -> HistoryEvent:
        """From the stored form; ValueError for a string that is not one."""
        comment_changed = text.endswith(_COMMENT_CHANGED)
        body = text[:-1] if comment_changed else text
        digits, letter = body[:-1], body[-1:]
        if not digits.isdigit() or letter not in _OUTCOMES:
            raise ValueError(f"not a history event: {text[:40]!r}")
        moment = datetime.fromtimestamp(int(digits) / 1000, UTC)
        return cls(
            at=moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z",
            outcome=_OUTCOMES[letter],
            comment_changed=comment_changed,
        )


def event_at(timestamp: str, outcome: str | None, comment_changed: bool) -> HistoryEvent:
    """The event of a change made at `timestamp` (core.storage's format, microseconds), kept to milliseconds."""
    return HistoryEvent.decoded(HistoryEvent(timestamp, outcome, comment_changed).encoded())


def appended(stored: list[str], event: HistoryEvent) -> list[str]:
    """The stored history with `event` added, within MAX_EVENTS: the first event and the latest others."""
    history = [*stored, event.encoded()]
    if len(history) <= MAX_EVENTS:
        return history
    return [history[0], *history[len(history) - (MAX_EVENTS - 1) :]]


def decoded(stored: list[str] | None) -> tuple[HistoryEvent, ...]:
    """The events of a stored history, oldest first (an entry written before histories existed has none)."""
    return tuple(HistoryEvent.decoded(text) for text in stored or ())
