"""The inference engine: VGG16 and ResNet50 on image bytes, batched, with their weights story."""

import os

# Before anything imports TensorFlow: its C++ INFO/WARNING chatter is not for our users.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from worker.engine.decoding import Label  # noqa: E402
from worker.engine.engine import Engine, EngineConfig, PrecisionUnsupported  # noqa: E402
from worker.engine.weights import WeightsUnavailable, is_random  # noqa: E402

__all__ = ["Engine", "EngineConfig", "Label", "PrecisionUnsupported", "WeightsUnavailable",
           "is_random"]
