"""`twinlens submit`, `status` and `results`: the HTTP API from a terminal.

Progress and messages go to stderr and results to stdout, so `twinlens submit --wait x/ > out`
keeps only the table. Nothing here imports Flask or TensorFlow.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from shared.api_client import ApiError, ServerUnreachable, TwinlensClient
from shared.client_table import MODEL_NAMES, format_item
from shared.multipart import UploadFile, collect_files, total_size

FINAL = frozenset({"succeeded", "completed_with_errors", "failed", "cancelled"})
EXIT_INTERRUPTED = 130  # what a shell reports for a process ended by Ctrl-C
DEFAULT_SERVER = "http://127.0.0.1:8000"
err = Console(stderr=True, highlight=False)

server_option = click.option(
    "--server", envvar="TWINLENS_SERVER_URL", default=DEFAULT_SERVER, show_default=True,
    help="the twinlens web server (or set TWINLENS_SERVER_URL)")
api_key_option = click.option(
    "--api-key", envvar="TWINLENS_API_KEY", default=None,
    help="sent as the X-API-Key header (or set TWINLENS_API_KEY)")
csv_option = click.option("--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path),
                          help="write the results as CSV to this file ('-': stdout)")
json_option = click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path),
                           help="write the results as JSON to this file ('-': stdout)")


def make_client(server: str, api_key: str | None) -> TwinlensClient:
    def tell(attempt: int, delay: float, reason: str) -> None:
        err.print(f"[yellow]{reason}; retrying in {delay:.1f} s (attempt {attempt + 1})[/]")

    return TwinlensClient(server, api_key=api_key, on_retry=tell)


@contextlib.contextmanager
def api_errors(server: str) -> Iterator[None]:
    """Turn the client's exceptions into one-line messages and exit status 1."""
    try:
        yield
    except ApiError as exc:
        raise click.ClickException(f"the server refused: {exc.message} ({exc.code})") from None
    except ServerUnreachable as exc:
        raise click.ClickException(f"cannot reach {server}: {exc.__cause__!r}") from None


@click.command()
@click.argument("paths", nargs=-1, required=True,
                type=click.Path(exists=True, path_type=Path))
@click.option("--models", default=None, help="e.g. vgg16,resnet50 (default: all the server's)")
@click.option("--top-k", type=click.IntRange(1, 20), default=None, help="labels per model")
@click.option("--wait", is_flag=True, help="follow the job to the end, then show the results")
@csv_option
@json_option
@server_option
@api_key_option
def submit(paths: tuple[Path, ...], models: str | None, top_k: int | None, wait: bool,
           csv_path: Path | None, json_path: Path | None, server: str,
           api_key: str | None) -> None:
    """Upload images, folders (recursively) and zip archives as one job."""
    files = collect_files(paths)
    if not files:
        raise click.ClickException("no images or zip archives found")
    client = make_client(server, api_key)
    with api_errors(server):
        job = upload(client, files, models=models, top_k=top_k)
        err.print(f"job [bold]{job['id']}[/] {job['status']}: {job['counts']['images']} images")
        if not wait:
            err.print(f"follow it: twinlens status {job['id']}")
            return
        job = follow(client, job)
        show(client, job, csv_path=csv_path, json_path=json_path)
    if job["status"] in ("failed", "cancelled"):
        sys.exit(1)


def upload(client: TwinlensClient, files: list[UploadFile], **form: Any) -> dict[str, Any]:
    """POST the files with a byte progress bar; Ctrl-C here means no job was made."""
    columns = (TextColumn("upload"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
               TimeRemainingColumn())
    err.print(f"uploading {len(files)} file{'s' * (len(files) != 1)}, "
              f"{total_size(files) / 1e6:.1f} MB")
    try:
        with Progress(*columns, console=err, transient=False) as progress:
            task = progress.add_task("upload", total=None)
            return client.create_job(
                files, **form,
                on_attempt=lambda: progress.reset(task),
                on_bytes=lambda n: progress.advance(task, n))
    except KeyboardInterrupt:
        err.print("upload interrupted before the server answered: no job was submitted")
        sys.exit(EXIT_INTERRUPTED)


def follow(client: TwinlensClient, job: dict[str, Any]) -> dict[str, Any]:
    """Poll until the job is final, one bar per model; Ctrl-C leaves the job running."""
    columns = (TextColumn("{task.description:>9}"), BarColumn(), MofNCompleteColumn(),
               TaskProgressColumn(), TimeRemainingColumn())
    try:
        with Progress(*columns, console=err) as progress:
            tasks = {m: progress.add_task(MODEL_NAMES.get(m, m), total=p["total"])
                     for m, p in job["progress"].items()}
            wait: float | None = 1.0
            while True:
                for model, p in job["progress"].items():
                    progress.update(tasks[model], completed=p["done"] + p["failed"])
                if job["status"] in FINAL:
                    break
                time.sleep(max(wait or 2.0, 0.5))  # the server's Retry-After paces us
                job, wait = client.get_job(job["id"])
    except KeyboardInterrupt:
        err.print(f"job {job['id']} keeps running: twinlens status {job['id']}")
        sys.exit(EXIT_INTERRUPTED)
    counts = job["counts"]
    err.print(f"job {job['id']} {job['status']}: {counts['done']} done, {counts['failed']} failed")
    return job


def show(client: TwinlensClient, job: dict[str, Any], *, csv_path: Path | None,
         json_path: Path | None, **filters: str) -> None:
    """Write the downloads asked for, else print the side-by-side table."""
    if job.get("random_weights"):
        err.print("[bold yellow]warning: random weights: these predictions come from untrained "
                  "networks and mean nothing[/]")
    for path, fmt in ((csv_path, "csv"), (json_path, "json")):
        if path is not None:
            download(client, job["id"], fmt, path)
    if csv_path is None and json_path is None:
        for item in client.results(job["id"], **filters):
            click.echo(format_item(item, job["models"]) + "\n")


def download(client: TwinlensClient, job_id: str, fmt: str, path: Path) -> None:
    if str(path) == "-":
        client.download(job_id, fmt, sys.stdout.buffer)
        sys.stdout.flush()
        return
    with path.open("wb") as out:
        client.download(job_id, fmt, out)
    err.print(f"wrote {fmt.upper()} to {path}")


@click.command()
@click.argument("job_id")
@click.option("--json", "as_json", is_flag=True, help="print the API's JSON")
@server_option
@api_key_option
def status(job_id: str, as_json: bool, server: str, api_key: str | None) -> None:
    """The state of a job: counts, per-model progress, weights."""
    with api_errors(server):
        job, _ = make_client(server, api_key).get_job(job_id)
    if as_json:
        click.echo(json.dumps(job, indent=2))
        return
    counts = job["counts"]
    click.echo(f"job {job['id']}: {job['status']}")
    click.echo(f"  images {counts['images']}, done {counts['done']}, failed {counts['failed']}")
    for model, p in job["progress"].items():
        weights = job["weights"].get(model) or "weights not known yet"
        click.echo(f"  {MODEL_NAMES.get(model, model):<9} {p['done'] + p['failed']}/{p['total']}"
                   f"  ({weights})")
    if job.get("random_weights"):
        err.print("[bold yellow]warning: random weights: predictions mean nothing[/]")


@click.command()
@click.argument("job_id")
@click.option("--filter", "filter_", type=click.Choice(["disagree", "agree", "failed"]),
              help="only these images")
@click.option("--below", type=click.FloatRange(0, 1), help="only top-1 confidence under this")
@click.option("--sort", type=click.Choice(["ordinal", "confidence", "-confidence"]),
              default="ordinal", show_default=True)
@csv_option
@json_option
@server_option
@api_key_option
def results(job_id: str, filter_: str | None, below: float | None, sort: str,
            csv_path: Path | None, json_path: Path | None, server: str,
            api_key: str | None) -> None:
    """A job's results: the side-by-side table, or CSV/JSON files."""
    client = make_client(server, api_key)
    with api_errors(server):
        job, _ = client.get_job(job_id)
        if job["status"] not in FINAL:
            err.print(f"job {job_id} is {job['status']}: these are the results so far")
        show(client, job, csv_path=csv_path, json_path=json_path, filter=filter_ or "",
             below="" if below is None else str(below), sort=sort)
