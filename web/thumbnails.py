"""Small WebP renditions of uploaded images, made once per sha256 and kept beside the blobs.

Files live under <blob_dir>/thumbs/<size>/ab/<sha256>.webp, so every web process (and host
sharing the blob volume) makes each one at most once. Uploads are untrusted: they are opened
through shared.imageio (format allow-list, pixel limit), and anything that fails to decode
gets a placeholder instead of an error page.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from pathlib import Path

from flask import Response, current_app, send_file
from PIL import Image as PILImage
from PIL import ImageOps

from shared.blobstore import LocalBlobStore
from shared.imageio import ImageError, load_pixels, open_image
from web import services

SIZES = {"thumb": 160, "preview": 640}  # longest side in pixels
IMMUTABLE = "public, max-age=31536000, immutable"  # a sha256 names the same pixels forever
PLACEHOLDER = "broken-image.svg"


def thumbnail_path(blob_dir: Path, sha256: str, size: int) -> Path:
    return blob_dir / "thumbs" / str(size) / sha256[:2] / f"{sha256}.webp"


def render(data: bytes, size: int, *, max_pixels: int) -> bytes:
    """A WebP no larger than size x size; ImageError if the upload cannot be decoded."""
    img = open_image(data, max_pixels=max_pixels)
    img.draft("RGB", (size * 2, size * 2))  # JPEG: decode at a reduced scale, much faster
    img = load_pixels(img)
    # what the camera meant, as browsers show it; a broken EXIF block is no reason to refuse
    with contextlib.suppress(Exception):
        img = ImageOps.exif_transpose(img)
    img = img.convert("RGBA" if "A" in img.getbands() or "transparency" in img.info else "RGB")
    img.thumbnail((size, size), PILImage.Resampling.LANCZOS)
    out = io.BytesIO()
    img.save(out, "WEBP", quality=80, method=4)
    return out.getvalue()


def ensure_thumbnail(blob_dir: Path, sha256: str, size: int, *, max_pixels: int) -> Path:
    """The rendition's path, rendering it first if needed; ImageError/OSError if impossible."""
    path = thumbnail_path(blob_dir, sha256, size)
    if path.exists():
        return path
    data = render(LocalBlobStore(blob_dir).path(sha256).read_bytes(), size,
                  max_pixels=max_pixels)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".thumb-")
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.replace(tmp, path)  # atomic: two requests racing both write whole files
    return path


def thumbnail_response(sha256: str, kind: str) -> Response:
    """The rendition with year-long caching and an ETag, or the placeholder (short cache)."""
    settings = services().settings
    size = SIZES[kind]
    try:
        path = ensure_thumbnail(settings.resolved_blob_dir, sha256, size,
                                max_pixels=settings.max_pixels)
    except (ImageError, OSError):
        return _placeholder()
    response = send_file(path, mimetype="image/webp", etag=f"{sha256[:40]}-{size}",
                         conditional=True, last_modified=None, max_age=31536000)
    response.headers["Cache-Control"] = IMMUTABLE
    return response


def _placeholder() -> Response:
    static = Path(current_app.static_folder or "")
    # short-lived: a blob missing for a moment (a volume remounting) should not stick for a year
    response = send_file(static / PLACEHOLDER, mimetype="image/svg+xml", max_age=300,
                         conditional=True)
    response.headers["Cache-Control"] = "public, max-age=300"
    return response
