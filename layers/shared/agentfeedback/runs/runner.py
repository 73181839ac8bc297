"""Running an agent: resolve its version, prompt the model, validate the output, record the run."""

from __future__ import annotations

import json
import re
import time
import uuid
from dataclasses import dataclass
from typing import Any

from agentfeedback.core.errors import Conflict, InvalidModelOutput, ProviderTimeout, ValidationFailed
from agentfeedback.core.storage import utc_now
from agentfeedback.providers.base import ChatMessage, Complete, CompletionRequest, strip_code_fence
from agentfeedback.runs.models import RunRequest, RunResponse, RunVersion, VersionProperties
from agentfeedback.runs.pricing import cost_usd
from agentfeedback.runs.recorder import RunRecorder
from agentfeedback.runs.registry import DEFAULT_INSTRUCTIONS, AgentRegistry, AgentSchema, version_id
from agentfeedback.runs.schemas import schema_problem
from agentfeedback.runs.store import RunRecord, RunStore, new_run_id
from agentfeedback.runs.traffic import assigned_number, end_user_of


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


# Kept free for storing the run and signing its token after the last model call.
FINISHING_SECONDS = 2.0


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
        budget = None if deadline is None else deadline - time.monotonic() - FINISHING_SECONDS
        if budget is not None and budget < 1:
            if attempt == 0:
                raise ProviderTimeout(request.model, 0)
            break
        call = {**request.__dict__, "messages": messages}
        if budget is not None:
            call["timeout_seconds"] = min(budget, request.timeout_seconds or budget)
        completion = complete(CompletionRequest(**call))
        input_tokens += completion.input_tokens
        output_tokens += completion.output_tokens
        try:
            output = parse_json_object(completion.text)
        except ValueError as exc:
            problem = f"the output is not a JSON object ({exc})"
        else:
            found = schema_problem(output_schema, output)
            if found is None:
                return output, input_tokens, output_tokens
            problem = f"the output does not match the output schema: {found}"
        messages = [
            *messages,
            ChatMessage(role="assistant", content=completion.text[:20_000]),
            ChatMessage(role="user", content=f"That reply is invalid: {problem}. Reply again with valid JSON only."),
        ]
    raise InvalidModelOutput(f"The model {request.model!r} returned invalid output: {problem}.")


class AgentRunner:
    def __init__(self, registry: AgentRegistry, complete: Complete, recorder: RunRecorder, runs: RunStore) -> None:
        self._registry = registry
        self._runs = runs
        self._complete = complete
        self._recorder = recorder

    def run(
        self, tenant: str, agent_id: str, schema_id: int, request: RunRequest, deadline: float | None = None
    ) -> RunResponse:
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
        completion_request = CompletionRequest(
            model=properties.model,
            messages=build_messages(properties, schema, request.task_input),
            temperature=properties.temperature,
            max_tokens=properties.max_tokens,
            json_schema=schema.output_schema,
        )
        output, input_tokens, output_tokens = generate_output(
            self._complete, completion_request, schema.output_schema, deadline
        )
        duration = time.perf_counter() - started
        record = RunRecord(
            run_id=run_id,
            tenant=tenant,
            agent_id=agent_id,
            schema_id=schema_id,
            version_id=version.id,
            version_properties=properties.model_dump(exclude_none=True),
            task_input=request.task_input,
            task_output=output,
            model=properties.model,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            cost_usd=cost_usd(properties.model, input_tokens, output_tokens),
            duration_seconds=duration,
            created_at=utc_now(),
            metadata=request.metadata or {},
            end_user=end_user,
        )
        token = self._recorder.record(record)
        return RunResponse(
            id=record.run_id,
            task_output=output,
            version=RunVersion(id=version.id, properties=record.version_properties),
            duration_seconds=round(duration, 4),
            cost_usd=record.cost_usd,
            metadata=request.metadata,
            feedback_token=token,
        )
