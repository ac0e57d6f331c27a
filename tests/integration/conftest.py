"""The system under test, once per database backend per session: migrations, a real Celery
worker (random weights, both models) on the real Redis, and the Flask app."""

from __future__ import annotations

import io
import time
from dataclasses import dataclass
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient

from shared.settings import Settings
from tests.support.databases import fresh_database, upgrade
from tests.support.stack import REDIS_URL, Worker, redis_available, wait_for, wait_for_workers

REDIS_DB = {"sqlite": 11, "postgresql": 12}  # one Redis database per stack: no shared queues
FINAL = {"succeeded", "completed_with_errors", "failed", "cancelled"}


@dataclass
class Stack:
    backend: str
    settings: Settings
    app: Flask
    client: FlaskClient
    worker: Worker
    redis: redis.Redis

    def submit(self, files: list[tuple[bytes, str]], **form: Any) -> dict:
        data = {"files": [(io.BytesIO(content), name) for content, name in files], **form}
        response = self.client.post("/api/v1/jobs", data=data, content_type="multipart/form-data")
        assert response.status_code == 202, response.get_json()
        return response.get_json()

    def wait(self, job_id: str, timeout: float = 180) -> dict:
        def final():
            job = self.client.get(f"/api/v1/jobs/{job_id}").get_json()
            return job if job["status"] in FINAL else None

        try:
            return wait_for(final, timeout=timeout, interval=0.3, what=f"job {job_id} to finish")
        except AssertionError:
            raise AssertionError(f"job did not finish; worker log:\n{self.worker.log()[-5000:]}"
                                 ) from None

    def results(self, job_id: str) -> list[dict]:
        items, url = [], f"/api/v1/jobs/{job_id}/results?limit=100"
        while url:
            page = self.client.get(url).get_json()
            items += page["items"]
            url = page["next"]
        return items


def stack_settings(backend: str, url: str, tmp_dir, **overrides: Any) -> Settings:
    values = dict(
        data_dir=tmp_dir, database_url=url, broker_url=f"{REDIS_URL}/{REDIS_DB[backend]}",
        weights="random", models=["vgg16", "resnet50"], chunk_size=16,
        visibility_timeout=60, sweep_interval=1.0, sweep_grace=3.0,
    )
    values.update(overrides)
    return Settings(**values)


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def stack(request, tmp_path_factory) -> Stack:
    if not redis_available():
        pytest.skip(f"Redis not reachable at {REDIS_URL}")
    from web import create_app

    backend = request.param
    tmp_dir = tmp_path_factory.mktemp(f"stack-{backend}")
    with fresh_database(backend, tmp_dir) as url:
        upgrade(url)
        settings = stack_settings(backend, url, tmp_dir)
        client = redis.Redis.from_url(settings.broker_url)
        client.flushdb()
        worker = Worker(settings, tmp_dir / "worker.log").start()
        try:
            wait_for_workers(client, settings.models, worker=worker)
            app = create_app(settings, test_config={"TESTING": True})
            yield Stack(backend, settings, app, app.test_client(), worker, client)
        finally:
            worker.stop()
            client.flushdb()
            time.sleep(0.1)
