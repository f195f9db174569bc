"""Skin metrics: a registry of named metrics, per-pixel maps computed once, region scoring.

Typical use::

    maps = prepare(rgb, roi_mask=masks["face"], px_per_mm=None, baseline=before_baseline)
    values = score_region(maps, masks["left_cheek"])        # {metric name: float}
    scores = score_regions(rgb, masks)                       # {region: {metric: float}}

Every metric is registered (:func:`register`) with a dotted name ``family.metric``, a unit, a
direction and a docstring carrying its formula and a published reference; ``REGISTRY`` lists them
(``mesovision metrics`` prints :func:`metric_table`). Families: ``texture``, ``redness``,
``pigmentation``, ``bruise``, ``hair``, ``body``, ``swelling``; each is one module that
registers its metrics, its per-pixel maps, its heatmap and its noise terms together
(:func:`register_family`, :class:`Family`).

Values are floats; NaN (never an exception) when the region is empty or smaller than the metric's
``min_pixels`` (16 px for pixel means, 100 px for texture and spot metrics), or when a metric in
mm² or per cm² is asked without a scale. Units never switch silently: a quantity that needs a
scale is registered twice, once per unit (``..._per_cm2`` / ``..._per_kpx``, ``..._mm2`` /
``..._px``).

Two kinds of metric (``MetricSpec.kind``): ``"pixel_mean"`` metrics are a function of region
means of per-pixel maps, so :func:`tile_values` evaluates them for every tile in one pass;
``"generic"`` metrics (GLCM, connected components) are evaluated tile by tile.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from . import body, bruise, hair, pigmentation, redness, swelling, texture  # noqa: F401
from ._family import (
    FAMILIES,
    HEADLINE_METRICS,
    NEAR_THRESHOLD_MAPS,
    Family,
    HeatmapSpec,
    get_family,
    headline_choices,
    metrics_for_mode,
    register_family,
    unregister_family,
)
from ._maps import FLIP_BAND_PX, ImageMaps, MapContext, SkinBaseline, near_threshold, prepare
from ._region import RegionView
from ._registry import DIRECTIONS, REGISTRY, MetricSpec, get_metric, register
from ._shapes import nonzero_rc

__all__ = [
    "display_name",
    "DIRECTIONS",
    "FAMILIES",
    "FLIP_BAND_PX",
    "HEADLINE_METRICS",
    "NEAR_THRESHOLD_MAPS",
    "REGISTRY",
    "Family",
    "HeatmapSpec",
    "ImageMaps",
    "MapContext",
    "MetricSpec",
    "RegionView",
    "SkinBaseline",
    "TILE_MIN_COVER",
    "get_family",
    "headline_choices",
    "get_metric",
    "metric_specs",
    "metrics_for_mode",
    "near_threshold",
    "metric_table",
    "prepare",
    "register",
    "register_family",
    "score_region",
    "score_region_moves",
    "score_regions",
    "grid_labels",
    "patch_table",
    "tile_table",
    "tile_values",
    "unregister_family",
]

#: A tile is used by :func:`tile_values` when the region covers at least this share of it.
TILE_MIN_COVER = 0.5


def metric_specs(metrics: Iterable[str] | None = None) -> list[MetricSpec]:
    """The specs of the metrics named in ``metrics`` (one name or several; every registered
    metric when ``None``); an unknown name raises :class:`~mesovision.errors.UsageError`."""
    if metrics is None:
        return list(REGISTRY.values())
    if isinstance(metrics, str):
        metrics = [metrics]
    return [get_metric(m) for m in metrics]


def _evaluate(spec: MetricSpec, view: RegionView) -> float:
    if view.n < spec.min_pixels or (spec.needs_scale and view.px_per_mm is None):
        return float("nan")
    if spec.kind == "pixel_mean":
        return float(spec.func(*(view.mean(m) for m in spec.maps)))
    return float(spec.func(view))


def score_region(
    maps: ImageMaps,
    mask: np.ndarray,
    *,
    metrics: Iterable[str] | None = None,
    view: RegionView | None = None,
) -> dict[str, float]:
    """Every metric (or those named in ``metrics``) over ``mask`` (full-frame bool).

    ``view``: the caller's :class:`RegionView` of ``mask`` on ``maps``
    (``RegionView.from_mask(maps, mask)``), whose cached means and products the caller can then
    reuse. Unknown names raise :class:`~mesovision.errors.UsageError`; a mask reaching outside
    the prepared window raises it too.
    """
    specs = metric_specs(metrics)
    view = RegionView.from_mask(maps, mask) if view is None else view
    return {spec.name: _evaluate(spec, view) for spec in specs}


def score_region_moves(
    maps: ImageMaps,
    mask: np.ndarray,
    moves: Iterable[tuple[int, int]],
    *,
    metrics: Iterable[str] | None = None,
    base: RegionView | None = None,
) -> list[dict[str, float]]:
    """:func:`score_region` of ``mask`` moved by each ``(drow, dcol)`` of ``moves`` (pixels moved
    out of the prepared window are dropped). ``base``: the :class:`RegionView` of ``mask`` on
    ``maps`` when the caller has one (the region's map means are then not summed again).

    A moved region differs from the region only along its edges, so a ``pixel_mean`` metric's
    map sums are the region's, less the sums over the pixels the move leaves, plus those over
    the pixels it enters (equal to the direct sums up to floating-point rounding); ``generic``
    metrics are evaluated on the moved region.
    """
    specs = metric_specs(metrics)
    pixel_maps = {m for spec in specs if spec.kind == "pixel_mean" for m in spec.maps}
    base = RegionView.from_mask(maps, mask) if base is None else base
    rs, cs = base.box
    H, W = maps.maps["L"].shape
    views, edges = [], []
    for dy, dx in moves:
        dy, dx = int(dy), int(dx)
        # The moved box in crop coordinates, clipped to the window, and the mask's part in it.
        r0, c0 = max(0, rs.start + dy), max(0, cs.start + dx)
        r1, c1 = min(H, rs.stop + dy), min(W, cs.stop + dx)
        if r1 <= r0 or c1 <= c0:
            moved = RegionView(maps, (slice(0, 0), slice(0, 0)), np.zeros((0, 0), bool))
        else:
            sub = base.mask[r0 - rs.start - dy : r1 - rs.start - dy,
                            c0 - cs.start - dx : c1 - cs.start - dx]  # fmt: skip
            moved = RegionView(maps, (slice(r0, r1), slice(c0, c1)), np.ascontiguousarray(sub))
        # Both masks on the union of the two boxes: the pixels left and entered.
        u0, u1 = min(rs.start, r0), max(rs.stop, r1)
        v0, v1 = min(cs.start, c0), max(cs.stop, c1)
        a = np.zeros((u1 - u0, v1 - v0), bool)
        b = np.zeros_like(a)
        a[rs.start - u0 : rs.stop - u0, cs.start - v0 : cs.stop - v0] = base.mask
        if moved.n:
            b[r0 - u0 : r1 - u0, c0 - v0 : c1 - v0] = moved.mask
        # Flat indices into the (contiguous) window maps of the pixels left and entered.
        entered = _flat_index(*nonzero_rc(b & ~a), u0, v0, W)
        # the pixels entered, then those left: one gather per map
        both = np.concatenate((entered, _flat_index(*nonzero_rc(a & ~b), u0, v0, W)))
        views.append(moved)
        edges.append((entered.size, both))
    # The moved views' map means, as RegionView.mean would cache them: map by map, the moves'
    # gathers one after the other (they read the same cache lines, along the region's edge).
    for name in pixel_maps if any(v.n for v in views) else ():
        flat = maps.maps[name].ravel()
        for moved, (k, both) in zip(views, edges, strict=True):
            if not moved.n:
                continue
            v = flat.take(both)
            total = base.mean(name) * base.n if base.n else 0.0
            total += float(v[:k].sum(dtype=np.float64) - v[k:].sum(dtype=np.float64))
            moved.set_mean(name, total / moved.n)
    return [{spec.name: _evaluate(spec, moved) for spec in specs} for moved in views]


def _flat_index(rr: np.ndarray, cc: np.ndarray, r0: int, c0: int, width: int) -> np.ndarray:
    """Flat indices, in an array ``width`` columns wide, of the pixels at rows ``rr`` and
    columns ``cc`` of a box placed at ``(r0, c0)``."""
    return (rr + r0) * width + (cc + c0)


def score_regions(
    rgb: np.ndarray,
    masks: dict[str, np.ndarray],
    *,
    px_per_mm: float | None = None,
    baseline: SkinBaseline | None = None,
    metrics: Iterable[str] | None = None,
    landmarks=None,
) -> dict[str, dict[str, float]]:
    """``{region: {metric: value}}`` for every region mask of ``rgb``.

    The maps are computed once on the bounding box of the union of the masks. Default baseline:
    the ``face`` mask if present, else the union of the masks. ``landmarks``
    (:class:`~mesovision.types.Landmarks` on ``rgb``) for the geometric metrics (swelling),
    NaN without them.
    """
    specs = metric_specs(metrics)
    names = [s.name for s in specs]
    if not masks:
        return {}
    union = np.zeros(rgb.shape[:2], dtype=bool)
    for m in masks.values():
        union |= np.asarray(m, dtype=bool)
    if not union.any():
        return {region: dict.fromkeys(names, float("nan")) for region in masks}
    if baseline is None:
        face = masks.get("face")
        ref = face if face is not None and np.any(face) else union
        baseline = SkinBaseline.from_image(rgb, ref)
    maps = prepare(rgb, roi_mask=union, px_per_mm=px_per_mm, baseline=baseline, landmarks=landmarks)
    return {region: score_region(maps, m, metrics=names) for region, m in masks.items()}


def tile_values(maps: ImageMaps, mask: np.ndarray, metric: str, *, tile_px: int) -> np.ndarray:
    """``metric`` evaluated on each ``tile_px`` x ``tile_px`` tile of the region.

    Tiles lie on a grid anchored at the photo's top-left pixel; a tile counts when the region
    covers at least ``TILE_MIN_COVER`` of it and at least the metric's ``min_pixels``. Returns a
    1-D float array, one value per used tile in row-major tile order (empty when none).
    ``pixel_mean`` metrics are computed for all tiles at once; ``generic`` ones tile by tile.
    """
    return tile_table(maps, mask, [metric], tile_px=tile_px)[metric]


def tile_table(
    maps: ImageMaps,
    mask: np.ndarray,
    metrics: Iterable[str] | None = None,
    *,
    tile_px: int,
) -> dict[str, np.ndarray]:
    """:func:`tile_values` of several metrics at once: ``{metric: per-tile values}``.

    The tile grid is anchored at the photo's top-left pixel (:func:`grid_labels`); see
    :func:`patch_table`, which this calls.
    """
    tile_px = int(tile_px)
    if tile_px < 1:
        raise ValueError(f"tile_px must be >= 1, got {tile_px}")
    labels = grid_labels(mask.shape[:2], tile_px)
    table = patch_table(maps, mask, labels, metrics, cell_px=tile_px * tile_px)
    return {name: values for name, (_, values) in table.items()}


def grid_labels(shape: tuple[int, int], tile_px: int) -> np.ndarray:
    """Tile number of every pixel of an image of ``shape``: ``tile_px`` x ``tile_px`` tiles on a
    grid anchored at the top-left pixel, numbered row by row (int32)."""
    h, w = shape
    ncols = -(-w // tile_px)
    rows = (np.arange(h) // tile_px).astype(np.int32) * ncols
    return rows[:, None] + (np.arange(w) // tile_px).astype(np.int32)[None, :]


def patch_table(
    maps: ImageMaps,
    mask: np.ndarray,
    labels: np.ndarray,
    metrics: Iterable[str] | None = None,
    *,
    cell_px: float | np.ndarray,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Metrics evaluated on patches of a region: ``{metric: (patch numbers, values)}``.

    ``labels`` (int, the shape of ``mask``) numbers the patch of every pixel (negative: none);
    a patch is the region's pixels of one number. A patch counts for a metric when it holds at
    least ``TILE_MIN_COVER`` x its cell size (``cell_px``: a number, or an array indexed by
    patch number) and at least the metric's ``min_pixels``. ``pixel_mean`` metrics are computed
    for all patches at once from per-patch map sums; the others patch by patch, each on its own
    view (with its cached GLCM and connected components). Patch numbers are sorted.
    """
    specs = metric_specs(metrics)
    empty = (np.empty(0, np.int64), np.empty(0, np.float64))
    view = RegionView.from_mask(maps, mask)
    if view.n == 0:
        return {s.name: empty for s in specs}
    r_org, c_org = view.origin_rc
    rr, cc = np.nonzero(view.mask)
    h, w = view.mask.shape
    lab = labels[r_org : r_org + h, c_org : c_org + w][view.mask]  # (the order of nonzero)
    keep = lab >= 0
    if not keep.all():
        rr, cc, lab = rr[keep], cc[keep], lab[keep]
    if lab.size == 0:
        return {s.name: empty for s in specs}
    ids, tid = _unique_inverse(lab)
    counts = np.bincount(tid, minlength=ids.size)
    cell = np.asarray(cell_px, np.float64)
    cell = cell[ids] if cell.ndim else np.full(ids.size, float(cell))
    # Flat indices of the region's pixels in the (contiguous) window maps.
    flat = _flat_index(rr, cc, view.box[0].start, view.box[1].start, maps.maps["L"].shape[1])
    sums: dict[str, np.ndarray] = {}
    patches = _Patches(maps, view.box, rr, cc, tid, counts)

    out = {}
    used_at: dict[int, np.ndarray] = {}  # the patches used, by the metrics' fewest pixels
    for spec in specs:
        if spec.min_pixels not in used_at:
            need = np.maximum(spec.min_pixels, np.ceil(TILE_MIN_COVER * cell))
            used_at[spec.min_pixels] = np.flatnonzero(counts >= need)
        used = used_at[spec.min_pixels]
        if used.size == 0 or (spec.needs_scale and maps.px_per_mm is None):
            out[spec.name] = empty
        elif spec.kind == "pixel_mean":
            for m in spec.maps:
                if m not in sums:
                    # (bincount sums its weights in float64)
                    weights = maps.maps[m].ravel().take(flat)
                    sums[m] = np.bincount(tid, weights=weights, minlength=ids.size)
            means = [sums[m][used] / counts[used] for m in spec.maps]
            values = np.asarray(spec.func(*means), dtype=np.float64).reshape(-1)
            out[spec.name] = (ids[used].astype(np.int64), values)
        else:
            values = np.asarray([_evaluate(spec, patches.view(int(t))) for t in used], np.float64)
            out[spec.name] = (ids[used].astype(np.int64), values)
    return out


class _Patches:
    """The views of a region's patches for :func:`patch_table`, each made once: the pixels
    ``(rr, cc)`` of patch ``t`` (``tid == t``; ``box`` the region's box in the crop), found
    through one stable sort of ``tid`` (the same pixels in the same order as the comparison
    ``tid == t``, without a pass over the region's pixels per patch)."""

    def __init__(self, maps: ImageMaps, box, rr, cc, tid: np.ndarray, counts: np.ndarray):
        self.maps, self.box, self.rr, self.cc, self.tid = maps, box, rr, cc, tid
        self.starts = np.concatenate(([0], np.cumsum(counts)))
        self.order: np.ndarray | None = None
        self.views: dict[int, RegionView] = {}

    def view(self, t: int) -> RegionView:
        """The view of patch ``t``."""
        if t not in self.views:
            if self.order is None:
                self.order = np.argsort(self.tid, kind="stable")
            sel = self.order[self.starts[t] : self.starts[t + 1]]
            r, c = self.rr[sel], self.cc[sel]
            r0, c0 = int(r.min()), int(c.min())
            sub = np.zeros((int(r.max()) - r0 + 1, int(c.max()) - c0 + 1), bool)
            sub[r - r0, c - c0] = True
            box = (
                slice(self.box[0].start + r0, self.box[0].start + r0 + sub.shape[0]),
                slice(self.box[1].start + c0, self.box[1].start + c0 + sub.shape[1]),
            )
            self.views[t] = RegionView(self.maps, box, sub)
        return self.views[t]


def _unique_inverse(lab: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``numpy.unique(lab, return_inverse=True)`` of small non-negative integers (patch
    numbers), by counting instead of sorting (about 10x faster)."""
    ids = np.flatnonzero(np.bincount(lab))
    index = np.zeros(int(ids[-1]) + 1, np.intp)
    index[ids] = np.arange(ids.size)
    return ids, index[lab]


def metric_table() -> list[dict[str, object]]:
    """One row per registered metric (name, family, unit, direction, kind, display name, plain
    explanation, unit as read, summary, formula, reference), sorted by name: what
    ``mesovision metrics`` prints."""
    return [REGISTRY[name].as_dict() for name in sorted(REGISTRY)]


def display_name(metric: str) -> str | None:
    """The registered display name of ``metric`` ("redness"), ``None`` for an unknown one (a
    table of an older run may name a metric no longer registered)."""
    spec = REGISTRY.get(metric)
    return spec.display if spec is not None else None
