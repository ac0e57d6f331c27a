"""Job and image states, and the only transitions allowed between them."""

from __future__ import annotations

from enum import StrEnum


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    COMPLETED_WITH_ERRORS = "completed_with_errors"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_final(self) -> bool:
        return self in FINAL_JOB_STATES


FINAL_JOB_STATES = frozenset(
    {JobStatus.SUCCEEDED, JobStatus.COMPLETED_WITH_ERRORS, JobStatus.FAILED, JobStatus.CANCELLED}
)
ACTIVE_JOB_STATES = frozenset({JobStatus.QUEUED, JobStatus.RUNNING})


class ImageStatus(StrEnum):
    QUEUED = "queued"
    DONE = "done"  # every model asked for has a prediction set
    FAILED = "failed"  # with a reason in Image.error
    CANCELLED = "cancelled"


class ChunkStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    SPLIT = "split"  # crashed its worker too often; its images went on as one-image chunks
    FAILED = "failed"
    CANCELLED = "cancelled"


ACTIVE_CHUNK_STATES = frozenset({ChunkStatus.QUEUED, ChunkStatus.RUNNING})


def final_job_status(*, images: int, done: int, failed: int) -> JobStatus:
    """The state a job ends in once no image is pending."""
    if images == 0 or failed == images:
        return JobStatus.FAILED
    if failed:
        return JobStatus.COMPLETED_WITH_ERRORS
    return JobStatus.SUCCEEDED
