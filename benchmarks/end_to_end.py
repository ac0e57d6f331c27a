"""End-to-end throughput of a 128-image job vs the engine's own batched throughput, and
status-poll latency under 50 concurrent pollers, on this machine.

    .venv/bin/python benchmarks/end_to_end.py [--images 128] [--weights random]

Runs in order so that nothing competes for the CPU: (1) the engine alone, in this process,
on the same images; (2) the real system (gunicorn, one Celery worker, Redis, SQLite) with the
job submitted over HTTP and timed from submit until every prediction row is in the database;
(3) 50 threads polling GET /api/v1/jobs/<id> for a few seconds.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.images import photo  # noqa: E402


def engine_seconds(images: list[bytes], weights: str, chunk: int) -> float:
    """Both models over the images in chunks, as a worker would, fresh decode cache."""
    from worker.engine import Engine, EngineConfig

    engine = Engine(EngineConfig(models=("vgg16", "resnet50"), weights=weights))
    engine.load()
    items = [(f"bench-{i}", data) for i, data in enumerate(images)]
    started = time.perf_counter()
    for model in ("vgg16", "resnet50"):
        for i in range(0, len(items), chunk):
            engine.classify(model, items[i : i + chunk])
    return time.perf_counter() - started


def start_system(tmp: Path, weights: str, port: int, redis_db: int) -> list[subprocess.Popen]:
    env = {**os.environ, "TWINLENS_DATA_DIR": str(tmp), "TWINLENS_WEIGHTS": weights,
           "TWINLENS_BROKER_URL": f"redis://127.0.0.1:6379/{redis_db}",
           "TF_CPP_MIN_LOG_LEVEL": "2",
           # 50 pollers from one address are the point here, not abuse
           "TWINLENS_RATE_LIMIT": "1000000 per minute"}
    bin_dir = Path(sys.executable).parent
    subprocess.run([str(bin_dir / "alembic"), "upgrade", "head"], cwd=REPO, env=env, check=True,
                   capture_output=True)
    subprocess.run(["redis-cli", "-n", str(redis_db), "flushdb"], check=True, capture_output=True)
    log = (tmp / "system.log").open("wb")
    worker = subprocess.Popen(
        [str(bin_dir / "celery"), "-A", "worker.celery_app", "worker", "-P", "prefork", "-c",
         "1", "--without-gossip", "--without-mingle", "-l", "WARNING"],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    web = subprocess.Popen(
        [str(bin_dir / "gunicorn"), "-b", f"127.0.0.1:{port}", "-w", "2", "--threads", "8",
         "web:create_app()"], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    return [web, worker]


def wait_ready(base: str, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            body = httpx.get(f"{base}/readyz", timeout=2).json()
            if all(body["workers"].get(m) for m in ("vgg16", "resnet50")):
                return
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.5)
    raise SystemExit("system did not become ready")


def run_job(base: str, images: list[bytes], database: Path) -> tuple[float, str]:
    """Seconds from the POST until every prediction row is in the database.

    The clock watches the SQLite file directly (a cheap count every 50 ms) rather than
    polling the API that fast, which would steal the CPU the worker is measured on.
    """
    files = [("files", (f"{i}.jpg", data, "image/jpeg")) for i, data in enumerate(images)]
    started = time.perf_counter()
    job = httpx.post(f"{base}/api/v1/jobs", files=files, timeout=120).json()
    expected = len(images) * len(job["models"])
    with sqlite3.connect(database) as db:
        while db.execute("SELECT count(*) FROM predictions WHERE job_id = ?",
                         (job["id"],)).fetchone()[0] < expected:
            time.sleep(0.05)
    elapsed = time.perf_counter() - started
    state = httpx.get(f"{base}/api/v1/jobs/{job['id']}", timeout=10).json()
    assert state["status"] == "succeeded", state
    return elapsed, job["id"]


def poll_latency(base: str, job_id: str, pollers: int, seconds: float) -> list[float]:
    latencies: list[float] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def poll() -> None:
        with httpx.Client(base_url=base, timeout=10) as client:
            while time.monotonic() < stop:
                t = time.perf_counter()
                response = client.get(f"/api/v1/jobs/{job_id}")
                response.raise_for_status()
                with lock:
                    latencies.append(time.perf_counter() - t)

    threads = [threading.Thread(target=poll) for _ in range(pollers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=128)
    parser.add_argument("--weights", default="random")
    parser.add_argument("--chunk", type=int, default=32)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--poll-seconds", type=float, default=10)
    parser.add_argument("--engine-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    images = [photo(i, size=(640, 480)) for i in range(args.images)]
    if args.engine_only:
        print(engine_seconds(images, args.weights, args.chunk))
        return

    engine_s = subprocess_engine(args)
    print(f"engine alone     : {args.images} images x 2 models in {engine_s:6.1f}s = "
          f"{args.images / engine_s:5.2f} images/s (both models)")
    with tempfile.TemporaryDirectory() as tmp:
        procs = start_system(Path(tmp), args.weights, args.port, redis_db=14)
        base = f"http://127.0.0.1:{args.port}"
        try:
            wait_ready(base)
            e2e_s, job_id = run_job(base, images, Path(tmp) / "twinlens.db")
            print(f"end to end       : {args.images} images x 2 models in {e2e_s:6.1f}s = "
                  f"{args.images / e2e_s:5.2f} images/s (submit -> all rows in the database)")
            print(f"ratio            : {engine_s / e2e_s:.1%} of the engine's own throughput "
                  f"(target >= 85%)")
            latencies = sorted(poll_latency(base, job_id, 50, args.poll_seconds))
            p50 = statistics.median(latencies) * 1000
            p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000
            print(f"status polls     : 50 pollers, {len(latencies)} requests in "
                  f"{args.poll_seconds:.0f}s, p50 {p50:.1f} ms, p99 {p99:.1f} ms")
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.wait(timeout=30)


def subprocess_engine(args) -> float:
    """Measure the engine in a child process, so its TensorFlow threads are gone afterwards."""
    command = [sys.executable, __file__, "--engine-only", "--images", str(args.images),
               "--weights", args.weights, "--chunk", str(args.chunk)]
    out = subprocess.run(command, capture_output=True, text=True, cwd=REPO, check=True,
                         env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    return float(out.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
