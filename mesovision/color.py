"""Colour conversions shared by every stage (sRGB <-> linear <-> CIELAB, CIEDE2000).

CIELAB uses the D65 white point (sRGB's). L* is in [0, 100]; a*, b* roughly [-128, 127].
OpenCV's float32 conversion is used for speed (~14x faster than ``skimage.color.rgb2lab`` at
1024x768, measured); against ``skimage.color.rgb2lab`` on random sRGB it differs by a median
CIEDE2000 of 0.08 (99th percentile 0.22), far below any skin change we report.
"""

from __future__ import annotations

import contextvars
import weakref
from contextlib import contextmanager

import cv2
import numpy as np

__all__ = [
    "SRGB_KNEE",
    "LINEAR_KNEE",
    "srgb_to_linear",
    "linear_to_srgb",
    "rgb_to_lab",
    "kept_lab",
    "keep_lab",
    "sharing_lab",
    "lab_to_rgb",
    "delta_e_ciede2000",
]


#: IEC 61966-2-1 constants: the linear segment ends at ``SRGB_KNEE`` (encoded) and
#: ``LINEAR_KNEE`` (linear light).
SRGB_KNEE = 0.04045
LINEAR_KNEE = 0.0031308


def _pow_in_place(x: np.ndarray, power: float) -> None:
    """``x **= power`` for float32 ``x`` with :func:`cv2.pow` (about 3x faster than NumPy's
    float32 ``power``; same values within a few float32 ulps). ``x`` must be C-contiguous; it is
    seen as one column so that every shape is written in place."""
    if not x.flags.c_contiguous:
        raise ValueError("_pow_in_place needs a C-contiguous array")
    col = x.reshape(-1, 1)
    out = cv2.pow(col, power, col)
    if out is not col:  # OpenCV made a new array (it does not when the shapes agree)
        col[...] = out.reshape(col.shape)


def srgb_to_linear(rgb: np.ndarray) -> np.ndarray:
    """IEC 61966-2-1 sRGB decoding, float32 (any shape; the input is not modified).

    ``c / 12.92`` for ``c <= 0.04045``, else ``((c + 0.055) / 1.055) ** 2.4``. Input in [0, 1]
    gives output in [0, 1]; values outside are not clipped (each branch's formula continues).
    Within 3e-7 of the formula evaluated in float64 (float32 rounding).

    The package's only sRGB decoder: the power runs in place through :func:`cv2.pow`, as fast as
    a 65536-entry look-up table (which is within 2e-5 only) and 2-3x faster than NumPy's float32
    formula at 1 and 3 megapixels (``python benchmarks/bench_lighting.py --srgb``).
    """
    x = np.asarray(rgb, dtype=np.float32, order="C")
    out = np.add(x, np.float32(0.055), out=np.empty_like(x))  # the input is left as it is
    out /= np.float32(1.055)
    _pow_in_place(out, 2.4)
    knee = x <= np.float32(SRGB_KNEE)  # the linear segment
    low = _few(knee)
    if low is None:
        np.copyto(out, x / np.float32(12.92), where=knee)
    else:
        out.ravel()[low] = x.ravel()[low] / np.float32(12.92)
    return out


def _few(mask: np.ndarray) -> np.ndarray | None:
    """The flat indices of ``mask`` (C-contiguous) when at most a quarter of it is set (the
    pixels of the sRGB curve's linear segment, usually a few %: setting those alone is about 3x
    faster than ``numpy.copyto(..., where=mask)`` over every pixel, with the same values);
    ``None`` when more are."""
    if 4 * np.count_nonzero(mask) > mask.size:
        return None
    return np.flatnonzero(mask)


def linear_to_srgb(lin: np.ndarray) -> np.ndarray:
    """IEC 61966-2-1 sRGB encoding; input clipped to [0, 1], output float32 in [0, 1] (any shape;
    the input is not modified).

    ``12.92 c`` for ``c <= 0.0031308``, else ``1.055 c ** (1 / 2.4) - 0.055``. Within 2e-7 of the
    formula evaluated in float64; the power runs in place through :func:`cv2.pow`, as fast as a
    65536-entry table (within 1e-4 only) and 2-4x faster than NumPy's formula.
    """
    x = np.asarray(lin, dtype=np.float32, order="C")
    out = np.clip(x, np.float32(0.0), np.float32(1.0), out=np.empty_like(x))  # input left as is
    knee = out <= np.float32(LINEAR_KNEE)  # the linear segment
    few = _few(knee)
    low = out * np.float32(12.92) if few is None else out.ravel()[few] * np.float32(12.92)
    _pow_in_place(out, 1 / 2.4)
    out *= np.float32(1.055)
    out -= np.float32(0.055)
    if few is None:
        np.copyto(out, low, where=knee)
    else:
        out.ravel()[few] = low
    return out


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB float in [0, 1] (``(..., 3)``) to CIELAB D65, float32.

    An array of another shape than ``(rows, cols, 3)`` is converted as one row of pixels
    (OpenCV converts row by row, vectorized along a row: about 5x faster than a column of
    one-pixel rows at 20 000 pixels, and the same values: a pixel's value does not depend on
    its place in the row)."""
    x = np.ascontiguousarray(np.clip(rgb, 0.0, 1.0), dtype=np.float32)
    shape = x.shape
    img = x.reshape(1, -1, 3) if x.ndim != 3 else x
    return cv2.cvtColor(img, cv2.COLOR_RGB2Lab).reshape(shape)


#: The CIELAB :func:`keep_lab` kept of the images converted within :func:`sharing_lab` (the
#: comparison's stages, which run in copies of its context): ``id(image) -> (weak reference to
#: the image, its CIELAB)``; ``None`` outside.
_KEPT: contextvars.ContextVar[dict | None] = contextvars.ContextVar("kept_lab", default=None)


@contextmanager
def sharing_lab():
    """Within: :func:`keep_lab` keeps what it converts for :func:`kept_lab`, until the end
    (a comparison: its scoring copies are converted once and not written to)."""
    token = _KEPT.set({})
    try:
        yield
    finally:
        _KEPT.reset(token)


def keep_lab(rgb: np.ndarray) -> np.ndarray | None:
    """:func:`rgb_to_lab` of the image ``rgb`` ``(rows, cols, 3)``, kept (read-only) for later
    readers of the same image's pixels (:func:`kept_lab`) within :func:`sharing_lab`; ``None``
    outside it (nothing is converted). OpenCV converts each pixel alone (a pixel's value does
    not depend on the window it is converted in), so a window of the kept conversion holds the
    values a conversion of that window gives."""
    kept = _KEPT.get()
    if kept is None:
        return None
    lab = rgb_to_lab(rgb)
    lab.flags.writeable = False
    kept[id(rgb)] = (weakref.ref(rgb), lab)
    return lab


def kept_lab(rgb: np.ndarray | None, window=None) -> np.ndarray | None:
    """The CIELAB :func:`keep_lab` kept of this very image ``rgb`` (read-only; ``window``
    ``(row0, row1, col0, col1)``: on that crop), ``None`` when there is none."""
    kept = _KEPT.get()
    got = kept.get(id(rgb)) if kept is not None and rgb is not None else None
    if got is None or got[0]() is not rgb:
        return None
    if window is None:
        return got[1]
    r0, r1, c0, c1 = window
    return got[1][r0:r1, c0:c1]


def lab_to_rgb(lab: np.ndarray) -> np.ndarray:
    """CIELAB D65 to sRGB float in [0, 1] (out-of-gamut values clipped), float32."""
    x = np.ascontiguousarray(lab, dtype=np.float32)
    shape = x.shape
    img = x.reshape(-1, 1, 3) if x.ndim != 3 else x
    return np.clip(cv2.cvtColor(img, cv2.COLOR_Lab2RGB).reshape(shape), 0.0, 1.0)


def _pow7(x: np.ndarray) -> np.ndarray:
    """``x ** 7`` by multiplication (``**`` calls ``pow`` per element, ~7x slower)."""
    x2 = x * x
    return x2 * x2 * x2 * x


def _hue_deg(b: np.ndarray, a: np.ndarray) -> np.ndarray:
    """Hue angle ``atan2(b, a)`` in degrees, in ``[0, 360)`` (as ``% 360``, without a division)."""
    h = np.degrees(np.arctan2(b, a))
    return np.where(h < 0, h + 360, h)


#: Hue angles this close to 180 degrees apart count as exactly 180 (the formula's "<= 180"
#: branches). They carry rounding of about 1e-13 degrees, which depends on the CPU: NumPy's
#: AVX-512 ``arctan2`` rounds differently from its scalar one, so a pair 180 degrees apart in
#: exact arithmetic (Sharma et al.'s pair 14) fell on either side and read 4.8045 or 4.7461.
_HUE_TIE_DEG = 1e-9


def delta_e_ciede2000(lab1: np.ndarray, lab2: np.ndarray) -> np.ndarray:
    """CIEDE2000 colour difference (kL = kC = kH = 1) between Lab arrays of shape ``(..., 3)``.

    Formula: Sharma, Wu & Dalal, "The CIEDE2000 color-difference formula: implementation notes,
    supplementary test data, and mathematical observations", Color Res. Appl. 30 (2005) 21-30.
    Checked against their 34 published test pairs in ``tests/lighting/test_color.py``.
    """
    # Each channel as its own contiguous float64 array (ufuncs on strided views are slower).
    L1, a1, b1 = (np.ascontiguousarray(np.asarray(lab1)[..., k], np.float64) for k in range(3))
    L2, a2, b2 = (np.ascontiguousarray(np.asarray(lab2)[..., k], np.float64) for k in range(3))
    C1 = np.hypot(a1, b1)
    C2 = np.hypot(a2, b2)
    Cbar7 = _pow7((C1 + C2) / 2)
    G = 0.5 * (1 - np.sqrt(Cbar7 / (Cbar7 + 25.0**7)))
    a1p, a2p = (1 + G) * a1, (1 + G) * a2
    C1p, C2p = np.hypot(a1p, b1), np.hypot(a2p, b2)
    h1p = _hue_deg(b1, a1p)
    h2p = _hue_deg(b2, a2p)
    h1p = np.where((a1p == 0) & (b1 == 0), 0.0, h1p)
    h2p = np.where((a2p == 0) & (b2 == 0), 0.0, h2p)
    dLp = L2 - L1
    dCp = C2p - C1p
    dh = h2p - h1p
    zero = (C1p * C2p) == 0
    tie = 180 + _HUE_TIE_DEG
    dh = np.where(dh > tie, dh - 360, np.where(dh < -tie, dh + 360, dh))
    dh = np.where(zero, 0.0, dh)
    dHp = 2 * np.sqrt(C1p * C2p) * np.sin(np.radians(dh) / 2)
    Lbp = (L1 + L2) / 2
    Cbp = (C1p + C2p) / 2
    hsum = h1p + h2p
    hbp = np.where(
        zero,
        hsum,
        np.where(
            np.abs(h1p - h2p) <= tie,
            hsum / 2,
            np.where(hsum < 360, (hsum + 360) / 2, (hsum - 360) / 2),
        ),
    )
    T = (
        1
        - 0.17 * np.cos(np.radians(hbp - 30))
        + 0.24 * np.cos(np.radians(2 * hbp))
        + 0.32 * np.cos(np.radians(3 * hbp + 6))
        - 0.20 * np.cos(np.radians(4 * hbp - 63))
    )
    dtheta = 30 * np.exp(-(((hbp - 275) / 25) ** 2))
    Cbp7 = _pow7(Cbp)
    Rc = 2 * np.sqrt(Cbp7 / (Cbp7 + 25.0**7))
    Sl = 1 + 0.015 * (Lbp - 50) ** 2 / np.sqrt(20 + (Lbp - 50) ** 2)
    Sc = 1 + 0.045 * Cbp
    Sh = 1 + 0.015 * Cbp * T
    Rt = -np.sin(np.radians(2 * dtheta)) * Rc
    return np.sqrt(
        (dLp / Sl) ** 2 + (dCp / Sc) ** 2 + (dHp / Sh) ** 2 + Rt * (dCp / Sc) * (dHp / Sh)
    )
