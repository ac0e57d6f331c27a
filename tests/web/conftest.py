"""The web app on a real SQLite file and the real Redis, without a worker."""

from __future__ import annotations

import pytest

from tests.support.web_app import app_builder

REDIS_DB = 13


@pytest.fixture
def make_app(tmp_path):
    """Build an app with settings overrides; its queues live in a Redis DB of its own."""
    yield from app_builder(tmp_path, REDIS_DB)


@pytest.fixture
def client(make_app):
    return make_app().test_client()
