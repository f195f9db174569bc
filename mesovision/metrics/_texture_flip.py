"""Fine lines and pores found in one capture and missed in another: the flip variance of their
densities.

A second photo of the same skin finds the same lines and pores again; what differs between two
captures is the detections near the detector's limits (:mod:`mesovision.metrics.texture`). A
fine line is an 8-connected component of the ridge mask (ridge response ``R > RIDGE_THRESHOLD_L``)
of at least ``FINE_LINE_MIN_PX`` pixels; a pore a component of the dark-blob mask (blob response
``B > PORE_THRESHOLD_L``) of ``PORE_AREA_RANGE_PX`` pixels. A *candidate* is a component of the
response above ``FLIP_CANDIDATE_SHARE`` x the threshold (:func:`candidate_stats`): the
detections, and the bumps just under the threshold that another capture may find. Each
candidate is tested by its peak response ``x`` against the threshold ``t`` and by the log of its
area (its largest detection's pixels) against the area limits; between two captures of the same
skin (another lamp, white balance, focus, resampling, JPEG) each quantity moves by a spread
``s``, and the margin of a test is ``(x - t) / s`` (positive when passed). The spreads are not
constants: a stronger response moves more (the peak's spread is a share of the peak,
``*_FLIP_REL_PEAK``), and a larger component's log area moves less (a few edge pixels are much
of a small one; ``*_FLIP_LOG_AREA / sqrt(area)``). Another capture counts the candidate with
probability

    P = prod over its tests of Phi(margin)

(:func:`~mesovision.metrics._spot_flip.detection_probability`, the tests taken as
independent), so whether it is counted is a Bernoulli draw of variance ``P (1 - P)``, whichever
side it is on now: 0 for a line or pore far past every limit and for a bump far below one, 0.25
for one at a limit. A region's count varies by the sum over its candidates; each candidate's
variance is spread over its pixels (maps ``line_flip`` and ``pore_flip``), so that a region
holding part of a candidate carries that share. A density ``1000 N / A`` (per kpx) or
``N / A_cm2`` has the count's variance over the area squared.

The spreads were measured on the development half of the faces by
``benchmarks/texture_flip.py`` (``docs/method.md``): the candidates of a photo's scoring copy
and of synthetic recaptures of it, matched through the known transform, and the robust spread
of their differences in bins of size.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import numpy as np

from ._shapes import component_areas
from ._spot_flip import detection_probability

__all__ = [
    "FLIP_CANDIDATE_SHARE",
    "LINE_FLIP_LOG_AREA",
    "LINE_FLIP_REL_PEAK",
    "LINE_SPLIT_PER_PX",
    "PORE_FLIP_LOG_AREA",
    "PORE_FLIP_REL_PEAK",
    "TEXTURE_FLIP_VARIANCE",
    "candidate_margins",
    "candidate_stats",
    "defer_flip_maps",
    "density_variance",
    "flip_map",
]

#: How far a line candidate's peak ridge response moves between two captures of the same skin,
#: as a share of it: the spread is ``LINE_FLIP_REL_PEAK x peak`` (L* units).
LINE_FLIP_REL_PEAK = 0.075
#: How far the log of a line candidate's area moves: ``LINE_FLIP_LOG_AREA / sqrt(area px)``.
LINE_FLIP_LOG_AREA = 1.2
#: The same two spreads for a pore candidate's peak blob response and log area.
PORE_FLIP_REL_PEAK = 0.10
PORE_FLIP_LOG_AREA = 0.65
#: A fine line that another capture breaks in two, or that joins another line, moves the count
#: by one: per pixel of a line, this variance per photo (pores hardly ever split or merge).
LINE_SPLIT_PER_PX = 0.00016
#: Candidates are the components of the response above this share of the detector's threshold.
FLIP_CANDIDATE_SHARE = 1.0


def candidate_stats(
    response: np.ndarray, threshold: float, *, share: float = FLIP_CANDIDATE_SHARE
) -> dict[str, np.ndarray]:
    """Per 8-connected component of ``response > share x threshold`` (index 0, the background,
    included): ``labels`` (the label image), ``pixels`` (its pixel count), ``peak`` (the largest
    response) and ``area`` (px: the largest component of ``response > threshold`` inside it, the
    area the detector tests; 0 for a bump that stays under the threshold)."""
    cand = response > np.float32(share * threshold)
    n, labels, pixels = component_areas(cand)
    lab = labels[cand]
    peak = np.zeros(n)
    np.maximum.at(peak, lab, response[cand].astype(np.float64))
    if share >= 1.0:  # the candidates are the detections themselves
        area = pixels.astype(np.float64)
    else:
        det = response > np.float32(threshold)
        _, dlab, dareas = component_areas(det)
        area = np.zeros(n)
        np.maximum.at(area, labels[det], dareas[dlab[det]].astype(np.float64))
    area[0] = 0.0
    return {"labels": labels, "pixels": pixels.astype(np.float64), "peak": peak, "area": area}


def candidate_margins(
    stats: dict[str, np.ndarray],
    *,
    threshold: float,
    area_range: tuple[float, float | None],
    rel_peak: float,
    log_area: float,
) -> np.ndarray:
    """``(2, n)`` margins in spreads of each candidate to its two tests (positive: passed): its
    peak response against ``threshold`` (spread ``rel_peak x peak``) and the log of its area
    against the nearer end of ``area_range`` (inclusive whole pixels, so the limits lie half a
    pixel outside: ``low - 0.5`` and ``high + 0.5``; ``(low, None)``: a lower limit only;
    spread ``log_area / sqrt(area)``; an area of 0 is taken as half a pixel)."""
    peak = np.maximum(stats["peak"], 1e-6)
    area = np.maximum(stats["area"], 0.5)
    la = np.log(area)
    lo, hi = area_range
    gap = la - np.log(lo - 0.5)
    if hi is not None:
        gap = np.minimum(gap, np.log(hi + 0.5) - la)
    return np.stack([(peak - threshold) / (rel_peak * peak), gap * np.sqrt(area) / log_area])


def flip_map(response: np.ndarray, threshold: float, **limits) -> np.ndarray:
    """Flip variance map (float32, the shape of ``response``): each pixel of a candidate
    (:func:`candidate_stats`) carries ``P (1 - P) / n``, ``n`` the candidate's pixels and ``P``
    its :func:`~mesovision.metrics._spot_flip.detection_probability` from
    :func:`candidate_margins`, plus ``P x split_per_px`` (a detection split or merged by
    another capture); 0 elsewhere. ``limits``: ``area_range``, ``rel_peak``, ``log_area`` and
    optionally ``split_per_px`` (default 0) and ``share``."""
    limits = dict(limits)
    share = limits.pop("share", FLIP_CANDIDATE_SHARE)
    split = limits.pop("split_per_px", 0.0)
    stats = candidate_stats(response, threshold, share=share)
    p = detection_probability(candidate_margins(stats, threshold=threshold, **limits))
    w = p * (1.0 - p) / np.maximum(stats["pixels"], 1.0) + split * p
    w[0] = 0.0
    return w.astype(np.float32)[stats["labels"]]


def defer_flip_maps(maps, ridge: np.ndarray, blob: np.ndarray, lines: dict, pores: dict) -> None:
    """Add the deferred maps ``line_flip`` (:func:`flip_map` of the ridge response ``ridge``
    against ``lines``: ``threshold``, ``area_range``) and ``pore_flip`` (of the blob response
    ``blob`` against ``pores``) to ``maps``, each made on first use."""
    for name, response, limits, rel_peak, log_area, split in (
        ("line_flip", ridge, lines, LINE_FLIP_REL_PEAK, LINE_FLIP_LOG_AREA, LINE_SPLIT_PER_PX),
        ("pore_flip", blob, pores, PORE_FLIP_REL_PEAK, PORE_FLIP_LOG_AREA, 0.0),
    ):
        make = partial(
            flip_map,
            area_range=limits["area_range"],
            rel_peak=rel_peak,
            log_area=log_area,
            split_per_px=split,
        )
        maps.defer(name, make, response, limits["threshold"])


def density_variance(name: str, per: str) -> Callable:
    """A ``flip_variance`` function (``(maps, mask) -> variance``) of a density: the count's
    variance (map ``name`` summed over the mask) over the area squared, the area ``A / 1000``
    for ``per="kpx"`` (``A`` the mask's pixels) or ``A / px_per_mm^2 / 100`` cm² for
    ``per="cm2"`` (0 without a scale, or on an empty mask)."""
    if per not in ("kpx", "cm2"):
        raise ValueError(f"unknown density area {per!r}; valid: kpx, cm2")

    def variance(maps, mask) -> float:
        n = int(np.count_nonzero(mask))
        ppm = maps.px_per_mm
        if n == 0 or (per == "cm2" and not ppm):
            return 0.0
        area = n / 1000.0 if per == "kpx" else n / ppm**2 / 100.0
        return maps.total(name, mask) / area**2

    return variance


#: The texture family's ``flip_variance`` (its counting term): metric -> its variance.
TEXTURE_FLIP_VARIANCE = {
    "texture.fine_line_density_per_kpx": density_variance("line_flip", "kpx"),
    "texture.fine_line_density_per_cm2": density_variance("line_flip", "cm2"),
    "texture.pore_density_per_kpx": density_variance("pore_flip", "kpx"),
    "texture.pore_density_per_cm2": density_variance("pore_flip", "cm2"),
}
