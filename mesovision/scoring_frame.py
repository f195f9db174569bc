"""A photo's scoring frame: its working copy cropped around the face and resampled to the common
face scale (:mod:`mesovision.scoring`), and images, masks and landmarks carried between frames.

A frame is given by its 3 x 3 matrix from the photo's working pixels (:func:`frame_matrix`:
crop to a box, then scale by ``k``); a map between two frames is a 3 x 3 matrix too (source
pixels -> target pixels).
"""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np

from .align import warp_by_matrix
from .types import Landmarks, resample_matrix

__all__ = [
    "IDENTITY_TOL",
    "same_photo",
    "CROP_MARGIN_IOD",
    "frame_matrix",
    "landmarks_in",
    "resize",
    "resize_mask",
    "scale_matrix",
    "scaled_landmarks",
    "score_box",
    "to_scoring",
    "warp_mask",
]

#: Margin (share of the interocular distance) around the face's landmarks kept in the scoring
#: frame: the regions, their tiles and the registration shifts all lie inside it.
CROP_MARGIN_IOD = 0.35


def scale_matrix(k: float) -> np.ndarray:
    """3 x 3 map: a frame's pixels -> the same frame resampled by ``k`` (``resample_matrix``)."""
    return resample_matrix(k)


def resize_mask(mask: np.ndarray, shape) -> np.ndarray:
    """A bool mask resampled (nearest) to ``shape``'s rows and columns."""
    size = (shape[1], shape[0])
    return cv2.resize(mask.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST) > 0


def resize(img: np.ndarray, k: float) -> np.ndarray:
    """``img`` resampled by ``k`` (area averaging)."""
    size = (max(1, round(img.shape[1] * k)), max(1, round(img.shape[0] * k)))
    return cv2.resize(img, size, interpolation=cv2.INTER_AREA)


def score_box(lm: Landmarks | None, mask: np.ndarray | None, shape) -> tuple[int, int, int, int]:
    """``(r0, r1, c0, c1)``: the part of a photo's working copy that is scored, the bounding box
    of the face's landmarks (or of the measured mask) plus a margin."""
    h, w = shape[:2]
    if lm is not None:
        x0, y0 = lm.points.min(axis=0)
        x1, y1 = lm.points.max(axis=0)
        m = CROP_MARGIN_IOD * lm.interocular_px
    elif mask is not None and mask.any():
        rows = np.flatnonzero(mask.any(axis=1))
        cols = np.flatnonzero(mask.any(axis=0))
        y0, y1, x0, x1 = rows[0], rows[-1], cols[0], cols[-1]
        m = 0.02 * max(h, w)
    else:
        return 0, h, 0, w
    r0, r1 = max(0, int(np.floor(y0 - m))), min(h, int(np.ceil(y1 + m)) + 1)
    c0, c1 = max(0, int(np.floor(x0 - m))), min(w, int(np.ceil(x1 + m)) + 1)
    return r0, r1, c0, c1


def warp_mask(mask: np.ndarray, m: np.ndarray, shape) -> np.ndarray:
    """``mask`` carried by the 3 x 3 map ``m`` (source pixels -> target pixels) into ``shape``."""
    if not mask.any():
        return np.zeros(shape[:2], bool)
    size = (shape[1], shape[0])
    return warp_by_matrix(mask.view(np.uint8), m, size, flags=cv2.INTER_NEAREST).view(bool)


def frame_matrix(k: float, box: tuple[int, int, int, int]) -> np.ndarray:
    """3 x 3 map from working pixels to the scoring frame: crop to ``box``, then scale by ``k``."""
    crop = np.array([[1.0, 0.0, -box[2]], [0.0, 1.0, -box[0]], [0.0, 0.0, 1.0]])
    return scale_matrix(k) @ crop


def to_scoring(img: np.ndarray, k: float, box) -> np.ndarray:
    """``img`` (a working copy) on its scoring frame: cropped to ``box``, resampled by ``k``
    (OpenCV reads the crop in place: no copy of it is made)."""
    r0, r1, c0, c1 = box
    return resize(img[r0:r1, c0:c1], k)


def scaled_landmarks(lm: Landmarks, frame: np.ndarray, k: float, shape) -> Landmarks:
    """Landmarks carried into a scoring frame (``frame`` from :func:`frame_matrix`, scale ``k``)."""
    pts = lm.points @ frame[:2, :2].T + frame[:2, 2]
    return dataclasses.replace(lm, points=pts, z=lm.z * k, image_size=(shape[1], shape[0]))


def landmarks_in(lm: Landmarks | None, frame, k, shape) -> Landmarks | None:
    """A photo's landmarks on its scoring frame (:func:`scaled_landmarks`), ``None`` without."""
    return None if lm is None else scaled_landmarks(lm, frame, k, shape)


#: The largest difference of an alignment matrix's entries from the identity's that is still the
#: identity (floating-point error of the fit), for two photos of the same pixels.
IDENTITY_TOL = 1e-9


def same_photo(pair) -> bool:
    """Whether the after photo is the before photo: the same working pixels, aligned by the
    identity to within floating point (:data:`IDENTITY_TOL`) and no flow field. Never true of
    two captures: any change of a pixel, or of the pose, makes it false."""
    al, b, a = pair.alignment, pair.before.rgb, pair.after.rgb
    return (
        al.flow is None
        and b.shape == a.shape
        and float(np.abs(np.asarray(al.matrix) - np.eye(3)).max()) <= IDENTITY_TOL
        and np.array_equal(b, a)
    )
