"""A job at a glance: how often the two models agree, what each sees most, how sure each is."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.labels import imagenet_classes
from shared.models import Job, Prediction

HISTOGRAM_BINS = 10  # top-1 confidence in tenths: [0, 0.1), ..., [0.9, 1.0]


def job_summary(session: Session, job: Job, *, top_labels: int = 8) -> dict[str, Any]:
    """Agreement, most frequent top-1 labels and a confidence histogram per model."""
    per_model: dict[str, dict[int, tuple[int, float, list]]] = defaultdict(dict)
    rows = session.execute(
        select(Prediction.model, Prediction.image_id, Prediction.top1_index,
               Prediction.top1_score, Prediction.labels)
        .where(Prediction.job_id == job.id)
    )
    for model, image_id, top1_index, top1_score, labels in rows:
        per_model[model][image_id] = (top1_index, top1_score, labels)
    return {
        "job": job.id,
        "models": list(job.models),
        "agreement": _agreement(job, per_model),
        "per_model": {model: _model_summary(per_model[model], top_labels)
                      for model in job.models},
    }


def _agreement(job: Job, per_model: dict[str, dict[int, tuple]]) -> dict[str, Any] | None:
    """Over images both models answered: same top-1 rate and the top-k overlap counts."""
    if len(job.models) < 2:
        return None
    first, second = per_model[job.models[0]], per_model[job.models[1]]
    both = first.keys() & second.keys()
    same = sum(first[i][0] == second[i][0] for i in both)
    overlaps = Counter(_overlap(first[i][2], second[i][2]) for i in both)
    return {
        "compared": len(both),
        "top1_same": same,
        "top1_rate": same / len(both) if both else None,
        "overlap": {str(n): overlaps.get(n, 0) for n in range(job.top_k + 1)},
        "mean_overlap": (sum(n * c for n, c in overlaps.items()) / len(both)) if both else None,
    }


def _overlap(first: list[dict], second: list[dict]) -> int:
    return len({p["index"] for p in first} & {p["index"] for p in second})


def _model_summary(rows: dict[int, tuple[int, float, list]], top_labels: int) -> dict[str, Any]:
    classes = imagenet_classes()
    scores = [score for _, score, _ in rows.values()]
    counts = Counter(index for index, _, _ in rows.values())
    histogram = [0] * HISTOGRAM_BINS
    for score in scores:
        histogram[min(int(score * HISTOGRAM_BINS), HISTOGRAM_BINS - 1)] += 1
    return {
        "predicted": len(rows),
        "mean_confidence": sum(scores) / len(scores) if scores else None,
        "top_labels": [
            {"index": index, "wnid": classes[index].wnid, "label": classes[index].label,
             "count": count}
            for index, count in counts.most_common(top_labels)
        ],
        "histogram": {"edges": [round(i / HISTOGRAM_BINS, 2) for i in range(HISTOGRAM_BINS + 1)],
                      "counts": histogram},
    }
