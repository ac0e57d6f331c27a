"""JSON shapes of the API: a job with its counts, links and the weights behind it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import url_for
from sqlalchemy.orm import Session

from shared.jobs import job_counts, job_weights
from shared.models import Job


def live_weights() -> dict[str, str]:
    """What the running workers would use, for jobs that have no prediction yet."""
    from shared.workers import live_workers
    from web import services

    try:
        workers = live_workers(services().redis)
    except Exception:  # the broker being down must not break reads or pages
        return {}
    return {model: w for info in workers for model, w in info.get("weights", {}).items()}


def iso(value: datetime | None) -> str | None:
    """ISO 8601 in UTC; SQLite hands back naive datetimes, which are UTC here."""
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()


def is_random_weights(description: str | None) -> bool:
    return bool(description) and description.startswith("random")


def job_dict(session: Session, job: Job, *, live_weights: dict[str, str] | None = None
             ) -> dict[str, Any]:
    """The job as clients see it; weights come from its predictions, else from live workers."""
    stored = job_weights(session, job)
    weights = {
        model: (", ".join(names) if names else (live_weights or {}).get(model))
        for model, names in stored.items()
    }
    return {
        "id": job.id,
        "status": job.status,
        "models": job.models,
        "top_k": job.top_k,
        **job_counts(session, job),
        "weights": weights,
        "random_weights": any(is_random_weights(w) for w in weights.values()),
        "error": job.error,
        "created_at": iso(job.created_at),
        "started_at": iso(job.started_at),
        "finished_at": iso(job.finished_at),
        "links": {
            "self": url_for("api.get_job", job_id=job.id),
            "results": url_for("api.get_results", job_id=job.id),
            "csv": url_for("api.get_results", job_id=job.id, format="csv"),
            "page": url_for("pages.job_page", job_id=job.id),
        },
    }
