"""Redness metrics: mean a*, erythema index, red area above the patient's baseline, haemoglobin.

Reflectances R, G, B are the sRGB-decoded (linear) channels; optical density OD = -log10(R)
(floored at ``REFLECTANCE_FLOOR``). Values depend on camera and light: normalise lighting
first (``mesovision.lighting``).

The family's maps (:func:`make_maps`): ``ei``, ``hb``, ``red_px`` and ``red_near``. Its heatmap
shows the haemoglobin density above the baseline skin. Its noise terms: the red share's pixels
at risk of flipping across the red threshold (``red_near``). Its changes take the ``colour``
verdict of :mod:`mesovision.comparability`.
"""

from __future__ import annotations

import numpy as np

from ._family import HeatmapSpec, register_family
from ._maps import MapContext, near_threshold
from ._registry import register

__all__ = [
    "RED_MARGIN_K",
    "RED_MARGIN_MIN",
    "RED_SMOOTH_SIGMA_PX",
    "erythema_index",
    "haemoglobin_density",
    "make_maps",
    "mean_a",
    "red_area_pct",
]

#: Red area: a* (smoothed with this sigma, px) above the baseline median by
#: ``max(RED_MARGIN_K * 1.4826 * MAD(a*), RED_MARGIN_MIN)``.
RED_SMOOTH_SIGMA_PX = 1.5
RED_MARGIN_K = 3.0
RED_MARGIN_MIN = 3.0


@register(
    "redness.mean_a",
    display="redness",
    plain="How red the skin is on average (the a* axis of CIELAB colour).",
    unit_label="a* units",
    unit="a*",
    direction="higher_is_worse",
    maps=("a",),
)
def mean_a(a):
    """Mean CIELAB a* (D65) of the region.

    Formula
    -------
    mean over the region of a*, CIELAB from sRGB with the D65 white (CIE 15:2004).

    References
    ----------
    CIE 15:2004, Colorimetry, 3rd ed. Takiwaki H., "Measurement of skin color: practical
    application and theoretical considerations", J. Med. Invest. 44 (1998) 121-126 (a* as an
    erythema measure).
    """
    return a


@register(
    "redness.erythema_index",
    display="erythema index",
    plain="Redness from the ratio of red to green light the skin reflects.",
    unit_label="EI units",
    unit="EI (a.u.)",
    direction="higher_is_worse",
    maps=("ei",),
)
def erythema_index(ei):
    """Mean erythema index, the log-ratio of red to green reflectance.

    Formula
    -------
    EI = 100 * (log10(1/G) - log10(1/R)) = 100 * log10(R / G), per pixel, then the region mean.

    References
    ----------
    Dawson J. B. et al., "A theoretical and experimental study of light absorption and scattering
    by in vivo skin", Phys. Med. Biol. 25 (1980) 695-709. Yamamoto T. et al., "Derivation and
    clinical application of special imaging by means of digital cameras and Image J freeware for
    quantification of erythema and pigmentation", Skin Res. Technol. 14 (2008) 26-34.
    """
    return ei


@register(
    "redness.red_area_pct",
    display="red area",
    plain="How much of the area is clearly redder than the patient's own skin at baseline.",
    unit_label="% of the area",
    unit="%",
    direction="higher_is_worse",
    maps=("red_px",),
)
def red_area_pct(red_px):
    """Share of the region redder than the patient's own baseline skin by a fixed margin.

    Formula
    -------
    100 * mean over the region of [G(1.5 px) * a* > med(a*) + max(3 * 1.4826 * MAD(a*), 3.0)],
    med and MAD the median and median absolute deviation of a* over the baseline skin (the
    ``face`` region of the BEFORE photo in a comparison).

    References
    ----------
    Rousseeuw P. J., Croux C., "Alternatives to the median absolute deviation", J. Am. Stat.
    Assoc. 88 (1993) 1273-1283 (1.4826 * MAD as a robust sigma). Takiwaki H., J. Med. Invest. 44
    (1998) 121-126 (a* as an erythema measure).
    """
    return 100.0 * red_px


@register(
    "redness.haemoglobin_density",
    display="blood (haemoglobin) density",
    plain="Blood in the skin estimated by separating the skin colour into pigment and blood.",
    unit_label="optical density",
    unit="OD (log10)",
    direction="higher_is_worse",
    maps=("hb",),
)
def haemoglobin_density(hb):
    """Mean haemoglobin density from the Tsumura optical-density separation.

    Formula
    -------
    OD = -log10(linear RGB reflectance) = m * c_mel + h * c_hb + s * (1, 1, 1), solved per pixel
    for (m, h, s) with the fixed vectors c_mel = (0.4143, 0.3570, 0.8372) and
    c_hb = (0.2988, 0.6838, 0.6657); the value is the region mean of h. The (1, 1, 1) term absorbs
    shading and illumination intensity.

    References
    ----------
    Tsumura N., Haneishi H., Miyake Y., "Independent-component analysis of skin color image",
    J. Opt. Soc. Am. A 16 (1999) 2169-2176. Tsumura N. et al., "Image-based skin color and
    texture analysis/synthesis by extracting hemoglobin and melanin information in the skin",
    ACM Trans. Graph. 22 (2003) 770-779.
    """
    return hb


def make_maps(ctx: MapContext) -> None:
    """The redness maps: ``ei`` (erythema index), ``hb`` (Tsumura haemoglobin density),
    ``red_px`` (1 where the smoothed a* exceeds the baseline margin) and ``red_near``
    (deferred: the pixels at risk of flipping into ``red_px``)."""
    od = ctx.optical_density()
    ctx.maps["ei"] = (od[..., 1] - od[..., 0]) * np.float32(100.0)
    ctx.maps["hb"] = np.ascontiguousarray(ctx.densities()[..., 1])
    a_s = np.ascontiguousarray(ctx.smoothed_lab(RED_SMOOTH_SIGMA_PX)[..., 1])
    red_margin = ctx.baseline.margin(1, k=RED_MARGIN_K, minimum=RED_MARGIN_MIN)
    red_t = np.float32(ctx.baseline.lab_median[1] + red_margin)
    ctx.maps["red_px"] = (a_s > red_t).astype(np.float32)
    ctx.maps.defer("red_near", near_threshold, a_s, red_t)


register_family(
    "redness",
    make_maps=make_maps,
    heatmap=HeatmapSpec(
        "hb",
        "haemoglobin_density_median",
        0.0,
        0.25,
        "YlOrRd",
        legend="haemoglobin density above the baseline skin",
    ),
    near_threshold={"red_px": "red_near"},
    two_sided_registration=(
        "redness.mean_a",
        "redness.erythema_index",
        "redness.red_area_pct",
        "redness.haemoglobin_density",
    ),
    headline="redness.mean_a",
    comparability="colour",
)
