"""Checks of the images and masks the metrics are given, with the value seen in the message.

An image is float RGB shaped ``(row, col, 3)`` (see :mod:`mesovision.types`); a mask is any
array of the image's ``(row, col)`` shape, read as bool.
"""

from __future__ import annotations

import numpy as np

__all__ = ["check_mask", "check_rgb"]


def check_rgb(rgb: np.ndarray) -> np.ndarray:
    """``rgb`` as an array; ``ValueError`` unless it is float and shaped ``(row, col, 3)``."""
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected an RGB image shaped (row, col, 3), got shape {rgb.shape}")
    if not np.issubdtype(rgb.dtype, np.floating):
        raise ValueError(f"expected float sRGB in [0, 1] (see mesovision.types), got {rgb.dtype}")
    return rgb


def check_mask(mask: np.ndarray, shape: tuple[int, int], what: str) -> np.ndarray:
    """``mask`` as bool (no copy when it is bool); ``ValueError`` naming ``what`` unless its
    shape is ``shape``."""
    mask = np.asarray(mask)
    if mask.shape != tuple(shape):
        raise ValueError(f"{what} has shape {mask.shape}, the image {tuple(shape)}")
    return mask.astype(bool, copy=False)
