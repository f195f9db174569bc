"""Loading photos safely and writing outputs atomically.

Reading (:func:`load_photo`, :mod:`mesovision.io.load`): a file becomes a
:class:`~mesovision.types.Photo`, the working copy as ``float32`` sRGB in ``[0, 1]`` shaped
``(row, col, 3)`` with what maps it back to the file's pixels and the SHA-256 of the file's bytes.
Decoding goes through Pillow with a format whitelist (JPEG, PNG, TIFF, WebP, BMP, HEIF/HEIC); the
pixel count is checked from the header before any pixel is decoded (:mod:`~mesovision.io.limits`);
the EXIF orientation is applied and only whitelisted capture fields are kept
(:mod:`~mesovision.io.exif`); an embedded ICC profile is converted to sRGB
(:mod:`~mesovision.io.icc`); 16-bit PNG and TIFF keep their depth (:mod:`~mesovision.io.pixels`);
a photo without colour (grayscale, or RGB of equal channels) is recorded as such in its capture
info (:mod:`~mesovision.io.chroma`).
Every failure is an :class:`~mesovision.errors.InputFileError` or an
:class:`~mesovision.errors.InvalidImage` with a one-line reason (:mod:`~mesovision.io.reasons`).

Writing: files are written atomically and readable by their owner only
(:mod:`~mesovision.io.write`, :mod:`~mesovision.io.jsonable`); a command's outputs are published
all together or not at all (:mod:`~mesovision.io.folders`); managed copies of photos lose their
identifying metadata (:mod:`~mesovision.io.strip`).

Every public name of the submodules listed in ``__all__`` is importable from here.
"""

from __future__ import annotations

from ..types import CaptureInfo, Photo
from .arrays import photo_from_array
from .chroma import GRAYSCALE_MAX_CHROMA, chroma_p99, is_grayscale
from .files import sha256_file
from .folders import output_folder
from .jsonable import to_jsonable, write_json
from .limits import DRAFT_MIN_SHARE, MIN_SIDE_PX
from .load import FORMATS, load_photo
from .pixels import jpeg_quality
from .reasons import os_reason
from .strip import strip_metadata
from .write import atomic_write_bytes, prepare_output_dir, write_png

__all__ = [
    "DRAFT_MIN_SHARE",
    "FORMATS",
    "GRAYSCALE_MAX_CHROMA",
    "MIN_SIDE_PX",
    "CaptureInfo",
    "Photo",
    "atomic_write_bytes",
    "chroma_p99",
    "is_grayscale",
    "jpeg_quality",
    "load_photo",
    "os_reason",
    "output_folder",
    "photo_from_array",
    "prepare_output_dir",
    "sha256_file",
    "strip_metadata",
    "to_jsonable",
    "write_json",
    "write_png",
]
