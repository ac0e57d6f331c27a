"""Access control and limits against the real Redis (DB 5) and a SQLite file, no worker."""

from __future__ import annotations

import pytest

from shared.apikeys import create_api_key
from shared.db import session_factory
from tests.support.web_app import app_builder, database_url

REDIS_DB = 5


@pytest.fixture
def make_app(tmp_path):
    """build(**settings overrides) -> a Flask app; its rate-limit counters start empty."""
    yield from app_builder(tmp_path, REDIS_DB, models=["resnet50"])


@pytest.fixture
def new_key(tmp_path):
    """new_key(owner) -> a fresh plaintext API key stored in the test database."""
    def make(owner: str) -> str:
        with session_factory(database_url(tmp_path)).begin() as session:
            return create_api_key(session, owner=owner)

    return make
