"""Skin metrics: a registry of named metrics, per-pixel maps computed once, region scoring.

Typical use::

    maps = prepare(rgb, roi_mask=masks["face"], px_per_mm=None, baseline=before_baseline)
    values = score_region(maps, masks["left_cheek"])        # {metric name: float}
    scores = score_regions(rgb, masks)                       # {region: {metric: float}}

Every metric is registered (:func:`register`) with a dotted name ``family.metric``, a unit, a
direction and a docstring carrying its formula and a published reference; ``REGISTRY`` lists them
(``mesovision metrics`` prints :func:`metric_table`). Families: ``texture``, ``redness``,
``pigmentation``, ``bruise``.

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

from . import bruise, pigmentation, redness, texture  # noqa: F401  (fill the registry)
from ._maps import ImageMaps, RegionView, SkinBaseline, prepare
from ._registry import DIRECTIONS, REGISTRY, MetricSpec, get_metric, register

__all__ = [
    "DIRECTIONS",
    "REGISTRY",
    "ImageMaps",
    "MetricSpec",
    "RegionView",
    "SkinBaseline",
    "TILE_MIN_COVER",
    "get_metric",
    "metric_table",
    "prepare",
    "register",
    "score_region",
    "score_region_moves",
    "score_regions",
    "tile_table",
    "tile_values",
]

#: A tile is used by :func:`tile_values` when the region covers at least this share of it.
TILE_MIN_COVER = 0.5


def _specs(metrics: Iterable[str] | None) -> list[MetricSpec]:
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
    maps: ImageMaps, mask: np.ndarray, *, metrics: Iterable[str] | None = None
) -> dict[str, float]:
    """Every metric (or those named in ``metrics``) over ``mask`` (full-frame bool).

    Unknown names raise :class:`~mesovision.errors.UsageError`; a mask reaching outside the
    prepared window raises it too.
    """
    specs = _specs(metrics)
    view = RegionView.from_mask(maps, mask)
    return {spec.name: _evaluate(spec, view) for spec in specs}


def score_region_moves(
    maps: ImageMaps,
    mask: np.ndarray,
    moves: Iterable[tuple[int, int]],
    *,
    metrics: Iterable[str] | None = None,
) -> list[dict[str, float]]:
    """:func:`score_region` of ``mask`` moved by each ``(drow, dcol)`` of ``moves`` (pixels moved
    out of the prepared window are dropped).

    A moved region differs from the region only along its edges, so a ``pixel_mean`` metric's
    map sums are the region's, less the sums over the pixels the move leaves, plus those over
    the pixels it enters (equal to the direct sums up to floating-point rounding); ``generic``
    metrics are evaluated on the moved region.
    """
    specs = _specs(metrics)
    pixel_maps = {m for spec in specs if spec.kind == "pixel_mean" for m in spec.maps}
    base = RegionView.from_mask(maps, mask)
    rs, cs = base.box
    H, W = maps.maps["L"].shape
    out = []
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
        left = _flat_index(*np.nonzero(a & ~b), u0, v0, W)
        entered = _flat_index(*np.nonzero(b & ~a), u0, v0, W)
        # The moved view's map means, as RegionView.mean would cache them.
        for name in pixel_maps if moved.n else ():
            m = maps.maps[name].ravel()
            total = base.mean(name) * base.n if base.n else 0.0
            total += float(
                m.take(entered).sum(dtype=np.float64) - m.take(left).sum(dtype=np.float64)
            )
            moved._cache["mean:" + name] = total / moved.n
        out.append({spec.name: _evaluate(spec, moved) for spec in specs})
    return out


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
) -> dict[str, dict[str, float]]:
    """``{region: {metric: value}}`` for every region mask of ``rgb``.

    The maps are computed once on the bounding box of the union of the masks. Default baseline:
    the ``face`` mask if present, else the union of the masks.
    """
    specs = _specs(metrics)
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
    maps = prepare(rgb, roi_mask=union, px_per_mm=px_per_mm, baseline=baseline)
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

    The tile grid (anchored at the photo's top-left pixel), the per-tile map means and each
    tile's view (with its cached GLCM and connected components) are computed once and shared by
    all metrics.
    """
    specs = _specs(metrics)
    tile_px = int(tile_px)
    if tile_px < 1:
        raise ValueError(f"tile_px must be >= 1, got {tile_px}")
    empty = np.empty(0, dtype=np.float64)
    view = RegionView.from_mask(maps, mask)
    if view.n == 0:
        return {s.name: empty for s in specs}
    r_org, c_org = view.origin_rc
    rr, cc = np.nonzero(view.mask)
    tr = (rr + r_org) // tile_px
    tc = (cc + c_org) // tile_px
    tr0, tc0 = int(tr.min()), int(tc.min())
    ncols = int(tc.max()) - tc0 + 1
    tid = (tr - tr0) * ncols + (tc - tc0)
    counts = np.bincount(tid)
    # Flat indices of the region's pixels in the (contiguous) window maps.
    flat = _flat_index(rr, cc, view.box[0].start, view.box[1].start, maps.maps["L"].shape[1])
    tile_sums: dict[str, np.ndarray] = {}
    tile_views: dict[int, RegionView] = {}
    w0 = maps.window

    def tile_view(t: int) -> RegionView:
        if t not in tile_views:
            row, col = divmod(t, ncols)
            # tile bounds in crop coordinates, intersected with the view's box
            r_a = (tr0 + row) * tile_px - w0[0]
            c_a = (tc0 + col) * tile_px - w0[2]
            rs = slice(max(r_a, view.box[0].start), min(r_a + tile_px, view.box[0].stop))
            cs = slice(max(c_a, view.box[1].start), min(c_a + tile_px, view.box[1].stop))
            sub = view.mask[
                rs.start - view.box[0].start : rs.stop - view.box[0].start,
                cs.start - view.box[1].start : cs.stop - view.box[1].start,
            ]
            tile_views[t] = RegionView(maps, (rs, cs), np.ascontiguousarray(sub))
        return tile_views[t]

    out = {}
    for spec in specs:
        need = max(spec.min_pixels, int(np.ceil(TILE_MIN_COVER * tile_px * tile_px)))
        used = np.flatnonzero(counts >= need)
        if used.size == 0 or (spec.needs_scale and maps.px_per_mm is None):
            out[spec.name] = empty
        elif spec.kind == "pixel_mean":
            for m in spec.maps:
                if m not in tile_sums:
                    # (bincount sums its weights in float64)
                    weights = maps.maps[m].ravel().take(flat)
                    tile_sums[m] = np.bincount(tid, weights=weights, minlength=len(counts))
            means = [tile_sums[m][used] / counts[used] for m in spec.maps]
            out[spec.name] = np.asarray(spec.func(*means), dtype=np.float64).reshape(-1)
        else:
            out[spec.name] = np.asarray(
                [_evaluate(spec, tile_view(int(t))) for t in used], dtype=np.float64
            )
    return out


def metric_table() -> list[dict[str, object]]:
    """One row per registered metric (name, family, unit, direction, kind, summary, formula,
    reference), sorted by name: what ``mesovision metrics`` prints."""
    return [REGISTRY[name].as_dict() for name in sorted(REGISTRY)]
