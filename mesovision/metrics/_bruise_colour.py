"""The bruise colour test: departure of each pixel from the local skin, and its compact areas.

:func:`bruise_candidates` compares the smoothed CIELAB of each pixel with the median colour of
the skin around it (:func:`skin_background`, an exact windowed median on a reduced copy), takes
out the photo's own coupling of colour to shading, and scores the departure toward blue or
yellow; :func:`filter_components` keeps the compact areas with a core, at half their peak
departure. The method, step by step, is in :mod:`mesovision.metrics.bruise`; the constants
below are its settings.
"""

from __future__ import annotations

import cv2
import numpy as np

from ._bruise_ring import (
    BRUISE_GREEN_WEIGHT,
    BRUISE_PURPLE_WEIGHT,
    Departures,
    hue_departure,
    inner_skin,
    ring_components,
)
from ._shapes import compact_components, component_areas, component_quantile

__all__ = [
    "BRUISE_BG_LEVELS",
    "BRUISE_BG_SHARE",
    "BRUISE_BLUE_DL",
    "BRUISE_CORE_SCORE",
    "BRUISE_DB",
    "BRUISE_EXTENT_SHARE",
    "BRUISE_FLIP_SD",
    "BRUISE_GREEN_WEIGHT",
    "BRUISE_MAX_ELONGATION",
    "BRUISE_MIN_AREA_FLOOR_PX",
    "BRUISE_MIN_AREA_PX",
    "BRUISE_MIN_AREA_SHARE",
    "BRUISE_PURPLE_WEIGHT",
    "BRUISE_SLOPE_MAX",
    "BRUISE_SMOOTH_SIGMA_PX",
    "BRUISE_YELLOW_DL",
    "bruise_candidates",
    "bruise_departures",
    "bruise_min_area",
    "candidates_of",
    "filter_components",
    "flip_variance",
    "whole_flip_variance",
    "skin_background",
    "windowed_median",
]

_MAD_TO_SIGMA = 1.4826

#: Bruise colour: smoothed (sigma, px) Lab departs from the *local* skin background -- the
#: median colour of the skin pixels in a window of about 4 sigma, sigma ``BRUISE_BG_SHARE *
#: sqrt(skin area)`` (about a third of the interocular distance on a face) -- once the photo's
#: own coupling of colour to shading is taken out (:func:`bruise_candidates`): toward blue or
#: yellow (|residual b*| > ``BRUISE_DB``), helped by a redder residual on the blue side (purple,
#: ``BRUISE_PURPLE_WEIGHT``) and a greener one on the yellow side (``BRUISE_GREEN_WEIGHT``, more
#: where the skin darkens and yellows too; all defined with
#: :func:`~mesovision.metrics._bruise_ring.hue_departure`). A lower or higher a* alone is less or
#: more redness, not a bruise.
BRUISE_SMOOTH_SIGMA_PX = 1.5
BRUISE_BG_SHARE = 0.15
BRUISE_DB = 7.0
#: Shading couples colour to lightness in each photo (a warm key light and a cool fill make lit
#: skin yellower and shadows bluer; plain shading scales a* and b* with L* + 16): the per-photo
#: slopes of the local a* and b* departures on the L* departure (least squares through 0 over
#: the skin's inliers) are taken out, clipped to [0, ``BRUISE_SLOPE_MAX``].
BRUISE_SLOPE_MAX = 0.6
#: The L* departure a bruise can have: a yellower one (bilirubin absorbs blue, little else)
#: within ``BRUISE_YELLOW_DL``, a bluer one (deoxygenated blood darkens) within
#: ``BRUISE_BLUE_DL``. Lit skin (lighter and yellower), sheen (lighter and bluer), hair, brows and
#: spectacle frames (much darker) fall outside.
BRUISE_YELLOW_DL = (-18.0, 12.0)
BRUISE_BLUE_DL = (-30.0, 5.0)
#: Levels of the local background median (per CIELAB channel over L* 0..100, a* and b*
#: -128..128: steps of 0.39 L* and 1.0 a*, b*).
BRUISE_BG_LEVELS = 256
#: Levels per bin of the first pass of the windowed median (:func:`windowed_median`): a speed
#: setting only, the median is exact whatever its value.
_MEDIAN_BIN_LEVELS = 16
#: Hysteresis: a bruise-coloured area counts only if its core goes beyond the margins by this
#: many margins more (score >= BRUISE_CORE_SCORE, i.e. a departure of (1 + score) margins);
#: its extent is then every connected candidate pixel. Normal facial colour variation (brows,
#: dark circles, stubble) rarely reaches a core; a bruise does.
BRUISE_CORE_SCORE = 0.8
#: How far a bruise core's peak score (in thresholds) moves between two captures of the same
#: skin (another lamp, white balance, focus, JPEG): the spread behind :func:`flip_variance`.
#: Chosen on the development half of the null pairs (``benchmarks/calibration.py``).
BRUISE_FLIP_SD = 0.25
#: A bruise's extent: its pixels departing by at least this share of its (robust) peak departure.
BRUISE_EXTENT_SHARE = 0.5
#: Connected bruise-coloured areas smaller than this (px) are ignored by default.
BRUISE_MIN_AREA_PX = 40
#: ... or this share of the skin area when smaller (but not below ``BRUISE_MIN_AREA_FLOOR_PX``):
#: on a small face 40 px is a large bruise.
BRUISE_MIN_AREA_SHARE = 0.002
BRUISE_MIN_AREA_FLOOR_PX = 15
#: A bruise is compact: components more elongated than this (square root of the ratio of their
#: second-moment eigenvalues; an ellipse's axis ratio) are shadows along the nose, folds, frames
#: or hairlines.
BRUISE_MAX_ELONGATION = 3.5


def bruise_min_area(n_skin: int) -> int:
    """Default smallest bruise (px) for a skin mask of ``n_skin`` pixels."""
    share = int(round(BRUISE_MIN_AREA_SHARE * n_skin))
    return max(BRUISE_MIN_AREA_FLOOR_PX, min(BRUISE_MIN_AREA_PX, share))


def _box_cumulative_histogram(
    level: np.ndarray,
    weight: np.ndarray,
    at: tuple[np.ndarray, np.ndarray],
    n_levels: int,
    win: int,
) -> np.ndarray:
    """``(rows, cols, n_levels)``: the weight of the pixels at ``at`` (row and column indices) in
    each ``win`` x ``win`` window whose ``level`` (int, one per pixel of ``at``) is at most each
    level; nothing outside the image."""
    cum = np.zeros((*weight.shape, n_levels), np.float32)
    cum[at[0], at[1], level] = weight[at]
    # The running sum over the levels, level by level: the additions of np.cumsum in the same
    # order, without its slow per-pixel loop over a short last axis (about 2x faster).
    for i in range(1, n_levels):
        cum[..., i] += cum[..., i - 1]
    # OpenCV filters at most _CV_MAX_CHANNELS channels at a time.
    for i in range(0, n_levels, _CV_MAX_CHANNELS):
        part = cum[..., i : i + _CV_MAX_CHANNELS]
        cum[..., i : i + _CV_MAX_CHANNELS] = cv2.boxFilter(
            part, -1, (win, win), normalize=False, borderType=cv2.BORDER_CONSTANT
        ).reshape(part.shape)
    return cum


#: The most channels one OpenCV image may have (``CV_CN_MAX``: 128 in OpenCV 5, 512 in 4).
_CV_MAX_CHANNELS = 128


def windowed_median(
    level: np.ndarray, weight: np.ndarray, at: tuple[np.ndarray, np.ndarray], win: int
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted median level (float32) of the pixels at ``at`` in each ``win`` x ``win`` window
    (levels ``0 .. BRUISE_BG_LEVELS - 1``), and where a window holds any weight (bool). Exact, in
    two passes: the bin of ``_MEDIAN_BIN_LEVELS`` levels holding each median, then the levels of
    the bins found."""
    shape = weight.shape
    coarse = _box_cumulative_histogram(
        level // _MEDIAN_BIN_LEVELS,
        weight,
        at,
        (BRUISE_BG_LEVELS - 1) // _MEDIAN_BIN_LEVELS + 1,
        win,
    )
    half = 0.5 * coarse[..., -1:]
    held = coarse[..., -1] > 0
    if not held.any():
        return np.zeros(shape, np.float32), held
    bins = np.argmax(coarse >= half, axis=2)[held]
    first = int(bins.min()) * _MEDIAN_BIN_LEVELS
    n = (int(bins.max()) + 1) * _MEDIAN_BIN_LEVELS - first
    # Level 0 gathers every level below ``first``, level n + 1 every level above the range.
    fine = _box_cumulative_histogram(np.clip(level - first + 1, 0, n + 1), weight, at, n + 2, win)
    return (np.argmax(fine >= half, axis=2) + (first - 1)).astype(np.float32), held


#: CIELAB channels' ranges for the background median's levels (L*, a*, b*).
_LAB_RANGES = ((0.0, 100.0), (-128.0, 128.0), (-128.0, 128.0))


def skin_background(
    lab: np.ndarray, skin: np.ndarray, sigma: float, channels=(0, 1, 2)
) -> np.ndarray:
    """Robust local skin colour: the median of the *skin* pixels in a square window of about
    ``4 * sigma`` px, on a copy reduced so that the window is ~25 px. ``(H, W, len(channels))``:
    the CIELAB ``channels`` asked for, in that order.

    Each reduced pixel carries the mean colour of its skin pixels with their share of it as a
    weight, and the median is the weighted one (``BRUISE_BG_LEVELS`` levels per channel):
    non-skin pixels (hair, brows, eyes, outside the photo) do not vote. Where they fill most of a
    window -- the forehead under the hairline -- a fill value would outvote the skin and set the
    background itself. A median ignores a bruise covering less than half the skin of its window,
    where a mean would be pulled toward it and make its surroundings look like a bruise of the
    opposite colour. Pixels whose window holds no skin get the skin's overall median.
    """
    h, w = skin.shape
    k = max(1.0, 4.0 * sigma / 25.0)
    sw, sh = max(1, round(w / k)), max(1, round(h / k))
    sk = skin.astype(np.float32)
    chan = list(channels)
    weight = cv2.resize(sk, (sw, sh), interpolation=cv2.INTER_AREA)
    src = lab if chan == [0, 1, 2] else np.ascontiguousarray(lab[..., chan])
    # (all channels in one pass: a third of the time of one reduction per channel)
    masked = cv2.multiply(src, cv2.merge([sk] * len(chan)))
    sums = cv2.resize(masked, (sw, sh), interpolation=cv2.INTER_AREA).reshape(sh, sw, len(chan))
    voted = weight > 0
    mean = sums / np.where(voted, weight, np.float32(1.0))[..., None]
    win = max(3, int(round(4.0 * sigma / k)) | 1)
    at = np.nonzero(voted)
    out = np.empty((sh, sw, len(chan)), np.float32)
    top = BRUISE_BG_LEVELS - 1
    for i, c in enumerate(chan):
        lo, hi = _LAB_RANGES[c]
        step = (hi - lo) / top
        level = np.clip(np.rint((mean[at + (i,)] - lo) / step), 0, top).astype(np.intp)
        median, held = windowed_median(level, weight, at, win)
        out[..., i] = median * np.float32(step) + np.float32(lo)
        if not held.all():  # the overall median only where a window holds no skin
            overall = np.median(lab[..., c][skin]) if voted.any() else np.float32(0.0)
            out[..., i][~held] = overall
    out = cv2.resize(out, (w, h), interpolation=cv2.INTER_LINEAR)
    return out.reshape(h, w, len(channels))


def _shading_slope(d_l: np.ndarray, d_c: np.ndarray) -> float:
    """Least-squares slope of ``d_c`` on ``d_l`` (through 0) over the pixels within 3 robust
    standard deviations of the median of both, clipped to ``[0, BRUISE_SLOPE_MAX]``."""

    def inlier(x):
        med = np.median(x)
        mad = max(float(np.median(np.abs(x - med))), 1e-3)
        return np.abs(x - med) <= 3.0 * _MAD_TO_SIGMA * mad

    ok = inlier(d_l) & inlier(d_c)
    x, y = d_l[ok].astype(np.float64), d_c[ok].astype(np.float64)  # (a few thousand values)
    den = float(x @ x)
    return float(np.clip((x @ y) / den, 0.0, BRUISE_SLOPE_MAX)) if den > 0 else 0.0


#: Most skin pixels the shading slopes are fitted on (a regular subsample beyond).
_SLOPE_SAMPLE_PX = 5000


def bruise_departures(
    lab_smooth: np.ndarray, skin: np.ndarray, *, background_sigma_px: float | None = None
) -> Departures:
    """Per-pixel departures from the local skin background (:func:`skin_background`) with the
    photo's shading taken out: ``d = Lab - background``, ``r_a = d_a - c_a d_L`` and
    ``r_b = d_b - c_b d_L`` with the shading slopes ``c`` (:func:`_shading_slope`). All zero
    when ``skin`` is empty."""
    n = int(np.count_nonzero(skin))
    if n == 0:
        z = np.zeros(skin.shape, np.float32)
        return Departures(z, z, z, skin)
    sigma = background_sigma_px or max(3.0, BRUISE_BG_SHARE * float(np.sqrt(n)))
    d_l, d_a, d_b = cv2.split(cv2.subtract(lab_smooth, skin_background(lab_smooth, skin, sigma)))
    step = max(1, int(np.sqrt(n / _SLOPE_SAMPLE_PX)))
    sub = skin[::step, ::step]
    sample_l = d_l[::step, ::step][sub]
    c_a = _shading_slope(sample_l, d_a[::step, ::step][sub])
    c_b = _shading_slope(sample_l, d_b[::step, ::step][sub])
    r_a = cv2.scaleAdd(d_l, -c_a, d_a)  # d_a - c_a d_l
    r_b = cv2.scaleAdd(d_l, -c_b, d_b)
    return Departures(d_l, r_a, r_b, skin, lab_smooth)


def candidates_of(dep: Departures, db: float = BRUISE_DB) -> tuple[np.ndarray, np.ndarray]:
    """The bruise colour test on the departures ``dep`` (:func:`bruise_candidates`), with the
    colour threshold ``db`` (the score in units of it)."""
    d_l, r_a, r_b = dep.d_l, dep.r_a, dep.r_b
    yellow = r_b > 0
    zero = np.float32(0.0)
    score = hue_departure(r_a, r_b, yellow, d_l) * np.float32(1.0 / db) - np.float32(1.0)
    (yl0, yl1), (bl0, bl1) = BRUISE_YELLOW_DL, BRUISE_BLUE_DL
    lo = np.where(yellow, np.float32(yl0), np.float32(bl0))
    hi = np.where(yellow, np.float32(yl1), np.float32(bl1))
    candidate = (score > zero) & (d_l > lo) & (d_l < hi) & dep.skin
    return candidate, np.where(candidate, score, zero)


def bruise_candidates(
    lab_smooth: np.ndarray, skin: np.ndarray, *, background_sigma_px: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel bruise colour test against the local skin background (see ``BRUISE_*``).

    On the departures of :func:`bruise_departures` (``d_L`` and the shading-corrected ``r_a``,
    ``r_b``): the departure ``|r_b| + BRUISE_PURPLE_WEIGHT max(r_a, 0)`` where ``r_b < 0`` and
    ``r_b`` plus the green term of
    :func:`~mesovision.metrics._bruise_ring.hue_departure` where ``r_b > 0``, candidate beyond
    ``BRUISE_DB`` with ``d_L`` inside ``BRUISE_BLUE_DL`` or ``BRUISE_YELLOW_DL``.

    Returns ``(candidate, score)``: ``candidate`` is ``bool`` (inside ``skin`` only); ``score``
    (float32, >= 0) is how far the departure goes beyond ``BRUISE_DB``, in units of it (``> 0``
    where candidate).
    """
    return candidates_of(
        bruise_departures(lab_smooth, skin, background_sigma_px=background_sigma_px)
    )


def filter_components(
    binary: np.ndarray,
    min_area: int,
    score: np.ndarray | None = None,
    departures: Departures | None = None,
) -> np.ndarray:
    """Keep 8-connected components of at least ``min_area`` pixels. When ``score`` (departure
    beyond the threshold, in thresholds) is given, a component must have a core at
    ``score >= BRUISE_CORE_SCORE`` and keeps only its pixels at half its (robust) peak departure
    or more (the bruise's extent at half maximum, whatever its strength), and the components
    left must be compact (``BRUISE_MAX_ELONGATION``). When the ``departures`` the score was
    computed from are given too, the core must lie inside the skin away from its outline
    (:func:`~mesovision.metrics._bruise_ring.inner_skin`), and the components must be blobs
    that pass the tests against the skin around them
    (:func:`~mesovision.metrics._bruise_ring.ring_components`)."""
    if not binary.any():
        return binary
    n, labels, areas = component_areas(binary)
    keep = areas >= min_area
    if score is None:
        keep[0] = False
        return keep[labels]
    lab_in, sc_in = labels[binary], score[binary]
    top = np.zeros(n, np.float32)
    core = sc_in if departures is None else np.where(inner_skin(departures.skin)[binary], sc_in, 0)
    np.maximum.at(top, lab_in, core)
    keep &= top >= BRUISE_CORE_SCORE
    keep[0] = False
    # Robust peak (90th percentile of the component's departure): one out-of-gamut or noisy
    # pixel must not set the half-maximum level.
    peak = component_quantile(lab_in, sc_in, n, 0.9).astype(np.float32)
    out = keep[labels] & (score + 1.0 >= BRUISE_EXTENT_SHARE * (peak[labels] + 1.0))
    if out.any():  # the half-maximum cut may split or shrink a component: filter again
        out = filter_components(out, min_area)
    if out.any() and BRUISE_MAX_ELONGATION:
        out = compact_components(out, BRUISE_MAX_ELONGATION)
    if out.any() and departures is not None:
        out = ring_components(out, departures)
    return out


def flip_variance(bruise: np.ndarray, score: np.ndarray) -> np.ndarray:
    """Per-pixel share of the variance of the bruise area (px²) from whole bruises that another
    capture would not find again.

    A bruise is kept or dropped as a whole (its core test, ``BRUISE_CORE_SCORE``), so between two
    captures its area does not wobble pixel by pixel: it is there or not. A component of ``A``
    pixels whose peak score exceeds the core level by ``m`` (in thresholds) is missed by another
    capture with probability ``p = Phi(-m / BRUISE_FLIP_SD)``; its area then varies by
    ``p (1 - p) A²``. Each of its pixels carries ``p (1 - p) A``, so that the sum over a region
    holding the component is its variance (over a region holding part ``A_R`` of it,
    ``p (1 - p) A A_R``). 0 outside bruises (float32)."""
    return whole_flip_variance(bruise, score - np.float32(BRUISE_CORE_SCORE))


def whole_flip_variance(mask: np.ndarray, margin: np.ndarray) -> np.ndarray:
    """Per-pixel share of the variance of the area (px²) of ``mask``'s components, each kept or
    lost as a whole: a component whose largest ``margin`` (per pixel, in thresholds above the
    level at which it is lost) is ``m`` is lost with probability ``p = Phi(-m /
    BRUISE_FLIP_SD)`` and each of its ``A`` pixels carries ``p (1 - p) A``. 0 outside ``mask``
    (float32). :func:`flip_variance` and the pair's
    :func:`~mesovision.metrics._bruise_pair.pair_flip_variance` differ in the margin."""
    from scipy.special import ndtr

    out = np.zeros(mask.shape, np.float32)
    if not mask.any():
        return out
    n, labels, areas = component_areas(mask)
    top = np.zeros(n, np.float64)
    np.maximum.at(top, labels[mask], margin[mask])
    p = ndtr(-top / BRUISE_FLIP_SD)
    w = p * (1.0 - p) * areas
    w[0] = 0.0
    return w.astype(np.float32)[labels]
