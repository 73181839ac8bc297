"""Ways an attacker might bend a valid feedback token without the signing key, and attacks on key delegation.

Expired, future-dated and other-deployment tokens need a signer and are minted by the tests themselves.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import jwt
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from agentfeedback.tokens import MAX_TOKEN_CHARS, TokenClaims
from agentfeedback.tokens.claims import claims_payload
from agentfeedback.tokens.delegation import MAX_VALIDITY_SECONDS, PURPOSE, VALIDITY_SECONDS, DelegatedKey, Delegation
from agentfeedback.tokens.jws import jose_signature
from agentfeedback.tokens.kms_keys import key_fingerprint


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


def header_nested_too_deep(token: str, public_der: bytes) -> str:
    """JSON nested past Python's recursion limit (1,000): its parser raises RecursionError, not a ValueError.
    Still within the 2,048 characters a token may have, so that the header is parsed."""
    _, payload, signature = token.removeprefix("fb_").split(".")
    forged = f"fb_{b64(b'[' * 1200)}.{payload}.{signature}"
    assert len(forged) <= MAX_TOKEN_CHARS, len(forged)
    return forged


FORGERIES: dict[str, Callable[[str, bytes], str]] = {
    "alg none": alg_none,
    "HS256 signed with the public key": hs256_with_public_key,
    "unknown kid": unknown_kid,
    "kid injection": kid_injection,
    "signature stripped": stripped_signature,
    "payload tampered": tampered_payload,
    "another key claiming our kid": attacker_key_same_kid,
    "truncated": truncated,
    "header nested too deep": header_nested_too_deep,
}


# -- attacks on key delegation ------------------------------------------------------------------------------
#
# Each builds a token from what an attacker could hold (genuine tokens, an in-memory key stolen from a run
# container, their own keys) or from a statement the stack's KMS key was somehow made to sign for something
# else (another stack or purpose sharing the key, another algorithm, a longer window). Every one must be
# refused with 401 invalid_feedback_token; `reason` is a part of the refusal's message, so that a test shows
# which check refused it.


def _payload(run_id: str, issued_at: int | None = None, lifetime: int = 30 * 86400) -> dict:
    issued_at = int(time.time()) if issued_at is None else issued_at
    claims = TokenClaims(tenant="acme", agent_id="support-bot", run_id=run_id, version_id="1")
    return claims_payload(claims, issued_at, lifetime)


def signed(header: dict, payload: dict, private_key: ec.EllipticCurvePrivateKey) -> str:
    """A compact ES256 JWS of any header and payload, signed with any P-256 key."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}"
    der = private_key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
    return f"fb_{signing_input}.{b64(jose_signature(der))}"


def _compressed(private_key: ec.EllipticCurvePrivateKey) -> bytes:
    return private_key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint
    )


@dataclass
class Forger:
    """What the attacks are made with, against one stack's token key (moto's KMS, in-process or in server mode)."""

    kms: Any
    key_arn: str
    stack: str
    mint: Callable[[str], str]  # run_id -> a genuine token of the stack (as a run would return)
    mint_elsewhere: Callable[[str], str]  # the same from another container: another delegated key

    def kid(self, key_arn: str | None = None) -> str:
        der = self.kms.get_public_key(KeyId=key_arn or self.key_arn)["PublicKey"]
        return key_fingerprint(serialization.load_der_public_key(der))

    def other_kms_key(self) -> str:
        return self.kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["Arn"]

    def delegated(
        self,
        *,
        key_arn: str | None = None,
        stack: str | None = None,
        purpose: str = PURPOSE,
        alg: str = "ES256",
        not_before: int | None = None,
        validity: int = VALIDITY_SECONDS,
        token_lifetime: int = 30 * 86400,
        point: bytes | None = None,
    ) -> tuple[DelegatedKey, ec.EllipticCurvePrivateKey]:
        """A key whose delegation statement a KMS key really signed (ours unless key_arn), saying what it is told,
        and its private half (as if stolen from a run container's memory)."""
        private_key = ec.generate_private_key(ec.SECP256R1())
        start = int(time.time()) if not_before is None else not_before
        unsigned = Delegation(point or _compressed(private_key), start, start + validity, token_lifetime, bytes(64))
        message = unsigned.statement(stack or self.stack, purpose, alg)
        der = self.kms.sign(
            KeyId=key_arn or self.key_arn, Message=message, MessageType="RAW", SigningAlgorithm="ECDSA_SHA_256"
        )["Signature"]
        return DelegatedKey(private_key, replace(unsigned, signature=jose_signature(der)), self.kid()), private_key

    def header(self, delegation: Delegation, kid: str | None = None) -> dict:
        return {"alg": "ES256", "dlg": delegation.encode(), "kid": kid or self.kid()}


def delegation_by_another_kms_key_naming_it(forger: Forger, run_id: str) -> str:
    other = forger.other_kms_key()
    key, private_key = forger.delegated(key_arn=other)
    return signed(forger.header(key.delegation, kid=forger.kid(other)), _payload(run_id), private_key)


def delegation_by_another_kms_key_claiming_ours(forger: Forger, run_id: str) -> str:
    key, private_key = forger.delegated(key_arn=forger.other_kms_key())
    return signed(forger.header(key.delegation), _payload(run_id), private_key)


def delegation_signature_of_random_bytes(forger: Forger, run_id: str) -> str:
    private_key = ec.generate_private_key(ec.SECP256R1())
    now = int(time.time())
    fake = Delegation(_compressed(private_key), now, now + 3600, 30 * 86400, os.urandom(64))
    return signed(forger.header(fake), _payload(run_id), private_key)


def delegation_window_widened(forger: Forger, run_id: str) -> str:
    """A stolen delegated key, its window moved a day on without KMS: the signature no longer matches."""
    key, private_key = forger.delegated()
    window = key.delegation
    later = replace(window, not_before=window.not_before + 86400, not_after=window.not_after + 86400)
    return signed(forger.header(later), _payload(run_id), private_key)


def delegation_token_lifetime_raised(forger: Forger, run_id: str) -> str:
    key, private_key = forger.delegated(token_lifetime=86400)
    raised = replace(key.delegation, token_lifetime=4_000_000_000)
    return signed(forger.header(raised), _payload(run_id, lifetime=3_000_000_000), private_key)


def token_signed_by_another_key_than_the_delegated_one(forger: Forger, run_id: str) -> str:
    genuine_header, _, _ = parts(forger.mint(f"{run_id}-genuine"))
    return signed(genuine_header, _payload(run_id), ec.generate_private_key(ec.SECP256R1()))


def token_issued_after_its_delegation_ended(forger: Forger, run_id: str) -> str:
    two_hours_ago = int(time.time()) - 7200
    key, _ = forger.delegated(not_before=two_hours_ago)  # ended an hour ago
    return key.sign(_payload(run_id, issued_at=key.delegation.not_after + 60))


def token_issued_before_its_delegation_began(forger: Forger, run_id: str) -> str:
    key, _ = forger.delegated()
    return key.sign(_payload(run_id, issued_at=key.delegation.not_before - 60))


def token_outliving_its_delegation_bound(forger: Forger, run_id: str) -> str:
    key, _ = forger.delegated(token_lifetime=86400)
    return key.sign(_payload(run_id, lifetime=10 * 365 * 86400))


def delegation_for_another_stack(forger: Forger, run_id: str) -> str:
    return forger.delegated(stack=f"{forger.stack}-other")[0].sign(_payload(run_id))


def delegation_for_another_purpose(forger: Forger, run_id: str) -> str:
    return forger.delegated(purpose="review-link")[0].sign(_payload(run_id))


def delegation_for_another_algorithm_in_its_statement(forger: Forger, run_id: str) -> str:
    return forger.delegated(alg="ES384")[0].sign(_payload(run_id))


def delegation_for_another_algorithm_suite(forger: Forger, run_id: str) -> str:
    key, private_key = forger.delegated()
    return signed(forger.header(replace(key.delegation, suite=2)), _payload(run_id), private_key)


def delegation_longer_than_the_maximum(forger: Forger, run_id: str) -> str:
    return forger.delegated(validity=MAX_VALIDITY_SECONDS + 1)[0].sign(_payload(run_id))


def delegation_of_a_point_not_on_the_curve(forger: Forger, run_id: str) -> str:
    return forger.delegated(point=b"\x02" + b"\xff" * 32)[0].sign(_payload(run_id))


def delegation_swapped_from_another_token(forger: Forger, run_id: str) -> str:
    """Two genuine tokens from two containers (two delegations): the first one's header gets the second's."""
    first, second = forger.mint(run_id), forger.mint_elsewhere(f"{run_id}-b")
    header, payload, signature = parts(first)
    other_header, _, _ = parts(second)
    assert header["dlg"] != other_header["dlg"]
    return encode(header | {"dlg": other_header["dlg"]}, payload, signature)


def delegation_stripped(forger: Forger, run_id: str) -> str:
    """Downgrade: drop `dlg`, so that the token looks like one signed by KMS itself."""
    header, payload, signature = parts(forger.mint(run_id))
    return encode({name: value for name, value in header.items() if name != "dlg"}, payload, signature)


@dataclass(frozen=True)
class DelegationAttack:
    forge: Callable[[Forger, str], str]
    reason: str  # a part of the refusal's message: the check that refuses it


NOT_OURS = "was not signed by the stack's key for feedback tokens"
BAD_SIGNATURE = "signature or contents do not check out"
DELEGATION_ATTACKS: dict[str, DelegationAttack] = {
    "delegation signed by another KMS key (its own kid)": DelegationAttack(
        delegation_by_another_kms_key_naming_it, "unknown key"
    ),
    "delegation signed by another KMS key (our kid)": DelegationAttack(
        delegation_by_another_kms_key_claiming_ours, NOT_OURS
    ),
    "delegation signature of random bytes": DelegationAttack(delegation_signature_of_random_bytes, NOT_OURS),
    "delegation window widened without KMS": DelegationAttack(delegation_window_widened, NOT_OURS),
    "delegation token lifetime raised without KMS": DelegationAttack(delegation_token_lifetime_raised, NOT_OURS),
    "token signed by another key than the delegated one": DelegationAttack(
        token_signed_by_another_key_than_the_delegated_one, BAD_SIGNATURE
    ),
    "token issued after its delegation ended": DelegationAttack(
        token_issued_after_its_delegation_ended, "did not cover the moment"
    ),
    "token issued before its delegation began": DelegationAttack(
        token_issued_before_its_delegation_began, "did not cover the moment"
    ),
    "token outliving its delegation's token lifetime": DelegationAttack(
        token_outliving_its_delegation_bound, "lets its tokens live at most"
    ),
    "delegation for another stack": DelegationAttack(delegation_for_another_stack, NOT_OURS),
    "delegation for another purpose": DelegationAttack(delegation_for_another_purpose, NOT_OURS),
    "delegation for ES384 (statement)": DelegationAttack(delegation_for_another_algorithm_in_its_statement, NOT_OURS),
    "delegation for another algorithm suite": DelegationAttack(
        delegation_for_another_algorithm_suite, "another algorithm than ES256"
    ),
    "delegation longer than the maximum validity": DelegationAttack(
        delegation_longer_than_the_maximum, "not valid for between"
    ),
    "delegation of a point not on the curve": DelegationAttack(delegation_of_a_point_not_on_the_curve, "no P-256 key"),
    "delegation swapped in from another token": DelegationAttack(delegation_swapped_from_another_token, BAD_SIGNATURE),
    "delegation stripped (downgrade to a KMS-signed token)": DelegationAttack(delegation_stripped, BAD_SIGNATURE),
}
