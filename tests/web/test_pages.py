"""The HTML pages, downloads, summary and thumbnails, on finished jobs written straight into
the database (no worker): what the gallery shows must be what the API says."""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient

from shared.blobstore import LocalBlobStore
from shared.db import session_factory
from shared.jobs import NewImage, create_job
from shared.settings import Settings
from shared.workers import announce
from tests.support.databases import upgrade
from tests.support.fake_results import FakeJob, seed_job
from tests.support.stack import REDIS_URL, redis_available

REDIS_DB = 10  # this module's own queues and heartbeats
CARD = re.compile(r'<article class="card[^"]*" id="img-(\d+)"(.*?)</article>', re.S)


@dataclass
class Site:
    app: Flask
    client: FlaskClient
    settings: Settings
    owner: str | None
    redis: redis.Redis

    def seed(self, **kwargs: Any) -> FakeJob:
        store = LocalBlobStore(self.settings.resolved_blob_dir)
        with session_factory(self.settings.resolved_database_url).begin() as session:
            return seed_job(session, store, owner=kwargs.pop("owner", self.owner), **kwargs)

    def api_items(self, job_id: str, **params: str) -> list[dict]:
        query = "&".join(f"{k}={v}" for k, v in {"limit": "500", **params}.items())
        return self.client.get(f"/api/v1/jobs/{job_id}/results?{query}").get_json()["items"]


@pytest.fixture
def site(tmp_path) -> Site:
    if not redis_available():
        pytest.skip(f"Redis not reachable at {REDIS_URL}")
    from web import create_app

    url = f"sqlite:///{tmp_path / 'pages.db'}"
    upgrade(url)
    client = redis.Redis.from_url(f"{REDIS_URL}/{REDIS_DB}")
    client.flushdb()
    settings = Settings(data_dir=tmp_path, database_url=url, broker_url=f"{REDIS_URL}/{REDIS_DB}")
    app = create_app(settings, test_config={"TESTING": True})
    browser = app.test_client()
    browser.get("/jobs")  # a browser session: its owner owns the jobs seeded below
    with browser.session_transaction() as session:
        owner = session.get("owner")  # None where the server has no per-session owners
    return Site(app, browser, settings, owner, client)


def cards(html: str) -> dict[int, str]:
    return {int(ordinal): body for ordinal, body in CARD.findall(html)}


def shown_labels(card_html: str, model: str) -> list[tuple[str, float]]:
    section = card_html.split(f'data-model="{model}"', 1)[1].split("</section>", 1)[0]
    return [(label, float(score)) for label, score in
            re.findall(r'data-label="([^"]*)" data-score="([^"]*)"', section)]


def test_gallery_shows_both_models_top5_as_the_api_does(site):
    job = site.seed(images=30, failed_every=6)
    html = site.client.get(f"/jobs/{job.id}").get_data(as_text=True)
    shown = cards(html)
    items = site.api_items(job.id)
    assert sorted(shown) == list(range(24))  # the first page
    for item in items[:24]:
        card = shown[item["image"]["ordinal"]]
        assert item["image"]["filename"] in card
        if item["image"]["status"] == "failed":
            assert "Failed" in card and item["image"]["error"] in card
            continue
        for model in ("vgg16", "resnet50"):
            expected = [(p["label"], p["score"]) for p in item["predictions"][model]]
            assert shown_labels(card, model) == expected
            assert f'{100 * expected[0][1]:.1f}%' in card
        verdict = "Agree" if item["agreement"]["top1"] else "Disagree"
        assert f'badge {verdict.lower()}' in card


def test_filters_sort_and_pages_match_the_api(site):
    job = site.seed(images=60, failed_every=9)
    disagree = [i["image"]["ordinal"] for i in site.api_items(job.id, filter="disagree")]
    html = site.client.get(f"/jobs/{job.id}?filter=disagree").get_data(as_text=True)
    assert list(cards(html)) == disagree[:24]
    assert f"{len(disagree)} images match" in html

    by_confidence = [i["image"]["ordinal"] for i in site.api_items(
        job.id, sort="confidence", model="resnet50")]
    seen, url = [], f"/jobs/{job.id}?sort=confidence&model=resnet50"
    while url:
        html = site.client.get(url).get_data(as_text=True)
        seen += list(cards(html))
        found = re.search(r'href="([^"]+)" rel="next"', html)
        url = found and found.group(1).replace("&amp;", "&")
    assert seen == by_confidence and len(seen) == 60 - len(job.failed)
    previous = re.search(r'href="([^"]+)" rel="prev"', html).group(1).replace("&amp;", "&")
    assert list(cards(site.client.get(previous).get_data(as_text=True))) == seen[24:48]


def test_bad_parameters_are_400_on_pages_and_api(site):
    job = site.seed(images=3)
    assert site.client.get(f"/jobs/{job.id}?filter=bogus").status_code == 400
    response = site.client.get(f"/api/v1/jobs/{job.id}/results?below=2")
    assert response.status_code == 400
    assert response.get_json()["error"]["parameter"] == "below"
    response = site.client.get(f"/api/v1/jobs/{job.id}/results?sort=confidence&after=3")
    assert response.status_code == 400


def test_someone_elses_job_is_not_found(site):
    other = site.seed(images=2, owner="session:someone-else")
    for path in (f"/jobs/{other.id}", f"/jobs/{other.id}/images/0",
                 f"/jobs/{other.id}/images/0/thumb.webp"):
        assert site.client.get(path).status_code == 404, path


def test_thumbnails_are_made_once_and_cached_for_a_year(site):
    job = site.seed(images=2)
    first = site.client.get(f"/jobs/{job.id}/images/0/thumb.webp")
    assert first.status_code == 200 and first.mimetype == "image/webp"
    assert first.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert first.get_data()[8:12] == b"WEBP" and len(first.get_data()) < 20_000
    etag = first.headers["ETag"]
    again = site.client.get(f"/jobs/{job.id}/images/0/thumb.webp",
                            headers={"If-None-Match": etag})
    assert again.status_code == 304
    made = list((site.settings.resolved_blob_dir / "thumbs" / "160").rglob("*.webp"))
    assert len(made) == 1
    preview = site.client.get(f"/jobs/{job.id}/images/1/preview.webp")
    assert preview.status_code == 200 and preview.headers["ETag"] != etag
    assert site.client.get(f"/jobs/{job.id}/images/0/huge.webp").status_code == 404


def test_unreadable_images_get_a_placeholder(site):
    store = LocalBlobStore(site.settings.resolved_blob_dir)
    text_blob = store.put_bytes(b"not an image at all")
    with session_factory(site.settings.resolved_database_url).begin() as session:
        job, _ = create_job(session=session, owner=site.owner, models=["vgg16"], top_k=5,
                            chunk_size=8, images=[
                                NewImage("notes.jpg", text_blob.sha256, 19, error="corrupt"),
                                NewImage("gone.jpg", "0" * 64, 10)])
        job_id = job.id
    for ordinal in (0, 1):
        response = site.client.get(f"/jobs/{job_id}/images/{ordinal}/thumb.webp")
        assert response.status_code == 200 and response.mimetype == "image/svg+xml"
        assert "immutable" not in response.headers["Cache-Control"]


def test_random_weights_banner_and_export_warnings(site):
    job = site.seed(images=4)
    page = site.client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert 'id="random-banner"' in page
    assert 'id="random-banner"' in site.client.get(f"/jobs/{job.id}/images/0").get_data(True)

    exported = site.client.get(f"/api/v1/jobs/{job.id}/results?format=csv")
    assert "RANDOM-WEIGHTS" in exported.headers["Content-Disposition"]
    assert exported.headers["X-Twinlens-Warning"].startswith("random weights")
    rows = list(csv.DictReader(io.StringIO(exported.get_data(as_text=True))))
    assert len(rows) == 4 and all(row["warning"].startswith("random weights") for row in rows)

    document = site.client.get(f"/api/v1/jobs/{job.id}/results?format=json")
    assert document.headers["Content-Disposition"].startswith("attachment;")
    body = json.loads(document.get_data(as_text=True))
    assert body["random_weights"] is True and body["warning"].startswith("random weights")
    assert body["job"]["weights"] == {"vgg16": "random(seed=1234)", "resnet50": "random(seed=1234)"}
    assert body["items"] == site.api_items(job.id)


def test_imagenet_jobs_carry_no_warning(site):
    job = site.seed(images=3, weights="imagenet")
    assert 'id="random-banner"' not in site.client.get(f"/jobs/{job.id}").get_data(True)
    exported = site.client.get(f"/api/v1/jobs/{job.id}/results?format=csv")
    assert "RANDOM" not in exported.headers["Content-Disposition"]
    assert all(not row["warning"] for row in csv.DictReader(io.StringIO(exported.get_data(True))))


def test_banner_on_every_page_while_random_workers_serve(site):
    announce(site.redis, "w:1", {"models": ["vgg16"], "weights": {"vgg16": "random(seed=1)"}})
    for path in ("/", "/jobs"):
        assert 'id="random-banner"' in site.client.get(path).get_data(as_text=True), path


def test_summary_counts_agreement_labels_and_confidence(site):
    job = site.seed(images=40, failed_every=8)
    summary = site.client.get(f"/api/v1/jobs/{job.id}/summary").get_json()
    items = [i for i in site.api_items(job.id) if i["agreement"]]
    same = sum(i["agreement"]["top1"] for i in items)
    assert summary["agreement"]["compared"] == len(items) == 35
    assert summary["agreement"]["top1_same"] == same
    assert summary["agreement"]["top1_rate"] == pytest.approx(same / len(items))
    assert sum(summary["agreement"]["overlap"].values()) == len(items)
    for model in ("vgg16", "resnet50"):
        part = summary["per_model"][model]
        assert sum(part["histogram"]["counts"]) == part["predicted"] == 35
        top1_labels = [i["predictions"][model][0]["label"] for i in items]
        best = part["top_labels"][0]
        assert best["count"] == max(top1_labels.count(label) for label in top1_labels)
    html = site.client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert f'{100 * same / len(items):.0f}%' in html and "<svg class=\"histogram\"" in html


def test_image_page_has_both_models_and_neighbours(site):
    job = site.seed(images=3)
    html = site.client.get(f"/jobs/{job.id}/images/1").get_data(as_text=True)
    item = site.api_items(job.id)[1]
    for model in ("vgg16", "resnet50"):
        assert shown_labels(html, model) == [(p["label"], p["score"])
                                             for p in item["predictions"][model]]
    assert f'/jobs/{job.id}/images/0"' in html and f'/jobs/{job.id}/images/2"' in html
    assert site.client.get(f"/jobs/{job.id}/images/3").status_code == 404


def test_cancel_button_cancels_a_running_job(site):
    with session_factory(site.settings.resolved_database_url).begin() as session:
        job, _ = create_job(session=session, owner=site.owner, models=["vgg16"], top_k=5,
                            chunk_size=8, images=[NewImage("a.jpg", "a" * 64, 1)])
        job_id = job.id
    page = site.client.get(f"/jobs/{job_id}").get_data(as_text=True)
    token = re.search(r'id="cancel-form">\s*<input type="hidden" name="csrf_token" value="([^"]+)"',
                      page).group(1)
    assert site.client.post(f"/jobs/{job_id}/cancel").status_code == 400  # no CSRF token
    response = site.client.post(f"/jobs/{job_id}/cancel", data={"csrf_token": token})
    assert response.status_code == 303
    assert site.client.get(f"/api/v1/jobs/{job_id}").get_json()["status"] == "cancelled"
    assert 'id="cancel-form"' not in site.client.get(f"/jobs/{job_id}").get_data(as_text=True)


def test_jobs_list_shows_status_and_progress(site):
    job = site.seed(images=5)
    html = site.client.get("/jobs").get_data(as_text=True)
    row = html.split(f'data-job="{job.id}"', 1)[1].split("</tr>", 1)[0]
    assert "status-succeeded" in row and 'value="5"' in row and ">100%<" in row


JSON_TYPES = {"object": dict, "array": list, "string": str, "integer": int, "number": (int, float),
              "boolean": bool, "null": type(None)}


def conforms(value: Any, schema: dict, document: dict, path: str = "$") -> None:
    """The subset of JSON Schema the API document uses: $ref, type, enum, required, properties,
    items, additionalProperties (no jsonschema package here)."""
    if "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    types = schema.get("type")
    if types:
        allowed = tuple(JSON_TYPES[t] for t in ([types] if isinstance(types, str) else types))
        assert isinstance(value, allowed) and not (
            isinstance(value, bool) and bool not in allowed), f"{path}: {value!r} is not {types}"
    if "enum" in schema:
        assert value in schema["enum"], f"{path}: {value!r} not in {schema['enum']}"
    if isinstance(value, dict):
        assert set(schema.get("required", ())) <= set(value), f"{path}: missing keys"
        for key, item in value.items():
            sub = schema.get("properties", {}).get(key, schema.get("additionalProperties"))
            if isinstance(sub, dict):
                conforms(item, sub, document, f"{path}.{key}")
    if isinstance(value, list) and "items" in schema:
        for n, item in enumerate(value):
            conforms(item, schema["items"], document, f"{path}[{n}]")


def test_summary_and_filtered_pages_follow_the_openapi_document(site):
    job = site.seed(images=9, failed_every=4)
    document = site.client.get("/api/v1/openapi.json").get_json()
    results = document["paths"]["/api/v1/jobs/{job_id}/results"]["get"]
    conforms(site.client.get(f"/api/v1/jobs/{job.id}/summary").get_json(),
             {"$ref": "#/components/schemas/Summary"}, document)
    page_schema = results["responses"]["200"]["content"]["application/json"]["schema"]
    for query in ("filter=failed", "sort=-confidence&model=resnet50&below=0.5&limit=2"):
        page = site.client.get(f"/api/v1/jobs/{job.id}/results?{query}").get_json()
        assert page["items"]
        conforms(page, page_schema, document)
    documented = {p["name"] for p in results["parameters"]}
    assert {"filter", "below", "sort", "model", "cursor", "before", "format"} <= documented


def test_summary_is_cached_until_the_predictions_change(site):
    from sqlalchemy import delete, select

    from shared.models import Prediction

    job = site.seed(images=6)
    first = site.client.get(f"/api/v1/jobs/{job.id}/summary").get_json()
    assert first["per_model"]["vgg16"]["predicted"] == 6
    assert len(site.redis.keys(f"twinlens:summary:{job.id}:*")) == 1
    with session_factory(site.settings.resolved_database_url).begin() as session:
        victim = session.scalar(select(Prediction.id).where(Prediction.job_id == job.id,
                                                            Prediction.model == "vgg16"))
        session.execute(delete(Prediction).where(Prediction.id == victim))
    second = site.client.get(f"/api/v1/jobs/{job.id}/summary").get_json()
    assert second["per_model"]["vgg16"]["predicted"] == 5
