"""Peak memory of the web process while it takes a large upload (default 1 GiB).

    .venv/bin/python benchmarks/upload_memory.py [--mib 1024]

Starts gunicorn (one sync worker) on loopback, streams a zip of random-byte "photos" of the
requested size to POST /api/v1/jobs, and samples the worker's RSS (VmHWM) while it does.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
ENTRY = 8 * 1024 * 1024  # 8 MiB per archive entry, stored (not compressed)


def make_archive(path: Path, mib: int) -> None:
    rng = os.urandom
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for i in range(max(1, mib * 1024 * 1024 // ENTRY)):
            archive.writestr(f"blob-{i:04d}.jpg", rng(ENTRY))


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mib", type=int, default=1024)
    parser.add_argument("--port", type=int, default=8766)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp_dir = Path(tmp)
        archive = tmp_dir / "upload.zip"
        make_archive(archive, args.mib)
        env = {**os.environ, "TWINLENS_DATA_DIR": str(tmp_dir / "var"),
               "TWINLENS_BROKER_URL": "redis://127.0.0.1:6379/15",
               "TWINLENS_MAX_PIXELS": "50000000"}
        bin_dir = Path(sys.executable).parent
        subprocess.run([str(bin_dir / "alembic"), "upgrade", "head"], cwd=REPO, env=env,
                       check=True, capture_output=True)
        web = subprocess.Popen([str(bin_dir / "gunicorn"), "-b", f"127.0.0.1:{args.port}", "-w",
                                "1", "--timeout", "600", "web:create_app()"], cwd=REPO, env=env,
                               stderr=subprocess.DEVNULL)
        try:
            base = f"http://127.0.0.1:{args.port}"
            for _ in range(100):
                try:
                    httpx.get(f"{base}/healthz")
                    break
                except httpx.HTTPError:
                    time.sleep(0.1)
            worker_pid = int(subprocess.run(["pgrep", "-P", str(web.pid)], capture_output=True,
                                            text=True).stdout.split()[0])
            before = peak_rss_mib(worker_pid)
            started = time.perf_counter()
            with archive.open("rb") as body:
                response = httpx.post(f"{base}/api/v1/jobs", timeout=600,
                                      files={"files": ("upload.zip", body, "application/zip")})
            elapsed = time.perf_counter() - started
            size = archive.stat().st_size / 2**20
            print(f"upload           : {size:.0f} MiB zip -> HTTP {response.status_code} in "
                  f"{elapsed:.1f}s ({response.json()['counts']['images']} entries)")
            print(f"web worker RSS   : {before:.0f} MiB before, peak {peak_rss_mib(worker_pid):.0f}"
                  f" MiB during the upload")
        finally:
            web.terminate()
            web.wait(timeout=30)


if __name__ == "__main__":
    main()
