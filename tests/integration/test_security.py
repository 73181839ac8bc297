"""Attacks over real HTTP: forged feedback tokens, cross-tenant access, CORS, and keys kept out of logs."""

from __future__ import annotations

import json
import time
import uuid

import pytest
import requests

from agentfeedback.tokens import TokenClaims
from agentfeedback.tokens.signer import TokenSigner
from tests.forged_tokens import DELEGATION_ATTACKS, FORGERIES, Forger
from tests.legacy_tokens import KmsTokenSigner

pytestmark = pytest.mark.integration


def post(stack, token: str) -> requests.Response:
    return requests.post(
        f"{stack.base_url}/v1/feedback", json={"feedback_token": token, "outcome": "positive"}, timeout=10
    )


@pytest.fixture(scope="module")
def public_der(stack, settings) -> bytes:
    return stack.kms_client().get_public_key(KeyId=settings.token_key_id)["PublicKey"]


@pytest.mark.parametrize("attack", sorted(FORGERIES))
def test_forged_tokens_are_refused_with_401_and_save_nothing(stack, mint_token, public_der, feedback_items, attack):
    run_id = f"run-{uuid.uuid4().hex[:12]}"
    forged = FORGERIES[attack](mint_token(run_id=run_id), public_der)
    for response in (
        post(stack, forged),
        requests.get(f"{stack.base_url}/v1/feedback", params={"feedback_token": forged}, timeout=10),
    ):
        assert response.status_code == 401, (attack, response.text)
        assert response.json()["error"]["code"] == "invalid_feedback_token"
    assert feedback_items(run_id) == []


@pytest.mark.parametrize(
    ("case", "lifetime_days", "clock_shift"),
    [("expired", 1, -2 * 86400), ("future-dated", 30, 3600)],
)
def test_expired_and_future_dated_tokens_are_refused(stack, settings, case, lifetime_days, clock_shift):
    signer = TokenSigner(
        stack.kms_client(),
        settings.token_key_id,
        lifetime_days,
        settings.stack_name,
        clock=lambda: time.time() + clock_shift,
    )
    token = signer.mint(TokenClaims(tenant="acme", agent_id="a", run_id=f"run-{uuid.uuid4().hex[:8]}", version_id="1"))
    response = post(stack, token)
    assert response.status_code == 401, case
    assert response.json()["error"]["code"] == "invalid_feedback_token"


def test_token_from_another_deployments_key_is_refused(stack, settings):
    kms = stack.kms_client()
    other_key = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["Arn"]
    token = TokenSigner(kms, other_key, 30, settings.stack_name).mint(
        TokenClaims(tenant="acme", agent_id="a", run_id="run-x", version_id="1")
    )
    assert post(stack, token).status_code == 401


@pytest.fixture(scope="module")
def forger(stack, settings) -> Forger:
    def minted_by(signer: TokenSigner):
        return lambda run_id: signer.mint(
            TokenClaims(tenant="acme", agent_id="support-bot", run_id=run_id, version_id="1")
        )

    def container() -> TokenSigner:
        return TokenSigner(stack.kms_client(), settings.token_key_id, settings.token_lifetime_days, settings.stack_name)

    return Forger(
        stack.kms_client(), settings.token_key_id, settings.stack_name, minted_by(container()), minted_by(container())
    )


@pytest.mark.parametrize("attack", sorted(DELEGATION_ATTACKS))
def test_attacks_on_key_delegation_are_refused_with_401_and_save_nothing(stack, forger, feedback_items, attack):
    run_id = f"run-{uuid.uuid4().hex[:12]}"
    case = DELEGATION_ATTACKS[attack]
    forged = case.forge(forger, run_id)
    for response in (
        post(stack, forged),
        requests.get(f"{stack.base_url}/v1/feedback", params={"feedback_token": forged}, timeout=10),
    ):
        assert response.status_code == 401, (attack, response.text)
        error = response.json()["error"]
        assert error["code"] == "invalid_feedback_token" and case.reason in error["message"], (attack, error)
    assert feedback_items(run_id) == []


def test_a_token_minted_before_key_delegation_still_counts(stack, settings, feedback_items):
    run_id = f"run-{uuid.uuid4().hex[:12]}"
    legacy = KmsTokenSigner(stack.kms_client(), settings.token_key_id, settings.token_lifetime_days).mint(
        TokenClaims(tenant="acme", agent_id="support-bot", run_id=run_id, version_id="1")
    )
    response = post(stack, legacy)
    assert response.status_code == 200, response.text
    assert [item["outcome"]["S"] for item in feedback_items(run_id)] == ["positive"]


# Every authenticated route, with another tenant in its path: the key of tenant acme must get a 403.
OTHER_TENANT_ROUTES = [
    ("POST", "/v1/globex/agents", {"id": "x", "input_schema": {}, "output_schema": {}}),
    ("POST", "/v1/globex/agents/x/schemas/1/run", {"task_input": {}, "version": {"model": "offline"}}),
    ("POST", "/v1/globex/tasks/x/schemas/1/run", {"task_input": {}, "version": {"model": "offline"}}),
    ("POST", "/v1/globex/agents/x/versions", {"model": "offline"}),
    ("GET", "/v1/globex/agents/x/versions", None),
    ("PUT", "/v1/globex/agents/x/environments/production", {"version": 1}),
    ("GET", "/v1/globex/agents/x/feedback", None),
    ("GET", "/v1/globex/agents/x/feedback/summary", None),
    ("GET", "/v1/globex/agents/x/runs/r", None),
    ("GET", "/v1/globex/agents/x/runs/r/feedback", None),
    ("DELETE", "/v1/globex/feedback/users/u", None),
    ("POST", "/v1/globex/feedback/erasures", {"user_id": "u"}),
]


@pytest.mark.parametrize(("method", "path", "body"), OTHER_TENANT_ROUTES)
def test_cross_tenant_requests_are_forbidden(stack, api_key, method, path, body):
    headers = {"Authorization": f"Bearer {api_key}"}
    response = requests.request(method, f"{stack.base_url}{path}", json=body, headers=headers, timeout=10)
    assert response.status_code == 403, response.text
    assert response.json()["error"]["code"] == "forbidden"


@pytest.mark.parametrize(("method", "path", "body"), [*OTHER_TENANT_ROUTES, ("POST", "/v1/chat/completions", {})])
def test_authenticated_routes_refuse_missing_and_unknown_keys(stack, method, path, body):
    for headers in ({}, {"Authorization": "Bearer afk_not_a_key_0000000000000"}):
        response = requests.request(method, f"{stack.base_url}{path}", json=body, headers=headers, timeout=10)
        assert response.status_code in (401, 403), response.text
        assert "error" in response.json()


def test_cors_preflight_echoes_only_allowed_origins(stack):
    def preflight(origin: str) -> requests.Response:
        headers = {
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        }
        return requests.options(f"{stack.base_url}/v1/feedback", headers=headers, timeout=10)

    allowed = stack.environment["ALLOWED_ORIGINS"].split(",")[0]
    response = preflight(allowed if allowed != "*" else "https://app.example.com")
    assert response.status_code in (200, 204)
    assert response.headers["Access-Control-Allow-Origin"] in (allowed, "https://app.example.com", "*")
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    if allowed != "*":
        assert "Access-Control-Allow-Origin" not in preflight("https://evil.example").headers


def test_api_key_never_appears_in_logs(stack, api_key, capfd, caplog):
    headers = {"Authorization": f"Bearer {api_key}"}
    requests.post(
        f"{stack.base_url}/v1/_/agents",
        json={"id": "log-check", "input_schema": {}, "output_schema": {}},
        headers=headers,
        timeout=10,
    )
    requests.post(f"{stack.base_url}/v1/_/agents", json={}, headers={"Authorization": f"Bearer {api_key}x"}, timeout=10)
    requests.post(
        f"{stack.base_url}/v1/chat/completions", json={"model": "nope", "messages": []}, headers=headers, timeout=10
    )
    captured = capfd.readouterr()
    # Every field of every log record (Powertools puts extra keys on the record), plus raw output.
    logs = captured.out + captured.err + "".join(repr(vars(record)) for record in caplog.records)
    assert logs  # the handlers did log (requests, refusals), so the check below has something to look at
    assert api_key not in logs and api_key[12:] not in logs


# -- tokens bound to an end user: attacks over HTTP --------------------------------------------------------------

ANA, MALLORY = "ana@example.com", "mallory@example.com"


def run_for(stack, api_key: str, end_user: str | None) -> dict:
    """A run of the offline model through the run route, made for `end_user` (metadata.user_id) if given."""
    headers = {"Authorization": f"Bearer {api_key}"}
    schema = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}
    agent = requests.post(
        f"{stack.base_url}/v1/_/agents",
        json={"id": "bound-bot", "input_schema": {"type": "object"}, "output_schema": schema},
        headers=headers,
        timeout=10,
    ).json()
    body = {
        "task_input": {},
        "version": {"model": "offline"},
        **({"metadata": {"user_id": end_user}} if end_user else {}),
    }
    response = requests.post(
        f"{stack.base_url}/v1/_/agents/bound-bot/schemas/{agent['schema_id']}/run",
        json=body,
        headers=headers,
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return response.json()


def feedback(stack, method: str, token: str, user_id: str | None = None, **fields: object) -> requests.Response:
    named = {"user_id": user_id} if user_id is not None else {}
    url = f"{stack.base_url}/v1/feedback"
    if method == "POST":
        return requests.post(url, json={"feedback_token": token, **named, **fields}, timeout=10)
    return requests.request(method, url, params={"feedback_token": token, **named}, timeout=10)


@pytest.fixture
def anas_vote(stack, api_key, feedback_items) -> tuple[dict, list]:
    """A run made for Ana, with her vote and comment saved through her bound token; and the stored items."""
    run = run_for(stack, api_key, ANA)
    saved = feedback(stack, "POST", run["feedback_token"], outcome="negative", comment="Ana's private remark")
    assert saved.status_code == 200 and saved.json()["user_id"] == ANA
    return run, feedback_items(run["id"])


@pytest.mark.parametrize("method", ["POST", "GET", "DELETE"])
def test_a_bound_token_with_another_users_id_is_403(stack, anas_vote, feedback_items, method):
    run, before = anas_vote
    response = feedback(stack, method, run["feedback_token"], MALLORY, outcome="positive", comment="gotcha")
    assert response.status_code == 403, response.text
    assert response.json()["error"]["code"] == "token_bound_to_another_user"
    assert "private remark" not in response.text and ANA not in response.text
    assert feedback_items(run["id"]) == before


@pytest.mark.parametrize("forgery", ["binding for another user", "binding removed", "binding added"])
def test_a_forged_binding_is_401(stack, api_key, anas_vote, feedback_items, forgery):
    from agentfeedback.tokens import user_binding
    from tests.forged_tokens import b64, parts

    run, before = anas_vote
    token = run["feedback_token"] if forgery != "binding added" else run_for(stack, api_key, None)["feedback_token"]
    header_part, _, signature = token.removeprefix("fb_").split(".")
    payload = parts(token)[1]
    if forgery == "binding removed":
        payload.pop("usr")
    else:
        payload["usr"] = user_binding(payload["run"], MALLORY)
    forged = f"fb_{header_part}.{b64(json.dumps(payload, separators=(',', ':')).encode())}.{signature}"
    for method in ("POST", "GET", "DELETE"):
        response = feedback(stack, method, forged, MALLORY, outcome="positive")
        assert response.status_code == 401, (method, response.text)
        assert response.json()["error"]["code"] == "invalid_feedback_token"
    assert feedback_items(run["id"]) == before


def test_a_token_of_another_run_cannot_reach_this_runs_vote(stack, settings, api_key, anas_vote, feedback_items):
    run, before = anas_vote
    # Mallory's own bound token (her run): naming Ana is 403; without a name it is her own run's slot.
    mallorys = run_for(stack, api_key, MALLORY)["feedback_token"]
    assert feedback(stack, "POST", mallorys, ANA, outcome="positive").status_code == 403
    assert feedback(stack, "GET", mallorys, ANA).status_code == 403
    assert feedback(stack, "GET", mallorys).json() == {"outcome": None, "comment": None}
    # A token of Ana's run carrying the binding of another of her runs: the run id salts the digest, so it
    # binds nobody here (what a token copied between runs, or a signing mix-up, would give).
    from agentfeedback.tokens import TokenClaims, user_binding

    signer = TokenSigner(stack.kms_client(), settings.token_key_id, 30, settings.stack_name)
    other_run = run_for(stack, api_key, ANA)["id"]
    transplanted = signer.mint(
        TokenClaims(
            tenant="acme",
            agent_id="bound-bot",
            run_id=run["id"],
            version_id=run["version"]["id"],
            user_binding=user_binding(other_run, ANA),
        )
    )
    assert feedback(stack, "POST", transplanted, ANA, outcome="positive").status_code == 403
    assert feedback(stack, "POST", transplanted, outcome="positive").status_code == 422  # whom it binds is unknown
    assert feedback_items(run["id"]) == before


def test_an_unbound_token_reads_no_comment(stack, api_key):
    token = run_for(stack, api_key, None)["feedback_token"]
    assert feedback(stack, "POST", token, ANA, outcome="negative", comment="Ana's private remark").status_code == 200
    response = feedback(stack, "GET", token, ANA)
    assert response.status_code == 200 and response.json() == {"outcome": "negative"}
