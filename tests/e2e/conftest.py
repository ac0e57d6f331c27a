"""One live system for the browser and CLI tests: a Celery worker (random weights, both models)
and gunicorn serving the web app over real HTTP, on Redis and PostgreSQL (else SQLite)."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import redis

from shared.settings import Settings
from tests.support.databases import fresh_database, postgres_available, upgrade
from tests.support.stack import (
    REDIS_URL,
    REPO,
    Worker,
    redis_available,
    stack_env,
    wait_for,
    wait_for_workers,
)

REDIS_DB = 9  # the browser and CLI suites' own queues
ARTIFACTS = REPO / "test-artifacts"


@dataclass
class LiveServer:
    url: str
    settings: Settings
    worker: Worker
    web_log: Path

    def logs(self) -> str:
        return (f"--- web ---\n{self.web_log.read_text(errors='replace')[-3000:]}\n"
                f"--- worker ---\n{self.worker.log()[-3000:]}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(settings: Settings, port: int, log_path: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "2",
         "--threads", "4", "--access-logfile", "-", "web:create_app()"],
        # One explicit key: two workers each making a development key could sign sessions
        # differently, and a browser would lose its jobs between requests.
        cwd=REPO, env=stack_env(settings, TWINLENS_SECRET_KEY=secrets.token_hex(32)),
        stdout=log_path.open("ab"),
        stderr=subprocess.STDOUT, start_new_session=True,
    )


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)


def answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture(scope="session")
def live_server(tmp_path_factory) -> LiveServer:
    if not redis_available():
        pytest.skip(f"Redis not reachable at {REDIS_URL}")
    tmp_dir = tmp_path_factory.mktemp("live")
    backend = "postgresql" if postgres_available() else "sqlite"
    with fresh_database(backend, tmp_dir) as url:
        upgrade(url)
        settings = Settings(data_dir=tmp_dir, database_url=url, weights="random",
                            broker_url=f"{REDIS_URL}/{REDIS_DB}", models=["vgg16", "resnet50"],
                            chunk_size=4, sweep_interval=5.0, sweep_grace=10.0)
        client = redis.Redis.from_url(settings.broker_url)
        client.flushdb()
        worker = Worker(settings, tmp_dir / "worker.log", name="e2e").start()
        port = free_port()
        web = start_gunicorn(settings, port, tmp_dir / "web.log")
        server = LiveServer(f"http://127.0.0.1:{port}", settings, worker, tmp_dir / "web.log")
        try:
            wait_for(lambda: answers(server.url) or web.poll() is not None, timeout=60,
                     what="gunicorn to answer")
            assert web.poll() is None, server.logs()
            wait_for_workers(client, settings.models, worker=worker)
            yield server
        finally:
            stop(web)
            worker.stop()
            client.flushdb()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
