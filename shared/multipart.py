"""A multipart/form-data body streamed from files on disk, with a known length and a progress
callback: uploads of many gigabytes need neither memory nor a guess at how far along they are."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

PIECE = 256 * 1024
UPLOADABLE = (".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff", ".zip")


@dataclass(frozen=True)
class UploadFile:
    path: Path
    name: str  # as the server will see it: relative to the folder given, with "/" separators
    size: int


def collect_files(paths: Iterable[Path]) -> list[UploadFile]:
    """Files as given, and the images and zips inside folders (recursively, hidden ones skipped)."""
    found: list[UploadFile] = []
    for path in paths:
        if path.is_dir():
            for file in sorted(path.rglob("*")):
                relative = file.relative_to(path.parent)
                if (file.is_file() and file.suffix.lower() in UPLOADABLE
                        and not any(part.startswith(".") for part in relative.parts)):
                    found.append(UploadFile(file, relative.as_posix(), file.stat().st_size))
        elif path.is_file():
            found.append(UploadFile(path, path.name, path.stat().st_size))
        else:
            raise FileNotFoundError(f"no such file or folder: {path}")
    return found


def _quote(value: str) -> str:
    """A name for a Content-Disposition parameter (what browsers do: escape, keep UTF-8)."""
    return value.replace("\\", "\\\\").replace('"', "%22").replace("\r", "%0D").replace(
        "\n", "%0A")


class MultipartBody:
    """Form fields then files; iterate it once per request (each pass re-reads the files)."""

    def __init__(self, fields: dict[str, str], files: list[UploadFile], *,
                 field_name: str = "files",
                 on_bytes: Callable[[int], None] | None = None) -> None:
        self.boundary = f"twinlens-{secrets.token_hex(16)}"
        self.fields, self.files, self.field_name = fields, files, field_name
        self.on_bytes = on_bytes or (lambda n: None)

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    def _field_head(self, name: str) -> bytes:
        return (f'--{self.boundary}\r\nContent-Disposition: form-data; name="{_quote(name)}"'
                f"\r\n\r\n").encode()

    def _file_head(self, file: UploadFile) -> bytes:
        return (f'--{self.boundary}\r\nContent-Disposition: form-data; '
                f'name="{_quote(self.field_name)}"; filename="{_quote(file.name)}"\r\n'
                f"Content-Type: application/octet-stream\r\n\r\n").encode()

    def _tail(self) -> bytes:
        return f"--{self.boundary}--\r\n".encode()

    def __len__(self) -> int:
        fields = sum(len(self._field_head(k)) + len(v.encode()) + 2 for k, v in self.fields.items())
        files = sum(len(self._file_head(f)) + f.size + 2 for f in self.files)
        return fields + files + len(self._tail())

    def __iter__(self) -> Iterator[bytes]:
        for name, value in self.fields.items():
            yield self._emit(self._field_head(name) + value.encode() + b"\r\n")
        for file in self.files:
            yield self._emit(self._file_head(file))
            sent = 0
            with file.path.open("rb") as stream:
                while piece := stream.read(PIECE):
                    sent += len(piece)
                    yield self._emit(piece)
            if sent != file.size:  # the declared Content-Length would be a lie
                raise OSError(f"{file.path} changed size during the upload")
            yield self._emit(b"\r\n")
        yield self._emit(self._tail())

    def _emit(self, data: bytes) -> bytes:
        self.on_bytes(len(data))
        return data


def total_size(files: Iterable[UploadFile]) -> int:
    return sum(f.size for f in files)

