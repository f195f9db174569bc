"""Heatmaps: one overlay per family (redness, melanin, texture, bruise) on the photo.

Each family shows one map of :class:`~mesovision.metrics.ImageMaps` on a FIXED range (so that a
before and an after heatmap share one colour scale), relative to the skin baseline where the map
has one:

============  ==========================================  ===============  ==========
family        map                                         range            colormap
============  ==========================================  ===============  ==========
``redness``   haemoglobin density - baseline median       0 .. 0.25 OD     ``inferno``
``melanin``   melanin density - baseline median           -0.1 .. 0.3 OD   ``cividis``
``texture``   ridge response R (see texture metrics)      0 .. 6 L*        ``magma``
``bruise``    bruise score (departure beyond the margin)  0 .. 2           ``plasma``
============  ==========================================  ===============  ==========

Outside ``mask`` (and outside the prepared window) the photo is shown unchanged; for ``bruise``
only bruise pixels are coloured.
"""

from __future__ import annotations

import numpy as np

from ..errors import UsageError
from ._maps import ImageMaps, _check_mask, _check_rgb, prepare

__all__ = ["FAMILIES", "heatmap", "family_map"]

#: family -> (map name, baseline attribute subtracted or None, low, high, colormap)
FAMILIES: dict[str, tuple[str, str | None, float, float, str]] = {
    "redness": ("hb", "haemoglobin_density_median", 0.0, 0.25, "inferno"),
    "melanin": ("mel", "melanin_density_median", -0.1, 0.3, "cividis"),
    "texture": ("ridge", None, 0.0, 6.0, "magma"),
    "bruise": ("bruise_score", None, 0.0, 2.0, "plasma"),
}


def _lut(name: str) -> np.ndarray:
    import matplotlib

    return matplotlib.colormaps[name](np.linspace(0.0, 1.0, 256))[:, :3].astype(np.float32)


def family_map(maps: ImageMaps, family: str) -> np.ndarray:
    """The family's map in the full photo frame, scaled to [0, 1] on its fixed range (NaN
    outside the prepared window)."""
    if family not in FAMILIES:
        raise UsageError(f"unknown heatmap family {family!r}; valid: {', '.join(FAMILIES)}")
    name, ref, lo, hi, _ = FAMILIES[family]
    values = maps.full_frame(name)
    if ref is not None:
        values = values - np.float32(getattr(maps.baseline, ref))
    return np.clip((values - np.float32(lo)) / np.float32(hi - lo), 0.0, 1.0)


def heatmap(
    rgb: np.ndarray,
    maps_or_rgb: ImageMaps | np.ndarray,
    family: str,
    *,
    mask: np.ndarray | None = None,
    alpha: float = 0.5,
) -> np.ndarray:
    """Overlay the ``family`` heatmap on ``rgb`` (float32 RGB in [0, 1], the photo's frame).

    ``maps_or_rgb`` is the photo's :class:`ImageMaps` or an RGB image to prepare (with
    ``roi_mask=mask``); ``mask`` limits the coloured area; ``alpha`` in [0, 1] is the opacity of
    the colour. Unknown ``family`` -> :class:`~mesovision.errors.UsageError`.
    """
    if family not in FAMILIES:
        raise UsageError(f"unknown heatmap family {family!r}; valid: {', '.join(FAMILIES)}")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    base = _check_rgb(rgb).astype(np.float32)
    shape = base.shape[:2]
    if mask is not None:
        mask = _check_mask(mask, shape, "mask")
    maps = (
        maps_or_rgb if isinstance(maps_or_rgb, ImageMaps) else prepare(maps_or_rgb, roi_mask=mask)
    )
    if maps.shape != shape:
        raise ValueError(f"maps are for a {maps.shape} photo, rgb is {shape}")
    norm = family_map(maps, family)
    weight = np.isfinite(norm)
    if mask is not None:
        weight &= mask
    if family == "bruise":
        weight &= np.nan_to_num(norm) > 0
    idx = np.round(np.nan_to_num(norm) * 255).astype(np.uint8)
    colour = _lut(FAMILIES[family][4])[idx]
    w = (weight.astype(np.float32) * np.float32(alpha))[..., None]
    return np.clip(base * (1 - w) + colour * w, 0.0, 1.0).astype(np.float32)
