"""The one error hierarchy. Every API error becomes {"error": {"status_code", "code", "message"}}."""

from __future__ import annotations


class ApiError(Exception):
    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.headers = headers or {}

    def to_body(self) -> dict[str, dict[str, object]]:
        return {"error": {"status_code": self.status_code, "code": self.code, "message": self.message}}


class InvalidJson(ApiError):
    status_code = 400
    code = "invalid_json"


class ValidationFailed(ApiError):
    status_code = 422
    code = "validation_error"


class InvalidFeedbackToken(ApiError):
    status_code = 401
    code = "invalid_feedback_token"

    def __init__(self, reason: str) -> None:
        super().__init__(f"The feedback token is not valid: {reason}. Use the feedback_token returned with the run.")


class Unauthorized(ApiError):
    status_code = 401
    code = "unauthorized"


class Forbidden(ApiError):
    status_code = 403
    code = "forbidden"


class NotFound(ApiError):
    status_code = 404
    code = "not_found"


class Conflict(ApiError):
    status_code = 409
    code = "conflict"


class PayloadTooLarge(ApiError):
    status_code = 413
    code = "payload_too_large"


class UnsupportedMediaType(ApiError):
    status_code = 415
    code = "unsupported_media_type"


class ServiceUnavailable(ApiError):
    status_code = 503
    code = "service_unavailable"

    def __init__(self, message: str, *, retry_after_seconds: int = 1) -> None:
        super().__init__(message, headers={"Retry-After": str(retry_after_seconds)})


class InternalError(ApiError):
    status_code = 500
    code = "internal_error"
