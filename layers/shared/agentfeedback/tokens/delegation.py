"""Delegated token keys: a P-256 key made in a container's memory, certified by the stack's KMS key for an hour.

The pattern of TLS delegated credentials (RFC 9345): the long-lived key, which never leaves KMS, signs a short
statement about a short-lived key once, and the short-lived key signs the tokens. The statement says what the
key may sign (feedback tokens of this stack, ES256), when (not before, not after: at most one hour apart), and
how long the tokens it signs may live. Every token carries the statement's compact form and the KMS signature
(the `dlg` member of its JWS header), so a verifier needs no lookup, only the KMS public key it caches.

The statement, as KMS signs it (`MessageType=RAW`, `ECDSA_SHA_256`), UTF-8, one field a line:

    agent-feedback key delegation v1
    purpose=feedback-token
    stack=<CloudFormation stack name>
    alg=ES256
    key=<the delegated public key: compressed SEC1 point, base64url>
    not_before=<Unix seconds>
    not_after=<Unix seconds>
    token_lifetime=<seconds; 0: its tokens need no exp>

Purpose, stack and alg are not carried: a verifier writes its own, so a delegation made for anything else does
not verify. The first line holds spaces, which base64url has not, so no statement is ever the signing input of a
JWS: a delegation's KMS signature can never pass for a token signed by KMS itself (as tokens were before
delegation), nor the reverse.

The compact form: base64url (147 characters) of 110 bytes, integers unsigned big-endian:
suite (1 byte; 1 = ES256 with a compressed P-256 point, the only one) | key (33) | not_before (4) |
not_after (4) | token_lifetime (4) | the KMS signature, r || s (64).

Imported on the first signature or verification (it loads cryptography); never at a function's cold import.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from agentfeedback.core.errors import InvalidFeedbackToken, ServiceUnavailable
from agentfeedback.tokens.claims import TOKEN_PREFIX
from agentfeedback.tokens.jws import ALGORITHM, b64url, b64url_decode, der_signature, jose_signature, json_segment
from agentfeedback.tokens.kms_keys import key_fingerprint

if TYPE_CHECKING:
    from mypy_boto3_kms import KMSClient

PURPOSE = "feedback-token"
SUITE_ES256 = 1
VALIDITY_SECONDS = 3600
# What a verifier accepts: a stolen delegated key signs tokens dated at most this long (RFC 9345 allows 7 days).
MAX_VALIDITY_SECONDS = 3600
_CONTEXT = "agent-feedback key delegation v1"
_LAYOUT = struct.Struct(">B33sIII64s")
ENCODED_CHARS = len(b64url(bytes(_LAYOUT.size)))
_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())


def _refused(reason: str) -> InvalidFeedbackToken:
    return InvalidFeedbackToken(f"its key's delegation {reason}")


@dataclass(frozen=True)
class Delegation:
    """A delegated key's certificate: its public key, its signing window, its tokens' longest life, KMS's signature."""

    public_key: bytes  # compressed SEC1 point, 33 bytes
    not_before: int  # Unix seconds: the first `iat` the key may sign
    not_after: int  # Unix seconds: the last `iat` the key may sign
    token_lifetime: int  # seconds a token of this key may live (exp - iat); 0: no bound, no exp required
    signature: bytes  # the KMS key's ECDSA signature of statement(), r || s, 64 bytes
    suite: int = SUITE_ES256

    def statement(self, stack: str, purpose: str = PURPOSE, alg: str = ALGORITHM) -> bytes:
        """The bytes KMS signs (see the module's docstring). ValueError for a stack or purpose that is empty or
        holds a line break or another unprintable character."""
        for name, value in (("stack", stack), ("purpose", purpose), ("alg", alg)):
            if not value or not value.isprintable():
                raise ValueError(f"a delegation's {name} must be printable text on one line")
        fields = (
            _CONTEXT,
            f"purpose={purpose}",
            f"stack={stack}",
            f"alg={alg}",
            f"key={b64url(self.public_key)}",
            f"not_before={self.not_before}",
            f"not_after={self.not_after}",
            f"token_lifetime={self.token_lifetime}",
        )
        return "\n".join(fields).encode()

    def encode(self) -> str:
        """The compact form a token carries (147 base64url characters)."""
        packed = _LAYOUT.pack(
            self.suite, self.public_key, self.not_before, self.not_after, self.token_lifetime, self.signature
        )
        return b64url(packed)

    @classmethod
    def decode(cls, text: object) -> Delegation:
        """The delegation a token carries, as written; its signature is not checked yet (see `verified_key`).
        InvalidFeedbackToken when it is not the compact form of an ES256 delegation."""
        if not isinstance(text, str) or len(text) != ENCODED_CHARS:
            raise _refused("is malformed")
        try:
            suite, public_key, not_before, not_after, token_lifetime, signature = _LAYOUT.unpack(b64url_decode(text))
        except (ValueError, struct.error):
            raise _refused("is malformed") from None
        if suite != SUITE_ES256:
            raise _refused(f"is for another algorithm than {ALGORITHM}")
        return cls(public_key, not_before, not_after, token_lifetime, signature, suite)

    def verified_key(self, kms_public_key: ec.EllipticCurvePublicKey, stack: str) -> ec.EllipticCurvePublicKey:
        """The delegated public key, once the KMS key's signature of this stack's statement checks out.
        InvalidFeedbackToken when the window is empty or longer than MAX_VALIDITY_SECONDS, the signature is not
        the KMS key's over this stack's feedback-token ES256 statement, or the key is not a P-256 point."""
        if not 0 < self.not_after - self.not_before <= MAX_VALIDITY_SECONDS:
            raise _refused(f"is not valid for between 1 second and {MAX_VALIDITY_SECONDS} seconds")
        try:
            kms_public_key.verify(der_signature(self.signature), self.statement(stack), _ECDSA_SHA256)
        except InvalidSignature:
            raise _refused("was not signed by the stack's key for feedback tokens") from None
        try:
            return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), self.public_key)
        except ValueError:
            raise _refused("names no P-256 key") from None

    def check_token(self, payload: dict[str, Any]) -> None:
        """InvalidFeedbackToken unless the token's `iat` falls in this delegation's window and, when it bounds
        token life, the token has an `exp` at most token_lifetime after its `iat` (both whole Unix seconds)."""
        issued_at = payload.get("iat")
        if type(issued_at) is not int or not self.not_before <= issued_at <= self.not_after:
            raise _refused("did not cover the moment the token was issued")
        if self.token_lifetime:
            expires = payload.get("exp")
            if type(expires) is not int or expires - issued_at > self.token_lifetime:
                raise _refused(f"lets its tokens live at most {self.token_lifetime} seconds")


class DelegatedKey:
    """A P-256 private key that lives only in this object (never stored, never logged) and its Delegation.

    `sign(payload)` makes a token: `fb_` + a compact ES256 JWS whose protected header is
    {"alg": "ES256", "dlg": <compact delegation>, "kid": <the KMS key's fingerprint>}.
    """

    __slots__ = ("_header", "_private_key", "delegation", "kid")

    def __init__(self, private_key: ec.EllipticCurvePrivateKey, delegation: Delegation, kid: str) -> None:
        self._private_key = private_key
        self.delegation = delegation
        self.kid = kid
        # The same for every token of this key: encoded once.
        self._header = json_segment({"alg": ALGORITHM, "dlg": delegation.encode(), "kid": kid})

    def __repr__(self) -> str:
        window = f"{self.delegation.not_before}..{self.delegation.not_after}"
        return f"DelegatedKey(kid={self.kid!r}, window={window})"

    @classmethod
    def create(
        cls,
        kms: KMSClient,
        key_id: str,
        kms_public_key: ec.EllipticCurvePublicKey,
        *,
        stack: str,
        now: int,
        token_lifetime: int,
        validity: int = VALIDITY_SECONDS,
    ) -> DelegatedKey:
        """A fresh key pair, delegated from `now` (Unix seconds) for `validity` seconds by one KMS `Sign`.

        ServiceUnavailable when KMS cannot sign; RuntimeError when its signature does not verify with
        kms_public_key (the key that verifiers will use), which is a configuration mistake.
        """
        private_key = ec.generate_private_key(ec.SECP256R1())
        point = private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint
        )
        unsigned = Delegation(point, now, now + validity, token_lifetime, signature=bytes(64))
        message = unsigned.statement(stack)
        try:
            # MessageType=RAW: KMS hashes the message itself (moto mis-handles DIGEST).
            der = kms.sign(KeyId=key_id, Message=message, MessageType="RAW", SigningAlgorithm="ECDSA_SHA_256")[
                "Signature"
            ]
        except (BotoCoreError, ClientError) as exc:
            raise ServiceUnavailable("The token signing key is unavailable right now; retry shortly.") from exc
        try:
            kms_public_key.verify(der, message, _ECDSA_SHA256)
        except InvalidSignature:
            raise RuntimeError(f"KMS key {key_id} signed with another key than its public key") from None
        return cls(private_key, replace(unsigned, signature=jose_signature(der)), key_fingerprint(kms_public_key))

    def covers(self, moment: int) -> bool:
        """Whether a token issued at `moment` (Unix seconds) falls in the delegation's window."""
        return self.delegation.not_before <= moment <= self.delegation.not_after

    def sign(self, payload: dict[str, Any]) -> str:
        """A token carrying `payload` (see claims.claims_payload), signed with the delegated key."""
        signing_input = f"{self._header}.{json_segment(payload)}"
        der = self._private_key.sign(signing_input.encode("ascii"), _ECDSA_SHA256)
        return f"{TOKEN_PREFIX}{signing_input}.{b64url(jose_signature(der))}"
