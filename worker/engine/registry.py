"""The models twinlens can serve: one ModelSpec each, the only place that names them."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

KERAS_WEIGHTS_URL = "https://storage.googleapis.com/tensorflow/keras-applications/"


@dataclass(frozen=True)
class ModelSpec:
    """A keras.applications model and its official ImageNet weights, as Keras itself fetches them.

    Module and builder are names, not objects, so that importing the registry never imports
    Keras (`twinlens --help` and the web read it). The engine builds
    ``builder(weights=None, classifier_activation=None)`` and expects its last layer to be the
    Dense classifier (true of the keras.applications ImageNet models with their top).
    """

    name: str
    display_name: str
    module: str  # a keras.applications module holding the builder and preprocess_input
    builder_name: str
    weights_file: str  # official file name: also its name in $KERAS_HOME/models and in volumes
    weights_url: str
    weights_hash: str  # the md5 Keras checks (keras/src/applications/<module>.py)

    @property
    def builder(self) -> Callable[..., Any]:
        return getattr(importlib.import_module(self.module), self.builder_name)

    @property
    def preprocess_input(self) -> Callable[..., Any]:
        """The model's own input transform (both current models are Caffe-style: BGR, mean)."""
        return importlib.import_module(self.module).preprocess_input


def _official(name: str, display_name: str, module: str, builder_name: str, folder: str,
              weights_hash: str) -> ModelSpec:
    weights_file = f"{name}_weights_tf_dim_ordering_tf_kernels.h5"
    return ModelSpec(name, display_name, module, builder_name, weights_file,
                     f"{KERAS_WEIGHTS_URL}{folder}/{weights_file}", weights_hash)


# Adding an application is one line here (hashes from keras/src/applications/*.py).
MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        _official("vgg16", "VGG16", "keras.applications.vgg16", "VGG16", "vgg16",
                  "64373286793e3c8b2b4e3219cbf3544b"),
        _official("resnet50", "ResNet50", "keras.applications.resnet50", "ResNet50", "resnet",
                  "2cb95161c43110f7111970584f804107"),
    )
}


def get_spec(name: str) -> ModelSpec:
    """The spec of a model by name; a ValueError naming the known ones otherwise."""
    try:
        return MODELS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; known: {', '.join(MODELS)}") from None
