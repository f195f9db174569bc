"""Robust similarity or affine fit of one landmark set onto another.

:func:`fit_landmarks` fits a 3 x 3 map by iteratively reweighted least squares with Tukey's
biweight on :data:`STABLE_LANDMARKS`, the landmarks that do not move with expression. Unlike a
random consensus, the result moves continuously with the points: a few landmarks displaced by a
local skin change lose their weight instead of flipping the fit between subsets, and a map that
cannot fit every point (a head turned in depth) is a stable compromise over all of them.
"""

from __future__ import annotations

import numpy as np

from ..errors import AlignmentError, UsageError

__all__ = [
    "STABLE_LANDMARKS",
    "FACE_MODELS",
    "TUKEY_C",
    "MIN_SCALE_SPREAD",
    "fit_landmarks",
    "apply_matrix",
    "rms_distance",
    "homogeneous",
]

#: Landmarks that do not move with expression: eye corners, nose bridge and base, forehead,
#: temples and upper face oval, cheekbones.
STABLE_LANDMARKS: tuple[int, ...] = (
    33, 133, 362, 263,  # eye corners
    168, 6, 197, 195, 5, 4, 1, 2, 98, 327,  # nose bridge, tip, base
    10, 151, 9, 8, 109, 338, 67, 297,  # forehead
    234, 454, 127, 356, 162, 389, 21, 251, 54, 284, 103, 332,  # temples, upper oval
    116, 345, 123, 352, 117, 346,  # cheekbones
)  # fmt: skip

FACE_MODELS = ("similarity", "affine")


def homogeneous(m23: np.ndarray) -> np.ndarray:
    return np.vstack([np.asarray(m23, np.float64), [0.0, 0.0, 1.0]])


def apply_matrix(m: np.ndarray, pts: np.ndarray) -> np.ndarray:
    p = np.c_[pts, np.ones(len(pts))] @ m.T
    return p[:, :2] / p[:, 2:3]


def rms_distance(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.sum((a - b) ** 2, axis=1))))


def _weighted_fit(src: np.ndarray, dst: np.ndarray, w: np.ndarray, model: str) -> np.ndarray:
    """Weighted least-squares 3x3 map of ``src`` onto ``dst``: similarity (Umeyama 1991, with
    weights) or affine."""
    w = w / w.sum()
    ms, md = w @ src, w @ dst
    a, b = src - ms, dst - md
    if model == "similarity":
        cov = (b * w[:, None]).T @ a
        u, sv, vt = np.linalg.svd(cov)
        d = np.diag([1.0, np.sign(np.linalg.det(u @ vt))])
        r = u @ d @ vt
        var = float(w @ np.sum(a * a, axis=1))
        lin = r * (float(np.sum(sv * np.diag(d))) / var if var > 0 else 1.0)
    else:
        sw = np.sqrt(w)[:, None]
        lin = np.linalg.lstsq(a * sw, b * sw, rcond=None)[0].T
    m = np.eye(3)
    m[:2, :2], m[:2, 2] = lin, md - lin @ ms
    return m


#: Tukey biweight tuning constant for :func:`fit_landmarks` (the usual one; as the scale is
#: 1.4826 x the median of 2-D distances, a point gets no weight past ~8 standard deviations of
#: isotropic Gaussian noise per axis), and the floor of the scale as a share of the points' spread
#: (detection noise of a landmark is about 1 % of the interocular distance, ~0.5 % of the set's
#: spread).
TUKEY_C = 4.685
MIN_SCALE_SPREAD = 0.005


def fit_landmarks(src: np.ndarray, dst: np.ndarray, *, model: str = "similarity") -> np.ndarray:
    """Robust 3x3 transform mapping ``src`` points onto ``dst``.

    Iteratively reweighted least squares: the least-squares fit of all points, then Tukey's
    biweight (``c`` = :data:`TUKEY_C` times the residuals' robust scale, 1.4826 x their median
    absolute value, floored at :data:`MIN_SCALE_SPREAD` of the points' spread). Unlike a random
    consensus, the result moves continuously with the points: a few landmarks displaced by a local
    skin change lose their weight instead of flipping the fit between subsets, and a map that
    cannot fit every point (a head turned in depth) is a stable compromise over all of them.
    """
    if model not in FACE_MODELS:
        raise UsageError(f"unknown alignment model {model!r}; valid: {', '.join(FACE_MODELS)}")
    src, dst = np.asarray(src, np.float64), np.asarray(dst, np.float64)
    if len(src) < 3 or np.linalg.matrix_rank(src - src.mean(axis=0)) < 2:
        raise AlignmentError("landmark fit failed")
    floor = MIN_SCALE_SPREAD * max(float(np.ptp(dst, axis=0).max()), 1.0)
    m = _weighted_fit(src, dst, np.ones(len(src)), model)
    for _ in range(10):
        r = np.linalg.norm(apply_matrix(m, src) - dst, axis=1)
        scale = max(1.4826 * float(np.median(r)), floor)
        u = np.clip(r / (TUKEY_C * scale), 0.0, 1.0)
        w = (1.0 - u * u) ** 2
        if np.count_nonzero(w) < 3 or np.linalg.matrix_rank(src[w > 0] - src.mean(axis=0)) < 2:
            break
        m_new = _weighted_fit(src, dst, w, model)
        done = np.abs(m_new - m).max() < 1e-6
        m = m_new
        if done:
            break
    if not np.all(np.isfinite(m)):
        raise AlignmentError("landmark fit failed")
    return m
