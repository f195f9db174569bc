"""The ``"card"`` method: each photo mapped to a ColorChecker's published colours.

A 24-patch card in each photo (found by :func:`~mesovision.colorchecker.detect_colorchecker`, or
given by its corners) maps that photo to the card's reference sRGB values
(:func:`~mesovision.colorchecker.correct_with_card`, ``card_model`` ``"affine"`` or ``"matrix"``
in linear RGB); the comparison is then independent of the camera. With ``shading=True`` the
relative shading between the corrected photos is then removed as in the ``"reference"`` method,
without changing the exposure fixed by the card (the field is scaled to a geometric mean of 1 over
the reference samples). The card's own pixels are never reference pixels.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from .. import colorchecker as cc
from ..color import linear_to_srgb, srgb_to_linear
from ..errors import LightingError, UsageError
from .fit import eval_surface
from .models import MODELS
from .pixels import (
    MIN_REFERENCE_PX,
    N_FIT,
    N_REPORT,
    coords_mask,
    prepare_pair,
    residual_report,
    sample_pixels,
    unclipped,
)
from .shading import field_summary, fit_relative_shading, remove_common_shading, shading_values

__all__ = ["MAX_CARD_DE", "method_card"]

#: Mean CIEDE2000 of the card's patches after correction above which the report warns.
MAX_CARD_DE = 3.0


def _correct_both(b0, a0, card_corners, card_model: str):
    """Find the card in both photos and correct each photo with it. Returns ``(b_corr, rep_b,
    a_corr, rep_a, card_px)``, ``card_px`` the card's pixels in either photo."""
    corners_b, corners_a = card_corners
    det_b = cc.detect_colorchecker(b0, corners_xy=corners_b)
    det_a = cc.detect_colorchecker(a0, corners_xy=corners_a)
    missing = [name for name, d in (("before", det_b), ("after", det_a)) if d is None]
    if missing:
        err = LightingError(
            f"no 24-patch colour card found in the {' and '.join(missing)} photo; photograph "
            "the card beside the face (or give its corners), or use the reference method "
            "(--lighting reference)",
            check="colour_card",
        )
        err.photos = tuple(missing)  # which photos: the caller names their files
        raise err
    b_corr, rep_b, _ = cc.correct_with_card(b0, detection=det_b, model=card_model)
    a_corr, rep_a, _ = cc.correct_with_card(a0, detection=det_a, model=card_model)
    card_px = det_b.mask(b0.shape) | det_a.mask(a0.shape)
    return b_corr, rep_b, a_corr, rep_a, card_px


def _relative_shading(b_corr, a_corr, usable, degree: int):
    """Remove the relative shading of the card-corrected after photo, keeping its exposure.

    Returns ``(a_out, field, info, use)`` (``use``: the unclipped reference pixels, a mask), or
    ``None`` when too few reference pixels are left."""
    uy, ux = usable
    keep = unclipped(b_corr[uy, ux]) & unclipped(a_corr[uy, ux])
    use = coords_mask((uy[keep], ux[keep]), b_corr.shape)
    ys, xs = sample_pixels(use, N_FIT)
    if len(xs) < MIN_REFERENCE_PX:
        return None
    lb = srgb_to_linear(b_corr[ys, xs]).astype(np.float64)
    la = srgb_to_linear(a_corr[ys, xs]).astype(np.float64)
    coef = fit_relative_shading(xs, ys, b_corr.shape, lb, la, degree, gamma_term=False)
    sv = shading_values(coef, degree, xs, ys, b_corr.shape)
    gm = float(np.exp(np.mean(np.log(sv))))
    field = eval_surface(coef, degree, b_corr.shape) / np.float32(gm)
    a_out = linear_to_srgb(srgb_to_linear(a_corr) / field[..., None])
    info = {"relative": field_summary(coef, degree, xs, ys, b_corr.shape)}
    info["relative"]["geometric_mean_removed"] = gm
    return a_out, field, info, use


def method_card(
    before,
    after,
    *,
    reference_mask,
    valid_mask,
    shading,
    model,
    card_corners=(None, None),
    card_model="affine",
    shading_degree=2,
    absolute_shading_degree=0,
    shading_mask=None,
    **_,
):
    """The ``"card"`` method (see the module docstring). Returns ``(before, after, parts)`` for
    :func:`~.normalize.normalize_lighting`."""
    if model != "auto" and model not in MODELS:
        raise UsageError(f"unknown model {model!r}; valid: auto, {', '.join(MODELS)}")
    b0 = np.clip(np.nan_to_num(np.asarray(before, np.float32)), 0, 1)
    a0 = np.clip(np.nan_to_num(np.asarray(after, np.float32)), 0, 1)
    b_corr, rep_b, a_corr, rep_a, card_px = _correct_both(b0, a0, card_corners, card_model)
    b, a, usable, ref_name, n = prepare_pair(b0, a0, reference_mask, valid_mask, exclude=card_px)
    ry, rx = sample_pixels(usable, N_REPORT, seed=2)
    de_before = residual_report(b[ry, rx], a[ry, rx])
    warnings = []
    shading_info = rel_field = abs_field = None
    b_out, a_out = b_corr, a_corr
    if shading:
        rel = _relative_shading(b_corr, a_corr, usable, shading_degree)
        if rel is None:
            warnings.append("too few reference pixels to estimate shading: not corrected")
        else:
            a_out, rel_field, shading_info, use = rel
            if absolute_shading_degree > 0:
                mask = use if shading_mask is None else (np.asarray(shading_mask, bool) & use)
                b_out, a_out, abs_field = remove_common_shading(
                    b_out, a_out, mask, absolute_shading_degree, shading_info
                )
    de_after = residual_report(b_out[ry, rx], a_out[ry, rx])
    for name, rep in (("before", rep_b), ("after", rep_a)):
        if rep["delta_e_after"]["mean"] > MAX_CARD_DE:
            warnings.append(
                f"colour card in the {name} photo corrected to a mean CIEDE2000 of "
                f"{rep['delta_e_after']['mean']:.2f} (> {MAX_CARD_DE}): check glare, clipping, "
                "card age"
            )
    m_a = rep_a.pop("matrix")
    return (
        b_out,
        a_out,
        {
            "model": f"card:{card_model}",
            "reference": ref_name + " (card excluded)",
            "n": n,
            "de_before": de_before,
            "de_after": de_after,
            "params": {"before": rep_b.pop("matrix"), "after": m_a},
            "shading": shading_info,
            "card": {"before": rep_b, "after": rep_a},
            "warnings": warnings,
            "apply_after": partial(_apply_card, m_a),
            "relative_field": rel_field,
            "absolute_field": abs_field,
        },
    )


def _apply_card(matrix, rgb: np.ndarray, rel: np.ndarray | None) -> np.ndarray:
    """The after photo's card correction (and relative shading) applied to ``rgb``."""
    m = np.asarray(matrix, np.float32)
    lin = srgb_to_linear(rgb) @ m[:, :3].T + m[:, 3]
    if rel is not None:
        lin = lin / rel[..., None]
    return linear_to_srgb(lin)
