"""The gateway's HTTP errors: each carries its status and a stable code for the error body."""

from typing import Any, ClassVar

import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from pymongo.errors import ConnectionFailure, PyMongoError

log = structlog.get_logger(__name__)

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
    503: "unavailable",
}


class ApiError(Exception):
    """An expected failure, answered with ``status_code`` and the error body of docs/api.md."""

    status_code: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"
    #: Seconds a client should wait before asking again, when it should.
    retry_after: ClassVar[int | None] = None

    def __init__(
        self, message: str, *, details: Any = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        self.headers = headers


class BadRequest(ApiError):
    status_code = 400
    code = "bad_request"


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


class TemplateRequired(Conflict):
    """(v1.1) A reply while the channel's reply window is closed."""

    code = "template_required"


class OptedOut(Conflict):
    """(v1.1) A reply to a customer who revoked consent on the channel."""

    code = "opted_out"


class PayloadTooLarge(ApiError):
    status_code = 413
    code = "payload_too_large"


class Unprocessable(ApiError):
    status_code = 422
    code = "validation_error"


class IdempotencyKeyReused(Unprocessable):
    """(v1.1) An Idempotency-Key given again with another body."""

    code = "idempotency_key_reused"


class TooManyRequests(ApiError):
    status_code = 429
    code = "too_many_requests"


class ServiceUnavailable(ApiError):
    status_code = 503
    code = "unavailable"
    retry_after = 5


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        error["details"] = details
    return {"error": error}


def handle_api_error(_: Request[Any, Any, Any], exc: ApiError) -> Response[dict[str, Any]]:
    headers = dict(exc.headers or {})
    if exc.retry_after is not None:
        headers["Retry-After"] = str(exc.retry_after)
    return Response(
        error_body(exc.code, exc.message, exc.details),
        status_code=exc.status_code,
        headers=headers or None,
    )


def handle_http_exception(
    _: Request[Any, Any, Any], exc: HTTPException
) -> Response[dict[str, Any]]:
    status = exc.status_code
    if isinstance(exc, ValidationException) and _about_body(exc):
        # The request was understood but its body breaks the schema: 422, as docs/api.md has it.
        status = 422
    if status >= HTTP_500_INTERNAL_SERVER_ERROR:
        log.error("server_error", status=status, detail=exc.detail, exc_info=exc)
    code = _CODES.get(status, "error")
    message = exc.detail if status < HTTP_500_INTERNAL_SERVER_ERROR else "internal error"
    details = exc.extra if status < HTTP_500_INTERNAL_SERVER_ERROR and exc.extra else None
    return Response(
        error_body(code, message, details), status_code=status, headers=exc.headers or None
    )


def _about_body(exc: ValidationException) -> bool:
    extra = exc.extra if isinstance(exc.extra, list) else []
    return bool(extra) and all(
        isinstance(item, dict) and item.get("source", "body") == "body" for item in extra
    )


def handle_unexpected(_: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    """A bug: log it whole, answer 500 without details."""
    log.error("unhandled_exception", exc_info=exc)
    return Response(error_body("internal", "internal error"), status_code=500)


def handle_store_unreachable(
    request: Request[Any, Any, Any], exc: ConnectionFailure
) -> Response[dict[str, Any]]:
    """MongoDB could not be reached in time: the caller may retry, as with Kafka."""
    log.warning("store_unreachable", error=str(exc))
    return handle_api_error(request, ServiceUnavailable("the message store is unreachable"))


def handle_store_error(
    request: Request[Any, Any, Any], exc: PyMongoError
) -> Response[dict[str, Any]]:
    """Past the request's database deadline: 503, as when MongoDB is unreachable. Any other
    database error is a bug."""
    if exc.timeout:
        log.warning("store_timeout", error=str(exc))
        return handle_api_error(
            request, ServiceUnavailable("the message store did not answer in time")
        )
    return handle_unexpected(request, exc)


EXCEPTION_HANDLERS = {
    ApiError: handle_api_error,
    ConnectionFailure: handle_store_unreachable,
    PyMongoError: handle_store_error,
    HTTPException: handle_http_exception,
    Exception: handle_unexpected,
}
