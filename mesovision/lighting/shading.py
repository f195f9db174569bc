"""Shading fields: the slow variation of light across a photo, and between two photos.

A shading field is ``S = exp(P(u, v))``, ``P`` a 2-D polynomial without constant term in image
coordinates ``u, v`` in [-1, 1] (:mod:`.fit`), fitted robustly to log luminance in linear light.
:func:`estimate_shading` fits one photo's field (absolute shading: the lamp's fall-off *and* the
face's relief at that scale). :func:`fit_relative_shading` fits the ratio of two photos' luminances,
which removes what changed in the light between them and keeps the relief and skin tone common to
both. :func:`remove_common_shading` divides both photos by the before photo's own field (the
optional absolute step of :func:`~mesovision.lighting.normalize_lighting`).
"""

from __future__ import annotations

import numpy as np

from ..color import linear_to_srgb, srgb_to_linear
from ..errors import LightingError, UsageError
from .fit import MAX_LOG_SHADING, eval_surface, norm_coords, poly_terms, robust_lstsq
from .pixels import MIN_REFERENCE_PX, N_FIT, luminance, sample_pixels, unclipped

__all__ = [
    "PLAUSIBLE_SHADING",
    "estimate_shading",
    "fit_relative_shading",
    "shading_values",
    "field_summary",
    "remove_common_shading",
]

PLAUSIBLE_SHADING = (0.6, 1.6)  # relative field range beyond which the report warns


def estimate_shading(rgb: np.ndarray, mask: np.ndarray, *, degree: int = 2) -> np.ndarray:
    """Low-frequency luminance (shading) field of a photo, fitted over ``mask``.

    A 2-D polynomial of total degree ``degree`` in normalized image coordinates ``u, v`` in
    [-1, 1] is fitted robustly (outliers beyond 3 MAD rejected) to the log relative luminance
    ``log Y`` (linear light) of up to 30 000 pixels of ``mask``:
    ``log Y(u, v) ~ c + sum_{0<i+j<=degree} c_ij u^i v^j``. The field returned is
    ``S = exp(sum c_ij u^i v^j)``, scaled so that its geometric mean over the sampled mask
    pixels is 1; dividing a photo's linear RGB by ``S`` removes the shading and keeps its overall
    exposure.

    What it removes: illumination that varies slowly across the image (a lamp on one side, a
    vignette) *and* the face's own relief shading at that scale (degree 2 takes the darker sides of
    the face under a frontal light), plus any real slow variation of skin tone. For comparing two
    photos, remove the *ratio* of their fields (what :func:`normalize_lighting` does), which keeps
    the relief and the skin tone common to both.

    Parameters
    ----------
    rgb : (H, W, 3) float sRGB in [0, 1]
    mask : (H, W) bool
    degree : int, 0 to 4

    Returns
    -------
    (H, W) float32, geometric mean 1 over the mask.

    Raises
    ------
    LightingError
        Fewer than :data:`MIN_REFERENCE_PX` usable pixels in ``mask``.
    """
    if not 0 <= degree <= 4:
        raise UsageError(f"shading degree must be 0 to 4, got {degree}")
    ys, xs = np.nonzero(np.asarray(mask, bool))
    ok = unclipped(rgb[ys, xs])
    ys, xs = sample_pixels((ys[ok], xs[ok]), N_FIT)
    if len(xs) < MIN_REFERENCE_PX:
        raise LightingError(
            f"{len(xs)} usable pixels to estimate shading; at least {MIN_REFERENCE_PX} needed",
            check="light_pixels",
            value=float(len(xs)),
            limit=float(MIN_REFERENCE_PX),
        )
    u, v = norm_coords(xs, ys, rgb.shape)
    logy = np.log(np.maximum(luminance(srgb_to_linear(rgb[ys, xs]).astype(np.float64)), 1e-6))
    design = poly_terms(u, v, degree, constant=True)
    coef, _ = robust_lstsq(design, logy)
    coef_s = coef[1:]
    field = eval_surface(coef_s, degree, rgb.shape)
    gmean = float(np.exp(np.mean(poly_terms(u, v, degree, constant=False) @ coef_s)))
    return (field / gmean).astype(np.float32)


def fit_relative_shading(
    xs, ys, shape, lin_b, lin_a, degree: int, *, gamma_term: bool
) -> np.ndarray:
    """Robust fit of ``log Y_a - log Y_b`` (or ``log Y_a`` against ``c0 + c1 log Y_b``) by a 2-D
    polynomial; returns the non-constant coefficients (the relative shading field)."""
    u, v = norm_coords(xs, ys, shape)
    lya = np.log(np.maximum(luminance(lin_a), 1e-6))
    lyb = np.log(np.maximum(luminance(lin_b), 1e-6))
    poly = poly_terms(u, v, degree, constant=False)
    if gamma_term:
        design = np.hstack([np.ones((len(u), 1)), lyb[:, None], poly])
        coef, _ = robust_lstsq(design, lya)
        return coef[2:]
    design = np.hstack([np.ones((len(u), 1)), poly])
    coef, _ = robust_lstsq(design, lya - lyb)
    return coef[1:]


def shading_values(coef: np.ndarray, degree: int, xs, ys, shape) -> np.ndarray:
    u, v = norm_coords(xs, ys, shape)
    log_s = poly_terms(u, v, degree, constant=False) @ coef
    return np.exp(np.clip(log_s, -MAX_LOG_SHADING, MAX_LOG_SHADING))


def field_summary(coef: np.ndarray, degree: int, xs, ys, shape) -> dict:
    s = shading_values(coef, degree, xs, ys, shape)
    s = s / np.exp(np.mean(np.log(s)))  # geometric mean 1 over the reference samples
    return {
        "degree": degree,
        "coefficients": np.asarray(coef).round(6).tolist(),
        "min": float(s.min()),
        "max": float(s.max()),
    }


def remove_common_shading(b_out, a_out, mask, degree, shading_info):
    """Remove the shading common to both photos: estimated on the before photo (already sharing
    its shading with the corrected after photo), the same field divides both."""
    field = estimate_shading(b_out, mask, degree=degree)
    ys, xs = sample_pixels(mask, 5000, seed=3)
    vals = field[ys, xs]
    shading_info["absolute"] = {
        "degree": degree,
        "min": float(vals.min()),
        "max": float(vals.max()),
        "estimated_on": "before",
    }
    f = field[..., None]
    return (
        linear_to_srgb(srgb_to_linear(b_out) / f),
        linear_to_srgb(srgb_to_linear(a_out) / f),
        field,
    )
