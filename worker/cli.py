"""`twinlens classify` and `twinlens fetch-weights`: the engine from a shell, no server needed.

Imports only click at module level: `twinlens --help` loads this module to list commands.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import click

EXIT_ALL_FAILED = 1  # every image failed (0: at least one was classified)
EXIT_USAGE = 2  # click's own status for bad options and missing files
EXIT_CANNOT_START = 3  # weights or precision unavailable: no image was tried


def _split_models(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
    if value is None:
        return None
    from worker.engine.registry import MODELS

    names = tuple(name.strip() for name in value.split(",") if name.strip())
    unknown = [name for name in names if name not in MODELS]
    if unknown or not names:
        raise click.BadParameter(f"{', '.join(unknown) or value!r}: known models are "
                                 f"{', '.join(MODELS)}")
    return names


@click.command()
@click.argument("images", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--models", callback=_split_models, help="Comma-separated [TWINLENS_MODELS].")
@click.option("--top-k", type=click.IntRange(1, 20), help="Labels per model [TWINLENS_TOP_K].")
@click.option("--weights", help="imagenet, random, auto, or a weights file or directory "
                                "[TWINLENS_WEIGHTS].")
@click.option("--preprocess", type=click.Choice(["fast", "keras"]),
              help="[TWINLENS_PREPROCESS]")
@click.option("--precision", type=click.Choice(["float32", "bfloat16", "float16"]),
              help="[TWINLENS_PRECISION]")
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
def classify(images: tuple[Path, ...], models: tuple[str, ...] | None, top_k: int | None,
             weights: str | None, preprocess: str | None, precision: str | None,
             as_json: bool) -> None:
    """Classify IMAGE files with each model and print their top-k side by side.

    Exit status: 0 if at least one image was classified, 1 if every image failed,
    2 for a usage error, 3 if the models cannot start (weights or precision unavailable).
    """
    from shared.settings import get_settings

    settings = get_settings()
    engine = _start_engine(settings, models=models or tuple(settings.models),
                           weights=weights or settings.weights,
                           precision=precision or settings.precision,
                           preprocess=preprocess or settings.preprocess)
    try:
        document = _classify_all(engine, images, top_k or settings.top_k, settings.max_pixels)
    finally:
        engine.close()
    if as_json:
        _random_banner(engine.weights, err=True)
        click.echo(json.dumps(document, indent=2))
    else:
        _random_banner(engine.weights, err=False)
        _print_table(document, engine.specs)
    if not any(item["image"]["status"] == "done" for item in document["items"]):
        sys.exit(EXIT_ALL_FAILED)


def _start_engine(settings: Any, **choices: Any) -> Any:
    from worker.engine import Engine, EngineConfig, PrecisionUnsupported, WeightsUnavailable

    engine = Engine(EngineConfig(seed=settings.random_seed, max_pixels=settings.max_pixels,
                                 decode_threads=settings.decode_threads, **choices))
    try:
        engine.load()
    except (WeightsUnavailable, PrecisionUnsupported) as exc:
        click.echo(f"twinlens: cannot start the models:\n{exc}", err=True)
        sys.exit(EXIT_CANNOT_START)
    return engine


def _classify_all(engine: Any, paths: tuple[Path, ...], top_k: int,
                  max_pixels: int) -> dict[str, Any]:
    """The --json document: one item per path, in order, failed ones included."""
    from shared.agreement import agreement

    blobs = [path.read_bytes() for path in paths]
    items = [(hashlib.sha256(data).hexdigest(), data) for data in blobs]
    results = {model: engine.classify(model, items, top_k=top_k) for model in engine.specs}
    document_items = []
    for ordinal, (path, data) in enumerate(zip(paths, blobs, strict=True)):
        outcomes = {model: results[model][ordinal] for model in engine.specs}
        error = next((o for o in outcomes.values() if not isinstance(o, list)), None)
        predictions = {} if error else {m: [label.as_dict() for label in labels]
                                        for m, labels in outcomes.items()}
        document_items.append({
            "image": {"filename": str(path), "ordinal": ordinal,
                      "status": "failed" if error else "done",
                      "error": str(error) if error else None, **_header(data, max_pixels)},
            "predictions": predictions,
            "agreement": agreement(predictions),
        })
    return {"items": document_items, "weights": dict(engine.weights),
            "precision": engine.precision}


def _header(data: bytes, max_pixels: int) -> dict[str, Any]:
    """Format and size from the header; None where even the header is unusable."""
    from shared.imageio import ImageError, sniff

    try:
        info = sniff(data, max_pixels=max_pixels)
    except ImageError:
        return {"format": None, "width": None, "height": None}
    return {"format": info.format, "width": info.width, "height": info.height}


def _random_banner(weights: dict[str, str], *, err: bool) -> None:
    from worker.engine import is_random

    randoms = [f"{model}={desc}" for model, desc in weights.items() if is_random(desc)]
    if randoms:
        click.secho(f"!!! RANDOM WEIGHTS ({', '.join(randoms)}): these predictions are "
                    f"meaningless, for offline development only !!!", err=err, fg="red",
                    bold=True)


def _print_table(document: dict[str, Any], specs: dict[str, Any]) -> None:
    """Per image, one line per rank: each model's percentage and label, in aligned columns."""
    names = {model: spec.display_name for model, spec in specs.items()}
    width = max((len(p["label"]) for item in document["items"]
                 for labels in item["predictions"].values() for p in labels), default=0)
    name_width = max(len(name) for name in names.values())
    for item in document["items"]:
        image = item["image"]
        if image["status"] == "failed":
            click.echo(f"[{image['ordinal'] + 1}] {image['filename']}  FAILED  {image['error']}")
            continue
        click.echo(f"[{image['ordinal'] + 1}] {image['filename']}  {image['format']} "
                   f"{image['width']}x{image['height']}")
        for rank in range(max(len(p) for p in item["predictions"].values())):
            cells = [_cell(names[model], labels, rank, name_width, width)
                     for model, labels in item["predictions"].items()]
            click.echo(f"  {rank + 1:>2}  " + " | ".join(cells).rstrip())
        if item["agreement"]:
            a = item["agreement"]
            click.echo(f"      agreement: top-1 {'same' if a['top1'] else 'differs'}, "
                       f"{a['overlap']} of {a['of']} labels in common")


def _cell(name: str, labels: list[dict[str, Any]], rank: int, name_width: int,
          label_width: int) -> str:
    if rank >= len(labels):
        return " " * (name_width + label_width + 10)
    p = labels[rank]
    return f"{name:<{name_width}} {p['score'] * 100:5.1f}%  {p['label']:<{label_width}}"


@click.command("fetch-weights")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--models", callback=_split_models, help="Comma-separated [all known models].")
def fetch_weights(directory: Path, models: tuple[str, ...] | None) -> None:
    """Download the official weight files into DIRECTORY, hash checked by Keras.

    Then point workers at it: TWINLENS_WEIGHTS=DIRECTORY. Exit status 1 if any download failed.
    """
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from worker.engine.registry import MODELS
    from worker.engine.weights import WeightsUnavailable, fetch

    try:
        paths = fetch([MODELS[name] for name in models or MODELS], directory)
    except WeightsUnavailable as exc:
        click.echo(f"twinlens: {exc}", err=True)
        sys.exit(1)
    for path in paths:
        click.echo(str(path))
    click.echo(f"now set TWINLENS_WEIGHTS={directory.resolve()}")
