"""What a feedback token says: its claims, and the JWT payload that carries them.

The one place that knows the claims. Signing and the envelope (JWS, delegation) live in `signer`, `verifier`
and `delegation`; they call only `claims_payload`, `required_claims` and `claims_from_payload`, so a new claim
is added here alone (and in the tests that read payloads).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

TOKEN_PREFIX = "fb_"
MAX_TOKEN_CHARS = 2048
MAX_CLAIM_CHARS = 128
# Claim name -> its short name in the payload (tokens travel in URLs and JSON bodies: every byte counts).
_CLAIMS = {"tenant": "ten", "agent_id": "agt", "run_id": "run", "version_id": "ver"}


@dataclass(frozen=True)
class TokenClaims:
    """What a token binds: one run of one agent version, in one tenant."""

    tenant: str
    agent_id: str
    run_id: str
    version_id: str

    def __post_init__(self) -> None:
        for name in _CLAIMS:
            value = getattr(self, name)
            if not isinstance(value, str) or not value or len(value) > MAX_CLAIM_CHARS:
                raise ValueError(f"{name} must be a non-empty string of at most {MAX_CLAIM_CHARS} characters")
        if "#" in self.run_id:
            # Feedback keys are run_id#user_id, and a bare run_id keys the run's user counter.
            raise ValueError("run_id may not contain '#'")


def claims_payload(claims: TokenClaims, issued_at: int, lifetime_seconds: int) -> dict[str, Any]:
    """The JWT payload: the claims under their short names, `iat` (Unix seconds) and, unless `lifetime_seconds`
    is 0 (tokens that never expire), `exp` = iat + lifetime_seconds."""
    payload: dict[str, Any] = {short: getattr(claims, name) for name, short in _CLAIMS.items()}
    payload["iat"] = issued_at
    if lifetime_seconds:
        payload["exp"] = issued_at + lifetime_seconds
    return payload


def required_claims(require_expiry: bool) -> list[str]:
    """The payload members a token must have (PyJWT's `require` option); `exp` when a lifetime is configured."""
    return ["iat", *_CLAIMS.values(), *(["exp"] if require_expiry else [])]


def claims_from_payload(payload: dict[str, Any]) -> TokenClaims:
    """The claims of a payload whose signature checked out. KeyError or ValueError when they do not make sense."""
    return TokenClaims(**{name: payload[short] for name, short in _CLAIMS.items()})
