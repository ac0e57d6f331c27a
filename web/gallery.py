"""What the job and image pages show, shaped for templates: cards, pager links, chart bars."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import url_for

from shared.results import ResultQuery, ResultsPage
from web.result_params import page_args

MODEL_NAMES = {"vgg16": "VGG16", "resnet50": "ResNet50"}
PAGE_SIZE = 24
FILTER_CHOICES = [("", "All images"), ("disagree", "Disagreements"), ("agree", "Agreements"),
                  ("failed", "Failed")]
BELOW_CHOICES = [("", "Any"), ("0.9", "Below 90%"), ("0.75", "Below 75%"), ("0.5", "Below 50%"),
                 ("0.25", "Below 25%"), ("0.1", "Below 10%")]
SORT_CHOICES = [("ordinal", "Upload order"), ("confidence", "Least confident first"),
                ("-confidence", "Most confident first")]


def model_name(model: str) -> str:
    return MODEL_NAMES.get(model, model)


def pretty_label(label: str) -> str:
    return label.replace("_", " ")


def percent(score: float) -> str:
    """A score as the page shows it: one decimal, and never a misleading 0.0%."""
    return "<0.1%" if 0 < score < 0.0005 else f"{100 * score:.1f}%"


@dataclass
class Card:
    """One image with each model's ranked labels, marked where the other model agrees."""

    ordinal: int
    filename: str
    status: str
    error: str | None
    thumb_url: str
    detail_url: str
    agreement: dict[str, Any] | None
    columns: list[dict[str, Any]] = field(default_factory=list)


def card(job_id: str, item: dict[str, Any], models: list[str]) -> Card:
    image = item["image"]
    top_sets = {m: {p["index"] for p in item["predictions"].get(m) or []} for m in models}
    columns = []
    for index, model in enumerate(models):
        others = set().union(*(s for m, s in top_sets.items() if m != model))
        labels = [{**p, "pct": percent(p["score"]), "text": pretty_label(p["label"]),
                   "shared": p["index"] in others}
                  for p in item["predictions"].get(model) or []]
        columns.append({"model": model, "name": model_name(model), "index": index,
                        "labels": labels})
    ordinal = image["ordinal"]
    return Card(
        ordinal=ordinal, filename=image["filename"], status=image["status"],
        error=image["error"], agreement=item["agreement"], columns=columns,
        thumb_url=url_for("pages.image_rendition", job_id=job_id, ordinal=ordinal, kind="thumb"),
        detail_url=url_for("pages.image_page", job_id=job_id, ordinal=ordinal),
    )


def pager(job_id: str, query: ResultQuery, page: ResultsPage) -> dict[str, str | None]:
    """First / previous / next links that keep the filters."""

    def link(**cursor: Any) -> str:
        return url_for("pages.job_page", job_id=job_id, **page_args(query, **cursor),
                       _anchor="results")

    return {
        "first": link() if page.prev_key is not None else None,
        "prev": link(before=page.prev_key) if page.prev_key is not None else None,
        "next": link(after=page.next_key) if page.next_key is not None else None,
    }


def histogram_bars(counts: list[int], *, width: int = 300, height: int = 110
                   ) -> list[dict[str, Any]]:
    """SVG rectangles for a histogram (attributes, not inline styles: the CSP allows those)."""
    tallest = max(counts) or 1
    slot = width / len(counts)
    bars = []
    for i, count in enumerate(counts):
        h = round(height * count / tallest, 1)
        bars.append({"x": round(i * slot + 2, 1), "y": round(height - h, 1),
                     "w": round(slot - 4, 1), "h": h, "count": count,
                     "lo": i * 10, "hi": (i + 1) * 10})
    return bars
