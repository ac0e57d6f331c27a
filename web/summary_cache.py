"""The job summary, cached in Redis: at 10,000 images it reads every prediction (~0.3 s), and
finished jobs are read far more often than they change.

The cache key holds the number of prediction rows, so any new prediction (a running job, a
chunk finishing after a cancel) makes a new key and the summary is computed afresh.
"""

from __future__ import annotations

import contextlib
import json
import logging
from typing import Any

import redis
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared.models import Job, Prediction
from shared.summary import job_summary
from web import services

TTL_SECONDS = 24 * 3600
log = logging.getLogger("twinlens.web")


def cached_summary(session: Session, job: Job) -> dict[str, Any]:
    rows = session.scalar(select(func.count()).where(Prediction.job_id == job.id))
    key = f"twinlens:summary:{job.id}:{rows}"
    client = services().redis
    try:
        hit = client.get(key)
        if hit:
            return json.loads(hit)
    except redis.RedisError:  # no cache is no reason to fail the page
        log.warning("summary cache unavailable")
    summary = job_summary(session, job)
    if rows:
        with contextlib.suppress(redis.RedisError):
            client.set(key, json.dumps(summary), ex=TTL_SECONDS)
    return summary
