"""Liveness (/healthz: the process answers) and readiness (/readyz: what it depends on)."""

from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import text

from shared.workers import workers_per_model
from web import services

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz():
    """Ready when the database and broker answer; workers per model are reported, since a
    job can be accepted (and will wait) while no worker serves its model."""
    svc = services()
    checks: dict = {}
    try:
        with svc.sessions() as session:
            session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"error: {exc.__class__.__name__}"
    try:
        svc.redis.ping()
        checks["broker"] = "ok"
        per_model = workers_per_model(svc.redis)
    except Exception as exc:
        checks["broker"] = f"error: {exc.__class__.__name__}"
        per_model = {}
    workers = {model: per_model.get(model, 0) for model in svc.settings.models}
    ready = checks["database"] == "ok" and checks["broker"] == "ok"
    body = {"status": "ready" if ready else "unavailable", "checks": checks, "workers": workers}
    return jsonify(body), 200 if ready else 503
