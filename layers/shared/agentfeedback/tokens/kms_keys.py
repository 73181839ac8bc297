"""The stack's KMS token keys, seen from outside KMS: their public halves and the `kid` that names them."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from agentfeedback.core.errors import ServiceUnavailable
from agentfeedback.tokens.jws import b64url

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import ec
    from mypy_boto3_kms import KMSClient


def key_fingerprint(public_key: ec.EllipticCurvePublicKey) -> str:
    """The `kid`: 16 base64url characters of the SHA-256 of the key's DER SubjectPublicKeyInfo, so a token names
    its KMS key without naming the key's ARN (or account)."""
    from cryptography.hazmat.primitives import serialization

    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return b64url(hashlib.sha256(der).digest()[:12])


def fetch_public_key(kms: KMSClient, key_id: str) -> ec.EllipticCurvePublicKey:
    """One `GetPublicKey`. ServiceUnavailable when KMS cannot answer; RuntimeError when the key is not
    ECC_NIST_P256 (a configuration mistake, not a passing fault)."""
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
