"""Top-k decoding gives exactly what keras decode_predictions gives."""

from __future__ import annotations

import shutil
from importlib import resources

import numpy as np
import pytest

from worker.engine.decoding import Label, decode, top_k


@pytest.fixture
def keras_decode(tmp_path, monkeypatch):
    """keras decode_predictions reading our shipped class index from a tmp KERAS_HOME."""
    from keras.src.applications import imagenet_utils
    from keras.src.backend import config

    models = tmp_path / "models"
    models.mkdir()
    shipped = resources.files("shared").joinpath("data", "imagenet_class_index.json")
    shutil.copy(str(shipped), models / "imagenet_class_index.json")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr(config, "_KERAS_DIR", str(tmp_path))  # Keras read it at import
    monkeypatch.setattr(imagenet_utils, "CLASS_INDEX", None)
    return imagenet_utils.decode_predictions


def _probabilities(rows: int, seed: int, ties: bool = True) -> np.ndarray:
    rng = np.random.default_rng(seed)
    probs = rng.dirichlet(np.full(1000, 0.05), size=rows).astype(np.float32)
    if ties:
        probs[-1, :] = np.float32(1 / 1000)  # all tied
        probs[-2, [3, 500, 7, 999, 42, 1]] = np.float32(0.2)  # ties inside the top 5
    return probs


@pytest.mark.parametrize("k", [1, 5, 10])
def test_same_as_keras_decode_predictions(k, keras_decode):
    probs = _probabilities(8, seed=k)
    theirs = keras_decode(probs, top=k)
    ours = decode(probs, k)
    assert len(ours) == len(theirs) == len(probs)
    for row, our_labels, their_labels in zip(probs, ours, theirs, strict=True):
        assert [(lb.wnid, lb.label, lb.score) for lb in our_labels] == \
               [(wnid, label, float(score)) for wnid, label, score in their_labels]
        assert [lb.rank for lb in our_labels] == list(range(1, k + 1))
        assert all(row[lb.index] == lb.score for lb in our_labels)


def test_engine_outputs_decode_like_keras(engine, jpegs, keras_decode):
    for model in engine.specs:
        probs = engine.predict(model, np.stack(engine.prepare(jpegs)))
        for ours, theirs in zip(decode(probs), keras_decode(probs), strict=True):
            assert [(lb.wnid, lb.score) for lb in ours] == [(w, float(s)) for w, _, s in theirs]


def test_label_as_dict_has_plain_python_values():
    probs = _probabilities(1, seed=3, ties=False)[0]
    best = top_k(probs, 3)[0]
    assert isinstance(best, Label)
    as_dict = best.as_dict()
    assert list(as_dict) == ["rank", "index", "wnid", "label", "score"]
    assert type(as_dict["score"]) is float and type(as_dict["index"]) is int
    assert as_dict["rank"] == 1 and as_dict["index"] == int(np.argmax(probs))


def test_bad_shapes_and_k_are_refused():
    with pytest.raises(ValueError):
        top_k(np.ones(10, np.float32))
    with pytest.raises(ValueError):
        top_k(np.ones(1000, np.float32), 0)
