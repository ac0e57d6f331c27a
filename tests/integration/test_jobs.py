"""Jobs end to end: HTTP in, a real Celery worker on real Redis, rows in a real database."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import func, select

from shared.db import session_factory
from shared.models import Chunk, Image, Prediction
from tests.support.images import photo, truncated_jpeg, zip_of

pytestmark = pytest.mark.integration


def prediction_sets(stack, job_id: str) -> dict[tuple[int, str], int]:
    """(image id, model) -> number of prediction rows, straight from the database."""
    with session_factory(stack.settings.resolved_database_url)() as session:
        rows = session.execute(
            select(Prediction.image_id, Prediction.model, func.count())
            .where(Prediction.job_id == job_id)
            .group_by(Prediction.image_id, Prediction.model)
        ).all()
    return {(image_id, model): n for image_id, model, n in rows}


def image_rows(stack, job_id: str) -> list[Image]:
    with session_factory(stack.settings.resolved_database_url)() as session:
        return list(session.scalars(select(Image).where(Image.job_id == job_id)
                                    .order_by(Image.ordinal)))


def test_fifty_images_one_prediction_set_each(stack):
    files = [(photo(seed), f"img-{seed:02d}.jpg") for seed in range(50)]
    job = stack.submit(files, models="resnet50")
    assert job["status"] == "queued" and job["counts"]["images"] == 50

    done = stack.wait(job["id"])

    assert done["status"] == "succeeded"
    assert done["counts"] == {"images": 50, "done": 50, "failed": 0, "cancelled": 0}
    assert done["progress"] == {"resnet50": {"done": 50, "failed": 0, "total": 50}}
    assert done["weights"]["resnet50"].startswith("random") and done["random_weights"]
    images = image_rows(stack, job["id"])
    sets = prediction_sets(stack, job["id"])
    assert sets == {(image.id, "resnet50"): 1 for image in images}
    items = stack.results(job["id"])
    assert [item["image"]["filename"] for item in items] == [name for _, name in files]
    for item in items:
        ranked = item["predictions"]["resnet50"]
        assert [p["rank"] for p in ranked] == [1, 2, 3, 4, 5]
        assert all(a["score"] >= b["score"] for a, b in zip(ranked, ranked[1:], strict=False))
        assert "vgg16" not in item["predictions"] and item["agreement"] is None


def test_zip_job_with_both_models_side_by_side(stack):
    archive = zip_of({f"album/photo-{i}.jpg": photo(100 + i) for i in range(6)})
    job = stack.submit([(archive, "album.zip"), (photo(7, fmt="PNG"), "loose.png")], top_k="3")

    done = stack.wait(job["id"])

    assert done["status"] == "succeeded" and done["counts"]["done"] == 7
    assert set(done["progress"]) == {"vgg16", "resnet50"}
    items = stack.results(job["id"])
    assert items[0]["image"]["filename"] == "album.zip/album/photo-0.jpg"
    for item in items:
        assert set(item["predictions"]) == {"vgg16", "resnet50"}
        assert all(len(ranked) == 3 for ranked in item["predictions"].values())
        agreement = item["agreement"]
        assert agreement["overlap"] == len(
            {p["index"] for p in item["predictions"]["vgg16"]}
            & {p["index"] for p in item["predictions"]["resnet50"]})
        assert agreement["top1"] == (item["predictions"]["vgg16"][0]["index"]
                                     == item["predictions"]["resnet50"][0]["index"])
    assert all(n == 1 for n in prediction_sets(stack, job["id"]).values())
    assert len(prediction_sets(stack, job["id"])) == 14


def test_broken_files_fail_alone_with_reasons(stack):
    files = [
        (photo(1), "good-1.jpg"),
        (b"", "empty.jpg"),
        (b"this is not an image", "notes.jpg"),
        (truncated_jpeg(3), "truncated.jpg"),
        (b"%PDF-1.4\n%...", "doc.pdf"),
        (photo(2), "good-2.jpg"),
    ]
    job = stack.submit(files, models="resnet50")

    done = stack.wait(job["id"])

    assert done["status"] == "completed_with_errors"
    assert done["counts"]["done"] == 2 and done["counts"]["failed"] == 4
    by_name = {item["image"]["filename"]: item["image"] for item in stack.results(job["id"])}
    assert by_name["good-1.jpg"]["status"] == by_name["good-2.jpg"]["status"] == "done"
    assert by_name["empty.jpg"]["error"].startswith("empty")
    assert by_name["notes.jpg"]["error"].startswith("unsupported_format")
    assert by_name["doc.pdf"]["error"].startswith("unsupported_format")
    assert "PDF" in by_name["doc.pdf"]["error"]
    assert by_name["truncated.jpg"]["status"] == "failed"
    assert by_name["truncated.jpg"]["error"].split(":")[0] in {"truncated", "corrupt"}


def test_cancelled_job_drops_work_not_started(stack):
    from web import create_app

    app = create_app(stack.settings.model_copy(update={"chunk_size": 2}),
                     test_config={"TESTING": True})
    client = app.test_client()
    data = {"files": [(io.BytesIO(photo(i)), f"{i}.jpg") for i in range(60)], "models": "vgg16"}
    job = client.post("/api/v1/jobs", data=data, content_type="multipart/form-data").get_json()

    cancelled = client.delete(f"/api/v1/jobs/{job['id']}").get_json()

    assert cancelled["status"] == "cancelled" and cancelled["finished_at"]
    final = stack.wait(job["id"])
    assert final["status"] == "cancelled"
    statuses = [image.status for image in image_rows(stack, job["id"])]
    assert "queued" not in statuses and statuses.count("cancelled") > 0
    assert len(prediction_sets(stack, job["id"])) < 60
    # nothing the worker does later revives it
    with session_factory(stack.settings.resolved_database_url)() as session:
        active = session.scalar(select(func.count()).where(
            Chunk.job_id == job["id"], Chunk.status == "queued"))
    assert active == 0


def test_results_pages_and_csv_agree(stack):
    job = stack.submit([(photo(200 + i), f"p{i}.jpg") for i in range(12)], models="resnet50")
    stack.wait(job["id"])

    first = stack.client.get(f"/api/v1/jobs/{job['id']}/results?limit=5").get_json()
    assert len(first["items"]) == 5 and first["next"]
    paged = stack.results(job["id"])
    assert [i["image"]["ordinal"] for i in paged] == list(range(12))

    response = stack.client.get(f"/api/v1/jobs/{job['id']}/results?format=csv")
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert len(rows) == 12
    for row, item in zip(rows, paged, strict=True):
        top1 = item["predictions"]["resnet50"][0]
        assert row["filename"] == item["image"]["filename"]
        assert row["resnet50_1_label"] == top1["label"]
        assert float(row["resnet50_1_score"]) == pytest.approx(top1["score"], abs=1e-6)
        assert row["resnet50_weights"].startswith("random")


def test_readyz_counts_workers_per_model(stack):
    body = stack.client.get("/readyz").get_json()
    assert body["status"] == "ready"
    assert body["workers"] == {"vgg16": 1, "resnet50": 1}
