"""The web process SIGKILLed in the middle of uploads: no half-made job, no half-written blob."""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from shared.models import Chunk, Image, Job
from tests.support.fault_stack import free_port
from tests.support.images import photo
from tests.support.stack import REPO, stack_env, wait_for

pytestmark = pytest.mark.integration


def multipart(files: list[tuple[str, bytes]]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [
        (f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
         f"Content-Type: image/jpeg\r\n\r\n").encode() + data + b"\r\n"
        for name, data in files
    ]
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), boundary


class Gunicorn:
    def __init__(self, settings, log_path: Path) -> None:
        self.settings, self.log_path, self.port = settings, log_path, free_port(8710)
        self.proc: subprocess.Popen | None = None

    def start(self) -> Gunicorn:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-b", f"127.0.0.1:{self.port}", "-w", "1",
             "--timeout", "60", "web:create_app()"],
            cwd=REPO, env=stack_env(self.settings), stdout=self.log_path.open("ab"),
            stderr=subprocess.STDOUT, start_new_session=True)
        wait_for(self._healthy, timeout=60, what="gunicorn to answer")
        return self

    def _healthy(self) -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=2).is_success
        except httpx.HTTPError:
            return False

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)


def upload_then_kill(web: Gunicorn, body: bytes, boundary: str, fraction: float) -> None:
    """Send the first fraction of the request, then SIGKILL gunicorn (master and worker)."""
    head = (f"POST /api/v1/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n"
            f"Content-Type: multipart/form-data; boundary={boundary}\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", web.port), timeout=10) as conn:
        conn.sendall(head + body[: int(len(body) * fraction)])
        time.sleep(0.3)  # let the worker read what it was sent
        web.kill()


def test_web_killed_during_uploads_leaves_no_half_job(fault_stack):
    stack = fault_stack()
    files = [(f"p{i}.jpg", photo(7000 + i, size=(320, 240))) for i in range(40)]
    body, boundary = multipart(files)
    web_log = stack.tmp / "gunicorn.log"
    for fraction in (0.05, 0.5, 0.98, 1.0):
        upload_then_kill(Gunicorn(stack.settings, web_log).start(), body, boundary, fraction)
    web = Gunicorn(stack.settings, web_log).start()
    try:
        listed = httpx.get(f"http://127.0.0.1:{web.port}/api/v1/jobs", timeout=10).json()
    finally:
        web.kill()

    with stack.session() as session:
        jobs = list(session.scalars(select(Job)))
        for job in jobs:  # a job that exists is whole: all its images and all their chunks
            images = session.scalar(select(func.count()).where(Image.job_id == job.id))
            covered = sum(len(c.image_ids) for c in session.scalars(
                select(Chunk).where(Chunk.job_id == job.id)))
            assert images == job.image_count == 40 and covered == 40
    assert len(listed["items"]) == len(jobs) <= 1  # only the fully sent upload may have won
    blobs = [p for p in stack.settings.resolved_blob_dir.rglob("*")
             if p.is_file() and not p.name.startswith(".")]
    for blob in blobs:  # content-addressed files are never half-written
        assert hashlib.sha256(blob.read_bytes()).hexdigest() == blob.name
