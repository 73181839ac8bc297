"""Key delegation: one KMS Sign per container and hour, tokens signed in memory, and every attack on it refused."""

from __future__ import annotations

import base64
import logging
import string
import time

import pytest

from agentfeedback.core.errors import InvalidFeedbackToken, ServiceUnavailable
from agentfeedback.core.http_api import status_of
from agentfeedback.tokens import TokenClaims
from agentfeedback.tokens.delegation import (
    ENCODED_CHARS,
    MAX_VALIDITY_SECONDS,
    VALIDITY_SECONDS,
    Delegation,
)
from agentfeedback.tokens.jws import b64url_decode
from agentfeedback.tokens.signer import TokenSigner
from agentfeedback.tokens.verifier import TokenVerifier
from tests.forged_tokens import DELEGATION_ATTACKS, Forger, encode, parts
from tests.helpers import PastClock

CLAIMS = TokenClaims(tenant="acme", agent_id="support-bot", run_id="run-1", version_id="v1")


def refused(verifier: TokenVerifier, token: str) -> str:
    with pytest.raises(InvalidFeedbackToken) as caught:
        verifier.verify(token)
    assert status_of(caught.value) == 401 and caught.value.code == "invalid_feedback_token"
    return caught.value.message


def kms_calls(aws) -> list[str]:
    calls: list[str] = []
    aws.kms.meta.events.register("before-call.kms.*", lambda model, **_: calls.append(model.name))
    return calls


def kms_down(aws, operation: str = "Sign"):
    def fail(model, **_):
        raise aws.kms.exceptions.KMSInternalException({"Error": {"Code": "KMSInternalException"}}, model.name)

    aws.kms.meta.events.register(f"before-call.kms.{operation}", fail, unique_id=f"down-{operation}")
    return lambda: aws.kms.meta.events.unregister(f"before-call.kms.{operation}", unique_id=f"down-{operation}")


def dlg(token: str) -> Delegation:
    return Delegation.decode(parts(token)[0]["dlg"])


# -- every attack on delegation ------------------------------------------------------------------------------


@pytest.fixture
def forger(aws) -> Forger:
    here, elsewhere = aws.signer(), aws.signer()  # two containers: two delegated keys

    def minted_by(signer: TokenSigner):
        return lambda run_id: signer.mint(
            TokenClaims(tenant="acme", agent_id="support-bot", run_id=run_id, version_id="1")
        )

    return Forger(aws.kms, aws.key_arn, aws.stack, minted_by(here), minted_by(elsewhere))


@pytest.mark.parametrize("attack", sorted(DELEGATION_ATTACKS))
def test_attack_on_delegation_is_refused_by_the_check_meant_for_it(aws, forger, attack):
    verifier = aws.verifier(require_expiry=True)
    case = DELEGATION_ATTACKS[attack]
    assert case.reason in refused(verifier, case.forge(forger, "run-attacked"))
    # The genuine tokens of the same verifier still pass, so the refusal was about the attack.
    assert verifier.verify(forger.mint("run-genuine")).run_id == "run-genuine"


@pytest.mark.parametrize(
    "value",
    [42, None, ["x"], {"a": 1}, "", "A" * (ENCODED_CHARS - 1), "A" * (ENCODED_CHARS + 1), "*" * ENCODED_CHARS],
)
def test_a_malformed_delegation_is_refused(aws, forger, value):
    header, payload, signature = parts(forger.mint("run-1"))
    assert "malformed" in refused(aws.verifier(), encode(header | {"dlg": value}, payload, signature))


def test_a_delegation_spelled_another_way_is_refused(aws, forger):
    header, payload, signature = parts(forger.mint("run-1"))
    # 110 bytes use 880 of the 882 bits of 147 base64url characters: setting a spare bit keeps the bytes.
    alphabet = string.ascii_uppercase + string.ascii_lowercase + string.digits + "-_"
    respelled = header["dlg"][:-1] + alphabet[alphabet.index(header["dlg"][-1]) ^ 1]
    assert b64url_decode(header["dlg"]) == base64.urlsafe_b64decode(respelled + "=")
    assert respelled != header["dlg"]
    assert "malformed" in refused(aws.verifier(), encode(header | {"dlg": respelled}, payload, signature))


# -- the signer: one Sign per container and hour ------------------------------------------------------------


def test_one_delegation_signs_every_token_of_the_hour(aws):
    clock = PastClock()
    calls = kms_calls(aws)
    signer = aws.signer(clock=clock)
    tokens = []
    for _ in range(50):
        tokens.append(signer.mint(CLAIMS))
        clock.now += 60  # 50 minutes in all: inside the hour, before renewal
    assert calls == ["GetPublicKey", "Sign"]
    assert len({parts(token)[0]["dlg"] for token in tokens}) == 1
    delegation = dlg(tokens[0])
    assert delegation.not_after - delegation.not_before == VALIDITY_SECONDS
    verifier = aws.verifier()
    for token in tokens:
        assert verifier.verify(token) == CLAIMS
        payload = parts(token)[1]
        assert delegation.not_before <= payload["iat"] <= delegation.not_after
        assert payload["exp"] - payload["iat"] == delegation.token_lifetime == 30 * 86400


def test_the_delegation_is_renewed_before_it_ends(aws):
    clock = PastClock()
    calls = kms_calls(aws)
    signer = aws.signer(clock=clock)
    first = signer.mint(CLAIMS)
    clock.now += VALIDITY_SECONDS - TokenSigner.RENEW_BEFORE_SECONDS
    second = signer.mint(CLAIMS)
    assert calls == ["GetPublicKey", "Sign", "Sign"]
    assert dlg(second).not_before == dlg(first).not_before + VALIDITY_SECONDS - TokenSigner.RENEW_BEFORE_SECONDS
    verifier = aws.verifier()
    assert verifier.verify(first) == verifier.verify(second) == CLAIMS


def test_kms_down_at_renewal_keeps_the_current_delegation_until_it_ends(aws, caplog):
    clock = PastClock()
    signer = aws.signer(clock=clock)
    first = signer.mint(CLAIMS)
    ends = dlg(first).not_after
    restore = kms_down(aws)
    calls = kms_calls(aws)
    clock.now = ends - TokenSigner.RENEW_BEFORE_SECONDS  # renewal is due, KMS is down
    with caplog.at_level(logging.WARNING):
        during = []
        while clock.now <= ends:
            during.append(signer.mint(CLAIMS))
            clock.now += 10
    assert "not renewed" in caplog.text
    # Asked again at most once every RETRY_SECONDS while the delegation lasts, not on every run.
    assert 1 <= calls.count("Sign") <= TokenSigner.RENEW_BEFORE_SECONDS // TokenSigner.RETRY_SECONDS + 1
    verifier = aws.verifier()
    assert all(verifier.verify(token) == CLAIMS for token in during)
    assert {parts(token)[0]["dlg"] for token in during} == {parts(first)[0]["dlg"]}
    # Past its end: no token (ServiceUnavailable), and each run asks KMS again, as a run did before delegation.
    clock.now = ends + 1
    for _ in range(3):
        with pytest.raises(ServiceUnavailable):
            signer.mint(CLAIMS)
    assert calls.count("Sign") >= 3
    restore()
    assert verifier.verify(signer.mint(CLAIMS)) == CLAIMS
    assert dlg(signer.mint(CLAIMS)).not_before == ends + 1


def test_each_container_has_its_own_key(aws):
    first, second = aws.signer().mint(CLAIMS), aws.signer().mint(CLAIMS)
    assert dlg(first).public_key != dlg(second).public_key
    verifier = aws.verifier()
    assert verifier.verify(first) == verifier.verify(second) == CLAIMS


def test_the_delegated_private_key_is_never_shown(aws):
    signer = aws.signer()
    signer.mint(CLAIMS)
    key = signer._key
    secret = key._private_key.private_numbers().private_value
    assert str(secret) not in repr(key) and f"{secret:x}" not in repr(key)
    assert repr(key).startswith("DelegatedKey(kid=")


def test_a_stack_accepts_only_its_own_delegations(aws):
    token = aws.signer(stack="agent-feedback-staging").mint(CLAIMS)
    assert TokenVerifier(aws.kms, [aws.key_arn], "agent-feedback-staging").verify(token) == CLAIMS
    assert "was not signed by the stack's key" in refused(aws.verifier(), token)


def test_delegations_of_a_previous_key_are_accepted_during_rotation(aws):
    old_key = aws.create_token_key()
    old_token = aws.signer(key_arn=old_key).mint(CLAIMS)
    assert aws.verifier(aws.key_arn, old_key).verify(old_token) == CLAIMS
    assert "unknown key" in refused(aws.verifier(), old_token)


def test_lifetime_zero_delegates_tokens_without_expiry(aws):
    token = aws.signer(lifetime_days=0).mint(CLAIMS)
    assert "exp" not in parts(token)[1] and dlg(token).token_lifetime == 0
    assert aws.verifier().verify(token) == CLAIMS
    assert "contents" in refused(aws.verifier(require_expiry=True), token)


# -- the verifier: a delegation is checked once ------------------------------------------------------------


def test_a_verified_delegation_is_checked_once_and_forgeries_never_push_it_out(aws, forger, monkeypatch):
    checked: list[bytes] = []
    original = Delegation.verified_key

    def counting(self, kms_public_key, stack):
        checked.append(self.public_key)
        return original(self, kms_public_key, stack)

    monkeypatch.setattr(Delegation, "verified_key", counting)
    verifier = aws.verifier()
    genuine = [forger.mint(f"run-{index}") for index in range(20)]
    for token in genuine:
        verifier.verify(token)
    assert len(checked) == 1
    # A forged token's delegation is checked again each time: nothing of it was kept.
    forged = DELEGATION_ATTACKS["delegation signature of random bytes"].forge(forger, "run-x")
    for _ in range(5):
        refused(verifier, forged)
    assert len(checked) == 1 + 5
    # Nor are headers that pass their own checks but come with a bad signature: more of them than the cache
    # holds leave the genuine delegation in it.
    header, payload, signature = parts(genuine[0])
    legacy_header = {"alg": "ES256", "kid": header["kid"]}
    for index in range(TokenVerifier.CACHED_HEADERS + 10):
        refused(verifier, encode(legacy_header | {"n": index}, payload, signature))
    verifier.verify(genuine[0])
    assert len(checked) == 1 + 5


def test_the_longest_delegation_accepted_is_the_maximum(aws, forger):
    key, _ = forger.delegated(validity=MAX_VALIDITY_SECONDS)
    payload = {"ten": "acme", "agt": "a", "run": "r", "ver": "1", "iat": int(time.time())}
    payload["exp"] = payload["iat"] + 30 * 86400
    assert aws.verifier().verify(key.sign(payload)).run_id == "r"


# -- the format -----------------------------------------------------------------------------------------------


def test_the_statement_kms_signs_is_the_documented_text():
    delegation = Delegation(b"\x02" + bytes(range(32)), 1_800_000_000, 1_800_003_600, 2_592_000, bytes(64))
    assert delegation.statement("agent-feedback-prod") == (
        b"agent-feedback key delegation v1\n"
        b"purpose=feedback-token\n"
        b"stack=agent-feedback-prod\n"
        b"alg=ES256\n"
        b"key=AgABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f\n"
        b"not_before=1800000000\n"
        b"not_after=1800003600\n"
        b"token_lifetime=2592000"
    )


@pytest.mark.parametrize("stack", ["", "two\nlines", "tab\there", "nul\x00"])
def test_a_statement_is_never_ambiguous(stack):
    with pytest.raises(ValueError):
        Delegation(b"\x02" * 33, 1, 2, 0, bytes(64)).statement(stack)


def test_the_compact_form_round_trips():
    delegation = Delegation(b"\x03" + bytes(32), 1_800_000_000, 1_800_003_600, 0, bytes(range(64)))
    text = delegation.encode()
    assert len(text) == ENCODED_CHARS == 147
    assert Delegation.decode(text) == delegation


def test_a_statement_can_never_be_a_jws_signing_input():
    # A KMS signature of a statement must never verify as a token signed by KMS itself (before delegation).
    statement = Delegation(b"\x02" * 33, 1, 2, 0, bytes(64)).statement("s")
    assert b" " in statement.split(b"\n")[0] and b"." not in statement.split(b"\n")[0]
