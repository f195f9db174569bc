"""Align the after photo onto the before photo.

Face mode (:func:`align_faces`, :mod:`.face`): a robust similarity (or affine) fit on landmarks that
do not move with expression (eye corners, nose bridge and base, forehead, temples, cheekbones;
iteratively reweighted least squares with Tukey's biweight, :func:`fit_landmarks`), then an
optional refinement: ``ecc`` (OpenCV's enhanced-correlation-coefficient maximisation, Evangelidis &
Psarakis 2008, on the face's luminance; invariant to gain and offset of the light; skin that
changed locally between the photos, such as a bruise, is left out of it, :mod:`.ecc`) or ``mesh``
(piecewise affine over MediaPipe's triangle mesh, for small expression differences).
Body mode (:func:`align_body`, :mod:`.body`): SIFT features, RANSAC homography (refused on fewer
than :data:`MIN_INLIERS` inlier matches), then ECC.
Resampling into the before frame: :mod:`.warp`.

Every :class:`~mesovision.types.Alignment` states its quality; :func:`check_alignment` compares it
with :data:`THRESHOLDS` and refuses (or, with ``force``, warns). In face mode the residual is the
RMS distance, over the stable landmarks, between the before photo's landmarks and the after
photo's mapped by the final map; when the landmark fit is kept against a plausible intensity
refinement, their disagreement (RMS over the same landmarks) is added in quadrature, as the
landmarks cannot see an error they share. It bounds the mean true error of the map over the mesh
(``benchmarks/alignment_truth.py``: in-plane moves, 3-D head turns up to the pose limits, strong
local changes; every face of ``../shared/faces`` and the samples: in 99 % of the accepted pairs),
including the part a global map cannot follow when the head turned in depth; it does not bound
the largest point error of a turned head (the nose tip, the face's edge), 2-5 times the mean.
Landmarks moved by a bruise around them raise it (a conservative figure for such pairs).
"""

from __future__ import annotations

from .body import (
    MIN_FACE_FILL,
    MIN_INLIERS,
    MIN_SKIN_SHARE,
    align_body,
    default_body_mask,
    face_fill,
    face_fill_warning,
    skin_mask,
)
from .ecc import CHANGE_MAX_SHARE, CHANGE_MIN_DIFF, CHANGE_SIGMA, CHANGE_Z
from .face import (
    ECC_MAX_SHIFT_IOD,
    FACE_REFINEMENTS,
    THRESHOLDS,
    align_faces,
    check_alignment,
    check_capture,
)
from .fit import FACE_MODELS, MIN_SCALE_SPREAD, STABLE_LANDMARKS, TUKEY_C, fit_landmarks
from .warp import mesh_flow, valid_mask, warp_by_matrix, warp_to_before

__all__ = [
    "STABLE_LANDMARKS",
    "THRESHOLDS",
    "FACE_REFINEMENTS",
    "FACE_MODELS",
    "ECC_MAX_SHIFT_IOD",
    "TUKEY_C",
    "MIN_SCALE_SPREAD",
    "CHANGE_Z",
    "CHANGE_MIN_DIFF",
    "CHANGE_MAX_SHARE",
    "CHANGE_SIGMA",
    "MIN_FACE_FILL",
    "MIN_INLIERS",
    "MIN_SKIN_SHARE",
    "face_fill",
    "face_fill_warning",
    "fit_landmarks",
    "align_faces",
    "align_body",
    "check_capture",
    "check_alignment",
    "warp_by_matrix",
    "warp_to_before",
    "valid_mask",
    "mesh_flow",
    "skin_mask",
    "default_body_mask",
]
