"""Data functions for jobs: create with their chunks, report progress from rows, cancel."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from shared.models import Chunk, Image, Job, Prediction, utcnow
from shared.states import ACTIVE_JOB_STATES, ChunkStatus, ImageStatus, JobStatus


@dataclass(frozen=True)
class NewImage:
    """An accepted upload: stored bytes plus what its header said, or why it was refused."""

    filename: str
    sha256: str
    size: int
    format: str | None = None
    width: int | None = None
    height: int | None = None
    error: str | None = None


def create_job(
    *,
    session: Session,
    images: Sequence[NewImage],
    models: Sequence[str],
    top_k: int,
    chunk_size: int,
    owner: str | None = None,
) -> tuple[Job, list[Chunk]]:
    """Job, image and chunk rows in the caller's transaction; the caller enqueues after commit."""
    job = Job(models=list(models), top_k=top_k, owner=owner, image_count=len(images))
    session.add(job)
    rows = [
        Image(
            job=job, ordinal=i, filename=img.filename, sha256=img.sha256, size=img.size,
            format=img.format, width=img.width, height=img.height, error=img.error,
            status=ImageStatus.FAILED if img.error else ImageStatus.QUEUED,
        )
        for i, img in enumerate(images)
    ]
    session.add_all(rows)
    session.flush()
    pending = [row.id for row in rows if row.status == ImageStatus.QUEUED]
    chunks = [
        Chunk(job_id=job.id, model=model, image_ids=pending[i : i + chunk_size])
        for model in models
        for i in range(0, len(pending), chunk_size)
    ]
    session.add_all(chunks)
    if not pending:
        job.status = JobStatus.FAILED
        job.finished_at = utcnow()
        job.error = "no image in this job could be read"
    session.flush()
    return job, chunks


def get_job(session: Session, job_id: str, *, owner: str | None = None) -> Job | None:
    """The job, or None if it does not exist or belongs to someone else."""
    job = session.get(Job, job_id)
    if job is None or (owner is not None and job.owner != owner):
        return None
    return job


def job_counts(session: Session, job: Job) -> dict[str, Any]:
    """Counts and per-model progress, derived from the image and prediction rows."""
    by_status = dict(
        session.execute(
            select(Image.status, func.count()).where(Image.job_id == job.id).group_by(Image.status)
        ).all()
    )
    per_model = dict(
        session.execute(
            select(Prediction.model, func.count())
            .where(Prediction.job_id == job.id)
            .group_by(Prediction.model)
        ).all()
    )
    failed = by_status.get(ImageStatus.FAILED, 0)
    return {
        "counts": {
            "images": job.image_count,
            "done": by_status.get(ImageStatus.DONE, 0),
            "failed": failed,
            "cancelled": by_status.get(ImageStatus.CANCELLED, 0),
        },
        "progress": {
            model: {"done": per_model.get(model, 0), "failed": failed, "total": job.image_count}
            for model in job.models
        },
    }


def job_weights(session: Session, job: Job) -> dict[str, list[str]]:
    """Which weights produced this job's predictions, per model (normally one each)."""
    rows = session.execute(
        select(Prediction.model, Prediction.weights).where(Prediction.job_id == job.id).distinct()
    ).all()
    weights: dict[str, list[str]] = {model: [] for model in job.models}
    for model, name in rows:
        weights.setdefault(model, []).append(name)
    return weights


def cancel_job(session: Session, job: Job) -> bool:
    """Cancel a job that is not finished: queued work is dropped, finished work is kept."""
    changed = session.execute(
        update(Job)
        .where(Job.id == job.id, Job.status.in_(ACTIVE_JOB_STATES))
        .values(status=JobStatus.CANCELLED, finished_at=utcnow())
    ).rowcount
    if changed:
        session.execute(
            update(Chunk)
            .where(Chunk.job_id == job.id, Chunk.status == ChunkStatus.QUEUED)
            .values(status=ChunkStatus.CANCELLED)
        )
        session.execute(
            update(Image)
            .where(Image.job_id == job.id, Image.status == ImageStatus.QUEUED)
            .values(status=ImageStatus.CANCELLED)
        )
    return bool(changed)


def recent_jobs(session: Session, *, owner: str | None, limit: int = 50) -> list[Job]:
    query = select(Job).order_by(Job.created_at.desc()).limit(limit)
    if owner is not None:
        query = query.where(Job.owner == owner)
    return list(session.scalars(query))
