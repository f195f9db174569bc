"""Region scoring in ``mesovision.metrics``: moved regions, patches, tiles and several regions.

Each fast path is checked against the direct one on a textured synthetic photo: the sums
that ``score_region_moves`` carries over from the region must give what ``score_region`` gives
on the moved mask; ``patch_table`` (all patches at once from per-patch sums) what
``score_region`` gives on each patch's own mask, with the cover rule applied by hand;
``score_regions`` what ``prepare`` and ``score_region`` give.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

import mesovision.metrics as M

SHAPE = (150, 170)


@pytest.fixture(scope="module")
def photo():
    """Skin-coloured, with smooth blotches, fine grain, dark brown dots and a line: every
    family has something to measure. ``roi`` is an ellipse inside the frame."""
    rng = np.random.default_rng(7)
    base = np.array([0.78, 0.58, 0.50], np.float32)
    blotch = gaussian_filter(rng.normal(size=SHAPE), 6) * 6
    grain = gaussian_filter(rng.normal(size=SHAPE), 0.8) * 0.03
    rgb = base * (1 + 0.03 * blotch[..., None]) + grain[..., None]
    rgb[..., 1] -= 0.02 * np.clip(blotch, 0, None)  # redder blotches
    yy, xx = np.mgrid[: SHAPE[0], : SHAPE[1]]
    for cy, cx in ((40, 50), (70, 100), (100, 60), (60, 130)):
        d = (yy - cy) ** 2 + (xx - cx) ** 2 <= 9
        rgb[d] *= np.array([0.75, 0.68, 0.6], np.float32)
    rgb[110:112, 40:130] *= 0.85
    rgb = np.clip(rgb, 0, 1).astype(np.float32)
    roi = ((yy - 75) / 62.0) ** 2 + ((xx - 85) / 72.0) ** 2 <= 1
    maps = M.prepare(rgb, roi_mask=roi, px_per_mm=4.0)
    return rgb, roi, maps


def _region(photo):
    _, roi, _ = photo
    mask = np.zeros(SHAPE, bool)
    mask[40:95, 45:120] = True
    return mask & roi


def _moved(mask, dy, dx, window):
    out = np.zeros_like(mask)
    h, w = mask.shape
    src = mask[max(0, -dy) : h - max(0, dy), max(0, -dx) : w - max(0, dx)]
    out[max(0, dy) : max(0, dy) + src.shape[0], max(0, dx) : max(0, dx) + src.shape[1]] = src
    r0, r1, c0, c1 = window
    inside = np.zeros_like(mask)
    inside[r0:r1, c0:c1] = True
    return out & inside


def _same(got: dict, ref: dict):
    assert got.keys() == ref.keys()
    for k in ref:
        if math.isnan(ref[k]):
            assert math.isnan(got[k]), k
        else:
            assert got[k] == pytest.approx(ref[k], rel=1e-5, abs=1e-9), k


MOVES = [
    (0, 0),
    (1, 0),
    (0, -1),
    (3, -2),
    (-5, 7),
    (-60, 0),
    (0, 90),
    (50, 60),
    (400, 0),
    (0, -400),
]


def test_score_region_moves_equals_scoring_the_moved_mask(photo):
    _, _, maps = photo
    mask = _region(photo)
    got = M.score_region_moves(maps, mask, MOVES)
    assert len(got) == len(MOVES)
    for (dy, dx), values in zip(MOVES, got, strict=True):
        moved = _moved(mask, dy, dx, maps.window)
        _same(values, M.score_region(maps, moved))
    # a move out of the window leaves nothing to measure
    assert all(math.isnan(v) for v in got[-1].values())
    assert all(math.isnan(v) for v in got[-2].values())


def test_score_region_moves_of_chosen_metrics(photo):
    _, _, maps = photo
    mask = _region(photo)
    names = ["redness.mean_a", "texture.glcm_contrast"]
    got = M.score_region_moves(maps, mask, [(2, 3)], metrics=names)
    assert list(got[0]) == names
    _same(got[0], M.score_region(maps, _moved(mask, 2, 3, maps.window), metrics=names))
    assert M.score_region_moves(maps, mask, []) == []


def test_score_region_moves_of_an_empty_region(photo):
    _, _, maps = photo
    empty = np.zeros(SHAPE, bool)
    got = M.score_region_moves(maps, empty, [(0, 0), (4, 4)], metrics=["redness.mean_a"])
    assert all(math.isnan(v["redness.mean_a"]) for v in got)


def _patch_reference(maps, mask, labels, metric, cell):
    spec = M.get_metric(metric)
    ids, values = [], []
    for t in np.unique(labels[mask & (labels >= 0)]):
        part = mask & (labels == t)
        size = cell[t] if np.ndim(cell) else cell
        if part.sum() >= max(spec.min_pixels, math.ceil(M.TILE_MIN_COVER * size)):
            ids.append(int(t))
            values.append(M.score_region(maps, part, metrics=[metric])[metric])
    return np.asarray(ids, np.int64), np.asarray(values)


METRICS = [
    "redness.mean_a",
    "redness.erythema_index",
    "pigmentation.ita_deg",
    "pigmentation.l_spread",
    "texture.roughness_ra",
    "texture.glcm_contrast",
    "pigmentation.spot_count",
    "pigmentation.spot_area_mm2",
]


def test_patch_table_equals_scoring_each_patch(photo):
    _, roi, maps = photo
    labels = M.grid_labels(SHAPE, 20)
    labels[:, :30] = -1  # no patch there
    cell = 400.0
    table = M.patch_table(maps, roi, labels, METRICS, cell_px=cell)
    assert list(table) == METRICS
    for metric in METRICS:
        ids, values = table[metric]
        ref_ids, ref_values = _patch_reference(maps, roi, labels, metric, cell)
        assert ids.dtype == np.int64 and np.array_equal(ids, ref_ids), metric
        assert values == pytest.approx(ref_values, rel=1e-5, abs=1e-9, nan_ok=True), metric
        assert ids.size > 10


def test_patch_table_with_a_cell_size_per_patch(photo):
    _, roi, maps = photo
    labels = M.grid_labels(SHAPE, 25)
    cells = np.full(labels.max() + 1, 625.0)
    cells[::2] = 1500.0  # even patches need 750 px: none has them
    metric = "redness.mean_a"
    ids, values = M.patch_table(maps, roi, labels, [metric], cell_px=cells)[metric]
    ref_ids, ref_values = _patch_reference(maps, roi, labels, metric, cells)
    assert np.array_equal(ids, ref_ids) and ids.size > 5
    assert (ids % 2 == 1).all()
    assert values == pytest.approx(ref_values, rel=1e-6)


def test_patch_table_of_nothing(photo):
    _, roi, maps = photo
    labels = M.grid_labels(SHAPE, 20)
    empty = M.patch_table(maps, np.zeros(SHAPE, bool), labels, METRICS[:2], cell_px=400)
    none = M.patch_table(maps, roi, np.full(SHAPE, -1), METRICS[:2], cell_px=400)
    for table in (empty, none):
        for ids, values in table.values():
            assert ids.size == 0 and values.size == 0
    # no scale: the mm² metric has no patch
    rgb, _, _ = photo
    unscaled = M.prepare(rgb, roi_mask=roi)
    ids, _ = M.patch_table(unscaled, roi, labels, ["pigmentation.spot_area_mm2"], cell_px=400)[
        "pigmentation.spot_area_mm2"
    ]
    assert ids.size == 0


def test_grid_labels_and_tiles(photo):
    assert M.grid_labels((5, 7), 3).tolist() == [
        [0, 0, 0, 1, 1, 1, 2],
        [0, 0, 0, 1, 1, 1, 2],
        [0, 0, 0, 1, 1, 1, 2],
        [3, 3, 3, 4, 4, 4, 5],
        [3, 3, 3, 4, 4, 4, 5],
    ]
    assert M.grid_labels((2, 2), 1).tolist() == [[0, 1], [2, 3]]
    _, roi, maps = photo
    tiles = M.tile_table(maps, roi, ["redness.mean_a", "texture.glcm_contrast"], tile_px=16)
    for metric, values in tiles.items():
        _, ref = _patch_reference(maps, roi, M.grid_labels(SHAPE, 16), metric, 256.0)
        assert values == pytest.approx(ref, rel=1e-5)
    assert M.tile_values(maps, roi, "redness.mean_a", tile_px=16) == pytest.approx(
        tiles["redness.mean_a"]
    )
    with pytest.raises(ValueError, match="tile_px must be >= 1, got 0"):
        M.tile_table(maps, roi, ["redness.mean_a"], tile_px=0)


def test_score_regions_equals_prepare_and_score_region(photo):
    rgb, roi, _ = photo
    cheek = _region(photo)
    masks = {"face": roi, "cheek": cheek}
    got = M.score_regions(rgb, masks, px_per_mm=4.0, metrics=METRICS)
    maps = M.prepare(rgb, roi_mask=roi, px_per_mm=4.0, baseline=M.SkinBaseline.from_image(rgb, roi))
    for name, mask in masks.items():
        _same(got[name], M.score_region(maps, mask, metrics=METRICS))
    # without a face the baseline is the union's (visible in the red area's threshold)
    only = M.score_regions(rgb, {"cheek": cheek}, metrics=["redness.red_area_pct"])
    own = M.prepare(rgb, roi_mask=cheek, baseline=M.SkinBaseline.from_image(rgb, cheek))
    _same(only["cheek"], M.score_region(own, cheek, metrics=["redness.red_area_pct"]))
    # an empty face does not set the baseline either
    with_empty_face = M.score_regions(
        rgb, {"face": np.zeros(SHAPE, bool), "cheek": cheek}, metrics=["redness.red_area_pct"]
    )
    _same(with_empty_face["cheek"], only["cheek"])
    assert math.isnan(with_empty_face["face"]["redness.red_area_pct"])


def test_score_regions_takes_the_baseline_from_the_face_only(photo):
    # A region reaching outside the face widens the prepared window, not the baseline: here a
    # redder area larger than the face, which would move the baseline's medians.
    rgb, roi, _ = photo
    face = _region(photo)
    other = np.zeros(SHAPE, bool)
    other[100:150, :] = True
    other &= ~face
    rgb = rgb.copy()
    rgb[other] = rgb[other] * np.array([1.0, 0.8, 0.85], np.float32)
    masks = {"face": face, "other": other}
    names = ["redness.red_area_pct", "redness.mean_a"]
    got = M.score_regions(rgb, masks, metrics=names)
    face_base = M.SkinBaseline.from_image(rgb, face)
    maps = M.prepare(rgb, roi_mask=face | other, baseline=face_base)
    for name, mask in masks.items():
        _same(got[name], M.score_region(maps, mask, metrics=names))
    union_base = M.SkinBaseline.from_image(rgb, face | other)
    assert union_base.lab_median[1] > face_base.lab_median[1] + 2.0
    assert got["other"]["redness.red_area_pct"] > 50.0  # redder than the face's own skin


def test_score_regions_of_no_region_or_empty_masks(photo):
    rgb, _, _ = photo
    assert M.score_regions(rgb, {}) == {}
    out = M.score_regions(rgb, {"a": np.zeros(SHAPE, bool)}, metrics=METRICS[:3])
    assert list(out) == ["a"] and list(out["a"]) == METRICS[:3]
    assert all(math.isnan(v) for v in out["a"].values())


def test_metric_specs_and_display_names():
    assert [s.name for s in M.metric_specs("redness.mean_a")] == ["redness.mean_a"]
    assert [s.name for s in M.metric_specs(METRICS)] == METRICS
    assert len(M.metric_specs()) == len(M.REGISTRY)
    assert M.display_name("redness.mean_a") == M.REGISTRY["redness.mean_a"].display
    assert M.display_name("no.such_metric") is None
    rows = M.metric_table()
    assert [r["name"] for r in rows] == sorted(M.REGISTRY)
