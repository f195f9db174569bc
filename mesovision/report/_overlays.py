"""Drawings on the report's photos: the treated regions' outlines and the change maps.

A change map shows, on a grey copy of the before photo, where one colour coordinate moved from
the before photo to the (lighting-normalized) after photo: after - before per pixel, lightly
smoothed, coloured only where it moved by more than :data:`CHANGE_MAPS`' threshold (a retake's
pixel-level spread on unchanged skin is below it) and with an opacity growing up to the limit.
The colour map is ColorBrewer's diverging ``PuOr`` (purple: lower, orange: higher), readable
with every common colour-vision deficiency. Only the facial skin of the before photo's face mesh
is coloured.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["CHANGE_CMAP", "CHANGE_MAPS", "ChangeMap", "change_map", "draw_outlines"]

CHANGE_CMAP = "PuOr_r"


@dataclass(frozen=True)
class ChangeMap:
    """One change map: CIELAB channel (0 L*, 1 a*, 2 b*), what it is called, the change below
    which nothing is coloured and the change of full colour."""

    channel: int
    label: str
    unit: str
    threshold: float
    limit: float


#: The report's change maps by image name.
CHANGE_MAPS = {
    "change_redness": ChangeMap(1, "redness", "a* units", 2.0, 8.0),
    "change_lightness": ChangeMap(0, "lightness", "L* units", 4.0, 15.0),
}


def change_map(
    before: np.ndarray, after: np.ndarray, spec: ChangeMap, mask: np.ndarray | None
) -> np.ndarray:
    """The change map of ``spec`` (float RGB in [0, 1], the photos' frame)."""
    import cv2
    import matplotlib

    from ..color import rgb_to_lab

    d = rgb_to_lab(after)[..., spec.channel] - rgb_to_lab(before)[..., spec.channel]
    d = cv2.GaussianBlur(d.astype(np.float32), (0, 0), 1.5)
    grey = before.astype(np.float32) @ np.array([0.2126, 0.7152, 0.0722], np.float32)
    out = np.repeat(grey[..., None], 3, axis=2)
    strength = np.clip((np.abs(d) - spec.threshold) / (spec.limit - spec.threshold), 0, 1)
    if mask is not None:
        strength = np.where(mask, strength, 0.0)
    lut = matplotlib.colormaps[CHANGE_CMAP](np.linspace(0, 1, 256))[:, :3].astype(np.float32)
    idx = np.round((np.clip(d / spec.limit, -1, 1) + 1) * 127.5).astype(np.uint8)
    w = (0.85 * np.sqrt(strength)).astype(np.float32)[..., None]
    return np.clip(out * (1 - w) + lut[idx] * w, 0, 1).astype(np.float32)


def draw_outlines(rgb: np.ndarray, polygons: list[np.ndarray], *, width_px: float) -> np.ndarray:
    """``rgb`` with each polygon (``(N, 2)`` pixel ``x, y``) outlined: a dark line under a white
    one, visible on any skin."""
    import cv2

    out = np.ascontiguousarray(rgb, dtype=np.float32).copy()
    pts = [np.round(p).astype(np.int32).reshape(-1, 1, 2) for p in polygons]
    w = max(1, int(round(width_px)))
    cv2.polylines(out, pts, True, (0.1, 0.1, 0.1), w + 1, cv2.LINE_AA)
    cv2.polylines(out, pts, True, (1.0, 1.0, 1.0), w, cv2.LINE_AA)
    return out
