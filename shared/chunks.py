"""Data functions the workers call: claim a chunk, record its results, finish the job."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from shared.models import Chunk, Image, Job, Prediction, utcnow
from shared.states import (
    ACTIVE_CHUNK_STATES,
    ACTIVE_JOB_STATES,
    ChunkStatus,
    ImageStatus,
    JobStatus,
    final_job_status,
)


@dataclass(frozen=True)
class Claim:
    """What a worker needs to run a chunk; None fields mean there is nothing to do."""

    chunk_id: str
    job_id: str
    model: str
    top_k: int
    deliveries: int
    images: list[tuple[int, str]]  # (image id, sha256) still waiting for this model
    image_ids: tuple[int, ...] = ()  # every image of the chunk: what settle must look at
    last_error: str | None = None  # why an earlier delivery failed, if it said


def claim_chunk(session: Session, chunk_id: str) -> Claim | None:
    """Mark the chunk running and count the delivery; None if it is gone, done or cancelled."""
    chunk = session.get(Chunk, chunk_id, with_for_update=True)
    if chunk is None or chunk.status not in ACTIVE_CHUNK_STATES:
        return None
    job = session.get(Job, chunk.job_id)
    if job is None or job.status not in ACTIVE_JOB_STATES:
        chunk.status = ChunkStatus.CANCELLED
        return None
    chunk.status = ChunkStatus.RUNNING
    chunk.deliveries += 1
    chunk.started_at = utcnow()
    if job.status == JobStatus.QUEUED:
        job.status, job.started_at = JobStatus.RUNNING, utcnow()
    have = select(Prediction.image_id).where(
        Prediction.image_id.in_(chunk.image_ids), Prediction.model == chunk.model
    )
    images = session.execute(
        select(Image.id, Image.sha256)
        .where(Image.id.in_(chunk.image_ids), Image.status == ImageStatus.QUEUED)
        .where(Image.id.not_in(have))
        .order_by(Image.ordinal)
    ).all()
    return Claim(chunk.id, job.id, chunk.model, job.top_k, chunk.deliveries,
                 [(row.id, row.sha256) for row in images], tuple(chunk.image_ids), chunk.error)


def _insert(session: Session):
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(Prediction)


def record_predictions(
    session: Session,
    *,
    claim: Claim,
    labels: Mapping[int, Sequence[Mapping[str, Any]]],
    weights: str,
    precision: str,
) -> None:
    """Upsert one prediction set per image: a redelivered chunk writes nothing twice."""
    if labels:
        rows = [
            {
                "image_id": image_id, "job_id": claim.job_id, "model": claim.model,
                "labels": list(ranked), "top1_index": ranked[0]["index"],
                "top1_score": ranked[0]["score"], "weights": weights, "precision": precision,
                "created_at": utcnow(),
            }
            for image_id, ranked in labels.items()
        ]
        stmt = _insert(session).values(rows)
        session.execute(stmt.on_conflict_do_nothing(index_elements=["image_id", "model"]))


def fail_images(session: Session, errors: Mapping[int, str]) -> None:
    """Record why images failed; the first reason wins, and done images stay done."""
    for image_id, reason in errors.items():
        session.execute(
            update(Image)
            .where(Image.id == image_id, Image.status == ImageStatus.QUEUED)
            .values(status=ImageStatus.FAILED, error=storable_text(reason))
        )


def storable_text(text: str, limit: int = 2000) -> str:
    """A reason any database keeps: PostgreSQL refuses NUL and lone surrogates in text."""
    text = text.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")
    return text[:limit]


def note_chunk_error(session: Session, chunk_id: str, error: str) -> None:
    """Remember why a delivery failed, so that giving up later can say why."""
    session.execute(update(Chunk).where(Chunk.id == chunk_id)
                    .values(error=storable_text(error, 1000)))


def finish_chunk(session: Session, chunk_id: str, status: ChunkStatus = ChunkStatus.DONE,
                 error: str | None = None) -> None:
    session.execute(
        update(Chunk)
        .where(Chunk.id == chunk_id)
        .values(status=status, finished_at=utcnow(), error=error)
    )


def settle(session: Session, *, job_id: str, image_ids: Iterable[int]) -> JobStatus | None:
    """Mark images done once every model answered, and end the job once none is pending.

    Runs in its own transaction after the predictions committed, so that when two models'
    chunks finish together the later one sees both sets of rows.
    """
    # Lock the job row: two chunks settling at once would each miss the other's uncommitted
    # images (READ COMMITTED) and neither would end the job. SQLite serialises writers anyway.
    job = session.get(Job, job_id, with_for_update=True)
    if job is None:
        return None
    answered = (
        select(func.count())
        .where(Prediction.image_id == Image.id)
        .correlate(Image)
        .scalar_subquery()
    )
    session.execute(
        update(Image)
        .where(Image.id.in_(list(image_ids)), Image.status == ImageStatus.QUEUED)
        .where(answered >= len(job.models))
        .values(status=ImageStatus.DONE)
        .execution_options(synchronize_session=False)
    )
    return finish_job_if_complete(session, job)


def finish_job_if_complete(session: Session, job: Job) -> JobStatus | None:
    """Give the job its final state if no image is still queued; returns that state."""
    counts = dict(
        session.execute(
            select(Image.status, func.count()).where(Image.job_id == job.id).group_by(Image.status)
        ).all()
    )
    if counts.get(ImageStatus.QUEUED, 0):
        return None
    final = final_job_status(
        images=job.image_count,
        done=counts.get(ImageStatus.DONE, 0),
        failed=counts.get(ImageStatus.FAILED, 0),
    )
    changed = session.execute(
        update(Job)
        .where(Job.id == job.id, Job.status.in_(ACTIVE_JOB_STATES))
        .values(status=final, finished_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    return final if changed else None


def split_chunk(session: Session, claim: Claim) -> list[Chunk]:
    """Replace a chunk that keeps killing its worker by one chunk per image, to find the culprit."""
    finish_chunk(session, claim.chunk_id, ChunkStatus.SPLIT,
                 error=storable_text(f"delivered {claim.deliveries - 1} times without finishing "
                                     f"({claim.last_error or 'worker lost'}); split into single "
                                     f"images", 1000))
    singles = [Chunk(job_id=claim.job_id, model=claim.model, image_ids=[image_id])
               for image_id, _ in claim.images]
    session.add_all(singles)
    session.flush()
    return singles


def stale_chunks(session: Session, *, older_than_seconds: float, limit: int = 1000) -> list[Chunk]:
    """Active chunks of active jobs that have sat unchanged for a while (candidates to sweep)."""
    from datetime import timedelta

    cutoff = utcnow() - timedelta(seconds=older_than_seconds)
    last_touch = func.coalesce(Chunk.started_at, Chunk.enqueued_at)
    return list(
        session.scalars(
            select(Chunk)
            .join(Job, and_(Job.id == Chunk.job_id, Job.status.in_(ACTIVE_JOB_STATES)))
            .where(Chunk.status.in_(ACTIVE_CHUNK_STATES), last_touch < cutoff)
            .order_by(Chunk.enqueued_at)
            .limit(limit)
        )
    )


def repair_orphaned_jobs(session: Session, *, older_than_seconds: float,
                         chunk_size: int) -> list[Chunk]:
    """Active jobs that no active chunk serves: settle what is answered, re-chunk the rest.

    Normally impossible; it is the backstop that keeps a job from staying `running` forever
    when a settle was lost (its transaction failed after the predictions committed).
    """
    from datetime import timedelta

    cutoff = utcnow() - timedelta(seconds=older_than_seconds)
    busy = select(Chunk.job_id).where(Chunk.status.in_(ACTIVE_CHUNK_STATES))
    jobs = session.scalars(
        select(Job).where(Job.status.in_(ACTIVE_JOB_STATES), Job.created_at < cutoff,
                          Job.id.not_in(busy)).limit(100)
    ).all()
    new: list[Chunk] = []
    for job in jobs:
        queued = list(session.scalars(select(Image.id).where(
            Image.job_id == job.id, Image.status == ImageStatus.QUEUED).order_by(Image.ordinal)))
        settle(session, job_id=job.id, image_ids=queued)
        for model in job.models:
            answered = select(Prediction.image_id).where(Prediction.job_id == job.id,
                                                         Prediction.model == model)
            missing = list(session.scalars(select(Image.id).where(
                Image.id.in_(queued), Image.id.not_in(answered)).order_by(Image.ordinal)))
            new += [Chunk(job_id=job.id, model=model, image_ids=missing[i:i + chunk_size])
                    for i in range(0, len(missing), chunk_size)]
    session.add_all(new)
    session.flush()
    return new
