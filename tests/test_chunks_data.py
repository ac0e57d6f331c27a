"""The workers' data functions on SQLite and PostgreSQL: idempotent writes, derived progress,
final states."""

from __future__ import annotations

import pytest

from shared import chunks as work
from shared.db import session_factory
from shared.jobs import NewImage, create_job, job_counts
from shared.models import Job, Prediction
from tests.support.databases import fresh_database, upgrade


@pytest.fixture(params=["sqlite", "postgresql"])
def Session(request, tmp_path):
    with fresh_database(request.param, tmp_path) as url:
        upgrade(url)
        yield session_factory(url)


def labels_for(index: int) -> list[dict]:
    return [{"rank": r + 1, "index": index + r, "wnid": f"n{index + r:08d}",
             "label": f"class{index + r}", "score": 0.5 / (r + 1)} for r in range(5)]


def new_job(Session, n: int, models=("vgg16", "resnet50"), broken: int = 0) -> tuple[str, list]:
    images = [NewImage(filename=f"{i}.jpg", sha256=f"{i:064x}", size=10) for i in range(n)]
    images += [NewImage(filename=f"bad{i}.jpg", sha256="0" * 64, size=0, error="empty: x")
               for i in range(broken)]
    with Session.begin() as session:
        job, chunks = create_job(session=session, images=images, models=list(models), top_k=5,
                                 chunk_size=2)
        return job.id, [c.id for c in chunks]


def run_chunk(Session, chunk_id: str) -> work.Claim:
    with Session.begin() as session:
        claim = work.claim_chunk(session, chunk_id)
    with Session.begin() as session:
        work.record_predictions(session, claim=claim,
                                labels={i: labels_for(i) for i, _ in claim.images},
                                weights="random(seed=1)", precision="float32")
        work.finish_chunk(session, claim.chunk_id)
    with Session.begin() as session:
        work.settle(session, job_id=claim.job_id, image_ids=[i for i, _ in claim.images])
    return claim


def test_chunks_cover_every_image_once_per_model(Session):
    job_id, chunk_ids = new_job(Session, 5)
    assert len(chunk_ids) == 6  # 3 chunks of <=2 images x 2 models
    with Session() as session:
        from shared.models import Chunk

        chunks = [session.get(Chunk, c) for c in chunk_ids]
        for model in ("vgg16", "resnet50"):
            ids = sorted(i for c in chunks if c.model == model for i in c.image_ids)
            assert len(ids) == 5 and len(set(ids)) == 5


def test_upsert_twice_keeps_one_row_and_progress_is_derived(Session):
    job_id, chunk_ids = new_job(Session, 2, models=("resnet50",))
    claim = run_chunk(Session, chunk_ids[0])
    with Session.begin() as session:  # the same results written again, as a redelivery would
        work.record_predictions(session, claim=claim,
                                labels={i: labels_for(i) for i, _ in claim.images},
                                weights="random(seed=1)", precision="float32")
    with Session() as session:
        assert session.query(Prediction).count() == 2
        job = session.get(Job, job_id)
        assert job.status == "succeeded" and job.finished_at is not None
        counts = job_counts(session, job)
        assert counts["counts"]["done"] == 2
        assert counts["progress"]["resnet50"] == {"done": 2, "failed": 0, "total": 2}


def test_image_is_done_only_when_every_model_answered(Session):
    job_id, chunk_ids = new_job(Session, 2)
    with Session() as session:
        from shared.models import Chunk

        by_model = {session.get(Chunk, c).model: c for c in chunk_ids}
    run_chunk(Session, by_model["vgg16"])
    with Session() as session:
        job = session.get(Job, job_id)
        assert job.status == "running" and job_counts(session, job)["counts"]["done"] == 0
    run_chunk(Session, by_model["resnet50"])
    with Session() as session:
        job = session.get(Job, job_id)
        assert job.status == "succeeded" and job_counts(session, job)["counts"]["done"] == 2


def test_broken_images_end_the_job_with_errors(Session):
    job_id, chunk_ids = new_job(Session, 1, models=("resnet50",), broken=2)
    run_chunk(Session, chunk_ids[0])
    with Session() as session:
        job = session.get(Job, job_id)
        assert job.status == "completed_with_errors"
        assert job_counts(session, job)["counts"]["failed"] == 2


def test_cancelled_job_is_not_claimed(Session):
    from shared.jobs import cancel_job

    job_id, chunk_ids = new_job(Session, 3, models=("resnet50",))
    with Session.begin() as session:
        assert cancel_job(session, session.get(Job, job_id))
    with Session.begin() as session:
        assert work.claim_chunk(session, chunk_ids[0]) is None
    with Session() as session:
        assert session.get(Job, job_id).status == "cancelled"
