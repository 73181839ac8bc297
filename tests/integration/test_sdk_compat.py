"""The real workflowai (Python and JS) and openai SDKs, pointed at the local stack, work unchanged; runs they make
for a named end user (workflowai: metadata.user_id; openai: user, safety_identifier) get tokens bound to them."""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
from pathlib import Path

import openai
import pytest
import requests
import workflowai
from pydantic import BaseModel, Field

from agentfeedback.tokens import user_binding

pytestmark = pytest.mark.integration


class CityInput(BaseModel):
    city: str = Field(description="A city name")


class CityFacts(BaseModel):
    country: str = Field(description="The country the city is in")
    population: int = Field(ge=0)
    landmarks: list[str] = Field(default_factory=list)


def saved_outcome(base_url: str, token: str, user_id: str | None = None) -> dict:
    params = {"feedback_token": token, **({"user_id": user_id} if user_id else {})}
    response = requests.get(f"{base_url}/v1/feedback", params=params, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def binding_of(token: str) -> tuple[str, str | None]:
    """(run id, the `usr` claim or None) of a token, read from its payload as any holder can."""
    part = token.removeprefix("fb_").split(".")[1]
    payload = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return payload["run"], payload.get("usr")


def assert_bound_to(token: str, user_id: str) -> None:
    run_id, binding = binding_of(token)
    assert binding == user_binding(run_id, user_id) and user_id not in token


def post_feedback(base_url: str, token: str, **fields: object) -> requests.Response:
    return requests.post(f"{base_url}/v1/feedback", json={"feedback_token": token, **fields}, timeout=10)


def test_workflowai_sdk_run_stream_and_send_feedback(stack, api_key):
    workflowai.init(api_key=api_key, url=stack.base_url)

    @workflowai.agent(id="city-facts", model="offline")
    async def city_facts(agent_input: CityInput) -> CityFacts:
        """Give facts about a city."""
        ...

    async def scenario() -> tuple[workflowai.Run[CityFacts], list[workflowai.Run[CityFacts]]]:
        run = await city_facts.run(CityInput(city="Paris"))
        chunks = [chunk async for chunk in city_facts.stream(CityInput(city="Lyon"))]
        await workflowai.send_feedback(
            feedback_token=run.feedback_token, outcome="positive", comment="Accurate", user_id="sdk-user"
        )
        await workflowai.send_feedback(
            feedback_token=chunks[-1].feedback_token, outcome="negative", comment=None, user_id=None
        )
        return run, chunks

    run, chunks = asyncio.run(scenario())
    assert isinstance(run.output, CityFacts) and run.output.population >= 0
    assert run.feedback_token and run.feedback_token.startswith("fb_")
    assert chunks and chunks[-1].feedback_token.startswith("fb_")
    assert isinstance(chunks[-1].output, CityFacts)
    # No end user named: unbound tokens, which read the outcome but not the comment.
    assert binding_of(run.feedback_token)[1] is None
    assert saved_outcome(stack.base_url, run.feedback_token, "sdk-user") == {"outcome": "positive"}
    assert saved_outcome(stack.base_url, chunks[-1].feedback_token)["outcome"] == "negative"


def test_workflowai_sdk_runs_for_an_end_user_bind_their_tokens(stack, api_key):
    workflowai.init(api_key=api_key, url=stack.base_url)

    @workflowai.agent(id="city-facts", model="offline")
    async def city_facts(agent_input: CityInput) -> CityFacts:
        """Give facts about a city."""
        ...

    async def scenario() -> tuple[workflowai.Run[CityFacts], workflowai.Run[CityFacts]]:
        # metadata passes through the SDK unchanged; user_id in it names the end user.
        run = await city_facts.run(CityInput(city="Paris"), metadata={"user_id": "ana@example.com"})
        streamed = [
            chunk async for chunk in city_facts.stream(CityInput(city="Lyon"), metadata={"user_id": "ana@example.com"})
        ][-1]
        # The SDK's own send_feedback, without a user_id: the bound user is taken.
        await workflowai.send_feedback(feedback_token=run.feedback_token, outcome="negative", comment="Wrong country")
        await workflowai.send_feedback(
            feedback_token=streamed.feedback_token, outcome="positive", user_id="ana@example.com"
        )
        with pytest.raises(workflowai.WorkflowAIError) as refused:
            await workflowai.send_feedback(feedback_token=run.feedback_token, outcome="positive", user_id="mallory")
        assert refused.value.response is not None and refused.value.response.status_code == 403
        return run, streamed

    run, streamed = asyncio.run(scenario())
    for token in (run.feedback_token, streamed.feedback_token):
        assert token is not None
        assert_bound_to(token, "ana@example.com")
    # A bound token reads its user's comment, with or without naming them.
    assert run.feedback_token is not None
    expected = {"outcome": "negative", "comment": "Wrong country"}
    assert saved_outcome(stack.base_url, run.feedback_token) == expected
    assert saved_outcome(stack.base_url, run.feedback_token, "ana@example.com") == expected


def test_openai_sdk_completion_and_stream_carry_feedback_tokens(stack, api_key):
    client = openai.OpenAI(base_url=f"{stack.base_url}/v1", api_key=api_key)
    completion = client.chat.completions.create(
        model="offline",
        messages=[{"role": "user", "content": "Say hello to the team."}],
        metadata={"agent_id": "greeter"},
    )
    token = completion.choices[0].feedback_token  # type: ignore[attr-defined]
    assert token.startswith("fb_") and completion.choices[0].message.content
    assert completion.usage and completion.usage.total_tokens > 0

    stream = client.chat.completions.create(
        model="greeter/offline", messages=[{"role": "user", "content": "Again, streamed."}], stream=True
    )
    chunks = list(stream)
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    assert text
    stream_token = chunks[-1].choices[0].feedback_token  # type: ignore[attr-defined]
    assert stream_token.startswith("fb_") and stream_token != token

    for feedback_token, outcome in ((token, "positive"), (stream_token, "negative")):
        response = requests.post(
            f"{stack.base_url}/v1/feedback",
            json={"feedback_token": feedback_token, "outcome": outcome, "user_id": "u-1"},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        assert saved_outcome(stack.base_url, feedback_token, "u-1")["outcome"] == outcome


@pytest.mark.parametrize("named", [{"user": "u-7"}, {"safety_identifier": "u-7"}, {"metadata": {"user_id": "u-7"}}])
def test_openai_sdk_completions_for_an_end_user_bind_their_tokens(stack, api_key, named):
    client = openai.OpenAI(base_url=f"{stack.base_url}/v1", api_key=api_key)
    messages = [{"role": "user", "content": "Say hello."}]
    completion = client.chat.completions.create(model="greeter/offline", messages=messages, **named)
    stream = client.chat.completions.create(model="greeter/offline", messages=messages, stream=True, **named)
    stream_token = list(stream)[-1].choices[0].feedback_token  # type: ignore[attr-defined]
    token = completion.choices[0].feedback_token  # type: ignore[attr-defined]
    for bound in (token, stream_token):
        assert_bound_to(bound, "u-7")
    assert post_feedback(stack.base_url, token, outcome="positive", comment="Friendly").json()["user_id"] == "u-7"
    assert saved_outcome(stack.base_url, token) == {"outcome": "positive", "comment": "Friendly"}
    refused = post_feedback(stack.base_url, token, outcome="negative", user_id="u-8")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "token_bound_to_another_user"


def test_sdks_get_clear_errors_for_bad_keys(stack):
    client = openai.OpenAI(base_url=f"{stack.base_url}/v1", api_key="afk_not_a_real_key_00000000")
    with pytest.raises(openai.AuthenticationError):
        client.chat.completions.create(model="offline", messages=[{"role": "user", "content": "hi"}])


def test_workflowai_js_sdk_runs_and_sends_feedback(stack, api_key):
    registered = requests.post(
        f"{stack.base_url}/v1/_/agents",
        headers={"Authorization": f"Bearer {api_key}"},
        json={
            "id": "js-city",
            "input_schema": CityInput.model_json_schema(),
            "output_schema": CityFacts.model_json_schema(),
        },
        timeout=10,
    ).json()
    script = Path(__file__).with_name("workflowai_js.mjs")
    result = subprocess.run(
        ["node", str(script), stack.base_url, api_key, "js-city", str(registered["schema_id"])],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout.strip().splitlines()[-1])
    assert printed["feedbackToken"].startswith("fb_")
    assert CityFacts.model_validate(printed["output"])
    assert_bound_to(printed["feedbackToken"], "js-user")
    assert saved_outcome(stack.base_url, printed["feedbackToken"], "js-user") == {
        "outcome": "positive",
        "comment": "From the JS SDK",
    }
