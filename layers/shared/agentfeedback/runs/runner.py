"""Running an agent: resolve its version, prompt the model, validate the output, record the run; whole, or
streamed as the model answers."""

from __future__ import annotations

import dataclasses
import json
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger

from agentfeedback.core.errors import (
    Conflict,
    InvalidModelOutput,
    ProviderError,
    ProviderTimeout,
    ValidationFailed,
)
from agentfeedback.core.storage import utc_now
from agentfeedback.providers.base import (
    ChatMessage,
    Complete,
    Completion,
    CompletionRequest,
    Stream,
    StreamEvent,
    strip_code_fence,
)
from agentfeedback.runs.deadlines import budgeted
from agentfeedback.runs.models import PartialRun, RunRequest, RunResponse, RunVersion, VersionProperties
from agentfeedback.runs.partial_output import partial_output
from agentfeedback.runs.pricing import cost_usd
from agentfeedback.runs.recorder import RunRecorder, record_abandoned
from agentfeedback.runs.registry import DEFAULT_INSTRUCTIONS, AgentRegistry, AgentSchema, version_id
from agentfeedback.runs.schemas import schema_problem
from agentfeedback.runs.store import RunRecord, RunStore, new_run_id
from agentfeedback.runs.traffic import assigned_number, end_user_of

logger = Logger(child=True)


def parse_json_object(text: str) -> dict[str, Any]:
    """Models often wrap JSON in a Markdown fence; accept that, refuse anything else."""
    value = json.loads(strip_code_fence(text))
    if not isinstance(value, dict):
        raise ValueError("the output is not a JSON object")
    return value


def build_messages(properties: VersionProperties, schema: AgentSchema, task_input: dict[str, Any]) -> list[ChatMessage]:
    instructions = properties.instructions or DEFAULT_INSTRUCTIONS
    system = (
        f"{instructions}\n\n"
        "Reply with a single JSON object, valid against this JSON Schema, and nothing else:\n"
        f"{json.dumps(schema.output_schema, indent=1)}"
    )
    user = f"Input (valid against {json.dumps(schema.input_schema)}):\n{json.dumps(task_input, indent=1)}"
    return [ChatMessage(role="system", content=system), ChatMessage(role="user", content=user)]


# A client-chosen run id must be a UUIDv7 minted within this window: ids cannot be replayed after the
# run they named has expired from the runs table, so a run id never names two runs (nor two tenants' runs).
CLIENT_ID_MAX_SKEW_SECONDS = 3600


def validate_run_id(run_id: str) -> None:
    """ValidationFailed unless run_id is a recent UUIDv7 in canonical form (lowercase 8-4-4-4-12).

    One run, one id: `uuid.UUID` also reads upper case, braces, `urn:uuid:` and no dashes, and each spelling
    would otherwise name another run.
    """
    try:
        parsed = uuid.UUID(run_id)
    except ValueError:
        raise ValidationFailed(f"id {run_id[:64]!r} is not a UUID; omit it to let the server choose one.") from None
    if str(parsed) != run_id:
        raise ValidationFailed(
            f"id {run_id[:64]!r} is not in canonical form: send it as {str(parsed)!r} (lowercase, with dashes)."
        )
    minted_ms = parsed.int >> 80
    if parsed.version != 7 or abs(time.time() * 1000 - minted_ms) > CLIENT_ID_MAX_SKEW_SECONDS * 1000:
        raise ValidationFailed(
            f"id {run_id!r} must be a UUIDv7 generated within the last hour; omit it to let the server choose one."
        )


@dataclass(frozen=True)
class ResolvedVersion:
    id: str
    properties: VersionProperties


def resolve_version(
    registry: AgentRegistry,
    tenant: str,
    agent_id: str,
    version: Any,
    end_user: str | None = None,
    run_id: str = "",
) -> ResolvedVersion:
    """`version` is inline properties, a saved version number, or an environment bound to one or split between two.

    For a split environment, `end_user` (the run's metadata.user_id) or else `run_id` picks the version
    (runs.traffic.assigned_number).
    """
    if isinstance(version, VersionProperties):
        properties = version
    else:
        if isinstance(version, int):
            number = version
        elif isinstance(version, str) and re.fullmatch(r"[0-9]{1,9}", version):
            number = int(version)
        else:
            environment = str(version)
            split = registry.deployment(tenant, agent_id, environment, for_run=True).split
            number = assigned_number(split, tenant, agent_id, environment, end_user, run_id)
        saved = registry.version(tenant, agent_id, number)
        properties = VersionProperties.model_validate(saved.properties)
    return ResolvedVersion(id=version_id(properties.model_dump()), properties=properties)


# A streamed run sends its output so far at most this often: each event carries the whole output, so one per
# delta would send (and parse) a long output once per token.
PARTIAL_EVENT_INTERVAL_SECONDS = 0.05


def output_problem(text: str, output_schema: dict[str, Any]) -> tuple[dict[str, Any] | None, str]:
    """(the output, "") when the text is a JSON object valid for the schema, else (None, what is wrong)."""
    try:
        output = parse_json_object(text)
    except ValueError as exc:
        return None, f"the output is not a JSON object ({exc})"
    found = schema_problem(output_schema, output)
    if found is not None:
        return None, f"the output does not match the output schema: {found}"
    return output, ""


def generate_output(
    complete: Complete, request: CompletionRequest, output_schema: dict[str, Any], deadline: float | None = None
) -> tuple[dict[str, Any], int, int]:
    """Ask the model; if its output is not valid JSON for the schema, ask once more with the reason.

    deadline (time.monotonic) bounds both calls together, so a slow first answer leaves the retry
    only the time that is left, and the caller gets our error rather than a function timeout.
    """
    input_tokens = output_tokens = 0
    messages = list(request.messages)
    problem = ""
    for attempt in range(2):
        call = budgeted(dataclasses.replace(request, messages=messages), deadline)
        if call is None:
            if attempt == 0:
                raise ProviderTimeout(request.model, 0)
            break
        completion = complete(call)
        input_tokens += completion.input_tokens
        output_tokens += completion.output_tokens
        output, problem = output_problem(completion.text, output_schema)
        if output is not None:
            return output, input_tokens, output_tokens
        messages = [
            *messages,
            ChatMessage(role="assistant", content=completion.text[:20_000]),
            ChatMessage(role="user", content=f"That reply is invalid: {problem}. Reply again with valid JSON only."),
        ]
    raise InvalidModelOutput(f"The model {request.model!r} returned invalid output: {problem}.")


@dataclass(frozen=True)
class PreparedRun:
    """A run whose request was checked and whose version was resolved: all that comes before the model call."""

    tenant: str
    agent_id: str
    schema_id: int
    run_id: str
    request: RunRequest
    version: ResolvedVersion
    end_user: str | None
    output_schema: dict[str, Any]
    completion_request: CompletionRequest
    started: float  # time.perf_counter()


class AgentRunner:
    def __init__(
        self, registry: AgentRegistry, complete: Complete, recorder: RunRecorder, runs: RunStore, stream: Stream
    ) -> None:
        self._registry = registry
        self._runs = runs
        self._complete = complete
        self._stream = stream
        self._recorder = recorder

    def run(
        self, tenant: str, agent_id: str, schema_id: int, request: RunRequest, deadline: float | None = None
    ) -> RunResponse:
        prepared = self._prepare(tenant, agent_id, schema_id, request)
        output, input_tokens, output_tokens = generate_output(
            self._complete, prepared.completion_request, prepared.output_schema, deadline
        )
        return self._finish(prepared, output, input_tokens, output_tokens)

    def stream(
        self, tenant: str, agent_id: str, schema_id: int, request: RunRequest, deadline: float | None = None
    ) -> Iterator[PartialRun | RunResponse]:
        """The run as it is made: PartialRuns (the output so far), then the RunResponse, stored with its token.

        Everything before the model's first piece happens now and raises its DomainError here, as run() would:
        the request's checks, the agent, schema and version, the model, the provider's refusal, a timeout
        before the first piece (ProviderTimeout, when less than FINISHING_SECONDS + 1 s of the deadline is left).
        Then the iterator yields a PartialRun each time the output parsed so far (runs.partial_output) changed, at
        most every PARTIAL_EVENT_INTERVAL_SECONDS; it raises a provider's DomainError mid-answer (nothing
        stored), or InvalidModelOutput when the whole answer is not valid for the output schema (nothing stored:
        a streamed run is not retried, as run() retries, since its partial outputs are already out). The
        RunResponse is yielded only once the run is stored and its token minted.

        Closed before its last event (the client left: GeneratorExit), the run is still finished and recorded:
        the rest of the answer is read (within the deadline), checked, stored and its token minted, but that
        token is never delivered. Closed before its first event, nothing is recorded: nothing was shown.
        """
        prepared = self._prepare(tenant, agent_id, schema_id, request)
        call = budgeted(prepared.completion_request, deadline)
        if call is None:
            raise ProviderTimeout(prepared.completion_request.model, 0)
        return self._events(prepared, self._stream(call))

    def _events(self, prepared: PreparedRun, events: Iterator[StreamEvent]) -> Iterator[PartialRun | RunResponse]:
        text = ""
        shown: dict[str, Any] | None = None
        shown_at = float("-inf")
        completion: Completion | None = None
        try:
            for event in events:
                if isinstance(event, Completion):
                    completion = event
                    continue
                text += event.text
                if time.monotonic() - shown_at < PARTIAL_EVENT_INTERVAL_SECONDS:
                    continue
                partial = partial_output(text)
                if partial is not None and partial != shown:
                    shown, shown_at = partial, time.monotonic()
                    yield PartialRun(id=prepared.run_id, task_output=partial)
        except GeneratorExit:
            record_abandoned(
                events,
                completion,
                lambda last: self._checked(prepared, last),
                lambda checked: self._finish(prepared, *checked),
                {"run_id": prepared.run_id, "agent_id": prepared.agent_id, "tenant": prepared.tenant},
            )
            raise
        output, input_tokens, output_tokens = self._checked(prepared, completion)
        yield self._finish(prepared, output, input_tokens, output_tokens)

    def _checked(self, prepared: PreparedRun, completion: Completion | None) -> tuple[dict[str, Any], int, int]:
        model = prepared.completion_request.model
        if completion is None:  # a provider's stream ends with its Completion: this one broke its contract
            raise ProviderError(model, "its stream ended without an answer.")
        output, problem = output_problem(completion.text, prepared.output_schema)
        if output is None:
            raise InvalidModelOutput(f"The model {model!r} returned invalid output: {problem}.")
        return output, completion.input_tokens, completion.output_tokens

    def _prepare(self, tenant: str, agent_id: str, schema_id: int, request: RunRequest) -> PreparedRun:
        started = time.perf_counter()
        end_user = request.end_user()  # checked before the model is paid for
        if request.id is not None:
            validate_run_id(request.id)
            # Checked before the model is paid for; a race after this still cannot overwrite (conditional put).
            if self._runs.exists(request.id):
                raise Conflict(f"A run with id {request.id} already exists; use a new id.")
        schema = self._registry.schema(tenant, agent_id, schema_id)
        problem = schema_problem(schema.input_schema, request.task_input)
        if problem:
            raise ValidationFailed(f"task_input does not match the agent's input schema: {problem}.")
        # The run id is drawn first: a split environment without an end user assigns each run by its id.
        run_id = request.id or new_run_id()
        end_user = end_user_of(request.metadata)
        version = resolve_version(self._registry, tenant, agent_id, request.version, end_user, run_id)
        properties = version.properties
        return PreparedRun(
            tenant=tenant,
            agent_id=agent_id,
            schema_id=schema_id,
            run_id=run_id,
            request=request,
            version=version,
            end_user=end_user,
            output_schema=schema.output_schema,
            completion_request=CompletionRequest(
                model=properties.model,
                messages=build_messages(properties, schema, request.task_input),
                temperature=properties.temperature,
                max_tokens=properties.max_tokens,
                json_schema=schema.output_schema,
            ),
            started=started,
        )

    def _finish(
        self, prepared: PreparedRun, output: dict[str, Any], input_tokens: int, output_tokens: int
    ) -> RunResponse:
        """Store the run and mint its token (RunRecorder.record: a failure leaves the token null), then answer."""
        duration = time.perf_counter() - prepared.started
        properties = prepared.version.properties
        record = RunRecord(
            run_id=prepared.run_id,
            tenant=prepared.tenant,
            agent_id=prepared.agent_id,
            schema_id=prepared.schema_id,
            version_id=prepared.version.id,
            version_properties=properties.model_dump(exclude_none=True),
            task_input=prepared.request.task_input,
            task_output=output,
            model=properties.model,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            cost_usd=cost_usd(properties.model, input_tokens, output_tokens),
            duration_seconds=duration,
            created_at=utc_now(),
            metadata=prepared.request.metadata or {},
            end_user=prepared.end_user,
        )
        token = self._recorder.record(record)
        return RunResponse(
            id=record.run_id,
            task_output=output,
            version=RunVersion(id=prepared.version.id, properties=record.version_properties),
            duration_seconds=round(duration, 4),
            cost_usd=record.cost_usd,
            metadata=prepared.request.metadata,
            feedback_token=token,
        )
