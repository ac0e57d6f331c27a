"""Probabilities to ranked ImageNet labels, exactly as keras decode_predictions ranks them."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from shared.labels import imagenet_classes


@dataclass(frozen=True, slots=True)
class Label:
    """One ranked guess: rank from 1, ImageNet class index, WordNet id, label, probability."""

    rank: int
    index: int
    wnid: str
    label: str
    score: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def top_k(probs: np.ndarray, k: int = 5) -> list[Label]:
    """The k most probable classes of one (1000,) probability vector, best first."""
    classes = imagenet_classes()
    if k < 1:  # argsort()[-0:] would silently return every class
        raise ValueError(f"top_k must be at least 1, not {k}")
    if probs.shape != (len(classes),):
        raise ValueError(f"expected {len(classes)} probabilities, got shape {probs.shape}")
    # Keras's own selection (argsort, last k, reversed, then a stable sort by score) so that
    # even tied scores come out in the same order as decode_predictions.
    indices = probs.argsort()[-k:][::-1]
    indices = sorted(indices, key=lambda i: probs[i], reverse=True)
    return [Label(rank, int(i), classes[i].wnid, classes[i].label, float(probs[i]))
            for rank, i in enumerate(indices, start=1)]


def decode(probs: np.ndarray, k: int = 5) -> list[list[Label]]:
    """Top-k labels for each row of an (N, 1000) probability batch."""
    return [top_k(row, k) for row in np.asarray(probs)]
