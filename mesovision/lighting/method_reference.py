"""The ``"reference"`` method: the after photo mapped onto the before photo's lighting.

1. Reference pixels: ``reference_mask & valid_mask``, minus pixels clipped in either photo (any
   channel outside [0.02, 0.98]); up to 20 000 of them are sampled for fitting (:mod:`.pixels`).
2. Relative shading (``shading=True``): in linear light, the log luminance ratio is fitted
   robustly by ``log Y_a = c0 + c1 log Y_b + P(u, v)``, ``P`` a 2-D polynomial of degree
   ``shading_degree`` without constant term in image coordinates ``u, v`` in [-1, 1] (``c1``
   absorbs a tone-curve change so that it is not mistaken for shading). The after photo is divided
   by ``exp(P)``. This is the same polynomial method applied to both photos (the fit of a
   difference of logs is the difference of the two photos' own fits); the face's relief shading,
   common to both, cancels in the ratio and is kept.
3. Colour model (after -> before, linear light, robust: 3-MAD rejection, 4 rounds), one of
   :data:`~.models.MODELS`: ``gain`` ``y_c = g_c x_c``; ``gain_offset`` ``y_c = g_c x_c + o_c``;
   ``curve`` ``y_c = k_c x_c^{p_c}`` (a smooth tone curve per channel); ``matrix`` ``y = M x``
   (3 x 3). ``model="auto"`` fits all four (or the ``auto_models`` named, e.g.
   :data:`~.models.ONE_HUE_MODELS`) on a random half of the samples and picks the simplest (in
   that order) whose held-out trimmed-mean CIEDE2000 is within ``max(0.1, 5 %)`` of the best.
   Shading and model are then refined alternately (2 rounds).
4. Optional common shading (``absolute_shading_degree > 0``): the before photo's shading
   (:func:`~.shading.estimate_shading` of that degree over ``shading_mask``, default the reference
   pixels) divides *both* photos. Degree 1 removes a left-right / top-bottom gradient shared by
   both photos (a lamp on one side in both sessions); it also removes any true one-sided
   difference of skin brightness and the antisymmetric part of the relief shading under an
   off-axis lamp. Off by default: a gradient common to both photos does not bias a before / after
   difference.

The corrected after photo is made on demand: a comparison scores the after photo in its own frame
and needs only the report's samples here.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from ..color import srgb_to_linear
from .fit import eval_surface
from .models import AUTO_TOL_ABS, AUTO_TOL_REL, apply_full, apply_model, fit_model, select_model
from .pixels import N_FIT, N_REPORT, coords_mask, prepare_pair, residual_report, sample_pixels
from .shading import (
    PLAUSIBLE_SHADING,
    field_summary,
    fit_relative_shading,
    remove_common_shading,
    shading_values,
)

__all__ = ["method_reference"]


def _fit(xs, ys, shape, lin_b, lin_a, *, shading: bool, model: str, degree: int, auto_models):
    """Relative shading and colour model fitted on the samples, alternately (2 rounds of refining
    the shading against the fitted model, then refitting the model).

    Returns ``(coef, chosen, params, inliers, scores)``: the shading coefficients (``None``
    without shading), the model's name and parameters, its inliers, and the "auto" scores
    (``None`` when the model was named)."""
    coef = None
    if shading:
        coef = fit_relative_shading(xs, ys, shape, lin_b, lin_a, degree, gamma_term=True)
        s_val = shading_values(coef, degree, xs, ys, shape)
    else:
        s_val = np.ones(len(xs))
    scores = None
    if model == "auto":
        chosen, scores = select_model(lin_a / s_val[:, None], lin_b, candidates=auto_models)
    else:
        chosen = model
    params, inl = fit_model(chosen, lin_a / s_val[:, None], lin_b)
    if shading:
        for _ in range(2):
            pred = apply_model(chosen, params, lin_a / s_val[:, None]).astype(np.float64)
            delta = fit_relative_shading(
                xs, ys, shape, lin_b, np.maximum(pred, 1e-6), degree, gamma_term=False
            )
            coef = coef + delta
            s_val = shading_values(coef, degree, xs, ys, shape)
            params, inl = fit_model(chosen, lin_a / s_val[:, None], lin_b)
    return coef, chosen, params, inl, scores


def _shading_info(coef, degree: int, xs, ys, shape, warnings: list[str]) -> dict:
    """The relative field's summary; a warning when its range is implausible."""
    info = {"relative": field_summary(coef, degree, xs, ys, shape)}
    lo, hi = info["relative"]["min"], info["relative"]["max"]
    if lo < PLAUSIBLE_SHADING[0] or hi > PLAUSIBLE_SHADING[1]:
        warnings.append(
            f"relative shading between the photos spans {lo:.2f}-{hi:.2f} over the reference "
            f"pixels (plausible: {PLAUSIBLE_SHADING[0]}-{PLAUSIBLE_SHADING[1]}): check the "
            "alignment and the reference regions"
        )
    return info


def _report_params(params: dict, inl: np.ndarray, n_fit: int, scores: dict | None) -> dict:
    """The fitted parameters as ``result.json`` records them (with the "auto" rule's scores of
    the models it chose among, when it chose)."""
    out = {k: np.asarray(v).round(6).tolist() for k, v in params.items()}
    out["inlier_fraction"] = float(inl.mean())
    out["n_fit_px"] = n_fit
    if scores is not None:
        out["auto_scores_de00"] = {k: round(v, 4) for k, v in scores.items()}
        out["auto_rule"] = (
            "simplest model whose held-out trimmed-mean CIEDE2000 is within "
            f"max({AUTO_TOL_ABS}, {AUTO_TOL_REL:.0%} of best) of the best"
        )
    return out


def method_reference(
    before,
    after,
    *,
    reference_mask,
    valid_mask,
    shading,
    model,
    shading_degree=2,
    absolute_shading_degree=0,
    shading_mask=None,
    auto_models=None,
    **_,
):
    """The ``"reference"`` method (see the module docstring). Returns ``(before, after, parts)``
    for :func:`~.normalize.normalize_lighting`; ``after`` is a function that makes the photo."""
    b, a, usable, ref_name, n = prepare_pair(before, after, reference_mask, valid_mask)
    warnings = []
    if ref_name == "all valid pixels":
        warnings.append(
            "no reference mask given: the model was fitted on all valid pixels (robustly); "
            "name the treated regions so that the treatment effect cannot be absorbed"
        )
    ys, xs = sample_pixels(usable, N_FIT)
    lin_b = srgb_to_linear(b[ys, xs]).astype(np.float64)
    lin_a = srgb_to_linear(a[ys, xs]).astype(np.float64)
    shape = b.shape
    coef, chosen, params, inl, scores = _fit(
        xs,
        ys,
        shape,
        lin_b,
        lin_a,
        shading=shading,
        model=model,
        degree=shading_degree,
        auto_models=auto_models,
    )
    field = eval_surface(coef, shading_degree, shape) if shading else None
    a_out = partial(apply_full, chosen, params, a, field)
    ry, rx = sample_pixels(usable, N_REPORT, seed=2)
    shading_info = _shading_info(coef, shading_degree, xs, ys, shape, warnings) if shading else None
    b_out = b
    abs_field = None
    de_before = residual_report(b[ry, rx], a[ry, rx])
    if shading and absolute_shading_degree > 0:
        mask = coords_mask(usable, shape)
        if shading_mask is not None:
            mask &= np.asarray(shading_mask, bool)
        b_out, a_out, abs_field = remove_common_shading(
            b_out, a_out(), mask, absolute_shading_degree, shading_info
        )
        de_after = residual_report(b_out[ry, rx], a_out[ry, rx])
    else:
        # The corrected after photo at the report's samples only (the same per-pixel formula).
        f = None if field is None else field[ry, rx][:, None]
        a_pix = apply_full(chosen, params, a[ry, rx][:, None, :], f)[:, 0, :]
        de_after = residual_report(b[ry, rx], a_pix)
    return (
        b_out,
        a_out,
        {
            "model": chosen,
            "reference": ref_name,
            "n": n,
            "de_before": de_before,
            "de_after": de_after,
            "params": _report_params(params, inl, len(xs), scores),
            "shading": shading_info,
            "card": None,
            "warnings": warnings,
            "apply_after": partial(apply_full, chosen, params),
            "relative_field": field,
            "absolute_field": abs_field,
            "source_after": a,
        },
    )
