"""Feedback tokens: `fb_` + a compact ES256 JWS, signed by KMS and verified locally.

Verification uses public keys fetched once per container, so a flood of forged tokens costs
microseconds each and never reaches KMS.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from agentfeedback.core.errors import InvalidFeedbackToken, ServiceUnavailable

logger = logging.getLogger(__name__)

# PyJWT and cryptography (~30 ms to import) load on the first signature or verification: the functions that
# only name claims or limits (review) never pay for them.
if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import ec
    from mypy_boto3_kms import KMSClient

TOKEN_PREFIX = "fb_"
MAX_TOKEN_CHARS = 2048
MAX_CLAIM_CHARS = 128
ALGORITHM = "ES256"
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


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def key_fingerprint(public_key: ec.EllipticCurvePublicKey) -> str:
    """The `kid`: a digest of the public key, so tokens name their key without naming the KMS key."""
    from cryptography.hazmat.primitives import serialization

    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return _b64url(hashlib.sha256(der).digest()[:12])


def _fetch_public_key(kms: KMSClient, key_id: str) -> ec.EllipticCurvePublicKey:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    try:
        der = kms.get_public_key(KeyId=key_id)["PublicKey"]
    except (BotoCoreError, ClientError) as exc:
        raise ServiceUnavailable("The token signing key is unavailable right now; retry shortly.") from exc
    key = serialization.load_der_public_key(der)
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise RuntimeError(f"KMS key {key_id} is not an ECC_NIST_P256 key")
    return key


class TokenSigner:
    """Mints tokens with KMS `Sign`. Only the run and chat functions hold `kms:Sign`."""

    def __init__(
        self,
        kms: KMSClient,
        key_id: str,
        lifetime_days: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._kms = kms
        self._key_id = key_id
        self._lifetime_seconds = lifetime_days * 86400
        self._clock = clock
        self._kid: str | None = None

    def _header(self) -> dict[str, str]:
        if self._kid is None:
            self._kid = key_fingerprint(_fetch_public_key(self._kms, self._key_id))
        return {"alg": ALGORITHM, "typ": "JWT", "kid": self._kid}

    def mint(self, claims: TokenClaims) -> str:
        now = int(self._clock())
        payload: dict[str, Any] = {short: getattr(claims, name) for name, short in _CLAIMS.items()}
        payload.update(_binding_claim(claims))
        payload["iat"] = now
        if self._lifetime_seconds:
            payload["exp"] = now + self._lifetime_seconds
        signing_input = ".".join(
            _b64url(json.dumps(part, separators=(",", ":"), sort_keys=True).encode())
            for part in (self._header(), payload)
        )
        # MessageType=RAW: KMS hashes the message itself (moto mis-handles DIGEST).
        der_signature = self._kms.sign(
            KeyId=self._key_id,
            Message=signing_input.encode("ascii"),
            MessageType="RAW",
            SigningAlgorithm="ECDSA_SHA_256",
        )["Signature"]
        # KMS returns a DER signature; JOSE wants the raw 64-byte r||s form.
        from cryptography.hazmat.primitives.asymmetric import ec
        from jwt.utils import der_to_raw_signature

        signature = der_to_raw_signature(der_signature, ec.SECP256R1())
        return f"{TOKEN_PREFIX}{signing_input}.{_b64url(signature)}"


class TokenVerifier:
    """Checks tokens against the current key and any previous keys still accepted for rotation."""

    # After the current key could not be fetched, requests are answered 503 for this long without asking
    # KMS again: a flood of requests (forged or not) during a KMS outage does not become a flood of KMS calls.
    FETCH_BACKOFF_SECONDS = 5.0

    def __init__(
        self,
        kms: KMSClient,
        key_ids: Iterable[str],
        leeway_seconds: int = 30,
        require_expiry: bool = False,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._kms = kms
        self._key_ids = tuple(key_ids)
        self._leeway = leeway_seconds
        # With a token lifetime configured, a token without `exp` (minted while lifetime was 0) is refused.
        self._required = ["iat", *_CLAIMS.values(), *(["exp"] if require_expiry else [])]
        self._clock = clock or time.monotonic
        self._keys: dict[str, ec.EllipticCurvePublicKey] | None = None
        self._retry_at = 0.0

    def _public_keys(self) -> dict[str, ec.EllipticCurvePublicKey]:
        if self._keys is not None:
            return self._keys
        if self._clock() < self._retry_at:
            raise ServiceUnavailable("The token signing key is unavailable right now; retry shortly.")
        current, *previous = self._key_ids
        try:
            keys = [_fetch_public_key(self._kms, current)]
        except ServiceUnavailable:
            self._retry_at = self._clock() + self.FETCH_BACKOFF_SECONDS
            raise
        for key_id in previous:
            # A disabled or deleted previous key only stops its own tokens, never the current ones.
            try:
                keys.append(_fetch_public_key(self._kms, key_id))
            except ServiceUnavailable:
                logger.warning("previous token key unavailable: its tokens are refused", extra={"key_id": key_id})
        self._keys = {key_fingerprint(key): key for key in keys}
        return self._keys

    def verify(self, token: str) -> TokenClaims:
        import jwt

        if not isinstance(token, str) or not token.startswith(TOKEN_PREFIX):
            raise InvalidFeedbackToken(f"it must start with '{TOKEN_PREFIX}'")
        if len(token) > MAX_TOKEN_CHARS:
            raise InvalidFeedbackToken("it is too long")
        # Tokens are ASCII; anything else (e.g. a lone surrogate, which PyJWT cannot encode) is not one.
        if not token.isascii():
            raise InvalidFeedbackToken("it is malformed")
        compact = token[len(TOKEN_PREFIX) :]
        try:
            header = jwt.get_unverified_header(compact)
        except jwt.InvalidTokenError:
            raise InvalidFeedbackToken("it is malformed") from None
        if header.get("alg") != ALGORITHM:
            raise InvalidFeedbackToken(f"only {ALGORITHM} tokens are accepted")
        kid = header.get("kid")
        key = self._public_keys().get(kid) if isinstance(kid, str) else None
        if key is None:
            raise InvalidFeedbackToken("it was signed by an unknown key")
        try:
            payload = jwt.decode(
                compact,
                key,
                algorithms=[ALGORITHM],
                leeway=self._leeway,
                options={"require": self._required},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidFeedbackToken("it has expired") from None
        except jwt.ImmatureSignatureError:
            raise InvalidFeedbackToken("it is dated in the future") from None
        except jwt.InvalidTokenError:
            raise InvalidFeedbackToken("its signature or contents do not check out") from None
        try:
            return TokenClaims(
                **{name: payload[short] for name, short in _CLAIMS.items()}, user_binding=_binding_of(payload)
            )
        except (ValueError, TypeError):
            raise InvalidFeedbackToken("its contents do not check out") from None


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
    return _b64url(hashlib.sha256(message).digest()[:16])


def binds_user(claims: TokenClaims, user_id: str) -> bool:
    """Whether the token's binding names this (canonical) user id; False for an unbound token."""
    import hmac

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


def _binding_claim(claims: TokenClaims) -> dict[str, str]:
    return {USER_BINDING_CLAIM: claims.user_binding} if claims.user_binding is not None else {}


def _binding_of(payload: dict[str, Any]) -> str | None:
    """The binding a verified payload carries; ValueError when `usr` is there but is not a binding."""
    value = payload.get(USER_BINDING_CLAIM)
    if value is None:
        return None
    if not _is_user_binding(value):
        raise ValueError("usr is not a user binding")
    return str(value)
