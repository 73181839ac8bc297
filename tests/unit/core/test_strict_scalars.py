"""Numbers and booleans in request bodies are taken as JSON sends them: `true` is not 1, `"1"` is not a number,
`"yes"` is not a boolean (pydantic's lax mode would take all three). Checked on every request body model, by
its validation schema, and on the routes where a lax value would have changed something."""

from __future__ import annotations

from typing import Any, Literal

import pytest
from pydantic import BaseModel, ValidationError

from agentfeedback.chat.models import ChatCompletionRequest
from agentfeedback.feedback.models import FeedbackRequest
from agentfeedback.review.models import ErasureRequest, ImproveRequest
from agentfeedback.runs.models import BindEnvironmentRequest, RegisterAgentRequest, RunRequest, VersionProperties
from tests.helpers import load_event

# Every model a route reads its JSON body into (the handlers' `body:` parameters).
REQUEST_MODELS: list[type[BaseModel]] = [
    FeedbackRequest,
    RegisterAgentRequest,
    RunRequest,
    VersionProperties,
    BindEnvironmentRequest,
    ChatCompletionRequest,
    ErasureRequest,
    ImproveRequest,
]
SCALARS = {"int", "float", "bool"}


def lax_scalars(schema: Any, path: str = "") -> list[str]:
    """Paths of the int, float and bool schemas in a pydantic core schema that are not strict."""
    found: list[str] = []
    if isinstance(schema, dict):
        if isinstance(schema.get("type"), str) and schema["type"] in SCALARS and not schema.get("strict"):
            found.append(f"{path} ({schema['type']})")
        # A literal number takes what equals it (true == 1, 1.0 == 1): no literal may be other than text.
        if schema.get("type") == "literal" and any(not isinstance(value, str) for value in schema.get("expected", [])):
            found.append(f"{path} (literal {schema['expected']})")
        for key, value in schema.items():
            if key not in ("cls", "metadata", "ref"):
                found.extend(lax_scalars(value, f"{path}.{key}" if path else str(key)))
    elif isinstance(schema, list):
        for index, value in enumerate(schema):
            found.extend(lax_scalars(value, f"{path}[{index}]"))
    return found


@pytest.mark.parametrize("model", REQUEST_MODELS, ids=lambda model: model.__name__)
def test_every_number_and_boolean_of_a_request_body_is_strict(model):
    model.model_rebuild(force=True)
    assert lax_scalars(model.__pydantic_core_schema__) == []


def test_the_walk_finds_a_lax_field():
    class Lax(BaseModel):
        count: int | None = None
        choices: Literal[1] = 1

    assert [path.split(" ")[-1] for path in lax_scalars(Lax.__pydantic_core_schema__)] == ["(int)", "[1])"]


@pytest.mark.parametrize(
    ("model", "body"),
    [
        (BindEnvironmentRequest, {"version": "1"}),
        (BindEnvironmentRequest, {"version": True}),
        (BindEnvironmentRequest, {"version": 1, "canary": {"version": 2, "weight": True}}),
        (ImproveRequest, {"max_feedback": True}),
        (ImproveRequest, {"include_positive": "yes"}),
        (ImproveRequest, {"include_positive": 1}),
        (RunRequest, {"task_input": {}, "version": True}),
        (RunRequest, {"task_input": {}, "version": 1, "stream": "true"}),
        (VersionProperties, {"model": "offline", "temperature": True}),
        (ChatCompletionRequest, {"model": "offline", "messages": [{"role": "user", "content": "Hi"}], "stream": 1}),
        (ChatCompletionRequest, {"model": "offline", "messages": [{"role": "user", "content": "Hi"}], "n": True}),
        (ChatCompletionRequest, {"model": "offline", "messages": [{"role": "user", "content": "Hi"}], "n": 1.0}),
        (ChatCompletionRequest, {"model": "offline", "messages": [{"role": "user", "content": "Hi"}], "n": 2}),
    ],
)
def test_lax_values_are_refused(model, body):
    with pytest.raises(ValidationError):
        model.model_validate(body)


def test_json_numbers_still_pass():
    assert BindEnvironmentRequest.model_validate({"version": 2, "canary": {"version": 3, "weight": 10}}).version == 2
    assert VersionProperties.model_validate({"model": "offline", "temperature": 1}).temperature == 1.0
    assert RunRequest.model_validate({"task_input": {}, "version": "production"}).version == "production"


def test_a_canary_weight_of_true_is_422_over_the_route(aws, invoke):
    body = {"version": 1, "canary": {"version": 2, "weight": True}}
    status, _, answer = invoke("run", load_event("run/bind_environment.json", body=body))
    assert status == 422 and "canary.weight" in answer["error"]["message"], answer


def test_include_positive_yes_is_422_over_the_route(aws, invoke):
    status, _, answer = invoke("review", load_event("review/improve_version.json", body={"include_positive": "yes"}))
    assert status == 422 and "include_positive" in answer["error"]["message"], answer
