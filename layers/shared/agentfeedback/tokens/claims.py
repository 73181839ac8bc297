"""What a feedback token says: its claims, and the JWT payload that carries them.

The one place that knows the claims. Signing and the envelope (JWS, delegation) live in `signer`, `verifier`
and `delegation`; they call only `claims_payload`, `required_claims` and `claims_from_payload`, so a new claim
is added here alone (and in the tests that read payloads).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

TOKEN_PREFIX = "fb_"
MAX_TOKEN_CHARS = 2048
MAX_CLAIM_CHARS = 128
# Claim name -> its short name in the payload (tokens travel in URLs and JSON bodies: every byte counts).
_CLAIMS = {"tenant": "ten", "agent_id": "agt", "run_id": "run", "version_id": "ver"}


@dataclass(frozen=True)
class TokenClaims:
    """What a token binds: one run of one agent version, in one tenant; and, when the backend named the run's
    end user, that user (as `user_binding`, see the end-user binding section below)."""

    tenant: str
    agent_id: str
    run_id: str
    version_id: str
    user_binding: str | None = None

    def __post_init__(self) -> None:
        for name in _CLAIMS:
            value = getattr(self, name)
            if not isinstance(value, str) or not value or len(value) > MAX_CLAIM_CHARS:
                raise ValueError(f"{name} must be a non-empty string of at most {MAX_CLAIM_CHARS} characters")
        if "#" in self.run_id:
            # Feedback keys are run_id#user_id, and a bare run_id keys the run's user counter.
            raise ValueError("run_id may not contain '#'")
        if self.user_binding is not None and not _is_user_binding(self.user_binding):
            raise ValueError(f"user_binding must be {USER_BINDING_CHARS} base64url characters (tokens.user_binding)")


def claims_payload(claims: TokenClaims, issued_at: int, lifetime_seconds: int) -> dict[str, Any]:
    """The JWT payload: the claims under their short names, `iat` (Unix seconds) and, unless `lifetime_seconds`
    is 0 (tokens that never expire), `exp` = iat + lifetime_seconds."""
    payload: dict[str, Any] = {short: getattr(claims, name) for name, short in _CLAIMS.items()}
    if claims.user_binding is not None:
        payload[USER_BINDING_CLAIM] = claims.user_binding
    payload["iat"] = issued_at
    if lifetime_seconds:
        payload["exp"] = issued_at + lifetime_seconds
    return payload


def required_claims(require_expiry: bool) -> list[str]:
    """The payload members a token must have (PyJWT's `require` option); `exp` when a lifetime is configured."""
    return ["iat", *_CLAIMS.values(), *(["exp"] if require_expiry else [])]


def claims_from_payload(payload: dict[str, Any]) -> TokenClaims:
    """The claims of a payload whose signature checked out. KeyError, TypeError or ValueError when they do not
    make sense."""
    return TokenClaims(**{name: payload[short] for name, short in _CLAIMS.items()}, user_binding=_binding_of(payload))


# -- End-user binding: the one optional payload claim `usr` ------------------------------------------------
#
# When the backend names the run's end user, the token carries `usr` = a digest of (run id, canonical user id),
# so the public function can check that a vote or read is that user's without the token revealing the id, and
# without any key but the public one (it holds no kms:Sign, and no secret to fetch at cold start). A plain digest
# is enough because the signature stops forgery: nobody can put another digest into a signed token. The run id
# salts it, so one user's digests on two runs are unrelated and a binding copied from another run's token does
# not match. What it reveals: a holder of the token can test guesses of the user id offline (one hash per
# guess), so an id that is easy to guess (an e-mail of a known person, a small number) can be confirmed by
# whoever holds that run's token, normally the very user it names. An HMAC under a server secret would stop
# that, at the price of a secret in the public function.

USER_BINDING_CLAIM = "usr"
USER_BINDING_CHARS = 22  # base64url of 16 bytes (128 bits) of SHA-256: collisions are out of reach
_USER_BINDING_CONTEXT = b"agentfeedback/user-binding/v1"


def user_binding(run_id: str, user_id: str) -> str:
    """The `usr` claim binding a run's token to an end user: base64url(SHA-256(context, run id, user id))[:22].

    `user_id` must be canonical (core.ids.canonical_user_id), so every spelling of one id binds alike. Parts are
    joined with NUL, which neither a run id nor a canonical user id contains, so no two pairs give one input.
    """
    message = b"\0".join((_USER_BINDING_CONTEXT, run_id.encode("utf-8"), user_id.encode("utf-8")))
    return base64.urlsafe_b64encode(hashlib.sha256(message).digest()[:16]).rstrip(b"=").decode("ascii")


def binds_user(claims: TokenClaims, user_id: str) -> bool:
    """Whether the token's binding names this (canonical) user id; False for an unbound token."""
    if claims.user_binding is None:
        return False
    return hmac.compare_digest(claims.user_binding, user_binding(claims.run_id, user_id))


def _is_user_binding(value: object) -> bool:
    return (
        isinstance(value, str)
        and len(value) == USER_BINDING_CHARS
        and value.isascii()
        and all(char.isalnum() or char in "-_" for char in value)
    )


def _binding_of(payload: dict[str, Any]) -> str | None:
    """The binding a verified payload carries; ValueError when `usr` is there but is not a binding."""
    value = payload.get(USER_BINDING_CLAIM)
    if value is None:
        return None
    if not _is_user_binding(value):
        raise ValueError("usr is not a user binding")
    return str(value)
