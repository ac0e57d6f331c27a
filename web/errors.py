"""Every error the API gives is JSON: {"error": {"code", "message", ...}} with its status."""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge


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


def _too_large(exc: RequestEntityTooLarge):
    from flask import current_app

    cfg = current_app.config
    if request.content_length and request.content_length > (cfg["MAX_CONTENT_LENGTH"] or 0):
        return limit_exceeded("max_request_bytes", cfg["MAX_CONTENT_LENGTH"],
                              f"the upload is larger than {cfg['MAX_CONTENT_LENGTH']:,} bytes"
                              ).response()
    return limit_exceeded("max_images_per_job", cfg["TWINLENS"].max_images_per_job,
                          "too many files in one request").response()


def _http_error(exc: HTTPException):
    code = (exc.name or "error").lower().replace(" ", "_")
    return ApiError(exc.code or 500, code, exc.description or exc.name).response()
