"""An array already in memory as a :class:`~mesovision.types.Photo`.

:func:`photo_from_array` accepts ``uint8``, ``uint16`` or float ``[0, 1]`` RGB, converts to the
package's float32 convention, and hashes the shape and the pixels in place of a file's bytes.
"""

from __future__ import annotations

import hashlib

import numpy as np

from ..errors import InvalidImage
from ..types import CaptureInfo, Photo
from .chroma import with_chroma

__all__ = ["photo_from_array"]


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
        that two arrays with the same bytes and different shapes differ); ``capture`` the
        chroma statistic, ``capture.grayscale`` true for equal channels
        (:mod:`mesovision.io.chroma`).

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
    capture = with_chroma(CaptureInfo(), out)
    return Photo(
        rgb=out,
        path=path,
        sha256=digest,
        original_size=(w, h),
        bit_depth=depth,
        capture=capture,
    )
