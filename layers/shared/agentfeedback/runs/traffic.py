"""Which of an environment's two versions a run gets when the environment splits traffic (a canary).

The same end user always gets the same version, so one person does not see the agent change from one run to
the next; a run that names no end user is assigned on its own. The assignment is a hash, so it needs no
storage and every container agrees:

    bucket = first 8 bytes of sha256(tenant, agent, environment, canary version, key), big-endian, mod 10,000
    canary when bucket < canary weight (percent) x 100

with key `user:<end user id>` or `run:<run id>`. The canary's version number is part of the hash, so each new
canary draws a fresh set of users; raising a canary's weight keeps every user it already had (their buckets stay
below the higher threshold), and lowering it moves only users off it.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

BUCKETS = 10_000
MAX_END_USER_CHARS = 1024


def end_user_of(metadata: Mapping[str, Any] | None) -> str | None:
    """The end user a run names in `metadata.user_id` (a string, or an integer), NFC with surrounding white space
    removed as `core.ids.canonical_user_id` keeps ids; None when it names none."""
    value = (metadata or {}).get("user_id")
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = unicodedata.normalize("NFC", str(value)).strip()
    return text[:MAX_END_USER_CHARS] or None


@dataclass(frozen=True)
class Split:
    """An environment's versions: `number` takes the runs the canary does not; `canary_weight` is a percent."""

    number: int
    canary_number: int | None = None
    canary_weight: int = 0


def bucket(tenant: str, agent_id: str, environment: str, canary_number: int, key: str) -> int:
    """0 <= bucket < BUCKETS, uniform over keys (see the module docstring)."""
    material = "\n".join((tenant, agent_id, environment, str(canary_number), key)).encode("utf-8")
    return int.from_bytes(hashlib.sha256(material).digest()[:8], "big") % BUCKETS


def assigned_number(
    split: Split, tenant: str, agent_id: str, environment: str, end_user: str | None, run_id: str
) -> int:
    """The saved version number this run gets: sticky per end user when there is one, else drawn per run."""
    if split.canary_number is None or split.canary_weight <= 0:
        return split.number
    key = f"user:{end_user}" if end_user is not None else f"run:{run_id}"
    drawn = bucket(tenant, agent_id, environment, split.canary_number, key)
    return split.canary_number if drawn < split.canary_weight * (BUCKETS // 100) else split.number
