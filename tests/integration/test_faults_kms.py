"""KMS going down after a run container's first run, over real HTTP (gateway, run and feedback functions,
DynamoDB Local, moto's KMS server).

The faults are answered from botocore's `before-send` event of the stack's own KMS client, so they go through
its real retry policy (backoff recorded, not slept). The run container's signer is the stack's own class on a
clock the test moves, so that its delegation's hour passes in a moment.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from agentfeedback.tokens.delegation import Delegation
from tests.forged_tokens import parts
from tests.fuzz.botocore_faults import Fault, connection_refused, recorded_backoff
from tests.fuzz.local_stack import cold_start_layer, layer_module
from tests.helpers import PastClock, emf_metric

pytestmark = pytest.mark.integration

TIMEOUT = 15
MAX_ATTEMPTS = 3
AGENT = {
    "id": "kms-outage",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    "output_schema": {"type": "object", "properties": {"country": {"type": "string"}}, "required": ["country"]},
}


@pytest.fixture
def run_container(stack, settings, monkeypatch) -> Iterator[tuple[Any, PastClock]]:
    """A fresh container (composition reset) whose signer runs on a clock the test moves. The signer is the
    stack's own class: the stack's handlers import their own copy of the layer, errors included."""
    cold_start_layer()
    composition = layer_module("agentfeedback.composition")
    clock = PastClock()
    signer = layer_module("agentfeedback.tokens.signer").TokenSigner(
        composition.kms(), settings.token_key_id, settings.token_lifetime_days, settings.stack_name, clock=clock
    )
    monkeypatch.setattr(composition, "token_signer", lambda: signer)
    yield composition, clock
    cold_start_layer()


def test_kms_down_after_the_first_run_keeps_tokens_coming_until_the_delegation_ends(
    stack, api_key, run_container, feedback_items, capfd
):
    composition, clock = run_container
    headers = {"Authorization": f"Bearer {api_key}"}
    registered = requests.post(f"{stack.base_url}/v1/_/agents", json=AGENT, headers=headers, timeout=TIMEOUT)
    assert registered.status_code == 200, registered.text
    run_url = f"{stack.base_url}/v1/_/agents/{AGENT['id']}/schemas/{registered.json()['schema_id']}/run"

    def run() -> dict[str, Any]:
        body = {"task_input": {"city": "Paris"}, "version": {"model": "offline"}}
        response = requests.post(run_url, json=body, headers=headers, timeout=TIMEOUT)
        assert response.status_code == 200, response.text
        assert response.json()["task_output"]["country"]
        return response.json()  # type: ignore[no-any-return]

    def vote(token: str) -> requests.Response:
        body = {"feedback_token": token, "outcome": "positive", "user_id": "u-1"}
        return requests.post(f"{stack.base_url}/v1/feedback", json=body, timeout=TIMEOUT)

    first = run()
    assert vote(first["feedback_token"]).status_code == 200  # the feedback container is warm too
    ends = Delegation.decode(parts(first["feedback_token"])[0]["dlg"]).not_after
    capfd.readouterr()

    kms = composition.kms()
    with (
        recorded_backoff(),
        Fault(kms, "Sign", exception=connection_refused) as sign,
        Fault(kms, "GetPublicKey", exception=connection_refused) as public_key,
    ):
        during = []
        for minutes in (1, 30, 56, 60):  # renewal is due from minute 55; the delegation covers minute 60
            clock.now = ends - 3600 + 60 * minutes
            during.append(run())
        assert all(body["feedback_token"] for body in during), "a run lost its token while its delegation lasted"
        assert sign.attempts == 2 * MAX_ATTEMPTS and public_key.attempts == 0  # renewal tried at minutes 56 and 60
        for body in during:
            response = vote(body["feedback_token"])
            assert response.status_code == 200, response.text
            assert [item["outcome"]["S"] for item in feedback_items(body["id"])] == ["positive"]
        assert emf_metric(capfd.readouterr().out, "TokenFailures") == 0

        clock.now = ends + 1  # the delegation has ended; KMS is still down
        after = run()
        assert after["feedback_token"] is None
        assert emf_metric(capfd.readouterr().out, "TokenFailures") == 1

    back = run()  # KMS answers again: a new delegation at once
    assert vote(back["feedback_token"]).status_code == 200
    assert Delegation.decode(parts(back["feedback_token"])[0]["dlg"]).not_before == ends + 1
