"""The inference engine the Celery tasks and the local CLI call: bytes in, ranked labels out."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from shared.imageio import ImageError
from worker.engine import decoding, preprocessing, weights
from worker.engine.decoding import Label
from worker.engine.registry import ModelSpec, get_spec

log = logging.getLogger("twinlens.worker")

PRECISIONS = {"float32": "float32", "bfloat16": "mixed_bfloat16", "float16": "mixed_float16"}
INPUT_SHAPE = (preprocessing.SIZE[1], preprocessing.SIZE[0], 3)
Item = tuple[str, bytes]  # (cache key, e.g. the sha256; image bytes)


class PrecisionUnsupported(ValueError):
    """The requested precision cannot run on this machine (float16 without a GPU)."""


@dataclass(frozen=True)
class EngineConfig:
    """Everything an engine is built from; one per process (see shared.settings)."""

    models: tuple[str, ...] = ("vgg16", "resnet50")
    weights: str = "imagenet"
    seed: int = 1234
    precision: str = "float32"
    preprocess: str = "fast"
    max_pixels: int = 50_000_000
    decode_threads: int = 4
    max_batch: int = 32  # sub-batch size: throughput is flat above it, memory is not
    cache_size: int = 256  # decoded images kept by key (224*224*3 bytes each: ~38 MB)


class Engine:
    """Each model built once with its weights; batches run through one compiled call per model."""

    def __init__(self, config: EngineConfig) -> None:
        self.config = config
        self.specs: dict[str, ModelSpec] = {name: get_spec(name) for name in config.models}
        if config.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}")
        if config.preprocess not in preprocessing.MODES:
            raise ValueError(f"preprocess must be one of {', '.join(preprocessing.MODES)}")
        if not self.specs:
            raise ValueError("at least one model is needed")
        self.precision = config.precision
        self.weights: dict[str, str] = {}
        self._infer: dict[str, Callable[[Any], Any]] = {}
        self._models: dict[str, Any] = {}
        self._cache: OrderedDict[str, np.ndarray | ImageError] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._pool = ThreadPoolExecutor(config.decode_threads, thread_name_prefix="decode")

    def load(self) -> None:
        """Resolve weights (failing fast), build each model, load its weights, warm it up."""
        sources = weights.resolve(self.config.weights, list(self.specs.values()),
                                  self.config.seed)
        _check_precision(self.precision)
        for name, spec in self.specs.items():
            model = _build(spec, self.precision)
            weights.load(model, spec, sources[name])
            self._models[name] = model
            self._infer[name] = _compile(model)
            self.weights[name] = sources[name].description
            self._warm_up(name)

    def prepare(self, items: Sequence[Item]) -> list[np.ndarray | ImageError]:
        """Decode (in threads) to uint8 (224, 224, 3) arrays; recent keys come from a cache."""
        results: dict[str, np.ndarray | ImageError] = {}
        with self._cache_lock:
            for key, _ in items:
                if key in self._cache:
                    self._cache.move_to_end(key)
                    results[key] = self._cache[key]
        todo = {key: data for key, data in items if key not in results}
        for key, result in zip(todo, self._pool.map(self._decode, todo.values()), strict=True):
            results[key] = result
        self._remember(todo, results)
        return [results[key] for key, _ in items]

    def model_input(self, model: str, batch: np.ndarray) -> np.ndarray:
        """The float32 array the model is fed: its preprocess_input on RGB pixels 0..255."""
        return preprocessing.model_input(batch, self._spec(model).preprocess_input)

    def predict(self, model: str, batch: np.ndarray) -> np.ndarray:
        """(N, 224, 224, 3) RGB pixels 0..255 (uint8 or float) to float32 (N, 1000) probs."""
        infer = self._infer.get(model)
        if infer is None:
            raise RuntimeError(f"model {model!r} is not loaded (call load(); serving "
                               f"{', '.join(self._infer) or 'nothing'})")
        batch = np.asarray(batch)
        if batch.ndim != 4 or batch.shape[1:] != INPUT_SHAPE:
            raise ValueError(f"expected a batch of shape (N, 224, 224, 3), got {batch.shape}")
        step = self.config.max_batch
        parts = [np.asarray(infer(self.model_input(model, batch[i:i + step])))
                 for i in range(0, len(batch), step)]
        return np.concatenate(parts) if parts else np.zeros((0, 1000), np.float32)

    def classify(self, model: str, items: Sequence[Item],
                 top_k: int = 5) -> list[list[Label] | ImageError]:
        """Top-k labels per item, or its ImageError; one bad image never fails the others."""
        prepared = self.prepare(items)
        good = [i for i, p in enumerate(prepared) if isinstance(p, np.ndarray)]
        results: list[list[Label] | ImageError] = list(prepared)  # errors stay in place
        if good:
            probs = self.predict(model, np.stack([prepared[i] for i in good]))
            for i, labels in zip(good, decoding.decode(probs, top_k), strict=True):
                results[i] = labels
        return results

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _spec(self, model: str) -> ModelSpec:
        if model not in self.specs:
            raise ValueError(f"model {model!r} is not served here ({', '.join(self.specs)})")
        return self.specs[model]

    def _decode(self, data: bytes) -> np.ndarray | ImageError:
        try:
            array = preprocessing.decode(data, mode=self.config.preprocess,
                                         max_pixels=self.config.max_pixels)
        except ImageError as exc:
            return exc
        except Exception as exc:  # a decoder bug must fail one image, not the chunk
            log.exception("unexpected error decoding an image")
            return ImageError("corrupt", f"the image could not be decoded: {exc}")
        array.flags.writeable = False  # shared through the cache
        return array

    def _remember(self, keys: dict[str, bytes], results: dict[str, Any]) -> None:
        with self._cache_lock:
            for key in keys:
                self._cache[key] = results[key]
                self._cache.move_to_end(key)
            while len(self._cache) > self.config.cache_size:
                self._cache.popitem(last=False)

    def _warm_up(self, name: str) -> None:
        """Trace the compiled call and check the outputs are probabilities at this precision."""
        probs = self.predict(name, np.full((1, *INPUT_SHAPE), 128, np.uint8))
        if not np.all(np.isfinite(probs)):
            raise PrecisionUnsupported(f"{self.specs[name].display_name} gives non-finite "
                                       f"outputs at {self.precision} with weights "
                                       f"{self.weights[name]} (overflow?); use float32")


def _build(spec: ModelSpec, precision: str) -> Any:
    """The application without weights and without its softmax (applied in float32 instead)."""
    import keras

    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(PRECISIONS[precision])
    try:
        model = spec.builder(weights=None, classifier_activation=None)
    finally:
        keras.mixed_precision.set_global_policy(previous)
    # The classifier stays float32 (the mixed-precision guide's advice): its logits are not
    # rounded to 8 mantissa bits, so close top-5 scores keep their order.
    model.layers[-1].dtype_policy = "float32"
    return model


def _compile(model: Any) -> Callable[[Any], Any]:
    """One traced graph per model for any batch size: logits, then softmax in float32."""
    import tensorflow as tf

    @tf.function(input_signature=[tf.TensorSpec((None, *INPUT_SHAPE), tf.float32)])
    def infer(x: tf.Tensor) -> tf.Tensor:
        return tf.nn.softmax(tf.cast(model(x, training=False), tf.float32))

    return infer


def _check_precision(precision: str) -> None:
    """float16 needs a GPU; bfloat16 on a CPU without BF16 instructions works but crawls."""
    if precision == "float32":
        return
    import tensorflow as tf

    if tf.config.list_physical_devices("GPU"):
        return
    if precision == "float16":
        raise PrecisionUnsupported("float16 needs a GPU and none is visible; use float32, or "
                                   "bfloat16 on a CPU with AVX512-BF16 or AMX")
    if not _cpu_has_bf16():
        log.warning("bfloat16 requested but this CPU has no AVX512-BF16/AMX: it will be slower "
                    "than float32")


def _cpu_has_bf16() -> bool:
    try:
        flags = Path("/proc/cpuinfo").read_text().split()
    except OSError:
        return True  # cannot tell (not Linux): do not cry wolf
    return "avx512_bf16" in flags or "amx_bf16" in flags
