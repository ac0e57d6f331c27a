"""The engine of this worker process, built once, and the heartbeat that advertises it."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time

import redis

from shared.settings import get_settings
from shared.workers import TTL_SECONDS, announce

log = logging.getLogger("twinlens.worker")
_engine = None
_lock = threading.Lock()


def get_engine():
    """The process's engine, built and warmed on first use."""
    global _engine
    with _lock:
        if _engine is None:
            from worker.engine import Engine, EngineConfig

            s = get_settings()
            started = time.monotonic()
            engine = Engine(EngineConfig(
                models=tuple(s.models), weights=s.weights, seed=s.random_seed,
                precision=s.precision, preprocess=s.preprocess, max_pixels=s.max_pixels,
                decode_threads=s.decode_threads,
            ))
            engine.load()
            log.info("models %s warm in %.1fs, weights %s", ",".join(s.models),
                     time.monotonic() - started, engine.weights)
            _engine = engine
    return _engine


def start() -> None:
    """Build the engine now and start announcing this worker once it is warm."""
    engine = get_engine()
    info = {
        "id": f"{socket.gethostname()}:{os.getpid()}",
        "hostname": socket.gethostname(),
        "pid": os.getpid(),
        "models": list(engine.weights),
        "weights": dict(engine.weights),
        "precision": engine.precision,
    }
    threading.Thread(target=_heartbeat, args=(info,), daemon=True, name="heartbeat").start()


def _heartbeat(info: dict) -> None:
    client = redis.Redis.from_url(get_settings().broker_url, socket_timeout=5)
    while True:
        try:
            announce(client, info["id"], info)
        except redis.RedisError:
            log.warning("heartbeat: broker unreachable")
        time.sleep(TTL_SECONDS / 4)
