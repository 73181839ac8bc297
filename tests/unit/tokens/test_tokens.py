"""Feedback tokens: what they carry, and every way a bad one is refused."""

from __future__ import annotations

import json
import time

import pytest

from agentfeedback.core.errors import InvalidFeedbackToken
from agentfeedback.core.http_api import status_of
from agentfeedback.tokens import TokenClaims
from agentfeedback.tokens.delegation import ENCODED_CHARS
from agentfeedback.tokens.verifier import TokenVerifier
from tests.forged_tokens import FORGERIES, encode, parts
from tests.legacy_tokens import KmsTokenSigner

CLAIMS = TokenClaims(tenant="acme", agent_id="support-bot", run_id="run-1", version_id="v1")


def refused(verifier: TokenVerifier, token: str) -> str:
    with pytest.raises(InvalidFeedbackToken) as caught:
        verifier.verify(token)
    assert status_of(caught.value) == 401
    assert caught.value.code == "invalid_feedback_token"
    return caught.value.message


@pytest.fixture
def verifier(aws) -> TokenVerifier:
    return aws.verifier()


def test_minted_token_round_trips_to_its_claims(aws, verifier):
    token = aws.signer().mint(CLAIMS)
    assert token.startswith("fb_")
    assert verifier.verify(token) == CLAIMS


def test_token_is_url_safe_and_reveals_only_its_binding(aws):
    token = aws.signer().mint(CLAIMS)
    assert all(c.isalnum() or c in "._-" for c in token)
    header, payload, _ = parts(token)
    assert set(header) == {"alg", "dlg", "kid"} and header["alg"] == "ES256"
    assert len(header["dlg"]) == ENCODED_CHARS
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


@pytest.mark.parametrize("attack", sorted(FORGERIES))
def test_forged_token_is_refused(aws, verifier, attack):
    public_der = aws.kms.get_public_key(KeyId=aws.key_arn)["PublicKey"]
    refused(verifier, FORGERIES[attack](aws.signer().mint(CLAIMS), public_der))


def test_token_from_another_kms_key_is_refused(aws, verifier):
    other_key = aws.create_token_key()
    assert "unknown key" in refused(verifier, aws.signer(key_arn=other_key).mint(CLAIMS))


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


@pytest.mark.parametrize("kid", [None, 42, ["x"], {"a": 1}])
def test_kid_that_is_not_a_string_is_refused(aws, verifier, kid):
    header, payload, signature = parts(aws.signer().mint(CLAIMS))
    new_header = {k: v for k, v in header.items() if k != "kid"} | ({"kid": kid} if kid is not None else {})
    refused(verifier, encode(new_header, payload, signature))


def test_previous_key_is_still_accepted_during_rotation(aws):
    old_key = aws.create_token_key()
    old_token = aws.signer(key_arn=old_key).mint(CLAIMS)
    rotated = aws.verifier(aws.key_arn, old_key)
    assert rotated.verify(old_token) == CLAIMS
    assert rotated.verify(aws.signer().mint(CLAIMS)) == CLAIMS
    assert "unknown key" in refused(aws.verifier(), old_token)


def test_kms_signs_once_per_container_and_verification_makes_no_kms_call(aws, verifier):
    calls: list[str] = []
    aws.kms.meta.events.register("before-call.kms.*", lambda model, **_: calls.append(model.name))
    signer = aws.signer()
    tokens = [signer.mint(CLAIMS) for _ in range(50)]
    for token in tokens:
        verifier.verify(token)
    for _ in range(20):
        with pytest.raises(InvalidFeedbackToken):
            verifier.verify(tokens[0][:-5] + "AAAAA")
    assert calls.count("Sign") == 1  # the delegation; every token after it is signed in memory
    assert calls.count("GetPublicKey") == 2  # one for the signer's kid, one for the verifier; then cached
    assert len(calls) == 3


def test_claims_must_be_short_non_empty_strings():
    with pytest.raises(ValueError):
        TokenClaims(tenant="", agent_id="a", run_id="r", version_id="v")
    with pytest.raises(ValueError):
        TokenClaims(tenant="t", agent_id="a" * 200, run_id="r", version_id="v")


def test_token_without_expiry_is_refused_once_a_lifetime_is_configured(aws):
    forever = aws.signer(lifetime_days=0).mint(CLAIMS)
    assert aws.verifier().verify(forever) == CLAIMS
    assert "contents" in refused(aws.verifier(require_expiry=True), forever)
    assert aws.verifier(require_expiry=True).verify(aws.signer().mint(CLAIMS)) == CLAIMS


def test_an_unavailable_previous_key_does_not_stop_current_tokens(aws):
    retired = aws.create_token_key()
    old_token = aws.signer(key_arn=retired).mint(CLAIMS)

    def disabled(params, model, **_):
        if params["KeyId"] == retired:
            raise aws.kms.exceptions.DisabledException({"Error": {"Code": "DisabledException"}}, model.name)

    aws.kms.meta.events.register("before-parameter-build.kms.GetPublicKey", disabled)
    verifier = aws.verifier(aws.key_arn, retired)
    assert verifier.verify(aws.signer().mint(CLAIMS)) == CLAIMS
    assert "unknown key" in refused(verifier, old_token)


def test_kms_outage_is_a_503_and_kms_is_not_asked_again_for_a_while(aws):
    from agentfeedback.core.errors import ServiceUnavailable

    calls: list[str] = []

    def fail(model, **_):
        calls.append(model.name)
        raise aws.kms.exceptions.KMSInternalException({"Error": {"Code": "KMSInternalException"}}, model.name)

    now = [1000.0]
    token = aws.signer().mint(CLAIMS)
    verifier = aws.verifier(clock=lambda: now[0])
    aws.kms.meta.events.register("before-call.kms.GetPublicKey", fail)
    for _ in range(50):
        with pytest.raises(ServiceUnavailable):
            verifier.verify(token)
    assert len(calls) == 1
    aws.kms.meta.events.unregister("before-call.kms.GetPublicKey", fail)
    now[0] += TokenVerifier.FETCH_BACKOFF_SECONDS + 1
    assert verifier.verify(token) == CLAIMS


# -- tokens minted before key delegation (signed by KMS itself) ---------------------------------------------


def test_a_token_minted_before_delegation_still_verifies(aws, verifier):
    legacy = KmsTokenSigner(aws.kms, aws.key_arn, 30).mint(CLAIMS)
    assert "dlg" not in parts(legacy)[0]
    assert verifier.verify(legacy) == CLAIMS


def test_a_token_minted_before_delegation_still_expires(aws, verifier):
    legacy = KmsTokenSigner(aws.kms, aws.key_arn, 1, clock=lambda: time.time() - 2 * 86400).mint(CLAIMS)
    assert "expired" in refused(verifier, legacy)


def test_a_token_minted_before_delegation_by_a_previous_key_still_verifies_during_rotation(aws):
    old_key = aws.create_token_key()
    legacy = KmsTokenSigner(aws.kms, old_key, 30).mint(CLAIMS)
    assert aws.verifier(aws.key_arn, old_key).verify(legacy) == CLAIMS
    assert "unknown key" in refused(aws.verifier(), legacy)


@pytest.mark.parametrize("attack", sorted(FORGERIES))
def test_forged_tokens_of_the_old_form_are_refused(aws, verifier, attack):
    public_der = aws.kms.get_public_key(KeyId=aws.key_arn)["PublicKey"]
    refused(verifier, FORGERIES[attack](KmsTokenSigner(aws.kms, aws.key_arn, 30).mint(CLAIMS), public_der))
