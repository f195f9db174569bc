"""Capture checks of body photos (thigh, buttock, abdomen, arm): the raking light and the framing.

Cellulite dimples show only as the shading a raking lamp gives them, so a body photo is
comparable with its baseline only under the lamp's same direction; and only on the same area.

* **Light**: the lamp's azimuth in each photo (:func:`mesovision.metrics.body.light_of`: the
  shading's structure at the dimple scale, the side chosen so that dimples are pits), measured
  on a copy of the photo resampled to ``LIGHT_SIDE_PX`` on its long side, as if that side were
  ``FALLBACK_SIDE_MM`` long (the dimple scale of a thigh photo). ``light_vs_baseline``
  (:func:`body_baseline_checks`, at capture time without alignment: a turned camera adds its
  own turn to the light's) and ``light_after_alignment`` (:func:`body_pair_checks`, the after
  photo's azimuth carried into the before photo's frame) warn when the lamp turned by more than
  :data:`~mesovision.checks.thresholds.MAX_LIGHT_TURN_DEG`, the limit beyond which the
  ``body_texture`` verdict is not comparable (:mod:`mesovision.comparability`).
* **Framing** (:func:`body_pair_checks`, after alignment): ``framing_overlap``, the share of the
  before photo's measured area that the after photo covers, and ``framing_scale``, the after
  photo's scale over the before photo's (the square root of the alignment's determinant,
  folded to at least 1).

Each check is a dict as the face checks' (:mod:`mesovision.checks.evaluate`), named in
:data:`~mesovision.checks.thresholds.BODY_CHECKS`; they warn (the photo can still be measured,
with the ``body_texture`` family limited or not comparable).

In a comparison (``mesovision compare``, :func:`mesovision.compare`, a batch, a stored course)
:func:`add_body_checks` runs :func:`body_pair_checks` once on the aligned pair, taking the
overlap and the lamp's azimuths from the comparison's measured mismatch (the measures of the
``body_texture`` verdict, not measured twice), and ``result.json`` records them as
``body_checks``.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from ..align import MIN_FACE_FILL
from .thresholds import (
    BODY_CHECKS,
    MAX_FRAMING_SCALE,
    MAX_LIGHT_TURN_DEG,
    MIN_FRAMING_OVERLAP,
    shown,
)

__all__ = [
    "FALLBACK_SIDE_MM",
    "LIGHT_SIDE_PX",
    "add_body_checks",
    "body_baseline_checks",
    "body_pair_checks",
    "body_photo_checks",
    "light_features",
]

#: Long side (px) of the copy the light is measured on, and the length (mm) it is taken for.
LIGHT_SIDE_PX = 512
FALLBACK_SIDE_MM = 130.0


def _check(name: str, ok: bool, value, message: str) -> dict:
    thr, unit, _ = BODY_CHECKS[name]
    return {
        "name": name,
        "ok": bool(ok),
        "severity": "warn",
        "value": value,
        "threshold": thr,
        "unit": unit,
        "message": "ok" if ok else message,
    }


def light_features(rgb: np.ndarray, mask: np.ndarray | None = None) -> dict:
    """``{"light_azimuth_deg", "light_coherence"}`` of a body photo (module docstring); the
    azimuth is ``None`` when the shading has no dominant direction."""
    from ..metrics.body import light_of

    h, w = rgb.shape[:2]
    k = min(1.0, LIGHT_SIDE_PX / max(h, w))
    small = cv2.resize(
        np.ascontiguousarray(rgb, np.float32),
        (max(1, round(w * k)), max(1, round(h * k))),
        interpolation=cv2.INTER_AREA,
    )
    m = np.ones(small.shape[:2], bool)
    if mask is not None:
        m = cv2.resize(mask.astype(np.uint8), (small.shape[1], small.shape[0])) > 0
    est = light_of(small, m, max(small.shape[:2]) / FALLBACK_SIDE_MM)
    return {"light_azimuth_deg": est.azimuth_deg, "light_coherence": est.coherence}


def _turn(before_deg: float | None, after_deg: float | None) -> float | None:
    from ..relief import angle_between_deg

    if before_deg is None or after_deg is None:
        return None
    return abs(angle_between_deg(before_deg, after_deg))


def _light_check(name: str, before_deg, after_deg) -> dict:
    """The lamp's turn since the baseline. At capture time (``light_vs_baseline``, no
    alignment) the azimuths are in each photo's own frame, so a camera turned by the same angle
    reads as the same turn of the lamp: the message names both causes. After alignment
    (``light_after_alignment``) the camera's turn is undone: only the lamp moved."""
    from ..relief import side_name

    turn = _turn(before_deg, after_deg)
    ok = turn is None or turn <= MAX_LIGHT_TURN_DEG
    msg = ""
    if not ok:
        msg = (
            f"the raking light comes from the {side_name(after_deg)}, "
            f"{shown(turn, MAX_LIGHT_TURN_DEG)}° away from the baseline's ({side_name(before_deg)})"
        )
        if name == "light_vs_baseline":
            msg += (
                " (or the camera was turned): put the lamp and the camera where they were for "
                "the baseline"
            )
        else:
            msg += ": put the lamp where it was for the baseline"
    return _check(name, ok, None if turn is None else round(turn, 1), msg)


def body_photo_checks(f) -> list[dict]:
    """The body checks of one photo's features ``f`` alone (:class:`~mesovision.checks.
    CaptureFeatures` of a ``body:<area>`` view): ``no_face``, a face that fills the photo (a
    portrait filed as a body view, which body mode would measure as body skin); none for
    features stored without the measure."""
    fill = f.face_fill
    if fill is None:
        return []
    msg = (
        f"a face fills the photo (its size is {shown(fill, MIN_FACE_FILL, 2)} of the photo's; "
        f"under {MIN_FACE_FILL:g} expected): a body view measures body skin (thigh, buttock, "
        "abdomen, arm); take the face views with --view front, left-45 or right-45"
    )
    return [_check("no_face", fill < MIN_FACE_FILL, round(fill, 3), msg)]


def body_baseline_checks(f, baseline) -> list[dict]:
    """The body checks of one photo's features ``f`` against the baseline's (capture time,
    :class:`~mesovision.checks.CaptureFeatures` with a light azimuth)."""
    return [_light_check("light_vs_baseline", baseline.light_azimuth_deg, f.light_azimuth_deg)]


def body_pair_checks(pair, *, mismatch=None) -> list[dict]:
    """The body checks of an aligned pair (:class:`mesovision.pipeline.AlignedPair` in body
    mode): the framing (overlap and scale) and the light with the camera's turn undone.

    ``mismatch``: the pair's :class:`~mesovision.comparability.Mismatch` when the pair has been
    compared (body mode): its ``overlap`` and lamp azimuths (measured on the scoring copies at
    the comparison's scale, the after photo's carried into the before photo's frame) are the
    measures of the ``body_texture`` verdict, and are taken from it rather than measured again;
    without it they are measured here (:func:`light_features`)."""
    m = np.asarray(pair.alignment.matrix, np.float64)
    s = math.sqrt(abs(np.linalg.det(m[:2, :2])))
    scale = max(s, 1.0 / s) if s > 0 else math.inf
    if mismatch is not None and mismatch.overlap is not None:
        overlap = mismatch.overlap
        lb, la = mismatch.light_before_deg, mismatch.light_after_deg
    else:
        measured = int(pair.measured.sum())
        overlap = float((pair.measured & pair.valid).sum() / measured) if measured else 0.0
        lb = light_features(pair.before.rgb, pair.measured)["light_azimuth_deg"]
        la = light_features(pair.after.rgb)["light_azimuth_deg"]
        if la is not None:  # into the before photo's frame (image axes: y down)
            t = math.radians(la)
            v = m[:2, :2] @ np.array([math.cos(t), -math.sin(t)])
            la = math.degrees(math.atan2(-v[1], v[0])) % 360.0
    return [
        _check(
            "framing_overlap",
            overlap >= MIN_FRAMING_OVERLAP,
            round(overlap, 4),
            f"only {shown(100 * overlap, 100 * MIN_FRAMING_OVERLAP)}% of the baseline's measured "
            "area is in this photo: frame the same area as the baseline",
        ),
        _check(
            "framing_scale",
            scale <= MAX_FRAMING_SCALE,
            round(scale, 4),
            f"the area is {shown(scale, MAX_FRAMING_SCALE, 2)}x {'smaller' if s > 1 else 'larger'} "
            "than in the "
            "baseline: take the photo from the baseline's distance",
        ),
        _light_check("light_after_alignment", lb, la),
    ]


def add_body_checks(cmp):
    """``cmp`` (a :class:`~mesovision.compare.Comparison`) with its body checks
    (:func:`body_pair_checks` on its aligned pair, with its mismatch) in
    ``settings["body_checks"]``, which ``result.json`` carries as ``body_checks``
    (:func:`mesovision.record.comparison_record`); other modes than ``body``: ``cmp`` unchanged."""
    from dataclasses import replace

    if cmp.pair.settings.get("mode") != "body":
        return cmp
    checks = body_pair_checks(cmp.pair, mismatch=cmp.mismatch)
    return replace(cmp, settings={**cmp.settings, "body_checks": checks})
