"""Hostile input: the web alone on SQLite, and one job through a real worker on PostgreSQL."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import redis

from shared.settings import Settings
from tests.support.databases import upgrade
from tests.support.fault_stack import fault_stack, own_redis  # noqa: F401 (fixtures)
from tests.support.stack import REDIS_URL, redis_available

REDIS_DB = 4


@pytest.fixture
def fake_ghostscript(tmp_path, monkeypatch) -> Path:
    """A `gs` first on PATH that leaves a mark if anything ever runs it; returns the mark."""
    bin_dir, mark = tmp_path / "fake-bin", tmp_path / "ghostscript-ran"
    bin_dir.mkdir()
    (bin_dir / "gs").write_text(f"#!/bin/sh\ntouch {mark}\nexit 1\n")
    (bin_dir / "gs").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return mark


@pytest.fixture
def make_web(tmp_path):
    """build(**settings overrides) -> a test client of an app without a worker."""
    if not redis_available():
        pytest.skip(f"Redis not reachable at {REDIS_URL}")
    from web import create_app

    url = f"sqlite:///{tmp_path / 'hostile.db'}"
    upgrade(url)
    broker = f"{REDIS_URL}/{REDIS_DB}"
    redis.Redis.from_url(broker).flushdb()

    def build(**overrides):
        settings = Settings(data_dir=tmp_path, database_url=url, broker_url=broker,
                            models=["resnet50"], **overrides)
        return create_app(settings, test_config={"TESTING": True}).test_client()

    yield build
    redis.Redis.from_url(broker).flushdb()
