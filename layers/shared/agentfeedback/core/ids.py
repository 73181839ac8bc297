"""Identifier rules shared by routes and stores: what an agent id may look like."""

from __future__ import annotations

import re

from agentfeedback.core.errors import ValidationFailed

AGENT_ID_REGEX = r"^[a-z0-9][a-z0-9_-]{0,63}$"
AGENT_ID_PATTERN = re.compile(AGENT_ID_REGEX)


def validate_agent_id(agent_id: str) -> str:
    """The id itself; ValidationFailed (422) unless it is 1-64 of [a-z0-9_-], starting with [a-z0-9]."""
    if not AGENT_ID_PATTERN.match(agent_id):
        raise ValidationFailed(
            f"Invalid agent id {agent_id[:80]!r}: use 1-64 lowercase letters, digits, '-' or '_', "
            "starting with a letter or digit."
        )
    return agent_id
