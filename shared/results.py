"""Reading results back: pages of images with both models' predictions side by side.

Pages are keyset pages (a WHERE on the sort key, never OFFSET), so page 200 of a
10,000-image job costs what page 1 does. Filters and sorts use the per-(image, model)
`top1_index` / `top1_score` columns and the index on (job, model, top1_score, image).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, false, func, select, tuple_
from sqlalchemy.orm import Session, aliased

from shared.agreement import agreement
from shared.models import Image, Job, Prediction
from shared.states import ImageStatus

FILTERS = ("disagree", "agree", "failed")
SORTS = ("ordinal", "confidence", "-confidence")
Key = tuple  # the sort key of one item: (ordinal,) or (top1_score, image_id)


@dataclass(frozen=True)
class ResultQuery:
    """Which images of a job to list and in which order."""

    filter: str | None = None  # one of FILTERS
    below: float | None = None  # only images whose top-1 score (of `model`) is under this
    sort: str = "ordinal"  # one of SORTS; confidence is `model`'s top-1 score
    model: str | None = None  # the model whose confidence sorts and filters; default the first

    def confidence_model(self, job: Job) -> str:
        return self.model or job.models[0]

    @property
    def by_confidence(self) -> bool:
        return self.sort != "ordinal"


@dataclass
class ResultsPage:
    items: list[dict[str, Any]]
    next_key: Key | None  # pass as `after` for the following page
    prev_key: Key | None  # pass as `before` for the page before


def image_dict(image: Image) -> dict[str, Any]:
    return {
        "id": image.id, "ordinal": image.ordinal, "filename": image.filename,
        "status": image.status, "error": image.error, "format": image.format,
        "width": image.width, "height": image.height, "sha256": image.sha256, "size": image.size,
    }


def result_item(image: Image, predictions: dict[str, list[dict[str, Any]]],
                models: list[str]) -> dict[str, Any]:
    ordered = {model: predictions.get(model, []) for model in models}
    return {"image": image_dict(image), "predictions": ordered, "agreement": agreement(ordered)}


def encode_key(key: Key) -> str:
    """A URL-safe cursor; repr() of a float reads back as exactly the same float."""
    return ":".join(repr(part) for part in key)


def decode_key(text: str, query: ResultQuery) -> Key:
    """The key a cursor stands for; ValueError if it is not one of this sort's keys."""
    parts = text.split(":")
    if query.by_confidence:
        score, image_id = parts  # ValueError when the count is wrong
        return (float(score), int(image_id))
    (ordinal,) = parts
    return (int(ordinal),)


def find_results(session: Session, job: Job, query: ResultQuery = ResultQuery(), *,
                 after: Key | None = None, before: Key | None = None,
                 limit: int = 50) -> ResultsPage:
    """One page after `after` (or before `before`) in the query's order."""
    backwards = before is not None and after is None
    stmt, sort_columns = _filtered(job, query)
    descending = (query.sort == "-confidence") != backwards
    cursor = before if backwards else after
    if cursor is not None:
        stmt = stmt.where(_beyond(sort_columns, cursor, descending))
    stmt = stmt.order_by(*(c.desc() if descending else c.asc() for c in sort_columns))
    rows = session.execute(stmt.add_columns(*sort_columns).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    if backwards:
        rows.reverse()
    items = _with_predictions(session, job, [row[0] for row in rows])
    if not rows:
        return ResultsPage(items, None, None)
    first, last = tuple(rows[0][1:]), tuple(rows[-1][1:])
    if backwards:  # we came from the page that starts at `before`
        return ResultsPage(items, last, first if more else None)
    return ResultsPage(items, last if more else None, first if after is not None else None)


def _beyond(columns: list, key: Key, descending: bool):
    """Rows strictly after key in the scan's direction (a row-value comparison)."""
    left = columns[0] if len(columns) == 1 else tuple_(*columns)
    right = key[0] if len(columns) == 1 else tuple_(*key)
    return left < right if descending else left > right


def count_results(session: Session, job: Job, query: ResultQuery = ResultQuery()) -> int:
    stmt, _ = _filtered(job, query)
    return session.scalar(stmt.with_only_columns(func.count()).order_by(None)) or 0


def results_page(session: Session, job: Job, *, after: int = -1,
                 limit: int = 50) -> tuple[list[dict[str, Any]], bool]:
    """Items with ordinal > after, in ordinal order (the API's original page)."""
    page = find_results(session, job, after=(after,), limit=limit)
    return page.items, page.next_key is not None


def iter_results(session: Session, job: Job, query: ResultQuery = ResultQuery(),
                 batch: int = 500) -> Iterator[dict[str, Any]]:
    """Every matching item, read in pages so that a 10,000-image export stays small."""
    after: Key | None = None
    while True:
        page = find_results(session, job, query, after=after, limit=batch)
        yield from page.items
        if page.next_key is None:
            return
        after = page.next_key


def _filtered(job: Job, query: ResultQuery) -> tuple[Select, list]:
    """SELECT Image ... with the query's filters, and the columns it is ordered by."""
    stmt = select(Image).where(Image.job_id == job.id)
    sort_columns: list = [Image.ordinal]
    if query.by_confidence or query.below is not None:
        score = aliased(Prediction)
        # job_id and model first, so the join walks ix_predictions_job_model_score in order
        stmt = stmt.join(score, and_(score.job_id == job.id,
                                     score.model == query.confidence_model(job),
                                     score.image_id == Image.id))
        if query.below is not None:
            stmt = stmt.where(score.top1_score < query.below)
        if query.by_confidence:
            sort_columns = [score.top1_score, score.image_id]
    if query.filter == "failed":
        stmt = stmt.where(Image.status == ImageStatus.FAILED)
    elif query.filter in ("agree", "disagree"):
        stmt = _compare_top1(stmt, job, same=query.filter == "agree")
    return stmt, sort_columns


def _compare_top1(stmt: Select, job: Job, *, same: bool) -> Select:
    if len(job.models) < 2:
        return stmt.where(false())  # one model cannot agree or disagree with itself
    first, second = aliased(Prediction), aliased(Prediction)
    stmt = stmt.join(first, and_(first.image_id == Image.id, first.model == job.models[0]))
    stmt = stmt.join(second, and_(second.image_id == Image.id, second.model == job.models[1]))
    if same:
        return stmt.where(first.top1_index == second.top1_index)
    return stmt.where(first.top1_index != second.top1_index)


def _with_predictions(session: Session, job: Job, images: list[Image]) -> list[dict[str, Any]]:
    by_image: dict[int, dict[str, list[dict[str, Any]]]] = defaultdict(dict)
    if images:
        rows = session.execute(
            select(Prediction.image_id, Prediction.model, Prediction.labels)
            .where(Prediction.image_id.in_([image.id for image in images]))
        ).all()
        for image_id, model, labels in rows:
            by_image[image_id][model] = labels
    return [result_item(image, by_image[image.id], job.models) for image in images]

