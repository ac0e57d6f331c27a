"""Opening untrusted image bytes with Pillow: an allow-list of formats and one typed error.

Web (header sniffing at upload) and worker (full decoding) share this so that both accept and
refuse exactly the same files, with the same reasons.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import BinaryIO

from PIL import Image, UnidentifiedImageError

# Only these plugins are ever tried, so an EPS never reaches Ghostscript and an SVG or PDF is
# refused by name rather than by accident. (Phone JPEGs that Pillow reports as MPO come in
# through the JPEG plugin.)
ALLOWED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF")


class ImageError(ValueError):
    """An image that cannot be classified, with a stable code and a message a user can act on."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


@dataclass(frozen=True)
class ImageInfo:
    format: str
    width: int
    height: int
    mode: str


def _describe_unknown(data: bytes) -> str:
    head = data[:16].lstrip()
    for magic, name in ((b"%PDF", "PDF"), (b"<svg", "SVG"), (b"<?xml", "SVG/XML"),
                        (b"%!PS", "EPS/PostScript"), (b"\xc5\xd0\xd3\xc6", "EPS"),
                        (b"PK\x03\x04", "zip archive")):
        if head.startswith(magic):
            return f"{name} files are not supported"
    if data[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1", b"ftypavif"):
        return "HEIC/AVIF images are not supported; convert to JPEG or PNG"
    return "not a recognised image"


def open_image(data: bytes | BinaryIO, *, max_pixels: int) -> Image.Image:
    """Open (header only) and check size; raises ImageError, never anything else from Pillow."""
    fp = io.BytesIO(data) if isinstance(data, bytes) else data
    head = fp.read(16)
    fp.seek(0)
    if not head:
        raise ImageError("empty", "the file is empty (0 bytes)")
    try:
        with warnings.catch_warnings():
            # Pillow only warns between 1x and 2x its own limit; we refuse there too.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(fp, formats=ALLOWED_FORMATS)
    except UnidentifiedImageError:
        raise ImageError(
            "unsupported_format",
            f"{_describe_unknown(head)}; allowed: JPEG, PNG, WebP, GIF, BMP, TIFF",
        ) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError("too_many_pixels", f"decompression bomb refused: the header claims "
                         f"more than max_pixels ({max_pixels:,}) pixels ({exc})") from None
    except Exception as exc:  # Pillow raises many types for corrupt headers
        raise ImageError("corrupt", f"unreadable image header: {exc}") from None
    if img.width * img.height > max_pixels:
        raise ImageError(
            "too_many_pixels",
            f"{img.width}x{img.height} is over the limit max_pixels of {max_pixels:,} pixels",
        )
    if img.width < 1 or img.height < 1:
        raise ImageError("corrupt", f"the header says {img.width}x{img.height} pixels")
    return img


def sniff(data: bytes | BinaryIO, *, max_pixels: int) -> ImageInfo:
    """Format and size from the header alone: cheap enough for the web to call per upload."""
    img = open_image(data, max_pixels=max_pixels)
    return ImageInfo(format=img.format or "unknown", width=img.width, height=img.height,
                     mode=img.mode)


def load_pixels(img: Image.Image) -> Image.Image:
    """Decode the pixels, mapping truncation and corruption to ImageError."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError("too_many_pixels", f"decompression bomb refused: {exc}") from None
    except OSError as exc:
        if "truncated" in str(exc).lower():
            raise ImageError("truncated", "the image file is truncated (incomplete upload?)") \
                from None
        raise ImageError("corrupt", f"the image data is corrupt: {exc}") from None
    except Exception as exc:
        raise ImageError("corrupt", f"the image data is corrupt: {exc}") from None
    return img
