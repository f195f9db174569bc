"""Per-pixel maps computed once per photo, the patient's skin baseline, and region views.

:func:`prepare` turns an sRGB photo into an :class:`ImageMaps`: every per-pixel quantity a metric
needs (CIELAB, erythema and melanin indices, Tsumura haemoglobin/melanin densities, band-pass
detail, ridge and blob responses, candidate masks for spots, red areas and bruises, the pixels at
risk of flipping across the red-area and ridge thresholds), computed with OpenCV on the bounding
box of a region of interest (plus a margin wide enough for every filter, so that a pure
translation of the photo leaves every value unchanged). Metrics then only reduce these maps over
region masks (:class:`RegionView`).

Filter sizes are in working pixels (the constants below). Values of the texture and spot metrics
therefore depend on the working size: compare photos at the same working size (the comparison
stage does). Reflectances are the sRGB-decoded (linear) channels, clipped below at
``REFLECTANCE_FLOOR``; optical density is ``OD = -log10(reflectance)``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import cv2
import numpy as np

from ..color import rgb_to_lab
from ..errors import UsageError

__all__ = ["SkinBaseline", "ImageMaps", "RegionView", "prepare"]

#: Lowest reflectance used in logarithms (keeps OD finite on black pixels).
REFLECTANCE_FLOOR = 1e-3
#: Tsumura et al. (1999) optical-density directions used by public implementations (melanin,
#: haemoglobin); the third basis vector (1, 1, 1) absorbs shading / illumination intensity.
MELANIN_OD_VECTOR = (0.4143, 0.3570, 0.8372)
HAEMOGLOBIN_OD_VECTOR = (0.2988, 0.6838, 0.6657)
#: Band-pass detail of L*: difference of Gaussians with these standard deviations (px).
DETAIL_SIGMAS_PX = (0.8, 3.0)
#: Hessian scales (px) of the ridge (wrinkle / fine line) response; ``ridge`` is the maximum over
#: scales of the scale-normalised line measure.
RIDGE_SIGMAS_PX = (1.5, 3.0)
#: A pixel belongs to a ridge when its ridge response exceeds this (L* units, scale-normalised).
RIDGE_THRESHOLD_L = 2.0
#: Hessian scale (px) and threshold (L* units) of the dark-blob (pore) response.
PORE_SIGMA_PX = 1.5
PORE_THRESHOLD_L = 1.5
#: GLCM grey levels: L* quantised in bins of this width; pixel-pair distance in px.
GLCM_BIN_L = 1.0
GLCM_DISTANCE_PX = 1
#: Pigmented spots: compact areas darker AND browner than the local skin. Contrast of the lightly
#: smoothed (sigma, px) L* and b* against their local median over a square of SPOT_BG_PX (spots
#: wider than about half of it are not found); a candidate is at least SPOT_DL darker and
#: SPOT_DB yellower (b*) -- shadows and wrinkles are darker but not browner. A spot is a
#: candidate component of SPOT_AREA_RANGE_PX pixels, not elongated (sqrt of the ratio of its
#: second-moment eigenvalues at most SPOT_MAX_ELONGATION: lines and folds are), whose darkest
#: pixel reaches SPOT_CORE_DL.
SPOT_SMOOTH_SIGMA_PX = 0.8
SPOT_BG_PX = 21
SPOT_DL = 5.0
SPOT_DB = 1.0
SPOT_CORE_DL = 8.0
SPOT_AREA_RANGE_PX = (6, 400)
SPOT_MAX_ELONGATION = 2.5
#: Red area: a* (smoothed with this sigma, px) above the baseline median by
#: ``max(RED_MARGIN_K * 1.4826 * MAD(a*), RED_MARGIN_MIN)``.
RED_SMOOTH_SIGMA_PX = 1.5
RED_MARGIN_K = 3.0
RED_MARGIN_MIN = 3.0
#: Move (px) of the sampling grid against which a pixel of a thresholded map ``[v > t]`` (``v`` a
#: smooth field) is *at risk of flipping*: a move of ``u`` changes ``v`` by at most the largest
#: ``|grad v|`` within ``|u|`` times ``|u|`` (mean value theorem), so only a pixel with
#: ``|v - t| < max |grad v| * FLIP_BAND_PX`` can change sides (:func:`near_threshold`). One pixel
#: is the grid's own spacing, the move in the comparison's recapture term: a translated photo is
#: sampled at another sub-pixel phase, and resampling (area averaging, aliasing of unsmoothed
#: detail) moves a smoothed value by up to about the difference to the next pixel (measured: 0.6
#: a* where |grad a*| is 1 a*/px, for a phase change of 0.2 px).
FLIP_BAND_PX = 1.0
#: Bruise colour: smoothed (sigma, px) Lab departs from the *local* skin background -- the
#: median colour of the skin pixels in a window of about 4 sigma, sigma ``BRUISE_BG_SHARE *
#: sqrt(skin area)`` (about a third of the interocular distance on a face) -- once the photo's
#: own coupling of colour to shading is taken out (:func:`bruise_candidates`): toward blue or
#: yellow (|residual b*| > ``BRUISE_DB``), helped by a redder residual on the blue side (purple,
#: ``BRUISE_PURPLE_WEIGHT``) and a greener one on the yellow side (``BRUISE_GREEN_WEIGHT``).
#: A lower or higher a* alone is less or more redness, not a bruise.
BRUISE_SMOOTH_SIGMA_PX = 1.5
BRUISE_BG_SHARE = 0.15
BRUISE_DB = 7.0
BRUISE_PURPLE_WEIGHT = 0.5
BRUISE_GREEN_WEIGHT = 0.5
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
#: Levels per bin of the first pass of the windowed median (:func:`_windowed_median`): a speed
#: setting only, the median is exact whatever its value.
_MEDIAN_BIN_LEVELS = 16
#: Hysteresis: a bruise-coloured area counts only if its core goes beyond the margins by this
#: many margins more (score >= BRUISE_CORE_SCORE, i.e. a departure of (1 + score) margins);
#: its extent is then every connected candidate pixel. Normal facial colour variation (brows,
#: dark circles, stubble) rarely reaches a core; a bruise does.
BRUISE_CORE_SCORE = 0.8
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


#: The map of the pixels at risk of flipping (bool, :func:`near_threshold`) of each map that is a
#: per-pixel threshold of a smooth field, by the thresholded map's name. The counting term of a
#: share's noise floor adds them to the flagged pixels (:mod:`mesovision.compare`). The spot and
#: bruise masks are not listed: they keep or drop whole components (minimum area, a core beyond
#: the threshold), which a per-pixel band does not describe.
NEAR_THRESHOLD_MAPS = {"red_px": "red_near", "ridge_px": "ridge_near"}
#: Pixels added around the region of interest before filtering (>= 3 sigma of every filter and
#: half the top-hat side), so that values inside the region do not depend on where the crop ends.
CROP_MARGIN_PX = 32

_MAD_TO_SIGMA = 1.4826


def _robust(values: np.ndarray) -> tuple[float, float]:
    med = float(np.median(values))
    return med, float(np.median(np.abs(values - med)))


@dataclass(frozen=True)
class SkinBaseline:
    """Robust statistics of the patient's own skin (normally the ``face`` region of the BEFORE
    photo): medians and median absolute deviations (MAD, unscaled) of L*, a*, b* and of the
    erythema and melanin indices. In a comparison pass the before photo's baseline for both
    photos, so that a global change still shows. Also the medians of the Tsumura melanin and
    haemoglobin densities (heatmap references)."""

    lab_median: tuple[float, float, float]
    lab_mad: tuple[float, float, float]
    erythema_index_median: float
    erythema_index_mad: float
    melanin_index_median: float
    melanin_index_mad: float
    melanin_density_median: float
    haemoglobin_density_median: float
    n_pixels: int

    @classmethod
    def from_image(cls, rgb: np.ndarray, mask: np.ndarray | None = None) -> SkinBaseline:
        """Baseline from the pixels of ``rgb`` under ``mask`` (all pixels when ``None``).

        Raises ``ValueError`` for an empty mask or a mask of another shape.
        """
        rgb = _check_rgb(rgb)
        if mask is None:
            px = rgb.reshape(-1, 3)
        else:
            mask = _check_mask(mask, rgb.shape[:2], "mask")
            px = rgb[mask]
        if px.shape[0] == 0:
            raise ValueError("cannot compute a skin baseline from an empty mask (0 pixels)")
        lab = rgb_to_lab(px.reshape(-1, 1, 3)).reshape(-1, 3)
        od = _optical_density(px.reshape(-1, 1, 3)).reshape(-1, 3)
        ei = 100.0 * (od[:, 1] - od[:, 0])
        mi = 100.0 * od[:, 0]
        stats = [_robust(lab[:, k]) for k in range(3)]
        ei_med, ei_mad = _robust(ei)
        mi_med, mi_mad = _robust(mi)
        dens = od @ _tsumura_matrix().T
        return cls(
            lab_median=tuple(s[0] for s in stats),
            lab_mad=tuple(s[1] for s in stats),
            erythema_index_median=ei_med,
            erythema_index_mad=ei_mad,
            melanin_index_median=mi_med,
            melanin_index_mad=mi_mad,
            melanin_density_median=float(np.median(dens[:, 0])),
            haemoglobin_density_median=float(np.median(dens[:, 1])),
            n_pixels=int(px.shape[0]),
        )

    def as_dict(self) -> dict[str, object]:
        return {
            "lab_median": list(self.lab_median),
            "lab_mad": list(self.lab_mad),
            "erythema_index_median": self.erythema_index_median,
            "erythema_index_mad": self.erythema_index_mad,
            "melanin_index_median": self.melanin_index_median,
            "melanin_index_mad": self.melanin_index_mad,
            "melanin_density_median": self.melanin_density_median,
            "haemoglobin_density_median": self.haemoglobin_density_median,
            "n_pixels": self.n_pixels,
        }

    def margin(self, channel: int, *, k: float, minimum: float) -> float:
        """``max(k * 1.4826 * MAD, minimum)`` for Lab channel ``channel`` (0 L*, 1 a*, 2 b*)."""
        return max(k * _MAD_TO_SIGMA * self.lab_mad[channel], minimum)


def _check_rgb(rgb: np.ndarray) -> np.ndarray:
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected an RGB image shaped (row, col, 3), got shape {rgb.shape}")
    if not np.issubdtype(rgb.dtype, np.floating):
        raise ValueError(f"expected float sRGB in [0, 1] (see mesovision.types), got {rgb.dtype}")
    return rgb


def _check_mask(mask: np.ndarray, shape: tuple[int, int], what: str) -> np.ndarray:
    mask = np.asarray(mask)
    if mask.shape != tuple(shape):
        raise ValueError(f"{what} has shape {mask.shape}, the image {tuple(shape)}")
    return mask.astype(bool, copy=False)


def _srgb_to_linear_fast(x: np.ndarray) -> np.ndarray:
    """IEC 61966-2-1 decoding of float32 ``x`` (same formula as ``color.srgb_to_linear``, with
    cv2.pow), into a new array; in place after the first operation, as large temporaries cost
    more than the arithmetic."""
    out = x + np.float32(0.055)
    out *= np.float32(1 / 1.055)
    cv2.pow(out, 2.4, out)
    np.copyto(out, x * np.float32(1 / 12.92), where=x <= np.float32(0.04045))
    return out


def _optical_density(x: np.ndarray) -> np.ndarray:
    """``-log10`` of the linear reflectance (floored at ``REFLECTANCE_FLOOR``), float32."""
    lin = _srgb_to_linear_fast(np.clip(x, 0.0, 1.0).astype(np.float32, copy=False))
    np.maximum(lin, np.float32(REFLECTANCE_FLOOR), out=lin)
    cv2.log(lin, lin)
    lin *= np.float32(-1.0 / np.log(10.0))
    return lin


def _tsumura_matrix() -> np.ndarray:
    basis = np.array([MELANIN_OD_VECTOR, HAEMOGLOBIN_OD_VECTOR, (1.0, 1.0, 1.0)]).T
    return np.linalg.inv(basis).astype(np.float32)  # rows: melanin, haemoglobin, shading


def _hessian_eigen(img: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (larger, smaller) of the Gaussian-smoothed Hessian, scaled by sigma**2."""
    s = cv2.GaussianBlur(img, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
    # Sobel 3x3 second derivatives carry a factor 4 ([1,-2,1] x [1,2,1]); cross term too.
    k = np.float32(sigma * sigma / 4.0)
    dxx = cv2.Sobel(s, cv2.CV_32F, 2, 0, ksize=3, scale=float(k), borderType=cv2.BORDER_REFLECT)
    dyy = cv2.Sobel(s, cv2.CV_32F, 0, 2, ksize=3, scale=float(k), borderType=cv2.BORDER_REFLECT)
    dxy = cv2.Sobel(s, cv2.CV_32F, 1, 1, ksize=3, scale=float(k), borderType=cv2.BORDER_REFLECT)
    half_tr = (dxx + dyy) * np.float32(0.5)
    root = cv2.sqrt(((dxx - dyy) * np.float32(0.5)) ** 2 + dxy * dxy)
    return half_tr + root, half_tr - root


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
    hist = np.zeros((*weight.shape, n_levels), np.float32)
    hist[at[0], at[1], level] = weight[at]
    cum = np.cumsum(hist, axis=2)
    # OpenCV filters at most _CV_MAX_CHANNELS channels at a time.
    for i in range(0, n_levels, _CV_MAX_CHANNELS):
        part = cum[..., i : i + _CV_MAX_CHANNELS]
        cum[..., i : i + _CV_MAX_CHANNELS] = cv2.boxFilter(
            part, -1, (win, win), normalize=False, borderType=cv2.BORDER_CONSTANT
        ).reshape(part.shape)
    return cum


#: The most channels one OpenCV image may have (``CV_CN_MAX``: 128 in OpenCV 5, 512 in 4).
_CV_MAX_CHANNELS = 128


def _windowed_median(
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


def _skin_background(
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
    sums = np.dstack(  # channel by channel: no gathered copy of the channels asked for
        [cv2.resize(lab[..., c] * sk, (sw, sh), interpolation=cv2.INTER_AREA) for c in chan]
    )
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
        median, held = _windowed_median(level, weight, at, win)
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


def bruise_candidates(
    lab_smooth: np.ndarray, skin: np.ndarray, *, background_sigma_px: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel bruise colour test against the local skin background (see ``BRUISE_*``).

    ``d = Lab - background`` (:func:`_skin_background`); residuals ``r_a = d_a - c_a d_L`` and
    ``r_b = d_b - c_b d_L`` with the photo's shading slopes ``c`` (:func:`_shading_slope`); the
    departure ``|r_b| + BRUISE_PURPLE_WEIGHT max(r_a, 0)`` where ``r_b < 0`` and
    ``r_b + BRUISE_GREEN_WEIGHT max(-r_a, 0)`` where ``r_b > 0``, candidate beyond ``BRUISE_DB``
    with ``d_L`` inside ``BRUISE_BLUE_DL`` or ``BRUISE_YELLOW_DL``.

    Returns ``(candidate, score)``: ``candidate`` is ``bool`` (inside ``skin`` only); ``score``
    (float32, >= 0) is how far the departure goes beyond ``BRUISE_DB``, in units of it (``> 0``
    where candidate).
    """
    n = int(np.count_nonzero(skin))
    if n == 0:
        z = np.zeros(skin.shape, np.float32)
        return z.astype(bool), z
    sigma = background_sigma_px or max(3.0, BRUISE_BG_SHARE * float(np.sqrt(n)))
    d_l, d_a, d_b = cv2.split(cv2.subtract(lab_smooth, _skin_background(lab_smooth, skin, sigma)))
    step = max(1, int(np.sqrt(n / _SLOPE_SAMPLE_PX)))
    sub = skin[::step, ::step]
    sample_l = d_l[::step, ::step][sub]
    c_a = _shading_slope(sample_l, d_a[::step, ::step][sub])
    c_b = _shading_slope(sample_l, d_b[::step, ::step][sub])
    r_a = cv2.scaleAdd(d_l, -c_a, d_a)  # d_a - c_a d_l
    r_b = cv2.scaleAdd(d_l, -c_b, d_b)
    yellow = r_b > 0
    zero = np.float32(0.0)
    # The a* term: greener (-r_a) on the yellow side, redder (+r_a) on the blue side.
    extra = np.where(
        yellow,
        np.maximum(-r_a, zero) * np.float32(BRUISE_GREEN_WEIGHT),
        np.maximum(r_a, zero) * np.float32(BRUISE_PURPLE_WEIGHT),
    )
    score = np.abs(r_b) + extra
    score = score * np.float32(1.0 / BRUISE_DB) - np.float32(1.0)
    (yl0, yl1), (bl0, bl1) = BRUISE_YELLOW_DL, BRUISE_BLUE_DL
    lo = np.where(yellow, np.float32(yl0), np.float32(bl0))
    hi = np.where(yellow, np.float32(yl1), np.float32(bl1))
    candidate = (score > zero) & (d_l > lo) & (d_l < hi) & skin
    return candidate, np.where(candidate, score, zero)


def near_threshold(v: np.ndarray, threshold: float) -> np.ndarray:
    """Pixels at risk of being flagged by ``v > threshold`` when the sampling grid moves by up
    to ``FLIP_BAND_PX``: not flagged, and closer to the threshold than that move can change them.

    Parameters
    ----------
    v : (row, col) float32
        A smooth per-pixel field (e.g. the Gaussian-smoothed a*), in any unit.
    threshold : float
        The level a flagged pixel exceeds, in the unit of ``v``.

    Returns
    -------
    (row, col) bool
        ``0 <= threshold - v < G * FLIP_BAND_PX``, with ``G`` the largest gradient magnitude
        ``|grad v|`` (3 x 3 Sobel, units of ``v`` per px, exact on a linear ramp) over the
        pixel's 3 x 3 neighbourhood: the bound of the mean value theorem, so that the top of a
        bump just under the threshold (no gradient of its own) is at risk too. On a linear ramp
        the band is the one column of pixels within one pixel under the threshold; a flat field
        has no pixel at risk.
    """
    # Sobel 3 x 3 carries a factor 8 ([1, 0, -1] x [1, 2, 1]); the band width is folded into it.
    k, border = 0.125 * FLIP_BAND_PX, cv2.BORDER_REFLECT
    band = cv2.Sobel(v, cv2.CV_32F, 1, 0, ksize=3, scale=k, borderType=border)
    gap = cv2.Sobel(v, cv2.CV_32F, 0, 1, ksize=3, scale=k, borderType=border)
    cv2.magnitude(band, gap, band)  # in place: large temporaries cost more than the arithmetic
    cv2.dilate(band, None, band, borderType=border)  # the largest gradient within one pixel
    np.subtract(np.float32(threshold), v, out=gap)
    out = gap < band
    out &= gap >= 0
    return out


def _local_median(x: np.ndarray, size: int, scale: float, offset: float) -> np.ndarray:
    """Median over a ``size`` square, through an 8-bit copy ``x * scale + offset``."""
    q = np.clip(x * np.float32(scale) + np.float32(offset) + np.float32(0.5), 0, 255)
    med = cv2.medianBlur(q.astype(np.uint8), size).astype(np.float32)
    return (med - np.float32(offset)) / np.float32(scale)


def spot_candidates(
    L: np.ndarray, b: np.ndarray, *, L_smooth: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``(contrast, spots)``: how much darker than the local skin (L* units, >= 0) and the mask of
    the pigmented-spot candidates (see the ``SPOT_*`` constants). ``L_smooth``: ``L`` already
    smoothed by ``SPOT_SMOOTH_SIGMA_PX`` (reflected borders), when the caller has it."""
    border = cv2.BORDER_REFLECT
    Ls = L_smooth
    if Ls is None:
        Ls = cv2.GaussianBlur(L, (0, 0), SPOT_SMOOTH_SIGMA_PX, borderType=border)
    bs = cv2.GaussianBlur(b, (0, 0), SPOT_SMOOTH_SIGMA_PX, borderType=border)
    dark = _local_median(L, SPOT_BG_PX, 2.5, 0.0) - Ls  # L* in [0, 100] -> 0.4 L* steps
    brown = bs - _local_median(b, SPOT_BG_PX, 2.0, 128.0)  # b* in [-64, 64] -> 0.5 steps
    contrast = np.maximum(dark, np.float32(0.0))
    cand = (dark >= np.float32(SPOT_DL)) & (brown >= np.float32(SPOT_DB))
    if not cand.any():
        return contrast, cand
    n, labels, stats, _ = cv2.connectedComponentsWithStats(cand.view(np.uint8), connectivity=8)
    area = stats[:, cv2.CC_STAT_AREA].astype(np.float64)
    lo, hi = SPOT_AREA_RANGE_PX
    keep = (area >= lo) & (area <= hi)
    keep &= _elongation(labels, n) <= SPOT_MAX_ELONGATION
    ys, xs = np.nonzero(cand)
    lab = labels[ys, xs]
    peak = np.zeros(n, np.float32)
    np.maximum.at(peak, lab, contrast[ys, xs])
    keep &= peak >= SPOT_CORE_DL
    keep[0] = False
    return contrast, keep[labels]


def _filter_components(
    binary: np.ndarray, min_area: int, score: np.ndarray | None = None
) -> np.ndarray:
    """Keep 8-connected components of at least ``min_area`` pixels. When ``score`` (departure
    beyond the threshold, in thresholds) is given, a component must have a core at
    ``score >= BRUISE_CORE_SCORE`` and keeps only its pixels at half its (robust) peak departure
    or more (the bruise's extent at half maximum, whatever its strength), and the components
    left must be compact (``BRUISE_MAX_ELONGATION``)."""
    if not binary.any():
        return binary
    n, labels, stats, _ = cv2.connectedComponentsWithStats(binary.astype(np.uint8), connectivity=8)
    keep = stats[:, cv2.CC_STAT_AREA] >= min_area
    if score is None:
        keep[0] = False
        return keep[labels]
    lab_in, sc_in = labels[binary], score[binary]
    top = np.zeros(n, np.float32)
    np.maximum.at(top, lab_in, sc_in)
    keep &= top >= BRUISE_CORE_SCORE
    keep[0] = False
    # Robust peak (90th percentile of the component's departure): one out-of-gamut or noisy
    # pixel must not set the half-maximum level.
    order = np.lexsort((sc_in, lab_in))
    lab_s, sc_s = lab_in[order], sc_in[order]
    starts = np.searchsorted(lab_s, np.arange(n))
    counts = np.bincount(lab_s, minlength=n)
    idx = np.clip(starts + (0.9 * np.maximum(counts - 1, 0)).astype(int), 0, len(sc_s) - 1)
    peak = np.where(counts > 0, sc_s[idx], 0.0).astype(np.float32)
    out = keep[labels] & (score + 1.0 >= BRUISE_EXTENT_SHARE * (peak[labels] + 1.0))
    if out.any():  # the half-maximum cut may split or shrink a component: filter again
        out = _filter_components(out, min_area)
    if out.any() and BRUISE_MAX_ELONGATION:
        out = _compact_components(out, BRUISE_MAX_ELONGATION)
    return out


def _elongation(labels: np.ndarray, n: int) -> np.ndarray:
    """``sqrt(l1 / l2)`` of the second-moment eigenvalues of each labelled component (index 0
    included, meaningless)."""
    ys, xs = np.nonzero(labels)
    lab = labels[ys, xs]
    w = np.maximum(np.bincount(lab, minlength=n).astype(np.float64), 1.0)
    mx = np.bincount(lab, xs, n) / w
    my = np.bincount(lab, ys, n) / w
    dx, dy = xs - mx[lab], ys - my[lab]
    sxx = np.bincount(lab, dx * dx, n) / w + 1 / 12
    syy = np.bincount(lab, dy * dy, n) / w + 1 / 12
    sxy = np.bincount(lab, dx * dy, n) / w
    tr, det = sxx + syy, sxx * syy - sxy * sxy
    disc = np.sqrt(np.maximum(tr * tr / 4 - det, 0.0))
    return np.sqrt((tr / 2 + disc) / np.maximum(tr / 2 - disc, 1e-9))


def _compact_components(binary: np.ndarray, max_elongation: float) -> np.ndarray:
    """Drop the 8-connected components of ``binary`` more elongated than ``max_elongation``."""
    n, labels = cv2.connectedComponents(binary.view(np.uint8), connectivity=8)
    keep = _elongation(labels, n) <= max_elongation
    keep[0] = False
    return keep[labels]


@dataclass(frozen=True, eq=False)
class ImageMaps:
    """Every per-pixel map of one photo, on the crop ``rows x cols`` of the full frame.

    ``shape`` is the full photo's ``(rows, cols)``; ``window`` is ``(row0, row1, col0, col1)`` of
    the crop in the full frame; ``maps`` holds float32 (or bool / int16) 2-D arrays of the crop's
    shape; ``px_per_mm`` is the scale if known; ``baseline`` the skin baseline used for the red
    area, bruise and heatmap references.

    Maps: ``L``, ``a``, ``b`` (CIELAB); ``L2`` (L* squared); ``ita`` (per-pixel ITA, degrees) and
    ``ita2``; ``ei`` (erythema index), ``mi`` (melanin index); ``mel``, ``hb`` (Tsumura melanin and
    haemoglobin densities); ``detail`` (|band-pass L*|); ``ridge`` (line response, L*),
    ``ridge_bin`` / ``ridge_px`` (bool / 1.0 on ridge pixels); ``pore`` (bool dark blobs);
    ``glcm_q`` (int16 quantised L*);
    ``spot_contrast`` (melanin top-hat), ``spot`` (bool candidates); ``red_px`` (1 where a* exceeds
    the baseline margin); ``bruise_px`` (1 on bruise-coloured areas >= ``BRUISE_MIN_AREA_PX``),
    ``bruise_score``; ``red_near`` and ``ridge_near`` (bool: the pixels at risk of flipping into
    ``red_px`` and ``ridge_px``, :func:`near_threshold`; made on first use, as only the noise
    floor's counting term needs them).
    """

    shape: tuple[int, int]
    window: tuple[int, int, int, int]
    maps: dict[str, np.ndarray]
    baseline: SkinBaseline
    px_per_mm: float | None = None
    rgb: np.ndarray | None = field(default=None, repr=False)

    def full_frame(self, name: str, *, fill: float = np.nan) -> np.ndarray:
        """Map ``name`` pasted into an array of the full photo's shape (``fill`` elsewhere)."""
        src = self.maps[name]
        out = np.full(self.shape, fill, dtype=np.float32)
        r0, r1, c0, c1 = self.window
        out[r0:r1, c0:c1] = src
        return out


class _DeferredMaps(dict):
    """A dict of maps in which some are computed on first access (:meth:`defer`); safe to read
    from several threads (a deferred map is made once)."""

    def __init__(self):
        super().__init__()
        self._deferred: dict[str, tuple] = {}
        self._lock = threading.Lock()

    def defer(self, name: str, func, *args) -> None:
        self._deferred[name] = (func, args)

    def __missing__(self, name: str):
        with self._lock:
            if dict.__contains__(self, name):  # made meanwhile by another thread
                return dict.__getitem__(self, name)
            if name not in self._deferred:
                raise KeyError(name)
            func, args = self._deferred[name]
            self[name] = value = func(*args)
            del self._deferred[name]
            return value


def _window(roi: np.ndarray | None, shape: tuple[int, int]) -> tuple[int, int, int, int]:
    h, w = shape
    if roi is None:
        return 0, h, 0, w
    rows = np.flatnonzero(roi.any(axis=1))
    cols = np.flatnonzero(roi.any(axis=0))
    if rows.size == 0:
        raise UsageError("roi_mask is empty (0 pixels): there is nothing to measure")
    m = CROP_MARGIN_PX
    return (
        max(int(rows[0]) - m, 0),
        min(int(rows[-1]) + 1 + m, h),
        max(int(cols[0]) - m, 0),
        min(int(cols[-1]) + 1 + m, w),
    )


def prepare(
    rgb: np.ndarray,
    *,
    roi_mask: np.ndarray | None = None,
    px_per_mm: float | None = None,
    baseline: SkinBaseline | None = None,
) -> ImageMaps:
    """Compute every per-pixel map of ``rgb`` once (see :class:`ImageMaps`).

    Parameters
    ----------
    rgb : (row, col, 3) float sRGB in [0, 1]
    roi_mask : (row, col) bool, optional
        Only the bounding box of this mask (plus ``CROP_MARGIN_PX``) is processed; region masks
        scored later must lie inside it. Usually the ``face`` region.
    px_per_mm : float, optional
        Scale of the photo; enables the metrics in mm² and per cm².
    baseline : SkinBaseline, optional
        The patient's skin baseline. Default: computed from ``roi_mask`` (or the whole photo).
        In a comparison pass the BEFORE photo's baseline for both photos.
    """
    rgb = _check_rgb(rgb)
    shape = rgb.shape[:2]
    if roi_mask is not None:
        roi_mask = _check_mask(roi_mask, shape, "roi_mask")
    if px_per_mm is not None and not (np.isfinite(px_per_mm) and px_per_mm > 0):
        raise ValueError(f"px_per_mm must be a positive number, got {px_per_mm!r}")
    r0, r1, c0, c1 = _window(roi_mask, shape)
    if baseline is None:
        baseline = SkinBaseline.from_image(rgb, roi_mask)
    x = np.ascontiguousarray(np.clip(rgb[r0:r1, c0:c1], 0.0, 1.0), dtype=np.float32)
    maps: dict[str, np.ndarray] = _DeferredMaps()

    lab = cv2.cvtColor(x, cv2.COLOR_RGB2Lab)  # rgb_to_lab, without its clip: x is clipped
    L, a, b = (np.ascontiguousarray(lab[..., k]) for k in range(3))
    maps.update(L=L, a=a, b=b, L2=L * L)
    ita = np.degrees(np.arctan2(L - np.float32(50.0), b)).astype(np.float32)
    maps.update(ita=ita, ita2=ita * ita)

    od = _optical_density(x)
    maps["ei"] = (od[..., 1] - od[..., 0]) * np.float32(100.0)
    maps["mi"] = od[..., 0] * np.float32(100.0)
    dens = cv2.transform(od, _tsumura_matrix())
    maps["mel"] = np.ascontiguousarray(dens[..., 0])
    maps["hb"] = np.ascontiguousarray(dens[..., 1])

    # Texture: band-pass detail, ridge (line) and dark-blob (pore) responses, GLCM levels.
    border = cv2.BORDER_REFLECT
    fine = cv2.GaussianBlur(L, (0, 0), DETAIL_SIGMAS_PX[0], borderType=border)
    coarse = cv2.GaussianBlur(L, (0, 0), DETAIL_SIGMAS_PX[1], borderType=border)
    maps["detail"] = cv2.absdiff(fine, coarse)
    ridge = None
    for sigma in RIDGE_SIGMAS_PX:
        big, small = _hessian_eigen(L, sigma)
        line = np.maximum(big - np.abs(small), np.float32(0.0))
        ridge = line if ridge is None else np.maximum(ridge, line)
        if sigma == PORE_SIGMA_PX:
            maps["pore"] = small > np.float32(PORE_THRESHOLD_L)
    if "pore" not in maps:
        maps["pore"] = _hessian_eigen(L, PORE_SIGMA_PX)[1] > np.float32(PORE_THRESHOLD_L)
    maps["ridge"] = ridge
    maps["ridge_bin"] = ridge > np.float32(RIDGE_THRESHOLD_L)
    maps["ridge_px"] = maps["ridge_bin"].astype(np.float32)
    maps.defer("ridge_near", near_threshold, ridge, RIDGE_THRESHOLD_L)
    maps["glcm_q"] = np.floor(L * np.float32(1.0 / GLCM_BIN_L)).astype(np.int16)

    # Pigmented spots: darker and browner than the local skin, compact.
    same = SPOT_SMOOTH_SIGMA_PX == DETAIL_SIGMAS_PX[0]
    maps["spot_contrast"], maps["spot"] = spot_candidates(L, b, L_smooth=fine if same else None)

    # Redness above the patient's baseline; bruise-coloured areas (one smoothing when the two
    # smoothing scales are the same).
    lab_s = cv2.GaussianBlur(lab, (0, 0), BRUISE_SMOOTH_SIGMA_PX, borderType=border)
    if RED_SMOOTH_SIGMA_PX == BRUISE_SMOOTH_SIGMA_PX:
        a_s = np.ascontiguousarray(lab_s[..., 1])
    else:
        a_s = cv2.GaussianBlur(a, (0, 0), RED_SMOOTH_SIGMA_PX, borderType=border)
    red_margin = baseline.margin(1, k=RED_MARGIN_K, minimum=RED_MARGIN_MIN)
    red_t = np.float32(baseline.lab_median[1] + red_margin)
    maps["red_px"] = (a_s > red_t).astype(np.float32)
    maps.defer("red_near", near_threshold, a_s, red_t)
    skin_w = np.ones(lab_s.shape[:2], bool) if roi_mask is None else roi_mask[r0:r1, c0:c1]
    cand, score = bruise_candidates(lab_s, skin_w)
    min_area = bruise_min_area(int(np.count_nonzero(skin_w)))
    maps["bruise_px"] = _filter_components(cand, min_area, score).astype(np.float32)
    maps["bruise_score"] = score
    maps["lab_smooth"] = lab_s
    return ImageMaps(
        shape=(int(shape[0]), int(shape[1])),
        window=(r0, r1, c0, c1),
        maps=maps,
        baseline=baseline,
        px_per_mm=None if px_per_mm is None else float(px_per_mm),
        rgb=x,
    )


class RegionView:
    """A region of an :class:`ImageMaps`: the mask's bounding box inside the crop, and the mask.

    ``mask`` is the bool mask on that box; ``n`` its pixel count; :meth:`crop` gives a map's box;
    :meth:`mean` a map's mean over the mask (OpenCV, double accumulation); :meth:`values` the
    map's values under the mask.
    """

    def __init__(self, maps: ImageMaps, box: tuple[slice, slice], mask: np.ndarray):
        self.image = maps
        self.box = box
        self.mask = mask
        self.n = int(np.count_nonzero(mask))
        self._mask_u8 = mask.view(np.uint8) if mask.dtype == bool else mask.astype(np.uint8)
        self._cache: dict[str, object] = {}

    @classmethod
    def from_mask(cls, maps: ImageMaps, mask: np.ndarray) -> RegionView:
        """View of a full-frame mask; raises ``UsageError`` if it reaches outside the crop."""
        mask = _check_mask(mask, maps.shape, "region mask")
        r0, r1, c0, c1 = maps.window
        inner = mask[r0:r1, c0:c1]
        total = int(np.count_nonzero(mask))
        n_in = int(np.count_nonzero(inner))
        if n_in != total:
            raise UsageError(
                f"region mask has {total - n_in} of {total} pixels outside the prepared window "
                f"(rows {r0}:{r1}, cols {c0}:{c1}); pass a roi_mask covering every region"
            )
        rows = np.flatnonzero(inner.any(axis=1))
        cols = np.flatnonzero(inner.any(axis=0))
        if rows.size == 0:
            box = (slice(0, 0), slice(0, 0))
        else:
            box = (slice(int(rows[0]), int(rows[-1]) + 1), slice(int(cols[0]), int(cols[-1]) + 1))
        return cls(maps, box, np.ascontiguousarray(inner[box]))

    @property
    def px_per_mm(self) -> float | None:
        return self.image.px_per_mm

    @property
    def baseline(self) -> SkinBaseline:
        return self.image.baseline

    @property
    def origin_rc(self) -> tuple[int, int]:
        """Full-frame (row, col) of the box's top-left pixel."""
        return self.image.window[0] + self.box[0].start, self.image.window[2] + self.box[1].start

    def crop(self, name: str) -> np.ndarray:
        return self.image.maps[name][self.box]

    def mean(self, name: str) -> float:
        if self.n == 0:
            return float("nan")
        key = "mean:" + name
        if key not in self._cache:
            self._cache[key] = float(cv2.mean(self.crop(name), mask=self._mask_u8)[0])
        return self._cache[key]  # type: ignore[return-value]

    def values(self, name: str) -> np.ndarray:
        key = "values:" + name
        if key not in self._cache:
            self._cache[key] = self.crop(name)[self.mask]
        return self._cache[key]  # type: ignore[return-value]

    def components(self, name: str, *, min_area: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """8-connected components of bool map ``name`` inside the mask with at least
        ``min_area`` pixels: ``(labels, stats, ids)``; ``stats`` are OpenCV's rows of the kept
        components, ``ids`` their labels in ``labels``."""
        key = f"cc:{name}:{min_area}"
        if key not in self._cache:
            binary = (self.crop(name) & self.mask).view(np.uint8)
            _, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
            keep = np.flatnonzero(stats[1:, cv2.CC_STAT_AREA] >= min_area) + 1
            self._cache[key] = (labels, stats[keep], keep)
        return self._cache[key]  # type: ignore[return-value]
