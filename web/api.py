"""JSON API v1: create, poll, read, list and cancel jobs."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from flask import Blueprint, Response, jsonify, request, stream_with_context, url_for

from shared import jobs as job_data
from shared.models import Job
from shared.results import iter_results, results_page
from shared.states import JobStatus
from shared.workers import live_workers
from web import services
from web.errors import ApiError
from web.security import current_owner
from web.serializers import job_dict
from web.submission import submit_job

bp = Blueprint("api", __name__, url_prefix="/api/v1")
POLL_AFTER_SECONDS = "2"


def _live_weights() -> dict[str, str]:
    """What the running workers would use, for jobs that have no prediction yet."""
    try:
        workers = live_workers(services().redis)
    except Exception:  # the broker being down must not break reads
        return {}
    return {model: w for info in workers for model, w in info.get("weights", {}).items()}


def _job_or_404(session, job_id: str) -> Job:
    job = job_data.get_job(session, job_id, owner=current_owner())
    if job is None:
        raise ApiError(404, "not_found", f"no job {job_id!r}")
    return job


def _job_response(session, job: Job, status: int = 200) -> Response:
    response = jsonify(job_dict(session, job, live_weights=_live_weights()))
    response.status_code = status
    if not JobStatus(job.status).is_final:
        response.headers["Retry-After"] = POLL_AFTER_SECONDS
    return response


@bp.post("/jobs")
def create_job():
    job = submit_job(request, owner=current_owner())
    with services().sessions() as session:
        response = _job_response(session, session.get(Job, job.id), status=202)
    response.headers["Location"] = url_for("api.get_job", job_id=job.id)
    return response


@bp.get("/jobs")
def list_jobs():
    limit = min(request.args.get("limit", 50, type=int) or 50, 200)
    with services().sessions() as session:
        jobs = job_data.recent_jobs(session, owner=current_owner(), limit=limit)
        live = _live_weights()
        return jsonify({"items": [job_dict(session, job, live_weights=live) for job in jobs]})


@bp.get("/jobs/<job_id>")
def get_job(job_id: str):
    with services().sessions() as session:
        return _job_response(session, _job_or_404(session, job_id))


@bp.delete("/jobs/<job_id>")
def delete_job(job_id: str):
    with services().sessions.begin() as session:
        job = _job_or_404(session, job_id)
        job_data.cancel_job(session, job)
    with services().sessions() as session:
        return _job_response(session, session.get(Job, job_id))


@bp.get("/jobs/<job_id>/results")
def get_results(job_id: str):
    if request.args.get("format") == "csv":
        return _results_csv(job_id)
    settings = services().settings
    after = request.args.get("after", -1, type=int)
    limit = max(1, min(request.args.get("limit", settings.results_page_size, type=int), 500))
    with services().sessions() as session:
        job = _job_or_404(session, job_id)
        items, has_more = results_page(session, job, after=after, limit=limit)
    next_url = None
    if has_more:
        next_url = url_for("api.get_results", job_id=job_id, after=items[-1]["image"]["ordinal"],
                           limit=limit)
    return jsonify({"job": job_id, "status": job.status, "items": items, "next": next_url})


def _results_csv(job_id: str) -> Response:
    with services().sessions() as session:
        job = _job_or_404(session, job_id)
        models, top_k = list(job.models), job.top_k

    def rows() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        header = ["ordinal", "filename", "status", "error"]
        for model in models:
            header += [f"{model}_weights"]
            for rank in range(1, top_k + 1):
                header += [f"{model}_{rank}_label", f"{model}_{rank}_wnid", f"{model}_{rank}_score"]
        writer.writerow([*header, "same_top1", "top_k_overlap"])
        with services().sessions() as session:
            job_row = session.get(Job, job_id)
            weights = {m: ", ".join(w) for m, w in job_data.job_weights(session, job_row).items()}
            for item in iter_results(session, job_row):
                writer.writerow(_csv_row(item, models, top_k, weights))
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        if buffer.getvalue():
            yield buffer.getvalue()

    return Response(
        stream_with_context(rows()),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="twinlens-{job_id}.csv"'},
    )


def _csv_row(item: dict, models: list[str], top_k: int, weights: dict[str, str]) -> list:
    image = item["image"]
    row = [image["ordinal"], image["filename"], image["status"], image["error"] or ""]
    for model in models:
        labels = item["predictions"].get(model) or []
        row.append(weights.get(model, "") if labels else "")
        for rank in range(top_k):
            if rank < len(labels):
                row += [labels[rank]["label"], labels[rank]["wnid"], f"{labels[rank]['score']:.6f}"]
            else:
                row += ["", "", ""]
    agreement = item["agreement"] or {}
    return [*row, agreement.get("top1", ""), agreement.get("overlap", "")]
