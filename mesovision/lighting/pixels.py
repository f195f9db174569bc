"""The reference pixels of a photo pair: checks, cleaning, sampling and the residual figures.

Every lighting method starts from the same pixels (:func:`prepare_pair`): the reference mask
(or every valid pixel) within the valid mask, minus pixels clipped in either photo (any channel
outside [``CLIP_LO``, ``CLIP_HI``] in sRGB: a clipped channel does not follow the light). Fits use
a seeded sample of up to ``N_FIT`` of them and the CIEDE2000 figures of the report a sample of up
to ``N_REPORT`` (:func:`sample_pixels`), so that the result does not depend on the photo's size
beyond the sampling.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from ..color import delta_e_ciede2000, rgb_to_lab
from ..errors import LightingError, UsageError

__all__ = [
    "MIN_REFERENCE_PX",
    "N_FIT",
    "N_REPORT",
    "CLIP_LO",
    "CLIP_HI",
    "sample_pixels",
    "unclipped",
    "coords_mask",
    "luminance",
    "prepare_pair",
    "residual_report",
]

#: Minimum number of usable reference pixels (below: :class:`LightingError`).
MIN_REFERENCE_PX = 200

N_FIT = 20_000  # reference pixels sampled for fitting
N_REPORT = 20_000  # reference pixels sampled for the CIEDE2000 figures
CLIP_LO, CLIP_HI = 0.02, 0.98  # sRGB: pixels beyond in any channel are not used for fitting


def sample_pixels(mask, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Up to ``n`` pixels ``(ys, xs)`` of a bool mask or of a ``(ys, xs)`` pair (seeded)."""
    ys, xs = np.nonzero(mask) if isinstance(mask, np.ndarray) else mask
    if len(xs) > n:
        idx = np.random.default_rng(seed).choice(len(xs), n, replace=False)
        idx.sort()
        ys, xs = ys[idx], xs[idx]
    return ys, xs


def unclipped(px: np.ndarray) -> np.ndarray:
    """Pixels (``(..., 3)``) with every channel inside [0.02, 0.98] (sRGB)."""
    return (px.min(axis=-1) > CLIP_LO) & (px.max(axis=-1) < CLIP_HI)


def coords_mask(coords, shape) -> np.ndarray:
    m = np.zeros(shape[:2], bool)
    m[coords[0], coords[1]] = True
    return m


def luminance(lin: np.ndarray) -> np.ndarray:
    """Relative luminance Y of linear sRGB (Rec. 709 primaries)."""
    return lin @ np.array([0.2126, 0.7152, 0.0722], dtype=lin.dtype)


def _stats(de: np.ndarray) -> dict:
    if de.size == 0:
        return {"median": float("nan"), "p95": float("nan")}
    return {"median": float(np.median(de)), "p95": float(np.percentile(de, 95))}


def prepare_pair(before, after, reference_mask_, valid_mask, exclude=None):
    for name, img in (("before", before), ("after", after)):
        if img.ndim != 3 or img.shape[2] != 3:
            raise UsageError(f"{name} photo must be (H, W, 3) RGB, got shape {img.shape}")
    if before.shape != after.shape:
        raise UsageError(
            f"before {before.shape} and after {after.shape} differ: align the photos first"
        )
    shape = before.shape[:2]
    valid = np.ones(shape, bool) if valid_mask is None else np.asarray(valid_mask, bool)
    if valid.shape != shape:
        raise UsageError(f"valid_mask shape {valid.shape} differs from the photos' {shape}")
    if reference_mask_ is None:
        ref, ref_name = valid.copy(), "all valid pixels"
    else:
        ref = np.asarray(reference_mask_, bool)
        if ref.shape != shape:
            raise UsageError(f"reference_mask shape {ref.shape} differs from the photos' {shape}")
        ref, ref_name = ref & valid, "reference_mask"
    if exclude is not None:
        ref &= ~exclude
    b32 = _clean(before)
    a32 = _clean(after)
    # Every channel strictly inside (CLIP_LO, CLIP_HI) in both photos (cv2.inRange is inclusive).
    lo = float(np.nextafter(np.float32(CLIP_LO), np.float32(1)))
    hi = float(np.nextafter(np.float32(CLIP_HI), np.float32(0)))
    ok = cv2.inRange(b32, (lo, lo, lo), (hi, hi, hi)) & cv2.inRange(a32, (lo, lo, lo), (hi, hi, hi))
    ok = ok.view(bool) & ref
    usable = np.nonzero(ok)
    n = int(usable[0].size)
    if n < MIN_REFERENCE_PX:
        raise LightingError(
            f"{n} usable reference pixels (valid in both photos, not clipped); "
            f"at least {MIN_REFERENCE_PX} needed",
            check="light_pixels",
            value=float(n),
            limit=float(MIN_REFERENCE_PX),
        )
    return b32, a32, usable, ref_name, n


def _clean(img: np.ndarray) -> np.ndarray:
    """float32 in [0, 1] with NaN/inf set to 0 (a copy only when something must change)."""
    x = np.ascontiguousarray(img, np.float32)
    if x.size == 0:
        return x
    # (NumPy's minimum and maximum: about 30x faster than cv2.minMaxLoc at 768 x 576 px; a
    # NaN anywhere makes both NaN, an infinity one of them)
    lo, hi = float(x.min()), float(x.max())
    if not (math.isfinite(lo) and math.isfinite(hi)):  # NaN or inf somewhere
        x = np.nan_to_num(x, nan=0.0, posinf=1.0, neginf=0.0)
        lo, hi = float(x.min()), float(x.max())
    if lo < 0.0 or hi > 1.0:
        x = np.clip(x, 0.0, 1.0)
    return x


def residual_report(b_px: np.ndarray, a_px: np.ndarray) -> dict:
    """CIEDE2000 statistics between the same pixels (``(N, 3)`` sRGB) of the two photos."""
    return _stats(delta_e_ciede2000(rgb_to_lab(b_px), rgb_to_lab(a_px)))
