"""Every error the system raises on purpose, in one place. None of them knows about HTTP.

Each has a stable machine `code` and a message a person can act on. Stores and services raise these;
`core.http_api.status_of` alone decides which HTTP status each one becomes, and `core.http_api`
renders them as {"error": {"status_code", "code", "message"}}.
"""

from __future__ import annotations

from collections.abc import Sequence


class DomainError(Exception):
    code = "bad_request"

    def __init__(self, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        # Response headers the caller should see (e.g. Retry-After); the HTTP mapping adds them.
        self.headers = headers or {}


# -- the request itself -----------------------------------------------------------------------------


class InvalidJson(DomainError):
    code = "invalid_json"


class ValidationFailed(DomainError):
    code = "validation_error"


class PayloadTooLarge(DomainError):
    code = "payload_too_large"


class UnsupportedMediaType(DomainError):
    code = "unsupported_media_type"


class UnsupportedParameter(DomainError):
    """A chat-completions field we do not support (named, so the caller can remove it)."""

    code = "unsupported_parameter"


class InvalidCursor(DomainError):
    code = "invalid_cursor"

    def __init__(self, reason: str) -> None:
        super().__init__(
            f"The cursor is not valid for this request: {reason}. Pass next_cursor unchanged, with the same "
            "agent, since and until as the request that returned it; or leave cursor out to start over."
        )


# -- who is asking ----------------------------------------------------------------------------------


class InvalidFeedbackToken(DomainError):
    code = "invalid_feedback_token"

    def __init__(self, reason: str) -> None:
        super().__init__(f"The feedback token is not valid: {reason}. Use the feedback_token returned with the run.")


class Unauthorized(DomainError):
    code = "unauthorized"


class Forbidden(DomainError):
    code = "forbidden"


class BoundToAnotherUser(Forbidden):
    """A feedback token bound to one end user (its run named them), used for another user_id."""

    code = "token_bound_to_another_user"

    def __init__(self) -> None:
        super().__init__(
            "This feedback token is bound to the end user its run was made for, and user_id names someone else. "
            "Leave user_id out (the bound user is assumed) or send that user's id."
        )


# -- what is stored ---------------------------------------------------------------------------------


class NotFound(DomainError):
    code = "not_found"


class NothingToRetract(NotFound):
    """A retraction of a vote that does not exist, or was retracted already."""

    code = "nothing_to_retract"


class Conflict(DomainError):
    code = "conflict"


class NothingToImprove(Conflict):
    """A version has no negative feedback with a comment: there is nothing to draft new instructions from."""

    code = "no_negative_feedback"


class UserLimitReached(Conflict):
    """A run's token already created entries for the most distinct users one run accepts."""

    code = "user_limit_reached"


class ServiceUnavailable(DomainError):
    """Storage or the signing key cannot be reached for now; nothing was changed."""

    code = "service_unavailable"

    def __init__(self, message: str, *, retry_after_seconds: int = 1) -> None:
        super().__init__(message, headers={"Retry-After": str(retry_after_seconds)})


# -- models -----------------------------------------------------------------------------------------


class UnknownModel(DomainError):
    code = "unknown_model"

    def __init__(self, model: str, available: Sequence[str], *, hint: str = "") -> None:
        listed = ", ".join(available) or "none"
        super().__init__(f"Unknown model '{model}'. Available models: {listed}.{hint}")


class ModelNotConfigured(DomainError):
    """A model we know, whose provider this deployment has not set up: the caller can pick another."""

    code = "model_not_configured"

    def __init__(self, model: str, provider: str, how: str, available: Sequence[str]) -> None:
        listed = ", ".join(available) or "none"
        super().__init__(
            f"Model '{model}' is served by the {provider} provider, which this deployment has not configured "
            f"({how}). Available models: {listed}."
        )


class ProviderError(DomainError):
    code = "provider_error"

    def __init__(self, provider: str, reason: str, *, retry_after_seconds: int | None = None) -> None:
        headers = {"Retry-After": str(retry_after_seconds)} if retry_after_seconds else None
        super().__init__(f"The {provider} provider failed: {reason}", headers=headers)
        self.provider = provider


class ProviderTimeout(DomainError):
    code = "provider_timeout"

    def __init__(self, provider: str, timeout_seconds: float | None = None) -> None:
        waited = f" within {timeout_seconds:g} seconds" if timeout_seconds else " in time"
        super().__init__(f"The {provider} provider did not answer{waited}. Retry, or ask for fewer output tokens.")
        self.provider = provider


class InvalidModelOutput(DomainError):
    """The model's output was not valid for the agent's output schema, even after one retry."""

    code = "invalid_model_output"


class InternalError(DomainError):
    code = "internal_error"
