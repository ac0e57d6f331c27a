"""`twinlens submit/status/results` as a user runs them, against the live system: the printed
side-by-side table and the downloads must say what the API says."""

from __future__ import annotations

import csv
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

from tests.support.images import photo, zip_of
from tests.support.stack import wait_for

pytestmark = pytest.mark.integration

TWINLENS = str(Path(sys.executable).parent / "twinlens")
CELL = re.compile(r"(\S+)\s+([\d.]+)% (\S+)")


def cli_env(server_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TWINLENS_")}
    return {**env, "TWINLENS_SERVER_URL": server_url, "COLUMNS": "120"}


def run(live_server, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    result = subprocess.run([TWINLENS, *args], env=cli_env(live_server.url), capture_output=True,
                            text=True, timeout=timeout)
    assert result.returncode == 0, f"{result.stderr}\n{live_server.logs()}"
    return result


def parse_table(text: str) -> dict[str, dict[str, list[tuple[str, str]]]]:
    """filename -> model display name -> [(label, percent as printed)] from the table."""
    table: dict[str, dict[str, list[tuple[str, str]]]] = {}
    current: dict[str, list[tuple[str, str]]] = {}
    for line in text.splitlines():
        heading = re.match(r"#\d+ (\S+)", line)
        if heading:
            current = table.setdefault(heading.group(1), {})
            continue
        rank = re.match(r"\s+\d+\s+(.*)$", line)
        if rank:
            for cell in rank.group(1).split(" | "):
                name, pct, label = CELL.match(cell.strip()).groups()
                current.setdefault(name, []).append((label, pct))
    return table


def api_results(live_server, job_id: str) -> list[dict]:
    response = httpx.get(f"{live_server.url}/api/v1/jobs/{job_id}/results?limit=500")
    response.raise_for_status()
    return response.json()["items"]


@pytest.fixture(scope="module")
def album(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("cli") / "album"
    (root / "sub").mkdir(parents=True)
    (root / "gull.jpg").write_bytes(photo(21, (300, 240)))
    (root / "kite.png").write_bytes(photo(22, (240, 240), "PNG"))
    (root / "sub" / "dune.jpg").write_bytes(photo(23, (320, 224)))
    (root / "sub" / "more.zip").write_bytes(zip_of({"shell.jpg": photo(24)}))
    (root / "README.txt").write_text("not sent: not an image")
    return root


@pytest.fixture(scope="module")
def submitted(live_server, album):
    """`twinlens submit album --wait`, once for the module."""
    result = run(live_server, "submit", str(album), "--wait")
    job_id = re.search(r"job (\S+) (queued|running)", result.stderr).group(1)
    return job_id, result


def test_submit_folder_wait_prints_the_api_results_side_by_side(live_server, submitted):
    job_id, result = submitted
    assert "upload" in result.stderr and f"job {job_id} succeeded" in result.stderr
    assert "warning: random weights" in result.stderr
    items = api_results(live_server, job_id)
    assert [i["image"]["filename"] for i in items] == [
        "album/gull.jpg", "album/kite.png", "album/sub/dune.jpg", "album/sub/more.zip/shell.jpg"]
    table = parse_table(result.stdout)
    assert list(table) == [i["image"]["filename"] for i in items]
    for item in items:
        for model, name in (("vgg16", "VGG16"), ("resnet50", "ResNet50")):
            expected = [(p["label"], f"{100 * p['score']:.1f}")
                        for p in item["predictions"][model]]
            assert table[item["image"]["filename"]][name] == expected


def test_results_downloads_and_status(live_server, submitted, tmp_path):
    job_id, _ = submitted
    run(live_server, "results", job_id, "--csv", str(tmp_path / "r.csv"),
        "--json", str(tmp_path / "r.json"))
    items = api_results(live_server, job_id)
    rows = list(csv.DictReader((tmp_path / "r.csv").open(newline="")))
    assert [r["filename"] for r in rows] == [i["image"]["filename"] for i in items]
    assert all(r["vgg16_1_label"] == i["predictions"]["vgg16"][0]["label"]
               for r, i in zip(rows, items, strict=True))
    document = json.loads((tmp_path / "r.json").read_text())
    assert document["items"] == items and document["random_weights"] is True

    disagreeing = run(live_server, "results", job_id, "--filter", "disagree").stdout
    expected = [i["image"]["filename"] for i in items if not i["agreement"]["top1"]]
    assert list(parse_table(disagreeing)) == expected

    status = run(live_server, "status", job_id).stdout
    assert f"job {job_id}: succeeded" in status and "images 4, done 4, failed 0" in status
    assert "random(seed=" in status


def test_unknown_job_is_a_clear_error(live_server):
    result = subprocess.run([TWINLENS, "status", "no-such-job"], env=cli_env(live_server.url),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and "not_found" in result.stderr


def test_ctrl_c_while_waiting_leaves_the_job_running(live_server, album):
    proc = subprocess.Popen([TWINLENS, "submit", str(album / "sub"), "--wait"],
                            env=cli_env(live_server.url), stderr=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stderr],
                     daemon=True).start()
    seen: list[str] = []

    def printed(pattern: str) -> re.Match | None:
        while not lines.empty():
            seen.append(lines.get())
        return next((m for line in seen if (m := re.search(pattern, line))), None)

    try:
        job_id = wait_for(lambda: printed(r"job (\S+) (queued|running)"), timeout=120,
                          what="the CLI to report its job").group(1)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 130
    finally:
        proc.kill()
    wait_for(lambda: printed("keeps running"), timeout=10, what="the goodbye message")
    assert f"job {job_id} keeps running: twinlens status {job_id}" in "".join(seen)
    status = httpx.get(f"{live_server.url}/api/v1/jobs/{job_id}").json()["status"]
    assert status in ("queued", "running", "succeeded")
