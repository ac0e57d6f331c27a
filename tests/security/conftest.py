"""Access control and limits against the real Redis (DB 5) and a SQLite file, no worker."""

from __future__ import annotations

import pytest
import redis

from shared.apikeys import create_api_key
from shared.db import session_factory
from shared.settings import Settings
from tests.support.databases import upgrade
from tests.support.stack import REDIS_URL, redis_available

REDIS_DB = 5


@pytest.fixture
def make_app(tmp_path):
    """build(**settings overrides) -> a Flask app; its rate-limit counters start empty."""
    if not redis_available():
        pytest.skip(f"Redis not reachable at {REDIS_URL}")
    from web import create_app

    url = f"sqlite:///{tmp_path / 'security.db'}"
    upgrade(url)
    broker = f"{REDIS_URL}/{REDIS_DB}"
    redis.Redis.from_url(broker).flushdb()

    def build(**overrides):
        values = dict(data_dir=tmp_path, database_url=url, broker_url=broker,
                      models=["resnet50"])
        values.update(overrides)
        return create_app(Settings(**values), test_config={"TESTING": True})

    yield build
    redis.Redis.from_url(broker).flushdb()


@pytest.fixture
def new_key(tmp_path):
    """new_key(owner) -> a fresh plaintext API key stored in the test database."""
    def make(owner: str) -> str:
        with session_factory(f"sqlite:///{tmp_path / 'security.db'}").begin() as session:
            return create_api_key(session, owner=owner)

    return make
