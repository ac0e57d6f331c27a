"""Engine fixtures: real photos encoded on the fly, and random-weight models built once."""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator

import numpy as np
import pytest
from PIL import Image

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SEED = 1234


@pytest.fixture(scope="session")
def photos() -> dict[str, np.ndarray]:
    """Photos that ship inside scikit-image (no download), as uint8 RGB arrays."""
    from skimage import data

    return {
        "astronaut": data.astronaut(),  # 512x512
        "chelsea": data.chelsea(),  # 451x300
        "coffee": data.coffee(),  # 600x400
        "rocket": data.rocket(),  # 640x427
        "camera": np.stack([data.camera()] * 3, axis=-1),  # grey 512x512
        "hubble": data.hubble_deep_field(),  # 1000x872
    }


@pytest.fixture(scope="session")
def encode() -> Callable[..., bytes]:
    """encode(array_or_image, "JPEG", **save_options) -> bytes."""

    def _encode(pixels: np.ndarray | Image.Image, fmt: str, **options: object) -> bytes:
        img = pixels if isinstance(pixels, Image.Image) else Image.fromarray(pixels)
        buffer = io.BytesIO()
        img.save(buffer, fmt, **options)
        return buffer.getvalue()

    return _encode


@pytest.fixture(scope="session")
def jpegs(photos: dict[str, np.ndarray], encode: Callable[..., bytes]) -> list[tuple[str, bytes]]:
    """(key, bytes) items for the engine: one JPEG per photo."""
    return [(name, encode(pixels, "JPEG", quality=90)) for name, pixels in photos.items()]


@pytest.fixture(scope="session")
def engine() -> Iterator[object]:
    """Both models with seeded random weights, float32, fast preprocessing: built once."""
    from worker.engine import Engine, EngineConfig

    built = Engine(EngineConfig(weights="random", seed=SEED, decode_threads=2))
    built.load()
    yield built
    built.close()


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> list[tuple]:
    """No network at all: every connection attempt fails at once, and is recorded."""
    import socket

    attempts: list[tuple] = []

    def refuse(address: tuple, *args: object, **kwargs: object) -> None:
        attempts.append(address)
        raise OSError("network disabled in tests")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: refuse(a[:2]))
    return attempts
