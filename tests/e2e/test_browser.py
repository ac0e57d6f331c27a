"""The web UI in headless Chromium (Debian's, never a downloaded one) against the live system:
submit images and a zip, watch the job finish, compare the gallery with the API, filter, sort,
download the CSV; screenshots of each page go to test-artifacts/."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from tests.support.images import photo, zip_of

pytestmark = [pytest.mark.browser, pytest.mark.integration]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
JOB_DEADLINE_MS = 240_000  # random-weights VGG16 on two CPU cores, with a cold worker


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is missing (apt-get install chromium); the browser "
                    "tests never download one")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def console_errors() -> list[str]:
    """Errors the page logged; a test that provokes one removes it from the list."""
    return []


@pytest.fixture
def page(browser, live_server, console_errors):
    """A fresh browser session that fails the test on any console error (a CSP violation)."""
    context = browser.new_context(base_url=live_server.url, accept_downloads=True,
                                  viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    tab.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    tab.on("pageerror", lambda e: console_errors.append(str(e)))
    yield tab
    context.close()
    assert not console_errors, console_errors


def upload_files(folder: Path) -> list[Path]:
    """Three loose images, a zip of two more, and a text file the page must refuse to send."""
    files = {"harbour.jpg": photo(11, (320, 240)), "meadow.png": photo(12, (288, 224), "PNG"),
             "street.jpg": photo(13, (256, 320)),
             "album.zip": zip_of({"trip/dunes.jpg": photo(14), "trip/pier.jpg": photo(15)}),
             "notes.txt": b"not an image"}
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return [folder / name for name in files]


def api(page, path: str):
    """The API as the page's own session sees it (the browser owns the job)."""
    response = page.request.get(path)
    assert response.ok, response.text()
    return response.json()


def shown_ranks(page, ordinal: int, model: str) -> list[tuple[str, float, str]]:
    ranks = page.locator(f'#img-{ordinal} .model[data-model="{model}"] .rank')
    return [(r.get_attribute("data-label"), float(r.get_attribute("data-score")),
             r.inner_text()) for r in ranks.all()]


def test_submit_watch_compare_filter_download(page, live_server, artifacts, tmp_path):
    from playwright.sync_api import expect

    page.goto("/")
    page.set_input_files("#files", upload_files(tmp_path))
    expect(page.locator("#selection-count")).to_have_text("4 files")
    expect(page.locator("#skipped-list")).to_contain_text("notes.txt")
    page.screenshot(path=artifacts / "submit.png", full_page=True)
    page.click("#submit")

    page.wait_for_url(re.compile(r"/jobs/[\w-]+$"))
    job_id = page.url.rsplit("/", 1)[1]
    page.screenshot(path=artifacts / "job-running.png")
    for model in ("vgg16", "resnet50"):
        expect(page.locator(f'.model-progress[data-model="{model}"] .pct')).to_have_text(
            "100%", timeout=JOB_DEADLINE_MS)
    expect(page.locator("#job-status .status")).to_have_text("succeeded", timeout=30_000)
    expect(page.locator(".card")).to_have_count(5)
    page.screenshot(path=artifacts / "job.png")

    items = api(page, f"/api/v1/jobs/{job_id}/results?limit=500")["items"]
    assert [i["image"]["filename"] for i in items] == [
        "harbour.jpg", "meadow.png", "street.jpg", "album.zip/trip/dunes.jpg",
        "album.zip/trip/pier.jpg"]
    for item in items:
        for model in ("vgg16", "resnet50"):
            shown = shown_ranks(page, item["image"]["ordinal"], model)
            expected = item["predictions"][model]
            assert [(label, score) for label, score, _ in shown] == [
                (p["label"], p["score"]) for p in expected]
            for (_, _, text), p in zip(shown, expected, strict=True):
                assert p["label"].replace("_", " ") in text
                assert f"{100 * p['score']:.1f}%" in text or "<0.1%" in text
    page.locator("#results").scroll_into_view_if_needed()
    page.screenshot(path=artifacts / "gallery.png", full_page=True)

    page.select_option("#filter", "disagree")
    page.click("#filters button[type=submit]")
    disagreeing = [i["image"]["ordinal"] for i in items if not i["agreement"]["top1"]]
    expect(page.locator(".card")).to_have_count(len(disagreeing))
    shown = [int(o) for o in page.locator(".card").evaluate_all(
        "cards => cards.map(c => c.dataset.ordinal)")]
    assert shown == disagreeing
    assert page.locator("#filter").input_value() == "disagree"

    page.select_option("#filter", "")
    page.select_option("#sort", "-confidence")
    page.click("#filters button[type=submit]")
    expect(page.locator("#matching")).to_contain_text("sorted by VGG16")
    by_score = sorted(items, key=lambda i: -i["predictions"]["vgg16"][0]["score"])
    assert [int(o) for o in page.locator(".card").evaluate_all(
        "cards => cards.map(c => c.dataset.ordinal)")] == [i["image"]["ordinal"] for i in by_score]

    with page.expect_download() as download:
        page.click("#csv-link")
    rows = list(csv.DictReader(download.value.path().open(newline="")))
    assert "RANDOM-WEIGHTS" in download.value.suggested_filename
    assert [r["filename"] for r in rows] == [i["image"]["filename"] for i in items]
    for row, item in zip(rows, items, strict=True):
        for model in ("vgg16", "resnet50"):
            assert row[f"{model}_1_label"] == item["predictions"][model][0]["label"]
        assert row["warning"].startswith("random weights")


def test_detail_page_keyboard_and_phone_width(page, live_server, artifacts, tmp_path):
    from playwright.sync_api import expect

    page.goto("/")
    page.set_input_files("#files", upload_files(tmp_path)[:3])
    page.click("#submit")
    page.wait_for_url(re.compile(r"/jobs/[\w-]+$"))
    expect(page.locator("#job-status .status")).to_have_text("succeeded",
                                                           timeout=JOB_DEADLINE_MS)
    expect(page.locator("#random-banner")).to_be_visible()

    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=artifacts / "job-phone.png", full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways at phone width ({width}px)"

    page.set_viewport_size({"width": 1280, "height": 900})
    page.locator("#img-0 h3 a").focus()
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_contain_text("harbour.jpg")
    expect(page.locator(".preview img")).to_have_js_property("complete", True)
    page.screenshot(path=artifacts / "image.png")
    page.keyboard.press("ArrowRight")
    expect(page.locator("h1")).to_contain_text("meadow.png")
    page.goto("/jobs")
    expect(page.locator("#jobs tbody tr")).to_have_count(1)  # this session's job only
    page.screenshot(path=artifacts / "jobs.png")


def test_dropped_files_and_a_refused_upload_keep_the_selection(page, artifacts, console_errors,
                                                               tmp_path):
    from playwright.sync_api import expect

    page.goto("/")
    page.evaluate("""() => {
        const dt = new DataTransfer();
        dt.items.add(new File([new Uint8Array(2048)], "dropped.jpg", {type: "image/jpeg"}));
        dt.items.add(new File(["%PDF"], "paper.pdf", {type: "application/pdf"}));
        document.getElementById("dropzone").dispatchEvent(
            new DragEvent("drop", {dataTransfer: dt, bubbles: true, cancelable: true}));
    }""")
    expect(page.locator("#selection-count")).to_have_text("1 file")
    expect(page.locator("#skipped-list")).to_contain_text("paper.pdf")
    page.set_input_files("#files", upload_files(tmp_path)[:2])
    expect(page.locator("#selection-count")).to_have_text("3 files")

    refusal = {"error": {"code": "limit_exceeded", "limit": "max_request_bytes",
                         "message": "the upload is larger than 1,000 bytes"}}
    page.route("**/jobs", lambda route: route.fulfill(status=413, json=refusal))
    page.click("#submit")
    expect(page.locator("#submit-error")).to_contain_text("larger than 1,000 bytes")
    expect(page.locator("#submit-error")).to_contain_text("selection is kept")
    expect(page.locator("#selection-count")).to_have_text("3 files")
    expect(page.locator("#submit")).to_be_enabled()
    page.screenshot(path=artifacts / "submit-refused.png")
    console_errors.remove("Failed to load resource: the server responded with a status of 413 "
                          "(Payload Too Large)")
