"""Bounded load on loopback: pollers and submitters against gunicorn, then count what was lost.

    .venv/bin/python benchmarks/load.py [--seconds 60] [--pollers 50] [--submitters 10]

Starts its own system (gunicorn with threads, one Celery worker on ResNet50 with random
weights, Redis DB 6, a fresh PostgreSQL database, or SQLite if PostgreSQL is not there),
loads it for --seconds, stops by itself, waits for every accepted job to finish, and prints:
requests, 5xx, 429, p50/p95/p99 of status polls, images accepted and images lost (an image of
an accepted job with neither a prediction set nor a recorded error once the drain is over).
Each client has its own API key of one owner, so that keys are checked on every request.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from shared.apikeys import create_api_key  # noqa: E402
from shared.db import session_factory  # noqa: E402
from shared.settings import Settings  # noqa: E402
from tests.support.databases import fresh_database, postgres_available, upgrade  # noqa: E402
from tests.support.images import photo  # noqa: E402
from tests.support.invariants import audit_job  # noqa: E402
from tests.support.stack import (  # noqa: E402
    REDIS_URL,
    Worker,
    stack_env,
    wait_for,
    wait_for_workers,
)

REDIS_DB = 6
OWNER = "load"


@dataclass
class LoadResult:
    """What the clients saw, and what the database says afterwards."""

    seconds: float = 0.0
    poll_latencies: list[float] = field(default_factory=list)
    requests: int = 0
    server_errors: int = 0
    rate_limited: int = 0
    transport_errors: int = 0
    transport_error_kinds: dict[str, int] = field(default_factory=dict)
    accepted: dict[str, int] = field(default_factory=dict)  # job id -> images sent
    lost_images: int = 0
    unfinished_jobs: int = 0

    def percentile(self, p: float) -> float:
        ordered = sorted(self.poll_latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] if ordered else 0.0

    def failed(self, exc: Exception) -> None:
        kind = exc.__class__.__name__
        self.transport_error_kinds[kind] = self.transport_error_kinds.get(kind, 0) + 1

    def count(self, status: int | None) -> None:
        self.requests += 1
        if status is None:
            self.transport_errors += 1
        elif status >= 500:
            self.server_errors += 1
        elif status == 429:
            self.rate_limited += 1


async def _poller(client: httpx.AsyncClient, key: str, result: LoadResult, stop: float) -> None:
    while time.monotonic() < stop:
        job_id = random.choice(list(result.accepted))
        started = time.perf_counter()
        try:
            status = (await client.get(f"/api/v1/jobs/{job_id}",
                                       headers={"X-API-Key": key})).status_code
        except httpx.HTTPError as exc:
            status = None
            result.failed(exc)
        result.poll_latencies.append(time.perf_counter() - started)
        result.count(status)


async def _submitter(client: httpx.AsyncClient, key: str, result: LoadResult, stop: float,
                     images: Iterator[bytes], per_job: int, interval: float) -> None:
    while time.monotonic() < stop:
        files = [("files", (f"{i}.jpg", io.BytesIO(next(images)), "image/jpeg"))
                 for i in range(per_job)]
        try:
            response = await client.post("/api/v1/jobs", files=files, data={"models": "resnet50"},
                                         headers={"X-API-Key": key})
            status = response.status_code
            if status == 202:
                result.accepted[response.json()["id"]] = per_job
        except httpx.HTTPError as exc:
            status = None
            result.failed(exc)
        result.count(status)
        await asyncio.sleep(interval)


async def _load(base_url: str, keys: list[str], args: argparse.Namespace) -> LoadResult:
    result = LoadResult()
    images = (photo(seed, size=(64, 64)) for seed in range(10**9))
    limits = httpx.Limits(max_connections=args.pollers + args.submitters + 5)
    async with httpx.AsyncClient(base_url=base_url, timeout=30, limits=limits) as client:
        first = await client.post("/api/v1/jobs", headers={"X-API-Key": keys[0]},
                                  files=[("files", ("0.jpg", next(images), "image/jpeg"))],
                                  data={"models": "resnet50"})
        result.accepted[first.json()["id"]] = 1
        started = time.monotonic()
        stop = started + args.seconds
        tasks = [_poller(client, keys[i], result, stop) for i in range(args.pollers)]
        tasks += [_submitter(client, keys[args.pollers + i], result, stop, images,
                             args.images_per_job, args.submit_interval)
                  for i in range(args.submitters)]
        await asyncio.gather(*tasks)
        result.seconds = time.monotonic() - started
    return result


def drain_and_count_losses(settings: Settings, result: LoadResult, timeout: float) -> None:
    """Wait for every accepted job to end, then count images with no outcome."""
    Session = session_factory(settings.resolved_database_url)

    def audits() -> dict:
        with Session() as session:
            return {job_id: audit_job(session, job_id) for job_id in result.accepted}

    with contextlib.suppress(AssertionError):  # what is unfinished is counted below
        wait_for(lambda: all(not a.problems for a in audits().values()), timeout=timeout,
                 interval=2, what="every accepted job to finish")
    for job_id, audit in audits().items():
        result.unfinished_jobs += bool(audit.problems)
        result.lost_images += result.accepted[job_id] - (audit.done + audit.failed)


@contextmanager
def running_system(tmp: Path, workers: int) -> Iterator[tuple[str, Settings, list[str]]]:
    """A fresh database, gunicorn and a worker; yields (base URL, settings, API keys)."""
    import redis

    with ExitStack() as stack:
        backend = "postgresql" if postgres_available() else "sqlite"
        url = stack.enter_context(fresh_database(backend, tmp))
        upgrade(url)
        settings = Settings(data_dir=tmp, database_url=url, broker_url=f"{REDIS_URL}/{REDIS_DB}",
                            weights="random", models=["resnet50"], sweep_interval=2.0,
                            sweep_grace=10.0)
        redis.Redis.from_url(settings.broker_url).flushdb()
        stack.callback(lambda: redis.Redis.from_url(settings.broker_url).flushdb())
        with session_factory(url).begin() as session:
            keys = [create_api_key(session, owner=OWNER) for _ in range(200)]
        worker = Worker(settings, tmp / "worker.log").start()
        stack.callback(worker.stop)
        port = 8790
        env = stack_env(settings, TWINLENS_RATE_LIMIT="1000000 per minute",
                        TWINLENS_REQUIRE_API_KEY="true")
        web = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-b", f"127.0.0.1:{port}", "-w", str(workers),
             "-k", "gthread", "--threads", "8",
             # Outlive the client's idle connections (httpx: 5 s), else gunicorn closes one
             # (2 s by default) just as the client sends on it: a ReadError, not a response.
             "--keep-alive", "10", "web:create_app()"],
            cwd=REPO, env=env, stdout=(tmp / "web.log").open("wb"), stderr=subprocess.STDOUT,
            start_new_session=True)
        stack.callback(lambda: os.killpg(web.pid, signal.SIGTERM))
        wait_for_workers(redis.Redis.from_url(settings.broker_url), ["resnet50"], worker=worker)
        base = f"http://127.0.0.1:{port}"
        wait_for(lambda: _answers(base), timeout=60, what="gunicorn")
        yield base, settings, keys


def _answers(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=2).is_success
    except httpx.HTTPError:
        return False


def run(args: argparse.Namespace, tmp: Path) -> LoadResult:
    with running_system(tmp, args.web_workers) as (base, settings, keys):
        result = asyncio.run(_load(base, keys, args))
        drain_and_count_losses(settings, result, args.drain_timeout)
    return result


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--pollers", type=int, default=50)
    parser.add_argument("--submitters", type=int, default=10)
    parser.add_argument("--images-per-job", type=int, default=2)
    parser.add_argument("--submit-interval", type=float, default=1.0)
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--drain-timeout", type=float, default=600)
    return parser.parse_args(argv)


def report(result: LoadResult) -> str:
    images = sum(result.accepted.values())
    return "\n".join([
        f"load             : {result.requests} requests in {result.seconds:.0f}s "
        f"({result.requests / max(result.seconds, 1e-9):.0f}/s)",
        f"status polls     : {len(result.poll_latencies)}, p50 {result.percentile(50) * 1e3:.0f} ms"
        f", p95 {result.percentile(95) * 1e3:.0f} ms, p99 {result.percentile(99) * 1e3:.0f} ms",
        f"5xx              : {result.server_errors}   (429: {result.rate_limited}, "
        f"transport errors: {result.transport_errors}"
        f"{f' {result.transport_error_kinds}' if result.transport_errors else ''})",
        f"jobs accepted    : {len(result.accepted)} with {images} images",
        f"lost images      : {result.lost_images}   (unfinished jobs: {result.unfinished_jobs})",
    ])


def main() -> None:
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="twinlens-load-") as tmp:
        result = run(args, Path(tmp))
    print(report(result))
    sys.exit(1 if result.server_errors or result.lost_images else 0)


if __name__ == "__main__":
    main()
