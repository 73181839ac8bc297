"""Property tests of the request models and of the feedback handler, in-process (moto).

Any JSON either validates or raises pydantic's ValidationError (which the resolvers turn into a 422), and
whatever body or query string reaches the feedback function, it never answers 5xx: a 200 that saved the
vote, or a 4xx in the error shape.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import json
import os
import uuid

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from agentfeedback import composition
from agentfeedback.chat.models import ChatCompletionRequest
from agentfeedback.core.errors import ValidationFailed
from agentfeedback.core.http_api import NOT_AN_OBJECT
from agentfeedback.feedback.models import FeedbackRequest
from agentfeedback.feedback.validation import parse_vote
from agentfeedback.runs.models import BindEnvironmentRequest, RegisterAgentRequest, RunRequest, VersionProperties
from tests.helpers import FakeContext, load_event, load_handler

PROPERTY = settings(
    max_examples=int(os.environ.get("PROPERTY_EXAMPLES") or 150),  # more with `make fuzz`
    deadline=None,
    database=None,
    # One moto account per test (the `aws` fixture), shared by its examples: each example uses its own run.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)

# What JSON can carry (no NaN or infinities: Python's json accepts them, but no client sends them).
scalars = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=30)
)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=10,
)


def near(fields: dict[str, st.SearchStrategy]) -> st.SearchStrategy[dict]:
    """Objects with some of the model's own fields (plausible or not values) and some unknown ones."""
    known = st.fixed_dictionaries({}, optional={name: values | json_values for name, values in fields.items()})
    return st.tuples(known, st.dictionaries(st.text(max_size=10), json_values, max_size=3)).map(
        lambda pair: {**pair[1], **pair[0]}
    )


FEEDBACK_FIELDS = {
    "feedback_token": st.text(max_size=40) | st.text(min_size=2040, max_size=2100),
    "outcome": st.sampled_from(["positive", "negative", "Positive", "", "neutral"]),
    "comment": st.text(max_size=50) | st.text(min_size=4990, max_size=5010) | st.none(),
    "user_id": st.text(max_size=20) | st.text(min_size=250, max_size=260) | st.none(),
    "keep_comment": st.booleans() | st.sampled_from([0, 1, "true", None]),
}
RUN_FIELDS = {
    "task_input": st.dictionaries(st.text(max_size=5), scalars, max_size=3),
    "version": st.integers() | st.sampled_from(["dev", "production", ""]) | st.just({"model": "offline"}),
    "id": st.uuids().map(str) | st.text(max_size=70),
    "stream": st.booleans(),
    "metadata": st.dictionaries(st.text(max_size=5), scalars, max_size=3),
    "use_fallback": st.lists(st.text(max_size=5), max_size=2),
}
CHAT_FIELDS = {
    "model": st.sampled_from(["offline", "x/offline", ""]) | st.text(max_size=5),
    "messages": st.lists(
        st.fixed_dictionaries(
            {"role": st.sampled_from(["user", "system", "assistant", "tool"])},
            optional={"content": st.text(max_size=10) | st.just([{"type": "text", "text": "hi"}])},
        ),
        max_size=3,
    ),
    "temperature": st.floats(min_value=-1, max_value=3),
    "max_tokens": st.integers(min_value=-1, max_value=40_000),
    "n": st.integers(min_value=0, max_value=2),
    "metadata": st.dictionaries(st.text(max_size=5), scalars, max_size=3),
}
MODEL_INPUTS = {
    FeedbackRequest: near(FEEDBACK_FIELDS),
    RunRequest: near(RUN_FIELDS),
    RegisterAgentRequest: near({"id": st.from_regex(r"[a-z0-9][a-z0-9_-]{0,70}", fullmatch=True)}),
    VersionProperties: near({"model": st.text(max_size=5), "temperature": st.floats(), "max_tokens": st.integers()}),
    BindEnvironmentRequest: near({"version": st.integers()}),
    ChatCompletionRequest: near(CHAT_FIELDS),
}
MODELS = list(MODEL_INPUTS)


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model.__name__)
@PROPERTY
@given(data=st.data())
def test_any_json_validates_or_raises_validation_error(model: type[BaseModel], data):
    value = data.draw(MODEL_INPUTS[model] | json_values, label="value")
    try:
        parsed = model.model_validate(value)
    except ValidationError:
        return
    # What validated is what the model says it is, and survives a round trip through JSON.
    assert isinstance(value, dict)
    assert model.model_validate_json(parsed.model_dump_json()) == parsed


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model.__name__)
@PROPERTY
@given(text=st.text(max_size=200) | json_values.map(json.dumps))
def test_any_text_as_a_json_body_validates_or_raises_validation_error(model: type[BaseModel], text):
    with contextlib.suppress(ValidationError):
        model.model_validate_json(text)


def assert_answered_without_5xx(result) -> None:
    status, _, body = result
    assert status < 500, body
    if status >= 400:
        assert set(body) == {"error"}
        assert body["error"]["status_code"] == status and body["error"]["code"] and body["error"]["message"]


@PROPERTY
@given(body=json_values | near(FEEDBACK_FIELDS), valid_token=st.booleans())
def test_feedback_post_with_any_json_body_is_never_a_5xx(aws, invoke, body, valid_token):
    run_id = f"run-{uuid.uuid4().hex}"
    if valid_token and isinstance(body, dict):
        body["feedback_token"] = aws.mint(run_id=run_id)
    status, _, response = invoke("feedback", load_event("feedback/post_feedback.json", body=json.dumps(body)))
    assert_answered_without_5xx((status, _, response))
    if status == 200:
        # Accepted only with our token and a valid outcome, and then saved: never a 200 without the write.
        assert valid_token
        [item] = [item for item in aws.items() if item["run_id"]["S"] == run_id]
        assert item["outcome"]["S"] == response["outcome"] == body["outcome"]


@PROPERTY
@given(
    raw=st.binary(max_size=300),
    base64_encoded=st.booleans(),
    content_type=st.sampled_from(["application/json", "text/plain", ""]),
)
def test_feedback_post_with_any_bytes_is_never_a_5xx(aws, invoke, raw, base64_encoded, content_type):
    event = load_event("feedback/post_feedback.json")
    if base64_encoded:
        event["body"], event["isBase64Encoded"] = base64.b64encode(raw).decode(), True
    else:
        event["body"] = raw.decode("utf-8", errors="replace")
    event["headers"]["Content-Type"] = event["multiValueHeaders"]["Content-Type"][0] = content_type
    event["multiValueHeaders"]["Content-Type"] = [content_type]
    assert_answered_without_5xx(invoke("feedback", event))


@PROPERTY
@given(
    query=st.dictionaries(st.sampled_from(["feedback_token", "user_id", "other"]), st.text(max_size=300), max_size=3),
    valid_token=st.booleans(),
)
def test_feedback_get_with_any_query_is_never_a_5xx(aws, invoke, query, valid_token):
    if valid_token:
        query["feedback_token"] = aws.mint(run_id=f"run-{uuid.uuid4().hex}")
    status, _, body = invoke("feedback", load_event("feedback/get_feedback.json", query=query))
    assert_answered_without_5xx((status, _, body))
    if status == 200:
        assert body["outcome"] is None


# -- the public function's light path (feedback.validation, feedback.http) against the documented models ------


def pydantic_problems(value: object) -> list[str] | None:
    """FeedbackRequest's verdict as the documented resolver words it: None when valid, else its problems."""
    try:
        FeedbackRequest.model_validate(value)
    except ValidationError as exc:
        return list(
            dict.fromkeys(
                f"{error['loc'][0]}: {error['msg']}" if error["loc"] else NOT_AN_OBJECT for error in exc.errors()
            )
        )
    return None


@PROPERTY
@given(value=near(FEEDBACK_FIELDS) | json_values | st.dictionaries(st.sampled_from(list(FEEDBACK_FIELDS)), json_values))
def test_light_vote_check_agrees_with_the_model(value):
    expected = pydantic_problems(value)
    try:
        vote = parse_vote(value)
    except ValidationFailed as exc:
        assert expected is not None, f"refused what the model accepts: {exc.message}"
        assert exc.message == f"Invalid request: {'; '.join(expected)}."
        return
    assert expected is None, f"accepted what the model refuses: {expected}"
    assert vote._asdict() == FeedbackRequest.model_validate(value).model_dump()


surrogates = st.text(alphabet=st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1, max_size=2)


@pytest.mark.parametrize("field", ["feedback_token", "comment", "user_id"])
@given(text=surrogates)
def test_light_vote_check_refuses_lone_surrogates_as_the_model_does(field, text):
    value = {"feedback_token": "fb_x", "outcome": "positive", field: text}
    with pytest.raises(ValidationFailed) as refused:
        parse_vote(value)
    assert refused.value.message == f"Invalid request: {'; '.join(pydantic_problems(value))}."


ORIGINS = ["https://app.example.com", "https://evil.example", ""]
ALLOWED_ORIGINS = ["https://app.example.com,https://admin.example.com", "*"]  # the setting: two sites, or any
CONTENT_TYPES = ["application/json", "application/json; charset=utf-8", "text/plain", "", None]
QUERY_NAMES = ["feedback_token", "user_id", "other"]


@st.composite
def feedback_events(draw, aws):
    """API Gateway events as the public function may receive them, valid and not, with a real token or not."""
    method = draw(st.sampled_from(["POST", "POST", "GET", "GET", "OPTIONS", "DELETE"]))
    event = load_event("feedback/post_feedback.json" if method in ("POST", "OPTIONS") else "feedback/get_feedback.json")
    event["httpMethod"] = event["requestContext"]["httpMethod"] = method
    if draw(st.integers(0, 9)) == 0:
        event["path"] = event["resource"] = "/v1/other"
    token = aws.mint(run_id=f"run-{uuid.uuid4().hex}") if draw(st.booleans()) else None
    origin = draw(st.sampled_from(ORIGINS))
    for headers in (event["headers"], event["multiValueHeaders"]):
        headers.pop("Origin", None)
        headers.pop("Content-Type", None)
    if origin:
        event["headers"]["Origin"], event["multiValueHeaders"]["Origin"] = origin, [origin]
    content_type = draw(st.sampled_from(CONTENT_TYPES))
    if content_type is not None:
        event["headers"]["Content-Type"], event["multiValueHeaders"]["Content-Type"] = content_type, [content_type]
    if method in ("GET", "DELETE"):
        query = draw(st.dictionaries(st.sampled_from(QUERY_NAMES), st.lists(st.text(max_size=300), max_size=2)))
        if draw(st.booleans()):
            query["feedback_token"] = [token or draw(st.text(min_size=1, max_size=40))]
        event["multiValueQueryStringParameters"] = query or None
        event["queryStringParameters"] = {name: values[-1] for name, values in query.items() if values} or None
        return event
    plausible = st.fixed_dictionaries(
        {"feedback_token": st.text(min_size=1, max_size=40), "outcome": st.sampled_from(["positive", "negative"])},
        optional={
            "comment": st.text(max_size=50) | st.none(),
            "user_id": st.text(max_size=20) | st.none(),
            "keep_comment": st.booleans(),
        },
    )
    body = draw(plausible | near(FEEDBACK_FIELDS) | json_values)
    if token and isinstance(body, dict):
        body["feedback_token"] = token
    if isinstance(body, dict) and draw(st.integers(0, 5)) == 0:
        body["pad"] = "x" * (16 * 1024)
    text = json.dumps(body) if draw(st.integers(0, 5)) else draw(st.text(max_size=30))
    if draw(st.integers(0, 5)) == 0:
        raw = text.encode() if draw(st.booleans()) else draw(st.binary(max_size=40))
        event["body"], event["isBase64Encoded"] = base64.b64encode(raw).decode(), True
    else:
        event["body"] = text if text or draw(st.booleans()) else None
    return event


@PROPERTY
@given(data=st.data())
def test_the_public_path_answers_as_the_documented_resolver(aws, monkeypatch, data):
    """Status, body and headers alike (CORS, preflight, 404, 413/415/400/422 and their messages, 401, 200)."""
    monkeypatch.setenv("ALLOWED_ORIGINS", data.draw(st.sampled_from(ALLOWED_ORIGINS)))
    composition.reset()
    handler = load_handler("feedback")
    documented = handler.app.documented()
    request = data.draw(feedback_events(aws), label="event")
    light = handler.lambda_handler(copy.deepcopy(request), FakeContext())
    reference = documented.resolve(copy.deepcopy(request), FakeContext())
    handler.metrics.clear_metrics()
    event(f"{request['httpMethod']} {light['statusCode']}")  # --hypothesis-show-statistics: what was covered
    for response in (light, reference):
        response["body"] = json.loads(response["body"]) if response["body"] else response["body"]
        response["multiValueHeaders"] = dict(response["multiValueHeaders"])
    if request["httpMethod"] == "POST" and json_array(request) and light["statusCode"] == 422:
        # Powertools reads a JSON array's first item as the body (meant for form fields); the documented body,
        # and so the public path, is an object.
        assert light["body"]["error"]["message"] == f"Invalid request: {NOT_AN_OBJECT}."
        assert reference["statusCode"] == 422
        return
    assert light == reference


def json_array(event: dict) -> bool:
    """Whether the event's body is a non-empty JSON array."""
    try:
        raw = base64.b64decode(event["body"]) if event.get("isBase64Encoded") else event["body"]
        return bool(isinstance(body := json.loads(raw), list) and body)
    except (TypeError, ValueError):
        return False
