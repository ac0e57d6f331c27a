"""Flask apps for tests without a worker: a real SQLite file and a Redis DB of the suite's own."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from flask import Flask

from shared.settings import Settings
from tests.support.databases import upgrade
from tests.support.stack import REDIS_URL, redis_available


def database_url(tmp_path: Path) -> str:
    """The SQLite file app_builder's apps share within one test."""
    return f"sqlite:///{tmp_path / 'web.db'}"


def app_builder(tmp_path: Path, redis_db: int, **defaults: Any
                ) -> Iterator[Callable[..., Flask]]:
    """Yield build(**overrides) -> app; the Redis DB (queues, rate limits) starts and ends empty."""
    if not redis_available():
        pytest.skip(f"Redis not reachable at {REDIS_URL}")
    from web import create_app

    url = database_url(tmp_path)
    upgrade(url)
    broker = f"{REDIS_URL}/{redis_db}"
    redis.Redis.from_url(broker).flushdb()

    def build(**overrides: Any) -> Flask:
        values = {"data_dir": tmp_path, "database_url": url, "broker_url": broker, **defaults}
        values.update(overrides)
        return create_app(Settings(**values), test_config={"TESTING": True})

    yield build
    redis.Redis.from_url(broker).flushdb()
