"""Request and response shapes of the agent routes (registration, runs, versions), as the WorkflowAI SDKs send them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt

from agentfeedback.core.ids import AGENT_ID_REGEX, end_user_id
from agentfeedback.runs.registry import Deployment


class _Model(BaseModel):
    # Validators are built on first use, not at import: a cold start builds only the models its request
    # touches (a run builds RunRequest and RunResponse, not the version or registration shapes).
    model_config = ConfigDict(defer_build=True)


AgentId = Annotated[str, Field(min_length=1, max_length=64, pattern=AGENT_ID_REGEX)]


class VersionProperties(_Model):
    """How an agent runs: which model, with which instructions. The same properties, the same version id."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field(min_length=1, max_length=128)
    instructions: str | None = Field(default=None, max_length=20_000)
    temperature: StrictFloat | None = Field(default=None, ge=0, le=2)
    max_tokens: StrictInt | None = Field(default=None, ge=1, le=32_000)
    provider: str | None = Field(default=None, max_length=64, description="Accepted for SDK compatibility; unused.")


class RegisterAgentRequest(_Model):
    id: AgentId
    input_schema: dict[str, Any]
    output_schema: dict[str, Any]


class RegisterAgentResponse(_Model):
    id: str
    schema_id: int
    uid: int
    tenant_uid: int


class RunRequest(_Model):
    # Fields the WorkflowAI SDKs send that do not change our behaviour are accepted and ignored.
    model_config = ConfigDict(extra="ignore")

    task_input: dict[str, Any]
    version: StrictInt | str | VersionProperties
    id: str | None = Field(default=None, max_length=64)
    stream: StrictBool | None = None
    metadata: dict[str, Any] | None = Field(
        default=None,
        description="Kept with the run. `user_id` names the run's end user: the token is then bound to them.",
    )
    use_cache: str | None = None
    use_fallback: str | list[str] | None = None

    def end_user(self) -> str | None:
        """The end user the backend names in metadata.user_id (core.ids.end_user_id): ValidationFailed if invalid."""
        return end_user_id((self.metadata or {}).get("user_id"), "metadata.user_id")


class RunVersion(_Model):
    id: str
    properties: dict[str, Any]


class PartialRun(_Model):
    """A streamed run's first event: the output, with none of the fields that tell the SDKs a run is complete."""

    id: str
    task_output: dict[str, Any]


class RunResponse(_Model):
    id: str
    task_output: dict[str, Any]
    version: RunVersion
    duration_seconds: float
    cost_usd: float
    metadata: dict[str, Any] | None
    feedback_token: str | None


class SavedVersionResponse(_Model):
    # Built from the registry's SavedVersion.
    model_config = ConfigDict(from_attributes=True)

    number: int
    id: str
    properties: dict[str, Any]
    created_at: str


class CanaryBinding(_Model):
    version: int = Field(description="The saved version number of the canary.")
    version_id: str
    weight: int = Field(description="Percent of runs (of end users, when runs name one) the canary gets.")


class EnvironmentBinding(_Model):
    environment: str
    version: int = Field(description="The saved version number the environment points at (its main version).")
    version_id: str
    weight: int = Field(description="Percent of runs the main version gets: 100 without a canary.")
    canary: CanaryBinding | None = Field(description="The second version of a split; null when there is none.")
    previous_version: int | None = Field(
        description="The version the environment pointed at before; where a rollback without a canary returns."
    )

    @classmethod
    def of(cls, deployment: Deployment, version_ids: Mapping[int, str]) -> EnvironmentBinding:
        """From the registry's Deployment; `version_ids` maps saved version numbers to their ids."""
        canary = deployment.canary_number
        return cls(
            environment=deployment.environment,
            version=deployment.number,
            version_id=version_ids[deployment.number],
            weight=100 - deployment.canary_weight if canary is not None else 100,
            canary=None
            if canary is None
            else CanaryBinding(version=canary, version_id=version_ids[canary], weight=deployment.canary_weight),
            previous_version=deployment.previous_number,
        )


class VersionList(_Model):
    versions: list[SavedVersionResponse]
    environments: dict[str, int] = Field(
        description="The saved version number each bound environment points at (its main version)."
    )
    deployments: dict[str, EnvironmentBinding] = Field(
        description="Each bound environment in full: main version, canary and weights, previous version."
    )


class Canary(_Model):
    model_config = ConfigDict(extra="forbid")

    version: StrictInt = Field(ge=1, description="A saved version number, other than the main one.")
    weight: StrictInt = Field(ge=1, le=99, description="Percent of runs (of end users, when runs name one) it gets.")


class BindEnvironmentRequest(_Model):
    version: StrictInt = Field(ge=1, description="The saved version number that takes the runs the canary does not.")
    canary: Canary | None = Field(
        default=None,
        description="Split the environment: this version gets `weight` percent. The same end user (a run's "
        "metadata.user_id) always gets the same version; runs without one are assigned each on its own.",
    )


class AgentSummary(_Model):
    id: str
    created_at: str = Field(description="When the agent was first registered (ISO 8601, UTC).")


class AgentList(_Model):
    items: list[AgentSummary] = Field(description="The tenant's registered agents, in id order.")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null when there is none.")


class AgentSchemaResponse(_Model):
    schema_id: int
    input_schema: dict[str, Any]
    output_schema: dict[str, Any]


class AgentDetail(_Model):
    id: str
    created_at: str | None = Field(description="When the agent was first registered (ISO 8601, UTC), if known.")
    schemas: list[AgentSchemaResponse] = Field(description="Every registered schema pair, by schema id.")
    version_count: int = Field(description="Saved versions (GET .../versions lists them).")
    environments: dict[str, int] = Field(description="The saved version number each bound environment points at.")
