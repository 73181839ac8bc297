"""Ways an attacker might bend a valid feedback token without the signing key.

Expired, future-dated and other-deployment tokens need a signer and are minted by the tests themselves.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(part: str) -> dict:
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def parts(token: str) -> tuple[dict, dict, str]:
    header, payload, signature = token.removeprefix("fb_").split(".")
    return unb64(header), unb64(payload), signature


def encode(header: dict, payload: dict, signature: str) -> str:
    return f"fb_{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}.{signature}"


def alg_none(token: str, public_der: bytes) -> str:
    header, payload, _ = parts(token)
    return encode(header | {"alg": "none"}, payload, "")


def hs256_with_public_key(token: str, public_der: bytes) -> str:
    """Algorithm confusion: an HMAC 'signed' with the public key, which the attacker can know."""
    header, payload, _ = parts(token)
    pem = serialization.load_der_public_key(public_der).public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    signing_input = f"{b64(json.dumps(header | {'alg': 'HS256'}).encode())}.{b64(json.dumps(payload).encode())}"
    return f"fb_{signing_input}.{b64(hmac.new(pem, signing_input.encode(), hashlib.sha256).digest())}"


def unknown_kid(token: str, public_der: bytes) -> str:
    header, payload, signature = parts(token)
    return encode(header | {"kid": "not-a-key-we-know"}, payload, signature)


def kid_injection(token: str, public_der: bytes) -> str:
    header, payload, signature = parts(token)
    return encode(header | {"kid": "../../../../dev/null' OR '1'='1"}, payload, signature)


def stripped_signature(token: str, public_der: bytes) -> str:
    return token.rsplit(".", 1)[0] + "."


def tampered_payload(token: str, public_der: bytes) -> str:
    header, payload, signature = parts(token)
    return encode(header, payload | {"ten": "someone-else"}, signature)


def attacker_key_same_kid(token: str, public_der: bytes) -> str:
    """Another deployment's (or an attacker's) key, claiming our key's kid."""
    header, payload, _ = parts(token)
    return "fb_" + jwt.encode(payload, ec.generate_private_key(ec.SECP256R1()), algorithm="ES256", headers=header)


def truncated(token: str, public_der: bytes) -> str:
    return token[:-12]


FORGERIES: dict[str, Callable[[str, bytes], str]] = {
    "alg none": alg_none,
    "HS256 signed with the public key": hs256_with_public_key,
    "unknown kid": unknown_kid,
    "kid injection": kid_injection,
    "signature stripped": stripped_signature,
    "payload tampered": tampered_payload,
    "another key claiming our kid": attacker_key_same_kid,
    "truncated": truncated,
}
