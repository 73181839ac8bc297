"""Feedback tokens: what they carry, and every way a bad one is refused."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from agentfeedback.errors import InvalidFeedbackToken
from agentfeedback.tokens import TokenClaims, TokenVerifier

CLAIMS = TokenClaims(tenant="acme", agent_id="support-bot", run_id="run-1", version_id="v1")


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def parts(token: str) -> tuple[dict, dict, str]:
    header, payload, signature = token.removeprefix("fb_").split(".")
    pad = lambda s: s + "=" * (-len(s) % 4)  # noqa: E731
    return (
        json.loads(base64.urlsafe_b64decode(pad(header))),
        json.loads(base64.urlsafe_b64decode(pad(payload))),
        signature,
    )


def refused(verifier: TokenVerifier, token: str) -> str:
    with pytest.raises(InvalidFeedbackToken) as caught:
        verifier.verify(token)
    assert caught.value.status_code == 401
    assert caught.value.code == "invalid_feedback_token"
    return caught.value.message


@pytest.fixture
def verifier(aws) -> TokenVerifier:
    return TokenVerifier(aws.kms, [aws.key_arn])


def test_minted_token_round_trips_to_its_claims(aws, verifier):
    token = aws.signer().mint(CLAIMS)
    assert token.startswith("fb_")
    assert verifier.verify(token) == CLAIMS


def test_token_is_url_safe_and_reveals_only_its_binding(aws):
    token = aws.signer().mint(CLAIMS)
    assert all(c.isalnum() or c in "._-" for c in token)
    header, payload, _ = parts(token)
    assert header["alg"] == "ES256" and header["typ"] == "JWT"
    assert aws.key_arn not in json.dumps(header)  # the kid is a key fingerprint, not the KMS key's name
    assert set(payload) == {"ten", "agt", "run", "ver", "iat", "exp"}
    assert payload["exp"] - payload["iat"] == 30 * 86400


def test_zero_lifetime_means_no_expiry(aws, verifier):
    token = aws.signer(lifetime_days=0).mint(CLAIMS)
    assert "exp" not in parts(token)[1]
    assert verifier.verify(token) == CLAIMS


def test_expired_token_is_refused(aws, verifier):
    token = aws.signer(lifetime_days=1, clock=lambda: time.time() - 2 * 86400).mint(CLAIMS)
    assert "expired" in refused(verifier, token)


def test_future_dated_token_is_refused(aws, verifier):
    token = aws.signer(clock=lambda: time.time() + 3600).mint(CLAIMS)
    assert "future" in refused(verifier, token)


def test_tampered_payload_is_refused(aws, verifier):
    header, _payload, signature = aws.signer().mint(CLAIMS).removeprefix("fb_").split(".")
    claims = parts(aws.signer().mint(CLAIMS))[1] | {"ten": "other-tenant"}
    forged_payload = b64(json.dumps(claims).encode())
    refused(verifier, f"fb_{header}.{forged_payload}.{signature}")


def test_signature_from_another_private_key_is_refused(aws, verifier):
    header, payload, _ = aws.signer().mint(CLAIMS).removeprefix("fb_").split(".")
    attacker = ec.generate_private_key(ec.SECP256R1())
    forged = jwt.encode(
        parts(aws.signer().mint(CLAIMS))[1], attacker, algorithm="ES256", headers=parts(f"fb_{header}.{payload}.x")[0]
    )
    refused(verifier, "fb_" + forged)


def test_token_from_another_kms_key_is_refused(aws, verifier):
    other_key = aws.create_token_key()
    assert "unknown key" in refused(verifier, aws.signer(key_arn=other_key).mint(CLAIMS))


def test_alg_none_is_refused(aws, verifier):
    header, payload, _ = parts(aws.signer().mint(CLAIMS))
    unsigned = f"{b64(json.dumps(header | {'alg': 'none'}).encode())}.{b64(json.dumps(payload).encode())}."
    assert "ES256" in refused(verifier, "fb_" + unsigned)


def test_hs256_signed_with_the_public_key_is_refused(aws, verifier):
    header, payload, _ = parts(aws.signer().mint(CLAIMS))
    public_pem = aws.kms.get_public_key(KeyId=aws.key_arn)["PublicKey"]
    pem = serialization.load_der_public_key(public_pem).public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    signing_input = f"{b64(json.dumps(header | {'alg': 'HS256'}).encode())}.{b64(json.dumps(payload).encode())}"
    import hashlib
    import hmac

    signature = b64(hmac.new(pem, signing_input.encode(), hashlib.sha256).digest())
    refused(verifier, f"fb_{signing_input}.{signature}")


def test_stripped_signature_is_refused(aws, verifier):
    header, payload, _ = aws.signer().mint(CLAIMS).removeprefix("fb_").split(".")
    refused(verifier, f"fb_{header}.{payload}.")


@pytest.mark.parametrize("cut", [1, 10, 40])
def test_truncated_token_is_refused(aws, verifier, cut):
    token = aws.signer().mint(CLAIMS)
    refused(verifier, token[:-cut])


@pytest.mark.parametrize(
    "token",
    ["", "fb_", "not-a-token", "fb_a.b.c", "fb_" + "A" * 3000, "eyJhbGciOiJFUzI1NiJ9.e30.sig", "fb_...."],
)
def test_garbage_is_refused(verifier, token):
    refused(verifier, token)


@pytest.mark.parametrize("kid", [None, 42, ["x"], {"a": 1}, "../../etc/passwd", "' OR 1=1 --"])
def test_unknown_or_injected_kid_is_refused(aws, verifier, kid):
    header, payload, signature = parts(aws.signer().mint(CLAIMS))
    new_header = {k: v for k, v in header.items() if k != "kid"} | ({"kid": kid} if kid is not None else {})
    refused(verifier, f"fb_{b64(json.dumps(new_header).encode())}.{b64(json.dumps(payload).encode())}.{signature}")


def test_previous_key_is_still_accepted_during_rotation(aws):
    old_key = aws.create_token_key()
    old_token = aws.signer(key_arn=old_key).mint(CLAIMS)
    rotated = TokenVerifier(aws.kms, [aws.key_arn, old_key])
    assert rotated.verify(old_token) == CLAIMS
    assert rotated.verify(aws.signer().mint(CLAIMS)) == CLAIMS
    assert "unknown key" in refused(TokenVerifier(aws.kms, [aws.key_arn]), old_token)


def test_public_key_is_fetched_once_and_verification_makes_no_kms_call(aws, verifier):
    calls: list[str] = []
    aws.kms.meta.events.register("before-call.kms.*", lambda model, **_: calls.append(model.name))
    signer = aws.signer()
    tokens = [signer.mint(CLAIMS) for _ in range(5)]
    for token in tokens:
        verifier.verify(token)
    for _ in range(20):
        with pytest.raises(InvalidFeedbackToken):
            verifier.verify(tokens[0][:-5] + "AAAAA")
    assert calls.count("Sign") == 5
    assert calls.count("GetPublicKey") == 2  # one for the signer's kid, one for the verifier; then cached


def test_claims_must_be_short_non_empty_strings():
    with pytest.raises(ValueError):
        TokenClaims(tenant="", agent_id="a", run_id="r", version_id="v")
    with pytest.raises(ValueError):
        TokenClaims(tenant="t", agent_id="a" * 200, run_id="r", version_id="v")
