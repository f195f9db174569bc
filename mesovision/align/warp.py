"""Resampling the after photo into the before photo's frame, and which pixels it covers.

A map is a 3 x 3 matrix (after -> before pixels; affine or a homography) or, for the mesh
refinement, a flow field giving for every before-frame pixel its position in the after photo
(:func:`mesh_flow`). :func:`warp_to_before` resamples the after photo; :func:`valid_mask` and
:func:`covered_share` say which before-frame pixels have a source inside the after photo.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..types import Alignment, Landmarks, Photo

__all__ = [
    "warp_by_matrix",
    "valid_mask",
    "covered_share",
    "mesh_flow",
    "original_matrix",
    "warp_to_before",
]


def covered_share(matrix: np.ndarray, flow, after_size: tuple[int, int], mask: np.ndarray) -> float:
    if not mask.any():
        return 0.0
    valid = valid_mask(matrix, flow, after_size, mask.shape[:2])
    return np.count_nonzero(valid & mask) / np.count_nonzero(mask)


def warp_by_matrix(
    src: np.ndarray,
    matrix: np.ndarray,
    size: tuple[int, int],
    *,
    flags: int = cv2.INTER_LINEAR,
    border_mode: int = cv2.BORDER_CONSTANT,
) -> np.ndarray:
    """``src`` resampled by the 3 x 3 map ``matrix`` into an image of ``size`` ``(w, h)``:
    :func:`cv2.warpAffine` when the map is affine (cheaper), else :func:`cv2.warpPerspective`.
    ``flags`` as OpenCV's (interpolation, ``WARP_INVERSE_MAP``); constant borders are 0."""
    if np.allclose(matrix[2], [0, 0, 1]):
        return cv2.warpAffine(src, matrix[:2], size, flags=flags, borderMode=border_mode)
    return cv2.warpPerspective(src, matrix, size, flags=flags, borderMode=border_mode)


def valid_mask(
    matrix: np.ndarray, flow, after_size: tuple[int, int], before_shape: tuple[int, int]
) -> np.ndarray:
    """Before-frame pixels whose source lies inside the after photo."""
    h, w = before_shape[:2]
    if flow is not None:
        aw, ah = after_size
        fx, fy = flow[..., 0], flow[..., 1]
        return (fx >= -0.5) & (fy >= -0.5) & (fx <= aw - 0.5) & (fy <= ah - 0.5)
    ones = np.ones((after_size[1], after_size[0]), np.uint8)
    return warp_by_matrix(ones, matrix, (w, h), flags=cv2.INTER_NEAREST).astype(bool)


def mesh_flow(
    before_lm: Landmarks, after_lm: Landmarks, global_matrix: np.ndarray, shape: tuple[int, int]
) -> np.ndarray:
    """Piecewise-affine flow over MediaPipe's tessellation: inside each mesh triangle of the before
    face, the affine map of that triangle's after-photo vertices; outside, ``global_matrix``."""
    from ..landmarks import mesh_triangles

    tris = mesh_triangles()
    h, w = shape[:2]
    inv = np.linalg.inv(global_matrix)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    fx = (inv[0, 0] * xx + inv[0, 1] * yy + inv[0, 2]).astype(np.float32)
    fy = (inv[1, 0] * xx + inv[1, 1] * yy + inv[1, 2]).astype(np.float32)
    ids = np.full((h, w), -1, np.int32)
    bp, ap = before_lm.points, after_lm.points
    mats = np.zeros((len(tris), 2, 3))
    for k, t in enumerate(tris):
        src = bp[list(t)].astype(np.float32)
        mats[k] = cv2.getAffineTransform(src, ap[list(t)].astype(np.float32))
        cv2.fillConvexPoly(ids, np.round(src).astype(np.int32), k)
    inside = ids >= 0
    m = mats[ids[inside]]
    x, y = xx[inside], yy[inside]
    fx[inside] = m[:, 0, 0] * x + m[:, 0, 1] * y + m[:, 0, 2]
    fy[inside] = m[:, 1, 0] * x + m[:, 1, 1] * y + m[:, 1, 2]
    return np.dstack([fx, fy])


def original_matrix(m: np.ndarray, before: Photo | None, after: Photo | None) -> np.ndarray:
    if before is None or after is None:
        return m.copy()
    return np.linalg.inv(before.scale_matrix()) @ m @ after.scale_matrix()


def warp_to_before(
    after_rgb: np.ndarray, alignment: Alignment, before_shape: tuple[int, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """Resample the after photo into the before frame. Returns ``(image, valid_mask)``; invalid
    pixels are 0."""
    h, w = before_shape[:2]
    src = np.ascontiguousarray(after_rgb, dtype=np.float32)
    if alignment.flow is not None:
        out = cv2.remap(src, alignment.flow[..., 0], alignment.flow[..., 1], cv2.INTER_LINEAR,
                        borderMode=cv2.BORDER_CONSTANT, borderValue=0)  # fmt: skip
    else:
        out = warp_by_matrix(src, alignment.matrix, (w, h))
    valid = valid_mask(alignment.matrix, alignment.flow, (after_rgb.shape[1], after_rgb.shape[0]),
                       (h, w))  # fmt: skip
    out[~valid] = 0
    return np.clip(out, 0.0, 1.0), valid
