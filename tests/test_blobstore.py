"""The content-addressed blob store: one copy per content, atomic writes, stale partials swept."""

from __future__ import annotations

import hashlib
import io
import os
import time

import pytest

from shared.blobstore import BlobTooLarge, LocalBlobStore


def test_same_bytes_are_stored_once(tmp_path):
    store = LocalBlobStore(tmp_path)
    first, second = store.put_bytes(b"cat"), store.put_stream(io.BytesIO(b"cat"))
    assert first == second and first.sha256 == hashlib.sha256(b"cat").hexdigest()
    assert store.get(first.sha256) == b"cat"
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == [store.path(first.sha256)]


def test_a_blob_over_the_limit_leaves_nothing_behind(tmp_path):
    store = LocalBlobStore(tmp_path)
    with pytest.raises(BlobTooLarge):
        store.put_stream(io.BytesIO(b"x" * 100), max_bytes=10)
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]


def test_only_old_partial_uploads_are_swept(tmp_path):
    store = LocalBlobStore(tmp_path)
    old, fresh = tmp_path / ".upload-old", tmp_path / ".upload-fresh"
    old.write_bytes(b"half")
    fresh.write_bytes(b"half")
    an_hour_ago = time.time() - 3700
    os.utime(old, (an_hour_ago, an_hour_ago))
    assert store.remove_stale_uploads(3600) == 1
    assert not old.exists() and fresh.exists()
