"""Preprocessing: identical to Keras on every format, deliberate differences, bad files."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, JpegImagePlugin

from shared.imageio import ImageError
from worker.engine import preprocessing
from worker.engine.registry import MODELS

LIMIT = 50_000_000


def keras_input(path, spec) -> np.ndarray:
    """The notebook's model input: load_img, img_to_array, the model's preprocess_input."""
    import keras

    img = keras.utils.load_img(path, target_size=(224, 224))
    return spec.preprocess_input(keras.utils.img_to_array(img)[None])


def our_input(data: bytes, spec, mode: str = "keras") -> np.ndarray:
    pixels = preprocessing.decode(data, mode=mode, max_pixels=LIMIT)
    return preprocessing.model_input(pixels[None], spec.preprocess_input)


def _animated_gif(photos, encode) -> bytes:
    first, second = (Image.fromarray(photos[n]).resize((300, 200)) for n in ("coffee", "rocket"))
    buffer = io.BytesIO()
    first.save(buffer, "GIF", save_all=True, append_images=[second], duration=100, loop=0)
    return buffer.getvalue()


def _palette_transparent_png(photos, encode) -> bytes:
    img = Image.fromarray(photos["chelsea"]).quantize(64)
    return encode(img, "PNG", transparency=0)


def _rgba_png(photos, encode) -> bytes:
    rgb = photos["astronaut"]
    alpha = np.tile(np.linspace(0, 255, rgb.shape[1], dtype=np.uint8), (rgb.shape[0], 1))
    return encode(np.dstack([rgb, alpha]), "PNG")


FORMATS = {
    "jpeg": lambda p, e: e(p["astronaut"], "JPEG", quality=90),
    "progressive jpeg": lambda p, e: e(p["coffee"], "JPEG", quality=85, progressive=True),
    "png": lambda p, e: e(p["chelsea"], "PNG"),
    "webp lossy": lambda p, e: e(p["rocket"], "WEBP", quality=80),
    "webp lossless": lambda p, e: e(p["chelsea"], "WEBP", lossless=True),
    "gif": lambda p, e: e(Image.fromarray(p["coffee"]).quantize(256), "GIF"),
    "animated gif": _animated_gif,
    "bmp": lambda p, e: e(p["rocket"], "BMP"),
    "tiff": lambda p, e: e(p["astronaut"], "TIFF", compression="tiff_lzw"),
    "grayscale jpeg": lambda p, e: e(p["camera"][..., 0], "JPEG"),
    "grayscale png": lambda p, e: e(p["camera"][..., 0], "PNG"),
    "palette+transparency png": _palette_transparent_png,
    "rgba png": _rgba_png,
    "cmyk jpeg": lambda p, e: e(Image.fromarray(p["coffee"]).convert("CMYK"), "JPEG"),
    "small png (upscaled)": lambda p, e: e(p["chelsea"][::4, ::4], "PNG"),
    "exactly 224x224": lambda p, e: e(p["astronaut"][:224, :224], "PNG"),
}


@pytest.mark.parametrize("kind", FORMATS)
def test_keras_mode_is_exactly_keras(kind, photos, encode, tmp_path):
    data = FORMATS[kind](photos, encode)
    path = tmp_path / "image"
    path.write_bytes(data)
    for spec in MODELS.values():
        ours, theirs = our_input(data, spec), keras_input(path, spec)
        assert ours.dtype == theirs.dtype == np.float32
        assert ours.shape == theirs.shape == (1, 224, 224, 3)
        np.testing.assert_array_equal(ours, theirs)


def test_decode_gives_uint8_rgb_224(photos, encode):
    for mode in preprocessing.MODES:
        pixels = preprocessing.decode(encode(photos["coffee"], "PNG"), mode=mode,
                                      max_pixels=LIMIT)
        assert pixels.dtype == np.uint8 and pixels.shape == (224, 224, 3)


def test_animated_gif_uses_the_first_frame(photos, encode):
    gif = _animated_gif(photos, encode)
    frames = Image.open(io.BytesIO(gif))
    frames.seek(1)
    second = encode(frames.convert("RGB"), "PNG")
    first = preprocessing.decode(gif, mode="keras", max_pixels=LIMIT)
    assert np.abs(first.astype(int) - preprocessing.decode(
        second, mode="keras", max_pixels=LIMIT)).mean() > 20


def test_exif_orientation_is_applied_unlike_keras(photos, encode, tmp_path):
    upright = Image.fromarray(photos["chelsea"])  # landscape 451x300
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # lying on its side, 300x451
    exif = Image.Exif()
    exif[preprocessing.EXIF_ORIENTATION] = 6  # "rotate 90 degrees clockwise to display"
    data = encode(stored, "JPEG", quality=95, exif=exif.tobytes())
    # Reference: Keras on the decoded pixels turned upright by hand, stored losslessly.
    decoded = Image.open(io.BytesIO(data)).convert("RGB")
    turned = decoded.transpose(Image.Transpose.ROTATE_270)
    assert turned.size == upright.size
    assert np.abs(np.asarray(turned, int) - np.asarray(upright, int)).mean() < 3
    reference = tmp_path / "upright.png"
    turned.save(reference)
    spec = MODELS["vgg16"]
    np.testing.assert_array_equal(our_input(data, spec), keras_input(reference, spec))
    (tmp_path / "exif.jpg").write_bytes(data)
    assert not np.array_equal(our_input(data, spec), keras_input(tmp_path / "exif.jpg", spec))


@pytest.mark.parametrize("fmt", ["PNG", "TIFF"])
def test_16_bit_is_scaled_not_clipped_unlike_keras(fmt, photos, encode, tmp_path):
    grey8 = photos["camera"][..., 0]
    low_byte = np.random.default_rng(0).integers(0, 256, grey8.shape)
    grey16 = (grey8.astype(np.uint16) << 8 | low_byte).astype(np.uint16)
    data = encode(grey16, fmt)
    assert Image.open(io.BytesIO(data)).mode.startswith("I;16")
    reference = tmp_path / "grey8.png"
    Image.fromarray(grey8).save(reference)
    spec = MODELS["resnet50"]
    np.testing.assert_array_equal(our_input(data, spec), keras_input(reference, spec))
    (tmp_path / "grey16").write_bytes(data)
    import keras

    clipped = np.asarray(keras.utils.load_img(tmp_path / "grey16"))
    assert (clipped == 255).mean() > 0.9  # Keras: nearly everything white


def _full_resolution_resize(data: bytes) -> np.ndarray:
    img = Image.open(io.BytesIO(data)).convert("RGB")
    return np.asarray(img.resize((224, 224), Image.Resampling.BILINEAR), np.float64)


def _large_photo(photos) -> np.ndarray:
    """A 2048x2048 'camera' photo: an upscaled photo with sensor-like grain."""
    big = Image.fromarray(photos["astronaut"]).resize((2048, 2048), Image.Resampling.BICUBIC)
    grain = np.random.default_rng(1).normal(0, 6, (2048, 2048, 3))
    return np.clip(np.asarray(big, np.float64) + grain, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("name", ["astronaut", "hubble", "large"])
def test_fast_mode_difference_is_bounded(name, photos, encode):
    """Fast = DCT draft + antialiased BILINEAR: within 2/255 (mean) of a full-resolution
    antialiased resize, within 8/255 of the Keras path (whose NEAREST aliases)."""
    pixels = _large_photo(photos) if name == "large" else photos[name]
    data = encode(pixels, "JPEG", quality=90)
    fast = preprocessing.decode(data, mode="fast", max_pixels=LIMIT).astype(np.float64)
    keras_like = preprocessing.decode(data, mode="keras", max_pixels=LIMIT).astype(np.float64)
    ideal = _full_resolution_resize(data)
    assert np.abs(fast - ideal).mean() < 2.0
    assert np.abs(fast - keras_like).mean() < 8.0
    assert np.abs(fast - ideal).mean() < np.abs(keras_like - ideal).mean()


def test_fast_mode_drafts_jpegs_only(photos, encode, monkeypatch):
    calls = []
    original = JpegImagePlugin.JpegImageFile.draft
    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft",
                        lambda self, *args: calls.append(args) or original(self, *args))
    data = encode(_large_photo(photos), "JPEG")
    preprocessing.decode(data, mode="keras", max_pixels=LIMIT)
    assert calls == []
    preprocessing.decode(data, mode="fast", max_pixels=LIMIT)
    assert calls == [("RGB", (224, 224))]


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims width x height: enough for Image.open to see its size."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body)))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))


EPS = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nnewpath 0 0 moveto showpage\n"
BAD_FILES = {
    "empty": (lambda p, e: b"", "empty"),
    "text renamed .jpg": (lambda p, e: b"just some notes, not a photo\n" * 10,
                          "unsupported_format"),
    "truncated jpeg": (lambda p, e: (lambda d: d[: len(d) // 2])(e(p["chelsea"], "JPEG")),
                       "truncated"),
    "truncated png": (lambda p, e: (lambda d: d[: len(d) // 2])(e(p["chelsea"], "PNG")),
                      "truncated"),
    "pdf": (lambda p, e: b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer\n%%EOF\n",
            "unsupported_format"),
    "svg": (lambda p, e: b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>',
            "unsupported_format"),
    "eps": (lambda p, e: EPS, "unsupported_format"),
    "decompression bomb header": (lambda p, e: _png_header_only(40_000, 40_000),
                                  "too_many_pixels"),
}


@pytest.mark.parametrize("kind", BAD_FILES)
@pytest.mark.parametrize("mode", preprocessing.MODES)
def test_bad_files_raise_image_error(kind, mode, photos, encode, monkeypatch):
    from PIL import EpsImagePlugin

    ghostscript = []
    monkeypatch.setattr(EpsImagePlugin, "Ghostscript",
                        lambda *a, **k: ghostscript.append(a) or pytest.fail("Ghostscript ran"))
    monkeypatch.setattr(EpsImagePlugin.subprocess, "check_call",
                        lambda *a, **k: ghostscript.append(a) or pytest.fail("a process ran"))
    make, code = BAD_FILES[kind]
    # A limit far above Pillow's own: the bomb must be refused by Pillow's check, still on.
    with pytest.raises(ImageError) as caught:
        preprocessing.decode(make(photos, encode), mode=mode, max_pixels=10**12)
    assert caught.value.code == code
    assert caught.value.message and str(caught.value).startswith(code)
    assert ghostscript == []


def test_over_max_pixels_is_refused_before_decoding(photos, encode):
    data = encode(photos["astronaut"], "PNG")  # 262,144 pixels
    with pytest.raises(ImageError) as caught:
        preprocessing.decode(data, max_pixels=200_000)
    assert caught.value.code == "too_many_pixels"
    assert "200,000" in caught.value.message
    assert preprocessing.decode(data, max_pixels=262_144).shape == (224, 224, 3)


def test_unknown_mode_is_a_value_error(photos, encode):
    with pytest.raises(ValueError):
        preprocessing.decode(encode(photos["coffee"], "PNG"), mode="bicubic", max_pixels=LIMIT)
