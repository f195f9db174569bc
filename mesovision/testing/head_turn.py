"""A photo re-rendered with the head turned in 3-D, with the true landmark positions.

The face mesh (MediaPipe's 478 landmarks with their depth, in pixels) is treated as a textured
surface: its 3-D points are rotated about their centroid and projected orthographically, every
output pixel inside the projected mesh takes the texture of the nearest triangle drawn over it
(painter's order), and outside the mesh the displacement fades to zero over a band around the
face so there is no seam. The true projected landmarks are the ground truth for pose and
alignment tests (``tests/landmarks/test_pose.py``, ``tests/align/test_alignment_truth.py``) and
benchmarks (``benchmarks/pose.py``, ``benchmarks/alignment_truth.py``).
"""

from __future__ import annotations

import cv2
import numpy as np

from ..types import Landmarks

__all__ = ["turn_head", "TURN_BLEND_FACE_WIDTHS"]

#: Width of the band around the face mesh over which :func:`turn_head`'s displacement fades to
#: zero, as a share of the mesh's width.
TURN_BLEND_FACE_WIDTHS = 0.3


def _head_rotation(yaw_deg: float, pitch_deg: float) -> np.ndarray:
    """3 x 3 rotation in the image frame (x right, y down, z away from the camera): pitch about
    the x axis (chin up for ``pitch_deg > 0``), then yaw about the vertical axis (the face turns
    toward the image's right for ``yaw_deg > 0``), signs as :class:`~mesovision.types.HeadPose`."""
    y, p = np.radians(yaw_deg), np.radians(pitch_deg)
    ry = np.array([[np.cos(y), 0.0, -np.sin(y)], [0.0, 1.0, 0.0], [np.sin(y), 0.0, np.cos(y)]])
    rx = np.array([[1.0, 0.0, 0.0], [0.0, np.cos(p), np.sin(p)], [0.0, -np.sin(p), np.cos(p)]])
    return ry @ rx


def _rasterize(d: np.ndarray, depth: np.ndarray, rw: int, rh: int) -> tuple[np.ndarray, np.ndarray]:
    """Draw the output triangles ``d`` (T, 3, 2; window pixels) far to near by their mean depth
    ``depth`` (T,) into a ``rh x rw`` window. Returns ``(ids, lam)``: the triangle drawn last at
    each pixel (-1: none) and the pixel's barycentric coordinates in it."""
    n = len(d)
    # Barycentric coordinates from output pixels: l = inv([[x1 x2 x3], [y1 y2 y3], [1 1 1]]) @ p.
    m = np.concatenate([d.transpose(0, 2, 1), np.ones((n, 1, 3))], axis=1)
    usable = np.abs(np.linalg.det(m)) > 1e-6  # a triangle seen exactly edge-on covers no pixel
    inv = np.zeros_like(m)
    inv[usable] = np.linalg.inv(m[usable])
    lo = np.clip(np.floor(d.min(axis=1)).astype(np.int64), 0, [rw, rh])
    hi = np.clip(np.ceil(d.max(axis=1)).astype(np.int64) + 1, 0, [rw, rh])
    # Painter's order: far (large z) first, so nearer triangles overwrite them. A pixel belongs to
    # a triangle when its centre lies inside it.
    order = np.argsort(-depth, kind="stable")
    ids = np.full((rh, rw), -1, np.int32)
    lam = np.zeros((rh, rw, 3), np.float64)
    for t in order:
        (x0, y0), (x1, y1) = lo[t], hi[t]
        if not usable[t] or x1 <= x0 or y1 <= y0:
            continue
        gx = np.arange(x0, x1, dtype=np.float64)[None, :, None]
        gy = np.arange(y0, y1, dtype=np.float64)[:, None, None]
        bary = inv[t, :, 0] * gx + inv[t, :, 1] * gy + inv[t, :, 2]
        hit = (bary >= -1e-9).all(axis=2)
        ids[y0:y1, x0:x1][hit] = t
        lam[y0:y1, x0:x1][hit] = bary[hit]
    return ids, lam


def _fade_outside(disp: np.ndarray, inside: np.ndarray, band: float) -> None:
    """Outside the mesh (``~inside``), set ``disp`` in place to the nearest mesh pixel's
    displacement, faded to zero over ``band`` pixels (raised cosine)."""
    if not inside.any() or inside.all():
        return
    dist, labels = cv2.distanceTransformWithLabels(
        (~inside).astype(np.uint8), cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_PIXEL
    )
    lut = np.zeros((int(labels.max()) + 1, 2), np.float64)
    lut[labels[inside]] = disp[inside]
    fade = np.where(dist < band, 0.5 + 0.5 * np.cos(np.pi * dist / band), 0.0)
    out_disp = lut[labels] * fade[..., None]
    disp[~inside] = out_disp[~inside]


def turn_head(
    rgb: np.ndarray, landmarks: Landmarks, *, yaw_deg: float = 0.0, pitch_deg: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Re-render ``rgb`` with the head turned in 3-D by ``yaw_deg`` and ``pitch_deg``.

    The face mesh (``landmarks.points`` and ``landmarks.z``, all in pixels, triangles of
    :func:`~mesovision.landmarks.mesh_triangles`) is a textured surface. Its 3-D points are rotated
    about their centroid, pitch first (about the image's horizontal axis, chin up for
    ``pitch_deg > 0``) then yaw (about the image's vertical axis, toward the image's right for
    ``yaw_deg > 0``), signs as :class:`~mesovision.types.HeadPose`, and projected orthographically
    (drop z). Each output pixel inside the projected mesh takes the texture of the nearest-drawn
    triangle (painter's order: triangles drawn far to near by mean depth, so the nose hides the
    cheek behind it) at the same barycentric position in the input. Outside the mesh the
    displacement of the nearest mesh pixel fades to zero over a band of
    :data:`TURN_BLEND_FACE_WIDTHS` of the face's width (raised cosine), so the face edge has no
    seam; beyond the band the input is unchanged. One bicubic resampling of the input.

    Returns ``(image, points)``: the float32 RGB image in [0, 1] and the true projected
    ``(478, 2)`` pixel positions of the landmarks (the rotated mesh).

    Limits: orthographic (no perspective change); the depth is MediaPipe's own estimate, so a
    detector that reads pose from the same kind of depth meets its own geometry; no new surface
    appears where the turn would reveal it (the side of the nose, the far cheek are stretched
    from what the photo shows); hair, ears, neck and background are not rotated (only stretched
    in the band around the face); lighting and shading do not change. Deterministic.
    """
    from ..landmarks import mesh_triangles

    h, w = rgb.shape[:2]
    src = np.asarray(landmarks.points, np.float64)
    p3 = np.c_[src, np.asarray(landmarks.z, np.float64)]
    c = p3.mean(axis=0)
    q = (p3 - c) @ _head_rotation(yaw_deg, pitch_deg).T + c
    dst = q[:, :2]

    # Everything happens in a window around the turned mesh and its blending band.
    band = TURN_BLEND_FACE_WIDTHS * max(float(np.ptp(dst[:, 0])), 1.0)
    rx0, ry0 = np.clip(np.floor(dst.min(axis=0) - band - 2).astype(int), 0, [w, h])
    rx1, ry1 = np.clip(np.ceil(dst.max(axis=0) + band + 3).astype(int), 0, [w, h])
    out = np.array(rgb, dtype=np.float32)  # a copy
    if rx1 <= rx0 or ry1 <= ry0:
        return out, dst
    rw, rh = int(rx1 - rx0), int(ry1 - ry0)

    tris = np.asarray(mesh_triangles(), np.int64)
    ids, lam = _rasterize(dst[tris] - [rx0, ry0], q[tris, 2].mean(axis=1), rw, rh)

    yy, xx = np.mgrid[0:rh, 0:rw].astype(np.float64)
    inside = ids >= 0
    s_xy = np.einsum("ni,nij->nj", lam[inside], src[tris[ids[inside]]])
    disp = np.zeros((rh, rw, 2), np.float64)
    disp[inside] = s_xy - np.stack([xx[inside] + rx0, yy[inside] + ry0], axis=1)
    _fade_outside(disp, inside, band)

    map_x = (xx + rx0 + disp[..., 0]).astype(np.float32)
    map_y = (yy + ry0 + disp[..., 1]).astype(np.float32)
    img = np.ascontiguousarray(rgb, dtype=np.float32)
    win = cv2.remap(img, map_x, map_y, cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
    out[ry0:ry1, rx0:rx1] = np.clip(win, 0.0, 1.0)
    return out, dst
