"""Identifier rules: one canonical form per end-user id and per run id."""

from __future__ import annotations

import unicodedata
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentfeedback.core.errors import ValidationFailed
from agentfeedback.core.ids import MAX_USER_ID_CHARS, canonical_run_id, canonical_user_id


def test_nfc_and_nfd_spellings_are_one_user():
    nfc, nfd = unicodedata.normalize("NFC", "josé"), unicodedata.normalize("NFD", "josé")
    assert nfc != nfd and canonical_user_id(nfc) == canonical_user_id(nfd) == nfc


def test_surrounding_white_space_is_removed_inner_space_is_kept():
    assert canonical_user_id("  alice smith\t") == "alice smith"


@pytest.mark.parametrize("bad", ["", "   ", "a\x1bb", "a\x00", "a\u202eb", "a\u2066b", "a\u2028b", "x" * 257])
def test_refused_user_ids_name_the_field(bad):
    with pytest.raises(ValidationFailed) as refused:
        canonical_user_id(bad, field="user_id")
    assert "user_id" in refused.value.message


@given(st.text(max_size=40))
def test_canonical_form_is_stable_and_clean(text):
    try:
        once = canonical_user_id(text)
    except ValidationFailed:
        return
    assert canonical_user_id(once) == once == unicodedata.normalize("NFC", once)
    assert once == once.strip() and 0 < len(once) <= MAX_USER_ID_CHARS
    assert not any(unicodedata.category(char) in ("Cc", "Cs", "Zl", "Zp") for char in once)


def test_any_spelling_of_a_uuid_is_one_run_id():
    value = uuid.uuid4()
    canonical = str(value)
    for spelling in (canonical.upper(), "{" + canonical + "}", f"urn:uuid:{canonical}", value.hex):
        assert canonical_run_id(spelling) == canonical
    assert canonical_run_id("run-1") == "run-1"  # not a UUID: left as it is (matches no UUID run)
