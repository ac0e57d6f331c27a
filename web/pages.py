"""HTML pages: submit form, jobs list, a job (progress, summary, results gallery), one image."""

from __future__ import annotations

from flask import Blueprint, abort, jsonify, redirect, render_template, request, url_for
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from shared import jobs as job_data
from shared.models import Image, Job
from shared.results import count_results, find_results
from web import gallery, services
from web.errors import ApiError
from web.result_params import parse_selection
from web.security import current_owner
from web.serializers import is_random_weights, job_dict, live_weights
from web.submission import submit_job
from web.summary_cache import cached_summary
from web.thumbnails import SIZES, thumbnail_response

bp = Blueprint("pages", __name__)



@bp.app_context_processor
def _page_globals() -> dict:
    # Pages about one job pass their own random_weights (from its predictions).
    return {"random_weights": any(is_random_weights(w) for w in live_weights().values()),
            "offered_models": services().settings.models, "model_name": gallery.model_name}


def _job_or_404(session, job_id: str) -> Job:
    job = job_data.get_job(session, job_id, owner=current_owner())
    if job is None:
        abort(404)
    return job


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
        live = live_weights()
        rows = [job_dict(session, job, live_weights=live) for job in jobs]
    return render_template("jobs.html", jobs=rows)


@bp.get("/jobs/<job_id>")
def job_page(job_id: str):
    """Progress while it runs; then the summary and the gallery (filters, keyset pages)."""
    with services().sessions() as session:
        job = _job_or_404(session, job_id)
        try:
            selection = parse_selection(request.args, job)
        except ApiError as exc:
            abort(400, exc.message)
        page = find_results(session, job, selection.query, after=selection.after,
                            before=selection.before, limit=gallery.PAGE_SIZE)
        view = job_dict(session, job, live_weights=live_weights())
        return render_template(
            "job.html", job=view, summary=cached_summary(session, job),
            random_weights=view["random_weights"], query=selection.query,
            cards=[gallery.card(job.id, item, job.models) for item in page.items],
            matching=count_results(session, job, selection.query),
            pager=gallery.pager(job.id, selection.query, page), gallery=gallery,
        )


@bp.post("/jobs/<job_id>/cancel")
def cancel_job(job_id: str):
    """The cancel button (CSRF-checked): queued work is dropped, finished work is kept."""
    with services().sessions.begin() as session:
        job_data.cancel_job(session, _job_or_404(session, job_id))
    if request.accept_mimetypes.best == "application/json":
        return jsonify({"id": job_id, "cancelled": True})
    return redirect(url_for("pages.job_page", job_id=job_id), code=303)


@bp.get("/jobs/<job_id>/images/<int:ordinal>")
def image_page(job_id: str, ordinal: int):
    """One image, larger, with both models' full top-k and its neighbours."""
    with services().sessions() as session:
        job = _job_or_404(session, job_id)
        page = find_results(session, job, after=(ordinal - 1,), limit=1)
        if not page.items or page.items[0]["image"]["ordinal"] != ordinal:
            abort(404)
        item = page.items[0]
        view = job_dict(session, job, live_weights=live_weights())
    return render_template(
        "image.html", job=view, item=item, card=gallery.card(job_id, item, job.models),
        random_weights=view["random_weights"],
        prev_ordinal=ordinal - 1 if ordinal > 0 else None,
        next_ordinal=ordinal + 1 if ordinal + 1 < job.image_count else None,
    )


@bp.get("/jobs/<job_id>/images/<int:ordinal>/<kind>.webp")
def image_rendition(job_id: str, ordinal: int, kind: str):
    """A thumbnail or preview, for those who may see the job; made once per sha256."""
    if kind not in SIZES:
        abort(404)
    with services().sessions() as session:
        _job_or_404(session, job_id)
        sha256 = session.scalar(select(Image.sha256).where(Image.job_id == job_id,
                                                             Image.ordinal == ordinal))
    if sha256 is None:
        abort(404)
    return thumbnail_response(sha256, kind)


@bp.errorhandler(400)
@bp.errorhandler(404)
def _page_error(exc: HTTPException):
    """Pages answer errors with a page (the API's handler answers JSON)."""
    return render_template("error.html", error=exc), exc.code
