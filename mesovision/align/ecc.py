"""Intensity refinement of a map by ECC, leaving out skin that changed between the photos.

:func:`refine_ecc` runs OpenCV's enhanced-correlation-coefficient maximisation (Evangelidis &
Psarakis 2008) on the luminance of a working copy of the measured area; the correlation is
invariant to gain and offset of the light. In face mode, skin that changed locally between the
photos (a bruise, a redness patch) is left out of the mask first (:func:`unchanged_mask`), so that
it does not pull the map.
"""

from __future__ import annotations

import logging

import cv2
import numpy as np

from .fit import homogeneous

__all__ = [
    "CHANGE_Z",
    "CHANGE_MIN_DIFF",
    "CHANGE_MAX_SHARE",
    "CHANGE_SIGMA",
    "gray",
    "unchanged_mask",
    "refine_ecc",
]

log = logging.getLogger(__name__)


def gray(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(np.ascontiguousarray(rgb, dtype=np.float32), cv2.COLOR_RGB2GRAY)


#: :func:`unchanged_mask`: a pixel is a local change when its smoothed intensity difference (after
#: the pair's gain and offset) exceeds this many robust standard deviations of the difference, and
#: at least ``CHANGE_MIN_DIFF`` (grey level in [0, 1]). Up to ``CHANGE_MAX_SHARE`` of the mask may
#: be left out; past it the difference is not local (light, expression) and nothing is left out.
CHANGE_Z = 6.0
CHANGE_MIN_DIFF = 0.05
CHANGE_MAX_SHARE = 0.25
#: Smoothing of the difference, in units of the ECC pre-blur.
CHANGE_SIGMA = 4.0


def unchanged_mask(
    tmpl: np.ndarray, inp: np.ndarray, mask: np.ndarray, *, sigma: float
) -> np.ndarray:
    """``mask`` without the pixels where the skin itself changed between the photos (a bruise, a
    redness patch), so that they do not pull the intensity refinement.

    ``inp`` is the after photo's grey level warped by the landmark fit onto ``tmpl``, the before
    photo's. The difference ``inp - (g * tmpl + o)`` (gain and offset by least squares over the
    mask, as ECC is invariant to them) is smoothed by a Gaussian of ``sigma`` px: a residual
    misalignment leaves thin lobes of both signs along edges that the smoothing cancels, a local
    change of colour is a blob of one sign that it keeps. Pixels past :data:`CHANGE_Z` robust
    standard deviations (and :data:`CHANGE_MIN_DIFF`) are left out, grown by ``sigma``.
    """
    m = mask > 0
    n = int(np.count_nonzero(m))
    if n < 100:
        return mask
    t, a = tmpl[m].astype(np.float64), inp[m].astype(np.float64)
    vt = float(np.var(t))
    g = float(np.cov(t, a, bias=True)[0, 1] / vt) if vt > 1e-12 else 1.0
    o = float(a.mean() - g * t.mean())
    d = (inp - (g * tmpl + o)) * m
    w = cv2.GaussianBlur(m.astype(np.float32), (0, 0), sigma)
    d = cv2.GaussianBlur(d.astype(np.float32), (0, 0), sigma) / np.maximum(w, 1e-3)
    dm = d[m]
    med = float(np.median(dm))
    mad = 1.4826 * float(np.median(np.abs(dm - med)))
    out = m & (np.abs(d - med) > max(CHANGE_Z * mad, CHANGE_MIN_DIFF))
    if not out.any() or np.count_nonzero(out) > CHANGE_MAX_SHARE * n:
        return mask
    k = 2 * int(np.ceil(sigma)) + 1
    out = cv2.dilate(out.astype(np.uint8), np.ones((k, k), np.uint8)) > 0
    return (m & ~out).astype(mask.dtype)


def refine_ecc(
    before: np.ndarray,
    after: np.ndarray,
    init: np.ndarray,
    mask: np.ndarray,
    *,
    motion: int,
    work_px: int = 384,
    exclude_changes: bool = False,
) -> tuple[np.ndarray, float, float] | None:
    """ECC refinement of ``init`` (after->before) on the bounding box of ``mask``, computed on a
    copy whose long side is at most ``work_px``. Returns ``(matrix, cc_init, cc_refined)`` (the
    masked correlation coefficients before and after refinement) or None if it fails.
    ``exclude_changes``: leave skin that changed locally out of the mask
    (:func:`unchanged_mask`; face mode)."""
    if np.count_nonzero(mask) < 100:
        return None
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    pad = int(0.1 * max(cols[-1] - cols[0], rows[-1] - rows[0]))
    x0, y0 = max(0, cols[0] - pad), max(0, rows[0] - pad)
    x1, y1 = min(mask.shape[1], cols[-1] + pad + 1), min(mask.shape[0], rows[-1] + pad + 1)
    s = min(1.0, work_px / max(x1 - x0, y1 - y0))
    # Frame F: before's crop scaled by s.  T maps before px -> F px.
    T = np.array([[s, 0, -s * x0], [0, s, -s * y0], [0, 0, 1.0]])
    fw, fh = max(8, int(round((x1 - x0) * s))), max(8, int(round((y1 - y0) * s)))
    tmpl = cv2.warpAffine(gray(before), T[:2], (fw, fh), flags=cv2.INTER_AREA)
    m_f = T @ init  # after px -> F px
    inp = cv2.warpAffine(gray(after), m_f[:2], (fw, fh), flags=cv2.INTER_LINEAR)
    fmask = cv2.warpAffine(mask.astype(np.uint8), T[:2], (fw, fh), flags=cv2.INTER_NEAREST) > 0
    fmask = fmask.astype(np.uint8)
    sigma = max(0.8, 1.0 * (fw / 256))
    tmpl = cv2.GaussianBlur(tmpl, (0, 0), sigma)
    inp = cv2.GaussianBlur(inp, (0, 0), sigma)
    if exclude_changes:
        fmask = unchanged_mask(tmpl, inp, fmask, sigma=CHANGE_SIGMA * sigma)
    rows = 3 if motion == cv2.MOTION_HOMOGRAPHY else 2
    warp = np.eye(3, dtype=np.float32)[:rows]
    crit = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 100, 1e-5)
    try:
        cc0 = float(cv2.computeECC(tmpl, inp, fmask))
        cc, warp = cv2.findTransformECC(tmpl, inp, warp, motion, crit, fmask, 5)
    except cv2.error as e:
        log.info("ECC refinement did not converge: %s", str(e).splitlines()[-1])
        return None
    w = warp.astype(np.float64)
    if w.shape[0] == 2:
        w = homogeneous(w)
    # findTransformECC's warp maps template (F) coords to input (warped-after-in-F) coords.
    # after -> before = T^-1 @ (m_f^-1 composition): before_F = W^-1 @ m_f @ after.
    return np.linalg.inv(T) @ np.linalg.inv(w) @ m_f, cc0, float(cc)
