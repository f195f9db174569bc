"""Loading photos safely and writing outputs atomically.

:func:`load_photo` turns a file into a :class:`~mesovision.types.Photo`: the working copy as
``float32`` sRGB in ``[0, 1]`` shaped ``(row, col, 3)`` (the package's array convention, see
:mod:`mesovision.types`), plus what is needed to map it back to the file's pixels and to prove
which file it came from (SHA-256 of the bytes).

Decoding goes through Pillow with a format whitelist (JPEG, PNG, TIFF, WebP, BMP, HEIF/HEIC); the
pixel count is checked from the header before any pixel is decoded; the EXIF orientation is applied;
an embedded ICC profile is converted to sRGB (relative colorimetric); 16-bit PNG and TIFF keep
their depth. Every failure is an :class:`~mesovision.errors.InputFileError` (the file cannot be
read) or an :class:`~mesovision.errors.InvalidImage` (the bytes are not a usable image), with a
one-line reason and the path.

Of the metadata only :class:`~mesovision.types.CaptureInfo` is kept (date, make, model, lens,
exposure, f-number, ISO, focal length). GPS, serial numbers, owner, maker notes and comments are
never copied into any output.

Writers (:func:`atomic_write_bytes`, :func:`write_png`, :func:`write_json`) write a temporary file
in the target's directory, ``fsync`` it and move it into place with one ``os.replace``/``os.link``,
so a reader never sees half a file; an existing output is kept unless ``force=True``. Written files
are readable by their owner only (mode 0600): outputs derive from patient photos.
:func:`output_folder` makes a command's outputs all-or-nothing: they are written into a hidden
staging folder on the same file system and moved into place only when all of them exist; an
interrupted run leaves the previous outputs, and its leftovers are removed by the next run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import enum
import functools
import hashlib
import io
import json
import logging
import math
import os
import re
import shutil
import stat
import struct
import tempfile
import threading
import warnings
import zlib
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path, PurePath
from typing import Any

import cv2
import numpy as np
from PIL import Image, ImageCms, ImageFile, UnidentifiedImageError

from ._native_stderr import native_stderr_to_debug_log
from .errors import InputFileError, InvalidImage, OutputError, OutputExists
from .types import CaptureInfo, Photo

logger = logging.getLogger(__name__)

# Decoding of a truncated file must fail, never return a partly grey image.
ImageFile.LOAD_TRUNCATED_IMAGES = False

#: Pillow format ids accepted by :func:`load_photo` ("HEIF" only once pillow-heif is registered).
FORMATS: tuple[str, ...] = ("JPEG", "PNG", "TIFF", "WEBP", "BMP", "HEIF")

# Exceptions Pillow's (and pillow-heif's) decoders raise on bad data. Anything else is a bug.
_DECODER_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    ValueError,
    SyntaxError,
    EOFError,
    struct.error,
    IndexError,
    KeyError,
    TypeError,
    ZeroDivisionError,
    OverflowError,
    NotImplementedError,
    RuntimeError,  # pillow-heif: corrupt data, "Security limit exceeded" (found by fuzzing)
)
_EXIF_ERRORS = _DECODER_ERRORS + (AttributeError, UnicodeDecodeError)

_ORIENTATION_TAG = 0x0112
_EXIF_IFD_TAG = 0x8769
_MAKE, _MODEL, _DATETIME = 0x010F, 0x0110, 0x0132
_DATETIME_ORIGINAL, _EXPOSURE_TIME, _F_NUMBER = 0x9003, 0x829A, 0x829D
_ISO, _FOCAL_LENGTH, _LENS_MODEL = 0x8827, 0x920A, 0xA434

# Bytes per pixel an uncompressed image can need at most (RGBA float32); bounds the file size.
_MAX_BYTES_PER_PIXEL = 16
_SCALE_TOLERANCE = 1e-3

_heif_registered: bool | None = None  # None: not tried yet; False: pillow-heif unavailable


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


_WARNINGS_LOCK = threading.Lock()


def load_photo(
    path: str | os.PathLike[str],
    *,
    max_side: int | None = 2048,
    max_pixels: int = 60_000_000,
) -> Photo:
    """Decode an image file into a :class:`~mesovision.types.Photo` (sRGB float32 working copy).

    Parameters
    ----------
    path : str or os.PathLike
        JPEG, PNG, TIFF, WebP, BMP or HEIF/HEIC file.
    max_side : int or None, optional
        Longest side of the working copy in pixels (default 2048). A larger image is downscaled
        (``cv2.INTER_AREA``; JPEGs are first decoded at 1/2, 1/4 or 1/8 size when the target is at
        most half the original) with one common scale ``s = new_width / original_width`` for both
        axes, so that ``x_orig = (x_work + 0.5) / s - 0.5`` (:meth:`Photo.to_original`). ``None``
        keeps full resolution. Smaller images are never upscaled.
    max_pixels : int, optional
        Largest accepted ``width * height`` of the file (default 60 000 000), checked from the
        header before decoding. Pillow's own limit (``PIL.Image.MAX_IMAGE_PIXELS``, about 89.5 MP)
        also applies: raise it to accept larger files.

    Returns
    -------
    Photo
        ``rgb`` is float32 ``(H, W, 3)`` in ``[0, 1]``, C-contiguous, sRGB-encoded, in display
        orientation; ``original_size`` is the file's ``(width, height)`` after orientation;
        ``scale`` is working px per original px (``<= 1``); ``bit_depth`` is 16 for 16-bit PNG/TIFF
        (and float TIFF), else 8; ``exif_orientation`` is the EXIF orientation (1-8) that was
        applied; ``icc_profile`` is the description of the embedded profile converted to sRGB, or
        ``None`` (no profile, or a profile that could not be used: the pixels are then taken as
        sRGB and a warning is logged); ``sha256`` is the SHA-256 of the file's bytes.

    Raises
    ------
    InputFileError
        The path does not exist, is a directory or not a regular file, or cannot be read.
    InvalidImage
        Zero bytes, not an image, an unsupported format, truncated or corrupt data, more pixels
        than ``max_pixels``, a side shorter than :data:`MIN_SIDE_PX` (32) in the file or in the
        working copy ("image too narrow"), or an aspect ratio too extreme for one common scale.

    Notes
    -----
    * Alpha is dropped, not composited: the colour under a transparent pixel is kept as it is
      (for a palette image, the palette colour). Face photos carry no meaningful transparency.
    * Animated or multi-page files: frame 0 is used and a warning is logged (for MPO, the
      multi-picture JPEG written by many cameras, frame 0 is the main image and nothing is logged).
    * EXIF orientation is read from tag 0x0112 and applied to the pixel array here; Pillow's
      ``ImageOps.exif_transpose`` is not used because it re-serializes the EXIF block, which has
      crashed on malformed phone EXIF (Pillow issues 8548, 8605, 8348). If Pillow cannot parse the
      EXIF block at all, tag 0x0112 is read from the raw bytes. HEIF files are already rotated by
      the decoder (pillow-heif resets the tag); the orientation it applied is recorded, and not
      applied a second time.
    * 16-bit RGB PNG/TIFF are decoded with ``cv2.imdecode`` (Pillow reduces them to 8 bits). With
      an embedded ICC profile that is not sRGB they are converted at 8 bits (Pillow's colour
      management is 8-bit only) and ``bit_depth`` is 8; a warning says so.
    * A float (mode ``F``) TIFF must hold values in ``[0, 1]``.
    """
    spath = str(path)
    if max_side is not None and (not isinstance(max_side, (int, np.integer)) or max_side < 1):
        raise ValueError(f"max_side must be a positive integer or None, got {max_side!r}")
    if not isinstance(max_pixels, (int, np.integer)) or max_pixels < 1:
        raise ValueError(f"max_pixels must be a positive integer, got {max_pixels!r}")

    data = _read_file(Path(path), spath, max_bytes=_MAX_BYTES_PER_PIXEL * max_pixels + (16 << 20))
    digest = hashlib.sha256(data).hexdigest()
    formats = _formats()

    # catch_warnings swaps process-wide state: concurrent loads take turns here for the header,
    # and for the pixels of every format but JPEG (reading and hashing the file, above, overlap).
    with _WARNINGS_LOCK, warnings.catch_warnings(record=True) as caught:
        # Decoder warnings (e.g. Pillow's "Corrupt EXIF data") go to our log, not to stderr.
        warnings.simplefilter("always")
        # Pillow warns (does not raise) between MAX_IMAGE_PIXELS and twice that: refuse instead.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            im = Image.open(io.BytesIO(data), formats=list(formats))
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise InvalidImage(_bomb_reason(exc, max_pixels), path=spath) from None
        except UnidentifiedImageError:
            raise InvalidImage(_unidentified_reason(data), path=spath) from None
        except _DECODER_ERRORS as exc:
            kind = _sniff(data) or "image"
            raise InvalidImage(f"corrupt {kind} header ({_short(exc)})", path=spath) from None
        try:
            head = _read_header(im, spath, max_side=max_side, max_pixels=max_pixels)
            quiet = head.fmt in _QUIET_DECODERS
            photo = None if quiet else _decoded(im, data, spath, digest, head, max_pixels)
        except BaseException:
            im.close()
            raise
    # A JPEG's pixels are decoded outside the lock, side by side with another load: libjpeg
    # releases the GIL, and neither it nor Pillow's JPEG path warns through `warnings` (libjpeg's
    # messages go to the native stderr, which _decode redirects to the debug log).
    with im:
        if photo is None:
            photo = _decoded(im, data, spath, digest, head, max_pixels)
    # Logged only once the photo has loaded: an error is the one line a bad file gets.
    for w in caught:
        logger.warning("%s: %s", spath, _short(w.message))
    return photo


#: Formats whose pixel decoding emits no Python warning (see load_photo).
_QUIET_DECODERS = ("JPEG",)  # MPO files read as JPEG


@dataclasses.dataclass(frozen=True)
class _Header:
    """What :func:`load_photo` reads before decoding the pixels."""

    fmt: str | None
    width: int  # display orientation
    height: int
    new_w: int  # working copy
    new_h: int
    scale: float
    target: tuple[int, int]  # working (width, height) in stored orientation
    applied: int  # EXIF orientation recorded
    to_apply: int  # EXIF orientation still to apply to the decoded pixels
    capture: CaptureInfo


def _read_header(im: Image.Image, spath: str, *, max_side: int | None, max_pixels: int) -> _Header:
    fmt = {"HEIC": "HEIF", "MPO": "JPEG"}.get(im.format or "", im.format)
    file_w, file_h = _stored_size(im, fmt)
    if file_w < 1 or file_h < 1:
        raise InvalidImage(f"image has no pixels ({file_w}x{file_h})", path=spath)
    n_pixels = file_w * file_h
    if n_pixels > max_pixels:
        raise InvalidImage(
            f"image has {n_pixels} pixels ({file_w}x{file_h}), limit is {max_pixels}", path=spath
        )
    try:
        n_frames = getattr(im, "n_frames", 1)
    except _DECODER_ERRORS as exc:
        # Counting frames reads every page's header (TIFF); a broken later page must not stop
        # frame 0 from loading (found by fuzzing: TypeError "Missing dimensions"). Warned through
        # `warnings`, so that it is logged only if the photo then loads.
        warnings.warn(
            f"{fmt} pages after the first are unreadable ({_short(exc)}); using page 0",
            stacklevel=2,
        )
        n_frames = 1
        try:
            im.seek(0)
        except _DECODER_ERRORS as exc2:
            raise InvalidImage(_decode_reason(exc2, fmt), path=spath) from None
    if n_frames > 1 and im.format != "MPO":
        logger.warning("%s: %s has %d frames; using frame 0", spath, fmt, n_frames)

    exif = _get_exif(im, spath)
    if fmt == "HEIF":
        # pillow-heif rotates while decoding and resets the EXIF tag; record what it applied.
        applied = _valid_orientation(im.info.get("original_orientation") or 1, spath)
        to_apply = 1
    else:
        applied = to_apply = _orientation(im, exif, spath)
    capture = _capture_info(exif, spath)

    swap = to_apply in (5, 6, 7, 8)
    width, height = (file_h, file_w) if swap else (file_w, file_h)
    side = _draft_side(max(width, height), max_side) if fmt in ("JPEG", "MPO") else max_side
    _check_wide_enough(width, height, side, spath)
    new_w, new_h, scale = _working_size(width, height, side, spath)
    target = (new_h, new_w) if swap else (new_w, new_h)  # (width, height) in file orientation
    return _Header(fmt, width, height, new_w, new_h, scale, target, applied, to_apply, capture)


# -- JPEG quality -----------------------------------------------------------------------------

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


def _decoded(
    im: Image.Image, data: bytes, spath: str, digest: str, head: _Header, max_pixels: int
) -> Photo:
    """The photo of an opened image whose header is read."""
    fmt, target, to_apply = head.fmt, head.target, head.to_apply
    try:
        pixels, bit_depth, icc_desc, oriented = _decode(im, data, fmt, target, to_apply, spath)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise InvalidImage(_bomb_reason(exc, max_pixels), path=spath) from None
    except _DECODER_ERRORS as exc:
        raise InvalidImage(_decode_reason(exc, fmt), path=spath) from None
    if oriented:  # recent Pillow already applied (TIFF) the orientation while decoding
        target, to_apply = (head.new_w, head.new_h), 1

    if (pixels.shape[1], pixels.shape[0]) != target:
        # Resized in the decoded integer type: ~30 ms faster on a 12-MP photo than in float32, at
        # the cost of one rounding to the source's own quantization step.
        pixels = cv2.resize(np.ascontiguousarray(pixels), target, interpolation=cv2.INTER_AREA)
    rgb = _to_float(pixels)
    if rgb.ndim == 2:
        rgb = np.repeat(rgb[:, :, None], 3, axis=2)
    rgb = np.ascontiguousarray(_orient(rgb, to_apply), dtype=np.float32)
    assert rgb.shape == (head.new_h, head.new_w, 3), (rgb.shape, head.new_w, head.new_h)
    return Photo(
        rgb=rgb,
        path=spath,
        sha256=digest,
        original_size=(head.width, head.height),
        scale=head.scale,
        format=fmt,
        bit_depth=bit_depth,
        exif_orientation=head.applied,
        icc_profile=icc_desc,
        capture=head.capture,
        jpeg_quality=jpeg_quality((getattr(im, "quantization", None) or {}).get(0))
        if fmt == "JPEG"
        else None,
    )


def photo_from_array(rgb: np.ndarray, *, path: str | None = None) -> Photo:
    """Wrap an RGB array (already sRGB, display orientation) as a :class:`Photo`.

    Parameters
    ----------
    rgb : numpy.ndarray
        ``(H, W, 3)``: ``uint8`` (0-255), ``uint16`` (0-65535) or float in ``[0, 1]`` (finite).
    path : str, optional
        Recorded as ``Photo.path`` and named in errors.

    Returns
    -------
    Photo
        ``rgb`` as C-contiguous float32; ``scale`` 1; ``original_size`` the array's
        ``(width, height)``; ``bit_depth`` 8 for ``uint8``, else 16; ``sha256`` the SHA-256 of
        ``b"<H>x<W>x3 float32\\n"`` followed by the float32 array's bytes (the shape is hashed so
        that two arrays with the same bytes and different shapes differ).

    Raises
    ------
    InvalidImage
        Wrong shape or dtype, non-finite values, or floats outside ``[0, 1]``.
    """
    a = np.asarray(rgb)
    if a.ndim != 3 or a.shape[2] != 3 or a.shape[0] < 1 or a.shape[1] < 1:
        raise InvalidImage(f"expected an (H, W, 3) RGB array, got shape {a.shape}", path=path)
    if a.dtype == np.uint8:
        out, depth = a.astype(np.float32) / np.float32(255), 8
    elif a.dtype == np.uint16:
        out, depth = a.astype(np.float32) / np.float32(65535), 16
    elif np.issubdtype(a.dtype, np.floating):
        if not np.isfinite(a).all():
            raise InvalidImage("array has NaN or infinite values", path=path)
        lo, hi = float(a.min()), float(a.max())
        if lo < 0.0 or hi > 1.0:
            raise InvalidImage(f"float values must be in [0, 1], got [{lo:g}, {hi:g}]", path=path)
        out, depth = a.astype(np.float32), 16
    else:
        raise InvalidImage(f"unsupported dtype {a.dtype} (use uint8, uint16 or float)", path=path)
    out = np.ascontiguousarray(out)
    h, w = out.shape[:2]
    digest = hashlib.sha256(f"{h}x{w}x3 float32\n".encode() + out.tobytes()).hexdigest()
    return Photo(rgb=out, path=path, sha256=digest, original_size=(w, h), bit_depth=depth)


def sha256_file(path: str | os.PathLike[str]) -> str:
    """SHA-256 (hex) of a file's bytes, read in 1 MiB chunks.

    Raises
    ------
    InputFileError
        The file is missing, a directory, or cannot be read.
    """
    spath = str(path)
    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    except OSError as exc:
        raise InputFileError(_os_reason(exc), path=spath) from None
    return h.hexdigest()


# --- reading ---------------------------------------------------------------------------------


def _os_reason(exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError):
        return "no such file"
    if isinstance(exc, IsADirectoryError):
        return "is a directory"
    if isinstance(exc, PermissionError):
        return "permission denied"
    return f"cannot read ({exc.strerror or type(exc).__name__})"


def _read_file(p: Path, spath: str, *, max_bytes: int) -> bytes:
    try:
        st = os.stat(p)
    except OSError as exc:
        raise InputFileError(_os_reason(exc), path=spath) from None
    if stat.S_ISDIR(st.st_mode):
        raise InputFileError("is a directory", path=spath)
    if not stat.S_ISREG(st.st_mode):
        raise InputFileError("not a regular file", path=spath)
    if st.st_size > max_bytes:
        raise InvalidImage(
            f"file has {st.st_size} bytes, more than any image within the pixel limit "
            f"({max_bytes} bytes)",
            path=spath,
        )
    try:
        with open(p, "rb") as f:
            data = f.read()  # not read(n): that allocates n bytes up front
    except OSError as exc:
        raise InputFileError(_os_reason(exc), path=spath) from None
    if not data:
        raise InvalidImage("zero bytes", path=spath)
    if len(data) > max_bytes:
        raise InvalidImage(f"file has more than {max_bytes} bytes", path=spath)
    return data


def _formats() -> tuple[str, ...]:
    """Register pillow-heif once (lazily: it is a heavy import); return the accepted formats."""
    global _heif_registered
    if _heif_registered is None:
        try:
            import pillow_heif

            pillow_heif.register_heif_opener()
            _heif_registered = True
        except ImportError as exc:  # pragma: no cover - pillow-heif is a dependency
            logger.warning("pillow-heif is not available (%s); HEIF/HEIC cannot be read", exc)
            _heif_registered = False
    return FORMATS if _heif_registered else tuple(f for f in FORMATS if f != "HEIF")


# --- reasons -----------------------------------------------------------------------------------

_SIGNATURES: tuple[tuple[int, bytes, str], ...] = (
    (0, b"\xff\xd8\xff", "JPEG"),
    (0, b"\x89PNG\r\n\x1a\n", "PNG"),
    (0, b"II*\x00", "TIFF"),
    (0, b"MM\x00*", "TIFF"),
    (0, b"II+\x00", "TIFF"),
    (0, b"MM\x00+", "TIFF"),
    (0, b"BM", "BMP"),
    (0, b"GIF8", "GIF"),
    (0, b"%PDF", "PDF"),
    (0, b"8BPS", "PSD"),
    (0, b"\x00\x00\x00\x0cjP  ", "JPEG 2000"),
    (0, b"\xff\x4f\xff\x51", "JPEG 2000"),
    (0, b"\xff\x0a", "JPEG XL"),
    (4, b"ftypavif", "AVIF"),
    (0, b"PK\x03\x04", "ZIP"),
    (0, b"\x00\x00\x01\x00", "ICO"),
)
_HEIF_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1")


def _sniff(data: bytes) -> str | None:
    """Name the container format from its magic number, or ``None``."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WebP"
    if data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS:
        return "HEIF"
    for offset, magic, name in _SIGNATURES:
        if data[offset : offset + len(magic)] == magic:
            return name
    return None


def _unidentified_reason(data: bytes) -> str:
    kind = _sniff(data)
    if kind in ("JPEG", "PNG", "TIFF", "BMP", "WebP", "HEIF"):
        return f"truncated or corrupt {kind} header"
    if kind is not None:
        return f"unsupported format ({kind}); supported: JPEG, PNG, TIFF, WebP, BMP, HEIF/HEIC"
    head = data[:1024]
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None and all(c.isprintable() or c in "\t\r\n\f" for c in text):
        return "not an image (text file?)"
    return "not an image (unrecognised format)"


def _short(exc: BaseException) -> str:
    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    msg = re.sub(r"<_io\.BytesIO object at 0x[0-9a-f]+>", "data", msg)
    return msg if len(msg) <= 120 else msg[:117] + "..."


def _decode_reason(exc: BaseException, fmt: str | None) -> str:
    msg = str(exc).lower()
    if isinstance(exc, EOFError) or "truncated" in msg or "premature end" in msg:
        return f"truncated {fmt or 'image'}"
    return f"corrupt {fmt or 'image'} data ({_short(exc)})"


def _bomb_reason(exc: BaseException, max_pixels: int) -> str:
    m = re.search(r"\((\d+) pixels\) exceeds limit of (\d+)", str(exc))
    if not m:
        return f"too many pixels ({_short(exc)})"
    n, pillow_limit = int(m.group(1)), int(m.group(2))
    if n > max_pixels:
        return f"image has {n} pixels, limit is {max_pixels}"
    return (
        f"image has {n} pixels, limit is {pillow_limit} (PIL.Image.MAX_IMAGE_PIXELS; "
        "raise it to accept larger files)"
    )


# --- EXIF ----------------------------------------------------------------------------------------


def _get_exif(im: Image.Image, spath: str) -> Image.Exif | None:
    try:
        exif = im.getexif()
        # Pillow parses lazily; touch IFD0 now so that a broken block fails here.
        _ = exif.get(_ORIENTATION_TAG)
    except _EXIF_ERRORS as exc:
        if isinstance(exc, (OSError, EOFError)) and "truncated" in str(exc).lower():
            # PNG's getexif() decodes the whole file to find an eXIf chunk after the pixels: the
            # pixel decode below reports the truncation as the error; no warning before it.
            logger.debug("%s: EXIF not read (%s)", spath, _short(exc))
            return None
        logger.warning("%s: EXIF block could not be parsed (%s); ignoring it", spath, _short(exc))
        return None
    return exif


def _valid_orientation(value: Any, spath: str) -> int:
    try:
        o = int(value[0] if isinstance(value, (tuple, list)) else value)
    except (TypeError, ValueError, IndexError):
        o = 0
    if 1 <= o <= 8:
        return o
    logger.warning("%s: invalid EXIF orientation %r; using 1", spath, value)
    return 1


def _orientation(im: Image.Image, exif: Image.Exif | None, spath: str) -> int:
    if exif is not None:
        value = exif.get(_ORIENTATION_TAG)
        return 1 if value is None else _valid_orientation(value, spath)
    raw = im.info.get("exif")
    value = _orientation_from_raw(raw) if isinstance(raw, (bytes, bytearray)) else None
    return 1 if value is None else _valid_orientation(value, spath)


def _orientation_from_raw(raw: bytes) -> int | None:
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
            if tag == _ORIENTATION_TAG and typ == 3 and n >= 1:
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


def _capture_info(exif: Image.Exif | None, spath: str) -> CaptureInfo:
    """Whitelisted capture fields only; private tags are never copied (see the module doc)."""
    if exif is None:
        return CaptureInfo()
    try:
        sub = exif.get_ifd(_EXIF_IFD_TAG)
    except _EXIF_ERRORS as exc:
        logger.warning("%s: EXIF sub-IFD could not be parsed (%s)", spath, _short(exc))
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
    except _EXIF_ERRORS as exc:
        logger.warning("%s: EXIF capture fields could not be read (%s)", spath, _short(exc))
        return CaptureInfo()


# --- geometry --------------------------------------------------------------------------------


#: A JPEG decodes 2-8x faster at 1/2, 1/4 or 1/8 of its size (DCT-domain reduction). When such a
#: reduction gives a long side between this share of ``max_side`` and ``max_side``, the working
#: copy takes that size instead (a 4032-px phone photo gives 2016 px at ``max_side=2048``).
DRAFT_MIN_SHARE = 0.9


def _draft_side(long_side: int, max_side: int | None) -> int | None:
    if max_side is None or long_side <= max_side:
        return max_side
    for k in (8, 4, 2):
        reduced = -(-long_side // k)
        if DRAFT_MIN_SHARE * max_side <= reduced <= max_side:
            return reduced
    return max_side


#: Shortest side, in pixels, of an image the pipeline can measure (file and working copy): the
#: face mesh, the alignment's ECC pyramid and the texture filters need at least this much.
MIN_SIDE_PX = 32


def _check_wide_enough(width: int, height: int, max_side: int | None, spath: str) -> None:
    """Refuse an image whose short side (in the file, or once reduced to ``max_side``) is below
    :data:`MIN_SIDE_PX`, before the scale check (which a 1xN image would fail less clearly)."""
    limit = f"at least {MIN_SIDE_PX} px on each side"
    if min(width, height) < MIN_SIDE_PX:
        raise InvalidImage(f"image too narrow ({width} x {height} px; {limit})", path=spath)
    long_side = max(width, height)
    if max_side is not None and long_side > max_side:
        short = min(width, height) * max_side / long_side
        if round(short) < MIN_SIDE_PX:
            raise InvalidImage(
                f"image too narrow ({width} x {height} px, about {short:.0f} px wide at "
                f"max_side {max_side}; {limit})",
                path=spath,
            )


def _working_size(
    width: int, height: int, max_side: int | None, spath: str
) -> tuple[int, int, float]:
    """Working ``(width, height)`` and the common scale ``new_width / width``."""
    if max_side is None or max(width, height) <= max_side:
        return width, height, 1.0
    s = max_side / max(width, height)
    new_w, new_h = max(1, round(width * s)), max(1, round(height * s))
    sx, sy = new_w / width, new_h / height
    if abs(sx - sy) > _SCALE_TOLERANCE:
        raise InvalidImage(
            f"{width}x{height} cannot be reduced to max_side {max_side} with one scale "
            f"(width ratio {sx:.5f}, height ratio {sy:.5f})",
            path=spath,
        )
    return new_w, new_h, sx


def _stored_size(im: Image.Image, fmt: str | None) -> tuple[int, int]:
    """``(width, height)`` of the pixels as stored, before EXIF orientation.

    Recent Pillow reports a TIFF's size after its orientation tag; the tags give the stored one.
    (HEIF is rotated by the decoder: its stored size is taken to be the decoded one.)
    """
    if fmt == "TIFF":
        tags = getattr(im, "tag_v2", {})
        w, h = tags.get(256), tags.get(257)  # ImageWidth, ImageLength
        if isinstance(w, int) and isinstance(h, int):
            return w, h
    return im.size


def _orient(a: np.ndarray, orientation: int) -> np.ndarray:
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


# --- pixels ------------------------------------------------------------------------------------


@dataclasses.dataclass
class _Icc:
    profile: ImageCms.ImageCmsProfile
    description: str
    color_space: str  # "RGB", "GRAY", "CMYK", ...


def _parse_icc(im: Image.Image, spath: str) -> _Icc | None:
    raw = im.info.get("icc_profile")
    if not raw:
        return None
    try:
        prof = ImageCms.ImageCmsProfile(io.BytesIO(raw))
        desc = (ImageCms.getProfileDescription(prof) or "").strip() or "unnamed ICC profile"
        space = str(prof.profile.xcolor_space).strip()
    except (ImageCms.PyCMSError, *_DECODER_ERRORS) as exc:
        logger.warning(
            "%s: embedded ICC profile could not be parsed (%s); treating pixels as sRGB",
            spath,
            _short(exc),
        )
        return None
    return _Icc(prof, desc[:128], space)


def _looks_srgb(icc: _Icc) -> bool:
    return icc.color_space == "RGB" and icc.description.lower().startswith("srgb")


@functools.lru_cache(maxsize=1)
def _srgb() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def _apply_icc(im: Image.Image, icc: _Icc | None, spath: str) -> tuple[Image.Image, str | None]:
    """Convert an 8-bit image in a profile's space to sRGB RGB; no profile: plain conversion."""
    wanted = {"RGB": "RGB", "GRAY": "L", "CMYK": "CMYK"}.get(icc.color_space) if icc else None
    if icc is not None and wanted is not None and im.mode == wanted:
        try:
            out = ImageCms.profileToProfile(
                im,
                icc.profile,
                _srgb(),
                renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC,
                outputMode="RGB",
            )
        except (ImageCms.PyCMSError, *_DECODER_ERRORS) as exc:
            logger.warning(
                "%s: ICC profile %r could not be applied (%s); treating pixels as sRGB",
                spath,
                icc.description,
                _short(exc),
            )
        else:
            assert out is not None
            return out, icc.description
    elif icc is not None:
        logger.warning(
            "%s: ICC profile %r (%s) does not match image mode %s; treating pixels as sRGB",
            spath,
            icc.description,
            icc.color_space,
            im.mode,
        )
    return (im if im.mode in ("RGB", "L") else im.convert("RGB")), None


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
        logger.warning("%s: 16-bit %s decoder failed (%s); using 8 bits", spath, fmt, _short(exc))
        return None
    if arr is None or arr.dtype != np.uint16 or arr.ndim != 3:
        logger.warning("%s: 16-bit %s could not be decoded at 16 bits; using 8 bits", spath, fmt)
        return None
    arr = cv2.cvtColor(arr, cv2.COLOR_BGR2RGB)
    ref = np.asarray(im if im.mode == "RGB" else im.convert("RGB")).astype(np.int16)
    candidates = [_orient(arr, orientation), arr] if oriented and orientation != 1 else [arr]
    for c in candidates:
        if c.shape == ref.shape and np.abs((c >> 8).astype(np.int16) - ref).max() <= 1:
            return np.ascontiguousarray(c)
    logger.warning("%s: 16-bit %s decode does not match the 8-bit one; using 8 bits", spath, fmt)
    return None


def _decode(
    im: Image.Image,
    data: bytes,
    fmt: str | None,
    target: tuple[int, int],
    orientation: int,
    spath: str,
) -> tuple[np.ndarray, int, str | None, bool]:
    """Decode to an sRGB ``uint8``/``uint16``/``float32`` array.

    ``target`` is the working ``(width, height)`` in stored orientation; a JPEG may be decoded
    smaller than the file (never smaller than ``target``). The last value returned tells whether
    the decoder already applied the EXIF ``orientation`` (recent Pillow does for TIFF).
    """
    icc = _parse_icc(im, spath)
    want16 = _is_16bit_rgb(im, data, fmt)
    if want16 and icc is not None and not _looks_srgb(icc):
        logger.warning(
            "%s: 16-bit image with ICC profile %r converted to sRGB at 8 bits",
            spath,
            icc.description,
        )
        want16 = False

    if fmt in ("JPEG", "MPO") and target[0] * 2 <= im.size[0] and target[1] * 2 <= im.size[1]:
        im.draft(None, target)  # DCT-domain reduction by 2, 4 or 8; result >= target
    tags = getattr(im, "tag_v2", None) if fmt == "TIFF" else None
    had_orientation = tags is not None and _ORIENTATION_TAG in tags
    with native_stderr_to_debug_log(spath):
        im.load()  # frame 0: open() leaves a multi-frame file there
    oriented = had_orientation and _ORIENTATION_TAG not in im.tag_v2

    if want16:
        arr16 = _decode_16bit(im, data, fmt or "image", orientation, oriented, spath)
        if arr16 is not None:
            return arr16, 16, icc.description if icc else None, oriented

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
            out, desc = _apply_icc(Image.fromarray(a8, mode="L"), icc, spath)
            return np.asarray(out), 8, desc, oriented
        if icc is not None:
            logger.warning(
                "%s: ICC profile %r (%s) does not fit a greyscale image; treating it as sRGB",
                spath,
                icc.description,
                icc.color_space,
            )
        return a16, 16, None, oriented
    if mode == "F":
        a = np.asarray(im, dtype=np.float32)
        if not np.isfinite(a).all():
            raise ValueError("float image has NaN or infinite values")
        lo, hi = float(a.min()), float(a.max())
        if lo < -1e-6 or hi > 1 + 1e-6:
            raise ValueError(f"float image values must be in [0, 1], got [{lo:g}, {hi:g}]")
        return np.clip(a, 0.0, 1.0), 16, None, oriented

    if mode in ("1", "LA", "La"):
        im = im.convert("L")
    elif mode in ("P", "PA"):
        has_alpha = mode == "PA" or "transparency" in im.info
        im = im.convert("RGBA" if has_alpha else "RGB")
    if im.mode in ("RGBA", "RGBa", "RGBX"):
        im = im.convert("RGB")  # alpha dropped, not composited (see load_photo's notes)
    elif im.mode not in ("RGB", "L", "CMYK"):
        im = im.convert("RGB")
    out, desc = _apply_icc(im, icc, spath)
    return np.asarray(out), 8, desc, oriented


def _to_float(a: np.ndarray) -> np.ndarray:
    # Division (not multiplication by 1/255) gives the correctly rounded float32 of v / 255.
    if a.dtype == np.uint8:
        return a.astype(np.float32) / np.float32(255)
    if a.dtype == np.uint16:
        return a.astype(np.float32) / np.float32(65535)
    return a.astype(np.float32, copy=False)


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


def _write_error(path: Path, exc: OSError) -> OutputError:
    return OutputError(f"cannot write ({exc.strerror or type(exc).__name__})", path=str(path))


def _check_target(target: Path, force: bool) -> None:
    if target.is_dir():
        raise OutputExists("exists and is a directory", path=str(target))
    if not force and (target.exists() or target.is_symlink()):
        raise OutputExists("exists; use --force to overwrite", path=str(target))


def _fsync_dir(directory: Path) -> None:
    if os.name != "posix":  # pragma: no cover
        return
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, *, force: bool = False) -> Path:
    """Write ``data`` to ``path`` atomically: a reader sees the old file or the whole new one.

    The bytes go to a temporary file in the same directory (``.<name>.<random>.tmp``), which is
    flushed, ``fsync``-ed and then moved into place; on any error the temporary file is removed.
    Without ``force`` the move is ``os.link`` (fails if the target appeared meanwhile), falling back
    to a check and ``os.replace`` on file systems without hard links.

    Parameters
    ----------
    path : str or os.PathLike
        Target file; its directory must exist.
    data : bytes
        Content.
    force : bool, optional
        Replace an existing file (default ``False``).

    Returns
    -------
    pathlib.Path
        The target path.

    Raises
    ------
    OutputExists
        ``path`` exists and ``force`` is false (nothing is written), or ``path`` is a directory.
    OutputError
        The file cannot be written (missing directory, permissions, disk full).
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"data must be bytes, got {type(data).__name__}")
    target = Path(path)
    _check_target(target, force)
    parent = target.parent
    try:
        fd, tmp_name = tempfile.mkstemp(dir=parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        raise _write_error(target, exc) from None
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if force:
            os.replace(tmp, target)
        else:
            _publish_no_clobber(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        if isinstance(exc, OSError):
            raise _write_error(target, exc) from exc
        raise
    _fsync_dir(parent)
    return target


def _publish_no_clobber(tmp: Path, target: Path) -> None:
    try:
        os.link(tmp, target)
    except FileExistsError:
        raise OutputExists("exists; use --force to overwrite", path=str(target)) from None
    except OSError:  # no hard links here (some network or FAT file systems)
        if target.exists():
            raise OutputExists("exists; use --force to overwrite", path=str(target)) from None
        os.replace(tmp, target)
        return
    tmp.unlink()


def write_png(path: str | os.PathLike[str], image: np.ndarray, *, force: bool = False) -> Path:
    """Write an image or a mask as an 8-bit PNG built from the array alone (no metadata).

    Parameters
    ----------
    path : str or os.PathLike
        Target file (written atomically, see :func:`atomic_write_bytes`).
    image : numpy.ndarray
        float ``(H, W, 3)`` sRGB in ``[0, 1]`` (rounded to ``round(255 * v)``), ``uint8``
        ``(H, W, 3)`` RGB, or a mask: ``bool`` ``(H, W)`` (written 0/255) or ``uint8`` ``(H, W)``.
    force : bool, optional
        Replace an existing file.

    Returns
    -------
    pathlib.Path
        The target path.

    Raises
    ------
    ValueError
        Unsupported shape or dtype, non-finite values, or floats outside ``[0, 1]``.
    OutputExists
        The file exists and ``force`` is false.
    """
    a = np.asarray(image)
    if a.ndim == 2 and a.dtype == np.bool_:
        px = a.astype(np.uint8) * np.uint8(255)
    elif a.ndim == 2 and a.dtype == np.uint8:
        px = a
    elif a.ndim == 3 and a.shape[2] == 3 and a.dtype == np.uint8:
        px = a[:, :, ::-1]
    elif a.ndim == 3 and a.shape[2] == 3 and np.issubdtype(a.dtype, np.floating):
        if not np.isfinite(a).all():
            raise ValueError("image has NaN or infinite values")
        lo, hi = float(a.min()), float(a.max())
        if lo < 0.0 or hi > 1.0:
            raise ValueError(f"float image values must be in [0, 1], got [{lo:g}, {hi:g}]")
        px = np.rint(a[:, :, ::-1] * 255.0).astype(np.uint8)
    else:
        raise ValueError(
            "expected float (H, W, 3) in [0, 1], uint8 (H, W, 3), or a bool/uint8 (H, W) mask; "
            f"got {a.dtype} {a.shape}"
        )
    if px.shape[0] < 1 or px.shape[1] < 1:
        raise ValueError(f"image has no pixels: shape {a.shape}")
    ok, buf = cv2.imencode(".png", np.ascontiguousarray(px))
    if not ok:  # pragma: no cover - OpenCV fails only on unsupported input, excluded above
        raise ValueError(f"PNG encoding failed for {a.dtype} {a.shape}")
    return atomic_write_bytes(path, buf.tobytes(), force=force)


def _json_key(key: Any) -> str | int | float | bool | None:
    if isinstance(key, np.generic):
        key = key.item()
    if key is None or isinstance(key, (str, int, float, bool)):
        return key
    if isinstance(key, PurePath):
        return str(key)
    if isinstance(key, enum.Enum):
        return _json_key(key.value)
    raise TypeError(f"cannot use {type(key).__name__} as a JSON key")


def to_jsonable(obj: Any) -> Any:
    """Convert ``obj`` to plain JSON types; non-finite floats become ``None``.

    Handles numpy scalars and arrays, dataclasses (their fields, recursively), mappings, lists,
    tuples, sets (sorted), paths, enums (their value) and dates (ISO 8601).

    Raises
    ------
    TypeError
        For any other type (named in the message).
    """
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, int):
        return int(obj)
    if isinstance(obj, float):
        return float(obj) if math.isfinite(obj) else None
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return to_jsonable(obj.item())
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, Mapping):
        return {_json_key(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, (set, frozenset)):
        items = [to_jsonable(v) for v in obj]
        try:
            return sorted(items)
        except TypeError:
            return sorted(items, key=repr)
    if isinstance(obj, PurePath):
        return str(obj)
    if isinstance(obj, enum.Enum):
        return to_jsonable(obj.value)
    if isinstance(obj, (datetime.datetime, datetime.date, datetime.time)):
        return obj.isoformat()
    raise TypeError(f"cannot write {type(obj).__name__} to JSON")


def write_json(path: str | os.PathLike[str], obj: Any, *, force: bool = False) -> Path:
    """Write ``obj`` as indented UTF-8 JSON (key order kept), atomically.

    ``obj`` is first converted by :func:`to_jsonable` (numpy, dataclasses, tuples, paths; NaN and
    infinities become ``null``), then dumped with ``allow_nan=False``; nothing touches the disk
    until the whole text exists, so an unserializable object leaves no file behind.

    Raises
    ------
    TypeError
        ``obj`` holds a value with no JSON form.
    OutputExists
        The file exists and ``force`` is false.
    """
    text = json.dumps(
        to_jsonable(obj), indent=2, sort_keys=False, allow_nan=False, ensure_ascii=False
    )
    return atomic_write_bytes(path, (text + "\n").encode("utf-8"), force=force)


def _checked_outputs(out: Path, names: Iterable[str], *, force: bool) -> list[PurePath]:
    """The relative output names, after refusing bad names and (without ``force``) existing
    outputs; see :func:`prepare_output_dir`. Touches nothing."""
    rel = [PurePath(n) for n in names]
    for r in rel:
        if r.is_absolute() or ".." in r.parts or not r.parts:
            raise ValueError(f"output name must be relative, inside the directory: {str(r)!r}")
    if out.exists() and not out.is_dir():
        raise OutputExists("exists and is not a directory", path=str(out))
    if not force:
        existing = [out / r for r in rel if (out / r).exists() or (out / r).is_symlink()]
        if existing:
            more = f" (and {len(existing) - 1} more)" if len(existing) > 1 else ""
            raise OutputExists(f"exists; use --force to overwrite{more}", path=str(existing[0]))
    for r in rel:
        if (out / r).is_dir() and not (out / r).is_symlink():
            raise OutputExists("exists and is a directory", path=str(out / r))
    return rel


def prepare_output_dir(
    out_dir: str | os.PathLike[str], names: Iterable[str], *, force: bool = False
) -> Path:
    """Create ``out_dir`` (with parents) after checking that none of ``names`` exists in it.

    Call it before computing or writing anything, so that a refused run leaves no partial output.

    Parameters
    ----------
    out_dir : str or os.PathLike
        Output directory.
    names : iterable of str
        Relative file names the run will write (may contain sub-directories, which are created).
    force : bool, optional
        Allow existing outputs to be replaced later.

    Returns
    -------
    pathlib.Path
        The directory.

    Raises
    ------
    OutputExists
        ``out_dir`` is not a directory, or an output exists and ``force`` is false (the message
        names the first one and counts the others); nothing is created.
    ValueError
        A name is absolute or leaves ``out_dir`` (``..``).
    OutputError
        The directory cannot be created.
    """
    out = Path(out_dir)
    rel = _checked_outputs(out, names, force=force)
    try:
        out.mkdir(parents=True, exist_ok=True)
        for parent in {(out / r).parent for r in rel}:
            parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _write_error(out, exc) from None
    return out


# --- all-or-nothing output folders ---------------------------------------------------------------

#: ``tempfile`` names: ``.<target name>.<8 random characters>.partial`` (a staging folder of
#: :func:`output_folder`) and ``.<file name>.<8 random characters>.tmp`` (a temporary file of
#: :func:`atomic_write_bytes`). Only names of this shape are ever removed as leftovers.
_RANDOM = r"[a-z0-9_]{8}"


@contextlib.contextmanager
def output_folder(
    out_dir: str | os.PathLike[str], names: Iterable[str], *, force: bool = False
) -> Iterator[Path]:
    """Write a command's outputs all together or not at all.

    Use as ``with output_folder(out, names, force=force) as staging:`` and write every output
    to ``staging / name``. In order:

    1. The outputs are checked exactly as by :func:`prepare_output_dir` (an existing one without
       ``force`` raises :class:`~mesovision.errors.OutputExists`); nothing is touched on refusal.
    2. Leftovers of an earlier run into the same target that was killed (SIGKILL, power loss)
       are removed: staging folders ``.<out name>.<random>.partial`` beside and inside ``out_dir``,
       and temporary files ``.<output name>.<random>.tmp`` in ``out_dir``. Nothing else is
       touched, symbolic links are never followed, and a staging folder still locked by a
       running process is left alone.
    3. A fresh, hidden staging folder is made on the target's file system: beside ``out_dir``
       when that does not exist yet (parents are created), else inside it.
    4. When the block ends normally, the staging folder becomes ``out_dir`` with one rename
       (new target), or each output is moved in with ``os.replace`` (without ``force``:
       ``os.link``, refusing a file that appeared meanwhile), then the folder is ``fsync``-ed.
       When it ends with any exception, ``KeyboardInterrupt`` included, the staging folder is
       removed and ``out_dir`` is as before.

    With ``force`` and an existing ``out_dir``, the previous outputs are replaced one file at a
    time at the very end (each file is whole, old or new; an interruption in those milliseconds
    can leave a mix of old and new files, never a partial one).

    Parameters
    ----------
    out_dir : str or os.PathLike
        Output folder.
    names : iterable of str
        Relative file names the block writes (may contain sub-folders). A file in the staging
        folder that is not one of them fails the run before anything is moved.
    force : bool, optional
        Replace existing outputs.

    Yields
    ------
    pathlib.Path
        The staging folder.

    Raises
    ------
    OutputExists, ValueError
        As :func:`prepare_output_dir`.
    OutputError
        A folder cannot be made, or an output cannot be moved into place.
    """
    out = Path(out_dir)
    rel = _checked_outputs(out, names, force=force)
    _remove_leftovers(out, rel)
    new_target = not out.exists()
    home = out.parent if new_target else out
    try:
        home.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=home, prefix=f".{_label(out)}.", suffix=".partial"))
    except OSError as exc:
        raise _write_error(out, exc) from None
    lock = None
    try:
        try:
            lock = _lock_dir(staging)
            for parent in {(staging / r).parent for r in rel}:
                parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _write_error(out, exc) from None
        yield staging  # an exception of the block is raised here
        try:
            _publish_folder(staging, out, rel, force=force, new_target=new_target)
        except OSError as exc:
            raise _write_error(out, exc) from exc
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        if lock is not None:
            os.close(lock)


def _label(out: Path) -> str:
    """The folder's own name, also for ``.`` and other relative names without one."""
    return Path(os.path.abspath(out)).name


def _lock_dir(directory: Path) -> int | None:
    """An open descriptor holding an exclusive ``flock`` on ``directory`` (released when the
    process ends, however it ends), or ``None`` where ``flock`` is unavailable."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        return None
    fd = os.open(directory, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return fd


def _is_locked(directory: Path) -> bool:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        return False
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return True  # cannot tell: leave it alone
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)
    return False


def _remove_leftovers(out: Path, rel: list[PurePath]) -> None:
    """Remove what a killed run into ``out`` left (see :func:`output_folder`, step 2)."""
    staging = re.compile(rf"\.{re.escape(_label(out))}\.{_RANDOM}\.partial")
    tmp = re.compile("|".join(rf"\.{re.escape(r.name)}\.{_RANDOM}\.tmp" for r in rel) or r"(?!)")
    places = [(out.parent, staging), (out, staging)]
    places += [(out / p, tmp) for p in sorted({r.parent for r in rel})]
    for folder, pattern in places:
        try:
            with os.scandir(folder) as it:
                entries = [e for e in it if pattern.fullmatch(e.name)]
        except OSError:  # missing, not a folder, unreadable: nothing of ours to clean
            continue
        for e in entries:
            with contextlib.suppress(OSError):
                if pattern is tmp and e.is_file(follow_symlinks=False):
                    os.unlink(e.path)
                elif e.is_dir(follow_symlinks=False) and not _is_locked(Path(e.path)):
                    shutil.rmtree(e.path)  # never follows symbolic links
                    logger.info("removed %s, left by an interrupted run", e.path)


def _publish_folder(
    staging: Path, out: Path, rel: list[PurePath], *, force: bool, new_target: bool
) -> None:
    expected = {PurePath(*r.parts) for r in rel}
    found = {PurePath(p.relative_to(staging)) for p in staging.rglob("*") if not p.is_dir()}
    if found - expected:
        extra = sorted(map(str, found - expected))
        raise OutputError(f"unexpected output {extra[0]!r} (not declared)", path=str(out))
    if new_target:
        _fsync_dir(staging)
        try:
            os.rename(staging, out)  # atomic; fails if a non-empty out_dir appeared meanwhile
        except OSError:
            pass
        else:
            _fsync_dir(out.parent)
            return
    for r in rel:
        src = staging / r
        if not src.exists():
            continue
        target = out / r
        target.parent.mkdir(parents=True, exist_ok=True)
        if force:
            os.replace(src, target)
        else:
            _publish_no_clobber(src, target)
    for folder in sorted({(out / r).parent for r in rel}):
        _fsync_dir(folder)
    shutil.rmtree(staging, ignore_errors=True)


# --- managed copies without identifying metadata -------------------------------------------------

#: JPEG application segments kept (by marker and signature): JFIF/JFXX (APP0), the ICC profile
#: (APP2) and Adobe's colour-transform flag (APP14, needed to decode CMYK/YCCK correctly).
_JPEG_KEEP_APP = {
    0xE0: (b"JFIF\0", b"JFXX\0"),
    0xE2: (b"ICC_PROFILE\0",),
    0xEE: (b"Adobe",),
}
#: PNG chunks kept: the pixels, palette and transparency, colour (gamma, chromaticities, sRGB,
#: ICC), significant bits, background, pixel size and APNG frames. Text (tEXt/zTXt/iTXt, which
#: carries XMP), eXIf, tIME and private chunks are dropped.
_PNG_KEEP = frozenset(
    b"IHDR PLTE IDAT IEND tRNS gAMA cHRM sRGB iCCP sBIT bKGD pHYs acTL fcTL fdAT".split()
)
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: Pillow modes a PNG holds without loss; others (float, 32-bit integer, CMYK, ...) go to TIFF.
_PNG_MODES = frozenset({"1", "L", "LA", "P", "RGB", "RGBA", "I;16"})


def _orientation_tiff(orientation: int) -> bytes:
    """A big-endian TIFF/EXIF block holding only IFD0 tag 0x0112 (orientation)."""
    return (
        b"MM\x00\x2a\x00\x00\x00\x08"
        + struct.pack(">H", 1)
        + struct.pack(">HHIHH", _ORIENTATION_TAG, 3, 1, orientation, 0)
        + struct.pack(">I", 0)
    )


def strip_metadata(data: bytes, *, path: str | None = None) -> tuple[bytes, str]:
    """The image in ``data`` without identifying metadata, and its file extension.

    What goes: EXIF (GPS position, camera and lens serial numbers, owner, maker notes, dates),
    XMP, IPTC/Photoshop blocks, comments and text chunks, and bytes after the image's end (e.g.
    a JPEG's embedded preview images). What stays: the pixels, untouched, the ICC profile, and
    the EXIF orientation when it is not 1, as a minimal EXIF block holding that tag only (the
    photo is shown and measured upright as before).

    * JPEG (``.jpg``): segments are copied, never re-encoded: APP0 JFIF/JFXX, APP2 ICC and
      APP14 Adobe are kept with every non-application segment and the entropy-coded data;
      every other APPn segment and COM are dropped.
    * PNG (``.png``): whitelisted chunks (:data:`_PNG_KEEP`) are copied with their CRCs.
    * Anything else Pillow decodes (TIFF, WebP, HEIF, ...): the first frame's decoded pixels
      re-encoded losslessly, as PNG when its mode allows (``.png``), else as deflate TIFF
      (``.tif``), with the ICC profile and orientation only.

    Raises
    ------
    InvalidImage
        ``data`` is not an image this function can read (names ``path`` and the reason).
    """
    if data[:3] == b"\xff\xd8\xff":
        return _strip_jpeg(data, path), ".jpg"
    if data[:8] == _PNG_SIGNATURE:
        return _strip_png(data, path), ".png"
    return _reencode_without_metadata(data, path)


def _jpeg_segment(data: bytes, i: int, path: str | None) -> tuple[int, bytes]:
    if i + 4 > len(data):
        raise InvalidImage("truncated JPEG (a segment is cut off)", path=path)
    (length,) = struct.unpack(">H", data[i + 2 : i + 4])
    if length < 2 or i + 2 + length > len(data):
        raise InvalidImage(f"truncated JPEG (segment at byte {i} is cut off)", path=path)
    return data[i + 1], data[i : i + 2 + length]


def _keep_jpeg_segment(marker: int, seg: bytes) -> bool:
    if 0xE0 <= marker <= 0xEF:
        return any(seg[4:].startswith(sig) for sig in _JPEG_KEEP_APP.get(marker, ()))
    return marker != 0xFE  # COM: free text


def _strip_jpeg(data: bytes, path: str | None) -> bytes:
    head: list[bytes] = []
    orientation = 1
    i = 2
    while True:  # header segments, up to and including the first SOS
        if i + 2 > len(data) or data[i] != 0xFF:
            raise InvalidImage(f"not a JPEG marker at byte {i}", path=path)
        if data[i + 1] == 0xFF:  # fill byte
            i += 1
            continue
        marker, seg = _jpeg_segment(data, i, path)
        if marker == 0xE1 and seg[4:10] == b"Exif\0\0":
            orientation = _orientation_from_raw(seg[4:]) or 1
        if _keep_jpeg_segment(marker, seg):
            head.append(seg)
        i += len(seg)
        if marker == 0xDA:
            break
    out = bytearray(b"\xff\xd8")
    n_app0 = next((k for k, s in enumerate(head) if s[1] != 0xE0), len(head))
    out += b"".join(head[:n_app0])
    if orientation != 1:
        exif = b"Exif\0\0" + _orientation_tiff(orientation)
        out += b"\xff\xe1" + struct.pack(">H", len(exif) + 2) + exif
    out += b"".join(head[n_app0:])
    j = i
    while True:  # entropy-coded data and the segments between scans, to EOI
        j = data.find(b"\xff", j)
        if j < 0 or j + 1 >= len(data):
            raise InvalidImage("truncated JPEG (no end-of-image marker)", path=path)
        nxt = data[j + 1]
        if nxt == 0x00 or 0xD0 <= nxt <= 0xD7:
            j += 2
        elif nxt == 0xFF:
            j += 1
        elif nxt == 0xD9:
            out += data[i : j + 2]
            return bytes(out)
        else:
            out += data[i:j]
            marker, seg = _jpeg_segment(data, j, path)
            if _keep_jpeg_segment(marker, seg):
                out += seg
            i = j = j + len(seg)


def _strip_png(data: bytes, path: str | None) -> bytes:
    out = bytearray(_PNG_SIGNATURE)
    orientation = 1
    i = 8
    while True:
        if i + 12 > len(data):
            raise InvalidImage("truncated PNG (no IEND chunk)", path=path)
        (length,) = struct.unpack(">I", data[i : i + 4])
        kind = data[i + 4 : i + 8]
        chunk = data[i : i + 12 + length]
        if len(chunk) < 12 + length:
            raise InvalidImage(f"truncated PNG ({kind!r} chunk at byte {i} is cut off)", path=path)
        if kind == b"eXIf":
            orientation = _orientation_from_raw(chunk[8:-4]) or 1
        if kind == b"IDAT" and orientation != 1:
            body = b"eXIf" + _orientation_tiff(orientation)
            crc = struct.pack(">I", zlib.crc32(body))
            out += struct.pack(">I", len(body) - 4) + body + crc
            orientation = 1
        if kind in _PNG_KEEP:
            out += chunk
        i += len(chunk)
        if kind == b"IEND":
            return bytes(out)


def _reencode_without_metadata(data: bytes, path: str | None) -> tuple[bytes, str]:
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            icc = im.info.get("icc_profile")
            try:
                orientation = _valid_orientation(im.getexif().get(_ORIENTATION_TAG, 1), path or "")
            except _EXIF_ERRORS:
                orientation = 1
            clean = im.copy()  # a plain Image: no tags, no info of the file
    except (UnidentifiedImageError, *_DECODER_ERRORS) as exc:
        raise InvalidImage(
            f"cannot copy without its metadata: not a readable image ({_short(exc)})", path=path
        ) from None
    clean.info = {}
    buf = io.BytesIO()
    if clean.mode in _PNG_MODES:
        extra = {"exif": _orientation_tiff(orientation)} if orientation != 1 else {}
        clean.save(buf, "PNG", icc_profile=icc, **extra)
        return buf.getvalue(), ".png"
    extra = {"tiffinfo": {_ORIENTATION_TAG: orientation}} if orientation != 1 else {}
    clean.save(buf, "TIFF", compression="tiff_adobe_deflate", icc_profile=icc, **extra)
    return buf.getvalue(), ".tif"
