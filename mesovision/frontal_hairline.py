"""The frontal hairline of a scalp-mode pair: both photos measured, the change recorded.

In the ``scalp`` mode each photo is searched for a face (:func:`mesovision.landmarks.
detect_landmarks`; a photo without one is not an error here: a crown view has none). Where both
photos show one, the hairline is measured in each photo's own frame against its own pupils
(:func:`mesovision.hairline.measure_hairline`), so that the alignment does not enter, and the
change at each site is tested (:func:`mesovision.hairline.hairline_changes`). Where one photo
shows the hairline and the other at no site (a retake framed too close), the record's ``note``
says which, as a warning too. In mm, a scale
converts the heights: ``--ipd-mm`` (mm per % IOD = IPD / 100, the pupils' distance being the
unit) or the before photo's px per mm (the after photo's from it and the alignment's scale).

:func:`add_hairline` puts the record into ``pair.settings["hairline"]``, which ``result.json``
carries as ``hairline`` (:func:`mesovision.record.comparison_record`); without a face in a
photo every site is NaN and the record's ``note`` says so (a note, not a warning: a crown or
part-line view shows no face). A photo that a face fills (:func:`mesovision.align.face_fill`)
but whose hairline is found at no site is a portrait, not a frontal-hairline view: a warning
says so (``result.json`` ``alignment.warnings``).
"""

from __future__ import annotations

import logging
import math
from dataclasses import replace

import numpy as np

from .hairline import hairline_changes, measure_hairline
from .pipeline import AlignedPair

__all__ = ["NO_FACE_NOTE", "NO_HAIRLINE_NOTE", "add_hairline"]

log = logging.getLogger(__name__)

#: The note of a scalp-mode pair where a photo shows no face.
NO_FACE_NOTE = "no face found: the frontal hairline is not measured (NaN)"

#: The note of a frontal-hairline pair where one photo shows the hairline at no site.
NO_HAIRLINE_NOTE = "no hairline found at any site: the frontal hairline is not measured (NaN)"


def _landmarks(rgb: np.ndarray, name: str):
    """``(rgb, landmarks)``: the photo turned upright when its face lies sideways
    (:func:`mesovision.landmarks.detect_landmarks_upright`; the heights are in IOD, whatever
    the frame), and its face mesh; ``(rgb, None)`` without a face."""
    from .errors import MesovisionError
    from .landmarks import detect_landmarks_upright

    try:
        _, turned, lm = detect_landmarks_upright(rgb, path=name)
    except MesovisionError:
        return rgb, None
    return turned, lm


def add_hairline(
    pair: AlignedPair, *, px_per_mm_working: float | None = None, ipd_mm: float | None = None
) -> AlignedPair:
    """``pair`` with its frontal-hairline record in ``settings["hairline"]`` (scalp mode; other
    modes: ``pair`` unchanged).

    ``px_per_mm_working``: the before photo's working copy's scale; ``ipd_mm``: the patient's
    interpupillary distance (either gives the heights in mm).
    """
    if pair.settings.get("mode") != "scalp":
        return pair
    names = (pair.before.path or "before", pair.after.path or "after")
    rgb_b, lb = _landmarks(pair.before.rgb, names[0])
    rgb_a, la = _landmarks(pair.after.rgb, names[1])
    hb = measure_hairline(rgb_b, lb)
    ha = measure_hairline(rgb_a, la)
    mm = (None, None)
    if ipd_mm is not None:
        mm = (ipd_mm / 100.0, ipd_mm / 100.0)
    elif px_per_mm_working is not None:
        s = float(np.sqrt(abs(np.linalg.det(pair.alignment.matrix[:2, :2]))))
        ppm_a = px_per_mm_working / s  # after px per mm: 1 after px is s before px
        mm = tuple(
            None if not math.isfinite(h.iod_px) else h.iod_px / 100.0 / ppm
            for h, ppm in ((hb, px_per_mm_working), (ha, ppm_a))
        )
    record = {
        "before": hb.as_dict(),
        "after": ha.as_dict(),
        "changes": hairline_changes(hb, ha, mm_per_iod_pct=mm),
        "mm_source": "ipd" if ipd_mm is not None else ("scale" if mm[0] is not None else None),
        "note": None,
    }
    found = [any(math.isfinite(v) for v in h.sites.values()) for h in (hb, ha)]
    if lb is None or la is None:  # a note, not a warning: a crown view shows no face
        which = names[0] if lb is None else names[1]
        record["note"] = f"{which}: {NO_FACE_NOTE}"
        log.info("%s", record["note"])
    elif found[0] != found[1]:  # one photo shows the hairline, the other does not
        which, other = (names[1], names[0]) if found[0] else (names[0], names[1])
        record["note"] = f"{which}: {NO_HAIRLINE_NOTE} (retake showing it, as {other} does)"
        log.warning("%s", record["note"])
    warnings = pair.warnings
    if record["note"] and lb is not None and la is not None:
        warnings = (*warnings, record["note"])
    photos = ((rgb_b, lb, hb), (rgb_a, la, ha))
    bare = None if any(found) else _no_hairline_warning(photos, names)
    if bare:
        log.warning("%s", bare)
        warnings = (*warnings, bare)
    return replace(pair, settings={**pair.settings, "hairline": record}, warnings=warnings)


def _no_hairline_warning(photos, names) -> str | None:
    """The warning about the photos a face fills (:func:`mesovision.align.face_fill_warning`)
    whose hairline was found at no site: a portrait, not a frontal-hairline view (a face with
    the hair above it), measured as scalp. ``photos``: ``(rgb, landmarks, Hairline)``."""
    from .align import face_fill_warning

    bare = [
        (rgb, lm, name)
        for (rgb, lm, h), name in zip(photos, names, strict=True)
        if lm is not None and not any(math.isfinite(v) for v in h.sites.values())
    ]
    return face_fill_warning(
        [(rgb, name) for rgb, _, name in bare],
        "scalp",
        landmarks=[lm for _, lm, _ in bare],
        no_hairline=True,
    )
