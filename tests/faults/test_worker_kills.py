"""Workers killed with SIGKILL mid-chunk: every image still gets exactly one prediction set."""

from __future__ import annotations

import os
import random
import signal
import time

import pytest
from sqlalchemy import func, select

from shared.models import Chunk
from tests.support.fault_stack import FaultStack, in_flight, wait_for_worker_pid
from tests.support.stack import Worker, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def kill_mid_chunk(stack: FaultStack, worker: Worker, job_id: str, *, max_deliveries: int,
                   timeout: float = 60) -> bool:
    """SIGKILL the whole worker while it runs a chunk; True if the chunk was still running.

    Only chunks delivered fewer than max_deliveries times are hit, so that the test's own
    kills never make a chunk look like a poison chunk.
    """
    def running_here() -> str | None:
        if stack.is_final(job_id):
            return "finished"
        mine = in_flight(worker)
        hit = [c for c, n in stack.running_chunks(job_id).items() if c in mine
               and n < max_deliveries]
        return hit[0] if hit else None

    chunk_id = wait_for(running_here, timeout=timeout, interval=0.05,
                        what=f"{worker.name} to run a chunk")
    if chunk_id == "finished":
        return False
    time.sleep(random.uniform(0, 0.1))  # somewhere inside the chunk, not always at its start
    worker.kill()
    return chunk_id in stack.running_chunks(job_id)


def redelivered_chunks(stack: FaultStack, job_id: str) -> int:
    with stack.session() as session:
        return session.scalar(select(func.count()).where(Chunk.job_id == job_id,
                                                         Chunk.deliveries > 1))


def test_ten_sigkills_during_a_200_image_job(fault_stack):
    stack = fault_stack(max_deliveries=3, chunk_size=5)  # 40 chunks: room for ten kills
    job_id = stack.submit(200)
    kills, attempts = 0, 0
    while kills < 10 and attempts < 20:
        attempts += 1
        worker = stack.start_worker(f"k{attempts}")
        kills += kill_mid_chunk(stack, worker, job_id, max_deliveries=3)
        assert not stack.is_final(job_id), "the job finished before ten kills landed"
    assert kills == 10, f"only {kills} of {attempts} kills landed mid-chunk"
    print(f"{attempts} workers killed, {stack.progress(job_id)} of 200 images done by then")
    stack.start_worker("survivor")

    audit = stack.wait_final(job_id, timeout=180)

    assert audit.problems == []
    assert (audit.status, audit.done, audit.failed) == ("succeeded", 200, 0), audit.errors


def test_a_worker_killed_for_good_leaves_its_chunk_to_the_other(fault_stack):
    stack = fault_stack()
    doomed = stack.start_worker("doomed", wait=False)
    other = stack.start_worker("other", wait=False)
    wait_for_worker_pid(stack, doomed)
    wait_for_worker_pid(stack, other)
    job_id = stack.submit(120, seed=1000)

    assert kill_mid_chunk(stack, doomed, job_id, max_deliveries=3)
    audit = stack.wait_final(job_id)

    assert audit.problems == []
    assert (audit.status, audit.done) == ("succeeded", 120)
    assert redelivered_chunks(stack, job_id) >= 1  # the doomed one's chunk ran on the other


def test_a_pool_child_killed_mid_chunk_is_replaced_and_its_chunk_requeued(fault_stack):
    stack = fault_stack()
    worker = stack.start_worker("parent")
    job_id = stack.submit(80, seed=5000)

    def child_running_a_chunk() -> int | None:
        running = [c for c in stack.running_chunks(job_id) if c in in_flight(worker)]
        return worker.pool_pids()[0] if running else None

    child = wait_for(child_running_a_chunk, timeout=60, interval=0.05, what="a running chunk")
    os.kill(child, signal.SIGKILL)  # the pool process only: the parent sees WorkerLostError
    audit = stack.wait_final(job_id)

    assert audit.problems == [] and (audit.status, audit.done) == ("succeeded", 80)
    assert worker.proc.poll() is None and child not in worker.pool_pids()
    assert "WorkerLostError" in worker.log()
    assert redelivered_chunks(stack, job_id) >= 1  # reject_on_worker_lost requeued it
