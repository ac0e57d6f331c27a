"""Content-addressed storage of uploaded bytes: the same image uploaded twice is kept once."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

COPY_BUFFER = 1024 * 1024


@dataclass(frozen=True)
class StoredBlob:
    sha256: str
    size: int


class LocalBlobStore:
    """Blobs as files under root/ab/cd/<sha256>; a shared volume (NFS) serves several hosts."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put_stream(self, stream: BinaryIO, *, max_bytes: int | None = None) -> StoredBlob:
        """Copy a stream in 1 MiB pieces while hashing it, so memory stays flat for any size."""
        self.root.mkdir(parents=True, exist_ok=True)
        digest, size = hashlib.sha256(), 0
        fd, tmp_name = tempfile.mkstemp(dir=self.root, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as tmp:
                while piece := stream.read(COPY_BUFFER):
                    size += len(piece)
                    if max_bytes is not None and size > max_bytes:
                        raise BlobTooLarge(max_bytes)
                    digest.update(piece)
                    tmp.write(piece)
            return self._commit(Path(tmp_name), digest.hexdigest(), size)
        finally:
            if os.path.exists(tmp_name):
                os.unlink(tmp_name)

    def put_bytes(self, data: bytes) -> StoredBlob:
        return self.put_stream(io.BytesIO(data))

    def _commit(self, tmp: Path, sha256: str, size: int) -> StoredBlob:
        final = self.path(sha256)
        if not final.exists():
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, final)  # atomic: readers see all of a blob or none of it
        return StoredBlob(sha256=sha256, size=size)

    def remove_stale_uploads(self, older_than_seconds: float) -> int:
        """Delete partial uploads left by a killed web process; returns how many."""
        cutoff, removed = time.time() - older_than_seconds, 0
        for partial in self.root.glob(".upload-*"):
            with contextlib.suppress(FileNotFoundError):  # another sweeper got there first
                if partial.stat().st_mtime < cutoff:
                    partial.unlink()
                    removed += 1
        return removed

    def get(self, sha256: str) -> bytes:
        return self.path(sha256).read_bytes()

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).exists()


class BlobTooLarge(ValueError):
    def __init__(self, limit: int) -> None:
        super().__init__(f"blob larger than {limit} bytes")
        self.limit = limit


def get_blob_store() -> LocalBlobStore:
    from shared.settings import get_settings

    return LocalBlobStore(get_settings().resolved_blob_dir)
