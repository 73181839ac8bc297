"""Issue 10, classes 4 and 5 on the review side: every stored end-user id can be filtered on and erased, in any
spelling of it, through the handler called with the API Gateway events of events/review/.

Entries are saved with the store directly, under core.ids.canonical_user_id as the public POST saves them
(or, for entries saved before ids were canonical, under a raw spelling).
"""

from __future__ import annotations

import os
import unicodedata
import uuid
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentfeedback.core.errors import ValidationFailed
from agentfeedback.core.ids import MAX_USER_ID_CHARS, canonical_user_id
from agentfeedback.feedback.store import FeedbackStore
from agentfeedback.review.models import MAX_SENT_USER_ID_CHARS
from agentfeedback.tokens import TokenClaims
from tests.helpers import load_event

AT = "2026-11-02T09:00:00.000000Z"
NFC = unicodedata.normalize("NFC", "josé")
NFD = unicodedata.normalize("NFD", "josé")
# The characters, alone and mixed: what a path, a query string or a client's URL parser may rewrite.
ODD_IDS = [
    ".",
    "..",
    "/",
    "%",
    "?",
    "#",
    "a b",
    "josé",
    "日本語",
    "../..",
    "./",
    "%2F",
    "%2e%2e",
    "a?b=c&d#e",
    "user 42/../admin",
    "ünïcødé ?#%/.",
    "+",
    "a+b",
    "🙂",
]


@pytest.fixture
def store(aws):
    return FeedbackStore(aws.dynamodb, "FeedbackTable")


def save(store, user_id, run_id="run-1", outcome="positive", tenant="acme"):
    """A vote as the public POST saves it: under the canonical id (the POST applies canonical_user_id)."""
    claims = TokenClaims(tenant=tenant, agent_id="support-bot", run_id=run_id, version_id="v1")
    return store.save(claims, canonical_user_id(user_id), outcome, None, now=AT)


def save_raw(store, user_id, run_id="run-1"):
    """A vote saved before user ids were canonical: the spelling as the client sent it."""
    claims = TokenClaims(tenant="acme", agent_id="support-bot", run_id=run_id, version_id="v1")
    return store.save(claims, user_id, "negative", None, now=AT)


def listed(invoke, user_id, tenant=None):
    """(status, body) of GET .../feedback?user_id=..., the query string as API Gateway passes it (decoded)."""
    event = load_event("review/list_feedback.json", query={"user_id": user_id}, tenant=tenant)
    status, _, body = invoke("review", event)
    return status, body


def erased_by_body(invoke, body, tenant=None, path=None):
    event = load_event("review/request_erasure.json", body=body, tenant=tenant, path=path)
    status, _, answer = invoke("review", event)
    return status, answer


def erased_by_path(invoke, user_id):
    """DELETE .../users/{user_id}: API Gateway routes on the raw (percent-encoded) path and decodes the parameter."""
    event = load_event("review/erase_user.json", path={"user_id": user_id})
    event["path"] = f"/v1/_/feedback/users/{quote(user_id, safe='')}"
    event["requestContext"]["path"] = "/dev" + event["path"]
    status, _, answer = invoke("review", event)
    return status, answer


def assert_refused(result, field_hint="user_id"):
    status, body = result
    assert status == 422, body
    assert body["error"]["code"] == "validation_error" and field_hint in body["error"]["message"]


# --- class 5: every stored id can be reached ----------------------------------------------------------


@pytest.mark.parametrize("user_id", ODD_IDS)
def test_an_odd_id_is_listed_and_erased_with_the_id_in_the_body(aws, invoke, store, user_id):
    save(store, user_id)
    save(store, "someone-else")
    status, body = listed(invoke, user_id)
    assert status == 200, body
    assert [item["user_id"] for item in body["items"]] == [user_id]

    assert erased_by_body(invoke, {"user_id": user_id}) == (200, {"user_id": user_id, "erased": 1, "runs_erased": 0})
    assert [item["user_id"]["S"] for item in aws.items()] == ["someone-else"]
    assert listed(invoke, user_id)[1]["items"] == []
    assert erased_by_body(invoke, {"user_id": user_id}) == (200, {"user_id": user_id, "erased": 0, "runs_erased": 0})


@pytest.mark.parametrize("user_id", ODD_IDS)
def test_the_delete_route_erases_any_id_that_reaches_it(aws, invoke, store, user_id):
    # The handler reads any id from pathParameters; whether a client can send `.` or `..` in a path is another
    # matter (most drop them): that is why the body route exists, and why feedbackctl uses it.
    save(store, user_id)
    assert erased_by_path(invoke, user_id) == (200, {"user_id": user_id, "erased": 1, "runs_erased": 0})
    assert aws.items() == []


def test_an_erasure_request_event_erases_its_user(aws, invoke, store):
    save(store, "user-42", run_id="run-1")
    save(store, "user-42", run_id="run-2")
    save(store, "user-7")
    status, _, body = invoke("review", load_event("review/request_erasure.json"))
    assert (status, body) == (200, {"user_id": "user-42", "erased": 2, "runs_erased": 0})
    assert [item["user_id"]["S"] for item in aws.items()] == ["user-7"]


def test_an_erasure_does_not_log_the_user_id(aws, invoke, store, capsys):
    save(store, "user-42")
    capsys.readouterr()
    erased_by_body(invoke, {"user_id": "user-42"})
    assert "user-42" not in capsys.readouterr().out


def test_an_erasure_request_is_tenant_scoped(aws, invoke, store):
    save(store, "user-42", tenant="globex")
    status, body = erased_by_body(invoke, {"user_id": "user-42"}, path={"tenant": "globex"})
    assert status == 403 and body["error"]["code"] == "forbidden"
    assert erased_by_body(invoke, {"user_id": "user-42"}) == (
        200,
        {"user_id": "user-42", "erased": 0, "runs_erased": 0},
    )
    assert len(aws.items()) == 1
    assert erased_by_body(invoke, {"user_id": "user-42"}, tenant="globex")[1]["erased"] == 1


@pytest.mark.parametrize(
    ("body", "status", "code", "hint"),
    [
        ({}, 422, "validation_error", "user_id"),
        ({"user_id": ""}, 422, "validation_error", "user_id"),
        ({"user_id": None}, 422, "validation_error", "user_id"),
        ({"user_id": 42}, 422, "validation_error", "user_id"),
        ({"user_id": "user-42", "agent_id": "support-bot"}, 422, "validation_error", "agent_id"),
        ({"user_id": "x" * (MAX_SENT_USER_ID_CHARS + 1)}, 422, "validation_error", "user_id"),
        (["user-42"], 400, "invalid_json", "JSON object"),
        ("user-42", 400, "invalid_json", "JSON"),
    ],
)
def test_an_erasure_request_that_names_no_user_erases_nothing(aws, invoke, store, body, status, code, hint):
    save(store, "user-42")
    got_status, answer = erased_by_body(invoke, body)
    assert got_status == status, answer
    assert answer["error"]["code"] == code and hint in answer["error"]["message"]
    assert len(aws.items()) == 1


# --- class 4: one end user, one slot, whatever the spelling -------------------------------------------


def test_a_vote_posted_under_the_nfd_spelling_is_erased_by_the_nfc_spelling(aws, invoke, store):
    assert NFC != NFD
    save(store, NFD)  # stored as the POST stores it: canonical_user_id(NFD) == NFC
    assert listed(invoke, NFC)[1]["items"][0]["user_id"] == NFC
    assert listed(invoke, NFD)[1]["items"][0]["user_id"] == NFC
    assert erased_by_body(invoke, {"user_id": NFC}) == (200, {"user_id": NFC, "erased": 1, "runs_erased": 0})
    assert aws.items() == []


@pytest.mark.parametrize("spelling", [NFC, NFD, f"  {NFD}\t", f"\u00a0{NFC}\n"])
@pytest.mark.parametrize("route", ["body", "path"])
def test_every_spelling_of_an_id_reaches_the_same_entries(aws, invoke, store, spelling, route):
    save(store, NFC, run_id="run-1")
    save(store, f" {NFD} ", run_id="run-2")
    status, body = listed(invoke, spelling)
    assert status == 200 and {item["run_id"] for item in body["items"]} == {"run-1", "run-2"}
    result = erased_by_body(invoke, {"user_id": spelling}) if route == "body" else erased_by_path(invoke, spelling)
    assert result == (200, {"user_id": NFC, "erased": 2, "runs_erased": 0})
    assert aws.items() == []


def test_entries_saved_before_ids_were_canonical_are_still_reached(aws, invoke, store):
    # The example, as it was stored: one run, two votes, "josé" in NFC and in NFD.
    save_raw(store, NFC)
    save_raw(store, NFD)
    save_raw(store, " padded ", run_id="run-2")
    assert len(listed(invoke, NFC)[1]["items"]) == 2
    assert erased_by_body(invoke, {"user_id": NFC}) == (200, {"user_id": NFC, "erased": 2, "runs_erased": 0})
    # Surrounding white space is reached by its exact spelling (the canonical one alone cannot know it).
    assert [item["user_id"] for item in listed(invoke, " padded ")[1]["items"]] == [" padded "]
    assert erased_by_body(invoke, {"user_id": " padded "}) == (
        200,
        {"user_id": "padded", "erased": 1, "runs_erased": 0},
    )
    assert aws.items() == []


@pytest.mark.parametrize(
    "user_id",
    ["   ", "\t\n", "user\x1b[2K", "a\x00b", "right\u202eto-left", "line\u2028break", "x" * (MAX_USER_ID_CHARS + 1)],
)
def test_an_id_no_entry_can_have_is_refused_naming_the_field(aws, invoke, store, user_id):
    save(store, "user")
    assert_refused(listed(invoke, user_id))
    assert_refused(erased_by_body(invoke, {"user_id": user_id}))
    assert_refused(erased_by_path(invoke, user_id))
    assert len(aws.items()) == 1


def test_the_longest_id_is_reached_in_its_longest_spelling(aws, invoke, store):
    canonical = "é" * MAX_USER_ID_CHARS
    decomposed = unicodedata.normalize("NFD", canonical)
    assert len(decomposed) == 2 * MAX_USER_ID_CHARS
    save(store, canonical)
    assert len(listed(invoke, decomposed)[1]["items"]) == 1
    assert erased_by_body(invoke, {"user_id": decomposed}) == (
        200,
        {"user_id": canonical, "erased": 1, "runs_erased": 0},
    )


# --- the whole class, as a property -------------------------------------------------------------------

PROPERTY = settings(
    max_examples=int(os.environ.get("PROPERTY_EXAMPLES") or 60),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# The characters, white space and decomposable letters, and anything else Unicode has.
id_text = st.text(
    alphabet=st.sampled_from("./%?#& +=\t\u00a0eé\u0301Åﬁ") | st.characters(codec="utf-8"), min_size=1, max_size=40
)


def accepted(text: str) -> bool:
    try:
        canonical_user_id(text)
    except ValidationFailed:
        return False
    return True


@PROPERTY
@given(
    user_id=id_text.filter(accepted),
    spelling=st.sampled_from(["NFC", "NFD", "padded"]),
    route=st.sampled_from(["body", "path"]),
)
def test_any_accepted_id_is_listed_and_erased_by_any_spelling(aws, invoke, store, user_id, spelling, route):
    run_id = f"run-{uuid.uuid4().hex[:8]}"
    canonical = canonical_user_id(user_id)
    save(store, user_id, run_id=run_id)
    asked = f" {user_id}\n" if spelling == "padded" else unicodedata.normalize(spelling, user_id)
    status, body = listed(invoke, asked)
    assert status == 200, body
    assert [item["user_id"] for item in body["items"]] == [canonical]
    result = erased_by_body(invoke, {"user_id": asked}) if route == "body" else erased_by_path(invoke, asked)
    assert result == (200, {"user_id": canonical, "erased": 1, "runs_erased": 0})
    assert aws.items() == []
