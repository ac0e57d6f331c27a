"""How far two models agree on one image: same top-1, and overlap of their top-k sets."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def agreement(predictions: Mapping[str, Sequence[Mapping[str, Any]]]) -> dict[str, Any] | None:
    """Agreement of the first two models' ranked labels; None unless two models answered."""
    ranked = [labels for labels in predictions.values() if labels]
    if len(ranked) < 2:
        return None
    first, second = ranked[0], ranked[1]
    first_set = {p["index"] for p in first}
    second_set = {p["index"] for p in second}
    return {
        "top1": first[0]["index"] == second[0]["index"],
        "overlap": len(first_set & second_set),
        "of": min(len(first), len(second)),
    }
