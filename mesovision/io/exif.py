"""EXIF: the orientation tag and the whitelisted capture fields.

The orientation (tag 0x0112) is read from Pillow's parsed EXIF, or, when Pillow cannot parse
the block at all, from the raw bytes of IFD0 (:func:`orientation_from_raw`); an invalid value
is logged and taken as 1. :func:`apply_orientation` turns stored pixels upright.
Pillow's ``ImageOps.exif_transpose`` is not used: it re-serializes the EXIF block, which has
crashed on malformed phone EXIF (Pillow issues 8548, 8605, 8348).

Of the rest of the metadata only :class:`~mesovision.types.CaptureInfo` is kept (date, make,
model, lens, exposure, f-number, ISO, focal length), as short printable text or positive finite
numbers. GPS, serial numbers, owner, maker notes and comments are never copied into any output.
"""

from __future__ import annotations

import logging
import math
import re
import struct
from typing import Any

import numpy as np
from PIL import Image

from ..types import CaptureInfo
from .reasons import EXIF_ERRORS, short_message

__all__ = [
    "ORIENTATION_TAG",
    "apply_orientation",
    "capture_info",
    "get_exif",
    "orientation_from_raw",
    "read_orientation",
    "valid_orientation",
]

logger = logging.getLogger(__name__)


ORIENTATION_TAG = 0x0112
_EXIF_IFD_TAG = 0x8769
_MAKE, _MODEL, _DATETIME = 0x010F, 0x0110, 0x0132
_DATETIME_ORIGINAL, _EXPOSURE_TIME, _F_NUMBER = 0x9003, 0x829A, 0x829D
_ISO, _FOCAL_LENGTH, _LENS_MODEL = 0x8827, 0x920A, 0xA434


def get_exif(im: Image.Image, spath: str) -> Image.Exif | None:
    try:
        exif = im.getexif()
        # Pillow parses lazily; touch IFD0 now so that a broken block fails here.
        _ = exif.get(ORIENTATION_TAG)
    except EXIF_ERRORS as exc:
        if isinstance(exc, (OSError, EOFError)) and "truncated" in str(exc).lower():
            # PNG's getexif() decodes the whole file to find an eXIf chunk after the pixels: the
            # pixel decode below reports the truncation as the error; no warning before it.
            logger.debug("%s: EXIF not read (%s)", spath, short_message(exc))
            return None
        logger.warning(
            "%s: EXIF block could not be parsed (%s); ignoring it", spath, short_message(exc)
        )
        return None
    return exif


def valid_orientation(value: Any, spath: str) -> int:
    try:
        o = int(value[0] if isinstance(value, (tuple, list)) else value)
    except (TypeError, ValueError, IndexError):
        o = 0
    if 1 <= o <= 8:
        return o
    logger.warning("%s: invalid EXIF orientation %r; using 1", spath, value)
    return 1


def read_orientation(im: Image.Image, exif: Image.Exif | None, spath: str) -> int:
    if exif is not None:
        value = exif.get(ORIENTATION_TAG)
        return 1 if value is None else valid_orientation(value, spath)
    raw = im.info.get("exif")
    value = orientation_from_raw(raw) if isinstance(raw, (bytes, bytearray)) else None
    return 1 if value is None else valid_orientation(value, spath)


def orientation_from_raw(raw: bytes) -> int | None:
    """Tag 0x0112 from IFD0 of a raw EXIF/TIFF block (with or without ``Exif\\0\\0``), or None."""
    b = bytes(raw)
    if b.startswith(b"Exif\x00\x00"):
        b = b[6:]
    if b[:4] == b"II*\x00":
        endian = "<"
    elif b[:4] == b"MM\x00*":
        endian = ">"
    else:
        return None
    try:
        (ifd,) = struct.unpack_from(endian + "I", b, 4)
        (count,) = struct.unpack_from(endian + "H", b, ifd)
        for i in range(min(count, 1000)):
            entry = ifd + 2 + 12 * i
            tag, typ, n = struct.unpack_from(endian + "HHI", b, entry)
            if tag == ORIENTATION_TAG and typ == 3 and n >= 1:
                return struct.unpack_from(endian + "H", b, entry + 8)[0]
    except struct.error:
        return None
    return None


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    if not isinstance(value, str):
        return None
    value = _CONTROL.sub("", value.split("\x00", 1)[0]).strip()
    return value[:128] or None


def _number(value: Any) -> float | None:
    if isinstance(value, (tuple, list)):
        value = value[0] if value else None
    try:
        x = float(value)
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        return None
    return x if math.isfinite(x) and x > 0 else None


def capture_info(exif: Image.Exif | None, spath: str) -> CaptureInfo:
    """Whitelisted capture fields only; private tags are never copied (see the module doc)."""
    if exif is None:
        return CaptureInfo()
    try:
        sub = exif.get_ifd(_EXIF_IFD_TAG)
    except EXIF_ERRORS as exc:
        logger.warning("%s: EXIF sub-IFD could not be parsed (%s)", spath, short_message(exc))
        sub = {}
    try:
        iso = _number(sub.get(_ISO))
        return CaptureInfo(
            datetime_original=_text(sub.get(_DATETIME_ORIGINAL)) or _text(exif.get(_DATETIME)),
            make=_text(exif.get(_MAKE)),
            model=_text(exif.get(_MODEL)),
            lens_model=_text(sub.get(_LENS_MODEL)),
            exposure_time_s=_number(sub.get(_EXPOSURE_TIME)),
            f_number=_number(sub.get(_F_NUMBER)),
            iso=int(round(iso)) if iso is not None else None,
            focal_length_mm=_number(sub.get(_FOCAL_LENGTH)),
        )
    except EXIF_ERRORS as exc:
        logger.warning("%s: EXIF capture fields could not be read (%s)", spath, short_message(exc))
        return CaptureInfo()


def apply_orientation(a: np.ndarray, orientation: int) -> np.ndarray:
    """Apply EXIF orientation (the transform that displays the stored pixels upright)."""
    if orientation == 2:
        return a[:, ::-1]
    if orientation == 3:
        return a[::-1, ::-1]
    if orientation == 4:
        return a[::-1, :]
    if orientation == 5:
        return a.swapaxes(0, 1)
    if orientation == 6:
        return np.rot90(a, k=-1)
    if orientation == 7:
        return a.swapaxes(0, 1)[::-1, ::-1]
    if orientation == 8:
        return np.rot90(a, k=1)
    return a
