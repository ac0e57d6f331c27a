"""HTML pages: submit form, job page with live progress and results, jobs list."""

from __future__ import annotations

from flask import Blueprint, abort, jsonify, redirect, render_template, request, url_for

from shared import jobs as job_data
from shared.workers import live_workers
from web import services
from web.security import current_owner
from web.submission import submit_job

bp = Blueprint("pages", __name__)


def _random_weights_in_use() -> bool:
    try:
        workers = live_workers(services().redis)
    except Exception:
        return False
    return any(w.startswith("random") for info in workers for w in info["weights"].values())


@bp.app_context_processor
def _page_globals() -> dict:
    return {"random_weights": _random_weights_in_use(),
            "offered_models": services().settings.models}


@bp.get("/")
def index():
    return render_template("index.html", settings=services().settings)


@bp.post("/jobs")
def submit_form():
    """The form's submission (CSRF-checked); answers JSON to the page's script, else redirects."""
    job = submit_job(request, owner=current_owner())
    target = url_for("pages.job_page", job_id=job.id)
    if request.accept_mimetypes.best == "application/json":
        return jsonify({"id": job.id, "page": target}), 202
    return redirect(target, code=303)


@bp.get("/jobs")
def jobs_page():
    with services().sessions() as session:
        jobs = job_data.recent_jobs(session, owner=current_owner(), limit=100)
        rows = [(job, job_data.job_counts(session, job)) for job in jobs]
    return render_template("jobs.html", rows=rows)


@bp.get("/jobs/<job_id>")
def job_page(job_id: str):
    with services().sessions() as session:
        job = job_data.get_job(session, job_id, owner=current_owner())
        if job is None:
            abort(404)
    return render_template("job.html", job=job)
