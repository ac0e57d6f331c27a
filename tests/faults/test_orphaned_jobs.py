"""The sweeper's backstop: a job that no active chunk serves is settled or re-chunked."""

from __future__ import annotations

import pytest

from shared import chunks as work
from shared.db import session_factory
from shared.jobs import NewImage, create_job
from shared.models import Job
from tests.support.databases import fresh_database, upgrade

pytestmark = pytest.mark.integration
LABELS = [{"rank": 1, "index": 1, "wnid": "n1", "label": "x", "score": 0.9}]


@pytest.fixture
def Session(tmp_path):
    with fresh_database("postgresql", tmp_path) as url:
        upgrade(url)
        yield session_factory(url)


def job_whose_chunks_all_ended(Session, *, predicted: int) -> str:
    """Four images, every chunk marked done, but only `predicted` images have predictions and
    none was settled: what a settle lost to a database outage leaves behind."""
    images = [NewImage(filename=f"{i}.jpg", sha256=f"{i:064x}", size=1) for i in range(4)]
    with Session.begin() as session:
        job, chunks = create_job(session=session, images=images, models=["resnet50"],
                                 top_k=1, chunk_size=4)
        job_id, chunk_id = job.id, chunks[0].id
    with Session.begin() as session:
        claim = work.claim_chunk(session, chunk_id)
        work.record_predictions(session, claim=claim, weights="w", precision="p",
                                labels={i: LABELS for i, _ in claim.images[:predicted]})
        work.finish_chunk(session, chunk_id)
    return job_id


def test_an_answered_job_left_running_is_settled(Session):
    job_id = job_whose_chunks_all_ended(Session, predicted=4)

    with Session.begin() as session:
        new = work.repair_orphaned_jobs(session, older_than_seconds=0, chunk_size=8)

    assert new == []
    with Session() as session:
        assert session.get(Job, job_id).status == "succeeded"


def test_images_no_chunk_serves_get_a_new_chunk(Session):
    job_id = job_whose_chunks_all_ended(Session, predicted=1)

    with Session.begin() as session:
        new = work.repair_orphaned_jobs(session, older_than_seconds=0, chunk_size=2)
        assert [len(c.image_ids) for c in new] == [2, 1]
    with Session.begin() as session:  # nothing is made twice while those chunks are active
        assert work.repair_orphaned_jobs(session, older_than_seconds=0, chunk_size=2) == []
    with Session() as session:  # the answered image is settled; the job waits for the rest
        assert session.get(Job, job_id).status == "running"
        assert sum(i.status == "done" for i in session.get(Job, job_id).images) == 1
