"""The public feedback routes' requests, checked without pydantic: the limits, and the votes and reads they allow.

The public function answers from this module so that its cold start loads no validation framework.
`feedback.models` declares the same rules as pydantic models, for the OpenAPI document; a property test
holds the two to the same verdicts, and the messages here use pydantic's wording, so a refusal reads the
same whichever path produced it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, NamedTuple, get_args

from agentfeedback.core.http_api import NOT_AN_OBJECT, invalid_request
from agentfeedback.tokens import MAX_TOKEN_CHARS

MAX_COMMENT_CHARS = 5000
MAX_USER_ID_CHARS = 256

Outcome = Literal["positive", "negative"]
OUTCOMES: tuple[str, ...] = get_args(Outcome)

_MISSING: Any = object()


# NamedTuples rather than dataclasses: a tenth of the cost to define, which the public cold start pays.
class Vote(NamedTuple):
    """A checked POST /v1/feedback body. Unknown fields were ignored; empty comment or user_id mean none;
    keep_comment keeps the saved comment (comment is then ignored)."""

    feedback_token: str
    outcome: str
    comment: str | None = None
    user_id: str | None = None
    keep_comment: bool = False


class VoteQuery(NamedTuple):
    """A checked GET or DELETE /v1/feedback query: whose vote to read or retract."""

    feedback_token: str
    user_id: str | None = None


def _text_problem(value: object, min_length: int, max_length: int) -> str | None:
    """What is wrong with a string field's value, in pydantic's words; None when nothing is."""
    if not isinstance(value, str):
        return "Input should be a valid string"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate, which JSON's \u escapes can carry
        return "Input should be a valid string, unable to parse raw data as a unicode string"
    if len(value) < min_length:
        return f"String should have at least {min_length} character{'s' if min_length != 1 else ''}"
    if len(value) > max_length:
        return f"String should have at most {max_length} character{'s' if max_length != 1 else ''}"
    return None


class _Fields:
    """Reads fields from a mapping, collecting one problem per offending field, in the order read."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self._values = values
        self.problems: list[str] = []

    def text(self, name: str, max_length: int, *, required: bool = False, min_length: int = 0) -> Any:
        value = self._values.get(name, _MISSING)
        if value is _MISSING or (value is None and not required):
            if required:
                self.problems.append(f"{name}: Field required")
            return None
        problem = _text_problem(value, min_length, max_length)
        if problem:
            self.problems.append(f"{name}: {problem}")
        return value

    def flag(self, name: str) -> Any:
        """A JSON boolean, False when absent (pydantic's strict bool: no 0, 1, "true" or null)."""
        value = self._values.get(name, _MISSING)
        if value is _MISSING:
            return False
        if not isinstance(value, bool):
            self.problems.append(f"{name}: Input should be a valid boolean")
        return value

    def choice(self, name: str, allowed: tuple[str, ...]) -> Any:
        value = self._values.get(name, _MISSING)
        if value is _MISSING:
            self.problems.append(f"{name}: Field required")
        elif not isinstance(value, str) or value not in allowed:
            self.problems.append(f"{name}: Input should be " + " or ".join(f"'{option}'" for option in allowed))
        return value


def parse_vote(body: object) -> Vote:
    """The vote in a decoded JSON body; ValidationFailed naming each offending field otherwise."""
    if not isinstance(body, dict):
        raise invalid_request([NOT_AN_OBJECT])
    fields = _Fields(body)
    token = fields.text("feedback_token", MAX_TOKEN_CHARS, required=True, min_length=1)
    outcome = fields.choice("outcome", OUTCOMES)
    comment = fields.text("comment", MAX_COMMENT_CHARS)
    user_id = fields.text("user_id", MAX_USER_ID_CHARS)
    keep_comment = fields.flag("keep_comment")
    if fields.problems:
        raise invalid_request(fields.problems)
    return Vote(feedback_token=token, outcome=outcome, comment=comment, user_id=user_id, keep_comment=keep_comment)


def query_values(single: Mapping[str, str] | None, multi: Mapping[str, list[str]] | None) -> dict[str, Any]:
    """One value per query parameter, from API Gateway's two views of the query string.

    A parameter given once is its string; one repeated (`?a=1&a=2`) stays a list, which no string field
    accepts. API Gateway fills both views; the multi-value one wins where they differ.
    """
    values: dict[str, Any] = dict(single or {})
    for name, given in (multi or {}).items():
        values[name] = given[0] if len(given) == 1 else list(given)
    return values


def parse_vote_query(query: Mapping[str, Any]) -> VoteQuery:
    """The read (or retraction) in a query (from query_values); ValidationFailed naming each offending parameter
    otherwise."""
    fields = _Fields(query)
    token = fields.text("feedback_token", MAX_TOKEN_CHARS, required=True, min_length=1)
    user_id = fields.text("user_id", MAX_USER_ID_CHARS)
    if fields.problems:
        raise invalid_request(fields.problems)
    return VoteQuery(feedback_token=token, user_id=user_id)
