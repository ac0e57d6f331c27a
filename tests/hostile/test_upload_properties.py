"""Property: whatever bytes or archive layout arrive, upload parsing raises nothing but the
typed errors (ApiError for the request, a coded reason per image)."""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path

from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st
from werkzeug.datastructures import FileStorage

from shared.blobstore import LocalBlobStore
from shared.imageio import ImageError, sniff
from shared.settings import Settings
from tests.support.images import photo
from web.errors import ApiError
from web.uploads import UploadReader, clean_filename

IMAGE_CODES = {"empty", "unsupported_format", "too_many_pixels", "corrupt", "truncated"}
ARCHIVE_CODES = {"bad_archive", "zip_bomb", "nested_archive"}
SMALL_LIMITS = dict(max_images_per_job=12, max_zip_entries=6, max_zip_bytes=200_000,
                    max_zip_ratio=50, max_pixels=1_000_000)
VALID = [photo(i, size=(16, 16), fmt=fmt) for i, fmt in enumerate(("JPEG", "PNG", "GIF"))]
BLOBS = Path(tempfile.mkdtemp(prefix="twinlens-hypothesis-"))

names = st.text(min_size=0, max_size=320)
payloads = st.one_of(st.binary(max_size=2048), st.sampled_from(VALID),
                     st.sampled_from(VALID).map(lambda b: b[: len(b) // 2]))
entries = st.lists(st.tuples(names, payloads), max_size=10)


def read(data: bytes, filename: str) -> UploadReader:
    reader = UploadReader(LocalBlobStore(BLOBS), Settings(data_dir=BLOBS, **SMALL_LIMITS))
    reader.add_file(FileStorage(stream=io.BytesIO(data), filename=filename))
    return reader


def check(data: bytes, filename: str) -> None:
    try:
        reader = read(data, filename)
    except ApiError as exc:
        assert exc.status == 413 and exc.extra["limit"] in SMALL_LIMITS
        return
    for image in reader.images:
        assert len(image.filename) <= 255 and "\x00" not in image.filename
        if image.error is not None:
            assert image.error.split(":")[0] in IMAGE_CODES | ARCHIVE_CODES, image.error


def make_zip(layout: list[tuple[str, bytes]], method: int, flips: list[tuple[int, int]]) -> bytes:
    buffer = io.BytesIO()
    try:
        with zipfile.ZipFile(buffer, "w", method) as archive:
            for name, data in layout:
                archive.writestr(name or "unnamed", data)
    except Exception:  # zipfile itself cannot write some names: not an upload to test
        reject()
    raw = bytearray(buffer.getvalue())
    for position, value in flips:  # damage some bytes: headers, sizes, compressed data
        raw[position % len(raw)] = value
    return bytes(raw)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=4096), filename=names)
def test_arbitrary_bytes_under_any_name(data, filename):
    check(data, filename)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layout=entries, method=st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED,
                                               zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA]),
       flips=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=6),
       filename=names)
def test_arbitrary_archive_layouts_damaged_or_not(layout, method, flips, filename):
    check(make_zip(layout, method, flips), filename or "a.zip")


@settings(max_examples=300, deadline=None)
@given(data=st.one_of(st.binary(max_size=4096), payloads))
def test_sniffing_raises_only_image_error(data):
    try:
        sniff(data, max_pixels=1_000_000)
    except ImageError as exc:
        assert exc.code in IMAGE_CODES


@given(name=st.text(max_size=400))
def test_clean_filenames_are_printable_and_short(name):
    cleaned = clean_filename(name)
    assert cleaned and len(cleaned) <= 255
    assert all(ch.isprintable() for ch in cleaned)
    assert ".." not in cleaned.split("/") and not cleaned.startswith("/")
