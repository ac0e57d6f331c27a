"""A corpus of hostile and broken uploads, made on the fly, each with the outcome it must get.

`IMAGE_CASES` go into one job together: each must end `done`, or `failed` with a reason of
the given code, while the others complete. `ARCHIVE_CASES` are zips whose entries become
images the same way. `LIMIT_CASES` are requests the web must refuse whole (413, naming the
limit) under the settings given.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from tests.support.images import photo

DONE = "done"


@dataclass(frozen=True)
class Case:
    """One uploaded file and its expected outcome: DONE or the code its error starts with."""

    filename: str
    data: bytes
    expect: str | tuple[str, ...]
    entries: dict[str, str | tuple[str, ...]] = field(default_factory=dict)  # zips: name -> expect


def _save(img: Image.Image, fmt: str, **options: Any) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, fmt, **options)
    return buffer.getvalue()


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def png_header_only(width: int, height: int, idat: bytes = b"") -> bytes:
    """A PNG whose header claims width x height, followed by (almost) no pixel data."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr)
            + _png_chunk(b"IDAT", idat or zlib.compress(b"\x00" * 64)) + _png_chunk(b"IEND", b""))


def png_text_bomb() -> bytes:
    """A valid tiny PNG carrying a zTXt chunk that inflates to 64 MiB."""
    base = _save(Image.new("RGB", (8, 8)), "PNG")
    bomb = _png_chunk(b"zTXt", b"k\x00\x00" + zlib.compress(b"a" * (64 << 20), 9))
    return base[:33] + bomb + base[33:]


def gif_bomb() -> bytes:
    """A GIF whose logical screen and single frame claim 65535 x 65535 pixels."""
    header = b"GIF89a" + struct.pack("<HHBBB", 65535, 65535, 0, 0, 0)
    frame = b"\x2c" + struct.pack("<HHHHB", 0, 0, 65535, 65535, 0)
    return header + frame + b"\x02\x02\x44\x01\x00\x3b"


def jpeg_huge_header() -> bytes:
    """A real JPEG whose SOF marker is rewritten to claim 60000 x 60000 pixels."""
    data = bytearray(photo(1, size=(16, 16)))
    sof = data.find(b"\xff\xc0")
    data[sof + 5: sof + 9] = struct.pack(">HH", 60000, 60000)
    return bytes(data)


def exif_rotated_jpeg() -> bytes:
    img = Image.open(io.BytesIO(photo(11, size=(96, 64))))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to view
    return _save(img, "JPEG", exif=exif.tobytes())


def corrupt_exif_jpeg() -> bytes:
    data = photo(12, size=(64, 64))
    app1 = b"\xff\xe1\x00\x20Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08\xff\xff" + b"\x00" * 16
    return data[:2] + app1 + data[2:]


def animated_gif() -> bytes:
    frames = [Image.new("P", (48, 48), color=i * 40) for i in range(5)]
    return _save(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=50, loop=0)


def palette_with_transparency() -> bytes:
    img = Image.new("P", (40, 40))
    img.putpalette([i % 256 for i in range(768)])
    img.paste(7, (0, 0, 20, 40))
    return _save(img, "PNG", transparency=7)


def sixteen_bit_png() -> bytes:
    ramp = (np.arange(64 * 64, dtype=np.uint16).reshape(64, 64) * 16).astype(np.uint16)
    return _save(Image.fromarray(ramp), "PNG")


def zip_bytes(entries: list[tuple[str | zipfile.ZipInfo, bytes]],
              method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, data in entries:
            archive.writestr(name, data)
    return buffer.getvalue()


def zip_with_encrypted_flag() -> bytes:
    """Its first entry says "encrypted" (flag bit 0), so reading it needs a password."""
    data = bytearray(zip_bytes([("secret.jpg", photo(20, size=(32, 32))),
                                ("plain.jpg", photo(21, size=(32, 32)))]))
    data[6] |= 0x1  # the first local header
    central = data.find(b"PK\x01\x02")
    data[central + 8] |= 0x1  # and its central directory entry
    return bytes(data)


def zip_with_corrupt_deflate() -> bytes:
    data = bytearray(zip_bytes([("broken.jpg", photo(22, size=(64, 64)))]))
    start = 30 + len("broken.jpg")  # local header, then the deflate stream
    data[start + 10: start + 40] = b"\xff" * 30
    return bytes(data)


def zip_many(count: int, image: bytes) -> bytes:
    return zip_bytes([(f"many/{i:05d}.png", image) for i in range(count)],
                     method=zipfile.ZIP_STORED)


def image_cases() -> list[Case]:
    tiny = _save(Image.new("RGB", (1, 1), (200, 10, 10)), "PNG")
    return [
        Case("empty.jpg", b"", "empty"),
        Case("notes.jpg", b"just some text, renamed to .jpg\n" * 20, "unsupported_format"),
        Case("truncated.jpg", photo(2)[: len(photo(2)) // 2], ("truncated", "corrupt")),
        Case("truncated.png", photo(3, fmt="PNG")[:3000], ("truncated", "corrupt")),
        Case("bomb.png", png_header_only(100_000, 100_000), "too_many_pixels"),
        Case("bomb.gif", gif_bomb(), "too_many_pixels"),
        Case("huge-header.jpg", jpeg_huge_header(), "too_many_pixels"),
        Case("big-header-tiny-data.png", png_header_only(5000, 5000), ("truncated", "corrupt")),
        Case("text-bomb.png", png_text_bomb(), "corrupt"),
        Case("cmyk.jpg", _save(Image.new("CMYK", (64, 64), (10, 200, 30, 5)), "JPEG"), DONE),
        Case("sixteen-bit.png", sixteen_bit_png(), DONE),
        Case("palette-transparent.png", palette_with_transparency(), DONE),
        Case("rotated.jpg", exif_rotated_jpeg(), DONE),
        Case("corrupt-exif.jpg", corrupt_exif_jpeg(), DONE),
        Case("animated.gif", animated_gif(), DONE),
        Case("drawing.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><rect/></svg>',
             "unsupported_format"),
        Case("document.pdf", b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF",
             "unsupported_format"),
        Case("printer.eps", b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n",
             "unsupported_format"),
        Case("phone.heic", b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64,
             "unsupported_format"),
        Case("modern.webp", _save(Image.open(io.BytesIO(photo(4, size=(64, 64)))), "WEBP"), DONE),
        Case("old.bmp", _save(Image.open(io.BytesIO(photo(5, size=(64, 64)))), "BMP"), DONE),
        Case("scan.tiff", _save(Image.open(io.BytesIO(photo(6, size=(64, 64)))), "TIFF"), DONE),
        Case("grey.jpg", _save(Image.new("L", (64, 64), 90), "JPEG"), DONE),
        Case("alpha.png", _save(Image.new("RGBA", (64, 64), (1, 2, 3, 100)), "PNG"), DONE),
        Case("one-pixel.png", tiny, DONE),
        Case("фото-写真-📷.jpg", photo(7, size=(64, 64)), DONE),
        Case("ctrl\x07\x1b[31mname\t\x7f.jpg", photo(8, size=(64, 64)), DONE),
        Case("x" * 296 + ".jpg", photo(9, size=(64, 64)), DONE),
        Case("dup.jpg", photo(10, size=(64, 64)), DONE),
        Case("dup.jpg", photo(13, size=(64, 64)), DONE),
        Case("not-a-zip.zip", b"PK\x03\x04 this is no archive" * 10, "bad_archive"),
    ]


def archive_cases() -> list[Case]:
    img = photo(30, size=(48, 48))
    return [
        Case("climb.zip", zip_bytes([("../../etc/evil.jpg", img), ("/abs/path.jpg", img),
                                     ("ok/\x07bell.jpg", img), ("dir/../../up.jpg", img)]), DONE,
             entries={"etc/evil.jpg": DONE, "abs/path.jpg": DONE, "ok/bell.jpg": DONE,
                      "dir/up.jpg": DONE}),
        Case("ratio-bomb.zip", zip_bytes([("zeros.jpg", b"\x00" * (8 << 20)),
                                          ("fine.jpg", img)]), DONE,
             entries={"zeros.jpg": "zip_bomb", "fine.jpg": DONE}),
        Case("nested.zip", zip_bytes([("inner.zip", zip_bytes([("a.jpg", img)])),
                                      ("outer.jpg", img)]), DONE,
             entries={"inner.zip": "nested_archive", "outer.jpg": DONE}),
        Case("names.zip", zip_bytes([("名前/ünïcödé.jpg", img), ("dup.jpg", img),
                                     ("dup.jpg", photo(31, size=(48, 48))),
                                     ("line\r\nbreak\x00.jpg", img),  # zipfile cuts at NUL
                                     ("y" * 300 + ".jpg", img)]),
             DONE, entries={"名前/ünïcödé.jpg": DONE, "dup.jpg": DONE, "linebreak": DONE,
                            "y" * 241 + ".jpg": DONE}),  # cut to 255 with the prefix
        Case("encrypted.zip", zip_with_encrypted_flag(), DONE,
             entries={"secret.jpg": "bad_archive", "plain.jpg": DONE}),
        Case("corrupt-entry.zip", zip_with_corrupt_deflate(), DONE,
             entries={"broken.jpg": "bad_archive"}),
    ]


def limit_cases() -> list[tuple[str, bytes, dict[str, int], str]]:
    """(filename, bytes, settings overrides, the limit a 413 must name)."""
    tiny = _save(Image.new("RGB", (1, 1)), "PNG")
    return [
        ("entries.zip", zip_many(10_001, tiny), {}, "max_zip_entries"),
        ("directory-bomb.zip", zip_bytes([(f"d{i}/", b"") for i in range(1000)]),
         {"max_zip_entries": 100}, "max_zip_entries"),
        ("expands.zip", zip_bytes([(f"{i}.jpg", photo(40 + i)) for i in range(6)]),
         {"max_zip_bytes": 100_000}, "max_zip_bytes"),
        ("big.jpg", photo(50, size=(900, 900)), {"max_request_bytes": 50_000},
         "max_request_bytes"),
    ]


def corpus_size() -> int:
    return (len(image_cases()) + sum(max(1, len(c.entries)) for c in archive_cases())
            + len(limit_cases()))
