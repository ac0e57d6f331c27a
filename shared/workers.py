"""Which workers are alive and what they serve: heartbeat keys in Redis with a short TTL."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import redis

PREFIX = "twinlens:worker:"
TTL_SECONDS = 20


def announce(client: redis.Redis, worker_id: str, info: dict[str, Any]) -> None:
    """Refresh this worker's heartbeat; it disappears TTL_SECONDS after the worker does."""
    client.set(PREFIX + worker_id, json.dumps(info), ex=TTL_SECONDS)


def live_workers(client: redis.Redis) -> list[dict[str, Any]]:
    keys = list(client.scan_iter(match=PREFIX + "*", count=500))
    values = client.mget(keys) if keys else []
    return [json.loads(v) for v in values if v]


def workers_per_model(client: redis.Redis) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for info in live_workers(client):
        counts.update(info.get("models", []))
    return dict(counts)
