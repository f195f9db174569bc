"""Carry a pair's lighting correction over to another image of the after photo.

The colour model is a per-pixel function and the shading fields are smooth, so a correction fitted
in the before photo's frame at the working resolution applies to the after photo in its own frame
or at another resolution: each pixel is corrected with the fields sampled at its position in the
fitting frame.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..align import warp_by_matrix
from ..color import linear_to_srgb, srgb_to_linear
from .result import LightingResult

__all__ = ["correct_image", "correct_in_own_frame"]


def _field_in_after_frame(field: np.ndarray, matrix: np.ndarray, size: tuple[int, int]):
    """Sample a before-frame field at the before-frame position of every after-photo pixel."""
    f = np.ascontiguousarray(field, np.float32)
    return warp_by_matrix(
        f,
        matrix,
        size,
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        border_mode=cv2.BORDER_REPLICATE,
    )


def correct_image(result: LightingResult, rgb: np.ndarray, to_fit_frame: np.ndarray) -> np.ndarray:
    """Apply a pair's lighting correction to any image of the after photo.

    ``to_fit_frame`` (3 x 3) maps ``rgb``'s pixels to the pixels of the frame the correction was
    fitted in (the before photo's frame at the fitting resolution). The colour model is a
    per-pixel function and the shading fields are smooth, so the correction carries over to
    another frame or resolution: the fields are sampled at each pixel's position in the fitting
    frame.
    """
    if result.apply_after is None:
        return np.asarray(rgb, np.float32)
    size = (rgb.shape[1], rgb.shape[0])
    rel = result.relative_field
    if rel is not None:
        rel = _field_in_after_frame(rel, to_fit_frame, size)
    out = result.apply_after(np.asarray(rgb, np.float32), rel)
    if result.absolute_field is not None:
        f = _field_in_after_frame(result.absolute_field, to_fit_frame, size)
        out = linear_to_srgb(srgb_to_linear(out) / f[..., None])
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def correct_in_own_frame(result: LightingResult, after_rgb: np.ndarray, alignment) -> np.ndarray:
    """Apply a pair's lighting correction to the after photo in its own (unwarped) frame.

    The fields are carried from the before frame into the after frame through the alignment
    (``alignment.matrix`` maps after -> before; for a mesh warp its global part), see
    :func:`correct_image`. Scoring on unwarped pixels avoids the softening that interpolation
    would add to one photo only.
    """
    return correct_image(result, after_rgb, alignment.matrix)
