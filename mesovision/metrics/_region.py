"""A region of prepared maps: the mask's box in the crop, means and values under the mask.

:class:`RegionView` is what a ``generic`` metric receives. It memoizes what several metrics of
a region share: map means, the values under the mask, connected components, and any product a
family asks for (:meth:`RegionView.memo`, e.g. the GLCM statistics or the spots).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import cv2
import numpy as np

from ..errors import UsageError
from ._maps import ImageMaps, SkinBaseline
from ._shapes import component_areas
from .inputs import check_mask

__all__ = ["RegionView"]

T = TypeVar("T")


class RegionView:
    """A region of an :class:`ImageMaps`: the mask's bounding box inside the crop, and the mask.

    ``mask`` is the bool mask on that box; ``n`` its pixel count; :meth:`crop` gives a map's box;
    :meth:`mean` a map's mean over the mask (OpenCV, double accumulation); :meth:`values` the
    map's values under the mask; :meth:`memo` any per-region product, made once.
    """

    def __init__(self, maps: ImageMaps, box: tuple[slice, slice], mask: np.ndarray):
        self.image = maps
        self.box = box
        self.mask = mask
        self.n = int(np.count_nonzero(mask))
        self._mask_u8 = mask.view(np.uint8) if mask.dtype == bool else mask.astype(np.uint8)
        self._cache: dict[str, object] = {}

    @classmethod
    def from_mask(cls, maps: ImageMaps, mask: np.ndarray) -> RegionView:
        """View of a full-frame mask; raises ``UsageError`` if it reaches outside the crop."""
        mask = check_mask(mask, maps.shape, "region mask")
        r0, r1, c0, c1 = maps.window
        inner = mask[r0:r1, c0:c1]
        total = int(np.count_nonzero(mask))
        n_in = int(np.count_nonzero(inner))
        if n_in != total:
            raise UsageError(
                f"region mask has {total - n_in} of {total} pixels outside the prepared window "
                f"(rows {r0}:{r1}, cols {c0}:{c1}); pass a roi_mask covering every region"
            )
        rows = np.flatnonzero(inner.any(axis=1))
        cols = np.flatnonzero(inner.any(axis=0))
        if rows.size == 0:
            box = (slice(0, 0), slice(0, 0))
        else:
            box = (slice(int(rows[0]), int(rows[-1]) + 1), slice(int(cols[0]), int(cols[-1]) + 1))
        return cls(maps, box, np.ascontiguousarray(inner[box]))

    def on_maps(self, maps: ImageMaps) -> RegionView:
        """The view of the same mask on ``maps`` (of the same crop, some maps replaced, e.g. the
        paired bruise maps), keeping the means already taken of the maps that are the same
        arrays in both (the others are taken again when asked for)."""
        view = RegionView(maps, self.box, self.mask)
        for key, value in self._cache.items():
            name = key[5:]
            if key.startswith("mean:") and name in maps.maps:
                if maps.maps[name] is self.image.maps[name]:
                    view._cache[key] = value
        return view

    @property
    def px_per_mm(self) -> float | None:
        """The photo's scale (px per mm), if known."""
        return self.image.px_per_mm

    @property
    def baseline(self) -> SkinBaseline:
        """The skin baseline the maps were prepared with."""
        return self.image.baseline

    @property
    def origin_rc(self) -> tuple[int, int]:
        """Full-frame (row, col) of the box's top-left pixel."""
        return self.image.window[0] + self.box[0].start, self.image.window[2] + self.box[1].start

    def memo(self, key: str, make: Callable[[], T]) -> T:
        """``make()``, made once per view for ``key`` and kept (a family's per-region product,
        e.g. ``"glcm"``; keys with a ``:`` are the view's own: ``mean:``, ``values:``, ``cc:``)."""
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]  # type: ignore[return-value]

    def set_mean(self, name: str, value: float) -> None:
        """Record map ``name``'s mean over the mask when the caller has it from elsewhere (from
        another view's sums, :func:`~mesovision.metrics.score_region_moves`)."""
        self._cache["mean:" + name] = float(value)

    def crop(self, name: str) -> np.ndarray:
        """Map ``name`` on the view's box."""
        return self.image.maps[name][self.box]

    def mean(self, name: str) -> float:
        """Map ``name``'s mean over the mask (NaN on an empty view)."""
        if self.n == 0:
            return float("nan")
        return self.memo(
            "mean:" + name, lambda: float(cv2.mean(self.crop(name), mask=self._mask_u8)[0])
        )

    def values(self, name: str) -> np.ndarray:
        """Map ``name``'s values under the mask (1-D)."""
        return self.memo("values:" + name, lambda: self.crop(name)[self.mask])

    def components(self, name: str, *, min_area: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """8-connected components of bool map ``name`` inside the mask with at least
        ``min_area`` pixels: ``(labels, areas, ids)``; ``areas`` are the kept components' pixel
        counts, ``ids`` their labels in ``labels`` (OpenCV's labelling)."""

        def make():
            _, labels, areas = component_areas(self.crop(name) & self.mask)
            keep = np.flatnonzero(areas[1:] >= min_area) + 1
            return labels, areas[keep], keep

        return self.memo(f"cc:{name}:{min_area}", make)
