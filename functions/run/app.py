"""Agent routes (API key required): register and list agents, run one, save versions, bind and split
environments (promote a canary, roll back)."""

import time
from typing import Annotated, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from agentfeedback import composition
from agentfeedback.core.http_api import MAX_RUN_BODY_BYTES
from agentfeedback.core.ids import AGENT_ID_REGEX
from agentfeedback.core.resolver import (
    AgentIdPath,
    ApiResolver,
    TenantPath,
    caller_tenant,
    install_error_handlers,
    server_sent_events,
    streamed_responses,
)
from agentfeedback.runs.models import (
    AgentDetail,
    AgentList,
    AgentSchemaResponse,
    AgentSummary,
    BindEnvironmentRequest,
    EnvironmentBinding,
    PartialRun,
    RegisterAgentRequest,
    RegisterAgentResponse,
    RunRequest,
    RunResponse,
    SavedVersionResponse,
    VersionList,
    VersionProperties,
)
from agentfeedback.runs.registry import Deployment, stable_uid

logger = Logger()
metrics = Metrics()
app = ApiResolver(max_body_bytes=MAX_RUN_BODY_BYTES)
install_error_handlers(app, logger)

SchemaId = Annotated[int, Path(ge=1)]
MAX_AGENTS_PAGE = 100
# A run answers its RunResponse as JSON, or (stream: true) server-sent events: the partial run, then the whole one.
RUN_RESPONSES = streamed_responses(RunResponse, PartialRun | RunResponse)


@app.post("/v1/<tenant>/agents")
def register_agent(tenant: TenantPath, body: RegisterAgentRequest) -> RegisterAgentResponse:
    owner = caller_tenant(app, tenant)
    schema_id = composition.agent_registry().register(owner, body.id, body.input_schema, body.output_schema)
    return RegisterAgentResponse(
        id=body.id, schema_id=schema_id, uid=stable_uid(owner, body.id), tenant_uid=stable_uid(owner)
    )


@app.get("/v1/<tenant>/agents")
def list_agents(
    tenant: TenantPath,
    limit: Annotated[int, Query(ge=1, le=MAX_AGENTS_PAGE)] = 50,
    cursor: Annotated[
        str | None, Query(pattern=AGENT_ID_REGEX, description="next_cursor of the previous page: its last agent id.")
    ] = None,
) -> AgentList:
    page = composition.agent_registry().agents(caller_tenant(app, tenant), limit, cursor)
    return AgentList(
        items=[AgentSummary(id=agent.agent_id, created_at=agent.created_at) for agent in page.agents],
        next_cursor=page.last_agent_id,
    )


@app.get("/v1/<tenant>/agents/<agent_id>")
def show_agent(tenant: TenantPath, agent_id: AgentIdPath) -> AgentDetail:
    details = composition.agent_registry().agent(caller_tenant(app, tenant), agent_id)
    return AgentDetail(
        id=details.agent_id,
        created_at=details.created_at,
        schemas=[
            AgentSchemaResponse(
                schema_id=schema.schema_id, input_schema=schema.input_schema, output_schema=schema.output_schema
            )
            for schema in details.schemas
        ],
        version_count=details.version_count,
        environments=details.environments,
    )


# Powertools validates what a route returns against its annotation: the RunResponse, or the events' text.
def _run(tenant: str, agent_id: str, schema_id: int, body: RunRequest) -> Response[RunResponse | str]:
    owner = caller_tenant(app, tenant)
    # The model calls share what is left of the function's time, so a slow model ends in our 504, not a timeout.
    deadline = time.monotonic() + app.lambda_context.get_remaining_time_in_millis() / 1000
    response: RunResponse = composition.agent_runner().run(owner, agent_id, schema_id, body, deadline)
    if body.stream:
        # The SDKs treat events without duration_seconds as partial; the last one is the full response.
        partial = PartialRun(id=response.id, task_output=response.task_output)
        return server_sent_events([partial.model_dump(mode="json"), response.model_dump(mode="json")])
    return Response(status_code=200, content_type="application/json", body=response)


@app.post("/v1/<tenant>/agents/<agent_id>/schemas/<schema_id>/run", responses=RUN_RESPONSES)
def run_agent(
    tenant: TenantPath, agent_id: AgentIdPath, schema_id: SchemaId, body: RunRequest
) -> Response[RunResponse | str]:
    return _run(tenant, agent_id, schema_id, body)


@app.post("/v1/<tenant>/tasks/<agent_id>/schemas/<schema_id>/run", responses=RUN_RESPONSES)
def run_task(
    tenant: TenantPath, agent_id: AgentIdPath, schema_id: SchemaId, body: RunRequest
) -> Response[RunResponse | str]:
    return _run(tenant, agent_id, schema_id, body)


@app.post("/v1/<tenant>/agents/<agent_id>/versions")
def save_version(tenant: TenantPath, agent_id: AgentIdPath, body: VersionProperties) -> SavedVersionResponse:
    saved = composition.agent_registry().save_version(
        caller_tenant(app, tenant), agent_id, body.model_dump(exclude_none=True)
    )
    return SavedVersionResponse.model_validate(saved)


@app.get("/v1/<tenant>/agents/<agent_id>/versions")
def list_versions(tenant: TenantPath, agent_id: AgentIdPath) -> VersionList:
    owner = caller_tenant(app, tenant)
    registry = composition.agent_registry()
    versions = registry.versions(owner, agent_id)
    ids = {version.number: version.id for version in versions}
    deployments = registry.deployments(owner, agent_id)
    return VersionList(
        versions=[SavedVersionResponse.model_validate(version) for version in versions],
        environments={deployment.environment: deployment.number for deployment in deployments},
        deployments={deployment.environment: EnvironmentBinding.of(deployment, ids) for deployment in deployments},
    )


EnvironmentName = Annotated[str, Path(max_length=32, description="dev, staging or production.")]


def _binding(owner: str, agent_id: str, deployment: Deployment) -> EnvironmentBinding:
    registry = composition.agent_registry()
    numbers = (deployment.number, deployment.canary_number)
    ids = {number: registry.version(owner, agent_id, number).id for number in numbers if number is not None}
    return EnvironmentBinding.of(deployment, ids)


@app.put("/v1/<tenant>/agents/<agent_id>/environments/<environment>")
def bind_environment(
    tenant: TenantPath, agent_id: AgentIdPath, environment: EnvironmentName, body: BindEnvironmentRequest
) -> EnvironmentBinding:
    owner = caller_tenant(app, tenant)
    canary = (body.canary.version, body.canary.weight) if body.canary else None
    deployment = composition.agent_registry().deploy(owner, agent_id, environment, body.version, canary)
    return _binding(owner, agent_id, deployment)


@app.post("/v1/<tenant>/agents/<agent_id>/environments/<environment>/promote")
def promote_canary(tenant: TenantPath, agent_id: AgentIdPath, environment: EnvironmentName) -> EnvironmentBinding:
    owner = caller_tenant(app, tenant)
    return _binding(owner, agent_id, composition.agent_registry().promote(owner, agent_id, environment))


@app.post("/v1/<tenant>/agents/<agent_id>/environments/<environment>/rollback")
def roll_back(tenant: TenantPath, agent_id: AgentIdPath, environment: EnvironmentName) -> EnvironmentBinding:
    owner = caller_tenant(app, tenant)
    return _binding(owner, agent_id, composition.agent_registry().rollback(owner, agent_id, environment))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
