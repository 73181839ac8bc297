"""The chat completions function, as the OpenAI wire format and WorkflowAI's extensions describe it."""

from __future__ import annotations

import json

import pytest

from tests.helpers import FakeContext, load_event, load_handler

MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Say hello."}]


def chat(invoke, **body):
    return invoke(
        "chat", load_event("chat/chat_completion.json", body={"model": "offline", "messages": MESSAGES, **body})
    )


def token_claims(aws, token):
    return aws.verifier().verify(token)


def test_completion_has_openai_shape_usage_and_feedback_token(aws, invoke):
    status, _, body = chat(invoke, metadata={"agent_id": "Greeter Bot"})
    assert status == 200, body
    assert body["object"] == "chat.completion" and body["id"].startswith("chatcmpl-")
    choice = body["choices"][0]
    assert choice["message"]["role"] == "assistant" and choice["message"]["content"]
    assert choice["finish_reason"] == "stop"
    assert choice["duration_seconds"] >= 0 and choice["cost_usd"] == 0
    usage = body["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"] > 0
    claims = token_claims(aws, choice["feedback_token"])
    assert claims.agent_id == "greeter-bot"  # slugified
    assert claims.run_id == body["id"].removeprefix("chatcmpl-")


@pytest.mark.parametrize(
    ("body", "agent"),
    [
        ({"model": "support-bot/offline"}, "support-bot"),
        ({"model": "offline"}, "default"),
        ({"model": "x/offline", "metadata": {"agent_id": "from-metadata"}}, "from-metadata"),
    ],
)
def test_agent_comes_from_metadata_then_model_prefix_then_default(aws, invoke, body, agent):
    status, _, response = chat(invoke, **body)
    assert status == 200, response
    assert token_claims(aws, response["choices"][0]["feedback_token"]).agent_id == agent


def test_unsupported_fields_are_named_in_a_400(aws, invoke):
    status, _, body = chat(invoke, tools=[{"type": "function"}], logit_bias={"1": 2})
    assert status == 400 and body["error"]["code"] == "unsupported_parameter"
    assert "tools" in body["error"]["message"] and "logit_bias" in body["error"]["message"]


def test_unknown_model_lists_available_ones(aws, invoke):
    status, _, body = chat(invoke, model="gpt-nonexistent")
    assert status == 400 and "offline" in body["error"]["message"]


def test_changing_the_system_prompt_makes_a_new_version(aws, invoke):
    first = chat(invoke)[2]["choices"][0]["feedback_token"]
    other = [{"role": "system", "content": "Be verbose."}, MESSAGES[1]]
    second = chat(invoke, messages=other)[2]["choices"][0]["feedback_token"]
    assert token_claims(aws, first).version_id != token_claims(aws, second).version_id


def test_stream_final_chunk_carries_the_token_then_done(aws):
    body = {"model": "offline", "messages": MESSAGES, "stream": True, "stream_options": {"include_usage": True}}
    response = load_handler("chat").lambda_handler(load_event("chat/chat_completion.json", body=body), FakeContext())
    assert response["statusCode"] == 200
    frames = response["body"].strip().split("\n\n")
    assert frames[-1] == "data: [DONE]"
    chunks = [json.loads(frame.removeprefix("data: ")) for frame in frames[:-1]]
    assert all(chunk["object"] == "chat.completion.chunk" for chunk in chunks)
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert text
    final = [c for c in chunks if c["choices"]][-1]["choices"][0]
    assert final["finish_reason"] == "stop" and final["feedback_token"].startswith("fb_")
    assert chunks[-1]["usage"]["total_tokens"] > 0


def test_completion_has_openais_keys_and_nulls_plus_the_feedback_fields(aws, invoke):
    status, _, body = chat(invoke)
    assert status == 200, body
    assert list(body) == ["id", "object", "created", "model", "choices", "usage"]
    choice = body["choices"][0]
    assert list(choice) == [
        "index",
        "message",
        "finish_reason",
        "logprobs",
        "feedback_token",
        "duration_seconds",
        "cost_usd",
    ]
    assert choice["logprobs"] is None and choice["index"] == 0
    assert choice["message"]["refusal"] is None and list(choice["message"]) == ["role", "content", "refusal"]
    assert body["model"] == "offline" and isinstance(body["created"], int)
    assert list(body["usage"]) == ["prompt_tokens", "completion_tokens", "total_tokens"]


def stream(body):
    event = load_event("chat/chat_completion.json", body={"model": "offline", "messages": MESSAGES, **body})
    return load_handler("chat").lambda_handler(event, FakeContext())["body"]


def test_stream_chunks_carry_exactly_the_keys_of_openais_stream(aws):
    frames = stream({"stream": True, "stream_options": {"include_usage": True}}).split("\n\n")
    assert frames[-2:] == ["data: [DONE]", ""]
    chunks = [json.loads(frame.removeprefix("data: ")) for frame in frames[:-2]]
    first, *pieces, last, usage = chunks
    assert all(list(chunk) == ["id", "created", "model", "object", "choices"] for chunk in chunks[:-1])
    assert first["choices"] == [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]
    assert pieces and all(list(c["choices"][0]) == ["index", "delta", "finish_reason"] for c in pieces)
    assert all(list(c["choices"][0]["delta"]) == ["content"] and not c["choices"][0]["finish_reason"] for c in pieces)
    final = last["choices"][0]
    assert list(final) == ["index", "delta", "finish_reason", "feedback_token", "duration_seconds", "cost_usd"]
    assert final["delta"] == {} and final["finish_reason"] == "stop"
    assert list(usage) == ["id", "created", "model", "object", "choices", "usage"] and usage["choices"] == []
    assert len({(c["id"], c["created"]) for c in chunks}) == 1


def test_stream_without_include_usage_ends_with_the_token_chunk(aws):
    frames = stream({"stream": True}).split("\n\n")
    last = json.loads(frames[-3].removeprefix("data: "))
    assert "usage" not in last and last["choices"][0]["feedback_token"].startswith("fb_")


def test_stream_events_are_compact_json_lines(aws):
    """The framing the SDKs parse: `data: <compact, ASCII-escaped JSON>` and a blank line, nothing else."""
    messages = [{"role": "user", "content": "Say héllo ✓"}]
    body = stream({"messages": messages, "stream": True})
    assert body.endswith("\n\ndata: [DONE]\n\n")
    for frame in body.split("\n\n")[:-2]:
        payload = frame.removeprefix("data: ")
        assert frame.startswith("data: ") and "\n" not in frame
        assert payload == json.dumps(json.loads(payload), separators=(",", ":"))


def test_missing_messages_is_422(aws, invoke):
    status, _, _ = invoke("chat", load_event("chat/chat_completion.json", body={"model": "offline"}))
    assert status == 422


@pytest.mark.parametrize(
    "named",
    [
        {"user": "ana"},
        {"safety_identifier": "ana"},
        {"metadata": {"user_id": "ana"}},
        {"user": "ana", "safety_identifier": " ana ", "metadata": {"user_id": "ana", "agent_id": "greeter"}},
    ],
)
def test_a_completion_for_a_named_end_user_binds_its_token(aws, invoke, named):
    from agentfeedback.tokens import user_binding

    status, _, body = chat(invoke, **named)
    assert status == 200, body
    claims = token_claims(aws, body["choices"][0]["feedback_token"])
    assert claims.user_binding == user_binding(claims.run_id, "ana")
    item = aws.dynamodb.get_item(TableName="RunsTable", Key={"run_id": {"S": claims.run_id}})["Item"]
    assert item["end_user"]["S"] == "ana"


def test_a_completion_without_an_end_user_has_an_unbound_token(aws, invoke):
    status, _, body = chat(invoke)
    assert status == 200, body
    assert token_claims(aws, body["choices"][0]["feedback_token"]).user_binding is None


def test_fields_naming_different_end_users_are_422_naming_them(aws, invoke):
    status, _, body = chat(invoke, user="ana", metadata={"user_id": "bob"})
    assert status == 422, body
    assert "user, metadata.user_id name different end users" in body["error"]["message"]
    assert aws.dynamodb.scan(TableName="RunsTable")["Items"] == []
