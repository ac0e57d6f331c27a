"""The side-by-side text table of results the CLI prints: one block per image, one line per rank.

    #1 photos/cat.jpg  (agree: 4/5 shared)
      1  VGG16  98.5% Persian_cat                  | ResNet50  99.1% Persian_cat
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

MODEL_NAMES = {"vgg16": "VGG16", "resnet50": "ResNet50"}
LABEL_WIDTH = 28


def _cell(model: str, labels: Sequence[dict[str, Any]], rank: int) -> str:
    name = MODEL_NAMES.get(model, model)
    if rank >= len(labels):
        return f"{name} {'-':>6} {'':<{LABEL_WIDTH}}"
    p = labels[rank]
    return f"{name} {100 * p['score']:5.1f}% {p['label']:<{LABEL_WIDTH}}"


def format_item(item: dict[str, Any], models: Sequence[str]) -> str:
    """One image: a heading with the agreement, then each rank of every model side by side."""
    image, agreement = item["image"], item["agreement"]
    head = f"#{image['ordinal'] + 1} {image['filename']}"
    if agreement:
        verdict = "agree" if agreement["top1"] else "disagree"
        head += f"  ({verdict}: {agreement['overlap']}/{agreement['of']} shared)"
    lines = [head]
    if image["error"]:
        lines.append(f"   failed: {image['error']}")
    ranked = [item["predictions"].get(model) or [] for model in models]
    for rank in range(max((len(labels) for labels in ranked), default=0)):
        cells = [_cell(model, labels, rank) for model, labels in zip(models, ranked, strict=True)]
        lines.append(f"  {rank + 1:>2}  " + " | ".join(cells).rstrip())
    return "\n".join(lines)
