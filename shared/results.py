"""Reading results back: a page of images with both models' predictions side by side."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.agreement import agreement
from shared.models import Image, Job, Prediction


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


def results_page(session: Session, job: Job, *, after: int = -1,
                 limit: int = 50) -> tuple[list[dict[str, Any]], bool]:
    """Items with ordinal > after, in ordinal order (a keyset page: fast at any depth)."""
    images = list(session.scalars(
        select(Image).where(Image.job_id == job.id, Image.ordinal > after)
        .order_by(Image.ordinal).limit(limit + 1)
    ))
    has_more = len(images) > limit
    images = images[:limit]
    return _with_predictions(session, job, images), has_more


def iter_results(session: Session, job: Job, batch: int = 500) -> Iterator[dict[str, Any]]:
    """Every item of a job, read in pages so that a 10,000-image export stays small."""
    after = -1
    while True:
        items, has_more = results_page(session, job, after=after, limit=batch)
        yield from items
        if not has_more or not items:
            return
        after = items[-1]["image"]["ordinal"]


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
