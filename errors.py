"""Domain errors, rendered in one place for REST (api/errors.py) and the UI (ui/errors.py)."""

from __future__ import annotations


class AppError(Exception):
    """Base of every error a user may see. `code` is stable; `message` is for people."""

    status_code = 500
    error_type = "server_error"
    code = "internal_error"

    def __init__(self, message: str, *, code: str | None = None,
                 params: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        # What the message names (a model, a profile), for the same message in other languages.
        self.params = params or {}


class InvalidInput(AppError):
    status_code = 400
    error_type = "invalid_request_error"
    code = "invalid_input"


class AuthenticationFailed(AppError):
    status_code = 401
    error_type = "authentication_error"
    code = "invalid_token"


class PermissionDenied(AppError):
    status_code = 403
    error_type = "permission_error"
    code = "forbidden"


class Conflict(AppError):
    status_code = 409
    error_type = "conflict_error"
    code = "conflict"


class NotFound(AppError):
    status_code = 404
    error_type = "not_found_error"
    code = "not_found"


class EngineUnavailable(AppError):
    status_code = 503
    error_type = "engine_unavailable"
    code = "engine_unavailable"


class EngineError(AppError):
    status_code = 502
    error_type = "engine_error"
    code = "engine_error"


class RateLimited(AppError):
    status_code = 429
    error_type = "rate_limit_error"
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after_s: int, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after_s = retry_after_s
