"""Turn a multipart upload (images and zip archives) into stored blobs and NewImage rows.

Bytes go from Werkzeug's spooled temporary files to the blob store in 1 MiB pieces, so a
1 GB upload needs little memory. Archive entries are never written under their own names.
"""

from __future__ import annotations

import io
import posixpath
import unicodedata
import zipfile
from collections.abc import Iterator
from typing import BinaryIO

from werkzeug.datastructures import FileStorage

from shared.blobstore import LocalBlobStore
from shared.chunks import storable_text
from shared.imageio import ImageError, sniff
from shared.jobs import NewImage
from shared.settings import Settings
from web.errors import ApiError, limit_exceeded

MAX_FILENAME = 255
Entry = tuple[zipfile.ZipInfo, str | None]  # an archive member and why it is refused
ZIP_MAGIC = b"PK\x03\x04"


def clean_filename(name: str) -> str:
    """A display name: NFC, no control characters, no directories above, at most 255 chars."""
    name = unicodedata.normalize("NFC", name or "")
    name = "".join(_display_char(ch) for ch in name)
    parts = [p.strip() for p in name.replace("\\", "/").split("/")]
    parts = [p for p in parts if p not in ("", ".", "..")]
    name = "/".join(parts) or "unnamed"
    if len(name) > MAX_FILENAME:
        stem, ext = posixpath.splitext(name)
        name = stem[: MAX_FILENAME - len(ext[:16])] + ext[:16]
    return name


def _display_char(ch: str) -> str:
    """Control, format and line-breaking characters go; any other space becomes a space."""
    category = unicodedata.category(ch)
    if category[0] == "C" or category in ("Zl", "Zp"):
        return ""
    return " " if category == "Zs" else ch


class UploadReader:
    """Collects the images of one request, enforcing the limits in settings."""

    def __init__(self, store: LocalBlobStore, settings: Settings) -> None:
        self.store, self.settings = store, settings
        self.images: list[NewImage] = []
        self.zip_bytes = 0

    def add_file(self, upload: FileStorage) -> None:
        stream = upload.stream
        head = stream.read(4)
        stream.seek(0)
        if head == ZIP_MAGIC or (upload.filename or "").lower().endswith(".zip"):
            self._add_zip(stream, clean_filename(upload.filename or "archive.zip"))
        else:
            self._add_image(stream, clean_filename(upload.filename or ""))

    def _check_image_count(self) -> None:
        if len(self.images) >= self.settings.max_images_per_job:
            raise limit_exceeded("max_images_per_job", self.settings.max_images_per_job,
                                 f"a job holds at most {self.settings.max_images_per_job:,} images")

    def _add_image(self, stream: BinaryIO, filename: str, *, error: str | None = None) -> None:
        self._check_image_count()
        blob = self.store.put_stream(stream)
        info = None
        if error is None:
            try:
                with self.store.path(blob.sha256).open("rb") as fp:
                    info = sniff(fp, max_pixels=self.settings.max_pixels)
            except ImageError as exc:
                error = str(exc)
        self.images.append(NewImage(
            filename=filename, sha256=blob.sha256, size=blob.size,
            error=storable_text(error) if error else None,
            format=info.format if info else None, width=info.width if info else None,
            height=info.height if info else None,
        ))

    def _add_zip(self, stream: BinaryIO, archive_name: str) -> None:
        self._refuse_huge_directory(stream)
        try:
            archive = zipfile.ZipFile(stream)
        except Exception as exc:  # zipfile raises many types for a broken archive
            self._add_image(_empty(), archive_name,
                            error=f"bad_archive: not a readable zip ({_describe(exc)})")
            return
        with archive:
            for info, error in self._zip_entries(archive):
                name = clean_filename(f"{archive_name}/{info.filename}")
                if error is None:
                    self._check_image_count()
                    error = self._add_member(archive, info, name)
                if error is not None:
                    self._add_image(_empty(), name, error=error)

    def _add_member(self, archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str
                    ) -> str | None:
        """Store one archive entry as an image; the reason it could not be read, if any."""
        try:
            with archive.open(info) as member:
                self._add_image(member, name)
        except ApiError:
            raise
        except Exception as exc:  # corrupt deflate data, encryption, a lying header...
            return f"bad_archive: unreadable entry ({_describe(exc)})"
        return None

    def _refuse_huge_directory(self, stream: BinaryIO) -> None:
        """413 from the end record alone: ZipFile() would first parse every directory entry."""
        try:
            end = zipfile._EndRecData(stream)  # noqa: SLF001 (the stdlib's own reader)
        except Exception:
            end = None
        finally:
            stream.seek(0)
        limit = self.settings.max_zip_entries
        # Directories and junk entries do not count towards the limit, so allow some slack.
        if end and end[zipfile._ECD_ENTRIES_TOTAL] > 2 * limit + 100:  # noqa: SLF001
            raise limit_exceeded("max_zip_entries", limit,
                                 f"an archive holds at most {limit:,} entries")

    def _zip_entries(self, archive: zipfile.ZipFile) -> Iterator[Entry]:
        """Entries to read, each with the reason it is refused (or None); limits apply here."""
        s = self.settings
        entries = [i for i in archive.infolist() if not i.is_dir() and not _is_junk(i.filename)]
        if len(entries) > s.max_zip_entries:
            raise limit_exceeded("max_zip_entries", s.max_zip_entries,
                                 f"an archive holds at most {s.max_zip_entries:,} entries")
        for info in entries:
            self.zip_bytes += info.file_size
            if self.zip_bytes > s.max_zip_bytes:
                raise limit_exceeded("max_zip_bytes", s.max_zip_bytes,
                                     f"archives expand to more than {s.max_zip_bytes:,} bytes")
            ratio = info.file_size / max(info.compress_size, 1)
            if ratio > s.max_zip_ratio:
                yield info, (f"zip_bomb: entry expands {ratio:.0f}x, over the limit of "
                             f"{s.max_zip_ratio}x")
            elif info.filename.lower().endswith(".zip"):
                yield info, "nested_archive: archives inside archives are not opened"
            else:
                yield info, None


def _is_junk(name: str) -> bool:
    base = posixpath.basename(name)
    return name.startswith("__MACOSX/") or base.startswith("._") or base in (".DS_Store",
                                                                              "Thumbs.db")


def _empty() -> BinaryIO:
    return io.BytesIO(b"")


def _describe(exc: Exception) -> str:
    return f"{exc.__class__.__name__}: {exc}"[:300]


def parse_models(raw: str | None, offered: list[str]) -> list[str]:
    models = [m.strip().lower() for m in (raw or ",".join(offered)).split(",") if m.strip()]
    unknown = [m for m in models if m not in offered]
    if unknown or not models:
        raise ApiError(422, "invalid_models", f"unknown model(s) {unknown}; offered: {offered}")
    return list(dict.fromkeys(models))


def parse_top_k(raw: str | None, default: int) -> int:
    try:
        value = int(raw) if raw not in (None, "") else default
    except ValueError:
        raise ApiError(422, "invalid_top_k", "top_k must be an integer from 1 to 20") from None
    if not 1 <= value <= 20:
        raise ApiError(422, "invalid_top_k", "top_k must be an integer from 1 to 20")
    return value
