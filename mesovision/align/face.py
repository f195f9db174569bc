"""Face mode: the after photo's face mesh mapped onto the before photo's, and the checks.

:func:`align_faces` fits the stable landmarks (:mod:`.fit`), then refines by ECC (:mod:`.ecc`)
or by the piecewise-affine mesh (:func:`~.warp.mesh_flow`). Its residual is the RMS distance,
over the stable landmarks, between the before photo's landmarks and the after photo's mapped by
the final map; when the landmark fit is kept against a plausible intensity refinement, their
disagreement is added in quadrature. :func:`check_capture` and :func:`check_alignment` compare a
face and an alignment with :data:`THRESHOLDS` and refuse (or, with ``force``, warn).
"""

from __future__ import annotations

import logging

import cv2
import numpy as np

from ..errors import FORCE_HINT, AlignmentError, CaptureError, UsageError
from ..types import Alignment, Landmarks, Photo
from .ecc import refine_ecc
from .fit import STABLE_LANDMARKS, apply_matrix, fit_landmarks, rms_distance
from .warp import covered_share, mesh_flow, original_matrix

__all__ = [
    "THRESHOLDS",
    "FACE_REFINEMENTS",
    "ECC_MAX_SHIFT_IOD",
    "align_faces",
    "check_capture",
    "check_alignment",
]

log = logging.getLogger(__name__)

#: Documented limits. ``face too small``: interocular distance below ``min_interocular_px``
#: (working-copy pixels); ``head turned too far``: yaw or pitch difference beyond the limits;
#: fit residual and covered share of the face.
THRESHOLDS: dict[str, float] = {
    "min_interocular_px": 30.0,
    "max_yaw_difference_deg": 15.0,
    "max_pitch_difference_deg": 15.0,
    "max_residual_iod": 0.05,
    "min_coverage": 0.90,
}

FACE_REFINEMENTS = ("none", "ecc", "mesh")
#: ECC refinement is rejected when it moves the stable landmarks by more than this share of the IOD
#: (median over the landmarks).
ECC_MAX_SHIFT_IOD = 0.08
#: A refinement that moves no stable landmark by this much (px) and lowers the correlation by no
#: more than :data:`ECC_SAME_CC` left the landmark fit as it was (the same photo twice): it is
#: kept without a warning.
ECC_SAME_PX = 0.05
ECC_SAME_CC = 1e-6


def _refine_by_ecc(before_rgb, after_rgb, m, face_mask, src, dst, iod: float, warnings: list):
    """ECC refinement of the landmark fit ``m``, kept when it raises the correlation and stays
    plausible. Returns ``(matrix, refined, residual_px)``; reasons for keeping the landmark fit
    are appended to ``warnings``.

    ECC has no similarity motion (Euclidean has no scale): it refines with affine motion, and the
    landmark check rejects a refinement that drifts away from the landmarks. Landmarks carry
    errors of ~1-3 % of the IOD (glasses, hair, expression, and a local skin change such as a
    bruise moves the landmarks around it), so ECC is judged by its own figure, the correlation,
    with a guard against gross failure: the refined map may not move the stable landmarks by more
    than :data:`ECC_MAX_SHIFT_IOD` (the median over them: a few landmarks displaced by a local
    change, or a head turned in depth, must not veto a refinement that agrees with the rest).
    A refinement that changes nothing (:data:`ECC_SAME_PX`, :data:`ECC_SAME_CC`: a perfect fit,
    such as a photo with itself) keeps the landmark fit without a warning.
    """
    resid = rms_distance(apply_matrix(m, src), dst)
    res = refine_ecc(
        before_rgb, after_rgb, m, face_mask, motion=cv2.MOTION_AFFINE, exclude_changes=True
    )
    if res is None:
        warnings.append("ECC refinement did not converge; landmark fit kept")
        return m, False, resid
    m2, cc0, cc1 = res
    shift = float(np.median(np.linalg.norm(apply_matrix(m2, src) - apply_matrix(m, src), axis=1)))
    plausible = shift <= ECC_MAX_SHIFT_IOD * iod
    if cc1 > cc0 and plausible:
        return m2, True, rms_distance(apply_matrix(m2, src), dst)
    moved = float(np.abs(apply_matrix(m2, src) - apply_matrix(m, src)).max())
    if moved < ECC_SAME_PX and cc1 >= cc0 - ECC_SAME_CC:
        return m, False, resid  # nothing to refine (a perfect fit): nothing to say
    note = ""
    if plausible:
        # Two plausible maps: the landmark fit kept, and the intensity refinement that did not
        # raise the correlation. The landmarks' own residual cannot see an error they share (the
        # mesh dragged as a whole, by a bruise or the compression of a small face); their
        # disagreement with the refinement can, and is added to the residual.
        disagree = rms_distance(apply_matrix(m2, src), apply_matrix(m, src))
        resid = float(np.hypot(resid, disagree))
        note = f"; their disagreement, {disagree:.1f} px, added to the residual"
    warnings.append(
        f"ECC refinement rejected (correlation {cc0:.3f} -> {cc1:.3f}, "
        f"median landmark shift {shift:.1f} px){note}"
    )
    return m, False, resid


def align_faces(
    before_rgb: np.ndarray,
    after_rgb: np.ndarray,
    before_lm: Landmarks,
    after_lm: Landmarks,
    *,
    face_mask: np.ndarray,
    model: str = "similarity",
    refine: str = "ecc",
    before: Photo | None = None,
    after: Photo | None = None,
) -> Alignment:
    """Align the after photo onto the before photo using their face meshes.

    ``face_mask`` is the before photo's ``face`` region (the area measured; used by ECC and for
    coverage). ``before``/``after`` (optional) give the original-file frames for
    ``matrix_original``. Quality is measured on :data:`~.fit.STABLE_LANDMARKS`: the RMS distance
    between the before landmarks and the after landmarks mapped by the final map
    (``residual_px``; ``residual_iod`` as a share of the before photo's interocular distance), an
    upper estimate of the map's mean error over the face (see :mod:`mesovision.align`).
    """
    if refine not in FACE_REFINEMENTS:
        raise UsageError(f"unknown refinement {refine!r}; valid: {', '.join(FACE_REFINEMENTS)}")
    idx = list(STABLE_LANDMARKS)
    src, dst = after_lm.points[idx], before_lm.points[idx]
    m = fit_landmarks(src.astype(np.float32), dst.astype(np.float32), model=model)
    resid = rms_distance(apply_matrix(m, src), dst)
    iod = before_lm.interocular_px
    method = f"landmarks-{model}"
    warnings: list[str] = []
    flow = None
    if refine == "ecc":
        m, refined, resid = _refine_by_ecc(
            before_rgb, after_rgb, m, face_mask, src, dst, iod, warnings
        )
        if refined:
            method = f"{method}+ecc"
    elif refine == "mesh":
        flow = mesh_flow(before_lm, after_lm, m, before_rgb.shape[:2])
        method = f"{method}+mesh"
    coverage = covered_share(m, flow, (after_rgb.shape[1], after_rgb.shape[0]), face_mask)
    return Alignment(
        method=method,
        matrix=m,
        matrix_original=original_matrix(m, before, after),
        residual_px=resid,
        residual_iod=resid / iod if iod > 0 else None,
        coverage=coverage,
        pose_before=before_lm.pose,
        pose_after=after_lm.pose,
        n_points=len(idx),
        thresholds=dict(THRESHOLDS),
        warnings=tuple(warnings),
        flow=flow,
    )


def check_capture(landmarks: Landmarks, *, path: str | None = None, force: bool = False) -> list:
    """Refuse a face too small to measure (interocular distance below the threshold)."""
    iod = landmarks.interocular_px
    lim = THRESHOLDS["min_interocular_px"]
    if iod < lim:
        msg = f"face too small: interocular distance {iod:.0f} px, minimum {lim:.0f} px"
        if not force:
            raise CaptureError(
                msg, path=path, hint=FORCE_HINT, check="face_size", value=float(iod), limit=lim
            )
        log.warning("%s: %s; proceeding (--force)", path, msg)
        return [msg]
    return []


def check_alignment(
    alignment: Alignment, *, path: str | None = None, force: bool = False
) -> list[str]:
    """Compare an alignment with its thresholds; raise :class:`AlignmentError` past any of them
    unless ``force`` (then return the problems as warnings)."""
    t = alignment.thresholds or THRESHOLDS
    problems = []  # (check, message, value, limit)
    d = alignment.pose_difference()
    if d is not None:
        for check, angle, what in (("yaw", "yaw_deg", "turned"), ("pitch", "pitch_deg", "tilted")):
            lim = t[f"max_{check}_difference_deg"]
            if abs(d[angle]) > lim:
                msg = f"head {what} {d[angle]:+.0f} deg ({check}) from the before photo; limit"
                problems.append((check, f"{msg} {lim:.0f}", d[angle], lim))
    if alignment.residual_iod is not None and alignment.residual_iod > t["max_residual_iod"]:
        value, lim = 100 * alignment.residual_iod, 100 * t["max_residual_iod"]
        msg = f"alignment residual {value:.1f} % of the interocular distance; limit {lim:.0f} %"
        problems.append(("residual", msg, value, lim))
    if alignment.coverage < t["min_coverage"]:
        area = "face" if alignment.method.startswith("landmarks") else "measured area"
        value, lim = 100 * alignment.coverage, 100 * t["min_coverage"]
        msg = f"aligned photo covers {value:.0f} % of the {area}; limit {lim:.0f} %"
        problems.append(("coverage", msg, value, lim))
    if problems and not force:
        check, msg, value, lim = problems[0]
        raise AlignmentError(
            msg, path=path, hint=FORCE_HINT, check=check, value=float(value), limit=float(lim)
        )
    problems = [msg for _, msg, _, _ in problems]
    for p in problems:
        log.warning("%s: %s; proceeding (--force)", path, p)
    return problems
