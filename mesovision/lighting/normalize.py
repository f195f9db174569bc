"""The public entry of lighting normalization: :func:`normalize_lighting` and its methods.

Methods (:data:`METHODS`, chosen by name): ``"reference"`` maps the after photo onto the before
photo by a colour model fitted on reference pixels (:mod:`.method_reference`); ``"card"`` maps
each photo to a ColorChecker's published colours (:mod:`.method_card`); ``"none"`` returns the
photos as given, with the same report. Each method returns the two photos and the parts of the
report; :func:`normalize_lighting` checks the names, adds the residual warning and assembles the
:class:`~.result.LightingResult`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np

from ..errors import UsageError
from .method_card import method_card
from .method_reference import method_reference
from .models import MODELS
from .pixels import N_REPORT, prepare_pair, residual_report, sample_pixels
from .result import LightingReport, LightingResult

__all__ = ["DEFAULT_MAX_RESIDUAL_DE", "METHODS", "method_none", "normalize_lighting"]

log = logging.getLogger(__name__)

#: Median CIEDE2000 on the reference pixels above which the report carries a warning.
DEFAULT_MAX_RESIDUAL_DE = 3.0


def method_none(before, after, *, reference_mask, valid_mask, shading, model, **_):
    """The ``"none"`` method: the photos as given (cleaned), and their difference."""
    b, a, usable, ref_name, n = prepare_pair(before, after, reference_mask, valid_mask)
    ys, xs = sample_pixels(usable, N_REPORT, seed=2)
    de = residual_report(b[ys, xs], a[ys, xs])
    return (
        b,
        a,
        {
            "model": None,
            "reference": ref_name,
            "n": n,
            "de_before": de,
            "de_after": de,
            "params": {},
            "shading": None,
            "card": None,
            "warnings": [],
        },
    )


#: Normalization methods by name (see the module docstring).
METHODS: dict[str, Callable] = {
    "card": method_card,
    "reference": method_reference,
    "none": method_none,
}


def normalize_lighting(
    before: np.ndarray,
    after: np.ndarray,
    *,
    method: str = "reference",
    reference_mask: np.ndarray | None = None,
    valid_mask: np.ndarray | None = None,
    shading: bool = True,
    model: str = "auto",
    max_residual_de: float = DEFAULT_MAX_RESIDUAL_DE,
    shading_degree: int = 2,
    absolute_shading_degree: int = 0,
    shading_mask: np.ndarray | None = None,
    card_corners: tuple[np.ndarray | None, np.ndarray | None] = (None, None),
    card_model: str = "affine",
    auto_models: tuple[str, ...] | None = None,
) -> LightingResult:
    """Bring two aligned photos to the same lighting, without erasing the treatment effect.

    ``method="reference"`` (default) maps the after photo onto the before photo: relative shading
    (``shading``, a polynomial of ``shading_degree`` in image coordinates) and a colour model in
    linear light (``model``: one of :data:`~.models.MODELS` or ``"auto"``), fitted robustly on the
    reference pixels, then optionally the shading common to both photos
    (``absolute_shading_degree > 0``, estimated over ``shading_mask``); the steps are in
    :mod:`mesovision.lighting.method_reference`. ``method="card"`` maps each photo to the
    ColorChecker reference (``card_model`` ``"affine"`` or ``"matrix"``), then removes the
    relative shading (:mod:`mesovision.lighting.method_card`). ``method="none"`` returns the photos
    as given.

    Parameters
    ----------
    before, after : (H, W, 3) float32 sRGB in [0, 1]
        The after photo already warped onto the before photo (same shape).
    reference_mask : (H, W) bool, optional
        Pixels the treatment does not change (:func:`~.masks.reference_mask`). Without it every
        valid pixel is used (robustly) and the report warns.
    valid_mask : (H, W) bool, optional, pixels valid in both photos (after warping).
    max_residual_de : float
        Warn when the median CIEDE2000 on the reference pixels after normalization exceeds it.
    auto_models : names of :data:`~.models.MODELS`, optional
        What ``"auto"`` chooses among (default all; :data:`~.models.ONE_HUE_MODELS` for skin).
    card_corners : (corners_before, corners_after)
        Card corners ``(4, 2)`` (top-left next to dark skin, clockwise) for photos where
        ``cv2.mcc`` does not find the card; ``None`` to detect.

    Returns
    -------
    LightingResult

    Raises
    ------
    UsageError
        Unknown method or model name (the message lists the valid ones), shapes that differ.
    LightingError
        Too few usable reference pixels (:data:`~.pixels.MIN_REFERENCE_PX`); no card found.
    """
    _check_names(method, model, auto_models)
    b_out, a_out, r = METHODS[method](
        before,
        after,
        reference_mask=reference_mask,
        valid_mask=valid_mask,
        shading=shading,
        model=model,
        shading_degree=shading_degree,
        absolute_shading_degree=absolute_shading_degree,
        shading_mask=shading_mask,
        card_corners=card_corners,
        card_model=card_model,
        auto_models=auto_models,
    )
    return LightingResult(
        before=b_out,
        after=a_out,
        report=_report(method, r, max_residual_de),
        apply_after=r.get("apply_after"),
        relative_field=r.get("relative_field"),
        absolute_field=r.get("absolute_field"),
        source_after=r.get("source_after"),
    )


def _check_names(method: str, model: str, auto_models) -> None:
    """A :class:`UsageError` naming the valid ones for an unknown method or model name."""
    if method not in METHODS:
        raise UsageError(f"unknown lighting method {method!r}; valid: {', '.join(METHODS)}")
    for name in (model, *(auto_models or ())):
        if name != "auto" and name not in MODELS:
            raise UsageError(f"unknown lighting model {name!r}; valid: auto, {', '.join(MODELS)}")


def _report(method: str, r: dict, max_residual_de: float) -> LightingReport:
    """The report of a method's parts, with a warning when the residual exceeds the limit
    (every warning is also logged)."""
    warnings = list(r["warnings"])
    med = r["de_after"]["median"]
    if np.isfinite(med) and med > max_residual_de:
        warnings.append(
            f"median CIEDE2000 on the reference pixels after normalization is {med:.2f}, above "
            f"the limit {max_residual_de:.2f}: colour differences between the photos may be "
            "lighting, not skin"
        )
    for w in warnings:
        log.warning("lighting (%s): %s", method, w)
    return LightingReport(
        method=method,
        model=r["model"],
        reference=r["reference"],
        n_reference_px=int(r["n"]),
        delta_e_before=r["de_before"],
        delta_e_after=r["de_after"],
        params=r["params"],
        shading=r["shading"],
        card=r["card"],
        warnings=tuple(warnings),
    )
