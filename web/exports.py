"""Downloads of a job's results, CSV or JSON, streamed a page at a time from the database.

Both say loudly when the predictions come from random weights: a `warning` column in the CSV,
`random_weights` and `warning` fields in the JSON, and "RANDOM-WEIGHTS" in the file name.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator

from flask import Response, stream_with_context

from shared import jobs as job_data
from shared.models import Job
from shared.results import ResultQuery, iter_results
from web import services
from web.serializers import is_random_weights

RANDOM_WARNING = ("random weights: these predictions come from untrained networks and mean "
                  "nothing; use ImageNet weights for real labels")


def csv_download(job: dict, query: ResultQuery) -> Response:
    """One row per image: both models' ranked labels, agreement, and a warning if random.

    `job` is the job as the API shows it (web.serializers.job_dict).
    """
    models, top_k, job_id = list(job["models"]), job["top_k"], job["id"]
    header = ["ordinal", "filename", "status", "error"]
    for model in models:
        header.append(f"{model}_weights")
        for rank in range(1, top_k + 1):
            header += [f"{model}_{rank}_label", f"{model}_{rank}_wnid", f"{model}_{rank}_score"]
    header += ["same_top1", "top_k_overlap", "warning"]

    def rows() -> Iterator[str]:
        yield _csv_line(header)
        with services().sessions() as session:
            job_row = session.get(Job, job_id)
            weights = {m: ", ".join(w) for m, w in job_data.job_weights(session, job_row).items()}
            for item in iter_results(session, job_row, query):
                yield _csv_line(_csv_row(item, models, top_k, weights))

    return _attachment(rows(), "text/csv", job, "csv")


def _csv_line(values: list) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(values)
    return buffer.getvalue()


def _csv_row(item: dict, models: list[str], top_k: int, weights: dict[str, str]) -> list:
    image = item["image"]
    row = [image["ordinal"], image["filename"], image["status"], image["error"] or ""]
    random_used = False
    for model in models:
        labels = item["predictions"].get(model) or []
        row.append(weights.get(model, "") if labels else "")
        random_used |= bool(labels) and is_random_weights(weights.get(model))
        for rank in range(top_k):
            if rank < len(labels):
                row += [labels[rank]["label"], labels[rank]["wnid"], f"{labels[rank]['score']:.6f}"]
            else:
                row += ["", "", ""]
    agreement = item["agreement"] or {}
    warning = RANDOM_WARNING if random_used else ""
    return [*row, agreement.get("top1", ""), agreement.get("overlap", ""), warning]


def json_download(job: dict, query: ResultQuery) -> Response:
    """{"job", "random_weights", "warning", "items": [...]}, written item by item."""
    job_id, random_weights = job["id"], job["random_weights"]

    def chunks() -> Iterator[str]:
        warning = RANDOM_WARNING if random_weights else None
        yield (f'{{"job": {json.dumps(job)}, "random_weights": {json.dumps(random_weights)}, '
               f'"warning": {json.dumps(warning)}, "items": [')
        with services().sessions() as session:
            for n, item in enumerate(iter_results(session, session.get(Job, job_id), query)):
                yield ("," if n else "") + json.dumps(item)
        yield "]}\n"

    return _attachment(chunks(), "application/json", job, "json")


def _attachment(body: Iterator[str], mimetype: str, job: dict, extension: str) -> Response:
    suffix = "-RANDOM-WEIGHTS" if job["random_weights"] else ""
    response = Response(stream_with_context(body), mimetype=mimetype)
    response.headers["Content-Disposition"] = (
        f'attachment; filename="twinlens-{job["id"]}{suffix}.{extension}"')
    if suffix:
        response.headers["X-Twinlens-Warning"] = RANDOM_WARNING
    return response
