"""Engine inference: shapes, probabilities, batching, determinism, caching, bad items."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from shared.imageio import ImageError
from worker.engine import Engine, EngineConfig, Label, PrecisionUnsupported, preprocessing

MODELS = ("vgg16", "resnet50")


@pytest.fixture(scope="module")
def batch(engine, jpegs) -> np.ndarray:
    return np.stack(engine.prepare(jpegs))


@pytest.fixture(scope="module")
def probs(engine, batch) -> dict[str, np.ndarray]:
    return {model: engine.predict(model, batch) for model in MODELS}


def test_engine_describes_itself(engine):
    assert engine.weights == {"vgg16": "random(seed=1234)", "resnet50": "random(seed=1234)"}
    assert engine.precision == "float32"


@pytest.mark.parametrize("model", MODELS)
def test_outputs_are_probabilities(model, probs, batch):
    out = probs[model]
    assert out.dtype == np.float32 and out.shape == (len(batch), 1000)
    assert np.all(out >= 0)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize("model", MODELS)
def test_top5_scores_are_distinct_and_well_apart(model, probs):
    """Random weights must not be uniform nor one-hot, and top-5 gaps must dwarf float noise,
    or the batch-versus-single comparisons below would be fragile."""
    for row in probs[model]:
        top = np.sort(row)[::-1][:6]
        assert 5 / 1000 < top[0] < 0.9
        assert np.all((top[:-1] - top[1:]) / top[:-1] > 1e-3)


@pytest.mark.parametrize("model", MODELS)
def test_a_batch_equals_single_calls(model, engine, batch, probs):
    singles = np.concatenate([engine.predict(model, batch[i:i + 1]) for i in range(len(batch))])
    np.testing.assert_allclose(singles, probs[model], rtol=1e-4, atol=1e-7)
    assert np.array_equal(np.argsort(singles)[:, -5:], np.argsort(probs[model])[:, -5:])


def test_sub_batches_equal_one_batch(engine, batch, probs, monkeypatch):
    monkeypatch.setattr(engine, "config", dataclasses.replace(engine.config, max_batch=2))
    np.testing.assert_allclose(engine.predict("resnet50", batch), probs["resnet50"],
                               rtol=1e-4, atol=1e-7)


def test_uint8_and_float_pixels_are_the_same_input(engine, batch, probs):
    np.testing.assert_array_equal(engine.predict("resnet50", batch.astype(np.float32)),
                                  probs["resnet50"])


def test_the_same_image_gets_the_same_top5_twice(engine, jpegs):
    key, data = jpegs[0]
    first = engine.classify("vgg16", [(key, data)])[0]
    again = engine.classify("vgg16", [(key + "-other-key", data)])[0]  # decoded afresh
    assert [lb.index for lb in first] == [lb.index for lb in again]
    assert [lb.score for lb in first] == pytest.approx([lb.score for lb in again], rel=1e-6)


def test_a_separately_built_engine_with_the_same_seed_is_identical(engine, batch, probs):
    twin = Engine(EngineConfig(weights="random", seed=1234, decode_threads=1))
    twin.load()
    for model in MODELS:
        np.testing.assert_array_equal(twin.predict(model, batch), probs[model])
        for ours, theirs in zip(twin._models[model].weights, engine._models[model].weights,
                                strict=True):
            assert np.array_equal(ours.numpy(), theirs.numpy()), ours.path
    twin.close()


def test_classify_keeps_bad_items_in_place(engine, jpegs):
    items = [jpegs[0], ("bad", b"plain text"), jpegs[1], ("empty", b"")]
    results = engine.classify("resnet50", items, top_k=3)
    assert [type(r) for r in results] == [list, ImageError, list, ImageError]
    assert [r.code for r in results if isinstance(r, ImageError)] == [
        "unsupported_format", "empty"]
    for labels in (results[0], results[2]):
        assert [lb.rank for lb in labels] == [1, 2, 3] and isinstance(labels[0], Label)
        assert labels[0].score >= labels[1].score >= labels[2].score


def test_classify_with_only_bad_items(engine):
    assert [r.code for r in engine.classify("vgg16", [("x", b"GIF89a")])] == ["unsupported_format"]


def test_prepare_decodes_each_key_once(engine, jpegs, monkeypatch):
    calls = []
    decode = preprocessing.decode
    monkeypatch.setattr(preprocessing, "decode",
                        lambda data, **kw: calls.append(len(data)) or decode(data, **kw))
    items = [(f"once-{key}", data) for key, data in jpegs[:3]]
    first = engine.prepare(items + items[:1])
    second = engine.prepare(items)  # as the second model's chunk would
    assert len(calls) == 3
    for a, b in zip(first, second, strict=False):
        assert a is b and a.shape == (224, 224, 3) and a.dtype == np.uint8
        assert not a.flags.writeable


def test_the_cache_is_bounded(engine, jpegs, monkeypatch):
    monkeypatch.setattr(engine, "config", dataclasses.replace(engine.config, cache_size=2))
    engine.prepare([(f"lru-{i}", jpegs[0][1]) for i in range(5)])
    assert len(engine._cache) == 2 and list(engine._cache) == ["lru-3", "lru-4"]


def test_predict_refuses_wrong_shapes_and_unknown_models(engine):
    with pytest.raises(ValueError, match="224"):
        engine.predict("vgg16", np.zeros((1, 100, 100, 3), np.uint8))
    with pytest.raises(RuntimeError, match="not loaded"):
        engine.predict("alexnet", np.zeros((1, 224, 224, 3), np.uint8))
    assert engine.predict("vgg16", np.zeros((0, 224, 224, 3), np.uint8)).shape == (0, 1000)


def test_bad_configs_are_refused_before_loading():
    with pytest.raises(ValueError, match="unknown model"):
        Engine(EngineConfig(models=("alexnet",)))
    with pytest.raises(ValueError, match="precision"):
        Engine(EngineConfig(precision="int8"))
    with pytest.raises(ValueError, match="preprocess"):
        Engine(EngineConfig(preprocess="bicubic"))


def test_float16_is_refused_on_cpu():
    import tensorflow as tf

    if tf.config.list_physical_devices("GPU"):
        pytest.skip("a GPU is visible: float16 is allowed")
    with pytest.raises(PrecisionUnsupported, match="GPU"):
        Engine(EngineConfig(models=("resnet50",), weights="random", precision="float16")).load()


def test_bfloat16_gives_float32_probabilities_close_to_float32(batch, probs):
    bf16 = Engine(EngineConfig(models=("resnet50",), weights="random", precision="bfloat16"))
    bf16.load()
    assert bf16.precision == "bfloat16"
    out = bf16.predict("resnet50", batch)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.sum(axis=1), 1.0, atol=1e-5)
    assert np.array_equal(out.argmax(axis=1), probs["resnet50"].argmax(axis=1))
    assert np.abs(out - probs["resnet50"]).max() < 0.02
    bf16.close()
