"""A run names its end user (metadata.user_id): the run stores them and its token binds them."""

from __future__ import annotations

import unicodedata

import pytest

from agentfeedback.tokens import user_binding
from tests.unit.runs.test_run_handler import OFFLINE, register, run


def stored_run(aws, run_id: str) -> dict:
    return aws.dynamodb.get_item(TableName="RunsTable", Key={"run_id": {"S": run_id}})["Item"]


@pytest.mark.parametrize(
    ("named", "canonical"),
    [
        ("ana@example.com", "ana@example.com"),
        (unicodedata.normalize("NFD", " josé "), "josé"),
        (42, "42"),  # a backend keyed by numbers; the page then sends "42"
    ],
)
def test_the_token_of_a_run_made_for_an_end_user_binds_them(aws, invoke, named, canonical):
    register(invoke)
    status, _, body = run(invoke, OFFLINE, metadata={"user_id": named, "session": "s1"})
    assert status == 200, body
    claims = aws.verifier().verify(body["feedback_token"])
    assert claims.user_binding == user_binding(body["id"], canonical)
    item = stored_run(aws, body["id"])
    assert item["end_user"]["S"] == canonical and item["tenant_user"]["S"] == f"acme#{canonical}"
    assert body["metadata"] == {"user_id": named, "session": "s1"}  # passed through unchanged, as the SDKs expect


@pytest.mark.parametrize("metadata", [None, {}, {"user_id": None}, {"user_id": ""}, {"session": "s1"}])
def test_a_run_that_names_no_end_user_has_an_unbound_token(aws, invoke, metadata):
    register(invoke)
    status, _, body = run(invoke, OFFLINE, **({"metadata": metadata} if metadata is not None else {}))
    assert status == 200, body
    assert aws.verifier().verify(body["feedback_token"]).user_binding is None
    assert not {"end_user", "tenant_user"} & set(stored_run(aws, body["id"]))


@pytest.mark.parametrize("user_id", [["ana"], {"id": 1}, True, 1.5, "a\u202eb", "   ", "x" * 257])
def test_an_end_user_id_the_api_cannot_keep_is_422_before_the_model_runs(aws, invoke, user_id):
    register(invoke)
    status, _, body = run(invoke, OFFLINE, metadata={"user_id": user_id})
    assert status == 422, body
    assert "metadata.user_id" in body["error"]["message"]
    assert aws.dynamodb.scan(TableName="RunsTable")["Items"] == []
