"""Feedback review routes (API key required, tenant-scoped): list, summarise and erase feedback; read a run, its
feedback and each entry's change history; compare two versions; draft a version's next instructions from its
feedback; check and rebuild an agent's aggregates (the per-day counts summaries and comparisons read).

A user id enters as a query parameter (list), a path parameter (DELETE .../users/{user_id}) or in a body
(POST .../erasures, the one that carries any id: a path loses `.` and `..`); each is read in any spelling
(review.service.user_id_spellings).
"""

import time
from typing import Annotated, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from agentfeedback import composition
from agentfeedback.core.resolver import AgentIdPath, ApiResolver, TenantPath, caller_tenant, install_error_handlers
from agentfeedback.review.cursor import MAX_CURSOR_CHARS
from agentfeedback.review.models import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    MAX_SENT_USER_ID_CHARS,
    AggregatesCheck,
    AggregatesRebuild,
    AggregatesWindow,
    EntryWithHistory,
    ErasedUser,
    ErasureRequest,
    FeedbackPage,
    FeedbackSummary,
    ImprovedVersion,
    ImproveRequest,
    Outcome,
    RunDetail,
    RunFeedback,
    VersionComparison,
)
from agentfeedback.review.service import SWEEP_SECONDS, Window, feedback_filter, summary_window

logger = Logger()
app = ApiResolver()
install_error_handlers(app, logger)

RunId = Annotated[str, Path(min_length=1, max_length=128)]
FeedbackId = Annotated[str, Path(min_length=1, max_length=64, description="A feedback entry's public id.")]
USER_ID_HELP = "An end user's id in any Unicode form (read as NFC, surrounding white space removed)."
UserId = Annotated[str, Path(min_length=1, max_length=MAX_SENT_USER_ID_CHARS, description=USER_ID_HELP)]
Time = Annotated[str | None, Query(max_length=40, description="ISO 8601 date or time; UTC unless an offset is given.")]
Version = Annotated[str | None, Query(min_length=1, max_length=64, description="An agent version id.")]


def _decoded(name: str, routed: str) -> str:
    # REST APIs pass `path` still percent-encoded, but pathParameters decoded (a user id may hold '@' or '/').
    return str((app.current_event.path_parameters or {}).get(name, routed))


@app.get("/v1/<tenant>/agents/<agent_id>/feedback")
def list_feedback(
    tenant: TenantPath,
    agent_id: AgentIdPath,
    outcome: Annotated[Outcome | None, Query()] = None,
    user_id: Annotated[
        str | None, Query(min_length=1, max_length=MAX_SENT_USER_ID_CHARS, description=USER_ID_HELP)
    ] = None,
    version: Version = None,
    has_comment: Annotated[bool | None, Query()] = None,
    since: Time = None,
    until: Time = None,
    cursor: Annotated[str | None, Query(min_length=1, max_length=MAX_CURSOR_CHARS)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
) -> FeedbackPage:
    return composition.review_service().list_feedback(
        caller_tenant(app, tenant),
        agent_id,
        feedback_filter(outcome=outcome, user_id=user_id, version=version, has_comment=has_comment),
        Window.parse(since, until),
        limit,
        cursor,
    )


@app.get("/v1/<tenant>/agents/<agent_id>/feedback/summary")
def feedback_summary(
    tenant: TenantPath, agent_id: AgentIdPath, since: Time = None, until: Time = None, version: Version = None
) -> FeedbackSummary:
    owner = caller_tenant(app, tenant)
    return composition.review_service().feedback_summary(owner, agent_id, summary_window(since, until), version)


VersionRef = Annotated[
    str, Query(min_length=1, max_length=64, description="A saved version number, or a version id (32 hex digits).")
]


@app.get("/v1/<tenant>/agents/<agent_id>/versions/compare")
def compare_versions(
    tenant: TenantPath,
    agent_id: AgentIdPath,
    base: VersionRef,
    candidate: VersionRef,
    since: Time = None,
    until: Time = None,
) -> VersionComparison:
    owner = caller_tenant(app, tenant)
    window = summary_window(since, until)
    return composition.review_service().compare_versions(owner, agent_id, base, candidate, window)


@app.post("/v1/<tenant>/agents/<agent_id>/versions/<number>/improve")
def improve_version(
    tenant: TenantPath,
    agent_id: AgentIdPath,
    number: Annotated[int, Path(ge=1, le=999_999_999, description="A saved version number.")],
    body: ImproveRequest,
) -> ImprovedVersion:
    owner = caller_tenant(app, tenant)
    # The model call gets what is left of the function's time, so a slow model ends in our 504, not a timeout.
    deadline = time.monotonic() + app.lambda_context.get_remaining_time_in_millis() / 1000
    return composition.improve_service().improve(owner, agent_id, number, body, deadline)


@app.get("/v1/<tenant>/agents/<agent_id>/runs/<run_id>")
def get_run(tenant: TenantPath, agent_id: AgentIdPath, run_id: RunId) -> RunDetail:
    return composition.review_service().run_detail(caller_tenant(app, tenant), agent_id, _decoded("run_id", run_id))


@app.get("/v1/<tenant>/agents/<agent_id>/runs/<run_id>/feedback")
def get_run_feedback(tenant: TenantPath, agent_id: AgentIdPath, run_id: RunId) -> RunFeedback:
    return composition.review_service().run_feedback(caller_tenant(app, tenant), agent_id, _decoded("run_id", run_id))


@app.get("/v1/<tenant>/agents/<agent_id>/runs/<run_id>/feedback/<feedback_id>")
def get_entry_history(
    tenant: TenantPath, agent_id: AgentIdPath, run_id: RunId, feedback_id: FeedbackId
) -> EntryWithHistory:
    owner = caller_tenant(app, tenant)
    return composition.review_service().entry_history(owner, agent_id, _decoded("run_id", run_id), feedback_id)


@app.delete("/v1/<tenant>/feedback/users/<user_id>")
def erase_user(tenant: TenantPath, user_id: UserId) -> ErasedUser:
    return composition.review_service().erase_user(caller_tenant(app, tenant), _decoded("user_id", user_id))


@app.post("/v1/<tenant>/feedback/erasures")
def request_erasure(tenant: TenantPath, body: ErasureRequest) -> ErasedUser:
    return composition.review_service().erase_user(caller_tenant(app, tenant), body.user_id)


def _sweep_seconds() -> float:
    """How long a check or rebuild may start new days: SWEEP_SECONDS, less if the function has less time left."""
    remaining = app.lambda_context.get_remaining_time_in_millis() / 1000
    return max(0.0, min(SWEEP_SECONDS, remaining - 5))


@app.get("/v1/<tenant>/agents/<agent_id>/feedback/aggregates/check")
def check_aggregates(
    tenant: TenantPath, agent_id: AgentIdPath, since: Time = None, until: Time = None
) -> AggregatesCheck:
    owner = caller_tenant(app, tenant)
    window = summary_window(since, until)
    return composition.review_service().check_aggregates(owner, agent_id, window, _sweep_seconds())


@app.post("/v1/<tenant>/agents/<agent_id>/feedback/aggregates/rebuild")
def rebuild_aggregates(tenant: TenantPath, agent_id: AgentIdPath, body: AggregatesWindow) -> AggregatesRebuild:
    owner = caller_tenant(app, tenant)
    window = summary_window(body.since, body.until)
    return composition.review_service().rebuild_aggregates(owner, agent_id, window, _sweep_seconds())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
