"""Every error the API gives is JSON: {"error": {"code", "message", ...}} with its status."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, current_app, jsonify, request
from sqlalchemy.exc import InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

log = logging.getLogger("twinlens.web")
RETRY_UNAVAILABLE_SECONDS = "5"


class ApiError(Exception):
    """An error with an HTTP status, a stable code, and anything else the client should see."""

    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra

    def response(self):
        body = {"error": {"code": self.code, "message": self.message, **self.extra}}
        return jsonify(body), self.status


def limit_exceeded(limit: str, value: int, message: str) -> ApiError:
    """413 naming the setting that was hit, so a client knows what to change."""
    return ApiError(413, "limit_exceeded", message, limit=limit, max=value)


def init_app(app: Flask) -> None:
    app.register_error_handler(ApiError, lambda exc: exc.response())
    app.register_error_handler(RequestEntityTooLarge, _too_large)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(OperationalError, _database_unavailable)
    app.register_error_handler(InterfaceError, _database_unavailable)
    app.register_error_handler(Exception, _unexpected)


def _too_large(exc: RequestEntityTooLarge):
    cfg = current_app.config
    if request.content_length and request.content_length > (cfg["MAX_CONTENT_LENGTH"] or 0):
        return limit_exceeded("max_request_bytes", cfg["MAX_CONTENT_LENGTH"],
                              f"the upload is larger than {cfg['MAX_CONTENT_LENGTH']:,} bytes"
                              ).response()
    return limit_exceeded("max_images_per_job", cfg["TWINLENS"].max_images_per_job,
                          "too many files in one request").response()


def _http_error(exc: HTTPException):
    code = (exc.name or "error").lower().replace(" ", "_")
    response, status = ApiError(exc.code or 500, code, exc.description or exc.name).response()
    for name, value in exc.get_headers():  # e.g. Allow on a 405
        if name.lower() != "content-type":
            response.headers[name] = value
    return response, status


def _database_unavailable(exc: Exception):
    """A lost or restarting database is a 503 to retry, never a 500."""
    log.warning("database unavailable: %s", exc.__class__.__name__)
    response, status = ApiError(503, "database_unavailable",
                                "the database is unavailable; retry shortly").response()
    response.headers["Retry-After"] = RETRY_UNAVAILABLE_SECONDS
    return response, status


def _unexpected(exc: Exception):
    if isinstance(exc, HTTPException):
        return _http_error(exc)
    log.exception("unhandled error on %s %s", request.method, request.path)
    return ApiError(500, "internal_error", "an unexpected error occurred").response()
