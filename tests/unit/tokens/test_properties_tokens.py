"""Property tests of token parsing: whatever arrives, verify() refuses it with InvalidFeedbackToken (a 401),
and a token verifies only when it is the one we signed (or a re-spelling of the very same bytes). The same
for the key delegation a token carries: any text parses to the one delegation it spells or is refused, and a
delegation changed in any byte is refused even when its token is re-signed with the delegated key."""

from __future__ import annotations

import base64
import json
import os
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentfeedback.core.errors import InvalidFeedbackToken
from agentfeedback.core.http_api import status_of
from agentfeedback.tokens import MAX_TOKEN_CHARS, TOKEN_PREFIX, TokenClaims
from agentfeedback.tokens.delegation import ENCODED_CHARS, Delegation
from agentfeedback.tokens.jws import b64url_decode
from agentfeedback.tokens.verifier import TokenVerifier
from tests.forged_tokens import Forger, parts, signed

PROPERTY = settings(
    max_examples=int(os.environ.get("PROPERTY_EXAMPLES") or 200),  # more with `make fuzz`
    deadline=None,
    database=None,
    # The moto account of the `aws` fixture is set up once per test and only read by the examples.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
B64URL = string.ascii_letters + string.digits + "-_"
CLAIMS = TokenClaims(tenant="acme", agent_id="support-bot", run_id="run-1", version_id="v1")


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@pytest.fixture
def verifier(aws) -> TokenVerifier:
    return aws.verifier()


@pytest.fixture
def token(aws) -> str:
    return aws.signer().mint(CLAIMS)


def assert_refused(verifier: TokenVerifier, candidate: str) -> None:
    try:
        claims = verifier.verify(candidate)
    except InvalidFeedbackToken as refusal:
        assert status_of(refusal) == 401 and refusal.message
        return
    pytest.fail(f"verified {candidate!r} as {claims}")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=8,
)
segments = st.one_of(
    st.text(alphabet=B64URL, max_size=120),
    st.binary(max_size=90).map(b64),
    json_values.map(lambda value: b64(json.dumps(value).encode())),
    st.text(max_size=40),
)


@PROPERTY
@given(text=st.text(max_size=3000))
def test_any_text_is_refused(verifier, text):
    assert_refused(verifier, text)


@PROPERTY
@given(text=st.text(max_size=3000))
def test_any_text_after_the_prefix_is_refused(verifier, text):
    assert_refused(verifier, TOKEN_PREFIX + text)


@PROPERTY
@given(data=st.binary(max_size=600))
def test_any_bytes_decoded_leniently_are_refused(verifier, data):
    # What a client may make of arbitrary bytes: latin-1, or UTF-8 with replacement characters.
    assert_refused(verifier, TOKEN_PREFIX + data.decode("latin-1"))
    assert_refused(verifier, TOKEN_PREFIX + data.decode("utf-8", errors="replace"))


@PROPERTY
@given(parts=st.lists(segments, min_size=1, max_size=5))
def test_jws_shaped_garbage_is_refused(verifier, parts):
    assert_refused(verifier, TOKEN_PREFIX + ".".join(parts))


@PROPERTY
@given(
    header=st.dictionaries(
        st.sampled_from(["alg", "typ", "kid", "dlg", "crit", "jku", "x5u"]), json_values, max_size=5
    ),
    payload=json_values,
    signature=segments,
    our_key=st.booleans(),
)
def test_any_header_and_payload_without_our_signature_is_refused(verifier, token, header, payload, signature, our_key):
    if our_key:
        # ES256 and the real key id, so that the delegation and signature checks themselves are reached.
        header = {**header, "alg": "ES256", "kid": parts(token)[0]["kid"]}
    candidate = f"{TOKEN_PREFIX}{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}.{signature}"
    assert_refused(verifier, candidate)


mutations = st.one_of(
    st.tuples(st.just("replace"), st.integers(min_value=0), st.characters()),
    st.tuples(st.just("insert"), st.integers(min_value=0), st.characters()),
    st.tuples(st.just("delete"), st.integers(min_value=0), st.just("")),
    st.tuples(st.just("truncate"), st.integers(min_value=0), st.just("")),
    st.tuples(st.just("append"), st.just(0), st.text(min_size=1, max_size=8)),
    st.tuples(st.just("swap"), st.integers(min_value=0), st.just("")),
)


def mutate(token: str, mutation: tuple[str, int, str]) -> str:
    kind, position, text = mutation
    position %= len(token)
    if kind == "replace":
        return token[:position] + text + token[position + 1 :]
    if kind == "insert":
        return token[:position] + text + token[position:]
    if kind == "delete":
        return token[:position] + token[position + 1 :]
    if kind == "truncate":
        return token[:position]
    if kind == "append":
        return token + text
    # swap segments around (once the token no longer has three, reverse what is left)
    parts = token[len(TOKEN_PREFIX) :].split(".")
    if len(parts) != 3:
        return token[::-1]
    header, payload, signature = parts
    order = [(payload, header, signature), (header, signature, payload), (signature, payload, header)][position % 3]
    return TOKEN_PREFIX + ".".join(order)


@PROPERTY
@given(steps=st.lists(mutations, min_size=1, max_size=3))
def test_a_mutated_token_verifies_only_if_its_bytes_are_unchanged(verifier, token, steps):
    candidate = token
    for step in steps:
        candidate = mutate(candidate, step) or candidate
    try:
        claims = verifier.verify(candidate)
    except InvalidFeedbackToken:
        assert candidate != token
        return
    # Accepted: then it must be our token, or the same signed bytes spelled differently (base64url's spare
    # bits in the last character of the signature), with the very same claims.
    assert claims == CLAIMS
    original = token[len(TOKEN_PREFIX) :].split(".")
    accepted = candidate[len(TOKEN_PREFIX) :].split(".")
    assert accepted[:2] == original[:2]
    assert unb64(accepted[2]) == unb64(original[2])


def test_the_unmutated_token_verifies(verifier, token):
    assert verifier.verify(token) == CLAIMS
    assert len(token) < MAX_TOKEN_CHARS


# -- the key delegation a token carries ------------------------------------------------------------------------

B64URL_TEXT = st.text(alphabet=B64URL, min_size=ENCODED_CHARS - 2, max_size=ENCODED_CHARS + 2)


def _decoded(text: object) -> Delegation | None:
    try:
        return Delegation.decode(text)
    except InvalidFeedbackToken as refusal:
        assert status_of(refusal) == 401 and "delegation" in refusal.message
        return None


@PROPERTY
@given(text=st.one_of(B64URL_TEXT, st.text(max_size=200), json_values))
def test_any_value_parses_to_the_one_delegation_it_spells_or_is_refused(text):
    delegation = _decoded(text)
    if delegation is not None:
        assert delegation.encode() == text  # one spelling per delegation
        assert delegation.suite == 1 and len(delegation.public_key) == 33 and len(delegation.signature) == 64


@PROPERTY
@given(data=st.binary(min_size=110, max_size=110))
def test_any_110_bytes_of_suite_1_decode_to_their_fields(data):
    delegation = _decoded(b64(data))
    assert (delegation is not None) == (data[0] == 1)
    if delegation is not None:
        assert delegation.public_key == data[1:34] and delegation.signature == data[46:]
        assert (delegation.not_before, delegation.not_after, delegation.token_lifetime) == tuple(
            int.from_bytes(data[start : start + 4], "big") for start in (34, 38, 42)
        )


@PROPERTY
@given(text=st.text(max_size=40))
def test_base64url_decoding_accepts_only_canonical_spellings(text):
    try:
        data = b64url_decode(text)
    except ValueError:
        return
    assert b64(data) == text


@pytest.fixture
def stolen(aws):
    """A genuine delegated key (its delegation signed by our KMS key) and its private half, as if stolen."""
    forger = Forger(aws.kms, aws.key_arn, aws.stack, mint=lambda run_id: "", mint_elsewhere=lambda run_id: "")
    key, private_key = forger.delegated()
    return forger, key, private_key


@PROPERTY
@given(position=st.integers(min_value=0, max_value=109), flip=st.integers(min_value=1, max_value=255))
def test_a_delegation_changed_in_any_byte_is_refused_even_when_its_token_is_re_signed(verifier, stolen, position, flip):
    forger, key, private_key = stolen
    payload = {"ten": "acme", "agt": "a", "run": "r", "ver": "1", "iat": key.delegation.not_before + 1}
    payload["exp"] = payload["iat"] + 86400
    assert verifier.verify(signed(forger.header(key.delegation), payload, private_key)).run_id == "r"
    data = bytearray(unb64(key.delegation.encode()))
    data[position] ^= flip
    header = forger.header(key.delegation) | {"dlg": b64(bytes(data))}
    assert_refused(verifier, signed(header, payload, private_key))
