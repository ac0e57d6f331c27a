"""The Celery client both sides share: configuration, queue names, and enqueueing chunks.

The web sends tasks by name, so it never imports the worker (nor TensorFlow).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from celery import Celery
from kombu import Exchange, Queue

from shared.models import Chunk
from shared.settings import Settings, get_settings

CLASSIFY_TASK = "twinlens.classify_chunk"
SWEEP_TASK = "twinlens.sweep"
EXCHANGE = Exchange("twinlens", type="direct")
log = logging.getLogger(__name__)


def celery_config(settings: Settings) -> dict:
    """Lowercase Celery settings; the reliability ones are explained in ARCHITECTURE.md."""
    return {
        "broker_url": settings.broker_url,
        "broker_connection_retry_on_startup": True,
        # Unacked messages come back after this long; it must outlast the longest chunk.
        "broker_transport_options": {
            "visibility_timeout": settings.visibility_timeout,
            # kombu looks for abandoned messages every interval x throttle seconds (100 s by
            # default): look a few times per timeout, so that a message of a killed worker
            # comes back after about the timeout, not minutes later.
            "unacked_restore_interval": max(1, min(10, settings.visibility_timeout // 5)),
            "unacked_restore_throttle": 1,
            # A worker killed while holding the restore lock would block restores for 5 min.
            "unacked_mutex_expire": 60,
        },
        "task_ignore_result": True,  # the database, not a result backend, holds job state
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_soft_time_limit": settings.task_soft_time_limit,
        "task_time_limit": settings.task_time_limit,
        "task_serializer": "json",
        "accept_content": ["json"],
        # One queue per model, each with its own routing key, so that operators can point a
        # worker (a GPU) at some models only; a message goes to exactly one queue.
        "task_queues": [Queue(m, EXCHANGE, routing_key=m) for m in settings.models],
        "task_default_exchange": EXCHANGE.name,
        "task_default_queue": settings.models[0] if settings.models else "celery",
        # Building two Keras models in a fresh pool process takes longer than Celery's 4 s.
        "worker_proc_alive_timeout": 300,
        "worker_hijack_root_logger": False,
    }


def make_celery(settings: Settings | None = None) -> Celery:
    settings = settings or get_settings()
    app = Celery("twinlens")
    app.conf.update(celery_config(settings))
    return app


def enqueue_chunks(app: Celery, chunks: Iterable[Chunk]) -> int:
    """Send one message per chunk to its model's queue; returns how many went out.

    A failure here loses nothing: the chunks stay queued in the database and the sweeper
    sends them once the broker is back.
    """
    sent = 0
    try:
        with app.producer_or_acquire() as producer:
            for chunk in chunks:
                app.send_task(CLASSIFY_TASK, args=[chunk.id], task_id=chunk.id,
                              queue=chunk.model, routing_key=chunk.model, producer=producer)
                sent += 1
    except Exception:  # the broker being down must not fail the upload
        log.exception("could not enqueue chunks; the sweeper will retry")
    return sent
