"""Redis and PostgreSQL restarted in the middle of a job: the job still completes."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from tests.support.images import photo
from tests.support.stack import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_redis_restart_loses_the_queue_and_the_sweeper_refills_it(fault_stack, own_redis):
    stack = fault_stack(broker_url=own_redis.url)
    worker = stack.start_worker("w")
    job_id = stack.submit(160, seed=2000)
    wait_for(lambda: stack.progress(job_id) >= 24, timeout=120, what="some progress")

    own_redis.kill()  # nothing on disk: every queued and unacknowledged message is gone
    during = stack.client.get(f"/api/v1/jobs/{job_id}")
    late_id = stack.submit(6, seed=2500)  # accepted; its messages cannot be sent yet
    own_redis.start()

    first, late = stack.wait_final(job_id), stack.wait_final(late_id)
    assert during.status_code == 200
    assert first.problems == [] and late.problems == []
    assert (first.status, first.done, late.status, late.done) == ("succeeded", 160,
                                                                  "succeeded", 6)
    assert "re-enqueueing" in worker.log()
    assert worker.proc.poll() is None


def postgres_cluster() -> tuple[str, str]:
    versions = sorted(p.name for p in Path("/etc/postgresql").iterdir())
    return versions[-1], "main"


def restart_postgres() -> None:
    version, name = postgres_cluster()
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, name, "restart",
                    "-m", "fast"], check=True, timeout=60)


def ensure_postgres_running() -> None:
    version, name = postgres_cluster()
    status = subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, name,
                             "status"], capture_output=True, timeout=30)
    if status.returncode != 0:
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, name, "start"],
                       timeout=60)


@pytest.fixture
def postgres_restarter():
    """restart() PostgreSQL; whatever happens, it is running again when the test ends."""
    if not Path("/etc/postgresql").is_dir() or subprocess.run(
            ["which", "pg_ctlcluster"], capture_output=True).returncode != 0:
        pytest.skip("no local PostgreSQL cluster to restart")
    try:
        yield restart_postgres
    finally:
        ensure_postgres_running()


def test_postgres_restart_mid_job(fault_stack, postgres_restarter):
    stack = fault_stack()
    worker = stack.start_worker("w")
    job_id = stack.submit(160, seed=3000)
    wait_for(lambda: stack.progress(job_id) >= 24, timeout=120, what="some progress")

    postgres_restarter()
    statuses = {stack.client.get(f"/api/v1/jobs/{job_id}").status_code for _ in range(3)}
    time.sleep(0.2)

    audit = stack.wait_final(job_id)
    assert audit.problems == []
    assert (audit.status, audit.done) == ("succeeded", 160)
    assert statuses <= {200, 503}, statuses  # reconnects, or says to retry; never a 500
    assert stack.client.get(f"/api/v1/jobs/{job_id}").status_code == 200
    assert worker.proc.poll() is None
    late = stack.submit(4, seed=3500)  # the web's pool reconnected too
    assert stack.wait_final(late).status == "succeeded"
    _ = photo
