"""A system to break: a fresh PostgreSQL database, real Redis, real workers started and
killed by the test, and the Flask app in this process to submit and poll through.

Suites use the fixtures by importing them into their conftest.py.
"""

from __future__ import annotations

import contextlib
import io
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis
from flask.testing import FlaskClient
from sqlalchemy import select

from shared.db import dispose_engines, session_factory
from shared.models import Chunk, Job
from shared.settings import Settings
from shared.states import FINAL_JOB_STATES
from tests.support.databases import fresh_database, upgrade
from tests.support.images import photo
from tests.support.invariants import JobAudit, audit_job
from tests.support.stack import REDIS_URL, Worker, redis_available, wait_for

REDIS_DB = 3  # fault suites' queues, apart from every other suite's (hostile: 4)
TASK_LINE = re.compile(r"Task twinlens\.classify_chunk\[(?P<id>[\w-]+)\] (?P<event>\w+)")


def fault_settings(url: str, tmp: Path, **overrides: Any) -> Settings:
    """Small, quick chunks on ResNet50 alone: these tests are about the queue, not the models."""
    values: dict[str, Any] = dict(
        data_dir=tmp, database_url=url, broker_url=f"{REDIS_URL}/{REDIS_DB}",
        weights="random", models=["resnet50"], chunk_size=8, visibility_timeout=10,
        sweep_interval=1.0, sweep_grace=4.0, max_deliveries=3,
    )
    values.update(overrides)
    return Settings(**values)


def in_flight(worker: Worker) -> set[str]:
    """Chunk ids this worker's log shows received and not yet finished."""
    open_tasks: set[str] = set()
    for match in TASK_LINE.finditer(worker.log()):
        if match["event"] == "received":
            open_tasks.add(match["id"])
        else:
            open_tasks.discard(match["id"])
    return open_tasks


@dataclass
class RedisServer:
    """A redis-server of the test's own, keeping nothing on disk, to kill and restart."""

    port: int
    log_path: Path
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"], stdout=self.log_path.open("ab"), stderr=subprocess.STDOUT)
        client = redis.Redis(port=self.port, socket_connect_timeout=1)
        wait_for(lambda: _pings(client), timeout=20, what=f"redis on port {self.port}")
        return self

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False


def free_port(start: int) -> int:
    """The first port from start on that nothing listens on."""
    for port in range(start, start + 200):
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                return port
    raise RuntimeError(f"no free port from {start}")


@pytest.fixture
def own_redis(tmp_path) -> Iterator[RedisServer]:
    if shutil.which("redis-server") is None:
        pytest.skip("no redis-server binary")
    server = RedisServer(free_port(6391), tmp_path / "redis.log").start()
    try:
        yield server
    finally:
        server.kill()


@dataclass
class FaultStack:
    settings: Settings
    tmp: Path
    client: FlaskClient
    workers: list[Worker] = field(default_factory=list)

    @property
    def redis(self) -> redis.Redis:
        return redis.Redis.from_url(self.settings.broker_url, socket_timeout=5)

    def start_worker(self, name: str, *, wait: bool = True, **env: str) -> Worker:
        worker = Worker(self.settings, self.tmp / f"worker-{name}.log", name=name,
                        extra_env=env).start()
        self.workers.append(worker)
        if wait:
            wait_for_worker_pid(self, worker)
        return worker

    def submit(self, count: int, *, seed: int = 0, extra: list[tuple[bytes, str]] = ()) -> str:
        files = [(photo(seed + i, size=(64, 64)), f"img-{i:04d}.jpg") for i in range(count)]
        data = {"files": [(io.BytesIO(b), name) for b, name in [*files, *extra]]}
        response = self.client.post("/api/v1/jobs", data=data,
                                    content_type="multipart/form-data")
        assert response.status_code == 202, response.get_json()
        return response.get_json()["id"]

    def session(self):
        return session_factory(self.settings.resolved_database_url)()

    def is_final(self, job_id: str) -> bool:
        with self.session() as session:
            return session.get(Job, job_id).status in FINAL_JOB_STATES

    def progress(self, job_id: str) -> int:
        """Images with a prediction or an error so far."""
        with self.session() as session:
            job = session.get(Job, job_id)
            from shared.jobs import job_counts

            counts = job_counts(session, job)["counts"]
            return counts["done"] + counts["failed"]

    def running_chunks(self, job_id: str) -> dict[str, int]:
        """chunk id -> deliveries, for the chunks the database says are running now."""
        with self.session() as session:
            rows = session.execute(select(Chunk.id, Chunk.deliveries).where(
                Chunk.job_id == job_id, Chunk.status == "running")).all()
        return dict(rows)

    def wait_final(self, job_id: str, timeout: float = 150) -> JobAudit:
        try:
            wait_for(lambda: self.is_final(job_id), timeout=timeout, interval=0.5,
                     what=f"job {job_id} to finish")
        except AssertionError:
            logs = "\n".join(f"--- {w.name}\n{w.log()[-3000:]}" for w in self.workers)
            raise AssertionError(f"job {job_id} did not finish:\n{logs}") from None
        with self.session() as session:
            return audit_job(session, job_id)

    def close(self) -> None:
        for worker in self.workers:
            worker.kill()


def wait_for_worker_pid(stack: FaultStack, worker: Worker, timeout: float = 120) -> None:
    """Until this worker's pool process announces itself (its models are warm)."""
    from shared.workers import live_workers

    def warm() -> bool:
        if worker.proc.poll() is not None:
            raise AssertionError(f"worker {worker.name} exited:\n{worker.log()[-3000:]}")
        pids = set(worker.pool_pids())
        try:
            return any(info["pid"] in pids for info in live_workers(stack.redis))
        except redis.RedisError:
            return False

    wait_for(warm, timeout=timeout, interval=0.2, what=f"worker {worker.name} to be warm")


@pytest.fixture
def fault_stack(tmp_path) -> Iterator[Callable[..., FaultStack]]:
    """make(**settings overrides) -> a FaultStack on a fresh PostgreSQL database."""
    if not redis_available():
        pytest.skip(f"Redis not reachable at {REDIS_URL}")
    from web import create_app

    stacks: list[FaultStack] = []
    with fresh_database("postgresql", tmp_path) as url:
        upgrade(url)

        def make(**overrides: Any) -> FaultStack:
            settings = fault_settings(url, tmp_path, **overrides)
            redis.Redis.from_url(settings.broker_url).flushdb()
            app = create_app(settings, test_config={"TESTING": True})
            stacks.append(FaultStack(settings, tmp_path, app.test_client()))
            return stacks[-1]

        try:
            yield make
        finally:
            for stack in stacks:
                stack.close()
                with contextlib.suppress(redis.RedisError):
                    stack.redis.flushdb()
            dispose_engines()
            time.sleep(0.1)

