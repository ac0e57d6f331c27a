"""Prometheus metrics at /metrics: queue depth and workers per model, jobs per status.

Read from Redis and SQL at scrape time, so every web process reports the same fleet-wide
numbers and an autoscaler can add GPU workers when a model's queue grows.
"""

from __future__ import annotations

from flask import Blueprint, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select

from shared.models import Job
from shared.workers import workers_per_model
from web import services

bp = Blueprint("metrics", __name__)


class FleetCollector:
    """Collects on each scrape; nothing is kept in this process."""

    def collect(self):
        svc = services()
        queued = GaugeMetricFamily("twinlens_queue_messages", "Chunks waiting in a model's queue",
                                   labels=["model"])
        workers = GaugeMetricFamily("twinlens_workers", "Live workers serving a model",
                                    labels=["model"])
        per_model = workers_per_model(svc.redis)
        for model in svc.settings.models:
            queued.add_metric([model], svc.redis.llen(model))
            workers.add_metric([model], per_model.get(model, 0))
        jobs = GaugeMetricFamily("twinlens_jobs", "Jobs by status", labels=["status"])
        with svc.sessions() as session:
            for status, count in session.execute(
                    select(Job.status, func.count()).group_by(Job.status)):
                jobs.add_metric([status], count)
        yield from (queued, workers, jobs)


@bp.get("/metrics")
def metrics() -> Response:
    registry = CollectorRegistry()
    registry.register(FleetCollector())
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)
