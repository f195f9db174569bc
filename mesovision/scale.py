"""The scale of a comparison: where the before photo's pixels per mm come from.

A scale turns the per-pixel metrics into mm, mm² and per cm². It comes, in this order, from
the before file's ``px_per_mm`` (``--px-per-mm``, source ``"option"``), from the patient's
interpupillary distance in face mode (``--ipd-mm``: the before photo's interocular distance in
pixels over it, source ``"ipd"``), or, in the hair modes, from a ruler in the before photo
(:func:`mesovision.ruler.find_ruler`, source ``"ruler"``). In the hair modes a ruler is looked
for whatever the options: its pixels, in the before photo and (mapped through the alignment) in
the after photo, are taken out of the measured area, so that its ticks are not counted as hairs,
and a ruler that disagrees with ``--px-per-mm`` by more than ``RULER_AGREEMENT`` gives a
warning. Without any of them the scale is ``None`` (source
``null``) and the metrics that need one are NaN; in the trichoscopy mode that comes with a
warning.

:func:`resolve_scale` returns the scale (:class:`Scale`, as ``result.json`` records it under
``scale``) and the pair to compare (the same pair, or one with the ruler taken out of its
measured area and the warning added).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

import cv2
import numpy as np

from .pipeline import HAIR_MODES, AlignedPair

__all__ = [
    "IPD_RANGE_MM",
    "NO_SCALE_WARNING",
    "PX_PER_MM_RANGE",
    "RULER_AGREEMENT",
    "Scale",
    "check_ipd_mm",
    "check_px_per_mm",
    "implausible_scale",
    "resolve_scale",
]

#: The scales (px per mm) a photo can have: a whole body in a small photo at 0.01 to a
#: dermoscope's close-up at 10000. A scale given outside (a typo, ``0``, ``inf``) is a usage
#: error before any photo is read.
PX_PER_MM_RANGE = (0.01, 10_000.0)


#: The interpupillary distances (mm) a patient can have (``--ipd-mm``; adults about 54-74).
IPD_RANGE_MM = (40.0, 80.0)


def check_ipd_mm(value: float, name: str = "ipd_mm") -> None:
    """A :class:`~mesovision.errors.UsageError` naming ``name`` when ``value`` lies outside
    :data:`IPD_RANGE_MM` (or is not a number)."""
    from .errors import UsageError

    lo, hi = IPD_RANGE_MM
    if not lo <= value <= hi:  # (NaN fails too)
        raise UsageError(
            f"{name} {value:g} is not a plausible interpupillary distance ({lo:g}-{hi:g} mm)"
        )


def implausible_scale(name: str, value) -> str:
    """The message of a scale ``value`` (as given) outside :data:`PX_PER_MM_RANGE`."""
    lo, hi = PX_PER_MM_RANGE
    return f"{name} {value} is not a plausible scale ({lo:g}-{hi:g} px per mm)"


def check_px_per_mm(value: float, name: str = "px_per_mm") -> None:
    """A :class:`~mesovision.errors.UsageError` naming ``name`` when ``value`` lies outside
    :data:`PX_PER_MM_RANGE` (or is not a number)."""
    from .errors import UsageError

    lo, hi = PX_PER_MM_RANGE
    if not lo <= value <= hi:  # (NaN fails too)
        raise UsageError(implausible_scale(name, value))


log = logging.getLogger(__name__)

#: A ruler and ``--px-per-mm`` that differ by more than this share give a warning.
RULER_AGREEMENT = 0.02
#: The warning of a trichoscopy comparison without a scale.
NO_SCALE_WARNING = (
    "no scale: no --px-per-mm and no ruler found in the before photo; the metrics in mm, "
    "um and per cm2 are NaN, the per-pixel ones remain"
)


@dataclass(frozen=True)
class Scale:
    """A comparison's scale: ``px_per_mm`` of the before FILE (``None`` without a scale),
    ``px_per_mm_working`` of its working copy (what the metrics use), ``source`` (``"option"``,
    ``"ipd"``, ``"ruler"`` or ``None``) and, for a ruler, what was found
    (:meth:`mesovision.ruler.RulerScale.as_dict`)."""

    px_per_mm: float | None
    px_per_mm_working: float | None
    source: str | None
    ruler: dict | None = None

    def as_dict(self) -> dict:
        """The ``result.json`` ``scale`` record."""
        return {
            "px_per_mm": self.px_per_mm,
            "px_per_mm_working": self.px_per_mm_working,
            "source": self.source,
            "ruler": self.ruler,
        }


def resolve_scale(
    pair: AlignedPair,
    *,
    px_per_mm: float | None = None,
    ipd_mm: float | None = None,
    find_ruler: bool = True,
) -> tuple[Scale, AlignedPair]:
    """The scale of ``pair`` and the pair to compare (module docstring).

    Parameters
    ----------
    pair : AlignedPair
        The aligned photos; ``pair.settings["mode"]`` decides whether a ruler is looked for.
    px_per_mm : float, optional
        The before file's pixels per mm.
    ipd_mm : float, optional
        The patient's interpupillary distance (face mode).
    find_ruler : bool, optional
        In the hair modes, look for a ruler (its scale is used when neither option is given).

    Returns
    -------
    (Scale, AlignedPair)
        The scale, and a copy of ``pair`` whose ``settings["scale"]`` is the scale's record;
        when a ruler was found its measured area and ``area`` region leave the ruler out; it
        carries the warnings (no scale in the trichoscopy mode, a ruler against the option).
    """
    scale, pair = _resolve(pair, px_per_mm, ipd_mm, find_ruler)
    return scale, replace(pair, settings={**pair.settings, "scale": scale.as_dict()})


def _resolve(pair, px_per_mm, ipd_mm, find_ruler) -> tuple[Scale, AlignedPair]:
    """:func:`resolve_scale` before the scale's record goes into the settings."""
    k = pair.before.scale  # working px per file px
    mode = pair.settings.get("mode", "face")
    ruler, record = None, None
    if find_ruler and mode in HAIR_MODES:
        from .ruler import find_ruler as find

        ruler = find(pair.before.rgb)
        if ruler is not None:
            record = ruler.as_dict()
            record["px_per_mm"] = ruler.px_per_mm / k  # of the file, as px_per_mm is given
            pair = _without(pair, ruler.mask | _after_ruler(pair, find))
    name = pair.before.path or "before"
    if px_per_mm is not None:
        if record is not None and abs(record["px_per_mm"] / px_per_mm - 1.0) > RULER_AGREEMENT:
            pair = _warn(
                pair,
                f"{name}: the ruler in the photo reads {record['px_per_mm']:.3g} px/mm, "
                f"--px-per-mm gives {px_per_mm:.3g}; the option is used",
            )
        return Scale(px_per_mm, px_per_mm * k, "option", record), pair
    if ipd_mm is not None and pair.before_landmarks is not None:
        ppm = pair.before_landmarks.interocular_px / ipd_mm
        return Scale(ppm / k, ppm, "ipd"), pair
    if ruler is not None:
        return Scale(ruler.px_per_mm / k, ruler.px_per_mm, "ruler", record), pair
    if mode == "trichoscopy":
        pair = _warn(pair, f"{name}: {NO_SCALE_WARNING}")
    return Scale(None, None, None), pair


def _warn(pair: AlignedPair, message: str) -> AlignedPair:
    """``pair`` with one more warning (also logged)."""
    log.warning("%s", message)
    return replace(pair, warnings=(*pair.warnings, message))


def _after_ruler(pair: AlignedPair, find) -> np.ndarray:
    """The after photo's ruler (if it has one) in the before frame; nothing otherwise."""
    shape = pair.before.rgb.shape[:2]
    ruler = find(pair.after.rgb)
    if ruler is None:
        return np.zeros(shape, bool)
    warped = cv2.warpPerspective(  # the alignment maps after pixels to before pixels
        ruler.mask.astype(np.uint8),
        pair.alignment.matrix,
        (shape[1], shape[0]),
        flags=cv2.INTER_NEAREST,
    )
    return warped.astype(bool)


def _without(pair: AlignedPair, ruler: np.ndarray) -> AlignedPair:
    """``pair`` with ``ruler`` taken out of its measured area and its ``area`` region."""
    measured = pair.measured & ~ruler
    regions = dict(pair.regions)
    if "area" in regions:
        regions["area"] = regions["area"] & ~ruler
    return replace(pair, measured=measured, regions=regions)
