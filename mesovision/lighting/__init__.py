"""Lighting normalization: make two photos taken under different light comparable.

Between sessions the lamp, the window, the phone's white balance and exposure all change; unless
this is undone, "redness went down 15 %" may only mean "the second photo was taken under warmer
light". The correction must never be estimated from skin that the treatment changed, or it cancels
the very effect being measured: every model here is fitted on *reference pixels* only (untreated
facial regions, a uniform background, a colour card; :func:`reference_mask`), with robust fitting
so that a local change left inside the reference (a bruise, a blush) does not move it.

Methods (:data:`METHODS`, chosen by name in :func:`normalize_lighting`): ``"reference"`` maps the
after photo onto the before photo by a global colour model fitted in linear light on the reference
pixels (:data:`MODELS`; "auto" among :data:`ONE_HUE_MODELS` for a reference of skin of one hue),
after removing the relative low-frequency shading between the two photos;
``"card"`` maps each photo to a ColorChecker's published sRGB values
(:mod:`mesovision.colorchecker`), so that the comparison is independent of the camera; ``"none"``
returns the photos as given, and the report still states how different they are.

Every result carries a :class:`LightingReport` with the CIEDE2000 between the two photos on the
reference pixels before and after normalization (median and 95th percentile), the model and its
parameters, and a warning when the remaining median difference is above ``max_residual_de``
(default :data:`DEFAULT_MAX_RESIDUAL_DE` = 3.0 CIEDE2000: about three just-noticeable differences,
the size of the smallest redness change we aim to report; above it, a colour score difference
between the photos may be lighting rather than skin).

Modules: :mod:`.normalize` (the entry and the method mapping), :mod:`.method_reference`,
:mod:`.method_card`, :mod:`.models` (colour models), :mod:`.shading` (shading fields),
:mod:`.fit` (robust least squares, polynomial surfaces), :mod:`.pixels` (a pair's reference
pixels), :mod:`.masks` (reference and background masks), :mod:`.result` (result and report),
:mod:`.transfer` (the correction carried to another frame). sRGB decoding and encoding are
:func:`mesovision.color.srgb_to_linear` and :func:`mesovision.color.linear_to_srgb`
(``to_linear`` and ``to_srgb`` here are the same functions).
"""

from __future__ import annotations

from ..color import linear_to_srgb as to_srgb
from ..color import srgb_to_linear as to_linear
from ..regions import REGION_NAMES
from .masks import detect_background, reference_mask
from .models import MODELS, ONE_HUE_MODELS
from .normalize import DEFAULT_MAX_RESIDUAL_DE, METHODS, normalize_lighting
from .pixels import MIN_REFERENCE_PX
from .result import LightingReport, LightingResult
from .shading import estimate_shading
from .transfer import correct_image, correct_in_own_frame

__all__ = [
    "METHODS",
    "MODELS",
    "ONE_HUE_MODELS",
    "REGION_NAMES",
    "DEFAULT_MAX_RESIDUAL_DE",
    "MIN_REFERENCE_PX",
    "LightingReport",
    "LightingResult",
    "normalize_lighting",
    "reference_mask",
    "detect_background",
    "estimate_shading",
    "correct_image",
    "correct_in_own_frame",
    "to_linear",
    "to_srgb",
]
