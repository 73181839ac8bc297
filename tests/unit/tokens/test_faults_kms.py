"""KMS unavailable (moto in-process; faults injected in botocore's retry loop).

A run or a chat completion needs KMS once per container and hour (a key delegation). Without one, it still
returns its output, with `feedback_token: null`, and counts the failure in the TokenFailures metric (read back
from the EMF JSON that Powertools Metrics prints); with one, KMS going down changes nothing until the
delegation ends. The public feedback path needs KMS only for the public key, once per container: unavailable
then, it is a 503 with Retry-After.
"""

from __future__ import annotations

import pytest
from botocore.exceptions import EndpointConnectionError

from agentfeedback import composition
from agentfeedback.tokens.delegation import Delegation
from agentfeedback.tokens.signer import TokenSigner
from agentfeedback.tokens.verifier import TokenVerifier
from tests.forged_tokens import parts
from tests.fuzz.botocore_faults import Fault, recorded_backoff
from tests.helpers import PastClock, emf_metric, load_event

MAX_ATTEMPTS = 3
INPUT_SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
OUTPUT_SCHEMA = {"type": "object", "properties": {"country": {"type": "string"}}, "required": ["country"]}
OFFLINE = {"model": "offline", "instructions": "Give facts about the city."}
REFUSED = {"exception": lambda request: EndpointConnectionError(endpoint_url=request.url)}
# (operation, fault, attempts botocore makes): retryable faults are tried three times, the others once.
KMS_FAULTS = {
    "sign-unreachable": ("Sign", REFUSED, MAX_ATTEMPTS),
    "sign-internal-error": ("Sign", {"code": "KMSInternalException", "status": 500}, MAX_ATTEMPTS),
    "sign-dependency-timeout": ("Sign", {"code": "DependencyTimeoutException", "status": 503}, MAX_ATTEMPTS),
    "sign-throttled": ("Sign", {"code": "ThrottlingException", "status": 400}, MAX_ATTEMPTS),
    "sign-key-disabled": ("Sign", {"code": "DisabledException", "status": 400}, 1),
    "public-key-unreachable": ("GetPublicKey", REFUSED, MAX_ATTEMPTS),
}


def register(invoke) -> None:
    body = {"id": "city-facts", "input_schema": INPUT_SCHEMA, "output_schema": OUTPUT_SCHEMA}
    status, _, response = invoke("run", load_event("run/register_agent.json", body=body))
    assert status == 200, response


def run(invoke):
    body = {"task_input": {"city": "Paris"}, "version": OFFLINE}
    path = {"agent_id": "city-facts", "schema_id": "1"}
    return invoke("run", load_event("run/run_agent.json", body=body, path=path))


def chat(invoke):
    return invoke("chat", load_event("chat/chat_completion.json"))


@pytest.mark.parametrize(("operation", "fault", "attempts"), KMS_FAULTS.values(), ids=KMS_FAULTS.keys())
def test_run_returns_its_output_without_a_token_and_counts_the_failure(aws, invoke, capsys, operation, fault, attempts):
    register(invoke)
    capsys.readouterr()
    with recorded_backoff(), Fault(composition.kms(), operation, **fault) as injected:
        status, _, body = run(invoke)
    assert status == 200, body
    assert body["task_output"]["country"] and body["feedback_token"] is None
    assert injected.attempts == attempts
    output = capsys.readouterr().out
    assert emf_metric(output, "TokenFailures") == 1
    assert emf_metric(output, "Runs") == 1


def test_tokens_come_back_when_kms_does(aws, invoke, capsys):
    register(invoke)
    with recorded_backoff(), Fault(composition.kms(), "Sign", **REFUSED):
        assert run(invoke)[2]["feedback_token"] is None
    capsys.readouterr()
    status, _, body = run(invoke)
    assert status == 200 and body["feedback_token"]
    claims = aws.verifier().verify(body["feedback_token"])
    assert claims.run_id == body["id"] and claims.agent_id == "city-facts"
    assert emf_metric(capsys.readouterr().out, "TokenFailures") == 0


def test_chat_completion_returns_its_answer_without_a_token_and_counts_the_failure(aws, invoke, capsys):
    with recorded_backoff(), Fault(composition.kms(), "Sign", **REFUSED) as injected:
        status, _, body = chat(invoke)
    assert status == 200, body
    [choice] = body["choices"]
    assert choice["message"]["content"] and choice["feedback_token"] is None
    assert injected.attempts == MAX_ATTEMPTS
    assert emf_metric(capsys.readouterr().out, "TokenFailures") == 1


def test_feedback_is_a_503_while_the_public_key_cannot_be_fetched_then_recovers(aws, invoke, monkeypatch):
    moments = iter([1000.0, 1000.0 + TokenVerifier.FETCH_BACKOFF_SECONDS + 1])
    monkeypatch.setattr("agentfeedback.tokens.verifier.time.monotonic", lambda: next(moments, 10_000.0))
    token = aws.mint()
    body = {"feedback_token": token, "outcome": "positive"}
    with recorded_backoff(), Fault(composition.kms(), "GetPublicKey", **REFUSED) as injected:
        status, headers, error = invoke("feedback", load_event("feedback/post_feedback.json", body=body))
    assert status == 503 and error["error"]["code"] == "service_unavailable" and int(headers["Retry-After"]) >= 1
    assert injected.attempts == MAX_ATTEMPTS
    # The failure is remembered only for FETCH_BACKOFF_SECONDS: after it, the next post fetches the key and is saved.
    status, _, saved = invoke("feedback", load_event("feedback/post_feedback.json", body=body))
    assert status == 200 and saved["outcome"] == "positive"


def vote(invoke, token: str) -> int:
    body = {"feedback_token": token, "outcome": "positive", "user_id": "u-1"}
    return invoke("feedback", load_event("feedback/post_feedback.json", body=body))[0]


def test_kms_down_after_the_first_run_keeps_tokens_coming_until_the_delegation_ends(aws, invoke, capsys, monkeypatch):
    clock = PastClock()
    signer = TokenSigner(composition.kms(), aws.key_arn, 30, aws.stack, clock=clock)
    monkeypatch.setattr(composition, "token_signer", lambda: signer)  # the run container's, on a clock we move
    register(invoke)
    first = run(invoke)[2]["feedback_token"]
    assert first and vote(invoke, first) == 200  # both containers are warm: delegation made, public key cached
    ends = Delegation.decode(parts(first)[0]["dlg"]).not_after
    capsys.readouterr()

    with (
        recorded_backoff(),
        Fault(composition.kms(), "Sign", **REFUSED) as sign,
        Fault(composition.kms(), "GetPublicKey", **REFUSED) as public_key,
    ):
        tokens = []
        for minutes in (1, 30, 56, 57, 58, 59, 60):  # renewal is due from minute 55
            clock.now = ends - 3600 + 60 * minutes
            status, _, body = run(invoke)
            assert status == 200 and body["task_output"]["country"]
            tokens.append(body["feedback_token"])
        assert all(tokens), "a run lost its token while the delegation still covered it"
        # Renewal was tried by each run from minute 56 (they are further apart than RETRY_SECONDS), and failed.
        assert sign.attempts == MAX_ATTEMPTS * 5 and public_key.attempts == 0
        assert emf_metric(capsys.readouterr().out, "TokenFailures") == 0
        # Those tokens are good: verified by the warm feedback container (which needs no KMS call either).
        for token in tokens:
            claims = aws.verifier().verify(token)
            assert claims.agent_id == "city-facts"
            assert vote(invoke, token) == 200

        clock.now = ends + 1  # the delegation has ended, KMS is still down
        status, _, body = run(invoke)
        assert status == 200 and body["task_output"]["country"] and body["feedback_token"] is None
        assert emf_metric(capsys.readouterr().out, "TokenFailures") == 1

    status, _, body = run(invoke)  # KMS is back: a new delegation at once
    assert status == 200 and aws.verifier().verify(body["feedback_token"]).agent_id == "city-facts"
    assert Delegation.decode(parts(body["feedback_token"])[0]["dlg"]).not_before == ends + 1
    assert emf_metric(capsys.readouterr().out, "TokenFailures") == 0
