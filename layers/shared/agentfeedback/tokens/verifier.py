"""Verifies feedback tokens locally: KMS public keys fetched once per container, delegations checked once each.

A flood of forged tokens costs at most two ECDSA verifications each and never reaches KMS.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from agentfeedback.core.errors import InvalidFeedbackToken, ServiceUnavailable
from agentfeedback.tokens.claims import MAX_TOKEN_CHARS, TOKEN_PREFIX, TokenClaims, claims_from_payload, required_claims
from agentfeedback.tokens.jws import ALGORITHM, b64url_decode

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import ec
    from mypy_boto3_kms import KMSClient

    from agentfeedback.tokens.delegation import Delegation

logger = logging.getLogger(__name__)


class TokenVerifier:
    """Checks tokens against the current KMS key and any previous keys still accepted for rotation.

    A token whose header carries a delegation (`dlg`, see tokens.delegation) is checked in two steps: the
    delegation against the KMS key its `kid` names (once: headers that passed are cached), then the token
    against the delegated key, with its `iat` inside the delegation's window. A token without one was signed
    by KMS itself, as every token was before delegation, and is checked against the KMS key directly.
    """

    # After the current key could not be fetched, requests are answered 503 for this long without asking
    # KMS again: a flood of requests (forged or not) during a KMS outage does not become a flood of KMS calls.
    FETCH_BACKOFF_SECONDS = 5.0
    # Headers of tokens that verified, with the key they lead to (oldest first out). Every token of one
    # delegated key has the same header, and a run container makes one key an hour. Only a token whose
    # signature checked out adds its header, so forgeries cannot fill it.
    CACHED_HEADERS = 1024

    def __init__(
        self,
        kms: KMSClient,
        key_ids: Iterable[str],
        stack: str,
        leeway_seconds: int = 30,
        require_expiry: bool = False,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._kms = kms
        self._key_ids = tuple(key_ids)
        self._stack = stack
        self._leeway = leeway_seconds
        # With a token lifetime configured, a token without `exp` (minted while lifetime was 0) is refused.
        self._required = required_claims(require_expiry)
        self._clock = clock or time.monotonic
        self._keys: dict[str, ec.EllipticCurvePublicKey] | None = None
        self._retry_at = 0.0
        self._headers: dict[str, tuple[ec.EllipticCurvePublicKey, Delegation | None]] = {}

    def _public_keys(self) -> dict[str, ec.EllipticCurvePublicKey]:
        if self._keys is not None:
            return self._keys
        if self._clock() < self._retry_at:
            raise ServiceUnavailable("The token signing key is unavailable right now; retry shortly.")
        from agentfeedback.tokens.kms_keys import fetch_public_key, key_fingerprint

        current, *previous = self._key_ids
        try:
            keys = [fetch_public_key(self._kms, current)]
        except ServiceUnavailable:
            self._retry_at = self._clock() + self.FETCH_BACKOFF_SECONDS
            raise
        for key_id in previous:
            # A disabled or deleted previous key only stops its own tokens, never the current ones.
            try:
                keys.append(fetch_public_key(self._kms, key_id))
            except ServiceUnavailable:
                logger.warning("previous token key unavailable: its tokens are refused", extra={"key_id": key_id})
        self._keys = {key_fingerprint(key): key for key in keys}
        return self._keys

    def _check_header(self, segment: str) -> tuple[ec.EllipticCurvePublicKey, Delegation | None]:
        """The key a token with this header segment must be signed with, and the delegation that certified it
        (None: a token signed by KMS itself). InvalidFeedbackToken when the header is malformed, not ES256,
        names no key we accept, or carries a delegation that does not check out."""
        try:
            header = json.loads(b64url_decode(segment))
        except (ValueError, RecursionError):  # RecursionError: JSON nested deeper than the interpreter allows
            raise InvalidFeedbackToken("it is malformed") from None
        if not isinstance(header, dict):
            raise InvalidFeedbackToken("it is malformed")
        if header.get("alg") != ALGORITHM:
            raise InvalidFeedbackToken(f"only {ALGORITHM} tokens are accepted")
        kid = header.get("kid")
        kms_key = self._public_keys().get(kid) if isinstance(kid, str) else None
        if kms_key is None:
            raise InvalidFeedbackToken("it was signed by an unknown key")
        if "dlg" not in header:
            return kms_key, None
        from agentfeedback.tokens.delegation import Delegation

        delegation = Delegation.decode(header["dlg"])
        return delegation.verified_key(kms_key, self._stack), delegation

    def verify(self, token: str) -> TokenClaims:
        """The claims of a token we signed. InvalidFeedbackToken (401) for anything else, saying why;
        ServiceUnavailable (503) while the KMS public key cannot be fetched."""
        import jwt

        if not isinstance(token, str) or not token.startswith(TOKEN_PREFIX):
            raise InvalidFeedbackToken(f"it must start with '{TOKEN_PREFIX}'")
        if len(token) > MAX_TOKEN_CHARS:
            raise InvalidFeedbackToken("it is too long")
        # Tokens are ASCII; anything else (e.g. a lone surrogate, which PyJWT cannot encode) is not one.
        if not token.isascii():
            raise InvalidFeedbackToken("it is malformed")
        compact = token[len(TOKEN_PREFIX) :]
        segment = compact.partition(".")[0]
        known = self._headers.get(segment)
        key, delegation = known or self._check_header(segment)
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
        if delegation is not None:
            delegation.check_token(payload)
        if known is None:
            if len(self._headers) >= self.CACHED_HEADERS:
                del self._headers[next(iter(self._headers))]
            self._headers[segment] = (key, delegation)
        try:
            return claims_from_payload(payload)
        except (KeyError, TypeError, ValueError):
            raise InvalidFeedbackToken("its contents do not check out") from None
