"""The twinlens web front end: `create_app()` builds it (gunicorn: "web:create_app()")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import redis
from celery import Celery
from flask import Flask, current_app
from flask_wtf import CSRFProtect
from sqlalchemy.orm import Session, sessionmaker

from shared.db import session_factory
from shared.queue import make_celery
from shared.settings import Settings, get_settings

csrf = CSRFProtect()


@dataclass
class Services:
    """What request handlers share: settings, database sessions, the broker."""

    settings: Settings
    sessions: sessionmaker[Session]
    celery: Celery
    redis: redis.Redis


def services() -> Services:
    return current_app.extensions["twinlens"]


def create_app(settings: Settings | None = None, test_config: dict[str, Any] | None = None
               ) -> Flask:
    settings = settings or get_settings()
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.effective_secret_key(),
        MAX_CONTENT_LENGTH=settings.max_request_bytes,
        # Werkzeug counts every multipart part; a 5,000-image job needs more than its 1,000.
        MAX_FORM_PARTS=settings.max_images_per_job + 100,
        MAX_FORM_MEMORY_SIZE=1024 * 1024,
        TWINLENS=settings,
    )
    if test_config:
        app.config.update(test_config)
    app.extensions["twinlens"] = Services(
        settings=settings,
        sessions=session_factory(settings.resolved_database_url),
        celery=make_celery(settings),
        redis=redis.Redis.from_url(settings.broker_url, socket_timeout=2,
                                   socket_connect_timeout=2),
    )
    app.json.sort_keys = False  # keep the documented field order
    csrf.init_app(app)

    # openapi adds its routes to the API blueprint when imported
    from web import api, auth, errors, health, metrics, openapi, pages, ratelimit, security  # noqa: F401

    errors.init_app(app)
    security.init_app(app)
    auth.init_app(app)
    ratelimit.init_app(app)
    app.register_blueprint(api.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(metrics.bp)
    app.register_blueprint(pages.bp)
    csrf.exempt(api.bp)  # API clients authenticate with keys, not cookies
    return app
