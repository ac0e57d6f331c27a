"""Finished jobs written straight into the database, for UI and query tests without a worker."""

from __future__ import annotations

import random
from dataclasses import dataclass

from sqlalchemy import update
from sqlalchemy.orm import Session

from shared.blobstore import LocalBlobStore
from shared.jobs import NewImage, create_job
from shared.labels import imagenet_classes
from shared.models import Image, Job, Prediction, utcnow
from shared.states import ImageStatus, JobStatus
from tests.support.images import photo

RANDOM_WEIGHTS = "random(seed=1234)"


@dataclass(frozen=True)
class FakeJob:
    id: str
    models: list[str]
    images: int
    failed: set[int]  # ordinals


def ranked_labels(rng: random.Random, top_k: int, first: int | None = None) -> list[dict]:
    """A plausible top-k: descending scores summing to at most 1, distinct classes."""
    classes = imagenet_classes()
    indexes = rng.sample(range(1000), top_k + 1)
    if first is not None:
        indexes = [first, *[i for i in indexes if i != first]]
    weights = sorted((rng.random() ** 2 for _ in range(top_k)), reverse=True)
    total = sum(weights) / rng.uniform(0.55, 0.999)
    return [{"rank": r + 1, "index": i, "wnid": classes[i].wnid, "label": classes[i].label,
             "score": round(w / total, 6)}
            for r, (i, w) in enumerate(zip(indexes[:top_k], weights, strict=True))]


def seed_job(session: Session, store: LocalBlobStore | None, *, images: int,
             models: tuple[str, ...] = ("vgg16", "resnet50"), top_k: int = 5,
             failed_every: int = 0, agree_every: int = 3, seed: int = 0,
             weights: str = RANDOM_WEIGHTS, owner: str | None = None) -> FakeJob:
    """A finished job of `images` images; with a store, the first 24 have real photo blobs."""
    rng = random.Random(seed)
    failed = {i for i in range(images) if failed_every and i % failed_every == failed_every - 1}
    new = [NewImage(filename=f"photos/img-{i:05d}.jpg", sha256=_blob(store, seed, i), size=1000,
                    format="JPEG", width=320, height=240,
                    error="corrupt: unreadable image header" if i in failed else None)
           for i in range(images)]
    job, _ = create_job(session=session, images=new, models=models, top_k=top_k,
                        chunk_size=10_000, owner=owner)
    ids = dict(session.query(Image.ordinal, Image.id).filter(Image.job_id == job.id).all())
    rows = []
    for ordinal, image_id in ids.items():
        if ordinal in failed:
            continue
        first = ranked_labels(rng, top_k)
        agree = agree_every and ordinal % agree_every == 0
        for n, model in enumerate(models):
            labels = first if n == 0 else ranked_labels(
                rng, top_k, first=first[0]["index"] if agree else None)
            rows.append(Prediction(image_id=image_id, job_id=job.id, model=model, labels=labels,
                                   top1_index=labels[0]["index"], top1_score=labels[0]["score"],
                                   weights=weights, precision="float32"))
    session.add_all(rows)
    session.execute(update(Image).where(Image.job_id == job.id,
                                        Image.status == ImageStatus.QUEUED)
                    .values(status=ImageStatus.DONE))
    job.status = JobStatus.COMPLETED_WITH_ERRORS if failed else JobStatus.SUCCEEDED
    job.started_at = job.finished_at = utcnow()
    session.flush()
    return FakeJob(job.id, list(models), images, {i for i in failed})


def _blob(store: LocalBlobStore | None, seed: int, ordinal: int) -> str:
    if store is None or ordinal >= 24:
        return f"{seed:08x}{ordinal:056x}"  # a sha256-shaped name with no bytes behind it
    return store.put_bytes(photo(seed * 1000 + ordinal, size=(320, 240))).sha256


def job_row(session: Session, job_id: str) -> Job:
    return session.get(Job, job_id)
