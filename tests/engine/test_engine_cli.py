"""`twinlens classify` end to end, in a subprocess, with seeded random weights."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow
RUN_CLI = "from shared.cli import main; main()"


@pytest.fixture
def files(tmp_path, photos, encode):
    good = {"cat.jpg": encode(photos["chelsea"], "JPEG", quality=90),
            "astronaut.png": encode(photos["astronaut"], "PNG")}
    bad = {"notes.jpg": b"not an image at all\n" * 5,
           "cut.jpg": encode(photos["coffee"], "JPEG")[:3000]}
    for name, data in {**good, **bad}.items():
        (tmp_path / name).write_bytes(data)
    return {"good": [tmp_path / n for n in good], "bad": [tmp_path / n for n in bad]}


def run(*args: str, tmp_path, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TWINLENS_")}
    clean.update(KERAS_HOME=str(tmp_path / "keras"), TWINLENS_DATA_DIR=str(tmp_path), **env)
    return subprocess.run([sys.executable, "-c", RUN_CLI, *args], capture_output=True,
                          text=True, env=clean, timeout=300)


def test_json_document_with_good_and_bad_files(files, tmp_path, engine):
    paths = [files["good"][0], files["bad"][0], files["good"][1], files["bad"][1]]
    done = run("classify", "--weights", "random", "--json", "--top-k", "3",
               *map(str, paths), tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "RANDOM WEIGHTS" in done.stderr
    doc = json.loads(done.stdout)
    assert doc["weights"] == {"vgg16": "random(seed=1234)", "resnet50": "random(seed=1234)"}
    assert doc["precision"] == "float32"
    images = [item["image"] for item in doc["items"]]
    assert [i["filename"] for i in images] == [str(p) for p in paths]
    assert [i["ordinal"] for i in images] == [0, 1, 2, 3]
    assert [i["status"] for i in images] == ["done", "failed", "done", "failed"]
    assert (images[0]["format"], images[0]["width"], images[0]["height"]) == ("JPEG", 451, 300)
    assert images[2]["format"] == "PNG"
    assert images[1]["error"].startswith("unsupported_format: ")
    assert images[3]["error"].startswith("truncated: ")
    for item in doc["items"]:
        if item["image"]["status"] == "failed":
            assert item["predictions"] == {} and item["agreement"] is None
            continue
        assert item["image"]["error"] is None
        assert list(item["predictions"]) == ["vgg16", "resnet50"]
        for labels in item["predictions"].values():
            assert [p["rank"] for p in labels] == [1, 2, 3]
            assert all(set(p) == {"rank", "index", "wnid", "label", "score"} for p in labels)
        assert set(item["agreement"]) == {"top1", "overlap", "of"}
    # Another process, another build, the same seed: the same numbers as this process's engine.
    good = [(p.name, p.read_bytes()) for p in files["good"]]
    for model in ("vgg16", "resnet50"):
        ours = [lb for labels in engine.classify(model, good, 3) for lb in labels]
        theirs = [p for i in (0, 2) for p in doc["items"][i]["predictions"][model]]
        assert [p["index"] for p in theirs] == [lb.index for lb in ours]
        assert [p["score"] for p in theirs] == pytest.approx([lb.score for lb in ours], rel=1e-5)


def test_plain_table_side_by_side(files, tmp_path):
    done = run("classify", "--weights", "random", str(files["good"][0]), str(files["bad"][0]),
               tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("!!! RANDOM WEIGHTS")
    assert any(line.startswith("[1] ") and "JPEG 451x300" in line for line in lines)
    ranks = [line for line in lines if re.match(r"\s+\d+\s+VGG16\s", line)]
    assert len(ranks) == 5
    for line in ranks:
        assert re.search(r"VGG16\s+\d+\.\d%\s+\S+\s+\| ResNet50\s+\d+\.\d%\s+\S+$", line), line
    assert len({line.index("|") for line in ranks}) == 1  # aligned columns
    assert any("agreement:" in line for line in lines)
    assert any(line.startswith("[2] ") and "FAILED" in line and "unsupported_format" in line
               for line in lines)


def test_exit_1_when_every_image_fails(files, tmp_path):
    done = run("classify", "--weights", "random", "--models", "resnet50", "--json",
               *map(str, files["bad"]), tmp_path=tmp_path)
    assert done.returncode == 1
    assert [i["image"]["status"] for i in json.loads(done.stdout)["items"]] == ["failed"] * 2


def test_exit_2_for_usage_errors(files, tmp_path):
    good = str(files["good"][0])
    assert run("classify", "--models", "alexnet", good, tmp_path=tmp_path).returncode == 2
    assert run("classify", "--top-k", "0", good, tmp_path=tmp_path).returncode == 2
    assert run("classify", str(tmp_path / "missing.jpg"), tmp_path=tmp_path).returncode == 2


def test_exit_3_and_the_fixes_when_imagenet_weights_are_unavailable(files, tmp_path):
    # A closed local port as the proxy: offline for sure, even on a machine with internet.
    done = run("classify", "--weights", "imagenet", str(files["good"][0]), tmp_path=tmp_path,
               https_proxy="http://127.0.0.1:9", HTTPS_PROXY="http://127.0.0.1:9")
    assert done.returncode == 3
    assert "twinlens fetch-weights DIR" in done.stderr
    assert "TWINLENS_WEIGHTS=random" in done.stderr
    assert "Traceback" not in done.stderr
