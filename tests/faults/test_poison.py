"""An image that kills its worker every time is given up after a bounded number of deliveries."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select

from shared.models import Chunk
from tests.support.images import photo

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_poison_image_fails_alone_and_the_job_completes(fault_stack):
    stack = fault_stack(max_deliveries=2, chunk_size=4)
    poison = photo(4242, size=(64, 64))
    stack.start_worker("victim", TWINLENS_TEST_CRASH_ON_SHA256=hashlib.sha256(poison).hexdigest())
    job_id = stack.submit(11, seed=4000, extra=[(poison, "poison.jpg")])

    audit = stack.wait_final(job_id, timeout=240)

    assert audit.problems == []
    assert (audit.status, audit.done, audit.failed) == ("completed_with_errors", 11, 1)
    assert audit.errors["poison.jpg"].startswith("worker_crashed:")
    with stack.session() as session:
        chunks = session.execute(select(Chunk.status, Chunk.deliveries, Chunk.image_ids)
                                 .where(Chunk.job_id == job_id)).all()
    # The chunk holding it was split after max_deliveries crashes, then the single failed:
    # every chunk was delivered at most max_deliveries + 1 times (the last one gives up).
    assert max(deliveries for _, deliveries, _ in chunks) <= 3
    assert sorted(status for status, _, ids in chunks if len(ids) == 1) == [
        "done", "done", "done", "failed"]
    assert [status for status, _, ids in chunks if len(ids) > 1].count("split") == 1
    assert stack.workers[0].proc.poll() is None  # the parent survived its pool children
    assert stack.workers[0].log().count("SIGSEGV") >= 4
