"""Loading a photo file safely into a :class:`~mesovision.types.Photo`.

:func:`load_photo` turns a file into the working copy, ``float32`` sRGB in ``[0, 1]`` shaped
``(row, col, 3)`` (the package's array convention, see :mod:`mesovision.types`), plus what is
needed to map it back to the file's pixels and to prove which file it came from (SHA-256 of the
bytes). It runs in named steps: read the bytes within the size limit
(:mod:`mesovision.io.files`), open the header with a format whitelist (:data:`FORMATS`), check the
pixel count and sides and choose the working size before any pixel is decoded
(:mod:`mesovision.io.limits`), read the orientation and capture fields
(:mod:`mesovision.io.exif`), then decode the pixels to sRGB (:mod:`mesovision.io.pixels`),
resize, orient and scale to ``[0, 1]``, and measure whether the pixels hold colour
(:mod:`mesovision.io.chroma`).

Every failure is an :class:`~mesovision.errors.InputFileError` (the file cannot be read) or an
:class:`~mesovision.errors.InvalidImage` (the bytes are not a usable image), with a one-line
reason (:mod:`mesovision.io.reasons`) and the path.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import logging
import os
import threading
import warnings
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageFile, UnidentifiedImageError

from ..errors import InvalidImage, UsageError
from ..types import CaptureInfo, Photo
from .chroma import with_chroma
from .exif import apply_orientation, capture_info, get_exif, read_orientation, valid_orientation
from .files import read_image_bytes
from .limits import (
    JPEG_DECLARED_FACTOR,
    MAX_BYTES_PER_PIXEL,
    check_wide_enough,
    draft_side,
    jpeg_decoded_size,
    stored_size,
    working_size,
)
from .pixels import decode_pixels, jpeg_quality, palette_colours, to_float, transparent_share
from .reasons import (
    DECODER_ERRORS,
    bomb_reason,
    cut_short,
    decode_reason,
    raw_reason,
    short_message,
    sniff_format,
    tiff_raw_kind,
    too_many_pixels,
    unidentified_reason,
)

__all__ = ["FORMATS", "load_photo"]


logger = logging.getLogger(__name__)

# Decoding of a truncated file must fail, never return a partly grey image.
ImageFile.LOAD_TRUNCATED_IMAGES = False

#: Pillow format ids accepted by :func:`load_photo` ("HEIF" only once pillow-heif is registered).
FORMATS: tuple[str, ...] = ("JPEG", "PNG", "TIFF", "WEBP", "BMP", "HEIF")

_heif_registered: bool | None = None  # None: not tried yet; False: pillow-heif unavailable


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
        Largest ``width * height`` decoded (default 60 000 000), checked from the header: a JPEG
        at 1/2-1/8 size (declaring up to :data:`~mesovision.io.limits.JPEG_DECLARED_FACTOR` times
        this), other files in full, also under ``PIL.Image.MAX_IMAGE_PIXELS`` (about 89.5 MP).

    Returns
    -------
    Photo
        ``rgb`` is float32 ``(H, W, 3)`` in ``[0, 1]``, C-contiguous, sRGB-encoded, in display
        orientation; ``original_size`` is the file's ``(width, height)`` after orientation;
        ``scale`` is working px per original px (``<= 1``); ``bit_depth`` is 16 for 16-bit PNG/TIFF
        (and float TIFF), else 8; ``exif_orientation`` is the EXIF orientation (1-8) that was
        applied; ``icc_profile`` is the description of the profile (or HEIF nclx) made sRGB, or
        ``None`` (no profile, or a profile that could not be used: the pixels are then taken as
        sRGB and a warning is logged); ``sha256`` is the SHA-256 of the file's bytes;
        ``capture.grayscale`` is true for a photo without colour (:mod:`~mesovision.io.chroma`).

    Raises
    ------
    InputFileError
        The path does not exist, is a directory or not a regular file, or cannot be read.
    InvalidImage
        Zero bytes, not an image, an unsupported format, truncated or corrupt data, more pixels
        than ``max_pixels`` (see above), a side shorter than :data:`MIN_SIDE_PX` (32) in the
        file or in the working copy ("image too narrow"), or an aspect ratio too extreme.

    Notes
    -----
    * Alpha is dropped, not composited: the colour under a transparent pixel is kept as it is
      (a palette image: the palette colour); ``transparent_share`` says how much was not opaque;
      ``gamut_clipped``: colours clipped at sRGB's gamut; ``palette_colours``: a palette's size.
    * Animated or multi-page files: frame 0 is used and a warning is logged (for MPO, the
      multi-picture JPEG written by many cameras, frame 0 is the main image and nothing is logged).
    * EXIF orientation is read from tag 0x0112 and applied to the pixel array here; Pillow's
      ``ImageOps.exif_transpose`` is not used because it re-serializes the EXIF block, which has
      crashed on malformed phone EXIF (Pillow issues 8548, 8605, 8348). If Pillow cannot parse the
      EXIF block at all, tag 0x0112 is read from the raw bytes. HEIF files are already rotated by
      the decoder (pillow-heif resets the tag); the orientation it applied is recorded only.
    * 16-bit RGB PNG/TIFF are decoded with ``cv2.imdecode`` (Pillow reduces them to 8 bits). With
      an embedded ICC profile that is not sRGB they are converted at 8 bits (Pillow's colour
      management is 8-bit only) and ``bit_depth`` is 8; a warning says so.
    * A float (mode ``F``) TIFF must hold values in ``[0, 1]``.
    """
    spath = str(path)
    _check_options(max_side, max_pixels)
    data = read_image_bytes(
        Path(path), spath, max_bytes=MAX_BYTES_PER_PIXEL * max_pixels + (16 << 20)
    )
    digest = hashlib.sha256(data).hexdigest()
    im, head, photo, caught = _open_and_read_header(
        data, spath, digest, max_side=max_side, max_pixels=max_pixels
    )
    # A JPEG's pixels are decoded outside the lock, side by side with another load: libjpeg
    # releases the GIL, and neither it nor Pillow's JPEG path warns through `warnings` (libjpeg's
    # messages go to the native stderr, which decode_pixels redirects to the debug log).
    with im:
        if photo is None:
            photo = _decoded(im, data, spath, digest, head, max_pixels)
    # Logged only once the photo has loaded: an error is the one line a bad file gets.
    for w in caught:
        logger.warning("%s: %s", spath, short_message(w.message))
    return photo


def _check_options(max_side: int | None, max_pixels: int) -> None:
    """Refuse, with a :class:`UsageError` (also a ``ValueError``), a ``max_side`` or
    ``max_pixels`` that is not a positive integer (``True`` is not one)."""
    if max_side is not None and not _positive_int(max_side):
        raise UsageError(f"max_side must be a positive integer or None, got {max_side!r}")
    if not _positive_int(max_pixels):
        raise UsageError(f"max_pixels must be a positive integer, got {max_pixels!r}")


def _positive_int(n: object) -> bool:
    return isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n >= 1


def _open_and_read_header(
    data: bytes, spath: str, digest: str, *, max_side: int | None, max_pixels: int
) -> tuple[Image.Image, _Header, Photo | None, list[warnings.WarningMessage]]:
    """Open the image and read its header under the warnings lock; decode its pixels there too,
    unless its format decodes without Python warnings (:data:`_QUIET_DECODERS`).

    Returns the open image, its header, the photo (``None`` when still to decode) and the
    warnings caught, to be logged once the photo has loaded.
    """
    formats = _formats()
    # catch_warnings swaps process-wide state: concurrent loads take turns here for the header,
    # and for the pixels of every format but JPEG (reading and hashing the file overlap).
    with _WARNINGS_LOCK, warnings.catch_warnings(record=True) as caught:
        # Decoder warnings (e.g. Pillow's "Corrupt EXIF data") go to our log, not to stderr.
        warnings.simplefilter("always")
        # Pillow warns (does not raise) between MAX_IMAGE_PIXELS and twice that: refuse instead.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        im = _open_image(data, spath, formats, max_pixels)
        try:
            raw = tiff_raw_kind(data, im.tag_v2) if im.format == "TIFF" else None
            if raw:
                raise InvalidImage(raw_reason(raw), path=spath)
            head = _read_header(im, spath, max_side=max_side, max_pixels=max_pixels)
            quiet = head.fmt in _QUIET_DECODERS
            photo = None if quiet else _decoded(im, data, spath, digest, head, max_pixels)
        except BaseException:
            im.close()
            raise
    return im, head, photo, list(caught)


def _open_image(data: bytes, spath: str, formats: tuple[str, ...], max_pixels: int) -> Image.Image:
    """Open ``data`` with Pillow (header only), restricted to ``formats``."""
    try:
        return Image.open(io.BytesIO(data), formats=list(formats))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        if "JPEG" in formats and sniff_format(data) == "JPEG":
            # A JPEG is decoded reduced: its limits are checked from the header (_read_header),
            # on the pixels decoded, not by Pillow's check of the size it declares.
            from PIL.JpegImagePlugin import jpeg_factory

            return jpeg_factory(io.BytesIO(data))
        raise InvalidImage(bomb_reason(exc, max_pixels), path=spath) from None
    except UnidentifiedImageError:
        raise InvalidImage(unidentified_reason(data), path=spath) from None
    except DECODER_ERRORS as exc:
        kind = sniff_format(data) or "image"
        if cut_short(data):
            raise InvalidImage(f"truncated {kind}", path=spath) from None
        raise InvalidImage(f"corrupt {kind} header ({short_message(exc)})", path=spath) from None


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
    file_w, file_h = stored_size(im, fmt)
    if file_w < 1 or file_h < 1:
        raise InvalidImage(f"image has no pixels ({file_w}x{file_h})", path=spath)
    jpeg = fmt in ("JPEG", "MPO")
    limit, what = (JPEG_DECLARED_FACTOR * max_pixels, " for a JPEG") if jpeg else (max_pixels, "")
    if file_w * file_h > limit:
        reason = too_many_pixels(file_w * file_h, limit, size=(file_w, file_h), what=what)
        raise InvalidImage(reason, path=spath)
    try:
        n_frames = getattr(im, "n_frames", 1)
    except DECODER_ERRORS as exc:
        # Counting frames reads every page's header (TIFF); a broken later page must not stop
        # frame 0 from loading (found by fuzzing: TypeError "Missing dimensions"). Warned through
        # `warnings`, so that it is logged only if the photo then loads.
        warnings.warn(
            f"{fmt} pages after the first are unreadable ({short_message(exc)}); using page 0",
            stacklevel=2,
        )
        n_frames = 1
        try:
            im.seek(0)
        except DECODER_ERRORS as exc2:
            raise InvalidImage(decode_reason(exc2, fmt), path=spath) from None
    if n_frames > 1 and im.format != "MPO":
        logger.warning("%s: %s has %d frames; using frame 0", spath, fmt, n_frames)

    exif = get_exif(im, spath)
    if fmt == "HEIF":
        # pillow-heif rotates while decoding and resets the EXIF tag; record what it applied.
        applied = valid_orientation(im.info.get("original_orientation") or 1, spath)
        to_apply = 1
    else:
        applied = to_apply = read_orientation(im, exif, spath)
    capture = capture_info(exif, spath)

    swap = to_apply in (5, 6, 7, 8)
    width, height = (file_h, file_w) if swap else (file_w, file_h)
    side = draft_side(max(width, height), max_side) if fmt in ("JPEG", "MPO") else max_side
    check_wide_enough(width, height, side, spath)
    new_w, new_h, scale = working_size(width, height, side, spath)
    target = (new_h, new_w) if swap else (new_w, new_h)  # (width, height) in file orientation
    if jpeg:
        _check_decoded(file_w, file_h, target, max_pixels, spath)
    return _Header(fmt, width, height, new_w, new_h, scale, target, applied, to_apply, capture)


def _check_decoded(
    file_w: int, file_h: int, target: tuple[int, int], max_pixels: int, spath: str
) -> None:
    """Refuse a JPEG whose decoded pixels (at 1/2, 1/4 or 1/8 size for ``target``) exceed
    ``max_pixels``: what is decoded is what costs memory."""
    dw, dh = jpeg_decoded_size(file_w, file_h, target)
    if dw * dh > max_pixels:
        what = " decoded at this working size" if (dw, dh) == (file_w, file_h) else ""
        what = what or f" decoded ({dw} x {dh} px at this working size)"
        reason = too_many_pixels(dw * dh, max_pixels, size=(file_w, file_h), what=what)
        raise InvalidImage(f"{reason}, or lower max_side (--max-side)", path=spath)


# -- JPEG quality -----------------------------------------------------------------------------
def _decoded(
    im: Image.Image, data: bytes, spath: str, digest: str, head: _Header, max_pixels: int
) -> Photo:
    """The photo of an opened image whose header is read."""
    fmt, target, to_apply = head.fmt, head.target, head.to_apply
    try:
        pixels, bit_depth, icc_desc, oriented, gamut = decode_pixels(
            im, data, fmt, target, to_apply, spath
        )
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise InvalidImage(bomb_reason(exc, max_pixels), path=spath) from None
    except DECODER_ERRORS as exc:
        raise InvalidImage(decode_reason(exc, fmt, data), path=spath) from None
    if oriented:  # recent Pillow already applied (TIFF) the orientation while decoding
        target, to_apply = (head.new_w, head.new_h), 1

    if (pixels.shape[1], pixels.shape[0]) != target:
        # Resized in the decoded integer type: ~30 ms faster on a 12-MP photo than in float32, at
        # the cost of one rounding to the source's own quantization step.
        pixels = cv2.resize(np.ascontiguousarray(pixels), target, interpolation=cv2.INTER_AREA)
        if gamut is not None:  # a working pixel at least half of whose file pixels lay outside
            gamut = cv2.resize(gamut.astype(np.float32), target, interpolation=cv2.INTER_AREA)
            gamut = gamut >= 0.5
    rgb = to_float(pixels)
    if rgb.ndim == 2:
        rgb = np.repeat(rgb[:, :, None], 3, axis=2)
    rgb = np.ascontiguousarray(apply_orientation(rgb, to_apply), dtype=np.float32)
    assert rgb.shape == (head.new_h, head.new_w, 3), (rgb.shape, head.new_w, head.new_h)
    capture = with_chroma(head.capture, rgb)
    if gamut is not None:
        gamut = np.ascontiguousarray(apply_orientation(gamut, to_apply))
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
        capture=capture,
        jpeg_quality=jpeg_quality((getattr(im, "quantization", None) or {}).get(0))
        if fmt == "JPEG"
        else None,
        transparent_share=transparent_share(im),
        palette_colours=palette_colours(im),
        gamut_clipped=gamut if gamut is not None and gamut.any() else None,
    )


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
