"""Worker start-up: wall time from process start to both models warm, and RSS once loaded.

    .venv/bin/python benchmarks/startup_memory.py

Writes both models' random weights as official-named legacy .h5 files in a temporary
directory (weights on local disk, as on a GPU host's volume), then starts a fresh Python
process that builds an Engine from them (float32) exactly as a worker does, and reports.
Targets on the 2-core dev machine: start to warm <= 20 s, RSS <= 2.5 GiB.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHILD = """
import json, os, resource, sys, time
import psutil
from worker.engine import Engine, EngineConfig
engine = Engine(EngineConfig(weights=sys.argv[1], precision="float32"))
engine.load()
warm = time.time()
print(json.dumps({"warm_at": warm, "weights": engine.weights,
                  "rss": psutil.Process().memory_info().rss,
                  "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
"""
TARGET_SECONDS, TARGET_GIB = 20.0, 2.5


def write_weights(directory: Path) -> None:
    """Random weights of both models under their official file names, in the legacy layout."""
    from worker.engine import Engine, EngineConfig, weights

    engine = Engine(EngineConfig(weights="random"))
    engine.load()
    for name, spec in engine.specs.items():
        weights.save_h5(engine._models[name], directory / spec.weights_file)
    engine.close()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        # In its own process, so that nothing of it is warm for the measured one.
        subprocess.run([sys.executable, __file__, "--write", tmp], check=True)
        sizes = {p.name: p.stat().st_size for p in Path(tmp).iterdir()}
        started = time.time()
        child = subprocess.run([sys.executable, "-c", CHILD, tmp], capture_output=True,
                               text=True, cwd=ROOT, check=True)
        report = json.loads(child.stdout.strip().splitlines()[-1])
    seconds = report["warm_at"] - started
    gib = report["rss"] / 2**30
    print("weights files: " + ", ".join(f"{n} {s / 1e6:.0f} MB" for n, s in sizes.items()))
    print(f"described as: {report['weights']}")
    print(f"start -> both models warm: {seconds:.1f} s (target <= {TARGET_SECONDS:.0f} s)")
    print(f"RSS with both models loaded (float32): {gib:.2f} GiB "
          f"(peak {report['peak_rss'] / 2**30:.2f} GiB; target <= {TARGET_GIB} GiB)")
    print(f"load average: {os.getloadavg()[0]:.2f} (other processes skew figures)")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--write"]:
        write_weights(Path(sys.argv[2]))
    else:
        main()
