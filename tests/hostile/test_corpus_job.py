"""The whole hostile corpus in one job through a real worker: each file gets its outcome, the
others complete, and the worker never dies."""

from __future__ import annotations

import io
from collections import defaultdict

import pytest
from sqlalchemy import select

from shared.models import Image
from tests.hostile.conftest import REDIS_DB
from tests.hostile.corpus import DONE, archive_cases, image_cases
from tests.support.images import photo
from tests.support.stack import REDIS_URL

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def expected_outcomes() -> dict[str, str | tuple[str, ...]]:
    from web.uploads import clean_filename

    expected = {clean_filename(c.filename): c.expect for c in image_cases()}
    for archive in archive_cases():
        for name, expect in archive.entries.items():
            expected[f"{archive.filename}/{name}"] = expect
    return expected


def test_corpus_job_completes_and_the_worker_survives(fault_stack, fake_ghostscript):
    stack = fault_stack(broker_url=f"{REDIS_URL}/{REDIS_DB}", chunk_size=8)
    worker = stack.start_worker("w")
    pool = worker.pool_pids()
    files = [(c.data, c.filename) for c in [*image_cases(), *archive_cases()]]
    files += [(photo(900 + i, size=(64, 64)), f"good-{i}.jpg") for i in range(5)]
    response = stack.client.post(
        "/api/v1/jobs", data={"files": [(io.BytesIO(b), n) for b, n in files]},
        content_type="multipart/form-data")
    assert response.status_code == 202, response.get_json()

    audit = stack.wait_final(response.get_json()["id"])

    assert audit.problems == [] and audit.status == "completed_with_errors"
    with stack.session() as session:
        rows = session.execute(select(Image.filename, Image.status, Image.error)
                               .where(Image.job_id == response.get_json()["id"])).all()
    outcomes = defaultdict(list)
    for filename, status, error in rows:
        outcomes[filename].append(DONE if status == "done" else error.split(":")[0])
    expected = expected_outcomes() | {f"good-{i}.jpg": DONE for i in range(5)}
    assert set(outcomes) == set(expected)
    for filename, got in outcomes.items():
        allowed = expected[filename]
        allowed = (allowed,) if isinstance(allowed, str) else allowed
        assert set(got) <= set(allowed), f"{filename!r}: {got} not in {allowed}"
    assert worker.pool_pids() == pool and "WorkerLostError" not in worker.log()
    assert not fake_ghostscript.exists()
