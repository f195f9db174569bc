"""Texture metrics: surface roughness, GLCM statistics, wrinkles / fine lines and pores.

The family's maps (:func:`make_maps`) are computed from CIELAB L* when
:func:`mesovision.metrics.prepare` runs; filter sizes are in working pixels
(``DETAIL_SIGMAS_PX``, ``RIDGE_SIGMAS_PX``, ``PORE_SIGMA_PX``), so compare photos at the same
working size. Its heatmap shows the ridge response; its noise terms: the wrinkle share's pixels
at risk of flipping across the ridge threshold (``ridge_near``), and capture and between-region
terms relative to the value (focus, noise and JPEG scale texture rather than shift it).
Counts are reported twice, as two metrics: per cm² of region (NaN unless ``px_per_mm`` is
known) and per 1000 px² of region (always).
"""

from __future__ import annotations

import cv2
import numpy as np

from ._family import HeatmapSpec, register_family
from ._maps import MapContext, near_threshold
from ._region import RegionView
from ._registry import register
from ._texture_flip import TEXTURE_FLIP_VARIANCE, defer_flip_maps

__all__ = [
    "DETAIL_SIGMAS_PX",
    "FINE_LINE_MIN_PX",
    "MIN_TEXTURE_PIXELS",
    "PORE_AREA_RANGE_PX",
    "GLCM_BIN_L",
    "LINE_LIMITS",
    "PORE_LIMITS",
    "GLCM_DISTANCE_PX",
    "PORE_SIGMA_PX",
    "PORE_THRESHOLD_L",
    "RIDGE_SIGMAS_PX",
    "RIDGE_THRESHOLD_L",
    "glcm_contrast",
    "glcm_homogeneity",
    "fine_line_density_per_cm2",
    "fine_line_density_per_kpx",
    "make_maps",
    "pore_density_per_cm2",
    "pore_density_per_kpx",
    "ridge_strength_mean",
    "roughness_ra",
    "wrinkle_area_pct",
]

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

#: Smallest region (px) for the generic texture metrics.
MIN_TEXTURE_PIXELS = 100
#: A fine line is a connected ridge component of at least this many pixels.
FINE_LINE_MIN_PX = 12
#: A pore is a connected dark-blob component of this many pixels (inclusive range).
PORE_AREA_RANGE_PX = (3, 80)

# Haralick's four directions (0, 45, 90, 135 degrees) as forward (drow, dcol) offsets; the GLCM is
# symmetric, so each unordered pixel pair is counted once per direction.
_GLCM_OFFSETS = ((0, 1), (1, -1), (1, 0), (1, 1))
#: The squared grey-level difference ``d^2`` and ``1 / (1 + d^2)`` (float64, as :func:`_glcm`
#: computes them) of each 8-bit difference of two quantised L* values, read as a signed byte
#: (``d`` in -128..127): quantised L* spans 0..100 (:data:`GLCM_BIN_L` >= 1), so a difference
#: taken modulo 256 (``uint8``) names it exactly, and a table gives each pair's terms in one pass.
_D8 = np.arange(256, dtype=np.float64) - 256.0 * (np.arange(256) >= 128)
_GLCM_SQ = _D8 * _D8
_GLCM_INV = np.reciprocal(_GLCM_SQ + 1.0)


@register(
    "texture.roughness_ra",
    display="roughness",
    plain="Fine unevenness of the skin surface as seen in the photo.",
    unit_label="L* units",
    unit="L*",
    direction="higher_is_worse",
    maps=("detail",),
)
def roughness_ra(detail):
    """Mean absolute fine-scale luminance detail (an Ra-like surface roughness).

    Formula
    -------
    Ra = mean over the region of |G(0.8 px) * L* - G(3.0 px) * L*|, a difference-of-Gaussians
    band-pass of L* (G(s) a Gaussian of standard deviation s); by analogy with the arithmetic mean
    roughness Ra of a surface profile.

    References
    ----------
    ISO 4287:1997, surface texture profile parameters (Ra). Marr D., Hildreth E., "Theory of edge
    detection", Proc. R. Soc. Lond. B 207 (1980) 187-217 (difference of Gaussians).
    """
    return detail


def _glcm_stats(view: RegionView) -> tuple[float, float]:
    """``(contrast, homogeneity)`` of the region's GLCM, made once per view."""
    return view.memo("glcm", lambda: _glcm(view))


def _glcm(view: RegionView) -> tuple[float, float]:
    # (in 8 bits, the differences modulo 256: each pair's terms from the tables _GLCM_SQ and
    # _GLCM_INV, the same float64 values in the same order as the direct formulas)
    q = view.crop("glcm_q").astype(np.uint8)
    m = view.mask
    h, w = m.shape
    contrast, homog = [], []
    d = GLCM_DISTANCE_PX
    for dr, dc in _GLCM_OFFSETS:
        dr, dc = dr * d, dc * d
        c0, c1 = max(0, -dc), w - max(0, dc)
        if h - dr <= 0 or c1 - c0 <= 0:
            continue
        a_sl = (slice(0, h - dr), slice(c0, c1))
        b_sl = (slice(dr, h), slice(c0 + dc, c1 + dc))
        # (the differences of the whole box, then one gather: fewer passes over the pixels)
        diff = np.subtract(q[b_sl], q[a_sl])[m[a_sl] & m[b_sl]]
        if diff.size == 0:
            continue
        contrast.append(cv2.LUT(diff, _GLCM_SQ).ravel().mean())
        homog.append(cv2.LUT(diff, _GLCM_INV).ravel().mean())
    return (float(np.mean(contrast)), float(np.mean(homog))) if contrast else (np.nan, np.nan)


@register(
    "texture.glcm_contrast",
    display="texture contrast",
    plain="How strongly neighbouring points of the skin differ in lightness.",
    unit_label="L*² units",
    unit="L*^2",
    direction="higher_is_worse",
    min_pixels=MIN_TEXTURE_PIXELS,
)
def glcm_contrast(view: RegionView) -> float:
    """Haralick GLCM contrast of L*, averaged over four directions at distance 1 px.

    Formula
    -------
    contrast = sum_ij (i - j)^2 P(i, j), with P the symmetric, normalised grey-level
    co-occurrence matrix of L* quantised in bins of 1 L* unit (so the unit is L*^2), over pixel
    pairs with both pixels in the region, averaged over the directions 0, 45, 90, 135 degrees.

    References
    ----------
    Haralick R. M., Shanmugam K., Dinstein I., "Textural features for image classification",
    IEEE Trans. Syst. Man Cybern. SMC-3 (1973) 610-621.
    """
    return _glcm_stats(view)[0]


@register(
    "texture.glcm_homogeneity",
    display="texture smoothness",
    plain="How alike neighbouring points of the skin are; higher is smoother.",
    unit_label="0 to 1",
    unit="1",
    direction="higher_is_better",
    min_pixels=MIN_TEXTURE_PIXELS,
)
def glcm_homogeneity(view: RegionView) -> float:
    """Haralick GLCM homogeneity (inverse difference moment) of L*, four directions, 1 px.

    Formula
    -------
    homogeneity = sum_ij P(i, j) / (1 + (i - j)^2), same GLCM as ``texture.glcm_contrast``
    (L* in bins of 1 unit, symmetric, pairs inside the region, mean of four directions).

    References
    ----------
    Haralick R. M., Shanmugam K., Dinstein I., "Textural features for image classification",
    IEEE Trans. Syst. Man Cybern. SMC-3 (1973) 610-621.
    """
    return _glcm_stats(view)[1]


@register(
    "texture.wrinkle_area_pct",
    display="wrinkle area",
    plain="How much of the area wrinkles and fine lines cover.",
    unit_label="% of the area",
    unit="%",
    direction="higher_is_worse",
    maps=("ridge_px",),
)
def wrinkle_area_pct(ridge_px):
    """Share of the region covered by ridges (wrinkles and fine lines) of the Hessian filter.

    Formula
    -------
    100 * mean over the region of [R > 2.0], where R = max over s in {1.5, 3.0} px of
    s^2 * max(l1 - |l2|, 0), l1 >= l2 the eigenvalues of the Hessian of G(s) * L* (dark valleys
    give l1 > 0; blobs, with l1 ~ l2, are suppressed).

    References
    ----------
    Frangi A. F. et al., "Multiscale vessel enhancement filtering", MICCAI 1998, LNCS 1496,
    130-137. Ng C.-C. et al., "Automatic wrinkle detection using hybrid Hessian filter",
    ACCV 2014, LNCS 9005, 609-622.
    """
    return 100.0 * ridge_px


@register(
    "texture.ridge_strength_mean",
    display="line depth",
    plain="How pronounced lines and wrinkles are on average.",
    unit_label="L* units",
    unit="L*",
    direction="higher_is_worse",
    maps=("ridge",),
)
def ridge_strength_mean(ridge):
    """Mean ridge (line) response of L* over the whole region.

    Formula
    -------
    mean over the region of R, R = max over s in {1.5, 3.0} px of s^2 * max(l1 - |l2|, 0) with
    l1 >= l2 the eigenvalues of the Hessian of G(s) * L* (scale-normalised, L* units).

    References
    ----------
    Frangi A. F. et al., "Multiscale vessel enhancement filtering", MICCAI 1998, LNCS 1496,
    130-137. Lindeberg T., "Edge detection and ridge detection with automatic scale selection",
    IJCV 30 (1998) 117-156.
    """
    return ridge


def _count(view: RegionView, name: str, lo: int, hi: int | None) -> int:
    _, areas, _ = view.components(name, min_area=lo)
    if hi is None:
        return int(areas.shape[0])
    return int(np.count_nonzero(areas <= hi))


def _per_kpx(count: int, view: RegionView) -> float:
    return 1000.0 * count / view.n


def _per_cm2(count: int, view: RegionView) -> float:
    if view.px_per_mm is None:
        return float("nan")
    area_cm2 = view.n / (view.px_per_mm**2) / 100.0
    return count / area_cm2


@register(
    "texture.fine_line_density_per_kpx",
    display="fine lines",
    plain="Number of fine lines per thousand square pixels.",
    unit_label="per 1000 px²",
    unit="1/(1000 px^2)",
    direction="higher_is_worse",
    min_pixels=MIN_TEXTURE_PIXELS,
)
def fine_line_density_per_kpx(view: RegionView) -> float:
    """Fine lines (connected ridge segments) per 1000 px² of region.

    Formula
    -------
    1000 * N / A, N the number of 8-connected components of the ridge mask R > 2.0 (see
    ``texture.wrinkle_area_pct``) inside the region with at least 12 px, A the region's area (px).

    References
    ----------
    Ng C.-C. et al., "Automatic wrinkle detection using hybrid Hessian filter", ACCV 2014,
    LNCS 9005, 609-622.
    """
    return _per_kpx(_count(view, "ridge_bin", FINE_LINE_MIN_PX, None), view)


@register(
    "texture.fine_line_density_per_cm2",
    display="fine lines",
    plain="Number of fine lines per square centimetre (needs a scale).",
    unit_label="per cm²",
    unit="1/cm^2",
    direction="higher_is_worse",
    min_pixels=MIN_TEXTURE_PIXELS,
    needs_scale=True,
)
def fine_line_density_per_cm2(view: RegionView) -> float:
    """Fine lines (connected ridge segments) per cm² of region; NaN without a scale.

    Formula
    -------
    N / (A / px_per_mm^2 / 100), N as in ``texture.fine_line_density_per_kpx``, A in px.

    References
    ----------
    Ng C.-C. et al., "Automatic wrinkle detection using hybrid Hessian filter", ACCV 2014,
    LNCS 9005, 609-622.
    """
    return _per_cm2(_count(view, "ridge_bin", FINE_LINE_MIN_PX, None), view)


@register(
    "texture.pore_density_per_kpx",
    display="visible pores",
    plain="Number of visible pores per thousand square pixels.",
    unit_label="per 1000 px²",
    unit="1/(1000 px^2)",
    direction="higher_is_worse",
    min_pixels=MIN_TEXTURE_PIXELS,
)
def pore_density_per_kpx(view: RegionView) -> float:
    """Pores (small dark blobs of L*) per 1000 px² of region.

    Formula
    -------
    1000 * N / A, N the number of 8-connected components of 3 to 80 px of the blob mask
    1.5^2 * l2 > 1.5 (l2 the smaller eigenvalue of the Hessian of G(1.5 px) * L*: both
    curvatures positive, a dark blob) inside the region, A the region's area (px).

    References
    ----------
    Lindeberg T., "Feature detection with automatic scale selection", IJCV 30 (1998) 79-116.
    """
    lo, hi = PORE_AREA_RANGE_PX
    return _per_kpx(_count(view, "pore", lo, hi), view)


@register(
    "texture.pore_density_per_cm2",
    display="visible pores",
    plain="Number of visible pores per square centimetre (needs a scale).",
    unit_label="per cm²",
    unit="1/cm^2",
    direction="higher_is_worse",
    min_pixels=MIN_TEXTURE_PIXELS,
    needs_scale=True,
)
def pore_density_per_cm2(view: RegionView) -> float:
    """Pores (small dark blobs of L*) per cm² of region; NaN without a scale.

    Formula
    -------
    N / (A / px_per_mm^2 / 100), N as in ``texture.pore_density_per_kpx``, A in px.

    References
    ----------
    Lindeberg T., "Feature detection with automatic scale selection", IJCV 30 (1998) 79-116.
    """
    lo, hi = PORE_AREA_RANGE_PX
    return _per_cm2(_count(view, "pore", lo, hi), view)


def _hessian_eigen(img: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (larger, smaller) of the Gaussian-smoothed Hessian, scaled by sigma**2."""
    return _smoothed_hessian_eigen(
        cv2.GaussianBlur(img, (0, 0), sigma, borderType=cv2.BORDER_REFLECT), sigma
    )


def _smoothed_hessian_eigen(s: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_hessian_eigen` of an image ``s`` already smoothed by ``sigma`` (reflected
    borders): its Hessian by 3 x 3 Sobel derivatives."""
    # Sobel 3x3 second derivatives carry a factor 4 ([1,-2,1] x [1,2,1]); cross term too.
    k = np.float32(sigma * sigma / 4.0)
    dxx = cv2.Sobel(s, cv2.CV_32F, 2, 0, ksize=3, scale=float(k), borderType=cv2.BORDER_REFLECT)
    dyy = cv2.Sobel(s, cv2.CV_32F, 0, 2, ksize=3, scale=float(k), borderType=cv2.BORDER_REFLECT)
    dxy = cv2.Sobel(s, cv2.CV_32F, 1, 1, ksize=3, scale=float(k), borderType=cv2.BORDER_REFLECT)
    half_tr = (dxx + dyy) * np.float32(0.5)
    root = cv2.sqrt(((dxx - dyy) * np.float32(0.5)) ** 2 + dxy * dxy)
    return half_tr + root, half_tr - root


#: The detectors' limits as the flip variance tests them (:mod:`._texture_flip`).
LINE_LIMITS = {"threshold": RIDGE_THRESHOLD_L, "area_range": (FINE_LINE_MIN_PX, None)}
PORE_LIMITS = {"threshold": PORE_THRESHOLD_L, "area_range": PORE_AREA_RANGE_PX}


def make_maps(ctx: MapContext) -> None:
    """The texture maps: ``detail`` (|band-pass L*|), ``ridge`` (line response, L*),
    ``ridge_bin`` / ``ridge_px`` (bool / 1.0 on ridge pixels), ``ridge_near`` (deferred: the
    pixels at risk of flipping into ``ridge_px``), ``pore`` (bool dark blobs) and ``glcm_q``
    (int16 quantised L*)."""
    # The L* blurs come from the context: the detail band, the Hessian scales and the swelling
    # family's shade share them (1.5 and 3.0 px).
    maps, L = ctx.maps, ctx.L
    fine = ctx.smoothed_L(DETAIL_SIGMAS_PX[0])
    maps["detail"] = cv2.absdiff(fine, ctx.smoothed_L(DETAIL_SIGMAS_PX[1]))
    ridge = blob = None
    for sigma in RIDGE_SIGMAS_PX:
        big, small = _smoothed_hessian_eigen(ctx.smoothed_L(sigma), sigma)
        line = np.maximum(big - np.abs(small), np.float32(0.0))
        ridge = line if ridge is None else np.maximum(ridge, line)
        if sigma == PORE_SIGMA_PX:
            blob = small
    if blob is None:
        blob = _smoothed_hessian_eigen(ctx.smoothed_L(PORE_SIGMA_PX), PORE_SIGMA_PX)[1]
    maps["pore_response"] = blob
    maps["pore"] = blob > np.float32(PORE_THRESHOLD_L)
    maps["ridge"] = ridge
    maps["ridge_bin"] = ridge > np.float32(RIDGE_THRESHOLD_L)
    maps["ridge_px"] = maps["ridge_bin"].astype(np.float32)
    maps.defer("ridge_near", near_threshold, ridge, RIDGE_THRESHOLD_L)
    defer_flip_maps(maps, ridge, blob, LINE_LIMITS, PORE_LIMITS)
    maps["glcm_q"] = np.floor(L * np.float32(1.0 / GLCM_BIN_L)).astype(np.int16)


register_family(
    "texture",
    make_maps=make_maps,
    heatmap=HeatmapSpec("ridge", None, 0.0, 6.0, "PuBu", legend="ridge (wrinkle) filter response"),
    near_threshold={"ridge_px": "ridge_near"},
    flip_variance=TEXTURE_FLIP_VARIANCE,
    relative_noise=(
        "texture.roughness_ra",
        "texture.glcm_contrast",
        "texture.glcm_homogeneity",
        "texture.wrinkle_area_pct",
        "texture.ridge_strength_mean",
        "texture.fine_line_density_per_kpx",
        "texture.fine_line_density_per_cm2",
        "texture.pore_density_per_kpx",
        "texture.pore_density_per_cm2",
    ),
    # (not the fine-line and pore densities: their moved detections would cost as much again)
    two_sided_registration=(
        "texture.roughness_ra",
        "texture.glcm_contrast",
        "texture.glcm_homogeneity",
        "texture.wrinkle_area_pct",
        "texture.ridge_strength_mean",
    ),
    headline="texture.roughness_ra",
)
