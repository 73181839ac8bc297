"""OpenAI-compatible chat completions, each one a recorded run with its own feedback token."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from agentfeedback.chat.models import (
    AssistantMessage,
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    Choice,
    ChunkChoice,
    ContentDelta,
    FinalChunkChoice,
    RoleDelta,
    Usage,
    UsageChunk,
)
from agentfeedback.core.errors import UnsupportedParameter
from agentfeedback.core.storage import utc_now
from agentfeedback.providers.base import ChatMessage, Complete, CompletionRequest
from agentfeedback.runs.pricing import cost_usd
from agentfeedback.runs.recorder import RunRecorder
from agentfeedback.runs.registry import slugify, version_id
from agentfeedback.runs.store import RunRecord, new_run_id


def agent_and_model(request: ChatCompletionRequest, is_known_model: Callable[[str], bool]) -> tuple[str, str]:
    """The agent comes from metadata.agent_id, else from a model written `<agent_id>/<model>`, else `default`."""
    agent = (request.metadata or {}).get("agent_id")
    model = request.model
    if not is_known_model(model) and "/" in model:
        prefix, model = model.split("/", 1)
        agent = agent or prefix
    return slugify(agent or "default"), model


def _json_schema(response_format: dict[str, Any] | None) -> dict[str, Any] | None:
    if not response_format or response_format.get("type") in (None, "text"):
        return None
    if response_format.get("type") == "json_object":
        return {"type": "object"}
    if response_format.get("type") == "json_schema":
        schema = (response_format.get("json_schema") or {}).get("schema")
        if isinstance(schema, dict):
            return schema
    raise UnsupportedParameter("response_format must be {type: text}, {type: json_object} or {type: json_schema, ...}.")


class ChatCompletions:
    def __init__(self, complete: Complete, is_known_model: Callable[[str], bool], recorder: RunRecorder) -> None:
        self._complete = complete
        self._is_known_model = is_known_model
        self._recorder = recorder

    def create(self, tenant: str, request: ChatCompletionRequest) -> ChatCompletion:
        unsupported = request.unsupported_fields()
        if unsupported:
            raise UnsupportedParameter(f"Unsupported parameters: {', '.join(unsupported)}. Remove them and retry.")
        end_user = request.end_user()  # checked before the model is paid for
        started = time.perf_counter()
        agent_id, model = agent_and_model(request, self._is_known_model)
        messages = [
            ChatMessage(role="system" if m.role == "developer" else m.role, content=m.text()) for m in request.messages
        ]
        max_tokens = request.max_completion_tokens or request.max_tokens
        completion = self._complete(
            CompletionRequest(
                model=model,
                messages=messages,
                temperature=request.temperature,
                max_tokens=max_tokens,
                json_schema=_json_schema(request.response_format),
            )
        )
        duration = time.perf_counter() - started
        # The system prompt is the chat's "instructions": changing it makes a new version to compare.
        properties = {
            "model": model,
            "instructions": "\n\n".join(m.content for m in messages if m.role == "system") or None,
            "temperature": request.temperature,
            "max_tokens": max_tokens,
        }
        properties = {key: value for key, value in properties.items() if value is not None}
        record = RunRecord(
            run_id=new_run_id(),
            tenant=tenant,
            agent_id=agent_id,
            schema_id=0,
            version_id=version_id(properties),
            version_properties=properties,
            task_input={"messages": [{"role": m.role, "content": m.content} for m in messages]},
            task_output={"message": completion.text},
            model=model,
            input_tokens=completion.input_tokens,
            output_tokens=completion.output_tokens,
            cost_usd=cost_usd(model, completion.input_tokens, completion.output_tokens),
            duration_seconds=duration,
            created_at=utc_now(),
            metadata=dict(request.metadata or {}),
            end_user=end_user,
        )
        token = self._recorder.record(record)
        return ChatCompletion(
            id=f"chatcmpl-{record.run_id}",
            created=int(time.time()),
            model=request.model,
            choices=[
                Choice(
                    index=0,
                    message=AssistantMessage(content=completion.text),
                    feedback_token=token,
                    duration_seconds=round(duration, 4),
                    cost_usd=record.cost_usd,
                )
            ],
            usage=Usage(
                prompt_tokens=completion.input_tokens,
                completion_tokens=completion.output_tokens,
                total_tokens=completion.input_tokens + completion.output_tokens,
            ),
        )


def stream_chunks(response: ChatCompletion, include_usage: bool) -> Iterator[ChatCompletionChunk | UsageChunk]:
    """The finished completion as OpenAI stream chunks; the last choice chunk carries the feedback token."""
    choice = response.choices[0]

    def chunk(delta_choice: ChunkChoice | FinalChunkChoice) -> ChatCompletionChunk:
        return ChatCompletionChunk(
            id=response.id, created=response.created, model=response.model, choices=[delta_choice]
        )

    yield chunk(ChunkChoice(index=0, delta=RoleDelta(role="assistant", content=""), finish_reason=None))
    words = choice.message.content.split(" ")
    step = max(1, len(words) // 8)
    for start in range(0, len(words), step):
        piece = " ".join(words[start : start + step]) + (" " if start + step < len(words) else "")
        yield chunk(ChunkChoice(index=0, delta=ContentDelta(content=piece), finish_reason=None))
    yield chunk(
        FinalChunkChoice(
            index=0,
            feedback_token=choice.feedback_token,
            duration_seconds=choice.duration_seconds,
            cost_usd=choice.cost_usd,
        )
    )
    if include_usage:
        yield UsageChunk(id=response.id, created=response.created, model=response.model, usage=response.usage)
