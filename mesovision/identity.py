"""Is the after photo the same person as the before photo? A face-shape check on the mesh.

A before/after pair of two different patients (a mixed-up file, the wrong folder) aligns and
compares without complaint: the numbers are then meaningless. :func:`check_identity` compares the
shape of the two face meshes, independently of pose, scale and light:

1. both meshes are taken in 3-D (MediaPipe's 468 mesh points: pixel ``(x, y)`` and the relative
   depth ``z`` scaled to pixels; the 10 iris points are left out);
2. the after mesh is fitted onto the before mesh by a 3-D similarity (rotation, uniform scale,
   translation; least squares, Umeyama 1991), which removes head rotation (yaw, pitch, roll),
   distance to the camera and position;
3. the **shape distance** is the RMS distance between the fitted after points and the before
   points, divided by the before photo's interocular distance (pupil to pupil).

A 2-D fit (of the stable landmarks or of the whole mesh) is not enough: the same face turned by
9-14 deg of yaw gave a 2-D distance of 0.09-0.10, more than the 0.055 between the two sample
faces. In 3-D the turn is part of the fitted rotation.

Calibration (``tests/test_identity.py``, the two shipped sample faces at 2x; ``pytest -s`` prints
every distance):

==============================================================  ====================
after photo against the before photo                            shape distance (IOD)
==============================================================  ====================
same face, similarity +-12 deg, 0.8-1.1x, shifts, + lighting    0.010-0.020
same face, the samples' after photos (pose, light, treatment)   0.011-0.018
same face, head turned (MediaPipe reads 5-9 deg of yaw)         0.018-0.026
same face, head turned further (9-14 deg of yaw)                0.033-0.044
the other sample face, under any of the above                   0.062-0.077
==============================================================  ====================

hence :data:`MAX_SHAPE_DISTANCE_IOD` = 0.05. Limits, stated plainly: it is calibrated on two
people only; it uses the whole mesh, lips and jaw included, so a strong change of expression (a
broad smile against a neutral face) adds to the distance as a different face would (clinical
photos are taken with a neutral expression); and two people of similar face shape can pass. It is
a guard against mixed-up files, not face recognition.

When the head poses differ by more than the alignment's limits (``THRESHOLDS`` in
:mod:`mesovision.align`) the shapes cannot be compared reliably; the check is then *not assessed*
(recorded as such) and the alignment check refuses the pair for its pose.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass

import numpy as np

from .errors import IdentityMismatch
from .types import Landmarks

log = logging.getLogger(__name__)

#: Largest accepted shape distance (RMS 3-D residual after a similarity fit of the 468 mesh
#: points), as a share of the before photo's interocular distance. See the module docstring.
MAX_SHAPE_DISTANCE_IOD = 0.05

#: The face mesh without the 10 refined iris points (468-477).
N_MESH = 468


@dataclass(frozen=True)
class IdentityCheck:
    """Outcome of :func:`check_identity` (written under ``"identity"`` in ``alignment.json``).

    ``distance_iod`` is ``None`` when the check was not assessed (``note`` says why); ``passed``
    is ``None`` then too.
    """

    method: str
    distance_iod: float | None
    threshold_iod: float
    assessed: bool
    passed: bool | None
    note: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def _mesh3d(lm: Landmarks) -> np.ndarray:
    return np.c_[lm.points[:N_MESH], lm.z[:N_MESH]].astype(np.float64)


def similarity_fit_3d(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares 3-D similarity (Umeyama 1991) mapping ``src`` onto ``dst``; returns the
    mapped ``src`` points. ``src`` and ``dst`` are ``(N, 3)`` with ``N >= 3``."""
    mu_s, mu_d = src.mean(axis=0), dst.mean(axis=0)
    s, d = src - mu_s, dst - mu_d
    u, sig, vt = np.linalg.svd(d.T @ s / len(src))
    sign = np.ones(3)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[-1] = -1.0  # a reflection is not a head pose
    rot = (u * sign) @ vt
    var_s = float((s**2).sum() / len(src))
    scale = float((sig * sign).sum() / var_s) if var_s > 0 else 1.0
    return scale * s @ rot.T + mu_d


def shape_distance(before: Landmarks, after: Landmarks) -> float:
    """RMS distance between the before mesh and the after mesh fitted onto it by a 3-D
    similarity, in units of the before photo's interocular distance (pose and scale free)."""
    b, a = _mesh3d(before), _mesh3d(after)
    fitted = similarity_fit_3d(a, b)
    rms = float(np.sqrt(np.mean(np.sum((fitted - b) ** 2, axis=1))))
    iod = before.interocular_px
    return rms / iod if iod > 0 else float("inf")


def check_identity(
    before: Landmarks,
    after: Landmarks,
    *,
    path: str | None = None,
    force: bool = False,
    max_distance_iod: float = MAX_SHAPE_DISTANCE_IOD,
    max_yaw_difference_deg: float | None = None,
    max_pitch_difference_deg: float | None = None,
) -> IdentityCheck:
    """Refuse an after photo whose face shape differs from the before photo's.

    Parameters
    ----------
    before, after : Landmarks
        The two face meshes (any frames and scales).
    path : str, optional
        The after photo, named in the error.
    force : bool, optional
        Log a warning and return instead of raising.
    max_distance_iod : float, optional
        Threshold on :func:`shape_distance` (default :data:`MAX_SHAPE_DISTANCE_IOD`).
    max_yaw_difference_deg, max_pitch_difference_deg : float, optional
        Pose differences beyond which the check is not assessed (default: the alignment's
        thresholds, ``mesovision.align.THRESHOLDS``).

    Returns
    -------
    IdentityCheck

    Raises
    ------
    IdentityMismatch
        The shape distance exceeds ``max_distance_iod`` and ``force`` is false.
    """
    from .align import THRESHOLDS

    yaw_lim = (
        THRESHOLDS["max_yaw_difference_deg"]
        if max_yaw_difference_deg is None
        else max_yaw_difference_deg
    )
    pitch_lim = (
        THRESHOLDS["max_pitch_difference_deg"]
        if max_pitch_difference_deg is None
        else max_pitch_difference_deg
    )
    method = "3-D similarity fit of the 468-point face mesh, RMS residual / interocular distance"
    dyaw = after.pose.yaw_deg - before.pose.yaw_deg
    dpitch = after.pose.pitch_deg - before.pose.pitch_deg
    if abs(dyaw) > yaw_lim or abs(dpitch) > pitch_lim:
        note = (
            f"not assessed: head poses differ by {dyaw:+.0f} deg yaw, {dpitch:+.0f} deg pitch "
            f"(limits {yaw_lim:.0f}, {pitch_lim:.0f})"
        )
        log.info("%s: identity check %s", path, note)
        return IdentityCheck(method, None, max_distance_iod, False, None, note)
    d = shape_distance(before, after)
    if d <= max_distance_iod:
        return IdentityCheck(method, d, max_distance_iod, True, True)
    msg = (
        f"the after photo shows a different person: face-shape distance {d:.3f} of the "
        f"interocular distance, limit {max_distance_iod:.3f}"
    )
    if not force:
        raise IdentityMismatch(msg + " (use --force to proceed)", path=path)
    log.warning("%s: %s; proceeding (--force)", path, msg)
    return IdentityCheck(method, d, max_distance_iod, True, False, msg)
