"""`make run` (twinlens up): the whole system comes up offline, says it runs random weights,
serves the page, and stops every process it started on SIGTERM (as on Ctrl-C)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support.stack import wait_for

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.integration


def children_of(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def test_up_serves_then_stops_everything(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TWINLENS_")}
    env.update({"TWINLENS_DATA_DIR": str(tmp_path / "var"), "TWINLENS_PORT": "8311",
                "KERAS_HOME": str(tmp_path / "keras"), "PYTHONUNBUFFERED": "1",
                # offline for the weights whatever network this runs on
                "https_proxy": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9"})
    log = tmp_path / "up.log"
    with log.open("wb") as out:
        up = subprocess.Popen([sys.executable, "-m", "shared.cli", "up", "--redis-port", "6411",
                               "--web-workers", "1"], cwd=REPO, env=env, stdout=out,
                              stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: "twinlens is ready" in log.read_text(), timeout=240,
                 what=f"twinlens up to be ready:\n{log.read_text()[-3000:]}")
        text = log.read_text()
        assert "RANDOM WEIGHTS" in text and "vgg16=random" in text
        page = httpx.get("http://127.0.0.1:8311/", timeout=10)
        assert page.status_code == 200 and "Random weights" in page.text
        ready = httpx.get("http://127.0.0.1:8311/readyz", timeout=10).json()
        assert ready["workers"] == {"vgg16": 1, "resnet50": 1}
        started = children_of(up.pid)
        assert len(started) == 3  # redis, celery, gunicorn
    finally:
        up.send_signal(signal.SIGTERM)
        up.wait(timeout=60)
    assert "twinlens stopped." in log.read_text()
    time.sleep(0.5)
    assert all(not Path(f"/proc/{pid}").exists() for pid in started)
