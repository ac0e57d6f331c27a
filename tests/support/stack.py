"""A real system under test: a Celery worker subprocess against real Redis and a real
database, and the Flask app (test client) in this process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis

from shared.settings import Settings

REPO = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("TWINLENS_TEST_REDIS_URL", "redis://127.0.0.1:6379")


def redis_available() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping())
    except redis.RedisError:
        return False


def stack_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment a worker needs to see the same system as the test's settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TWINLENS_")}
    env.update({
        "TWINLENS_DATABASE_URL": settings.resolved_database_url,
        "TWINLENS_BROKER_URL": settings.broker_url,
        "TWINLENS_BLOB_DIR": str(settings.resolved_blob_dir),
        "TWINLENS_DATA_DIR": str(settings.data_dir),
        "TWINLENS_WEIGHTS": settings.weights,
        "TWINLENS_MODELS": ",".join(settings.models),
        "TWINLENS_VISIBILITY_TIMEOUT": str(settings.visibility_timeout),
        "TWINLENS_SWEEP_INTERVAL": str(settings.sweep_interval),
        "TWINLENS_SWEEP_GRACE": str(settings.sweep_grace),
        "TWINLENS_MAX_DELIVERIES": str(settings.max_deliveries),
        "PYTHONUNBUFFERED": "1",
        "TF_CPP_MIN_LOG_LEVEL": "2",
    })
    env.update(extra)
    return env


@dataclass
class Worker:
    """One `celery worker` process (prefork, one pool process) with its log file."""

    settings: Settings
    log_path: Path
    name: str = "w1"
    pool: str = "prefork"
    extra_env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen | None = None

    def start(self) -> Worker:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "worker.celery_app", "worker",
             "--pool", self.pool, "--concurrency", "1", "--loglevel", "INFO",
             "--hostname", f"{self.name}@%h", "--without-gossip", "--without-mingle"],
            cwd=REPO, env=stack_env(self.settings, **self.extra_env), stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True,
        )
        return self

    def pool_pids(self) -> list[int]:
        """The pool processes (children) where the models run."""
        out = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True)
        return [int(pid) for pid in out.stdout.split()]

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Kill the whole worker (parent and pool), as a crashed host would."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def wait_for(predicate, *, timeout: float, interval: float = 0.25, what: str = "condition"
             ) -> Any:
    """Poll predicate until it returns something truthy, or fail after timeout seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def wait_for_workers(client: redis.Redis, models: list[str], *, count: int = 1,
                     timeout: float = 240, worker: Worker | None = None) -> None:
    from shared.workers import workers_per_model

    def ready() -> bool:
        if worker and worker.proc and worker.proc.poll() is not None:
            code = worker.proc.returncode
            raise AssertionError(f"worker exited ({code}):\n{worker.log()[-4000:]}")
        per_model = workers_per_model(client)
        return all(per_model.get(m, 0) >= count for m in models)

    wait_for(ready, timeout=timeout, what=f"{count} worker(s) serving {models}")
