"""What "no image lost" means, checked straight from the database after a fault."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared.models import Chunk, Image, Job, Prediction
from shared.states import ACTIVE_CHUNK_STATES, FINAL_JOB_STATES


@dataclass(frozen=True)
class JobAudit:
    """A finished job's images by outcome, and everything that breaks the guarantees."""

    status: str
    done: int
    failed: int
    errors: dict[str, str]  # filename -> reason, for the failed images
    problems: list[str]


def audit_job(session: Session, job_id: str) -> JobAudit:
    """Every image has one prediction set per model or a recorded error; nothing is active."""
    job = session.get(Job, job_id)
    assert job is not None, f"job {job_id} is gone"
    images = list(session.scalars(select(Image).where(Image.job_id == job_id)))
    sets = dict(session.execute(
        select(Prediction.image_id, func.count())
        .where(Prediction.job_id == job_id).group_by(Prediction.image_id, Prediction.model)
        .having(func.count() > 1)).all())
    per_image = dict(session.execute(
        select(Prediction.image_id, func.count(func.distinct(Prediction.model)))
        .where(Prediction.job_id == job_id).group_by(Prediction.image_id)).all())
    active = session.scalar(select(func.count()).where(
        Chunk.job_id == job_id, Chunk.status.in_(ACTIVE_CHUNK_STATES)))
    problems = []
    if job.status not in FINAL_JOB_STATES:
        problems.append(f"job is still {job.status}")
    if len(images) != job.image_count:
        problems.append(f"{len(images)} image rows for image_count {job.image_count}")
    if sets:
        problems.append(f"duplicate prediction rows for images {sorted(sets)[:10]}")
    if active:
        problems.append(f"{active} chunks still queued or running")
    for image in images:
        if image.status == "done" and per_image.get(image.id, 0) != len(job.models):
            problems.append(f"{image.filename} done with {per_image.get(image.id, 0)} models")
        elif image.status == "failed" and not image.error:
            problems.append(f"{image.filename} failed without a reason")
        elif image.status not in ("done", "failed", "cancelled"):
            problems.append(f"{image.filename} is still {image.status}")
    return JobAudit(
        status=job.status,
        done=sum(image.status == "done" for image in images),
        failed=sum(image.status == "failed" for image in images),
        errors={image.filename: image.error for image in images if image.status == "failed"},
        problems=problems,
    )
