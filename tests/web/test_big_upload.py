"""A 5,000-image job goes in one request, as loose files or as a zip (Werkzeug's default
form-part limit is 1,000)."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from tests.support.images import zip_of

N = 5000


def tiny_pngs(n: int) -> list[bytes]:
    """n distinct 8x8 PNGs (distinct bytes, so each is its own blob)."""
    rng = np.random.default_rng(0)
    out = []
    for _ in range(n):
        buffer = io.BytesIO()
        Image.fromarray(rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)).save(buffer, "PNG")
        out.append(buffer.getvalue())
    return out


def test_five_thousand_files_in_one_request(make_app):
    client = make_app(chunk_size=256).test_client()
    images = tiny_pngs(N)
    data = {"files": [(io.BytesIO(png), f"{i}.png") for i, png in enumerate(images)],
            "models": "resnet50"}
    response = client.post("/api/v1/jobs", data=data, content_type="multipart/form-data")
    assert response.status_code == 202, response.get_json()
    job = response.get_json()
    assert job["counts"]["images"] == N and job["counts"]["failed"] == 0


def test_five_thousand_images_in_one_zip(make_app):
    client = make_app(chunk_size=256).test_client()
    archive = zip_of({f"batch/{i}.png": png for i, png in enumerate(tiny_pngs(N))})
    data = {"files": [(io.BytesIO(archive), "batch.zip")], "models": "resnet50"}
    response = client.post("/api/v1/jobs", data=data, content_type="multipart/form-data")
    assert response.status_code == 202, response.get_json()
    assert response.get_json()["counts"]["images"] == N
