"""The real workflowai (Python and JS) and openai SDKs, pointed at the local stack, work unchanged."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path

import openai
import pytest
import requests
import workflowai
from pydantic import BaseModel, Field

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
    assert saved_outcome(stack.base_url, run.feedback_token, "sdk-user") == {
        "outcome": "positive",
        "comment": "Accurate",
    }
    assert saved_outcome(stack.base_url, chunks[-1].feedback_token)["outcome"] == "negative"


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
    assert saved_outcome(stack.base_url, printed["feedbackToken"], "js-user") == {
        "outcome": "positive",
        "comment": "From the JS SDK",
    }
