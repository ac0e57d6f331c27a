"""The web app on a real SQLite file and the real Redis, without a worker."""

from __future__ import annotations

import pytest
import redis

from shared.settings import Settings
from tests.support.databases import upgrade
from tests.support.stack import REDIS_URL, redis_available

REDIS_DB = 13


@pytest.fixture
def make_app(tmp_path):
    """Build an app with settings overrides; its queues live in a Redis DB of its own."""
    if not redis_available():
        pytest.skip(f"Redis not reachable at {REDIS_URL}")
    from web import create_app

    url = f"sqlite:///{tmp_path / 'web.db'}"
    upgrade(url)
    redis.Redis.from_url(f"{REDIS_URL}/{REDIS_DB}").flushdb()

    def build(**overrides):
        settings = Settings(data_dir=tmp_path, database_url=url,
                            broker_url=f"{REDIS_URL}/{REDIS_DB}", **overrides)
        return create_app(settings, test_config={"TESTING": True})

    return build


@pytest.fixture
def client(make_app):
    return make_app().test_client()
