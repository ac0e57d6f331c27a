"""Raw image bytes to the 224x224 RGB array both models take, the Keras way or the fast way.

Two modes, chosen per process (TWINLENS_PREPROCESS):

* ``keras`` (reference): for 8-bit images without an EXIF orientation the result is exactly
  ``keras.utils.load_img(path, target_size=(224, 224))`` (``convert("RGB")`` of the full image,
  then a NEAREST resize). Where Keras is wrong for users twinlens differs on purpose, in both
  modes: twinlens applies the EXIF orientation (a portrait phone photo is not classified lying
  on its side), and scales 16-bit images to 8 bits (``value >> 8``) where Keras's
  ``convert("RGB")`` clips them, which turns most 16-bit photos white.
* ``fast`` (default): a JPEG is decoded at 1/2, 1/4 or 1/8 scale in the DCT domain
  (``Image.draft``: the smallest scale still at least 224 on both sides), then resized with an
  antialiased BILINEAR (triangle) filter. NEAREST on a 12-megapixel photo keeps one pixel in
  ~240 and aliases; the antialiased filter averages them, and DCT scaling is itself an
  average, so the result is close to a full-resolution antialiased resize (bounded in
  tests/engine). On a 12-megapixel photo-like JPEG it takes ~22 ms against ~52 ms for the
  Keras path on the 2-core dev machine (benchmarks/engine_throughput.py): libjpeg-turbo must
  still Huffman-decode every coefficient, which is the floor. BILINEAR rather than LANCZOS:
  no ringing and no sharpening of JPEG artefacts, and it is the filter of common ImageNet
  training pipelines. Alpha is dropped by ``convert("RGB")`` in both modes, as Keras does.

Errors are ``shared.imageio.ImageError``; nothing else escapes for bad bytes.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PIL import Image, ImageOps, JpegImagePlugin

from shared.imageio import ImageError, load_pixels, open_image

SIZE = (224, 224)  # (width, height) for Pillow; the array is (224, 224, 3)
MODES = ("fast", "keras")
EXIF_ORIENTATION = 0x0112
SIXTEEN_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I")
# Pillow's reduce() by an integer box first while the image is over 3x the target: as fast as
# a draft for PNGs and others, and Pillow documents 3.0 as indistinguishable from a fair resize.
REDUCING_GAP = 3.0


def decode(data: bytes, *, mode: str = "fast", max_pixels: int) -> np.ndarray:
    """Image bytes to a uint8 (224, 224, 3) RGB array; ImageError for anything unusable."""
    if mode not in MODES:
        raise ValueError(f"preprocess mode must be one of {MODES}, not {mode!r}")
    img = open_image(data, max_pixels=max_pixels)
    if mode == "fast" and isinstance(img, JpegImagePlugin.JpegImageFile):
        img.draft("RGB", SIZE)  # DCT-domain downscale: decodes 1/4..1/64 of the pixels
    img = load_pixels(img)
    try:
        img = _to_rgb(_upright(img))
        if mode == "keras":
            img = img.resize(SIZE, Image.Resampling.NEAREST) if img.size != SIZE else img
        else:
            img = img.resize(SIZE, Image.Resampling.BILINEAR, reducing_gap=REDUCING_GAP)
        array = np.asarray(img, dtype=np.uint8)
    except (OSError, ValueError) as exc:  # e.g. a mode Pillow cannot convert
        raise ImageError("corrupt", f"the image cannot be converted to RGB: {exc}") from None
    if array.shape != (SIZE[1], SIZE[0], 3):
        raise ImageError("corrupt", f"unexpected decoded shape {array.shape}")
    return array


def model_input(batch: np.ndarray, preprocess_input: Callable[..., np.ndarray]) -> np.ndarray:
    """The float32 array a model is fed: its own preprocess_input on a copy of the batch."""
    return preprocess_input(np.array(batch, dtype=np.float32))


def _upright(img: Image.Image) -> Image.Image:
    """Apply the EXIF orientation (Keras ignores it); a broken EXIF block is ignored too."""
    try:
        orientation = img.getexif().get(EXIF_ORIENTATION, 1)
    except Exception:  # corrupt EXIF must not make a decodable image fail
        return img
    if orientation in (None, 1):
        return img
    return ImageOps.exif_transpose(img)


def _to_rgb(img: Image.Image) -> Image.Image:
    """Any Pillow mode to 8-bit RGB; 16-bit samples are scaled (>> 8), never clipped."""
    if img.mode in SIXTEEN_BIT_MODES:
        wide = np.asarray(img).astype(np.uint32)  # "I" holds 16-bit PNGs in older Pillows
        img = Image.fromarray((np.clip(wide, 0, 65535) >> 8).astype(np.uint8))
    return img if img.mode == "RGB" else img.convert("RGB")
