"""Hair metrics: visible scalp, part width, hair count per cm², shaft width and thin hairs.

Segmentation (:class:`~mesovision.metrics._hair_segment.HairAnalysis`, made once per photo on
first use) tells hair from scalp by colour contrast at the scale of a shaft, whatever the polarity
(dark hair on light scalp, light hair on dark scalp, blond on light skin) with an adaptive
contrast rule rather than one fixed threshold, and keeps lines, not dots, for counting (see that
module). Close-ups with a scale: the hair count is half the skeleton's
end points (a crossing keeps its four ends; a junction with an odd number of branches hides one
end and counts it), so that a shaft cut by the region's edge counts one half, an unbiased
density; a shaft's width is its integrated contrast over its length, which blur does not
change. Thin hairs are those below ``THIN_HAIR_UM`` (40 µm: vellus and miniaturised hairs;
terminal scalp hairs are 60-100 µm); their share is of the shafts' length.

Global photos: visible scalp is the measured area's share not covered by hair; the part is the
largest component of the bare-scalp mask (no hair evidence: the contrast under the line mask's low
level, so that a blurred thin shaft still counts as hair) opened by a disk of radius
``PART_OPEN_PX`` (which removes the gaps between single hairs), and its width is the median, over
1-px steps along its long axis (the principal axis of its pixel coordinates), of the pixels across
it; no part (NaN) when the component is not at least four times as long as it is wide. The part
widths are reported for both photos but their change is not tested (``tested=False``: no
standard error, z, p or significance, outside the pair's false discovery rate): the paired tiles,
which give a change its noise floor, hold no part, and the median over 1-px bins moves by a few
px on a recapture of an unchanged crown.

The maps (:func:`make_maps`, all deferred: only the hair metrics read them): ``hair_d``,
``hair_px``, ``scalp_px``, ``scalp_near``, ``hair_line``, ``scalp_bare``, ``hair_end``,
``hair_len``, ``hair_cov``, ``hair_w``. The heatmap shows the shaft coverage. Noise terms: the
scalp share's pixels at risk of flipping; the densities carry no Poisson term (their unit is not
``1/cm^2``, :func:`mesovision.noise.counting_sd`): a before and an after photo of one patch show
the same hairs again, so what moves a density between two captures is re-detection, which the
paired tiles measure, not the sampling of a new patch; a capture term per metric (``CAPTURE_SD``,
relative for the densities) measured on null pairs of renders. The changes take the ``texture``
comparability verdict (focus and noise move hair detection as they move texture). The family is
scored in the ``scalp`` (scalp share and part width only) and ``trichoscopy`` modes only.
Validation: ``docs/hair.md`` (``benchmarks/hair.py``).
"""

from __future__ import annotations

import cv2
import numpy as np

from ._family import HeatmapSpec, register_family
from ._hair_segment import HairAnalysis
from ._maps import MapContext
from ._region import RegionView
from ._registry import register

__all__ = [
    "CAPTURE_SD",
    "MIN_HAIR_PIXELS",
    "PART_OPEN_PX",
    "THIN_HAIR_UM",
    "hair_density_per_cm2",
    "hair_density_per_kpx",
    "make_maps",
    "part_width_mm",
    "part_width_px",
    "scalp_share_pct",
    "shaft_width_median_um",
    "thin_hair_share_pct",
]

#: A hair thinner than this (µm) is thin.
THIN_HAIR_UM = 40.0
#: Radius (px) of the disk that opens the scalp mask before the part is found.
PART_OPEN_PX = 4
#: What a second capture of an unchanged patch moves a value by, beyond the paired terms: the
#: root mean square change over the 8 null close-up pairs of ``python benchmarks/hair.py
#: --split dev --renders 0 --pairs 8`` (densities as a share of the value: 4.5 / cm² of
#: ~165 / cm²; width in µm, thin share in points), rounded up.
CAPTURE_SD = {
    "hair.density_per_kpx": 0.03,
    "hair.density_per_cm2": 0.03,
    "hair.shaft_width_median_um": 0.8,
    "hair.thin_share_pct": 0.9,
}
#: Smallest region (px) for the hair metrics.
MIN_HAIR_PIXELS = 100


def _widths_um(view: RegionView) -> tuple[np.ndarray, np.ndarray]:
    """``(widths_um, lengths_px)`` of the region's width samples (skeleton pixels away from
    the ends, :attr:`HairAnalysis.width`)."""

    def make():
        w = view.crop("hair_w")[view.mask]
        ok = w > 0
        length = view.crop("hair_len")[view.mask][ok]
        return w[ok].astype(np.float64) / view.px_per_mm * 1000.0, length.astype(np.float64)

    return view.memo("hair_widths", make)


def _weighted_median(x: np.ndarray, wt: np.ndarray) -> float:
    if x.size == 0:
        return float("nan")
    order = np.argsort(x)
    c = np.cumsum(wt[order])
    return float(x[order][np.searchsorted(c, 0.5 * c[-1])])


def _count(view: RegionView) -> float:
    return float(np.sum(view.crop("hair_end")[view.mask])) / 2.0


@register(
    "hair.scalp_share_pct",
    display="visible scalp",
    plain="How much of the measured area shows scalp rather than hair.",
    unit_label="% of the area",
    unit="%",
    direction="higher_is_worse",
    maps=("scalp_px",),
)
def scalp_share_pct(scalp_px):
    """Share of the region where the scalp is visible: pixels covered by less than half a shaft.

    Formula
    -------
    100 * mean over the region of [d < max(0.5 C, 4 s)], d the hair contrast over the scalp
    background, C the full hair contrast and s the noise sigma (module docstring).

    References
    ----------
    Olsen E. A. et al., "Evaluation and treatment of male and female pattern hair loss",
    J. Am. Acad. Dermatol. 52 (2005) 301-311 (scalp visibility in global photographs).
    Canfield D., "Photographic documentation of hair growth in androgenetic alopecia",
    Dermatol. Clin. 14 (1996) 713-721.
    """
    return 100.0 * scalp_px


def _part(view: RegionView) -> float:
    """Width (px) of the largest opened scalp component (module docstring); NaN when it is not
    elongated (long axis under four times the width)."""

    def make():
        scalp = view.crop("scalp_bare") & view.mask
        r = PART_OPEN_PX
        disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
        opened = cv2.morphologyEx(scalp.view(np.uint8), cv2.MORPH_OPEN, disk)
        n, labels, stats, _ = cv2.connectedComponentsWithStats(opened, connectivity=4)
        if n <= 1:
            return float("nan")
        k = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
        yy, xx = np.nonzero(labels == k)
        pts = np.stack([xx, yy], axis=1).astype(np.float64)
        pts -= pts.mean(axis=0)
        _, vecs = np.linalg.eigh(pts.T @ pts)
        t = np.round(pts @ vecs[:, -1]).astype(np.int64)
        counts = np.bincount(t - t.min())
        counts = counts[counts > 0]
        width = float(np.median(counts))
        return width if counts.size >= 4.0 * width else float("nan")

    return view.memo("hair_part", make)


@register(
    "hair.part_width_px",
    display="part width",
    plain="Width of the parting line where scalp shows between the hair (in pixels).",
    unit_label="px",
    unit="px (width)",
    direction="higher_is_worse",
    min_pixels=MIN_HAIR_PIXELS,
    tested=False,
)
def part_width_px(view: RegionView) -> float:
    """Width of the part: the largest visible-scalp strip of the region, in px.

    Formula
    -------
    median over 1-px bins of t of the component's pixels in each bin, t the coordinate along
    the principal axis of the pixels of the largest 4-connected component of the bare-scalp mask
    (d under max(0.2 C, 4 s)) opened by a disk of radius 4 px; NaN when it spans fewer than
    4 x that many bins.

    References
    ----------
    Olsen E. A., "Female pattern hair loss", J. Am. Acad. Dermatol. 45 (2001) S70-S80 (the
    widening central part, Ludwig and Sinclair grades). Sinclair R. et al., "The reliability of
    horizontally sectioned scalp biopsies and the part width scale", Br. J. Dermatol. 2004.
    """
    return _part(view)


@register(
    "hair.part_width_mm",
    display="part width",
    plain="Width of the parting line where scalp shows between the hair (needs a scale).",
    unit_label="mm",
    unit="mm",
    direction="higher_is_worse",
    min_pixels=MIN_HAIR_PIXELS,
    needs_scale=True,
    tested=False,
)
def part_width_mm(view: RegionView) -> float:
    """Width of the part in mm (``hair.part_width_px`` over the scale).

    Formula
    -------
    part_width_px / px_per_mm.

    References
    ----------
    Olsen E. A., "Female pattern hair loss", J. Am. Acad. Dermatol. 45 (2001) S70-S80.
    """
    return _part(view) / view.px_per_mm


@register(
    "hair.density_per_kpx",
    display="hair density",
    plain="Number of hairs per thousand square pixels.",
    unit_label="hairs per 1000 px²",
    unit="hairs/(1000 px^2)",
    direction="higher_is_better",
    min_pixels=MIN_HAIR_PIXELS,
)
def hair_density_per_kpx(view: RegionView) -> float:
    """Hairs per 1000 px² of region.

    Formula
    -------
    1000 * N / A, A the region's area (px) and N = E / 2 its hairs, E the end points (one
    8-neighbour) of the skeleton of the hysteresis line mask pruned of branches up to 3 px, plus
    one for each junction with an odd number of branches (an isolated point counts 2).

    References
    ----------
    Hoffmann R., "TrichoScan: a novel tool for the analysis of hair growth in vivo",
    J. Investig. Dermatol. Symp. Proc. 8 (2003) 109-115. Zhang T. Y., Suen C. Y., "A fast
    parallel algorithm for thinning digital patterns", Commun. ACM 27 (1984) 236-239.
    """
    return 1000.0 * _count(view) / view.n


@register(
    "hair.density_per_cm2",
    display="hair density",
    plain="Number of hairs per square centimetre of scalp (needs a scale).",
    unit_label="hairs per cm²",
    unit="hairs/cm^2",
    direction="higher_is_better",
    min_pixels=MIN_HAIR_PIXELS,
    needs_scale=True,
)
def hair_density_per_cm2(view: RegionView) -> float:
    """Hairs per cm² of region.

    Formula
    -------
    N / (A / px_per_mm^2 / 100), N the hairs (``hair.density_per_kpx``) and A the region's
    area (px).

    References
    ----------
    Hoffmann R., J. Investig. Dermatol. Symp. Proc. 8 (2003) 109-115 (hair density in
    hairs / cm² from phototrichograms; normal scalp 150-250 / cm²).
    """
    return _count(view) / (view.n / view.px_per_mm**2 / 100.0)


@register(
    "hair.shaft_width_median_um",
    display="hair thickness",
    plain="Median thickness of the hair shafts (needs a scale).",
    unit_label="µm",
    unit="um",
    direction="higher_is_better",
    min_pixels=MIN_HAIR_PIXELS,
    needs_scale=True,
)
def shaft_width_median_um(view: RegionView) -> float:
    """Median shaft width of the region's hairs, in µm; NaN without hair.

    Formula
    -------
    weighted median of w_g * 1000 / px_per_mm over the shaft groups g, weights their hair
    counts, w_g solving A_g = w_g (L_g + e_g w_g / 2): A_g the group's integrated coverage
    sum(d / C) (px), L_g its skeleton length (px, each pixel 1 / max(|cos t|, |sin t|)),
    e_g its end points.

    References
    ----------
    Hoffmann R., J. Investig. Dermatol. Symp. Proc. 8 (2003) 109-115. Rushton D. H. et al.,
    "Quantitative assessment of hair loss in women", Br. J. Dermatol. 138 (1998) 564-565.
    """
    w, n = _widths_um(view)
    return _weighted_median(w, n)


@register(
    "hair.thin_share_pct",
    display="thin hairs",
    plain="Share of the hairs thinner than 40 micrometres (needs a scale).",
    unit_label="% of hairs",
    unit="% of hairs",
    direction="higher_is_worse",
    min_pixels=MIN_HAIR_PIXELS,
    needs_scale=True,
)
def thin_hair_share_pct(view: RegionView) -> float:
    """Share of the region's hairs thinner than ``THIN_HAIR_UM`` (40 µm); NaN without hair.

    Formula
    -------
    100 * sum(n_g [w_g < 40 µm]) / sum(n_g) over the shaft groups (``hair.shaft_width_median_um``).

    References
    ----------
    Rushton D. H. et al., Br. J. Dermatol. 138 (1998) 564-565 (thin hairs under 40 µm as a
    marker of miniaturisation). Hoffmann R., J. Investig. Dermatol. Symp. Proc. 8 (2003) 109-115.
    """
    w, n = _widths_um(view)
    if w.size == 0:
        return float("nan")
    return float(100.0 * n[w < THIN_HAIR_UM].sum() / n.sum())


def make_maps(ctx: MapContext) -> None:
    """The hair maps, all deferred (made when a hair metric first reads them): ``hair_d``
    (contrast over the scalp background), ``hair_px`` / ``scalp_px`` (float32 0/1),
    ``scalp_near``, ``hair_line`` (bool), ``hair_end``, ``hair_len`` and ``hair_cov``."""
    h = HairAnalysis(ctx.lab, ctx.skin)
    maps = ctx.maps
    maps.defer("hair_d", getattr, h, "d")
    maps.defer("hair_px", getattr, h, "hair_px")
    maps.defer("scalp_px", lambda: (1.0 - h.hair_px) * h.roi)
    maps.defer("scalp_near", lambda: h.scalp_near)
    maps.defer("hair_line", getattr, h, "line")
    maps.defer("scalp_bare", getattr, h, "bare")
    maps.defer("hair_end", getattr, h, "ends")
    maps.defer("hair_len", getattr, h, "length")
    maps.defer("hair_cov", getattr, h, "cov")
    maps.defer("hair_w", getattr, h, "width")


register_family(
    "hair",
    make_maps=make_maps,
    heatmap=HeatmapSpec(
        "hair_cov", None, 0.0, 1.0, "PuRd", legend="hair shaft coverage (0 scalp, 1 full shaft)"
    ),
    near_threshold={"scalp_px": "scalp_near"},
    comparability="texture",
    modes=("scalp", "trichoscopy"),
    relative_noise=("hair.density_per_kpx", "hair.density_per_cm2"),
    capture_sd=CAPTURE_SD,
    # crown and part-line views: hairs far thinner than a pixel, crossing at length; no counts
    mode_metrics={"scalp": ("hair.scalp_share_pct", "hair.part_width_px", "hair.part_width_mm")},
    # the primary endpoint of a treated area: a crown's visible scalp, a close-up's density
    # (per cm² with a scale, else per kilopixel: the same relative change and test)
    mode_headline={
        "scalp": ("hair.scalp_share_pct",),
        "trichoscopy": ("hair.density_per_cm2", "hair.density_per_kpx"),
    },
)
