"""Body skin metrics: cellulite (dimple-scale irregularity, dimples) and stretch marks (streaks).

The analysis (:class:`~mesovision.metrics._body_detect.BodyAnalysis`, made once per photo on
first use) works at physical scales: with ``px_per_mm`` its filters are in mm; without, at an
assumed ``FALLBACK_PX_PER_MM`` with a logged warning (counts and shares are then measured at
that assumed scale, the metrics in mm are NaN).

Cellulite shows as relief: dimples are shallow pits a few mm wide, which a raking light turns
into shading. The irregularity is the RMS of L* band-passed at the dimple scale (1-8 mm), a
direct reading of that shading; it depends on the light as much as on the skin. Dimples are
found in the relief recovered from the shading (:mod:`mesovision.relief`: the raking light's
direction from the shading's structure, then the shading integrated along it): a dimple is a
local minimum at least ``DIMPLE_DEPTH_MM`` deep in units of ``cot(e)`` x mm (``e`` the light's
elevation; the relief scales with how grazing the light is, which is why a change of light
makes the family not comparable, :mod:`mesovision.comparability`), its area the pixels at
least a share as deep as their deepest neighbour.

Stretch marks are streaks of another colour: red-purple while recent (striae rubrae), white
when mature (striae albae). A streak is an elongated connected area whose a* differs from the
surrounding skin by ``STREAK_DA`` or more; its length is its principal axis, its stage the sign
of its a* contrast.

Noise terms: the shares' pixels at risk of flipping (``near_threshold``); the counts carry no
Poisson term (their unit is not ``count``, :func:`mesovision.noise.counting_sd`): a before and an
after photo of one area show the same dimples again, so what moves a count between two captures
is re-detection, which the paired tiles and the capture term measure, not the sampling of a new
area. A streak, though, breaks or vanishes as a whole where its contrast dips towards the
threshold, moving the streak count by one and the length by a piece at once: the streak count
and lengths carry that whole-streak flip variance as their counting term (``flip_variance``,
:mod:`mesovision.metrics._streak_flip`). A capture term per metric (``CAPTURE_SD``, relative
for the counts, lengths and areas) measured on null pairs of renders. The changes take the
``body_texture`` comparability verdict (the texture limits plus the light's direction and the
framing). Scored in ``body`` mode only.
Validation: ``docs/body.md`` (``benchmarks/body.py``).
"""

from __future__ import annotations

import cv2
import numpy as np

from ..relief import LightEstimate
from ._body_detect import (
    DIMPLE_DEPTH_MM,
    FALLBACK_PX_PER_MM,
    BodyAnalysis,
    streak_lengths_px,
)
from ._family import HeatmapSpec, map_variance, register_family
from ._maps import MapContext
from ._region import RegionView
from ._registry import register

__all__ = [
    "CAPTURE_SD",
    "DIMPLE_DEPTH_MM",
    "FALLBACK_PX_PER_MM",
    "MIN_BODY_PIXELS",
    "REGION_STREAK_MIN_MM",
    "dimple_area_mm2",
    "dimple_count",
    "dimple_share_pct",
    "irregularity_l",
    "light_of",
    "make_maps",
    "streak_area_mm2",
    "streak_count",
    "streak_count_variance",
    "streak_delta_a",
    "streak_length_mm",
    "streak_length_mm_variance",
    "streak_length_px",
    "streak_length_variance",
    "streak_red_share_pct",
    "streak_share_pct",
]

#: Smallest region (px) for the body metrics.
MIN_BODY_PIXELS = 400
#: A streak's piece inside a region counts (and adds its length) when at least this long (mm).
REGION_STREAK_MIN_MM = 4.0
#: What a second capture of an unchanged area moves a value by, beyond the paired terms: the
#: root mean square change over the 6 null pairs of ``python benchmarks/body.py --split dev
#: --renders 0 --pairs 6`` (counts, lengths and areas as a share of the value; L* and a*
#: units; shares in points), rounded up; the streak count (no change seen) gets 5 %.
CAPTURE_SD = {
    "body.irregularity_l": 0.02,
    "body.dimple_count": 0.04,
    "body.dimple_share_pct": 0.4,
    "body.dimple_area_mm2": 0.04,
    "body.streak_count": 0.05,
    "body.streak_length_mm": 0.02,
    "body.streak_length_px": 0.02,
    "body.streak_area_mm2": 0.15,
    "body.streak_share_pct": 0.25,
    "body.streak_red_share_pct": 1.3,
    "body.streak_delta_a": 0.8,
}
_RELATIVE = (
    "body.dimple_count",
    "body.dimple_area_mm2",
    "body.streak_count",
    "body.streak_length_mm",
    "body.streak_length_px",
    "body.streak_area_mm2",
)


def _streaks(view: RegionView) -> tuple[np.ndarray, np.ndarray]:
    """``(length_px, area_px)`` of the region's streaks: the linked streak pixels inside the
    mask, 8-connected, in pieces at least ``REGION_STREAK_MIN_MM`` long (a streak cut by the
    region's edge counts when that much of it lies inside; slivers along the edge do not)."""

    def make():
        flagged = (view.crop("body_streak_link") > 0) & view.mask
        n, labels = cv2.connectedComponents(flagged.view(np.uint8), connectivity=8)
        if n <= 1:
            return np.zeros(0), np.zeros(0)
        length, area = streak_lengths_px(labels, n)
        ppm = view.px_per_mm or FALLBACK_PX_PER_MM
        keep = length >= REGION_STREAK_MIN_MM * ppm
        return length[keep], area[keep]

    return view.memo("body_streaks", make)


@register(
    "body.irregularity_l",
    display="skin surface irregularity",
    plain="How uneven the skin looks at the size of cellulite dimples (lumps and hollows).",
    unit_label="L* units",
    unit="L*",
    direction="higher_is_worse",
    maps=("body_bp2",),
    min_pixels=MIN_BODY_PIXELS,
)
def irregularity_l(body_bp2):
    """Root mean square of the lightness band-passed at the dimple scale.

    Formula
    -------
    sqrt(mean over the region of (G_1mm(L*) - G_8mm(L*))^2), G_s the Gaussian of sigma s
    normalized over the measured area.

    References
    ----------
    Bielfeldt S. et al., "Assessment of human cellulite: a comparison of profilometry and
    photography", Skin Res. Technol. 14 (2008) 336-346 (band-limited surface roughness of
    cellulite). Hexsel D. M. et al., "A validated photonumeric cellulite severity scale",
    J. Eur. Acad. Dermatol. Venereol. 23 (2009) 523-528.
    """
    return np.sqrt(body_bp2)


@register(
    "body.dimple_count",
    display="cellulite dimples",
    plain="Number of cellulite dimples (hollows in the skin) in the measured area.",
    unit_label="dimples",
    unit="dimples",
    direction="higher_is_worse",
    min_pixels=MIN_BODY_PIXELS,
)
def dimple_count(view: RegionView) -> float:
    """Number of dimples in the region: local minima of the relief at least 0.25 deep.

    Formula
    -------
    number of pixels p of the region with r(p) = min of r within 4 mm and r(p) <= -0.25,
    r the relief cot(e) h (mm) integrated from the shading along the estimated light.

    References
    ----------
    Pentland A. P., "Linear shape from shading", Int. J. Comput. Vis. 4 (1990) 153-162.
    Hexsel D. M. et al., J. Eur. Acad. Dermatol. Venereol. 23 (2009) 523-528 (number of
    evident depressions, item A of the Cellulite Severity Scale).
    """
    return float(np.count_nonzero(view.crop("body_dimple_centre")[view.mask]))


@register(
    "body.dimple_share_pct",
    display="area with dimples",
    plain="How much of the measured area lies in cellulite dimples.",
    unit_label="% of the area",
    unit="%",
    direction="higher_is_worse",
    maps=("body_dimple_px",),
    min_pixels=MIN_BODY_PIXELS,
)
def dimple_share_pct(body_dimple_px):
    """Share of the region inside dimples (deep relative to the deepest point near them).

    Formula
    -------
    100 * mean over the region of [-r >= max(0.1, -0.35 min_7mm(r))], r the relief (mm)
    smoothed by a Gaussian of 0.6 mm, min_7mm the minimum within 7 mm.

    References
    ----------
    Hexsel D. M. et al., J. Eur. Acad. Dermatol. Venereol. 23 (2009) 523-528.
    Pentland A. P., Int. J. Comput. Vis. 4 (1990) 153-162.
    """
    return 100.0 * body_dimple_px


@register(
    "body.dimple_area_mm2",
    display="dimple area",
    plain="Total area of the cellulite dimples (needs a scale).",
    unit_label="mm²",
    unit="mm^2",
    direction="higher_is_worse",
    min_pixels=MIN_BODY_PIXELS,
    needs_scale=True,
)
def dimple_area_mm2(view: RegionView) -> float:
    """Area of the region inside dimples, in mm².

    Formula
    -------
    (number of dimple pixels of the region) / px_per_mm^2.

    References
    ----------
    Hexsel D. M. et al., J. Eur. Acad. Dermatol. Venereol. 23 (2009) 523-528.
    """
    return float(view.crop("body_dimple_px")[view.mask].sum()) / view.px_per_mm**2


@register(
    "body.streak_count",
    display="stretch marks",
    plain="Number of stretch marks (streaks of another colour) in the measured area.",
    unit_label="streaks",
    unit="streaks",
    direction="higher_is_worse",
    min_pixels=MIN_BODY_PIXELS,
)
def streak_count(view: RegionView) -> float:
    """Number of streaks in the region.

    Formula
    -------
    number of 8-connected components of the linked streak pixels inside the region at least
    4 mm long; a linked streak is a component (of the whole photo) of |da| >= 2 a* units, half
    of whose pixels have |da| >= 3, at least 8 mm long and 3 times as long as wide, da the a*
    over its 6 mm background.

    References
    ----------
    Elsaie M. L. et al., "Striae distensae (stretch marks) and different modalities of
    therapy: an update", Dermatol. Surg. 35 (2009) 563-573.
    """
    return float(_streaks(view)[0].size)


@register(
    "body.streak_length_px",
    display="stretch mark length",
    plain="Total length of the stretch marks (in pixels).",
    unit_label="px",
    unit="px (length)",
    direction="higher_is_worse",
    min_pixels=MIN_BODY_PIXELS,
)
def streak_length_px(view: RegionView) -> float:
    """Summed length of the region's streaks, in px.

    Formula
    -------
    sum over the streaks (``body.streak_count``) of sqrt(12 l1) + 1, l1 the larger eigenvalue
    of the covariance of the streak's pixel coordinates (the length of a straight band).

    References
    ----------
    Elsaie M. L. et al., Dermatol. Surg. 35 (2009) 563-573.
    """
    return float(_streaks(view)[0].sum())


@register(
    "body.streak_length_mm",
    display="stretch mark length",
    plain="Total length of the stretch marks (needs a scale).",
    unit_label="mm",
    unit="mm",
    direction="higher_is_worse",
    min_pixels=MIN_BODY_PIXELS,
    needs_scale=True,
)
def streak_length_mm(view: RegionView) -> float:
    """Summed length of the region's streaks, in mm.

    Formula
    -------
    streak_length_px / px_per_mm.

    References
    ----------
    Elsaie M. L. et al., Dermatol. Surg. 35 (2009) 563-573.
    """
    return float(_streaks(view)[0].sum()) / view.px_per_mm


@register(
    "body.streak_share_pct",
    display="area with stretch marks",
    plain="How much of the measured area the stretch marks cover.",
    unit_label="% of the area",
    unit="%",
    direction="higher_is_worse",
    maps=("body_streak",),
    min_pixels=MIN_BODY_PIXELS,
)
def streak_share_pct(body_streak):
    """Share of the region covered by streaks.

    Formula
    -------
    100 * mean over the region of [pixel in a streak].

    References
    ----------
    Elsaie M. L. et al., Dermatol. Surg. 35 (2009) 563-573.
    """
    return 100.0 * body_streak


@register(
    "body.streak_area_mm2",
    display="stretch mark area",
    plain="Total area of the stretch marks (needs a scale).",
    unit_label="mm²",
    unit="mm^2",
    direction="higher_is_worse",
    min_pixels=MIN_BODY_PIXELS,
    needs_scale=True,
)
def streak_area_mm2(view: RegionView) -> float:
    """Area of the region's streaks, in mm².

    Formula
    -------
    (number of streak pixels of the region) / px_per_mm^2.

    References
    ----------
    Elsaie M. L. et al., Dermatol. Surg. 35 (2009) 563-573.
    """
    return float(view.crop("body_streak")[view.mask].sum()) / view.px_per_mm**2


@register(
    "body.streak_red_share_pct",
    display="recent (red) stretch marks",
    plain="Share of the stretch marks' area that is still red-purple (recent) rather than white.",
    unit_label="% of the streak area",
    unit="% of streak area",
    direction="neutral",
    min_pixels=MIN_BODY_PIXELS,
)
def streak_red_share_pct(view: RegionView) -> float:
    """Share of the region's streak area in red-purple (recent) streaks; NaN without streaks.

    Formula
    -------
    100 * (pixels of streaks with da > 0) / (streak pixels), in the region.

    References
    ----------
    Ud-Din S., McGeorge D., Bayat A., "Topical management of striae distensae (stretch marks):
    prevention and therapy of striae rubrae and albae", J. Eur. Acad. Dermatol. Venereol. 30
    (2016) 211-222 (the red-purple and white stages).
    """
    s = view.crop("body_streak")[view.mask]
    n = float(s.sum())
    if n == 0:
        return float("nan")
    return 100.0 * float(view.crop("body_streak_red")[view.mask].sum()) / n


@register(
    "body.streak_delta_a",
    display="stretch mark redness",
    plain="How much redder (positive) or paler (negative) the stretch marks are than the skin.",
    unit_label="a* units",
    unit="a*",
    direction="neutral",
    min_pixels=MIN_BODY_PIXELS,
)
def streak_delta_a(view: RegionView) -> float:
    """Mean a* contrast of the region's streak pixels over their skin background; NaN without
    streaks.

    Formula
    -------
    mean over the streak pixels of the region of da = G_0.4mm(a*) - G_6mm(a*).

    References
    ----------
    Ud-Din S. et al., J. Eur. Acad. Dermatol. Venereol. 30 (2016) 211-222. Takiwaki H.,
    "Measurement of skin color: practical application and theoretical considerations",
    J. Med. Invest. 44 (1998) 121-126 (a* as a redness scale).
    """
    s = view.crop("body_streak")[view.mask] > 0
    if not s.any():
        return float("nan")
    return float(np.mean(view.crop("body_da")[view.mask][s]))


def light_of(rgb: np.ndarray, mask: np.ndarray, px_per_mm: float | None) -> LightEstimate:
    """The raking light of a body photo over ``mask``, estimated as the body metrics do
    (:func:`mesovision.relief.estimate_light` at the relief's band: 0.8 and 8 mm, or the
    fallback scale without ``px_per_mm``; away from the streaks)."""
    rgb = np.ascontiguousarray(np.clip(rgb, 0.0, 1.0), np.float32)
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2Lab)
    return BodyAnalysis(rgb, lab, mask, px_per_mm).light


def make_maps(ctx: MapContext) -> None:
    """The body maps, all deferred (made when a body metric first reads them): ``body_bp2``,
    ``body_relief``, ``body_dimple_centre``, ``body_dimple_px``, ``body_dimple_near``,
    ``body_da``, ``body_streak``, ``body_streak_red`` and ``body_streak_link`` (float32 0/1),
    and the
    streaks' flip variances ``body_streak_flip_n`` and ``body_streak_flip_len`` (px²)."""
    b = BodyAnalysis(ctx.rgb, ctx.lab, ctx.skin, ctx.px_per_mm)
    maps = ctx.maps
    maps.defer("body_bp2", getattr, b, "bp2")
    maps.defer("body_relief", getattr, b, "relief")
    maps.defer("body_dimple_centre", getattr, b, "dimple_centre")
    maps.defer("body_dimple_px", getattr, b, "dimple_px")
    maps.defer("body_dimple_near", getattr, b, "dimple_near")
    maps.defer("body_da", getattr, b, "da")
    maps.defer("body_streak", lambda: b.streak.astype(np.float32))
    maps.defer("body_streak_red", lambda: b.streak_red.astype(np.float32))
    maps.defer("body_streak_link", lambda: b.streak_link.astype(np.float32))
    maps.defer("body_streak_flip_n", lambda: b.streak_flip[0])
    maps.defer("body_streak_flip_len", lambda: b.streak_flip[1])


#: Variance (streaks²) of ``body.streak_count`` over a mask, from whole-streak flips.
streak_count_variance = map_variance("body_streak_flip_n")
#: Variance (px²) of ``body.streak_length_px``, from whole-streak flips.
streak_length_variance = map_variance("body_streak_flip_len")
#: Variance (mm²) of ``body.streak_length_mm`` (0 without a scale).
streak_length_mm_variance = map_variance("body_streak_flip_len", 2)


register_family(
    "body",
    make_maps=make_maps,
    heatmap=HeatmapSpec(
        "body_dimple_px", None, 0.0, 1.0, "PuRd", legend="cellulite dimples (1: inside one)"
    ),
    near_threshold={"body_dimple_px": "body_dimple_near"},
    flip_variance={
        "body.streak_count": streak_count_variance,
        "body.streak_length_px": streak_length_variance,
        "body.streak_length_mm": streak_length_mm_variance,
    },
    comparability="body_texture",
    modes=("body",),
    relative_noise=_RELATIVE,
    capture_sd=CAPTURE_SD,
    headline="body.dimple_count",
)
