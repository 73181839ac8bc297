"""Request and response shapes of the agent routes (registration, runs, versions), as the WorkflowAI SDKs send them."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from agentfeedback.core.ids import AGENT_ID_REGEX, end_user_id


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
    temperature: float | None = Field(default=None, ge=0, le=2)
    max_tokens: int | None = Field(default=None, ge=1, le=32_000)
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
    version: int | str | VersionProperties
    id: str | None = Field(default=None, max_length=64)
    stream: bool | None = None
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


class VersionList(_Model):
    versions: list[SavedVersionResponse]
    environments: dict[str, int] = Field(description="The saved version number each bound environment points at.")


class EnvironmentBinding(_Model):
    environment: str
    version: int = Field(description="The saved version number the environment now points at.")
    version_id: str


class BindEnvironmentRequest(_Model):
    version: int = Field(ge=1)
