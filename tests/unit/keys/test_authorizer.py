"""The API-key authorizer: hashed keys, tenant binding, revocation, and no key in the logs."""

from __future__ import annotations

import json

import pytest

from agentfeedback import composition
from agentfeedback.keys.store import hash_key
from tests.helpers import FakeContext, load_handler

ROOT_EVENT = "events/authorizer/token_authorizer.json"


def authorize(header):
    from tests.helpers import ROOT

    event = json.loads((ROOT / ROOT_EVENT).read_text())
    event["authorizationToken"] = header
    return load_handler("authorizer").lambda_handler(event, FakeContext())


def test_valid_key_is_allowed_for_the_whole_api_with_its_tenant(aws):
    key, record = composition.api_key_store().create("acme", name="ci")
    result = authorize(f"Bearer {key}")
    assert result["context"] == {"tenant": "acme", "key_id": record.key_id}
    statement = result["policyDocument"]["Statement"][0]
    assert statement["Effect"] == "Allow"
    assert statement["Resource"] == "arn:aws:execute-api:us-east-1:123456789012:abc123/dev/*"


def test_keys_are_stored_only_as_hashes(aws):
    key, _ = composition.api_key_store().create("acme")
    items = aws.dynamodb.scan(TableName="ApiKeysTable")["Items"]
    assert key not in json.dumps(items)
    assert items[0]["key_hash"]["S"] == hash_key(key)


@pytest.mark.parametrize("header", ["", "Bearer", "Bearer afk_unknown_key_value_123456", "Basic abc", "afk_x"])
def test_unknown_or_malformed_keys_are_unauthorized(aws, header):
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorize(header)


def test_revoked_key_is_unauthorized(aws):
    store = composition.api_key_store()
    key, record = store.create("acme")
    assert store.revoke("acme", record.key_id) == 1
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorize(f"Bearer {key}")
    assert [r.active for r in store.list("acme")] == [False]


def test_key_never_appears_in_logs(aws, capsys):
    key, _ = composition.api_key_store().create("acme")
    authorize(f"Bearer {key}")
    with pytest.raises(Exception, match="Unauthorized"):
        authorize(f"Bearer {key}x")
    output = capsys.readouterr()
    assert key not in output.out + output.err
