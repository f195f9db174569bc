"""Metric registry, baselines, known-truth validation and invariances (mesovision.metrics)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from conftest import TESTS, load_script

import mesovision.metrics as M
from mesovision.errors import UsageError
from mesovision.metrics import NEAR_THRESHOLD_MAPS, near_threshold
from mesovision.metrics._samples import sample_face
from mesovision.metrics.heatmaps import FAMILIES, heatmap
from mesovision.metrics.pigmentation import ita_category
from mesovision.testing.synthetic import (
    apply_similarity,
    inject_redness,
    inject_spots,
    smooth_texture,
)

BASELINES = TESTS / "baselines" / "metrics.json"
PIXEL_MEAN = [s.name for s in M.REGISTRY.values() if s.kind == "pixel_mean"]
# Metrics that count connected components: a one-pixel change can add or drop a component.
COUNTING = {
    "pigmentation.spot_count",
    "pigmentation.spot_area_px",
    "pigmentation.spot_area_mm2",
    "pigmentation.spot_area_pct",
    "pigmentation.spot_contrast",
    "texture.fine_line_density_per_kpx",
    "texture.fine_line_density_per_cm2",
    "texture.pore_density_per_kpx",
    "texture.pore_density_per_cm2",
}


@pytest.fixture(scope="module")
def grace():
    return sample_face("grace_hopper", scale=1.0)


# --- registry -------------------------------------------------------------------------------


def test_registry_is_complete():
    baseline = json.loads(BASELINES.read_text())
    families = {"texture", "redness", "pigmentation", "bruise", "hair", "body", "swelling"}
    assert {s.family for s in M.REGISTRY.values()} == families
    # the face's baseline values cover the families scored on faces; the hair and body
    # families' reference values are rendered truths (tests/metrics/test_hair.py, test_body.py)
    face = set(M.metrics_for_mode("face"))
    # No face contour crosses the hand-made forehead rectangle: the contour metrics have no value
    # there (and have one in the other regions).
    no_contour = {("forehead", "swelling.contour_pct_iod"), ("forehead", "swelling.contour_mm")}
    # Nor do the hand-made forehead and cheek rectangles reach the skin below the eyes.
    no_contour |= {
        (r, f"swelling.puffiness_{u}") for r in ("forehead", "left_cheek") for u in ("pct", "mm2")
    }
    for name, spec in M.REGISTRY.items():
        assert spec.summary and spec.formula and spec.reference, name
        assert spec.unit, name
        assert spec.direction in M.DIRECTIONS, name
        assert spec.family == name.split(".")[0]
        for region, values in baseline["values"].items():
            if (region, name) in no_contour:
                assert values.get(name) is None, (region, name)
                continue
            if name not in face:
                continue
            assert values.get(name) is not None, f"{name} has no baseline value for {region}"


def test_register_rejects_bad_metrics():
    def f(view):
        """Summary.

        Formula
        -------
        x

        References
        ----------
        y
        """
        return 0.0

    words = {"display": "other", "plain": "Another measure."}
    with pytest.raises(ValueError, match="already registered"):
        M.register("redness.mean_a", unit="a*", direction="neutral", **words)(f)
    with pytest.raises(ValueError, match="direction"):
        M.register("redness.other", unit="a*", direction="up", **words)
    with pytest.raises(ValueError, match="unit"):
        M.register("redness.other", unit="", direction="neutral", **words)
    with pytest.raises(ValueError, match="display name and a plain explanation"):
        M.register("redness.other", unit="1", direction="neutral", display=" ", plain="x")
    with pytest.raises(ValueError, match="references"):
        M.register("redness.other", unit="1", direction="neutral", **words)(lambda v: 0.0)
    assert "redness.other" not in M.REGISTRY


def test_unknown_metric_lists_valid_names(grace):
    rgb, masks = grace
    with pytest.raises(UsageError, match="redness.mean_a"):
        M.get_metric("redness.mean_b")
    maps = M.prepare(rgb, roi_mask=masks["face"])
    with pytest.raises(UsageError):
        M.score_region(maps, masks["forehead"], metrics=["texture.nope"])


def test_metric_table_lists_every_metric():
    rows = M.metric_table()
    assert [r["name"] for r in rows] == sorted(M.REGISTRY)
    assert all("func" not in r for r in rows)


def test_baseline_values_reproduce():
    mod = load_script("make_metric_baselines")
    expected = json.loads(BASELINES.read_text())
    assert expected["setting"] == mod.SETTING
    got = mod.compute()
    for region, values in expected["values"].items():
        for name, value in values.items():
            if value is None:  # no value (NaN) there: a contour metric where none crosses
                assert got[region][name] is None, (region, name)
                continue
            assert got[region][name] == pytest.approx(value, rel=1e-4, abs=1e-6), (region, name)


# --- edge cases -----------------------------------------------------------------------------


def test_empty_and_tiny_masks_give_nan(grace):
    rgb, masks = grace
    maps = M.prepare(rgb, roi_mask=masks["face"], px_per_mm=4.0)
    empty = np.zeros(rgb.shape[:2], bool)
    assert all(math.isnan(v) for v in M.score_region(maps, empty).values())
    one = empty.copy()
    one[250, 260] = True
    values = M.score_region(maps, one)
    assert all(math.isnan(v) for v in values.values())  # below every metric's min_pixels
    assert M.tile_values(maps, empty, "redness.mean_a", tile_px=8).size == 0


def test_scale_metrics_are_nan_without_scale(grace):
    rgb, masks = grace
    maps = M.prepare(rgb, roi_mask=masks["face"])
    values = M.score_region(maps, masks["forehead"])
    for spec in M.metric_specs(M.metrics_for_mode("face")):  # (hair: tests/metrics/test_hair.py)
        if spec.name in ("swelling.contour_pct_iod", "swelling.puffiness_pct"):
            # they need landmarks, none given: NaN too
            assert math.isnan(values[spec.name])
            continue
        assert math.isnan(values[spec.name]) == spec.needs_scale, spec.name
    assert all(
        math.isnan(values[n]) for n in M.get_family("hair").metrics if M.get_metric(n).needs_scale
    )


def test_mask_outside_prepared_window_raises(grace):
    rgb, masks = grace
    maps = M.prepare(rgb, roi_mask=masks["forehead"])
    with pytest.raises(UsageError, match="outside"):
        M.score_region(maps, masks["face"])


def test_ita_category_bins():
    assert ita_category(60) == "very light"
    assert ita_category(45) == "light"
    assert ita_category(30) == "intermediate"
    assert ita_category(20) == "tan"
    assert ita_category(0) == "brown"
    assert ita_category(-40) == "dark"
    assert ita_category(float("nan")) is None


def test_pixel_mean_values_match_numpy(grace):
    rgb, masks = grace
    maps = M.prepare(rgb, roi_mask=masks["face"])
    m = masks["left_cheek"]
    v = M.score_region(maps, m, metrics=["redness.mean_a", "pigmentation.ita_deg"])
    from mesovision.color import rgb_to_lab

    lab = rgb_to_lab(rgb)[m].astype(np.float64)
    assert v["redness.mean_a"] == pytest.approx(lab[:, 1].mean(), rel=1e-6)
    ita = np.degrees(np.arctan((lab[:, 0].mean() - 50) / lab[:, 2].mean()))
    assert v["pigmentation.ita_deg"] == pytest.approx(ita, rel=1e-6)


def test_tile_values(grace):
    rgb, masks = grace
    maps = M.prepare(rgb, roi_mask=masks["face"])
    m = np.zeros(rgb.shape[:2], bool)
    m[144:176, 208:272] = True  # 2 x 4 tiles of 16 px, fully covered
    tiles = M.tile_values(maps, m, "redness.mean_a", tile_px=16)
    assert tiles.shape == (8,)
    region = M.score_region(maps, m, metrics=["redness.mean_a"])["redness.mean_a"]
    assert tiles.mean() == pytest.approx(region, rel=1e-6)
    generic = M.tile_values(maps, m, "texture.glcm_contrast", tile_px=16)
    assert generic.shape == (8,) and np.all(np.isfinite(generic))


def test_moved_region_scores_equal_scoring_the_moved_mask(grace):
    rgb, masks = grace
    maps = M.prepare(rgb, roi_mask=masks["face"])
    h, w = rgb.shape[:2]
    r0, r1, c0, c1 = maps.window
    edge = np.zeros((h, w), bool)
    edge[r0 : r0 + 40, c0 + 50 : c0 + 120] = True  # touches the window's top edge
    moves = [(3, 0), (-3, 0), (0, 2), (0, -2), (-5, 4)]
    for name, mask in (
        ("left_cheek", masks["left_cheek"]),
        ("face", masks["face"]),
        ("edge", edge),
    ):
        got = M.score_region_moves(maps, mask, moves)
        for (dy, dx), row in zip(moves, got, strict=True):
            moved = np.zeros_like(mask)
            src = mask[max(0, -dy) : h - max(0, dy), max(0, -dx) : w - max(0, dx)]
            moved[max(0, dy) : h - max(0, -dy), max(0, dx) : w - max(0, -dx)] = src
            window = np.zeros_like(mask)
            window[r0:r1, c0:c1] = True
            want = M.score_region(maps, moved & window)  # what leaves the window is dropped
            assert row.keys() == want.keys()
            for k, v in want.items():
                assert (math.isnan(v) and math.isnan(row[k])) or row[k] == pytest.approx(
                    v, rel=1e-9, abs=1e-12
                ), (name, dy, dx, k)
    # Moved wholly out of the window: an empty region.
    out = M.score_region_moves(maps, edge, [(-60, 0)])[0]
    assert all(math.isnan(v) for v in out.values())


# --- validation on known truth (real faces, real regions from mesovision.regions) -----------


def _score(rgb, masks, baseline, names=None):
    maps = M.prepare(rgb, roi_mask=masks["face"], baseline=baseline)
    return {k: M.score_region(maps, v, metrics=names) for k, v in masks.items()}


REDNESS = [
    "redness.mean_a",
    "redness.erythema_index",
    "redness.red_area_pct",
    "redness.haemoglobin_density",
]


def test_redness_up_only_where_injected(faces, face_regions):
    rgb, masks = faces["grace_hopper"], face_regions["grace_hopper"]
    base = M.SkinBaseline.from_image(rgb, masks["face"])
    target = "left_cheek"
    after_rgb = inject_redness(rgb, masks[target], delta_a=8.0)
    before = _score(rgb, masks, base, REDNESS)
    after = _score(after_rgb, masks, base, REDNESS)
    d = {r: {k: after[r][k] - before[r][k] for k in REDNESS} for r in masks}
    # the injected region: a* up by most of 8 (gamut clipping), every redness metric up
    assert 6.0 < d[target]["redness.mean_a"] <= 8.01
    assert d[target]["redness.erythema_index"] > 2.0
    assert d[target]["redness.haemoglobin_density"] > 0.02
    assert d[target]["redness.red_area_pct"] > 2.0
    print({k: round(v, 4) for k, v in d[target].items()})
    # regions that do not overlap the injected one: unchanged (|delta a*| < 0.05)
    for region in masks:
        if region in (target, "face") or (masks[region] & masks[target]).any():
            continue
        assert abs(d[region]["redness.mean_a"]) < 0.05, region
        assert abs(d[region]["redness.red_area_pct"]) < 0.05, region


TEXTURE_DOWN = [
    "texture.roughness_ra",
    "texture.glcm_contrast",
    "texture.ridge_strength_mean",
    "texture.wrinkle_area_pct",
]


def test_texture_down_where_smoothed(faces, face_regions):
    rgb, masks = faces["grace_hopper"], face_regions["grace_hopper"]
    base = M.SkinBaseline.from_image(rgb, masks["face"])
    target = "forehead"
    after_rgb = smooth_texture(rgb, masks[target], sigma_px=2.0)
    names = [*TEXTURE_DOWN, "texture.glcm_homogeneity"]
    before = _score(rgb, masks, base, names)
    after = _score(after_rgb, masks, base, names)
    for k in TEXTURE_DOWN:
        assert after[target][k] < 0.7 * before[target][k], (k, before[target][k], after[target][k])
    assert after[target]["texture.glcm_homogeneity"] > before[target]["texture.glcm_homogeneity"]
    # a region away from the smoothed one (the smoothing is feathered by 2 px) is unchanged
    for k in names:
        assert after["chin"][k] == pytest.approx(before["chin"][k], rel=1e-6), k


@pytest.mark.parametrize("radius", [4, 5, 6])
def test_spots_count_and_area(radius):
    # Known clean skin: the astronaut's chin at 4x with its fine texture smoothed away (sigma 3
    # px), so that the truth is the injected spots only; then 6 spots of the given radius.
    rgb, masks = sample_face("astronaut", scale=4.0)
    region = masks["chin"]
    rgb = smooth_texture(rgb, region, sigma_px=3.0)
    after_rgb, truth, centres = inject_spots(rgb, region, n=6, radius_px=radius, seed=3)
    base = M.SkinBaseline.from_image(rgb, masks["face"])
    names = ["pigmentation.spot_count", "pigmentation.spot_area_px"]
    before = M.score_region(M.prepare(rgb, roi_mask=region, baseline=base), region, metrics=names)
    after = M.score_region(
        M.prepare(after_rgb, roi_mask=region, baseline=base), region, metrics=names
    )
    assert before["pigmentation.spot_count"] == 0
    assert abs(after["pigmentation.spot_count"] - len(centres)) <= 2
    ratio = after["pigmentation.spot_area_px"] / truth.sum()
    print(f"r={radius}: count {after['pigmentation.spot_count']} of 6, area ratio {ratio:.3f}")
    assert 0.7 <= ratio <= 1.3, ratio


# --- invariances ----------------------------------------------------------------------------


def _pad(rgb, masks, top, left, total=20):
    pads = ((top, total - top), (left, total - left))
    return (
        np.pad(rgb, (*pads, (0, 0)), mode="edge"),
        {k: np.pad(v, pads) for k, v in masks.items()},
    )


def test_integer_translation_leaves_every_metric_unchanged(grace):
    rgb, masks = grace
    base = M.SkinBaseline.from_image(rgb, masks["face"])
    a_rgb, a_masks = _pad(rgb, masks, 0, 0)
    b_rgb, b_masks = _pad(rgb, masks, 7, 13)
    a = M.score_regions(a_rgb, a_masks, px_per_mm=4.0, baseline=base)
    b = M.score_regions(b_rgb, b_masks, px_per_mm=4.0, baseline=base)
    for region in a:
        for k, v in a[region].items():
            assert b[region][k] == pytest.approx(v, rel=1e-6, abs=1e-9, nan_ok=True), (region, k)


def _subpixel_tolerance(name):
    """Relative tolerance (of max(|value|, 1)) for a 0.5-px shift: 1 % for colour means, 5 % for
    texture, spread and area-share metrics (fine detail is resampled; area shares in % use
    max(|value|, 1), i.e. 0.05 percentage points below 1 %)."""
    spread = ("pigmentation.l_spread", "pigmentation.ita_spread_deg")
    if name.startswith("texture.") or name.endswith("_pct") or name in spread:
        return 0.05
    return 0.01


def test_subpixel_translation_moves_metrics_little(grace):
    # Shift by -0.25 and +0.25 px (both resampled the same way, 0.5 px apart) with fixed masks.
    rgb, masks = sample_face("grace_hopper", scale=2.0)
    base = M.SkinBaseline.from_image(rgb, masks["face"])
    a_rgb, _ = apply_similarity(rgb, shift_xy=(-0.25, -0.25))
    b_rgb, _ = apply_similarity(rgb, shift_xy=(0.25, 0.25))
    names = [n for n in M.metrics_for_mode("face") if n not in COUNTING]
    a = _score(a_rgb, masks, base, names)
    b = _score(b_rgb, masks, base, names)
    bad, worst = [], {}
    # (the hand-made chin box ends on the lower lip's shadow: a 0.5-px move of that edge moves
    # its mean colour by up to 4 %; it is left out)
    for region in ("forehead", "left_cheek", "right_cheek"):
        for k in names:
            va, vb = a[region][k], b[region][k]
            rel = abs(vb - va) / max(abs(va), 1.0)
            worst[k] = max(worst.get(k, 0.0), rel)
            if rel > _subpixel_tolerance(k):
                bad.append((region, k, va, vb))
    print({k: round(v, 4) for k, v in worst.items()})
    assert not bad


# --- pixels at risk of flipping across a threshold (the noise floor's counting term) ---------


def test_near_threshold_is_the_band_a_one_pixel_move_can_flip():
    # v rises by 0.5 per column: v > 10.3 from column 21 (10.5) on; column 20 (10.0) lies 0.3
    # under the threshold, within |grad v| x 1 px = 0.5; column 19 (9.5, 0.8 under) does not.
    v = np.tile(np.float32(0.5) * np.arange(40, dtype=np.float32), (6, 1))
    near = near_threshold(v, 10.3)
    assert np.array_equal(np.flatnonzero(near.any(axis=0)), [20]) and near[:, 20].all()
    # Twice as steep: a band twice as wide in value, the same pixel wide.
    assert np.array_equal(np.flatnonzero(near_threshold(2 * v, 20.6).any(axis=0)), [20])
    # A bump (height 5, sigma 3 px) whose top lies 0.1 under the threshold: its top (no gradient
    # of its own) and the 8 pixels around it are at risk; 5 under it, nothing is.
    yy, xx = np.mgrid[:41, :41]
    bump = (5.0 * np.exp(-((yy - 20.0) ** 2 + (xx - 20.0) ** 2) / 18.0)).astype(np.float32)
    top = np.zeros((41, 41), bool)
    top[19:22, 19:22] = True
    assert np.array_equal(near_threshold(bump, 5.1), top)
    assert not near_threshold(bump, 10.0).any()
    assert not near_threshold(np.full((9, 9), 4.99, np.float32), 5.0).any()  # flat: no gradient


def test_pixels_a_subpixel_move_flips_were_at_risk():
    # The astronaut's face at 2x moved by (0.5, 0.5) px (bicubic), a move of 0.71 px: measured,
    # 107 pixels turn red and 98 stop being red, all of them in the band of the photo they
    # leave; 492 of 496 new ridge pixels (the ridge response is less smooth) and 430 of 432 lost.
    rgb, masks = sample_face("astronaut", scale=2.0)
    base = M.SkinBaseline.from_image(rgb, masks["face"])
    moved, _ = apply_similarity(rgb, shift_xy=(0.5, 0.5))
    m0 = M.prepare(rgb, roi_mask=masks["face"], baseline=base)
    m1 = M.prepare(moved, roi_mask=masks["face"], baseline=base)
    r0, r1, c0, c1 = m0.window
    face = masks["face"][r0:r1, c0:c1]
    # of the pixels that flip, found in the band (shade: 106 of 106 new, 73 lost)
    shares = {"red_px": 1.0, "shade_px": 1.0, "ridge_px": 0.95}
    skin = [f for f in M.FAMILIES.values() if "face" in f.modes]
    # (bruise_px's map is not a band of pixels but the variance of whole bruises that may flip:
    # tests/metrics/test_bruise.py::test_flip_variance_of_known_components.)
    assert shares.keys() | {"bruise_px"} == {k for f in skin for k in f.near_threshold}
    for flagged, share in shares.items():
        risk = NEAR_THRESHOLD_MAPS[flagged]
        on0, on1 = m0.maps[flagged] > 0, m1.maps[flagged] > 0
        near0, near1 = m0.maps[risk], m1.maps[risk]
        assert near0.dtype == bool and not (near0 & on0).any()  # unflagged pixels only
        assert near0[face].mean() < 0.15  # a narrow band: red 2 %, ridges 10 % of the face
        new, gone = on1 & ~on0 & face, on0 & ~on1 & face
        assert new.sum() > 30 and gone.sum() > 30, flagged
        assert (new & near0).sum() >= share * new.sum(), flagged
        assert (gone & near1).sum() >= share * gone.sum(), flagged


# --- heatmaps -------------------------------------------------------------------------------


def test_heatmaps(grace):
    rgb, masks = grace
    maps = M.prepare(rgb, roi_mask=masks["face"])
    for family in FAMILIES:
        out = heatmap(rgb, maps, family, mask=masks["face"])
        assert out.shape == rgb.shape and out.dtype == np.float32
        assert np.array_equal(out[~masks["face"]], rgb[~masks["face"]])
        assert 0.0 <= out.min() and out.max() <= 1.0
    assert not np.array_equal(heatmap(rgb, maps, "redness", mask=masks["face"]), rgb)
    with pytest.raises(UsageError, match="redness"):
        heatmap(rgb, maps, "wrinkles")


# --- families ------------------------------------------------------------------------------


def test_every_family_registers_its_maps_heatmap_and_noise_terms():
    from mesovision.metrics.heatmaps import FAMILIES as HEATMAPS

    assert list(M.FAMILIES) == [
        "body",
        "bruise",
        "hair",
        "pigmentation",
        "redness",
        "swelling",
        "texture",
    ]
    assert {s.family for s in M.REGISTRY.values()} == set(M.FAMILIES)
    # heatmaps are named by family; swelling (a contour, not a per-pixel quantity) has none
    assert list(HEATMAPS) == [f for f in M.FAMILIES if f != "swelling"]
    assert dict(M.NEAR_THRESHOLD_MAPS) == {
        "bruise_px": "bruise_flip",
        "red_px": "red_near",
        "ridge_px": "ridge_near",
        "scalp_px": "scalp_near",
        "body_dimple_px": "body_dimple_near",
        "shade_px": "shade_near",
    }
    assert dict(M.HEADLINE_METRICS) == {
        "body_texture": "body.dimple_count",
        "bruise": "bruise.area_pct",
        "pigmentation": "pigmentation.spot_count",
        "colour": "redness.mean_a",
        "geometry": "swelling.contour_pct_iod",
        "texture": "texture.roughness_ra",
    }
    assert M.get_family("swelling").local and not M.get_family("redness").local
    assert M.get_family("bruise").local  # a bruise elsewhere says nothing of this region's
    two_sided = {f.name: f.two_sided_registration for f in M.FAMILIES.values()}
    assert two_sided["bruise"] == ("bruise.area_pct",)
    assert two_sided["redness"] == tuple(M.get_family("redness").metrics)
    # each photo's own means; not the detections (spots, fine lines, pores)
    assert two_sided["pigmentation"] == tuple(M.get_family("pigmentation").metrics[:5])
    assert "pigmentation.spot_count" not in two_sided["pigmentation"]
    assert set(two_sided["texture"]) == set(M.get_family("texture").metrics) - {
        "texture.fine_line_density_per_kpx",
        "texture.fine_line_density_per_cm2",
        "texture.pore_density_per_kpx",
        "texture.pore_density_per_cm2",
    }
    # the shade; not the contour (the after photo's shift) nor the under-eye shade (both
    # photos read on the before photo's zones)
    assert two_sided["swelling"] == ("swelling.shade_area_pct",)
    assert two_sided["hair"] == two_sided["body"] == ()
    assert M.get_family("texture").relative_noise == tuple(M.get_family("texture").metrics)
    assert M.get_family("hair").modes == ("scalp", "trichoscopy")
    assert M.get_family("body").modes == ("body",)
    assert M.get_family("swelling").modes == ("face",)
    with pytest.raises(UsageError, match="valid: body, bruise, hair, pigmentation, redness, swe"):
        M.get_family("scalp")


def test_register_family_refuses_what_it_cannot_honour():
    with pytest.raises(ValueError, match="already registered"):
        M.register_family("redness")
    with pytest.raises(ValueError, match=r"has not registered: \['texture.roughness_ra'\]"):
        M.register_family("toy2", relative_noise=("texture.roughness_ra",))
    with pytest.raises(ValueError, match=r"has not registered: \['bruise.area_pct'\]"):
        M.register_family("toy2", two_sided_registration=("bruise.area_pct",))
    assert "toy2" not in M.FAMILIES
    with pytest.raises(UsageError, match="unknown metric family 'toy2'"):
        M.unregister_family("toy2")


def test_region_view_memo_makes_a_product_once(grace):
    rgb, masks = grace
    maps = M.prepare(rgb, roi_mask=masks["face"])
    view = M.RegionView.from_mask(maps, masks["forehead"])
    calls = []

    def make():
        calls.append(1)
        return len(calls)

    assert view.memo("toy", make) == 1 and view.memo("toy", make) == 1 and calls == [1]
    other = M.RegionView.from_mask(maps, masks["forehead"])
    assert other.memo("toy", make) == 2  # per view
    view.set_mean("L", 12.5)
    assert view.mean("L") == 12.5
    assert other.mean("L") == pytest.approx(float(maps.full_frame("L")[masks["forehead"]].mean()))
