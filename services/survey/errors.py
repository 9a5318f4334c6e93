"""Specific exceptions, mapped to HTTP answers in one place (the error format of API.md)."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, make_response, render_template_string, request
from werkzeug.exceptions import HTTPException

from shared.store import ConnectionFailure

log = logging.getLogger(__name__)


class ApiError(Exception):
    """An error with an HTTP status, a stable code and optional per-field details."""

    status = 400
    code = "bad_request"

    def __init__(
        self, message: str, *, details: dict | None = None, extra: dict | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}
        # Fields beside code, message and details (API.md: fields may be added), e.g. errors_truncated.
        self.extra = extra or {}


class ValidationFailed(ApiError):
    status, code = 400, "validation_error"


class Unauthorized(ApiError):
    status, code = 401, "unauthorized"


class Forbidden(ApiError):
    status, code = 403, "forbidden"


class NotFound(ApiError):
    status, code = 404, "not_found"


class Conflict(ApiError):
    status, code = 409, "conflict"


class Gone(ApiError):
    status, code = 410, "gone"


_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    410: "gone",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
    503: "unavailable",
}

# Seconds a client should wait after a 503: about one server selection timeout.
RETRY_AFTER_S = 5

_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{{ title }}</title></head>
<body><main><h1>{{ title }}</h1><p>{{ message }}</p></main></body></html>"""


def error_body(
    status: int, code: str, message: str, details: dict | None = None, extra: dict | None = None
) -> dict:
    return {"error": {**(extra or {}), "code": code, "message": message, "details": details or {}}}


def _json_error(
    status: int, code: str, message: str, details: dict | None = None, extra: dict | None = None
) -> Response:
    response = jsonify(error_body(status, code, message, details, extra))
    response.status_code = status
    return response


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def _exception_headers(exc: HTTPException) -> list[tuple[str, str]]:
    """The headers werkzeug gives the exception beside its Content-Type: a 405's Allow (RFC 9110)."""
    return [(name, value) for name, value in exc.get_headers() if name.lower() != "content-type"]


def register_error_handlers(app: Flask) -> None:
    """JSON errors under /api/, plain pages elsewhere; never a stack trace."""

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        if _wants_json():
            return _json_error(exc.status, exc.code, exc.message, exc.details, exc.extra)
        return render_template_string(_PAGE, title=exc.message, message=""), exc.status

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        status = exc.code or 500
        if status == 422:
            status = 400  # API.md: 422 is not used; bad input is a 400
        if _wants_json():
            details = {}
            data = getattr(exc, "data", None) or {}
            messages = data.get("messages") if isinstance(data, dict) else None
            if isinstance(messages, dict):
                # webargs groups messages by location (json, query, files)
                for location_messages in messages.values():
                    if isinstance(location_messages, dict):
                        details.update(location_messages)
            message = exc.description if status != 400 or not details else "invalid input"
            response = _json_error(status, _CODES.get(status, "error"), str(message), details)
            return response, _exception_headers(exc)
        page = render_template_string(_PAGE, title=exc.name, message=exc.description)
        return page, status, _exception_headers(exc)

    @app.errorhandler(ConnectionFailure)
    def _database_unreachable(exc: ConnectionFailure):
        # pymongo's ServerSelectionTimeoutError, AutoReconnect, NetworkTimeout: MongoDB is
        # down or unreachable, which the client can only wait out (as /readyz reports).
        log.warning("MongoDB unreachable", extra={"endpoint": request.endpoint})
        if _wants_json():
            response = _json_error(
                503, "unavailable", "the database is unreachable: try again in a moment"
            )
        else:
            page = render_template_string(
                _PAGE, title="Service unavailable", message="Please try again in a moment."
            )
            response = make_response(page, 503)
        response.headers["Retry-After"] = str(RETRY_AFTER_S)
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("unhandled error", extra={"endpoint": request.endpoint})  # paths carry tokens
        if _wants_json():
            return _json_error(500, "internal_error", "internal error")
        return render_template_string(_PAGE, title="Something went wrong", message=""), 500
