"""The run function's routes on Powertools' REST resolver: agents, versions and environments, and the run
routes as documented.

The function imports this module only when such a request comes (or the OpenAPI document is asked for): its
run routes answer through `runs.http` without a framework, and the documented run routes here call the same
`RunApi.respond`, after Powertools has checked the request against the same models, so the two paths can be
compared (tests/unit/runs/test_run_light_path.py).
"""

from collections.abc import Callable
from typing import Annotated

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from agentfeedback.core.http_api import MAX_RUN_BODY_BYTES
from agentfeedback.core.ids import AGENT_ID_REGEX
from agentfeedback.core.proxy_events import deadline_of
from agentfeedback.core.resolver import (
    AgentIdPath,
    ApiResolver,
    TenantPath,
    as_resolver_response,
    caller_tenant,
    install_error_handlers,
    streamed_responses,
)
from agentfeedback.runs.http import RunApi
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
from agentfeedback.runs.registry import AgentRegistry, Deployment, stable_uid

SchemaId = Annotated[int, Path(ge=1)]
EnvironmentName = Annotated[str, Path(max_length=32, description="dev, staging or production.")]
MAX_AGENTS_PAGE = 100
# A run answers its RunResponse as JSON, or (stream: true) server-sent events: the partial run, then the whole one.
RUN_RESPONSES = streamed_responses(RunResponse, PartialRun | RunResponse)


def run_function_resolver(registry: Callable[[], AgentRegistry], runs: RunApi, logger: Logger) -> ApiResolver:
    """Every route of the run function on one resolver; `registry` hands out the AgentRegistry on first use."""
    app = ApiResolver(max_body_bytes=MAX_RUN_BODY_BYTES)
    install_error_handlers(app, logger)

    @app.post("/v1/<tenant>/agents")
    def register_agent(tenant: TenantPath, body: RegisterAgentRequest) -> RegisterAgentResponse:
        owner = caller_tenant(app, tenant)
        schema_id = registry().register(owner, body.id, body.input_schema, body.output_schema)
        return RegisterAgentResponse(
            id=body.id, schema_id=schema_id, uid=stable_uid(owner, body.id), tenant_uid=stable_uid(owner)
        )

    @app.get("/v1/<tenant>/agents")
    def list_agents(
        tenant: TenantPath,
        limit: Annotated[int, Query(ge=1, le=MAX_AGENTS_PAGE)] = 50,
        cursor: Annotated[
            str | None,
            Query(pattern=AGENT_ID_REGEX, description="next_cursor of the previous page: its last agent id."),
        ] = None,
    ) -> AgentList:
        page = registry().agents(caller_tenant(app, tenant), limit, cursor)
        return AgentList(
            items=[AgentSummary(id=agent.agent_id, created_at=agent.created_at) for agent in page.agents],
            next_cursor=page.last_agent_id,
        )

    @app.get("/v1/<tenant>/agents/<agent_id>")
    def show_agent(tenant: TenantPath, agent_id: AgentIdPath) -> AgentDetail:
        details = registry().agent(caller_tenant(app, tenant), agent_id)
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

    # Powertools validates what a route returns against its annotation: the RunResponse, or the events' text.
    def _run(tenant: str, agent_id: str, schema_id: int, body: RunRequest) -> Response[RunResponse | str]:
        owner = caller_tenant(app, tenant)
        answer = runs.respond(owner, agent_id, schema_id, body, deadline_of(app.lambda_context))
        return as_resolver_response(answer, RunResponse)

    @app.post("/v1/<tenant>/agents/<agent_id>/versions")
    def save_version(tenant: TenantPath, agent_id: AgentIdPath, body: VersionProperties) -> SavedVersionResponse:
        saved = registry().save_version(caller_tenant(app, tenant), agent_id, body.model_dump(exclude_none=True))
        return SavedVersionResponse.model_validate(saved)

    @app.get("/v1/<tenant>/agents/<agent_id>/versions")
    def list_versions(tenant: TenantPath, agent_id: AgentIdPath) -> VersionList:
        owner = caller_tenant(app, tenant)
        agents = registry()
        versions = agents.versions(owner, agent_id)
        ids = {version.number: version.id for version in versions}
        deployments = agents.deployments(owner, agent_id)
        return VersionList(
            versions=[SavedVersionResponse.model_validate(version) for version in versions],
            environments={deployment.environment: deployment.number for deployment in deployments},
            deployments={deployment.environment: EnvironmentBinding.of(deployment, ids) for deployment in deployments},
        )

    def _binding(owner: str, agent_id: str, deployment: Deployment) -> EnvironmentBinding:
        agents = registry()
        numbers = (deployment.number, deployment.canary_number)
        ids = {number: agents.version(owner, agent_id, number).id for number in numbers if number is not None}
        return EnvironmentBinding.of(deployment, ids)

    @app.put("/v1/<tenant>/agents/<agent_id>/environments/<environment>")
    def bind_environment(
        tenant: TenantPath, agent_id: AgentIdPath, environment: EnvironmentName, body: BindEnvironmentRequest
    ) -> EnvironmentBinding:
        owner = caller_tenant(app, tenant)
        canary = (body.canary.version, body.canary.weight) if body.canary else None
        deployment = registry().deploy(owner, agent_id, environment, body.version, canary)
        return _binding(owner, agent_id, deployment)

    @app.post("/v1/<tenant>/agents/<agent_id>/environments/<environment>/promote")
    def promote_canary(tenant: TenantPath, agent_id: AgentIdPath, environment: EnvironmentName) -> EnvironmentBinding:
        owner = caller_tenant(app, tenant)
        return _binding(owner, agent_id, registry().promote(owner, agent_id, environment))

    @app.post("/v1/<tenant>/agents/<agent_id>/environments/<environment>/rollback")
    def roll_back(tenant: TenantPath, agent_id: AgentIdPath, environment: EnvironmentName) -> EnvironmentBinding:
        owner = caller_tenant(app, tenant)
        return _binding(owner, agent_id, registry().rollback(owner, agent_id, environment))

    return app
