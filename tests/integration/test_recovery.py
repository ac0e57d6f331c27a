"""Work the broker lost comes back (the sweeper), and work done twice is written once."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from shared.blobstore import LocalBlobStore
from shared.db import session_factory
from shared.jobs import NewImage, create_job
from shared.models import Chunk, Prediction
from shared.queue import enqueue_chunks, make_celery
from tests.support.images import photo
from tests.support.stack import wait_for

pytestmark = pytest.mark.integration


def committed_but_never_enqueued(stack, count: int) -> str:
    """A job as the web writes it, then 'crashes' before sending any message."""
    store = LocalBlobStore(stack.settings.resolved_blob_dir)
    images = []
    for i in range(count):
        blob = store.put_bytes(photo(500 + i))
        images.append(NewImage(filename=f"{i}.jpg", sha256=blob.sha256, size=blob.size))
    with session_factory(stack.settings.resolved_database_url).begin() as session:
        job, _ = create_job(session=session, images=images, models=["resnet50"], top_k=5,
                            chunk_size=4)
    return job.id


def test_sweeper_sends_chunks_that_no_queue_holds(stack):
    job_id = committed_but_never_enqueued(stack, 10)

    done = stack.wait(job_id, timeout=120)  # sweep_grace is 3 s in the test stack

    assert done["status"] == "succeeded" and done["counts"]["done"] == 10
    assert "re-enqueueing" in stack.worker.log()


def test_a_late_redelivery_changes_nothing(stack):
    job = stack.submit([(photo(600 + i), f"{i}.jpg") for i in range(5)], models="resnet50")
    stack.wait(job["id"])
    Session = session_factory(stack.settings.resolved_database_url)
    with Session() as session:
        chunks = list(session.scalars(select(Chunk).where(Chunk.job_id == job["id"])))
        for chunk in chunks:  # as if the broker handed the message out once more
            chunk.status = "queued"
        session.commit()
    enqueue_chunks(make_celery(stack.settings), chunks)

    def settled() -> bool:
        with Session() as session:
            statuses = session.scalars(select(Chunk.status).where(Chunk.job_id == job["id"]))
            return all(status != "queued" for status in statuses)

    wait_for(settled, timeout=60, what="redelivered chunks to be handled")
    with Session() as session:
        rows = session.scalar(select(func.count()).where(Prediction.job_id == job["id"]))
    assert rows == 5
    assert stack.client.get(f"/api/v1/jobs/{job['id']}").get_json()["status"] == "succeeded"
