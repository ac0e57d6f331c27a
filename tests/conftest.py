"""Fixtures every suite may use: isolated settings on a temporary data directory."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture
def isolated_env(tmp_path, monkeypatch):
    """No TWINLENS_ variable from the caller's shell leaks in; data lives in tmp_path."""
    from shared.settings import get_settings

    for key in list(os.environ):
        if key.startswith("TWINLENS_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("TWINLENS_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()
