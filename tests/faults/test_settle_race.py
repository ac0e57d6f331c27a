"""Two chunks of one job settling at the same moment still end the job (PostgreSQL)."""

from __future__ import annotations

import threading

import pytest

from shared import chunks as work
from shared.db import session_factory
from shared.jobs import NewImage, create_job
from shared.models import Job
from tests.support.databases import fresh_database, upgrade


def labels() -> list[dict]:
    return [{"rank": 1, "index": 1, "wnid": "n1", "label": "x", "score": 0.9}]


def test_concurrent_settles_of_the_last_two_chunks_finish_the_job(tmp_path):
    with fresh_database("postgresql", tmp_path) as url:
        upgrade(url)
        Session = session_factory(url)
        images = [NewImage(filename=f"{i}.jpg", sha256=f"{i:064x}", size=1) for i in range(4)]
        with Session.begin() as session:
            job, chunks = create_job(session=session, images=images, models=["resnet50"],
                                     top_k=1, chunk_size=2)
            job_id, chunk_ids = job.id, [c.id for c in chunks]
        claims = []
        for chunk_id in chunk_ids:  # both chunks ran and committed their predictions
            with Session.begin() as session:
                claims.append(work.claim_chunk(session, chunk_id))
            with Session.begin() as session:
                work.record_predictions(session, claim=claims[-1], weights="w", precision="p",
                                        labels={i: labels() for i, _ in claims[-1].images})
                work.finish_chunk(session, claims[-1].chunk_id)

        first = Session()  # settles, but has not committed when the second one settles
        work.settle(first, job_id=job_id, image_ids=claims[0].image_ids)
        second = threading.Thread(target=lambda: _settle_and_commit(Session, job_id, claims[1]))
        second.start()
        second.join(timeout=1.0)  # blocks on the job row while the first is open
        first.commit()
        first.close()
        second.join(timeout=30)
        assert not second.is_alive()

        with Session() as session:
            assert session.get(Job, job_id).status == "succeeded"


def _settle_and_commit(Session, job_id: str, claim: work.Claim) -> None:
    with Session.begin() as session:
        work.settle(session, job_id=job_id, image_ids=claim.image_ids)


pytestmark = pytest.mark.integration
