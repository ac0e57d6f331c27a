"""Rate limits per API key (else per client address), counted in Redis across web processes."""

from __future__ import annotations

import hashlib
import time

from flask import Flask, current_app, request
from flask_limiter import Limiter, RateLimitExceeded

from web.auth import API_KEY_HEADER
from web.errors import ApiError

SUBMIT_ENDPOINTS = frozenset({"api.create_job", "pages.submit_form"})


def rate_limit_key() -> str:
    """A key's digest (never the key itself) or the client address; no database lookup."""
    key = request.headers.get(API_KEY_HEADER, "").strip()
    if key:
        return "key:" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return f"addr:{request.remote_addr}"


def _request_cost() -> int:
    """A submission stores and sniffs files: it costs as much as many polls."""
    if request.endpoint in SUBMIT_ENDPOINTS:
        return current_app.config["TWINLENS"].rate_limit_submit_cost
    return 1


def _exempt() -> bool:
    return request.blueprint in ("health", "metrics")  # probes and scrapers


def _too_many_requests(exc: RateLimitExceeded):
    limiter: Limiter = current_app.extensions["twinlens_limiter"]
    limit = limiter.current_limit
    wait = max(1, int(limit.reset_at - time.time())) if limit else 60
    response, status = ApiError(429, "rate_limited", f"rate limit exceeded ({exc.description}); "
                                f"retry in {wait} s", limit="rate_limit").response()
    response.headers["Retry-After"] = str(wait)
    return response, status


def init_app(app: Flask) -> Limiter:
    settings = app.config["TWINLENS"]
    limiter = Limiter(
        rate_limit_key,
        app=app,
        default_limits=[settings.rate_limit],
        default_limits_cost=_request_cost,
        default_limits_exempt_when=_exempt,
        storage_uri=settings.resolved_rate_limit_storage_url,
        storage_options={"socket_timeout": 2, "socket_connect_timeout": 2},
        strategy="fixed-window",
        key_prefix="twinlens-rl",
        # Redis down must not take the web down with it: count in memory meanwhile.
        swallow_errors=True,
        in_memory_fallback_enabled=True,
        headers_enabled=False,  # Retry-After is reserved for 429s and running jobs
    )
    app.extensions["twinlens_limiter"] = limiter
    app.register_error_handler(RateLimitExceeded, _too_many_requests)
    return limiter
