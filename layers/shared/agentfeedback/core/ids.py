"""Identifier rules shared by routes and stores: what an agent id may look like."""

from __future__ import annotations

import re
import uuid

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


def canonical_run_id(run_id: str) -> str:
    """A run id as stored: a UUID in any spelling (upper case, braces, urn:uuid:, no dashes) becomes its
    canonical lowercase 8-4-4-4-12 form; anything else is returned unchanged (and simply matches no run)."""
    try:
        return str(uuid.UUID(run_id))
    except ValueError:
        return run_id
