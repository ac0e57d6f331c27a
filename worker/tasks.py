"""Celery tasks: classify one chunk of one job for one model."""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Callable
from typing import TypeVar

from celery import shared_task
from sqlalchemy.exc import InterfaceError, OperationalError

from shared import chunks as work
from shared.blobstore import get_blob_store
from shared.db import session_factory
from shared.imageio import ImageError
from shared.queue import CLASSIFY_TASK, enqueue_chunks
from shared.settings import get_settings
from shared.states import ChunkStatus
from worker.runtime import get_engine

log = logging.getLogger("twinlens.worker")
T = TypeVar("T")
DATABASE_DOWN = (OperationalError, InterfaceError)

# Test hook for fault injection (issue: poison images): a worker whose environment names a
# sha256 here dies with SIGSEGV when asked to classify that image, as a crashing decoder would.
CRASH_HOOK_ENV = "TWINLENS_TEST_CRASH_ON_SHA256"


@shared_task(name=CLASSIFY_TASK)
def classify_chunk(chunk_id: str) -> dict:
    """Classify the images of a chunk still waiting for its model; safe to run twice."""
    claim = with_database(lambda session: work.claim_chunk(session, chunk_id))
    if claim is None:
        return {"chunk": chunk_id, "skipped": True}
    if claim.deliveries > get_settings().max_deliveries:
        return _give_up_on(claim)
    try:
        labels, errors = _classify(claim) if claim.images else ({}, {})
    except Exception as exc:  # remembered for the give-up reason, then Celery logs it
        note = f"{exc.__class__.__name__}: {exc}"
        with_database(lambda session: work.note_chunk_error(session, claim.chunk_id, note))
        raise
    engine = get_engine()

    def record(session) -> None:
        work.record_predictions(session, claim=claim, labels=labels,
                                weights=engine.weights[claim.model], precision=engine.precision)
        work.fail_images(session, errors)
        work.finish_chunk(session, claim.chunk_id)

    with_database(record)
    _settle(claim)
    return {"chunk": chunk_id, "done": len(labels), "failed": len(errors)}


def with_database(step: Callable[..., T]) -> T:
    """Run step(session) in its own transaction, retrying while the database is unreachable.

    Retrying here, holding the message, rather than with Celery's retry: a retry is a new
    message with an ETA, which a short visibility timeout redelivers while it waits.
    """
    deadline = time.monotonic() + get_settings().db_retry_seconds
    delay = 0.5
    while True:
        try:
            with session_factory().begin() as session:
                return step(session)
        except DATABASE_DOWN as exc:
            if time.monotonic() + delay > deadline:
                raise
            log.warning("database unavailable (%s); retrying in %.1fs", exc.__class__.__name__,
                        delay)
            time.sleep(delay)
            delay = min(delay * 2, 10.0)


def _settle(claim: work.Claim) -> None:
    """Settle every image of the chunk, also those an earlier, interrupted delivery wrote."""
    final = with_database(lambda session: work.settle(
        session, job_id=claim.job_id, image_ids=claim.image_ids or [i for i, _ in claim.images]))
    if final:
        log.info("job %s finished: %s", claim.job_id, final)


def _classify(claim: work.Claim) -> tuple[dict[int, list[dict]], dict[int, str]]:
    """Read the blobs and run the engine; per-image errors come back, never raise."""
    store = get_blob_store()
    items, errors = [], {}
    for image_id, sha256 in claim.images:
        try:
            items.append((image_id, sha256, store.get(sha256)))
        except OSError as exc:
            errors[image_id] = f"blob_missing: stored bytes are gone ({exc.strerror})"
    _crash_if_poisoned(sha for _, sha, _ in items)
    results = get_engine().classify(claim.model, [(sha, data) for _, sha, data in items],
                                    top_k=claim.top_k) if items else []
    labels = {}
    for (image_id, _, _), result in zip(items, results, strict=True):
        if isinstance(result, ImageError):
            errors[image_id] = str(result)
        else:
            labels[image_id] = [label.as_dict() for label in result]
    return labels, errors


def _give_up_on(claim: work.Claim) -> dict:
    """A chunk delivered max_deliveries times without finishing: bisect it, or fail its image."""
    if len(claim.images) > 1:
        singles = with_database(lambda session: work.split_chunk(session, claim))
        enqueue_chunks(classify_chunk.app, singles)
        _settle(claim)  # images an earlier delivery finished are not in any single
        return {"chunk": claim.chunk_id, "split": len(singles)}
    cause = claim.last_error or "the worker died"
    reason = (f"worker_crashed: {claim.deliveries - 1} deliveries of this image to "
              f"{claim.model} never finished ({cause}); it was given up")

    def fail(session) -> None:
        work.fail_images(session, {image_id: reason for image_id, _ in claim.images})
        work.finish_chunk(session, claim.chunk_id, ChunkStatus.FAILED,
                          error=work.storable_text(reason, 1000))

    with_database(fail)
    _settle(claim)
    return {"chunk": claim.chunk_id, "failed": len(claim.images)}


def _crash_if_poisoned(shas) -> None:
    poison = os.environ.get(CRASH_HOOK_ENV)
    if poison and poison in set(shas):
        os.kill(os.getpid(), signal.SIGSEGV)
