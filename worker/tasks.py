"""Celery tasks: classify one chunk of one job for one model."""

from __future__ import annotations

import logging
import os
import signal

from celery import shared_task
from sqlalchemy.exc import OperationalError

from shared import chunks as work
from shared.blobstore import get_blob_store
from shared.db import session_factory
from shared.imageio import ImageError
from shared.queue import CLASSIFY_TASK, enqueue_chunks
from shared.settings import get_settings
from shared.states import ChunkStatus
from worker.runtime import get_engine

log = logging.getLogger("twinlens.worker")

# Test hook for fault injection (issue: poison images): a worker whose environment names a
# sha256 here dies with SIGSEGV when asked to classify that image, as a crashing decoder would.
CRASH_HOOK_ENV = "TWINLENS_TEST_CRASH_ON_SHA256"


@shared_task(
    name=CLASSIFY_TASK,
    bind=True,
    autoretry_for=(OperationalError,),  # database restarting: try again shortly
    retry_backoff=2,
    retry_backoff_max=30,
    max_retries=8,
)
def classify_chunk(self, chunk_id: str) -> dict:
    """Classify the images of a chunk still waiting for its model; safe to run twice."""
    settings = get_settings()
    Session = session_factory()
    with Session.begin() as session:
        claim = work.claim_chunk(session, chunk_id)
    if claim is None:
        return {"chunk": chunk_id, "skipped": True}
    if claim.deliveries > settings.max_deliveries:
        return _give_up_on(claim)

    labels, errors = _classify(claim)
    with Session.begin() as session:
        work.record_predictions(session, claim=claim, labels=labels,
                                weights=get_engine().weights[claim.model],
                                precision=get_engine().precision)
        work.fail_images(session, errors)
        work.finish_chunk(session, claim.chunk_id)
    with Session.begin() as session:
        final = work.settle(session, job_id=claim.job_id, image_ids=[i for i, _ in claim.images])
    if final:
        log.info("job %s finished: %s", claim.job_id, final)
    return {"chunk": chunk_id, "done": len(labels), "failed": len(errors)}


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
                                    top_k=claim.top_k)
    labels = {}
    for (image_id, _, _), result in zip(items, results, strict=True):
        if isinstance(result, ImageError):
            errors[image_id] = str(result)
        else:
            labels[image_id] = [label.as_dict() for label in result]
    return labels, errors


def _give_up_on(claim: work.Claim) -> dict:
    """A chunk that crashed its worker max_deliveries times: bisect it, or fail its image."""
    Session = session_factory()
    if len(claim.images) > 1:
        with Session.begin() as session:
            singles = work.split_chunk(session, claim)
        enqueue_chunks(classify_chunk.app, singles)
        return {"chunk": claim.chunk_id, "split": len(singles)}
    reason = (f"worker_crashed: the worker died {claim.deliveries - 1} times while "
              f"classifying this image with {claim.model}; it was given up")
    with Session.begin() as session:
        work.fail_images(session, {image_id: reason for image_id, _ in claim.images})
        work.finish_chunk(session, claim.chunk_id, ChunkStatus.FAILED, error=reason)
    with Session.begin() as session:
        work.settle(session, job_id=claim.job_id, image_ids=[i for i, _ in claim.images])
    return {"chunk": claim.chunk_id, "failed": len(claim.images)}


def _crash_if_poisoned(shas) -> None:
    poison = os.environ.get(CRASH_HOOK_ENV)
    if poison and poison in set(shas):
        os.kill(os.getpid(), signal.SIGSEGV)
