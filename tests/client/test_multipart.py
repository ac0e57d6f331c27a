"""The streamed multipart body: exact length, parsed back by Werkzeug as the server would."""

from __future__ import annotations

import io

import pytest
from werkzeug.formparser import parse_form_data

from shared.multipart import MultipartBody, collect_files
from tests.support.images import photo, zip_of


@pytest.fixture
def tree(tmp_path):
    album = tmp_path / "album"
    (album / "sub").mkdir(parents=True)
    (album / ".git").mkdir()
    (album / "a.jpg").write_bytes(photo(1))
    (album / "sub" / "b.PNG").write_bytes(photo(2, fmt="PNG"))
    (album / "sub" / "été ☀.jpg").write_bytes(photo(3))
    (album / "pack.zip").write_bytes(zip_of({"c.jpg": photo(4)}))
    (album / "notes.txt").write_text("skipped: not an image")
    (album / ".hidden.jpg").write_bytes(photo(5))
    (album / ".git" / "x.jpg").write_bytes(photo(6))
    (tmp_path / "loose.bin").write_bytes(b"given by name, so sent as is")
    return tmp_path


def test_folders_recurse_to_images_and_zips_only(tree):
    files = collect_files([tree / "album", tree / "loose.bin"])
    assert [f.name for f in files] == ["album/a.jpg", "album/pack.zip", "album/sub/b.PNG",
                                       "album/sub/été ☀.jpg", "loose.bin"]
    assert all(f.size == f.path.stat().st_size for f in files)


def test_missing_path_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        collect_files([tmp_path / "nope"])


def test_body_parses_back_and_counts_every_byte(tree):
    files = collect_files([tree / "album"])
    sent: list[int] = []
    body = MultipartBody({"models": "vgg16", "top_k": "3"}, files, on_bytes=sent.append)
    data = b"".join(body)
    assert len(data) == len(body) == sum(sent)
    environ = {"REQUEST_METHOD": "POST", "CONTENT_TYPE": body.content_type,
               "CONTENT_LENGTH": str(len(data)), "wsgi.input": io.BytesIO(data)}
    _, form, uploads = parse_form_data(environ)
    assert form.to_dict() == {"models": "vgg16", "top_k": "3"}
    parsed = uploads.getlist("files")
    assert [u.filename for u in parsed] == [f.name for f in files]
    for upload, file in zip(parsed, files, strict=True):
        assert upload.read() == file.path.read_bytes()


def test_body_can_be_sent_again_for_a_retry(tree):
    body = MultipartBody({}, collect_files([tree / "album"]))
    assert b"".join(body) == b"".join(body)


def test_a_file_that_changes_size_is_not_sent_short(tree):
    files = collect_files([tree / "album" / "a.jpg"])
    files[0].path.write_bytes(b"shorter now")
    with pytest.raises(OSError, match="changed size"):
        b"".join(MultipartBody({}, files))
