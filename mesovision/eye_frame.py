"""The eyes' frame of a face photo, steadied over the face mesh found again on copies of it.

Measures above the eyes (the frontal hairline, :mod:`mesovision.hairline`) are read in a frame
of landmarks that a treatment does not move: the line through the centres of the two eyes (each
the mean of the face mesh's iris centre and the midpoint of the eye's corners,
:func:`eye_centres`), its perpendicular up the forehead, and the distance between the centres,
the interocular distance (IOD), as the unit (:func:`face_frame`).

The face mesh found on another photo of the same face lands a little elsewhere, and its eyes'
line moves every point measured in the frame together (the hairline's five sites): a line found
higher lowers every height alike, a
line turned by ``a`` radians moves a site at ``s`` IOD from the midline by ``s x a`` (the temples
more than the midline), and a longer IOD lowers each height in proportion to it. So the mesh
is found again on :data:`FRAME_COPIES` of the photo (scaled by 0.8-1.0 and turned by up to 3
degrees about its centre, :func:`landmarks_found_again`) and mapped back. A mesh now and then
lands far away (on the development people, 14 of 4853 more than 5 % IOD off, one 45 % IOD), so
a mesh with an eye centre further than :data:`FRAME_OUTLIER_IOD_PCT` from the per-coordinate
median of the meshes' eye centres is left out (:func:`agreeing_meshes`), and the frame is that
of the mean of the others: one far mesh moves neither the frame nor its term. Each site's frame
term (:func:`frame_se`) is :data:`FRAME_SE_SHARE` times the root mean square move of the site's
height when it is read in each kept copy's frame instead; the share is chosen on the
development people so that the term matches the mean frame's error between recaptures (the
copies' frames share part of their errors, so the mean's error is larger than their spread over
the square root of their number).
The two estimates that each eye's centre averages (the iris centre and the corners' midpoint)
are no measure of it: their disagreement is the face's own (the iris line lies 1.5-5 % IOD above
the corners' line, the irises' distance 2-8 % longer, the same on every recapture) and does not
follow the frame's error between recaptures.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np

from .types import Landmarks

__all__ = [
    "EYES",
    "FRAME_COPIES",
    "FRAME_OUTLIER_IOD_PCT",
    "FRAME_SE_SHARE",
    "agreeing_meshes",
    "eye_centres",
    "face_frame",
    "frame_se",
    "landmarks_found_again",
]

#: Each eye's centre is the mean of its iris centre and the midpoint of its two corners (face
#: mesh indices: the subject's right eye, then the left): ``(iris, (corner, corner))``.
EYES = ((468, (33, 133)), (473, (362, 263)))
#: The photo's copies on which the face mesh is found again (:func:`landmarks_found_again`):
#: ``(scale, rotation in degrees)`` about the photo's centre, within a recapture's range.
FRAME_COPIES = (
    (0.9, 0.0), (0.8, 0.0), (1.0, 2.0), (1.0, -2.0),
    (0.9, 1.5), (0.85, -1.5), (0.95, -3.0), (0.8, 3.0),
)  # fmt: skip
#: A mesh (the photo's or a copy's) with an eye centre further than this (% IOD) from the
#: per-coordinate median of the meshes' is left out of the frame and of its term
#: (:func:`agreeing_meshes`). On the development people of ``benchmarks/hair.py hairline`` a
#: mesh's eye centre lies a median 0.6 % IOD from the median's, 2.9 % at the 99th percentile
#: and up to 45 %; this limit leaves out 43 of 4853 meshes (0.9 %).
FRAME_OUTLIER_IOD_PCT = 3.0
#: The frame term of a site (:func:`frame_se`): this share of the root mean square move of the
#: site when its height is read in each copy's frame instead of the mean frame (development
#: people of ``benchmarks/hair.py hairline``: the mean frame's error between recaptures; with
#: the frame of the meshes that agree, that error over this term has an SD of 0.82).
FRAME_SE_SHARE = 0.5


def eye_centres(points: np.ndarray) -> np.ndarray:
    """``(2, 2)``: the subject's right eye's centre, then the left one's (pixel ``(x, y)``), each
    the mean of the face mesh ``points``' iris centre and the midpoint of the eye's corners
    (:data:`EYES`)."""
    return np.array([(points[i] + 0.5 * (points[a] + points[b])) / 2.0 for i, (a, b) in EYES])


def face_frame(lm: Landmarks) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, float]:
    """``(origin, e, n, iod_px, brow_iod)``: the eyes' midpoint, the unit vector to the
    subject's left eye, the unit vector up the forehead, the IOD (px between the eyes' centres,
    :data:`EYES`) and the top of the brows (IOD above the eyes' line)."""
    from .regions import EXCLUDED_POLYGONS

    right, left = eye_centres(lm.points)
    iod = float(np.linalg.norm(left - right))
    e = (left - right) / iod
    n = np.array([e[1], -e[0]])  # e rotated a quarter turn: up the face
    origin = 0.5 * (left + right)
    brows = list(EXCLUDED_POLYGONS["right_brow"]) + list(EXCLUDED_POLYGONS["left_brow"])
    brow = float(np.max((lm.points[brows] - origin) @ n)) / iod
    return origin, e, n, iod, brow


def landmarks_found_again(rgb: np.ndarray) -> list[np.ndarray]:
    """The face mesh found again on each copy of ``rgb`` in :data:`FRAME_COPIES` (scaled and
    turned about the photo's centre): ``(478, 2)`` points mapped back to ``rgb``'s pixel frame,
    one array per copy on which a face is found."""
    from .errors import MesovisionError
    from .landmarks import detect_landmarks

    h, w = rgb.shape[:2]
    img = np.ascontiguousarray(rgb, np.float32)
    out = []
    for scale, angle_deg in FRAME_COPIES:
        m = cv2.getRotationMatrix2D((w / 2.0, h / 2.0), angle_deg, scale)
        copy = cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REFLECT)  # fmt: skip
        try:
            points = detect_landmarks(copy).points
        except MesovisionError:
            continue
        back = cv2.invertAffineTransform(m)
        out.append(points @ back[:, :2].T + back[:, 2])
    return out


def agreeing_meshes(meshes: Sequence[np.ndarray]) -> list[int]:
    """The indices of the face ``meshes`` (``(478, 2)`` points each, one photo's frame) whose
    frame agrees with the others': both eye centres (:func:`eye_centres`) within
    :data:`FRAME_OUTLIER_IOD_PCT` of the IOD of the per-coordinate median of the meshes' eye
    centres. Every index when none is (no majority to follow)."""
    if not len(meshes):
        return []
    centres = np.array([eye_centres(p) for p in meshes])
    median = np.median(centres, axis=0)
    iod = float(np.linalg.norm(median[1] - median[0]))
    far_pct = 100.0 * np.linalg.norm(centres - median, axis=2).max(axis=1) / iod
    keep = [i for i, d in enumerate(far_pct) if d <= FRAME_OUTLIER_IOD_PCT]
    return keep or list(range(len(meshes)))


def frame_se(frame: tuple, copies: Sequence[tuple], offset: float, height_iod_pct: float) -> float:
    """The frame term (% IOD) of the site at ``offset`` (IOD) measured at ``height_iod_pct`` in
    the :func:`face_frame` ``frame``: :data:`FRAME_SE_SHARE` times the root mean square of
    ``h_j - h`` over the ``copies`` (each a :func:`face_frame` of the landmarks found again),
    where ``h_j`` is the height of the same point of the photo in copy ``j``'s frame. A copy
    whose eyes' line lies higher moves every site down alike; one turned by ``a`` radians moves
    the site by ``offset x a`` (the temples more than the midline); one with another IOD moves
    it in proportion to its height. 0 without copies."""
    if not copies:
        return 0.0
    origin, e, n, iod = frame[:4]
    point = origin + offset * iod * e + height_iod_pct / 100.0 * iod * n
    moves = [100.0 * float((point - c[0]) @ c[2]) / c[3] - height_iod_pct for c in copies]
    return FRAME_SE_SHARE * math.sqrt(float(np.mean(np.square(moves))))
