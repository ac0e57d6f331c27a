"""Creating a job from a request: read uploads, write rows in one transaction, enqueue."""

from __future__ import annotations

from flask import Request

from shared.blobstore import LocalBlobStore
from shared.jobs import create_job
from shared.models import Job
from shared.queue import enqueue_chunks
from web import services
from web.errors import ApiError
from web.uploads import UploadReader, parse_models, parse_top_k


def submit_job(request: Request, *, owner: str | None) -> Job:
    """The whole submission; nothing is visible to clients until the rows commit."""
    svc = services()
    settings = svc.settings
    models = parse_models(request.form.get("models"), settings.models)
    top_k = parse_top_k(request.form.get("top_k"), settings.top_k)
    uploads = [f for f in request.files.getlist("files") if f.filename or f.content_length]
    if not uploads:
        raise ApiError(400, "no_files", "send one or more images or zip archives in 'files'")
    reader = UploadReader(LocalBlobStore(settings.resolved_blob_dir), settings)
    for upload in uploads:
        reader.add_file(upload)
    if not reader.images:
        raise ApiError(422, "no_images", "the upload held no files (empty archives?)")
    with svc.sessions.begin() as session:
        job, chunks = create_job(session=session, images=reader.images, models=models,
                                 top_k=top_k, chunk_size=settings.chunk_size, owner=owner)
    enqueue_chunks(svc.celery, chunks)
    return job
