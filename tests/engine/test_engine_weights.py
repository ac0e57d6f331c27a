"""Weights: registry matches Keras, offline failure is fast and clear, files load, random is
seeded."""

from __future__ import annotations

import inspect
import logging
import time

import numpy as np
import pytest

from worker.engine import Engine, EngineConfig, WeightsUnavailable, is_random, weights
from worker.engine.registry import MODELS, get_spec

SPECS = list(MODELS.values())


def test_registry_matches_what_keras_downloads():
    from keras.src.applications import resnet, vgg16

    assert MODELS["vgg16"].weights_url == vgg16.WEIGHTS_PATH
    assert MODELS["vgg16"].weights_hash in inspect.getsource(vgg16.VGG16)
    assert MODELS["resnet50"].weights_url == (resnet.BASE_WEIGHTS_PATH
                                              + MODELS["resnet50"].weights_file)
    assert MODELS["resnet50"].weights_hash == resnet.WEIGHTS_HASHES["resnet50"][0]
    assert [s.display_name for s in SPECS] == ["VGG16", "ResNet50"]
    with pytest.raises(ValueError, match="known: vgg16, resnet50"):
        get_spec("alexnet")


def test_is_random():
    assert is_random("random(seed=1234)")
    assert not is_random("imagenet")
    assert not is_random("file:/weights/random/vgg16_weights_tf_dim_ordering_tf_kernels.h5")


@pytest.mark.timeout(60)
def test_imagenet_offline_without_cache_is_one_clear_error(tmp_path, monkeypatch, offline):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with pytest.raises(WeightsUnavailable) as caught:
        Engine(EngineConfig(weights="imagenet")).load()  # fails before building anything
    message = str(caught.value)
    assert "VGG16" in message and "ResNet50" in message
    assert "twinlens fetch-weights DIR" in message and "TWINLENS_WEIGHTS=DIR" in message
    assert "TWINLENS_WEIGHTS=random" in message
    assert len(set(offline)) == 1  # probed once, never a download
    assert not (tmp_path / "models" / MODELS["vgg16"].weights_file).exists()


@pytest.mark.timeout(60)
def test_a_silent_network_cannot_hang_start_up(tmp_path, monkeypatch):
    import socket

    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr(weights, "PROBE_TIMEOUT_S", 0.2)
    monkeypatch.setattr(socket, "create_connection", lambda *a, **k: time.sleep(3600))
    with pytest.raises(WeightsUnavailable, match="no answer"):
        weights.resolve("imagenet", SPECS[:1], seed=1)


def test_a_corrupt_cached_file_offline_is_refused(tmp_path, monkeypatch, offline):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    cached = tmp_path / "models" / MODELS["resnet50"].weights_file
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"half a download")
    with pytest.raises(WeightsUnavailable, match="ResNet50"):
        weights.resolve("imagenet", [MODELS["resnet50"]], seed=1)


def test_auto_offline_falls_back_to_random_loudly(tmp_path, monkeypatch, offline, caplog):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with caplog.at_level(logging.WARNING, logger="twinlens.worker"):
        sources = weights.resolve("auto", SPECS, seed=7)
    assert {name: s.description for name, s in sources.items()} == {
        "vgg16": "random(seed=7)", "resnet50": "random(seed=7)"}
    assert "RANDOM" in caplog.text and "meaningless" in caplog.text


def test_missing_path_or_file_names_the_fix(tmp_path):
    with pytest.raises(WeightsUnavailable, match="no such file"):
        weights.resolve(str(tmp_path / "nope"), SPECS, seed=1)
    with pytest.raises(WeightsUnavailable, match="twinlens fetch-weights"):
        weights.resolve(str(tmp_path), SPECS, seed=1)  # an empty directory


@pytest.fixture(scope="module")
def weights_dir(engine, tmp_path_factory):
    """The session engine's random weights as official-named legacy h5 files."""
    directory = tmp_path_factory.mktemp("weights")
    for name, spec in engine.specs.items():
        weights.save_h5(engine._models[name], directory / spec.weights_file)
    return directory


def test_saved_files_have_the_official_legacy_layout(weights_dir):
    import h5py

    with h5py.File(weights_dir / MODELS["vgg16"].weights_file, "r") as f:
        layers = [n.decode() if isinstance(n, bytes) else n for n in f.attrs["layer_names"]]
        assert "block1_conv1" in layers and "predictions" in layers
        assert len(f["fc1"].attrs["weight_names"]) == 2  # kernel and bias, as in Keras 2 files


def test_weights_load_from_a_directory_of_official_files(engine, weights_dir, jpegs):
    loaded = Engine(EngineConfig(weights=str(weights_dir), decode_threads=2))
    loaded.load()
    for name, spec in MODELS.items():
        assert loaded.weights[name] == f"file:{weights_dir.resolve() / spec.weights_file}"
        assert not is_random(loaded.weights[name])
        batch = np.stack(loaded.prepare(jpegs[:3]))
        np.testing.assert_array_equal(loaded.predict(name, batch), engine.predict(name, batch))
    loaded.close()


def test_weights_load_from_one_file(engine, weights_dir, jpegs):
    path = weights_dir / MODELS["resnet50"].weights_file
    loaded = Engine(EngineConfig(models=("resnet50",), weights=str(path)))
    loaded.load()
    assert loaded.weights == {"resnet50": f"file:{path.resolve()}"}
    batch = np.stack(loaded.prepare(jpegs[:2]))
    np.testing.assert_array_equal(loaded.predict("resnet50", batch),
                                  engine.predict("resnet50", batch))
    loaded.close()


def test_one_file_cannot_serve_two_models(weights_dir):
    with pytest.raises(WeightsUnavailable, match="VGG16"):
        weights.resolve(str(weights_dir / MODELS["resnet50"].weights_file), SPECS, seed=1)


def test_a_file_of_the_wrong_model_is_refused(weights_dir):
    wrong = Engine(EngineConfig(models=("resnet50",),
                                weights=str(weights_dir / MODELS["vgg16"].weights_file)))
    with pytest.raises(WeightsUnavailable, match="cannot load"):
        wrong.load()


def test_random_weights_depend_on_seed_and_name_only():
    a = weights._initial_value("block1_conv1/kernel", (3, 3, 3, 64), seed=1234)
    assert np.array_equal(a, weights._initial_value("block1_conv1/kernel", (3, 3, 3, 64), 1234))
    assert not np.array_equal(a, weights._initial_value("block1_conv1/kernel", (3, 3, 3, 64), 1))
    assert not np.array_equal(a, weights._initial_value("block1_conv2/kernel", (3, 3, 3, 64),
                                                        1234))
    assert abs(a.std() - np.sqrt(2 / 27)) < 0.02  # He: fan-in 3*3*3
    assert np.array_equal(weights._initial_value("conv1_bn/gamma", (4,), 1), np.ones(4))
    assert np.array_equal(weights._initial_value("conv1_bn/moving_mean", (4,), 1), np.zeros(4))
    assert np.array_equal(weights._initial_value("fc1/bias", (4,), 1), np.zeros(4))


def test_random_weights_are_pinned_across_machines():
    """Golden values: a change here changes every stored random(seed=...) prediction."""
    values = weights._initial_value("predictions/kernel", (4, 3), seed=1234)
    np.testing.assert_allclose(values.ravel()[:4], GOLDEN, rtol=1e-6)


GOLDEN = [0.39190569519996643, 0.7866935729980469, 0.5743075013160706, -1.3064594268798828]
