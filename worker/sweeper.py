"""Re-enqueue chunks that the database says are queued but that no Redis queue holds.

That happens after a broker restart without persistence, or a crash between the web's commit
and its enqueue. One worker sweeps at a time (a Redis lock); redelivery of a chunk that did
exist somewhere is harmless because predictions are upserts.
"""

from __future__ import annotations

import json
import logging
import threading
import time

import redis
from celery import Celery

from shared import chunks as work
from shared.blobstore import get_blob_store
from shared.db import session_factory
from shared.models import utcnow
from shared.queue import enqueue_chunks
from shared.settings import get_settings
from shared.states import ChunkStatus

log = logging.getLogger("twinlens.sweeper")
LOCK_KEY = "twinlens:sweeper-lock"
# A partial upload untouched this long belongs to a web process that died (a live upload
# writes every few milliseconds).
STALE_UPLOAD_SECONDS = 3600
PRIORITY_SEPARATOR = "\x06\x16"  # how kombu names a queue's priority lists in Redis


def messages_in_redis(client: redis.Redis, queues: list[str]) -> set[str]:
    """Task ids of every message waiting in a queue or delivered but not yet acknowledged."""
    keys = [q for q in queues] + [f"{q}{PRIORITY_SEPARATOR}{p}" for q in queues for p in (3, 6, 9)]
    # One MULTI/EXEC: a message that kombu moves from unacked back to its queue between two
    # separate reads would otherwise be in neither, and be sent twice.
    pipe = client.pipeline(transaction=True)
    for key in keys:
        pipe.lrange(key, 0, -1)
    pipe.hvals("unacked")
    *lists, unacked = pipe.execute()
    ids = {_task_id(json.loads(raw)) for values in lists for raw in values}
    return ids | {_task_id(json.loads(raw)[0]) for raw in unacked}


def _task_id(message: dict) -> str:
    return message.get("headers", {}).get("id") or message.get("properties", {}).get(
        "correlation_id", "")


def sweep_once(app: Celery, client: redis.Redis) -> int:
    """One pass; returns how many chunks were sent again."""
    settings = get_settings()
    Session = session_factory()
    with Session() as session:
        stale = work.stale_chunks(session, older_than_seconds=settings.sweep_grace)
        present = messages_in_redis(client, sorted({c.model for c in stale}))
        lost = [c for c in stale if c.id not in present]
        for chunk in lost:
            chunk.status, chunk.enqueued_at, chunk.started_at = ChunkStatus.QUEUED, utcnow(), None
        lost += work.repair_orphaned_jobs(session, older_than_seconds=settings.sweep_grace,
                                          chunk_size=settings.chunk_size)
        session.commit()
    if lost:
        log.warning("re-enqueueing %d chunks found in no queue", len(lost))
        enqueue_chunks(app, lost)
    return len(lost)


def start_sweeper_thread(app: Celery) -> threading.Thread:
    thread = threading.Thread(target=_loop, args=(app,), daemon=True, name="sweeper")
    thread.start()
    return thread


def _loop(app: Celery) -> None:
    settings = get_settings()
    client = redis.Redis.from_url(settings.broker_url, socket_timeout=10)
    while True:
        time.sleep(settings.sweep_interval)
        try:
            # Only one sweeper in the fleet per interval.
            if client.set(LOCK_KEY, "1", nx=True, ex=max(1, int(settings.sweep_interval * 0.9))):
                sweep_once(app, client)
                get_blob_store().remove_stale_uploads(STALE_UPLOAD_SECONDS)
        except Exception:
            log.exception("sweep failed; trying again next interval")
