"""Pigmentation metrics: melanin index and density, ITA° (with its skin-tone category), evenness
and pigmented spots.

Skin tone itself is neither better nor worse: ``melanin_index``, ``melanin_density`` and
``ita_deg`` are registered ``neutral``; spots and unevenness are ``higher_is_worse``. Spots are
compact areas darker and browner than the surrounding skin (``SPOT_*``, :func:`spot_candidates`);
a spot has at least ``SPOT_MIN_AREA_PX`` pixels at half maximum and must be narrower than about
half of ``SPOT_BG_PX``.

The family's maps (:func:`make_maps`): ``L2``, ``ita``, ``ita2``, ``mi``, ``mel``,
``spot_contrast`` and ``spot``. Its heatmap shows the melanin density relative to the baseline
skin. Its noise terms: the spot count and the spot areas carry the variance of the candidates
that another capture would find or miss (:mod:`mesovision.metrics._spot_flip`: per candidate
``P (1 - P)`` from its margins to the detector's limits, maps ``spot_flip_n`` and
``spot_flip_area``), and the spot contrast's capture and between-region terms are relative to
its value.
"""

from __future__ import annotations

import cv2
import numpy as np

from ._family import HeatmapSpec, register_family
from ._maps import MapContext
from ._region import RegionView
from ._registry import register
from ._shapes import component_areas, component_quantile, elongation
from ._spot_flip import SPOT_FLIP_VARIANCE, defer_flip_maps

__all__ = [
    "ITA_CATEGORIES",
    "MIN_SPOT_REGION_PIXELS",
    "SPOT_AREA_RANGE_PX",
    "SPOT_BG_PX",
    "SPOT_CORE_DL",
    "SPOT_DB",
    "SPOT_DL",
    "SPOT_EXTENT_SHARE",
    "SPOT_LIMITS",
    "SPOT_MAX_ELONGATION",
    "SPOT_MIN_AREA_PX",
    "SPOT_PEAK_QUANTILE",
    "SPOT_SMOOTH_SIGMA_PX",
    "ita_category",
    "ita_deg",
    "ita_spread_deg",
    "l_spread",
    "make_maps",
    "melanin_density",
    "melanin_index",
    "spot_area_mm2",
    "spot_area_pct",
    "spot_area_px",
    "spot_candidates",
    "spot_components",
    "spot_contrast",
    "spot_count",
    "spot_pixels",
]

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

#: Smallest pigmented spot (px, 8-connected), about a 3-px-wide dot.
SPOT_MIN_AREA_PX = 8
#: Smallest region (px) for the spot metrics.
MIN_SPOT_REGION_PIXELS = 100

#: ITA° skin-tone categories (Chardon 1991, as extended by Del Bino 2006): lower bound -> name.
ITA_CATEGORIES: tuple[tuple[float, str], ...] = (
    (55.0, "very light"),
    (41.0, "light"),
    (28.0, "intermediate"),
    (10.0, "tan"),
    (-30.0, "brown"),
    (-np.inf, "dark"),
)


def ita_category(ita_deg: float) -> str | None:
    """Skin-tone category of an ITA° value (``None`` for NaN): very light > 55, light 41-55,
    intermediate 28-41, tan 10-28, brown -30-10, dark < -30 (Chardon et al. 1991)."""
    if not np.isfinite(ita_deg):
        return None
    for lower, name in ITA_CATEGORIES:
        if ita_deg > lower:
            return name
    return "dark"


@register(
    "pigmentation.melanin_index",
    display="melanin index",
    plain="How much brown pigment the skin's red reflectance indicates; higher is darker skin.",
    unit_label="MI units",
    unit="MI (a.u.)",
    direction="neutral",
    maps=("mi",),
)
def melanin_index(mi):
    """Mean melanin index from red reflectance.

    Formula
    -------
    MI = 100 * log10(1 / R), R the linear red reflectance, per pixel, then the region mean.

    References
    ----------
    Dawson J. B. et al., Phys. Med. Biol. 25 (1980) 695-709. Yamamoto T. et al., "Derivation
    and clinical application of special imaging by means of digital cameras and Image J freeware
    for quantification of erythema and pigmentation", Skin Res. Technol. 14 (2008) 26-34.
    """
    return mi


@register(
    "pigmentation.melanin_density",
    display="melanin density",
    plain="Brown pigment estimated by separating the skin colour into pigment and blood.",
    unit_label="optical density",
    unit="OD (log10)",
    direction="neutral",
    maps=("mel",),
)
def melanin_density(mel):
    """Mean melanin density from the Tsumura optical-density separation.

    Formula
    -------
    OD = -log10(linear RGB) = m * c_mel + h * c_hb + s * (1, 1, 1) solved per pixel with
    c_mel = (0.4143, 0.3570, 0.8372), c_hb = (0.2988, 0.6838, 0.6657); region mean of m.

    References
    ----------
    Tsumura N., Haneishi H., Miyake Y., "Independent-component analysis of skin color image",
    J. Opt. Soc. Am. A 16 (1999) 2169-2176.
    """
    return mel


@register(
    "pigmentation.ita_deg",
    display="skin tone angle (ITA)",
    plain="The standard skin-tone angle; lower means darker or more tanned skin.",
    unit_label="degrees",
    unit="deg",
    direction="neutral",
    maps=("L", "b"),
)
def ita_deg(L, b):
    """Individual typology angle of the region's mean colour.

    Formula
    -------
    ITA = arctan((mean L* - 50) / mean b*) * 180 / pi (computed as atan2, equal for b* > 0).
    Category from :func:`ita_category`.

    References
    ----------
    Chardon A., Cretois I., Hourseau C., "Skin colour typology and suntanning pathways",
    Int. J. Cosmet. Sci. 13 (1991) 191-208. Del Bino S. et al., "Relationship between skin
    response to ultraviolet exposure and skin color type", Pigment Cell Res. 19 (2006) 606-614.
    """
    return np.degrees(np.arctan2(np.asarray(L) - 50.0, b))


@register(
    "pigmentation.l_spread",
    display="lightness unevenness",
    plain="How unevenly light and dark the skin is across the area.",
    unit_label="L* units",
    unit="L*",
    direction="higher_is_worse",
    maps=("L", "L2"),
)
def l_spread(L, L2):
    """Unevenness of lightness: standard deviation of L* inside the region.

    Formula
    -------
    sd(L*) = sqrt(mean(L*^2) - mean(L*)^2) over the region's pixels.

    References
    ----------
    Matts P. J. et al., "Color homogeneity and visual perception of age, health, and
    attractiveness of female facial skin", J. Am. Acad. Dermatol. 57 (2007) 977-984.
    """
    return np.sqrt(np.maximum(np.asarray(L2) - np.asarray(L) ** 2, 0.0))


@register(
    "pigmentation.ita_spread_deg",
    display="tone unevenness",
    plain="How much the skin tone varies across the area.",
    unit_label="degrees",
    unit="deg",
    direction="higher_is_worse",
    maps=("ita", "ita2"),
)
def ita_spread_deg(ita, ita2):
    """Unevenness of skin tone: standard deviation of per-pixel ITA° inside the region.

    Formula
    -------
    sd(ITA) = sqrt(mean(ITA^2) - mean(ITA)^2), ITA = atan2(L* - 50, b*) * 180 / pi per pixel.

    References
    ----------
    Chardon A., Cretois I., Hourseau C., Int. J. Cosmet. Sci. 13 (1991) 191-208. Matts P. J.
    et al., J. Am. Acad. Dermatol. 57 (2007) 977-984.
    """
    return np.sqrt(np.maximum(np.asarray(ita2) - np.asarray(ita) ** 2, 0.0))


#: A spot's extent: its pixels at least this share of its robust peak contrast (the
#: SPOT_PEAK_QUANTILE quantile of the component's contrast, so that one noisy pixel does not set
#: the level): the full width at half maximum.
SPOT_EXTENT_SHARE = 0.5
SPOT_PEAK_QUANTILE = 0.9


def _spots(view: RegionView) -> tuple[np.ndarray, np.ndarray]:
    """``(areas_px, mean_contrasts)`` of the spots of the region (FWHM areas, see spot_count)."""
    return view.memo("spots", lambda: _measure_spots(view))


def _measure_spots(view: RegionView) -> tuple[np.ndarray, np.ndarray]:
    labels, _, ids = view.components("spot", min_area=1)
    areas = np.zeros(0)
    contrast = np.zeros(0)
    if ids.size:
        dark = view.crop("spot_contrast")
        inside = labels > 0
        lab_in = labels[inside]
        val_in = dark[inside].astype(np.float64)
        n_lab = int(labels.max()) + 1
        peak = component_quantile(lab_in, val_in, n_lab, SPOT_PEAK_QUANTILE, empty=np.inf)
        core = val_in >= SPOT_EXTENT_SHARE * peak[lab_in]
        areas = np.bincount(lab_in[core], minlength=n_lab)[ids].astype(np.float64)
        sums = np.bincount(lab_in[core], weights=val_in[core], minlength=n_lab)[ids]
        keep = areas >= SPOT_MIN_AREA_PX
        areas, contrast = areas[keep], sums[keep] / areas[keep]
    return areas, contrast


@register(
    "pigmentation.spot_count",
    display="brown spots",
    plain="Number of distinct pigmented spots in the area.",
    unit_label="spots",
    unit="count",
    direction="higher_is_worse",
    min_pixels=MIN_SPOT_REGION_PIXELS,
)
def spot_count(view: RegionView) -> float:
    """Number of pigmented spots in the region.

    Formula
    -------
    N = number of spots. Candidates: pixels at least 5 L* darker than the median L* over a
    21 x 21 px square around them and at least 1 b* unit yellower than the median b* there
    (L*, b* smoothed by G(0.8 px)): pigment darkens and browns the skin, while shadows, wrinkles
    and pores only darken it. A spot is an 8-connected candidate component of 6-400 px, not
    elongated (sqrt(l1 / l2) <= 2.5, l1 >= l2 the eigenvalues of its second moments), whose
    darkest pixel is at least 8 L* below the background. Its extent is its full width at half
    maximum (pixels with contrast >= 0.5 x the component's 90th-percentile contrast); spots of
    fewer than 8 px are dropped. (``SPOT_*``, ``SPOT_EXTENT_SHARE``.)

    References
    ----------
    CIE 15:2004, Colorimetry, 3rd ed. (CIELAB L*, b*). Huang T. S., Yang G. J., Tang G. Y.,
    "A fast two-dimensional median filtering algorithm", IEEE Trans. Acoust. Speech Signal
    Process. 27 (1979) 13-18 (local median background).
    """
    return float(_spots(view)[0].size)


@register(
    "pigmentation.spot_area_px",
    display="spot area",
    plain="Total size of the pigmented spots, in image pixels.",
    unit_label="pixels",
    unit="px",
    direction="higher_is_worse",
    min_pixels=MIN_SPOT_REGION_PIXELS,
)
def spot_area_px(view: RegionView) -> float:
    """Total area of the pigmented spots in the region, in pixels.

    Formula
    -------
    sum of the half-maximum areas (px) of the spots counted by ``pigmentation.spot_count``.

    References
    ----------
    CIE 15:2004, Colorimetry, 3rd ed. (CIELAB L*, b*). Huang T. S., Yang G. J., Tang G. Y.,
    "A fast two-dimensional median filtering algorithm", IEEE Trans. Acoust. Speech Signal
    Process. 27 (1979) 13-18 (local median background).
    """
    return float(_spots(view)[0].sum())


@register(
    "pigmentation.spot_area_mm2",
    display="spot area",
    plain="Total size of the pigmented spots, in square millimetres (needs a scale).",
    unit_label="mm²",
    unit="mm^2",
    direction="higher_is_worse",
    min_pixels=MIN_SPOT_REGION_PIXELS,
    needs_scale=True,
)
def spot_area_mm2(view: RegionView) -> float:
    """Total area of the pigmented spots in the region, in mm²; NaN without a scale.

    Formula
    -------
    spot_area_px / px_per_mm^2.

    References
    ----------
    CIE 15:2004, Colorimetry, 3rd ed. (CIELAB L*, b*). Huang T. S., Yang G. J., Tang G. Y.,
    "A fast two-dimensional median filtering algorithm", IEEE Trans. Acoust. Speech Signal
    Process. 27 (1979) 13-18 (local median background).
    """
    if view.px_per_mm is None:
        return float("nan")
    return float(_spots(view)[0].sum()) / view.px_per_mm**2


@register(
    "pigmentation.spot_area_pct",
    display="spot coverage",
    plain="How much of the area the pigmented spots cover.",
    unit_label="% of the area",
    unit="%",
    direction="higher_is_worse",
    min_pixels=MIN_SPOT_REGION_PIXELS,
)
def spot_area_pct(view: RegionView) -> float:
    """Share of the region covered by pigmented spots.

    Formula
    -------
    100 * spot_area_px / A, A the region's area (px).

    References
    ----------
    CIE 15:2004, Colorimetry, 3rd ed. (CIELAB L*, b*). Huang T. S., Yang G. J., Tang G. Y.,
    "A fast two-dimensional median filtering algorithm", IEEE Trans. Acoust. Speech Signal
    Process. 27 (1979) 13-18 (local median background).
    """
    return 100.0 * float(_spots(view)[0].sum()) / view.n


@register(
    "pigmentation.spot_contrast",
    display="spot darkness",
    plain="How much darker the spots are than the skin around them.",
    unit_label="L* units",
    unit="L*",
    direction="higher_is_worse",
    min_pixels=MIN_SPOT_REGION_PIXELS,
)
def spot_contrast(view: RegionView) -> float:
    """Mean darkness of the pigmented spots against the surrounding skin (NaN if no spot).

    Formula
    -------
    mean over the spots' half-maximum pixels of median_21(L*) - G(0.8 px) * L*, the darkness
    against the local skin in L* units (see ``pigmentation.spot_count``).

    References
    ----------
    CIE 15:2004, Colorimetry, 3rd ed. (CIELAB L*, b*). Huang T. S., Yang G. J., Tang G. Y.,
    "A fast two-dimensional median filtering algorithm", IEEE Trans. Acoust. Speech Signal
    Process. 27 (1979) 13-18 (local median background).
    """
    areas, contrast = _spots(view)
    if areas.size == 0:
        return float("nan")
    return float((areas * contrast).sum() / areas.sum())


def _local_median(x: np.ndarray, size: int, scale: float, offset: float) -> np.ndarray:
    """Median over a ``size`` square, through an 8-bit copy ``x * scale + offset``."""
    q = np.clip(x * np.float32(scale) + np.float32(offset) + np.float32(0.5), 0, 255)
    med = cv2.medianBlur(q.astype(np.uint8), size).astype(np.float32)
    return (med - np.float32(offset)) / np.float32(scale)


#: The detector's limits as the spot flip variance tests them (:mod:`._spot_flip`).
SPOT_LIMITS = {
    "core_dl": SPOT_CORE_DL,
    "area_range": SPOT_AREA_RANGE_PX,
    "max_elongation": SPOT_MAX_ELONGATION,
    "min_half_area": SPOT_MIN_AREA_PX,
    "extent_share": SPOT_EXTENT_SHARE,
    "peak_quantile": SPOT_PEAK_QUANTILE,
}


def spot_pixels(
    L: np.ndarray, b: np.ndarray, *, L_smooth: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``(contrast, candidates)``: how much darker than the local skin (L* units, >= 0) and the
    pixels at least ``SPOT_DL`` darker and ``SPOT_DB`` yellower than the local skin (bool), before
    the tests on each component (:func:`spot_candidates`)."""
    border = cv2.BORDER_REFLECT
    Ls = L_smooth
    if Ls is None:
        Ls = cv2.GaussianBlur(L, (0, 0), SPOT_SMOOTH_SIGMA_PX, borderType=border)
    bs = cv2.GaussianBlur(b, (0, 0), SPOT_SMOOTH_SIGMA_PX, borderType=border)
    dark = _local_median(L, SPOT_BG_PX, 2.5, 0.0) - Ls  # L* in [0, 100] -> 0.4 L* steps
    brown = bs - _local_median(b, SPOT_BG_PX, 2.0, 128.0)  # b* in [-64, 64] -> 0.5 steps
    contrast = np.maximum(dark, np.float32(0.0))
    return contrast, (dark >= np.float32(SPOT_DL)) & (brown >= np.float32(SPOT_DB))


def spot_components(contrast: np.ndarray, cand: np.ndarray) -> np.ndarray:
    """The candidate components of ``cand`` that pass the area, elongation and core tests."""
    if not cand.any():
        return cand
    n, labels, area = component_areas(cand)
    lo, hi = SPOT_AREA_RANGE_PX
    keep = (area >= lo) & (area <= hi)
    keep &= elongation(labels, n) <= SPOT_MAX_ELONGATION
    peak = np.zeros(n, np.float32)
    np.maximum.at(peak, labels[cand], contrast[cand])
    keep &= peak >= SPOT_CORE_DL
    keep[0] = False
    return keep[labels]


def spot_candidates(
    L: np.ndarray, b: np.ndarray, *, L_smooth: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``(contrast, spots)``: how much darker than the local skin (L* units, >= 0) and the mask of
    the pigmented-spot candidates (see the ``SPOT_*`` constants). ``L_smooth``: ``L`` already
    smoothed by ``SPOT_SMOOTH_SIGMA_PX`` (reflected borders), when the caller has it."""
    contrast, cand = spot_pixels(L, b, L_smooth=L_smooth)
    return contrast, spot_components(contrast, cand)


def make_maps(ctx: MapContext) -> None:
    """The pigmentation maps: ``L2`` (L* squared), ``ita`` (per-pixel ITA, degrees) and
    ``ita2``, ``mi`` (melanin index), ``mel`` (Tsumura melanin density), ``spot_contrast``
    (darkness against the local skin) and ``spot`` (bool spot candidates)."""
    maps, L, b = ctx.maps, ctx.L, ctx.b
    maps["L2"] = L * L
    ita = np.degrees(np.arctan2(L - np.float32(50.0), b)).astype(np.float32)
    maps.update(ita=ita, ita2=ita * ita)
    maps["mi"] = ctx.optical_density()[..., 0] * np.float32(100.0)
    maps["mel"] = np.ascontiguousarray(ctx.densities()[..., 0])
    fine = ctx.smoothed_L(SPOT_SMOOTH_SIGMA_PX)
    contrast, cand = spot_pixels(L, b, L_smooth=fine)
    maps["spot_contrast"], maps["spot"] = contrast, spot_components(contrast, cand)
    defer_flip_maps(maps, contrast, cand, SPOT_LIMITS)


register_family(
    "pigmentation",
    make_maps=make_maps,
    heatmap=HeatmapSpec(
        "mel",
        "melanin_density_median",
        0.0,
        0.3,
        "YlOrBr",
        legend="melanin density above the baseline skin",
    ),
    relative_noise=("pigmentation.spot_contrast",),
    flip_variance=SPOT_FLIP_VARIANCE,
    # (not the spots: their moved detections would cost as much again as these)
    two_sided_registration=(
        "pigmentation.melanin_index",
        "pigmentation.melanin_density",
        "pigmentation.ita_deg",
        "pigmentation.l_spread",
        "pigmentation.ita_spread_deg",
    ),
    headline="pigmentation.spot_count",
)
