"""JSON API v1: create, poll, read, list and cancel jobs."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request, url_for

from shared import jobs as job_data
from shared.models import Job
from shared.results import find_results
from shared.states import JobStatus
from web import exports, services
from web.errors import ApiError
from web.result_params import page_args, parse_selection
from web.security import current_owner
from web.serializers import job_dict, live_weights
from web.submission import submit_job
from web.summary_cache import cached_summary

bp = Blueprint("api", __name__, url_prefix="/api/v1")
POLL_AFTER_SECONDS = "2"



def _job_or_404(session, job_id: str) -> Job:
    job = job_data.get_job(session, job_id, owner=current_owner())
    if job is None:
        raise ApiError(404, "not_found", f"no job {job_id!r}")
    return job


def _job_response(session, job: Job, status: int = 200) -> Response:
    response = jsonify(job_dict(session, job, live_weights=live_weights()))
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
        live = live_weights()
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
    """A keyset page (filter, below, sort, model: see web.result_params), or a whole download."""
    settings = services().settings
    limit = max(1, min(request.args.get("limit", settings.results_page_size, type=int), 500))
    with services().sessions() as session:
        job = _job_or_404(session, job_id)
        selection = parse_selection(request.args, job)
        if request.args.get("format") in ("csv", "json"):
            head = job_dict(session, job, live_weights=live_weights())
            download = exports.csv_download if request.args["format"] == "csv" else \
                exports.json_download
            return download(head, selection.query)
        page = find_results(session, job, selection.query, after=selection.after,
                            before=selection.before, limit=limit)
    next_url = None
    if page.next_key is not None:
        next_url = url_for("api.get_results", job_id=job_id, limit=limit,
                           **page_args(selection.query, after=page.next_key))
    return jsonify({"job": job_id, "status": job.status, "items": page.items, "next": next_url})


@bp.get("/jobs/<job_id>/summary")
def get_summary(job_id: str):
    """Agreement rate, most frequent labels and a confidence histogram per model."""
    with services().sessions() as session:
        job = _job_or_404(session, job_id)
        body = {**cached_summary(session, job), "status": job.status,
                **{k: v for k, v in job_dict(session, job, live_weights=live_weights()).items()
                   if k in ("counts", "weights", "random_weights")}}
    return jsonify(body)
