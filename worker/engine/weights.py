"""Where each model's weights come from, and the description stored with every prediction.

A weights spec (TWINLENS_WEIGHTS, one per process) is one of:

* ``imagenet``: the official file from ``$KERAS_HOME/models`` (Keras's cache, hash checked),
  downloaded there by Keras if missing. Offline with no cached file: WeightsUnavailable.
* a path: a weights file, or a directory holding the official files under their official names
  (``twinlens fetch-weights DIR`` makes one; a volume on GPU hosts). Not hash checked: it may
  hold fine-tuned weights. Described as ``file:/abs/path``.
* ``random``: seeded weights, identical across runs and machines, described as
  ``random(seed=N)``. For offline development only: the labels mean nothing.
* ``auto``: ``imagenet`` for each model whose file is cached or downloadable, else ``random``
  with a loud warning (``make run`` on a machine without internet).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import math
import os
import socket
import threading
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np

from worker.engine.registry import ModelSpec

log = logging.getLogger("twinlens.worker")

IMAGENET, RANDOM, AUTO = "imagenet", "random", "auto"
DOWNLOAD_TIMEOUT_S = 30.0  # per socket operation: a stalled download fails, a slow one goes on
PROBE_TIMEOUT_S = 5.0  # DNS and connect, before any download is attempted
TARGET_LOGIT_STD = 3.0  # random weights: softmax neither uniform nor one-hot
FIX = (
    "To fix it: run `twinlens fetch-weights DIR` on a machine with internet, copy DIR here and "
    "set TWINLENS_WEIGHTS=DIR (or --weights DIR); or set TWINLENS_WEIGHTS=random for offline "
    "development (predictions are then meaningless)."
)


class WeightsUnavailable(RuntimeError):
    """The configured weights cannot be had; the message names every model and the fixes."""


@dataclass(frozen=True)
class WeightsSource:
    """Resolved weights of one model: a file to load, or None for seeded random weights."""

    description: str
    path: Path | None = None
    seed: int | None = None


def is_random(description: str) -> bool:
    """Whether a stored weights description means random weights (predictions meaningless)."""
    return description.startswith(RANDOM)


def random_source(seed: int) -> WeightsSource:
    return WeightsSource(f"{RANDOM}(seed={seed})", None, seed)


def resolve(spec: str, models: Sequence[ModelSpec], seed: int) -> dict[str, WeightsSource]:
    """One source per model, checked before any model is built; one WeightsUnavailable if not."""
    kind = spec.strip()
    if not kind:
        raise WeightsUnavailable(f"the weights setting is empty.\n{FIX}")
    if kind.lower() == RANDOM:
        return {m.name: random_source(seed) for m in models}
    if kind.lower() in (IMAGENET, AUTO):
        return _imagenet_or_random(models, seed, fallback=kind.lower() == AUTO)
    return _local(Path(kind).expanduser(), models)


def preflight(spec: str, models: Sequence[ModelSpec]) -> None:
    """What resolve would refuse, found without Keras or a download: the worker's parent
    process calls it so that a worker without its weights exits instead of idling."""
    kind = spec.strip().lower()
    if kind in (RANDOM, AUTO):
        return
    if kind == IMAGENET:
        probe = functools.cache(_connect_error)
        problems = [
            f"{m.display_name}: {m.weights_file} is not in {keras_models_dir()} and "
            f"{m.weights_url} is unreachable ({reason})."
            for m in models
            if not (keras_models_dir() / m.weights_file).exists()
            and (reason := probe(_address(m.weights_url)))
        ]
        if problems:
            raise WeightsUnavailable("\n".join(problems) + "\n" + FIX)
        return
    resolve(spec, models, seed=0)  # a path: checking it needs no Keras


def keras_models_dir() -> Path:
    """$KERAS_HOME/models as keras.utils.get_file resolves it, read now (Keras reads it once)."""
    base = Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras").expanduser()
    with contextlib.suppress(OSError):
        base.mkdir(parents=True, exist_ok=True)
    if not os.access(base, os.W_OK):  # Keras's own fallback for a read-only home
        base = Path("/tmp/.keras")
    return base / "models"


def fetch(models: Sequence[ModelSpec], directory: Path) -> list[Path]:
    """Download the official files into directory, hash checked (`twinlens fetch-weights`)."""
    directory.mkdir(parents=True, exist_ok=True)
    paths, problems = [], []
    for spec in models:
        try:
            paths.append(_download(spec, directory))
        except WeightsUnavailable as exc:
            problems.append(str(exc))
    if problems:
        raise WeightsUnavailable("\n".join(problems))
    return paths


def _imagenet_or_random(models: Sequence[ModelSpec], seed: int,
                        fallback: bool) -> dict[str, WeightsSource]:
    sources, problems = {}, []
    probe = functools.cache(_connect_error)  # the network is probed once per host
    for spec in models:
        try:
            sources[spec.name] = WeightsSource(IMAGENET, _download(spec, keras_models_dir(), probe))
        except WeightsUnavailable as exc:
            if not fallback:
                problems.append(str(exc))
                continue
            log.warning("!!! %s: ImageNet weights unavailable (%s); using RANDOM weights "
                        "(seed=%d): its predictions are meaningless !!!", spec.display_name, exc,
                        seed)
            sources[spec.name] = random_source(seed)
    if problems:
        raise WeightsUnavailable("\n".join(problems) + "\n" + FIX)
    return sources


def _download(spec: ModelSpec, directory: Path,
              probe: Callable[[tuple[str, int]], str | None] | None = None) -> Path:
    """The official file in directory, downloaded by Keras (hash checked) if it is not there."""
    target = directory / spec.weights_file
    if not target.exists() and (reason := (probe or _connect_error)(_address(spec.weights_url))):
        raise WeightsUnavailable(f"{spec.display_name}: {spec.weights_file} is not in "
                                 f"{directory} and {spec.weights_url} is unreachable ({reason}).")
    from keras.utils import get_file

    try:
        with _socket_timeout(DOWNLOAD_TIMEOUT_S):
            return Path(get_file(spec.weights_file, spec.weights_url,
                                 cache_dir=str(directory.parent), cache_subdir=str(directory),
                                 file_hash=spec.weights_hash))
    except Exception as exc:  # Keras wraps URL errors in Exception; a bad hash is a ValueError
        raise WeightsUnavailable(f"{spec.display_name}: could not get {spec.weights_url} into "
                                 f"{directory}: {exc}") from exc


def _address(url: str) -> tuple[str, int]:
    """Host and port a download of url connects to first: the HTTPS proxy if there is one."""
    parts = urlsplit(urllib.request.getproxies().get("https") or url)
    return parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)


def _connect_error(address: tuple[str, int]) -> str | None:
    """Why address cannot be connected to, or None if it can; never blocks past the timeout.

    Runs in a daemon thread because DNS lookups ignore socket timeouts.
    """
    outcome: list[str | None] = []

    def connect() -> None:
        try:
            socket.create_connection(address, timeout=PROBE_TIMEOUT_S).close()
            outcome.append(None)
        except OSError as exc:
            outcome.append(f"{address[0]}: {exc}")

    thread = threading.Thread(target=connect, daemon=True, name="weights-probe")
    thread.start()
    thread.join(PROBE_TIMEOUT_S + 1)
    return outcome[0] if outcome else f"no answer from {address[0]} in {PROBE_TIMEOUT_S:.0f}s"


@contextlib.contextmanager
def _socket_timeout(seconds: float) -> Iterator[None]:
    """Keras's download opens its socket without a timeout; give it one, then restore."""
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(previous)


def _local(path: Path, models: Sequence[ModelSpec]) -> dict[str, WeightsSource]:
    """Official-named files in a directory, or one file (for one model, or by its name)."""
    path = path.resolve()
    if path.is_dir():
        found = {m.name: path / m.weights_file for m in models}
    elif path.is_file():
        found = {m.name: path for m in models if len(models) == 1 or m.weights_file == path.name}
    else:
        raise WeightsUnavailable(f"weights {str(path)!r}: no such file or directory (expected "
                                 f"imagenet, random, auto, a weights file or a directory of the "
                                 f"official files).\n{FIX}")
    missing = [f"{m.display_name}: {found.get(m.name, path / m.weights_file)} not found"
               for m in models if m.name not in found or not found[m.name].is_file()]
    if missing:
        raise WeightsUnavailable("\n".join(missing) + "\n" + FIX)
    return {name: WeightsSource(f"file:{file}", file) for name, file in found.items()}


def load(model: Any, spec: ModelSpec, source: WeightsSource) -> None:
    """Put source's weights into a freshly built model."""
    if source.path is None:
        randomize(model, spec, source.seed if source.seed is not None else 0)
        return
    try:
        model.load_weights(str(source.path))
    except Exception as exc:  # wrong architecture, not HDF5, truncated copy...
        raise WeightsUnavailable(f"{spec.display_name}: cannot load {source.path}: {exc}") \
            from exc


def randomize(model: Any, spec: ModelSpec, seed: int) -> None:
    """Seeded weights from numpy alone, so they are the same on every machine and run.

    Every variable gets its own generator, seeded by (seed, sha256 of its path), never by
    TensorFlow's initializers or Python's hash(). Hidden kernels are He-normal, biases and
    BatchNorm beta/mean 0, gamma/variance 1. The classifier kernel is scaled (by a power of
    two, so float round-off cannot change it) to give logits a std of about 3 on a fixed smooth
    image: the softmax is then neither uniform nor one-hot and top-5 scores are well apart.
    """
    head = model.layers[-1].kernel
    for var in model.weights:
        if var.path != head.path:
            var.assign(_initial_value(var.path, tuple(var.shape), seed))
    head.assign(_normal(head.path, tuple(head.shape), seed) * _head_scale(model, spec, seed))


def _initial_value(path: str, shape: tuple[int, ...], seed: int) -> np.ndarray:
    leaf = path.rsplit("/", 1)[-1]
    if leaf == "kernel":
        fan_in = math.prod(shape[:-1])
        return _normal(path, shape, seed) * np.float32(math.sqrt(2.0 / fan_in))
    if leaf in ("gamma", "moving_variance"):
        return np.ones(shape, np.float32)
    return np.zeros(shape, np.float32)  # bias, beta, moving_mean


def _normal(path: str, shape: tuple[int, ...], seed: int) -> np.ndarray:
    digest = hashlib.sha256(path.encode()).digest()
    rng = np.random.default_rng([seed, int.from_bytes(digest[:8], "little")])
    return rng.standard_normal(shape, dtype=np.float32)


def _head_scale(model: Any, spec: ModelSpec, seed: int) -> np.float32:
    """Power-of-two std for the classifier so logits have about TARGET_LOGIT_STD."""
    import keras

    features = keras.Model(model.input, model.layers[-2].output)
    inputs = spec.preprocess_input(_calibration_images(seed))
    norms = np.linalg.norm(np.asarray(features(inputs, training=False), np.float32), axis=1)
    # logit_j = w_j . h with w_j ~ N(0, s^2): std over classes is s * |h|
    return np.float32(2.0 ** round(math.log2(TARGET_LOGIT_STD / float(np.median(norms)))))


def _calibration_images(seed: int, count: int = 4) -> np.ndarray:
    """Smooth, photo-like images (8x8 random blocks, upsampled, plus grain), fixed by seed."""
    rng = np.random.default_rng([seed, 224])
    blocks = rng.uniform(0, 255, (count, 8, 8, 3))
    images = np.repeat(np.repeat(blocks, 28, axis=1), 28, axis=2)
    return np.clip(images + rng.normal(0, 8, images.shape), 0, 255).astype(np.float32)


def save_h5(model: Any, path: Path) -> None:
    """Write model's weights in the legacy HDF5 layout of the official files (same loader).

    Keras 3's save_weights only writes its new ``.weights.h5`` layout, so this uses the legacy
    writer, which ``model.load_weights("*.h5")`` reads back exactly as it reads Keras's files.
    """
    import h5py
    from keras.src.legacy.saving import legacy_h5_format

    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, model)
