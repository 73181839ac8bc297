"""Tokens as they were minted before key delegation: every token signed by KMS itself (one `Sign` each).

No function mints these any more; the verifier still accepts them until they expire. KmsTokenSigner is the
old signer, byte for byte in what it produces (header {"alg", "kid", "typ"}, KMS `Sign` with
MessageType=RAW, DER -> JOSE), so the tests can hand the verifier a token from before the change, and
bench/kms_calls.py can count the old design's KMS calls beside the new one's. `verify_before_delegation` is
the old verifier's warm path, for bench/warm_feedback.py to time today's verification beside the new one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from agentfeedback.core.errors import InvalidFeedbackToken
from agentfeedback.tokens import TokenClaims
from agentfeedback.tokens.claims import MAX_TOKEN_CHARS, TOKEN_PREFIX, claims_from_payload, claims_payload
from agentfeedback.tokens.jws import b64url, jose_signature, json_segment
from agentfeedback.tokens.kms_keys import fetch_public_key, key_fingerprint


class KmsTokenSigner:
    """The pre-delegation TokenSigner: a KMS `Sign` per token, the KMS key's fingerprint as `kid`."""

    def __init__(self, kms: Any, key_id: str, lifetime_days: int, clock: Callable[[], float] = time.time) -> None:
        self._kms = kms
        self._key_id = key_id
        self._lifetime_seconds = lifetime_days * 86400
        self._clock = clock
        self._kid: str | None = None

    def mint(self, claims: TokenClaims) -> str:
        if self._kid is None:
            self._kid = key_fingerprint(fetch_public_key(self._kms, self._key_id))
        header = {"alg": "ES256", "typ": "JWT", "kid": self._kid}
        payload = claims_payload(claims, int(self._clock()), self._lifetime_seconds)
        signing_input = f"{json_segment(header)}.{json_segment(payload)}"
        message = signing_input.encode("ascii")
        der = self._kms.sign(KeyId=self._key_id, Message=message, MessageType="RAW", SigningAlgorithm="ECDSA_SHA_256")[
            "Signature"
        ]
        return f"{TOKEN_PREFIX}{signing_input}.{b64url(jose_signature(der))}"


def verify_before_delegation(token: str, keys: dict[str, Any], required: list[str], leeway: int = 30) -> TokenClaims:
    """The pre-delegation TokenVerifier.verify, its KMS public keys (kid -> key) already fetched."""
    import jwt

    if not isinstance(token, str) or not token.startswith(TOKEN_PREFIX):
        raise InvalidFeedbackToken(f"it must start with '{TOKEN_PREFIX}'")
    if len(token) > MAX_TOKEN_CHARS:
        raise InvalidFeedbackToken("it is too long")
    if not token.isascii():
        raise InvalidFeedbackToken("it is malformed")
    compact = token[len(TOKEN_PREFIX) :]
    try:
        header = jwt.get_unverified_header(compact)
    except jwt.InvalidTokenError:
        raise InvalidFeedbackToken("it is malformed") from None
    if header.get("alg") != "ES256":
        raise InvalidFeedbackToken("only ES256 tokens are accepted")
    kid = header.get("kid")
    key = keys.get(kid) if isinstance(kid, str) else None
    if key is None:
        raise InvalidFeedbackToken("it was signed by an unknown key")
    try:
        payload = jwt.decode(compact, key, algorithms=["ES256"], leeway=leeway, options={"require": required})
    except jwt.ExpiredSignatureError:
        raise InvalidFeedbackToken("it has expired") from None
    except jwt.ImmatureSignatureError:
        raise InvalidFeedbackToken("it is dated in the future") from None
    except jwt.InvalidTokenError:
        raise InvalidFeedbackToken("its signature or contents do not check out") from None
    try:
        return claims_from_payload(payload)
    except ValueError:
        raise InvalidFeedbackToken("its contents do not check out") from None
