"""Small real images made on the fly (no files in the repo)."""

from __future__ import annotations

import io
import zipfile

import numpy as np
from PIL import Image


def photo(seed: int = 0, size: tuple[int, int] = (320, 240), fmt: str = "JPEG") -> bytes:
    """A noisy gradient 'photo': distinct per seed, so predictions differ between images."""
    rng = np.random.default_rng(seed)
    w, h = size
    x = np.linspace(0, 1, w)[None, :, None]
    y = np.linspace(0, 1, h)[:, None, None]
    base = rng.uniform(0, 255, size=(1, 1, 3)) * x + rng.uniform(0, 255, size=(1, 1, 3)) * y
    pixels = np.clip(base + rng.normal(0, 25, size=(h, w, 3)), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, fmt)
    return buffer.getvalue()


def zip_of(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def truncated_jpeg(seed: int = 0) -> bytes:
    data = photo(seed)
    return data[: len(data) // 2]
