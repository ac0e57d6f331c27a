"""The ImageNet class index Keras decodes with, shipped so decoding works offline."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import NamedTuple

CLASS_INDEX_FILE = "imagenet_class_index.json"


class ImageNetClass(NamedTuple):
    index: int
    wnid: str
    label: str


@lru_cache(maxsize=1)
def imagenet_classes() -> tuple[ImageNetClass, ...]:
    """All 1,000 classes in index order, from the same JSON file Keras downloads."""
    raw = json.loads(resources.files("shared").joinpath("data", CLASS_INDEX_FILE).read_text())
    return tuple(ImageNetClass(i, *raw[str(i)]) for i in range(len(raw)))
