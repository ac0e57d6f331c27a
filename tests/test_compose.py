"""docker-compose.yml is valid and wired as the production path needs."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]


def compose_config(env: dict[str, str]) -> subprocess.CompletedProcess:
    tool = shutil.which("docker-compose")
    if tool is None:
        pytest.skip("docker-compose is not installed (apt-get install docker-compose)")
    return subprocess.run([tool, "config"], cwd=REPO, capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=60)


def test_compose_validates_with_secrets_set():
    result = compose_config({"TWINLENS_SECRET_KEY": "s" * 40, "POSTGRES_PASSWORD": "p" * 20})
    assert result.returncode == 0, result.stderr
    config = yaml.safe_load(result.stdout)
    services = config["services"]
    assert {"redis", "postgres", "migrate", "web", "worker-gpu0"} <= set(services)
    assert "--appendonly" in services["redis"]["command"]
    for name, service in services.items():
        if name != "migrate":
            assert "healthcheck" in service, f"{name} has no healthcheck"
    gpu = services["worker-gpu0"]
    assert gpu["environment"]["CUDA_VISIBLE_DEVICES"] == "0"
    assert gpu["deploy"]["resources"]["reservations"]["devices"][0]["capabilities"] == ["gpu"]
    assert gpu["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_compose_refuses_to_start_without_secrets():
    env = {k: "" for k in ("TWINLENS_SECRET_KEY", "POSTGRES_PASSWORD")}
    result = compose_config(env)
    assert result.returncode != 0
    assert "TWINLENS_SECRET_KEY" in result.stderr or "POSTGRES_PASSWORD" in result.stderr
