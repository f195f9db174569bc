"""Spots found in one capture and missed in another: the flip variance of the spot count and area.

A second photo of the same cheek finds the same strong spots again; what differs between two
captures is the detections near the detector's limits (:func:`mesovision.metrics.pigmentation.
spot_candidates`). A candidate (an 8-connected component of the pixels darker and browner than
the local skin) is a spot when it passes every test: its peak darkness reaches the core level,
its area lies in the allowed range, it is not elongated, and its half-maximum area reaches the
smallest spot. Each test compares a quantity ``x`` of the candidate with a limit ``t``, and
between two captures of the same skin (another lamp, white balance, focus, resampling, JPEG)
``x`` moves by a spread ``s``: the margin of that test is ``(x - t) / s`` (in log units for
areas and elongation, which scale; the sign such that a passed test has a positive margin).
The spreads are not constants: a darker spot's peak moves more in L* (its spread is a share
of it), and a larger component's log area and log elongation move less (a few edge pixels of
a small component are much of it; spread ``c / sqrt(area)``).
Another capture finds the candidate with probability

    P = prod over its tests of Phi(margin)

(the tests taken as independent), so whether it is counted is a Bernoulli draw of variance
``P (1 - P)``, whichever side it is on now: 0 for a spot far above every limit (and for a
candidate far below one), 0.25 for one at a limit. The spot count of a region varies by the
sum over its candidates (:func:`flip_maps`); the spot area, where a whole spot of half-maximum
area ``F`` is found or not, by ``P (1 - P) F^2`` each (as the bruise area,
:func:`mesovision.metrics._bruise_colour.flip_variance`). Each candidate's variance is spread
over its pixels, so that the sum of a map over a region holding the candidate is its variance
(over part of it, that share).

The spreads (:data:`SPOT_FLIP_REL_DL`, :data:`SPOT_FLIP_LOG_AREA`,
:data:`SPOT_FLIP_LOG_ELONGATION`) were measured on the development half of the faces by
``benchmarks/spot_flip.py``: the same candidates found in a photo and in a synthetic
recapture of it, matched through the known transform, and the robust spread of their
differences in bins of size and darkness (``docs/method.md``).
"""

from __future__ import annotations

import numpy as np

from ._family import map_variance
from ._shapes import component_areas, component_quantile, elongation

__all__ = [
    "SPOT_FLIP_LOG_AREA",
    "SPOT_FLIP_LOG_ELONGATION",
    "SPOT_FLIP_REL_DL",
    "SPOT_FLIP_VARIANCE",
    "candidate_margins",
    "candidate_stats",
    "defer_flip_maps",
    "detection_probability",
    "flip_maps",
    "spot_area_mm2_variance",
    "spot_area_pct_variance",
    "spot_area_variance",
    "spot_count_variance",
]

#: How far a candidate's peak darkness moves between two captures of the same skin, as a share
#: of it: the spread is ``SPOT_FLIP_REL_DL x peak`` (L*).
SPOT_FLIP_REL_DL = 0.09
#: How far the log of a candidate's area (and of its half-maximum area) moves between captures:
#: ``SPOT_FLIP_LOG_AREA / sqrt(area px)`` (a small component's edge pixels are most of it).
SPOT_FLIP_LOG_AREA = 1.4
#: How far the log of a candidate's elongation moves: ``SPOT_FLIP_LOG_ELONGATION / sqrt(area)``.
SPOT_FLIP_LOG_ELONGATION = 1.3


def candidate_stats(
    contrast: np.ndarray, cand: np.ndarray, *, extent_share: float, peak_quantile: float
) -> dict[str, np.ndarray]:
    """Per 8-connected component of ``cand`` (bool; index 0, the background, included):
    ``labels`` (the label image), ``area`` (px), ``elongation``, ``peak`` (largest ``contrast``)
    and ``half_area`` (its pixels with ``contrast >= extent_share x`` the component's
    ``peak_quantile`` quantile of ``contrast``: the half-maximum area of a spot)."""
    n, labels, area = component_areas(cand)
    lab = labels[cand]
    val = contrast[cand].astype(np.float64)
    peak = np.zeros(n)
    np.maximum.at(peak, lab, val)
    top = component_quantile(lab, val, n, peak_quantile, empty=np.inf)
    half = np.bincount(lab[val >= extent_share * top[lab]], minlength=n)
    return {
        "labels": labels,
        "area": area.astype(np.float64),
        "elongation": elongation(labels, n),
        "peak": peak,
        "half_area": half.astype(np.float64),
    }


def candidate_margins(
    stats: dict[str, np.ndarray],
    *,
    core_dl: float,
    area_range: tuple[float, float],
    max_elongation: float,
    min_half_area: float,
) -> np.ndarray:
    """``(4, n)`` margins in spreads of each candidate to each of its tests (positive: passed):
    peak darkness against ``core_dl``, area against the nearer end of ``area_range``, elongation
    against ``max_elongation`` and half-maximum area against ``min_half_area`` (the spreads:
    ``SPOT_FLIP_*``)."""
    area = np.maximum(stats["area"], 1.0)
    half = np.maximum(stats["half_area"], 0.5)
    la, lh = np.log(area), np.log(half)
    lo, hi = np.log(area_range[0]), np.log(area_range[1])
    peak = np.maximum(stats["peak"], 1e-3)
    return np.stack(
        [
            (peak - core_dl) / (SPOT_FLIP_REL_DL * peak),
            np.minimum(la - lo, hi - la) * np.sqrt(area) / SPOT_FLIP_LOG_AREA,
            (np.log(max_elongation) - np.log(stats["elongation"]))
            * np.sqrt(area)
            / SPOT_FLIP_LOG_ELONGATION,
            (lh - np.log(min_half_area)) * np.sqrt(half) / SPOT_FLIP_LOG_AREA,
        ]
    )


def detection_probability(margins: np.ndarray) -> np.ndarray:
    """``prod Phi(margin)`` over the first axis: the probability that another capture finds a
    candidate with these margins (in spreads) to its tests."""
    from scipy.special import ndtr

    return np.prod(ndtr(np.asarray(margins, np.float64)), axis=0)


def flip_maps(contrast: np.ndarray, cand: np.ndarray, **limits) -> tuple[np.ndarray, np.ndarray]:
    """``(count, area px²)`` flip variance maps (float32, the shape of ``cand``): each pixel of a
    candidate carries ``P (1 - P) / A`` and ``P (1 - P) F^2 / A`` (``A`` its pixels, ``F`` its
    half-maximum area, ``P`` its :func:`detection_probability`); 0 elsewhere. ``limits``: the
    detector's ``core_dl``, ``area_range``, ``max_elongation``, ``min_half_area``,
    ``extent_share`` and ``peak_quantile``."""
    var_n = np.zeros(cand.shape, np.float32)
    var_a = np.zeros(cand.shape, np.float32)
    if not cand.any():
        return var_n, var_a
    limits = dict(limits)
    shares = {k: limits.pop(k) for k in ("extent_share", "peak_quantile")}
    stats = candidate_stats(contrast, cand, **shares)
    p = detection_probability(candidate_margins(stats, **limits))
    w = p * (1.0 - p) / np.maximum(stats["area"], 1.0)
    w[0] = 0.0
    labels = stats["labels"]
    var_n[...] = w[labels]
    var_a[...] = (w * stats["half_area"] ** 2)[labels]
    return var_n, var_a


#: Variance (spots²) of ``pigmentation.spot_count`` over a mask: candidates another capture
#: would find or miss.
spot_count_variance = map_variance("spot_flip_n")
#: Variance (px²) of ``pigmentation.spot_area_px``, from whole spots.
spot_area_variance = map_variance("spot_flip_area")
#: Variance (mm^4) of ``pigmentation.spot_area_mm2`` (0 without a scale).
spot_area_mm2_variance = map_variance("spot_flip_area", 4)
#: Variance (%²) of ``pigmentation.spot_area_pct`` (the mask's pixels the area).
spot_area_pct_variance = map_variance("spot_flip_area", share=True)


def defer_flip_maps(maps, contrast: np.ndarray, cand: np.ndarray, limits: dict) -> None:
    """Add the deferred maps ``spot_flip_n`` and ``spot_flip_area`` (:func:`flip_maps` of the
    candidates ``cand`` against ``limits``, both made in one pass on first use) to ``maps``."""
    made: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def flip(k: int) -> np.ndarray:
        if not made:
            made["maps"] = flip_maps(contrast, cand, **limits)
        return made["maps"][k]

    maps.defer("spot_flip_n", flip, 0)
    maps.defer("spot_flip_area", flip, 1)


#: The pigmentation family's ``flip_variance`` (its counting term): metric -> its variance.
SPOT_FLIP_VARIANCE = {
    "pigmentation.spot_count": spot_count_variance,
    "pigmentation.spot_area_px": spot_area_variance,
    "pigmentation.spot_area_mm2": spot_area_mm2_variance,
    "pigmentation.spot_area_pct": spot_area_pct_variance,
}
