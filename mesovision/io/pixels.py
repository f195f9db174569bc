"""Decoding pixels: the 8-bit, 16-bit and float paths, and the JPEG quality estimate.

:func:`decode_pixels` returns the decoded array in its own type (``uint8``, ``uint16`` or
``float32``) and in sRGB: Pillow decodes and converts 8-bit images through the embedded profile
(:mod:`mesovision.io.icc`); 16-bit RGB PNG and TIFF, which Pillow reduces to 8 bits, are decoded
again with ``cv2.imdecode`` and checked against Pillow's high byte. :func:`to_float` scales to
``[0, 1]``. :func:`jpeg_quality` ranks a JPEG by the IJG quality whose luminance table is nearest
to the file's.
"""

from __future__ import annotations

import logging

import cv2
import numpy as np
from PIL import Image

from .._native_stderr import native_stderr_to_debug_log
from .exif import ORIENTATION_TAG, apply_orientation
from .icc import apply_icc, gamut_clipped, looks_srgb, parse_icc
from .reasons import short_message

__all__ = ["decode_pixels", "jpeg_quality", "palette_colours", "to_float", "transparent_share"]

logger = logging.getLogger(__name__)


#: The IJG (libjpeg) luminance quantization table at quality 50 (ITU T.81 Annex K), natural
#: order (Pillow reports the tables in natural order).
_IJG_LUMA = np.array(
    [
        [16, 11, 10, 16, 24, 40, 51, 61],
        [12, 12, 14, 19, 26, 58, 60, 55],
        [14, 13, 16, 24, 40, 57, 69, 56],
        [14, 17, 22, 29, 51, 87, 80, 62],
        [18, 22, 37, 56, 68, 109, 103, 77],
        [24, 35, 55, 64, 81, 104, 113, 92],
        [49, 64, 78, 87, 103, 121, 120, 101],
        [72, 92, 95, 98, 112, 100, 103, 99],
    ],
    np.float64,
).ravel()


def _ijg_table(quality: int) -> np.ndarray:
    scale = 5000.0 / quality if quality < 50 else 200.0 - 2.0 * quality
    return np.clip(np.floor((_IJG_LUMA * scale + 50.0) / 100.0), 1, 255)


def jpeg_quality(luma_table) -> int | None:
    """The IJG quality (1-100) whose luminance table is nearest (sum of absolute differences)
    to ``luma_table`` (64 values, natural order), or ``None`` without a table. Camera tables
    are not IJG's; the nearest quality still ranks them."""
    if luma_table is None:
        return None
    t = np.asarray(list(luma_table), np.float64).ravel()
    if t.size != 64:
        return None
    errs = [np.abs(_ijg_table(q) - t).sum() for q in range(1, 101)]
    return int(np.argmin(errs)) + 1


def _is_16bit_rgb(im: Image.Image, data: bytes, fmt: str | None) -> bool:
    """Pillow decodes 16-bit RGB(A) PNG/TIFF to 8 bits; detect them from the header."""
    if fmt == "PNG" and data[12:16] == b"IHDR":
        return data[24] == 16 and data[25] in (2, 4, 6)  # RGB, grey+alpha, RGBA
    if fmt == "TIFF":
        tags = getattr(im, "tag_v2", {})
        bits, sample_format = tags.get(258, ()), tags.get(339, 1)  # BitsPerSample, SampleFormat
        bits = bits if isinstance(bits, tuple) else (bits,)
        sample_format = sample_format if isinstance(sample_format, tuple) else (sample_format,)
        unsigned_int = all(v == 1 for v in sample_format)
        return len(bits) >= 3 and all(b == 16 for b in bits) and unsigned_int
    return False


def _decode_16bit(
    im: Image.Image, data: bytes, fmt: str, orientation: int, oriented: bool, spath: str
) -> np.ndarray | None:
    """16-bit RGB pixels in the orientation of Pillow's (loaded, 8-bit) ``im``, or ``None``.

    ``cv2.imdecode`` reads the 16 bits; its TIFF decoder has applied the orientation tag even with
    ``IMREAD_IGNORE_ORIENTATION``, so the result is checked against Pillow's 8-bit decode (which
    keeps the high byte): the candidate (as decoded, or oriented) whose high byte matches within 1
    is used; if none does, a warning is logged and the 8-bit decode is kept.
    """
    flags = cv2.IMREAD_ANYDEPTH | cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION
    try:
        with native_stderr_to_debug_log(spath):
            arr = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), flags)
    except cv2.error as exc:
        logger.warning(
            "%s: 16-bit %s decoder failed (%s); using 8 bits", spath, fmt, short_message(exc)
        )
        return None
    if arr is None or arr.dtype != np.uint16 or arr.ndim != 3:
        logger.warning("%s: 16-bit %s could not be decoded at 16 bits; using 8 bits", spath, fmt)
        return None
    arr = cv2.cvtColor(arr, cv2.COLOR_BGR2RGB)
    ref = np.asarray(im if im.mode == "RGB" else im.convert("RGB")).astype(np.int16)
    candidates = (
        [apply_orientation(arr, orientation), arr] if oriented and orientation != 1 else [arr]
    )
    for c in candidates:
        if c.shape == ref.shape and np.abs((c >> 8).astype(np.int16) - ref).max() <= 1:
            return np.ascontiguousarray(c)
    logger.warning("%s: 16-bit %s decode does not match the 8-bit one; using 8 bits", spath, fmt)
    return None


def decode_pixels(
    im: Image.Image,
    data: bytes,
    fmt: str | None,
    target: tuple[int, int],
    orientation: int,
    spath: str,
) -> tuple[np.ndarray, int, str | None, bool, np.ndarray | None]:
    """Decode to an sRGB ``uint8``/``uint16``/``float32`` array.

    ``target``: the working ``(width, height)`` in stored orientation (a JPEG may be decoded
    smaller, never below it). Returned: the array, its bit depth, the profile converted, whether
    the decoder applied the EXIF ``orientation`` (Pillow does for TIFF), :func:`gamut_clipped`.
    """
    icc = parse_icc(im, spath)
    want16 = _is_16bit_rgb(im, data, fmt)
    if want16 and icc is not None and not looks_srgb(icc):
        logger.warning(
            "%s: 16-bit image with ICC profile %r converted to sRGB at 8 bits",
            spath,
            icc.description,
        )
        want16 = False

    if fmt in ("JPEG", "MPO") and target[0] * 2 <= im.size[0] and target[1] * 2 <= im.size[1]:
        im.draft(None, target)  # DCT-domain reduction by 2, 4 or 8; result >= target
    tags = getattr(im, "tag_v2", None) if fmt == "TIFF" else None
    had_orientation = tags is not None and ORIENTATION_TAG in tags
    with native_stderr_to_debug_log(spath):
        im.load()  # frame 0: open() leaves a multi-frame file there
    oriented = had_orientation and ORIENTATION_TAG not in im.tag_v2

    if want16:
        arr16 = _decode_16bit(im, data, fmt or "image", orientation, oriented, spath)
        if arr16 is not None:
            return arr16, 16, icc.description if icc else None, oriented, None

    mode = im.mode
    if mode.startswith("I;16") or mode == "I":
        a = np.asarray(im)
        if mode == "I" and (a.min() < 0 or a.max() > 65535):
            raise ValueError(f"32-bit integer image with values outside 0..65535 ({mode})")
        a16 = a.astype(np.uint16)
        if icc is not None and icc.color_space == "GRAY":
            logger.warning(
                "%s: 16-bit greyscale with ICC profile %r converted at 8 bits",
                spath,
                icc.description,
            )
            a8 = ((a16.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
            out, desc = apply_icc(Image.fromarray(a8, mode="L"), icc, spath)
            return np.asarray(out), 8, desc, oriented, None
        if icc is not None:
            logger.warning(
                "%s: ICC profile %r (%s) does not fit a greyscale image; treating it as sRGB",
                spath,
                icc.description,
                icc.color_space,
            )
        return a16, 16, None, oriented, None
    if mode == "F":
        a = np.asarray(im, dtype=np.float32)
        if not np.isfinite(a).all():
            raise ValueError("float image has NaN or infinite values")
        lo, hi = float(a.min()), float(a.max())
        if lo < -1e-6 or hi > 1 + 1e-6:
            raise ValueError(f"float image values must be in [0, 1], got [{lo:g}, {hi:g}]")
        return np.clip(a, 0.0, 1.0), 16, None, oriented, None

    if mode in ("1", "LA", "La"):
        im = im.convert("L")
    elif mode in ("P", "PA"):
        has_alpha = mode == "PA" or "transparency" in im.info
        im = im.convert("RGBA" if has_alpha else "RGB")
    if im.mode in ("RGBA", "RGBa", "RGBX"):
        im = im.convert("RGB")  # alpha dropped, not composited (see load_photo's notes)
    elif im.mode not in ("RGB", "L", "CMYK"):
        im = im.convert("RGB")
    out, desc = apply_icc(im, icc, spath)
    return np.asarray(out), 8, desc, oriented, gamut_clipped(im, out, icc) if desc else None


def transparent_share(im: Image.Image) -> float:
    """The share of the pixels of the decoded image ``im`` that are not fully opaque: its alpha
    channel (RGBA, LA, PA, premultiplied) below 255, or its pixels of a transparent palette entry
    or colour (``transparency``); 0.0 for an image without transparency. :func:`decode_pixels`
    drops the alpha: this says what a viewer would not show."""
    bands = im.getbands()
    if "A" in bands or "a" in bands:
        alpha = im.getchannel("A" if "A" in bands else "a")
    elif "transparency" in im.info and im.mode in ("P", "L", "RGB"):
        alpha = im.convert("RGBA").getchannel("A")
    else:
        return 0.0
    a = np.asarray(alpha)
    return float(np.count_nonzero(a < 255) / a.size) if a.size else 0.0


def palette_colours(im: Image.Image) -> int:
    """The number of entries of the palette of the opened image ``im`` when it is a palette
    image (mode ``P`` or ``PA``; a PNG's ``PLTE`` chunk), else 0: such a file holds its colours
    quantized to these, whatever :func:`decode_pixels` makes of them."""
    if im.mode not in ("P", "PA"):
        return 0
    return len(im.getpalette() or ()) // 3


def to_float(a: np.ndarray) -> np.ndarray:
    # Division (not multiplication by 1/255) gives the correctly rounded float32 of v / 255.
    if a.dtype == np.uint8:
        return a.astype(np.float32) / np.float32(255)
    if a.dtype == np.uint16:
        return a.astype(np.float32) / np.float32(65535)
    return a.astype(np.float32, copy=False)
