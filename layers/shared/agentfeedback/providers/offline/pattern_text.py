"""Strings for a JSON Schema `pattern`: text built to match the regular expression."""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Sequence
from typing import Any

# Characters tried for a class with no sample of its own (a negated class, or `.`-like categories).
_CLASS_POOL = "abcxyzABCXYZ0123456789_-. "
_CATEGORIES: dict[str, Callable[[str], bool]] = {
    "CATEGORY_DIGIT": lambda char: char.isdigit(),
    "CATEGORY_NOT_DIGIT": lambda char: not char.isdigit(),
    "CATEGORY_SPACE": lambda char: char.isspace(),
    "CATEGORY_NOT_SPACE": lambda char: not char.isspace(),
    "CATEGORY_WORD": lambda char: char.isalnum() or char == "_",
    "CATEGORY_NOT_WORD": lambda char: not (char.isalnum() or char == "_"),
}
_CATEGORY_SAMPLES = {"CATEGORY_DIGIT": "0123456789", "CATEGORY_SPACE": " ", "CATEGORY_WORD": "abcdefxyz"}
# An unbounded repeat (`*`, `+`, `{2,}`) runs at most this many times past its minimum.
_EXTRA_REPEATS = 3


class PatternText:
    """A string matching a regular expression, built from Python's own parse of the pattern.

    Handles literals, classes, repeats, groups, alternation and anchors: what output schemas use for
    codes and identifiers. Anything else (back-references, lookarounds that bite) gives None, and the
    caller falls back to ordinary text. `entropy(n)` is the n-th draw (n from 1), a non-negative int:
    each repeat count, branch and class member takes the next one.
    """

    def __init__(self, pattern: str, entropy: Callable[[int], int]) -> None:
        self._pattern = pattern
        self._entropy = entropy
        self._draws = 0

    def text(self) -> str | None:
        """The text, or None when the pattern has a construct this class cannot build (or does not parse)."""
        try:
            # re._parser is private but present on every Python we run (3.11 to 3.13); any surprise is caught.
            parser: Any = importlib.import_module("re._parser")
            parts: list[str] = []
            self._emit(parser.parse(self._pattern), parts, parser.MAXREPEAT)
        except Exception:
            return None
        return "".join(parts)

    def _pick(self, count: int) -> int:
        self._draws += 1
        return self._entropy(self._draws) % count if count > 0 else 0

    def _emit(self, items: Any, out: list[str], unbounded: int) -> None:
        for op, argument in items:
            name = str(op)
            if name == "LITERAL":
                out.append(chr(argument))
            elif name == "NOT_LITERAL":
                out.append("b" if chr(argument) == "a" else "a")
            elif name == "ANY":
                out.append("a")
            elif name == "IN":
                out.append(self._member(argument))
            elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
                low, high, repeated = argument
                high = low + _EXTRA_REPEATS if high == unbounded else min(high, low + _EXTRA_REPEATS)
                for _ in range(low + self._pick(high - low + 1)):
                    self._emit(repeated, out, unbounded)
            elif name == "SUBPATTERN":
                self._emit(argument[-1], out, unbounded)
            elif name == "ATOMIC_GROUP":
                self._emit(argument, out, unbounded)
            elif name == "BRANCH":
                branches = argument[1]
                self._emit(branches[self._pick(len(branches))], out, unbounded)
            elif name not in ("AT", "ASSERT", "ASSERT_NOT"):
                raise ValueError(f"unsupported pattern construct {name}")

    def _member(self, items: Any) -> str:
        negated = any(str(op) == "NEGATE" for op, _ in items)
        pool = _CLASS_POOL
        if not negated:
            samples = []
            for op, argument in items:
                name = str(op)
                if name == "LITERAL":
                    samples.append(chr(argument))
                elif name == "RANGE":
                    samples.extend(chr(code) for code in range(argument[0], min(argument[1], argument[0] + 25) + 1))
                elif name == "CATEGORY":
                    samples.extend(_CATEGORY_SAMPLES.get(str(argument), ""))
            pool = "".join(samples) or pool
        members = [char for char in pool if _in_class(char, items)]
        if not members:
            raise ValueError("no sample character fits the class")
        return members[self._pick(len(members))]


def first_matching(pattern: str, candidates: Sequence[str]) -> str:
    """The first candidate the pattern finds a match in (`re.search`: JSON Schema patterns are not anchored,
    draft 2020-12 validation §6.3.3), else the first candidate; also the first when Python cannot compile
    the pattern (an ECMA-262-only construct)."""
    try:
        compiled = re.compile(pattern)
    except re.error:
        return candidates[0]  # an ECMA-only construct Python cannot read: keep the ordinary value
    return next((candidate for candidate in candidates if compiled.search(candidate)), candidates[0])


def _in_class(char: str, items: Any) -> bool:
    negated = found = False
    for op, argument in items:
        name = str(op)
        if name == "NEGATE":
            negated = True
        elif name == "LITERAL":
            found = found or ord(char) == argument
        elif name == "RANGE":
            found = found or argument[0] <= ord(char) <= argument[1]
        elif name == "CATEGORY":
            test = _CATEGORIES.get(str(argument))
            found = found or (test is not None and test(char))
    return found != negated
