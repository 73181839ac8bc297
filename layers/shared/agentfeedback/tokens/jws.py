"""The pieces of a compact JWS (RFC 7515) that tokens build by hand: base64url, JSON segments, ES256 signatures.

ECDSA signatures come in two forms: DER (what KMS and cryptography produce and take) and JOSE's fixed 64 bytes,
r || s as 32-byte big-endian integers (RFC 7518 section 3.4), which tokens and delegations carry.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

ALGORITHM = "ES256"
_COORDINATE_BYTES = 32  # P-256
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")


def b64url(data: bytes) -> str:
    """base64url without padding (RFC 7515 section 2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """The bytes of an unpadded base64url text in its one canonical spelling; ValueError for anything else
    (other characters, padding, an impossible length, or unused bits that are not zero)."""
    if not _BASE64URL.fullmatch(text) or len(text) % 4 == 1:
        raise ValueError("not base64url")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error:
        raise ValueError("not base64url") from None
    if b64url(data) != text:
        raise ValueError("not the canonical base64url spelling")
    return data


def json_segment(value: dict[str, Any]) -> str:
    """A header or payload segment: compact JSON with sorted keys, base64url-encoded."""
    return b64url(json.dumps(value, separators=(",", ":"), sort_keys=True).encode())


def jose_signature(der: bytes) -> bytes:
    """DER ECDSA signature -> JOSE's r || s (64 bytes for P-256). ValueError if it is not DER."""
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    r, s = decode_dss_signature(der)
    return r.to_bytes(_COORDINATE_BYTES, "big") + s.to_bytes(_COORDINATE_BYTES, "big")


def der_signature(jose: bytes) -> bytes:
    """JOSE's r || s (64 bytes) -> DER, as cryptography's verify() takes it. ValueError for another length."""
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

    if len(jose) != 2 * _COORDINATE_BYTES:
        raise ValueError("an ES256 signature is 64 bytes")
    return encode_dss_signature(
        int.from_bytes(jose[:_COORDINATE_BYTES], "big"), int.from_bytes(jose[_COORDINATE_BYTES:], "big")
    )
