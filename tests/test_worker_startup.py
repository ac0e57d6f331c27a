"""A worker that cannot have its weights refuses to start, with the message naming the fixes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def start_worker(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith("TWINLENS_")}
    base.update({"TWINLENS_DATA_DIR": str(tmp_path), "KERAS_HOME": str(tmp_path / "keras"),
                 "TWINLENS_BROKER_URL": "redis://127.0.0.1:6379/15", **env})
    return subprocess.run(
        [sys.executable, "-m", "celery", "-A", "worker.celery_app", "worker", "--pool",
         "prefork", "--concurrency", "1", "--without-gossip", "--without-mingle"],
        cwd=REPO, env=base, capture_output=True, text=True, timeout=120,
    )


def test_imagenet_offline_without_cached_file_exits_with_the_fixes(tmp_path):
    # A closed local port as the HTTPS proxy makes this machine offline for the download,
    # whatever network the test runs on (never fetch 600 MB in a test).
    result = start_worker(tmp_path, TWINLENS_WEIGHTS="imagenet",
                          https_proxy="http://127.0.0.1:9", HTTPS_PROXY="http://127.0.0.1:9")
    assert result.returncode == 3, result.stderr[-2000:]
    assert "twinlens fetch-weights" in result.stderr
    assert "TWINLENS_WEIGHTS=random" in result.stderr


@pytest.mark.parametrize("weights", ["/nonexistent/weights", "vgg16.h5"])
def test_missing_weights_path_exits(tmp_path, weights):
    result = start_worker(tmp_path, TWINLENS_WEIGHTS=weights)
    assert result.returncode == 3
    assert "not found" in result.stderr or "no such file" in result.stderr
