"""Hostile input: the web alone on SQLite, and one job through a real worker on PostgreSQL."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.fault_stack import fault_stack, own_redis  # noqa: F401 (fixtures)
from tests.support.web_app import app_builder

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
def make_app(tmp_path):
    yield from app_builder(tmp_path, REDIS_DB, models=["resnet50"])


@pytest.fixture
def make_web(make_app):
    """build(**settings overrides) -> a test client of an app without a worker."""
    return lambda **overrides: make_app(**overrides).test_client()
