"""Every file of the hostile corpus, sent to the web alone: a job or a 413, never a 500."""

from __future__ import annotations

import io

import pytest

from tests.hostile.corpus import DONE, Case, archive_cases, image_cases, limit_cases, zip_many
from tests.support.images import photo


def post(client, files: list[tuple[bytes, str]]):
    data = {"files": [(io.BytesIO(content), name) for content, name in files]}
    return client.post("/api/v1/jobs", data=data, content_type="multipart/form-data")


def items(client, job_id: str) -> list[dict]:
    return client.get(f"/api/v1/jobs/{job_id}/results?limit=500").get_json()["items"]


def expected_codes(expect: str | tuple[str, ...]) -> tuple[str, ...]:
    return (expect,) if isinstance(expect, str) else expect


def check_upload_outcome(image: dict, expect: str | tuple[str, ...]) -> None:
    """Refused at upload only with an expected reason; expected images are never refused."""
    if image["status"] == "failed":
        assert image["error"].split(":")[0] in expected_codes(expect), image
    else:
        assert image["status"] == "queued" and image["error"] is None
        assert expect == DONE or set(expected_codes(expect)) & {"truncated", "corrupt"}, image


@pytest.mark.parametrize("case", image_cases(), ids=lambda c: c.filename.encode("ascii",
                                                                                "replace").decode())
def test_each_file_alone_is_accepted_or_refused_with_its_reason(make_web, fake_ghostscript,
                                                                case: Case):
    client = make_web()
    response = post(client, [(case.data, case.filename)])

    assert response.status_code == 202, response.get_json()
    (item,) = items(client, response.get_json()["id"])
    check_upload_outcome(item["image"], case.expect)
    name = item["image"]["filename"]
    assert len(name) <= 255 and all(ch.isprintable() for ch in name)
    assert not fake_ghostscript.exists()


@pytest.mark.parametrize("case", archive_cases(), ids=lambda c: c.filename)
def test_each_archive_entry_is_an_image_or_a_reason(make_web, case: Case):
    client = make_web()
    response = post(client, [(case.data, case.filename)])

    assert response.status_code == 202, response.get_json()
    by_name = {}
    for item in items(client, response.get_json()["id"]):
        by_name.setdefault(item["image"]["filename"], []).append(item["image"])
    expected = {f"{case.filename}/{name}" for name in case.entries}
    assert set(by_name) == expected
    for name, expect in case.entries.items():
        for image in by_name[f"{case.filename}/{name}"]:
            check_upload_outcome(image, expect)


@pytest.mark.parametrize("filename,data,overrides,limit", limit_cases(),
                         ids=[c[0] for c in limit_cases()])
def test_limits_refuse_the_request_with_413_naming_the_limit(make_web, filename, data,
                                                              overrides, limit):
    client = make_web(**overrides)
    response = post(client, [(data, filename), (photo(1, size=(32, 32)), "fine.jpg")])

    assert response.status_code == 413
    error = response.get_json()["error"]
    assert error["code"] == "limit_exceeded" and error["limit"] == limit
    assert isinstance(error["max"], int)
    assert client.get("/api/v1/jobs").get_json()["items"] == []  # nothing half-made


def test_a_zip_of_exactly_ten_thousand_entries_is_accepted(make_web):
    client = make_web()
    tiny = photo(2, size=(1, 1), fmt="PNG")
    response = post(client, [(zip_many(10_000, tiny), "ten-thousand.zip")])

    assert response.status_code == 202
    assert response.get_json()["counts"]["images"] == 10_000


def test_the_whole_corpus_in_one_request_is_one_job(make_web, fake_ghostscript):
    client = make_web()
    files = [(c.data, c.filename) for c in [*image_cases(), *archive_cases()]]
    response = post(client, files)

    assert response.status_code == 202
    expected = len(image_cases()) + sum(len(c.entries) + (c.filename == "names.zip")
                                        for c in archive_cases())
    assert response.get_json()["counts"]["images"] == expected
    assert not fake_ghostscript.exists()
