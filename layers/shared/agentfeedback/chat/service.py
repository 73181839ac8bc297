"""OpenAI-compatible chat completions, each one a recorded run with its own feedback token; whole, or streamed
as the model answers."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger

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
from agentfeedback.core.errors import ProviderError, ProviderTimeout, UnsupportedParameter
from agentfeedback.core.storage import utc_now
from agentfeedback.providers.base import ChatMessage, Complete, Completion, CompletionRequest, Stream, StreamEvent
from agentfeedback.runs.deadlines import budgeted
from agentfeedback.runs.pricing import cost_usd
from agentfeedback.runs.recorder import RunRecorder, record_abandoned
from agentfeedback.runs.registry import slugify, version_id
from agentfeedback.runs.store import RunRecord, new_run_id

logger = Logger(child=True)


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


@dataclass(frozen=True)
class PreparedCompletion:
    """A checked request, its agent, model and run id: all that comes before the model call."""

    tenant: str
    request: ChatCompletionRequest
    agent_id: str
    model: str  # the model id without the agent prefix
    messages: list[ChatMessage]
    max_tokens: int | None
    end_user: str | None
    completion_request: CompletionRequest
    run_id: str
    created: int  # Unix seconds
    started: float  # time.perf_counter()

    @property
    def completion_id(self) -> str:
        return f"chatcmpl-{self.run_id}"


class ChatCompletions:
    def __init__(
        self, complete: Complete, is_known_model: Callable[[str], bool], recorder: RunRecorder, stream: Stream
    ) -> None:
        self._complete = complete
        self._stream = stream
        self._is_known_model = is_known_model
        self._recorder = recorder

    def create(self, tenant: str, request: ChatCompletionRequest, deadline: float | None = None) -> ChatCompletion:
        """The completion, recorded as a run with its feedback token. deadline (time.monotonic seconds), if given,
        bounds the model call (runs.deadlines)."""
        prepared = self._prepare(tenant, request, deadline)
        completion = self._complete(prepared.completion_request)
        record, token = self._record(prepared, completion)
        return ChatCompletion(
            id=prepared.completion_id,
            created=prepared.created,
            model=request.model,
            choices=[
                Choice(
                    index=0,
                    message=AssistantMessage(content=completion.text),
                    feedback_token=token,
                    duration_seconds=round(record.duration_seconds, 4),
                    cost_usd=record.cost_usd,
                )
            ],
            usage=_usage(completion),
        )

    def stream(
        self, tenant: str, request: ChatCompletionRequest, deadline: float | None = None
    ) -> Iterator[ChatCompletionChunk | UsageChunk]:
        """The completion as OpenAI streams it: the role chunk, a chunk per content delta as the model sends it,
        the last choice chunk with feedback_token, duration_seconds and cost_usd, then the usage chunk when
        `stream_options.include_usage`.

        Everything before the model's first piece happens now and raises its DomainError here, as create() would
        (unsupported fields, end users that disagree, an unknown model, the provider's refusal, a timeout before
        the first piece). A provider's error mid-answer raises from the iterator, and nothing is stored. The last
        choice chunk is yielded only once the run is stored and its token minted.

        Closed before its last choice chunk (the client left: GeneratorExit) but after its first, the run is
        still finished and recorded: the rest of the answer is read (within the deadline), stored and its token
        minted, but that token is never delivered.
        """
        prepared = self._prepare(tenant, request, deadline)
        return self._chunks(prepared, self._stream(prepared.completion_request))

    def _chunks(
        self, prepared: PreparedCompletion, events: Iterator[StreamEvent]
    ) -> Iterator[ChatCompletionChunk | UsageChunk]:
        completion: Completion | None = None
        try:
            yield self._chunk(
                prepared, ChunkChoice(index=0, delta=RoleDelta(role="assistant", content=""), finish_reason=None)
            )
            for event in events:
                if isinstance(event, Completion):
                    completion = event
                else:
                    yield self._chunk(
                        prepared, ChunkChoice(index=0, delta=ContentDelta(content=event.text), finish_reason=None)
                    )
        except GeneratorExit:
            record_abandoned(
                events,
                completion,
                lambda last: _received(prepared, last),
                lambda received: self._record(prepared, received),
                {"run_id": prepared.run_id, "agent_id": prepared.agent_id, "tenant": prepared.tenant},
            )
            raise
        received = _received(prepared, completion)
        record, token = self._record(prepared, received)
        yield self._chunk(
            prepared,
            FinalChunkChoice(
                index=0,
                feedback_token=token,
                duration_seconds=round(record.duration_seconds, 4),
                cost_usd=record.cost_usd,
            ),
        )
        options = prepared.request.stream_options
        if options is not None and options.include_usage:
            usage = _usage(received)
            yield UsageChunk(
                id=prepared.completion_id, created=prepared.created, model=prepared.request.model, usage=usage
            )

    def _chunk(self, prepared: PreparedCompletion, choice: ChunkChoice | FinalChunkChoice) -> ChatCompletionChunk:
        return ChatCompletionChunk(
            id=prepared.completion_id, created=prepared.created, model=prepared.request.model, choices=[choice]
        )

    def _prepare(self, tenant: str, request: ChatCompletionRequest, deadline: float | None) -> PreparedCompletion:
        started = time.perf_counter()
        unsupported = request.unsupported_fields()
        if unsupported:
            raise UnsupportedParameter(f"Unsupported parameters: {', '.join(unsupported)}. Remove them and retry.")
        end_user = request.end_user()  # checked before the model is paid for
        agent_id, model = agent_and_model(request, self._is_known_model)
        messages = [
            ChatMessage(role="system" if m.role == "developer" else m.role, content=m.text()) for m in request.messages
        ]
        max_tokens = request.max_completion_tokens or request.max_tokens
        completion_request = budgeted(
            CompletionRequest(
                model=model,
                messages=messages,
                temperature=request.temperature,
                max_tokens=max_tokens,
                json_schema=_json_schema(request.response_format),
            ),
            deadline,
        )
        if completion_request is None:
            raise ProviderTimeout(model, 0)
        return PreparedCompletion(
            tenant=tenant,
            request=request,
            agent_id=agent_id,
            model=model,
            messages=messages,
            max_tokens=max_tokens,
            end_user=end_user,
            completion_request=completion_request,
            run_id=new_run_id(),
            created=int(time.time()),
            started=started,
        )

    def _record(self, prepared: PreparedCompletion, completion: Completion) -> tuple[RunRecord, str | None]:
        """Store the run and mint its token (RunRecorder.record: a failure leaves the token None)."""
        messages = prepared.messages
        # The system prompt is the chat's "instructions": changing it makes a new version to compare.
        properties = {
            "model": prepared.model,
            "instructions": "\n\n".join(m.content for m in messages if m.role == "system") or None,
            "temperature": prepared.request.temperature,
            "max_tokens": prepared.max_tokens,
        }
        properties = {key: value for key, value in properties.items() if value is not None}
        record = RunRecord(
            run_id=prepared.run_id,
            tenant=prepared.tenant,
            agent_id=prepared.agent_id,
            schema_id=0,
            version_id=version_id(properties),
            version_properties=properties,
            task_input={"messages": [{"role": m.role, "content": m.content} for m in messages]},
            task_output={"message": completion.text},
            model=prepared.model,
            input_tokens=completion.input_tokens,
            output_tokens=completion.output_tokens,
            cost_usd=cost_usd(prepared.model, completion.input_tokens, completion.output_tokens),
            duration_seconds=time.perf_counter() - prepared.started,
            created_at=utc_now(),
            metadata=dict(prepared.request.metadata or {}),
            end_user=prepared.end_user,
        )
        return record, self._recorder.record(record)


def _received(prepared: PreparedCompletion, completion: Completion | None) -> Completion:
    if completion is None:  # a provider's stream ends with its Completion: this one broke its contract
        raise ProviderError(prepared.model, "its stream ended without an answer.")
    return completion


def _usage(completion: Completion) -> Usage:
    return Usage(
        prompt_tokens=completion.input_tokens,
        completion_tokens=completion.output_tokens,
        total_tokens=completion.input_tokens + completion.output_tokens,
    )
