"""The API's contract without a worker: shapes, limits, errors, headers, CSRF, OpenAPI."""

from __future__ import annotations

import io

from tests.support.images import photo, zip_of


def post_files(client, files, **form):
    data = {"files": [(io.BytesIO(content), name) for content, name in files], **form}
    return client.post("/api/v1/jobs", data=data, content_type="multipart/form-data")


def test_create_returns_202_location_and_job_shape(client):
    response = post_files(client, [(photo(1), "a.jpg"), (photo(2), "b.jpg")], top_k="3")
    assert response.status_code == 202
    job = response.get_json()
    assert response.headers["Location"] == f"/api/v1/jobs/{job['id']}"
    assert response.headers["Retry-After"]
    assert list(job)[:4] == ["id", "status", "models", "top_k"]
    assert job["status"] == "queued" and job["models"] == ["vgg16", "resnet50"]
    assert job["top_k"] == 3 and job["counts"]["images"] == 2
    assert job["progress"] == {m: {"done": 0, "failed": 0, "total": 2}
                               for m in ("vgg16", "resnet50")}
    assert len(job["id"]) >= 20  # 128 random bits


def test_request_over_size_limit_is_413_json_naming_it(make_app):
    client = make_app(max_request_bytes=50_000).test_client()
    response = post_files(client, [(photo(1, size=(800, 800)), "big.jpg")])
    assert response.status_code == 413
    assert response.get_json()["error"]["limit"] == "max_request_bytes"


def test_too_many_images_is_413_naming_the_limit(make_app):
    client = make_app(max_images_per_job=3).test_client()
    response = post_files(client, [(photo(i), f"{i}.jpg") for i in range(4)])
    assert response.status_code == 413
    assert response.get_json()["error"]["limit"] == "max_images_per_job"


def test_zip_with_too_many_entries_is_413(make_app):
    client = make_app(max_zip_entries=5).test_client()
    archive = zip_of({f"{i}.jpg": photo(i) for i in range(6)})
    response = post_files(client, [(archive, "many.zip")])
    assert response.status_code == 413
    assert response.get_json()["error"]["limit"] == "max_zip_entries"


def test_zip_names_cannot_climb_out(client):
    archive = zip_of({"../../etc/passwd.jpg": photo(1), "/abs/x.jpg": photo(2),
                      "ok/\x07bell.jpg": photo(3), "inner.zip": zip_of({"a.jpg": photo(4)})})
    job = post_files(client, [(archive, "a.zip")]).get_json()
    items = client.get(f"/api/v1/jobs/{job['id']}/results").get_json()["items"]
    names = [item["image"]["filename"] for item in items]
    assert names == ["a.zip/etc/passwd.jpg", "a.zip/abs/x.jpg", "a.zip/ok/bell.jpg",
                     "a.zip/inner.zip"]
    assert items[3]["image"]["error"].startswith("nested_archive")


def test_validation_errors_are_json(client):
    assert post_files(client, []).status_code == 400
    bad_model = post_files(client, [(photo(1), "a.jpg")], models="alexnet")
    assert bad_model.status_code == 422
    assert bad_model.get_json()["error"]["code"] == "invalid_models"
    assert post_files(client, [(photo(1), "a.jpg")], top_k="99").status_code == 422
    missing = client.get("/api/v1/jobs/does-not-exist")
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"


def test_all_broken_upload_is_a_failed_job_not_an_error(client):
    job = post_files(client, [(b"not an image", "x.jpg")]).get_json()
    assert job["status"] == "failed" and job["counts"]["failed"] == 1
    assert "Retry-After" not in client.get(f"/api/v1/jobs/{job['id']}").headers


def test_form_requires_csrf_token(make_app):
    app = make_app()
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    data = {"files": [(io.BytesIO(photo(1)), "a.jpg")]}
    assert client.post("/jobs", data=data, content_type="multipart/form-data").status_code == 400


def test_security_headers_on_pages_and_api(client):
    for path in ("/", "/api/v1/jobs", "/healthz"):
        headers = client.get(path).headers
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert "unsafe-inline" not in headers["Content-Security-Policy"]
        assert headers["X-Content-Type-Options"] == "nosniff"


def test_openapi_document_lists_every_route(client):
    document = client.get("/api/v1/openapi.json").get_json()
    assert document["openapi"].startswith("3.")
    assert {"/api/v1/jobs", "/api/v1/jobs/{job_id}", "/api/v1/jobs/{job_id}/results"} <= set(
        document["paths"])
    assert set(document["paths"]["/api/v1/jobs/{job_id}"]) >= {"get", "delete"}


def test_metrics_report_queue_depth_workers_and_jobs(client):
    post_files(client, [(photo(i), f"{i}.jpg") for i in range(3)], models="resnet50")
    response = client.get("/metrics")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    # no worker runs in these tests: the one chunk waits in the resnet50 queue
    assert 'twinlens_queue_messages{model="resnet50"} 1.0' in text
    assert 'twinlens_workers{model="vgg16"} 0.0' in text
    assert 'twinlens_jobs{status="queued"} 1.0' in text
