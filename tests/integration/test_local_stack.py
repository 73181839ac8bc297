"""The local stack itself: the API-key authorizer path, the token CLI, OpenAPI, and keys kept across restarts."""

from __future__ import annotations

import pytest
import requests
from cryptography.hazmat.primitives import serialization

from agentfeedback.keys.store import ApiKeyStore
from local import mint_token as mint_token_cli
from local.dynamodb_local import find_jar_dir, find_java
from local.http_server import GatewayServer
from local.kms_server import MotoKms
from local.stack_state import write_state
from local.startup import StartupError

pytestmark = pytest.mark.integration

TIMEOUT = 15
AGENT = {
    "id": "city-facts",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
    "output_schema": {"type": "object", "properties": {"country": {"type": "string"}}},
}


def register_agent(stack, key: str | None) -> requests.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return requests.post(f"{stack.base_url}/v1/_/agents", json=AGENT, headers=headers, timeout=TIMEOUT)


def test_protected_route_needs_an_api_key(stack):
    for response in (register_agent(stack, None), register_agent(stack, "afk_not_a_real_key_000000000")):
        assert response.status_code == 401, response.text
        assert response.json()["error"]["code"] == "unauthorized"


def test_protected_route_runs_with_the_keys_tenant(stack, api_key):
    response = register_agent(stack, api_key)
    assert response.status_code == 200, response.text
    assert response.json()["id"] == "city-facts"


def test_revoked_key_keeps_working_until_the_cached_decision_expires(stack, settings):
    store = ApiKeyStore(stack.dynamodb_client(), settings.api_keys_table)
    key, record = store.create("acme", "soon revoked")
    assert register_agent(stack, key).status_code == 200

    store.revoke("acme", record.key_id)

    assert register_agent(stack, key).status_code == 200  # API Gateway's authorizer cache (ReauthorizeEvery)
    stack.forget_authorizations()
    assert register_agent(stack, key).status_code == 401


def test_mint_token_cli_reads_the_state_file(stack, tmp_path, capsys):
    state_file = tmp_path / "stack.json"
    write_state(state_file, stack.state())

    assert mint_token_cli.main(["--tenant", "acme", "--run", "run-cli", "--state", str(state_file)]) == 0

    token = capsys.readouterr().out.strip()
    response = requests.post(
        f"{stack.base_url}/v1/feedback", json={"feedback_token": token, "outcome": "positive"}, timeout=TIMEOUT
    )
    assert response.status_code == 200, response.text


def test_mint_token_cli_says_how_to_start_the_stack(tmp_path, capsys):
    assert mint_token_cli.main(["--state", str(tmp_path / "missing.json")]) == 1
    assert "make local" in capsys.readouterr().err


def test_openapi_lists_the_functions_routes(stack):
    response = requests.get(f"{stack.base_url}/openapi.json", timeout=TIMEOUT)
    assert response.status_code == 200
    document = response.json()
    assert {"get", "post"} <= set(document["paths"]["/v1/feedback"])


def test_token_key_is_kept_across_restarts(tmp_path):
    def public_key_after_start() -> bytes:
        kms = MotoKms(key_dir=tmp_path)
        kms.start()
        try:
            key_id, _ = kms.create_key("TokenKey", "ECC_NIST_P256", "SIGN_VERIFY")
            der = kms.client().get_public_key(KeyId=key_id)["PublicKey"]
        finally:
            kms.stop()
        return serialization.load_der_public_key(der).public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    assert public_key_after_start() == public_key_after_start()


def test_missing_dynamodb_local_says_run_make_install(tmp_path):
    with pytest.raises(StartupError, match="make install"):
        find_jar_dir(tmp_path)


def test_missing_java_is_explained(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(StartupError, match="Java 17"):
        find_java()


def test_busy_port_suggests_another(stack):
    busy = int(stack.base_url.rsplit(":", 1)[1])
    with pytest.raises(StartupError, match=f"PORT={busy + 1}"):
        GatewayServer(gateway=None, port=busy)


def test_path_parameters_are_decoded_but_routing_uses_the_raw_path(stack, mint_token, api_key):
    import urllib.parse

    import requests

    user_id = "ana/b c"
    token = mint_token(tenant="acme")
    saved = requests.post(
        f"{stack.base_url}/v1/feedback",
        json={"feedback_token": token, "outcome": "positive", "user_id": user_id},
        timeout=10,
    )
    assert saved.status_code == 200
    erase = requests.delete(
        f"{stack.base_url}/v1/_/feedback/users/{urllib.parse.quote(user_id, safe='')}",
        headers={"Authorization": f"Bearer {api_key}"},
        timeout=10,
    )
    assert erase.status_code == 200, erase.text
    assert erase.json() == {"user_id": user_id, "erased": 1, "runs_erased": 0}
