"""Heatmaps: one overlay per metric family on the photo, showing only where the skin departs.

Each family with a :class:`~mesovision.metrics.HeatmapSpec` (registered with the family, see
:mod:`mesovision.metrics._family`) shows one map of :class:`~mesovision.metrics.ImageMaps` on a
FIXED range (so that a before and an after heatmap share one colour scale), relative to the
patient's own baseline skin where the spec names a reference:

================  ==========================================  ===============  ==========
family            map                                         range            colormap
================  ==========================================  ===============  ==========
``bruise``        bruise score (departure beyond the margin)  0 .. 2           ``RdPu``
``pigmentation``  melanin density - baseline median           0 .. 0.3 OD      ``YlOrBr``
``redness``       haemoglobin density - baseline median       0 .. 0.25 OD     ``YlOrRd``
``texture``       ridge response R (see texture metrics)      0 .. 6 L*        ``PuBu``
================  ==========================================  ===============  ==========

The photo shows through wherever the map is at or below the range's low end (skin like the
baseline: transparent), outside ``mask`` and outside the prepared window. Above it the colour's
opacity grows with the value, ``alpha * sqrt(norm)`` for the normalized value ``norm`` in
(0, 1], so a faint departure stays faint and the photo never turns dark. The colour maps are
ColorBrewer's sequential schemes, light to dark in one hue family: readable with every common
colour-vision deficiency, and in grey.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..errors import UsageError
from ._family import FAMILIES as _REGISTERED
from ._family import FamilyView, HeatmapSpec
from ._maps import ImageMaps, prepare
from .inputs import check_mask, check_rgb

__all__ = ["FAMILIES", "HeatmapSpec", "heatmap", "family_map"]

#: family -> its :class:`HeatmapSpec` (unpacks as ``(map name, baseline attribute subtracted or
#: None, low, high, colormap)``), for every registered family with a heatmap (a live view).
FAMILIES: Mapping[str, HeatmapSpec] = FamilyView(
    lambda: {n: f.heatmap for n, f in _REGISTERED.items() if f.heatmap is not None}
)


def _lut(name: str) -> np.ndarray:
    import matplotlib

    return matplotlib.colormaps[name](np.linspace(0.0, 1.0, 256))[:, :3].astype(np.float32)


def _spec(family: str) -> HeatmapSpec:
    try:
        return FAMILIES[family]
    except KeyError:
        valid = ", ".join(FAMILIES)
        raise UsageError(f"unknown heatmap family {family!r}; valid: {valid}") from None


def family_map(maps: ImageMaps, family: str) -> np.ndarray:
    """The family's map in the full photo frame, scaled to [0, 1] on its fixed range (NaN
    outside the prepared window)."""
    spec = _spec(family)
    values = maps.full_frame(spec.map)
    if spec.reference is not None:
        values = values - np.float32(getattr(maps.baseline, spec.reference))
    lo, hi = spec.low, spec.high
    return np.clip((values - np.float32(lo)) / np.float32(hi - lo), 0.0, 1.0)


def heatmap(
    rgb: np.ndarray,
    maps_or_rgb: ImageMaps | np.ndarray,
    family: str,
    *,
    mask: np.ndarray | None = None,
    alpha: float = 0.8,
) -> np.ndarray:
    """Overlay the ``family`` heatmap on ``rgb`` (float32 RGB in [0, 1], the photo's frame).

    ``maps_or_rgb`` is the photo's :class:`ImageMaps` or an RGB image to prepare (with
    ``roi_mask=mask``); ``mask`` limits the coloured area; ``alpha`` in [0, 1] is the opacity of
    the colour at the top of the range (``alpha * sqrt(norm)`` below it, 0 at or below the low
    end). Unknown ``family`` -> :class:`~mesovision.errors.UsageError`.
    """
    spec = _spec(family)
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    base = check_rgb(rgb).astype(np.float32)
    shape = base.shape[:2]
    if mask is not None:
        mask = check_mask(mask, shape, "mask")
    maps = (
        maps_or_rgb if isinstance(maps_or_rgb, ImageMaps) else prepare(maps_or_rgb, roi_mask=mask)
    )
    if maps.shape != shape:
        raise ValueError(f"maps are for a {maps.shape} photo, rgb is {shape}")
    raw = family_map(maps, family)
    inside = np.isfinite(raw) if mask is None else np.isfinite(raw) & mask
    norm = np.nan_to_num(raw)
    w = np.where(inside & (norm > 0), np.sqrt(norm) * np.float32(alpha), 0).astype(np.float32)
    colour = _lut(spec.colormap)[np.round(norm * 255).astype(np.uint8)]
    w = w[..., None]
    return np.clip(base * (1 - w) + colour * w, 0.0, 1.0).astype(np.float32)
