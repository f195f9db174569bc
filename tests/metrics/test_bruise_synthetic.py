"""Bruises on synthetic skin: two bruises of known area, colour and place, segmented in a few
seconds, and the steps of the colour test on inputs where every number is known.

Rendering is independent of the code under test (``skimage.color.lab2rgb``). The end-to-end
test is the fast counterpart of ``test_bruise.py`` (which injects bruises into the sample faces):
area, IoU, centroid, mean colour, stage and region of each bruise are checked two-sided.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
from PIL import Image
from skimage.color import lab2rgb

import mesovision.metrics as M
from mesovision.errors import OutputExists
from mesovision.metrics import bruise as bruise_mod
from mesovision.metrics._bruise_colour import (
    BRUISE_CORE_SCORE,
    BRUISE_SMOOTH_SIGMA_PX,
    bruise_candidates,
    bruise_min_area,
    filter_components,
    skin_background,
    windowed_median,
)
from mesovision.metrics.bruise import RING_PX, bruise_stage, segment_bruises

SKIN_LAB = (65.0, 12.0, 16.0)
SHAPE = (260, 300)
#: The skin: a rectangle away from the photo's corner, so that the crop has an origin.
SKIN_BOX = (40, 250, 50, 290)
#: (centre row, centre col, semi-axis rows, semi-axis cols, Lab): a blue-purple bruise (22 b*
#: bluer, 13 L* darker, 4 a* redder) and a smaller yellow one (14 b* yellower, 1 L* lighter).
BRUISES = {
    "blue": (140, 150, 20.0, 30.0, (52.0, 16.0, -6.0)),
    "yellow": (90, 235, 12.0, 15.0, (66.0, 10.0, 30.0)),
}


def _ellipse(cy, cx, ay, ax):
    yy, xx = np.mgrid[: SHAPE[0], : SHAPE[1]]
    return ((yy - cy) / ay) ** 2 + ((xx - cx) / ax) ** 2 <= 1


def _perimeter(ay, ax):
    h = ((ax - ay) / (ax + ay)) ** 2  # Ramanujan
    return math.pi * (ax + ay) * (1 + 3 * h / (10 + math.sqrt(4 - 3 * h)))


@pytest.fixture(scope="module")
def scene():
    lab = np.empty((*SHAPE, 3))
    lab[:] = SKIN_LAB
    lab[:30] = (30.0, 5.0, 5.0)  # dark hair above the skin (outside the mask)
    truth = {}
    for name, (cy, cx, ay, ax, colour) in BRUISES.items():
        ell = _ellipse(cy, cx, ay, ax)
        lab[ell] = colour
        truth[name] = ell
    rgb = lab2rgb(lab).astype(np.float32)
    skin = np.zeros(SHAPE, bool)
    r0, r1, c0, c1 = SKIN_BOX
    skin[r0:r1, c0:c1] = True
    return rgb, skin, truth


@pytest.fixture(scope="module")
def result(scene):
    rgb, skin, _ = scene
    left = np.zeros(SHAPE, bool)
    left[:, :200] = True
    regions = {"face": skin, "left": skin & left, "right": skin & ~left, "none": ~skin}
    return segment_bruises(rgb, skin, region_masks=regions, px_per_mm=5.0)


def test_two_bruises_of_known_area_place_and_colour(scene, result):
    _, skin, truth = scene
    n_skin = int(skin.sum())
    assert len(result.bruises) == 2
    big, small = result.bruises  # largest first
    for bruise, name, region, stage in (
        (big, "blue", "left", "red-purple"),  # bluer and redder: purple
        (small, "yellow", "right", "yellow-brown"),
    ):
        cy, cx, ay, ax, colour = BRUISES[name]
        ell = truth[name]
        area = int(ell.sum())
        # the edge may fall anywhere within the blur of the smoothing (~2 px): 2 px x perimeter
        tol = 2.0 * _perimeter(ay, ax) / area
        assert bruise.area_px == pytest.approx(area, rel=tol), name
        assert bruise.area_pct == pytest.approx(100.0 * bruise.area_px / n_skin, rel=1e-12)
        assert bruise.area_mm2 == pytest.approx(bruise.area_px / 25.0, rel=1e-12)
        # centroid in the photo's frame (x, y), not the crop's
        assert bruise.centroid_xy == pytest.approx((cx, cy), abs=0.5), name
        # the mean colour of the bruise's pixels: the bruise's own, up to edge pixels of skin
        assert bruise.mean_lab == pytest.approx(colour, abs=1.5), name
        assert bruise.stage == stage
        assert bruise.region == region
        seg = np.zeros(SHAPE, bool)
        seg[result.mask] = True
        near = _ellipse(cy, cx, ay + 6, ax + 6)
        mine = seg & near
        iou = (mine & ell).sum() / (mine | ell).sum()
        assert iou >= 0.85, (name, iou)
    assert not (result.mask & ~skin).any()
    assert result.total_area_px == big.area_px + small.area_px == int(result.mask.sum())


def test_result_as_dict_and_mask_image(result, scene):
    _, skin, _ = scene
    d = result.as_dict()
    total = result.total_area_px
    assert d["n_bruises"] == 2
    assert d["total_area_px"] == total
    assert d["skin_area_px"] == int(skin.sum())
    assert d["total_area_pct"] == pytest.approx(100.0 * total / skin.sum(), rel=1e-12)
    assert d["total_area_mm2"] == pytest.approx(total / 25.0, rel=1e-12)
    assert d["baseline"]["n_pixels"] == int(skin.sum())
    assert d["baseline"]["lab_median"] == pytest.approx(SKIN_LAB, abs=0.3)
    first = d["bruises"][0]
    b = result.bruises[0]
    assert first == {
        "area_px": b.area_px,
        "area_pct": b.area_pct,
        "area_mm2": b.area_mm2,
        "centroid_xy": list(b.centroid_xy),
        "mean_lab": list(b.mean_lab),
        "stage": b.stage,
        "region": b.region,
        "carried": False,
        "difference": False,
    }
    img = result.mask_image()
    assert img.dtype == np.uint8 and set(np.unique(img)) == {0, 255}
    assert np.array_equal(img == 255, result.mask)


def test_write_mask_is_the_mask_and_refuses_to_overwrite(result, tmp_path):
    path = tmp_path / "bruises.png"
    result.write_mask(path)
    with Image.open(path) as im:
        back = np.asarray(im)
    assert back.dtype == np.uint8 and np.array_equal(back > 0, result.mask)
    with pytest.raises(OutputExists, match="use --force to overwrite"):
        result.write_mask(path)
    result.write_mask(path, force=True)


def test_result_without_scale_regions_or_skin(scene):
    rgb, skin, _ = scene
    res = segment_bruises(rgb, skin)
    assert len(res.bruises) == 2
    assert all(b.area_mm2 is None and b.region is None for b in res.bruises)
    d = res.as_dict()
    assert d["total_area_mm2"] is None
    empty = segment_bruises(rgb, np.zeros(SHAPE, bool), px_per_mm=5.0)
    assert empty.bruises == () and not empty.mask.any() and empty.mask.shape == SHAPE
    de = empty.as_dict()
    assert de["total_area_pct"] is None and de["total_area_px"] == 0 and de["skin_area_px"] == 0
    assert de["total_area_mm2"] == 0.0 and de["baseline"] is None


def test_minimum_area_and_prepared_maps(scene, result):
    rgb, skin, truth = scene
    small_area = result.bruises[1].area_px
    big = segment_bruises(rgb, skin, min_area_px=small_area + 1)
    assert [b.stage for b in big.bruises] == ["red-purple"]
    assert big.bruises[0].area_px == result.bruises[0].area_px
    both = segment_bruises(rgb, skin, min_area_px=small_area)
    assert len(both.bruises) == 2
    # the maps prepare() made for this skin are reused: the same bruises
    maps = M.prepare(rgb, roi_mask=skin)
    reused = segment_bruises(rgb, skin, maps=maps)
    assert np.array_equal(reused.mask, result.mask)
    assert [b.area_px for b in reused.bruises] == [b.area_px for b in result.bruises]
    for x, y in zip(reused.bruises, result.bruises, strict=True):
        assert x.mean_lab == pytest.approx(y.mean_lab, abs=1e-4)
        assert x.stage == y.stage and x.centroid_xy == y.centroid_xy
    # and the family's map is the same mask; its score is positive exactly on candidates, its
    # smoothed CIELAB is the crop's CIELAB blurred by BRUISE_SMOOTH_SIGMA_PX
    r0, r1, c0, c1 = maps.window
    assert np.array_equal(maps.maps["bruise_px"] > 0, result.mask[r0:r1, c0:c1])
    score = maps.maps["bruise_score"]
    assert score.shape == (r1 - r0, c1 - c0) and score[result.mask[r0:r1, c0:c1]].min() > 0
    assert score.max() > BRUISE_CORE_SCORE and score.min() == 0
    lab = np.dstack([maps.maps[k] for k in ("L", "a", "b")])
    blurred = cv2.GaussianBlur(lab, (0, 0), BRUISE_SMOOTH_SIGMA_PX, borderType=cv2.BORDER_REFLECT)
    assert np.allclose(maps.maps["lab_smooth"], blurred, atol=1e-4)
    assert M.score_region(maps, skin, metrics=["bruise.area_pct"])[
        "bruise.area_pct"
    ] == pytest.approx(100.0 * result.total_area_px / skin.sum(), rel=1e-6)


def test_prepared_maps_are_reused_only_when_they_fit(scene, result):
    # Maps whose bruise map was cleared show when they are used: only with the default minimum
    # area and background scale, and only when prepared on this skin's window.
    rgb, skin, _ = scene
    maps = M.prepare(rgb, roi_mask=skin)
    maps.maps["bruise_px"] = np.zeros_like(maps.maps["bruise_px"])
    assert segment_bruises(rgb, skin, maps=maps).bruises == ()
    area = result.bruises[1].area_px // 2  # not the default, below both bruises: both found
    assert len(segment_bruises(rgb, skin, maps=maps, min_area_px=area).bruises) == 2
    sigma = 0.15 * float(np.sqrt(skin.sum()))  # the default scale, passed explicitly
    assert len(segment_bruises(rgb, skin, maps=maps, background_sigma_px=sigma).bruises) == 2
    wider = np.zeros_like(skin)
    wider[20:255, 30:295] = True
    other = M.prepare(rgb, roi_mask=wider)  # another window: not reused
    other.maps["bruise_px"] = np.zeros_like(other.maps["bruise_px"])
    assert len(segment_bruises(rgb, skin, maps=other).bruises) == 2


def test_background_scale_is_used(scene):
    # A background window much smaller than the big bruise follows it: its core no longer
    # departs from its own background, and it is not found whole.
    rgb, skin, truth = scene
    small = segment_bruises(rgb, skin, background_sigma_px=4.0)
    big_area = int(truth["blue"].sum())
    assert all(b.area_px < 0.5 * big_area for b in small.bruises)


def test_empty_skin_keeps_the_baseline_given(scene):
    rgb, skin, _ = scene
    base = M.SkinBaseline.from_image(rgb, skin)
    empty = segment_bruises(rgb, np.zeros(SHAPE, bool), baseline=base)
    assert empty.baseline is base and empty.skin_area_px == 0


def test_region_of_a_bruise_is_the_most_specific_holding_most_of_it():
    sel = np.zeros((10, 10), bool)
    sel[2:8, 2:8] = True  # 36 px on a 10 x 10 box
    box = (0, 0, 10, 10)

    def region(**masks):
        return bruise_mod._region_of(masks, sel, box)

    full, none = np.ones((10, 10), bool), np.zeros((10, 10), bool)
    one_px = none.copy()
    one_px[4, 4] = True
    ring = ~sel  # the rest of the box, not the bruise
    most = none.copy()
    most[:6] = True  # 24 px of the bruise
    assert region(face=full, b=one_px) == "b"  # one pixel of a named region beats the face
    assert region(face=full, b=none) == "face"  # a region holding none of it is not named
    assert region(face=one_px) == "face"
    assert region(face=none) is None
    assert region(b=most, a=full) == "a"  # by the count, not by the name
    assert region(a=sel, b=ring) == "a"  # the bruise's pixels, not its box
    assert bruise_mod._region_of({}, sel, box) is None


def test_stage_reference_is_the_ring_of_skin_around_the_bruise(scene):
    # On skin bluer than the baseline (b* 4 instead of 16), a bruise of b* 18 is yellower than
    # its surroundings though not than the baseline: the ring, not the baseline, decides.
    rgb, skin, _ = scene
    lab = np.empty((*SHAPE, 3))
    lab[:] = (65.0, 12.0, 4.0)
    ell = _ellipse(140, 150, 20, 25)
    lab[ell] = (66.0, 9.0, 18.0)
    img = lab2rgb(lab).astype(np.float32)
    base = M.SkinBaseline.from_image(rgb, skin)  # b* 16
    res = segment_bruises(img, skin, baseline=base)
    assert [b.stage for b in res.bruises] == ["yellow-brown"]
    assert RING_PX == 8
    # A bruise less red than its surroundings (a* 8 against 12) and bluer (b* -18 against 4):
    # blue-green, read from the differences (not from the sums or from other channels).
    lab[:] = (65.0, 12.0, 4.0)
    lab[ell] = (55.0, 8.0, -18.0)
    res = segment_bruises(lab2rgb(lab).astype(np.float32), skin, baseline=base)
    assert [b.stage for b in res.bruises] == ["blue-green"]


@pytest.mark.parametrize(
    ("da", "db", "stage"),
    [
        (0.0, 5.0, "yellow-brown"),
        (-5.0, 5.0, "yellow-brown"),  # db == -da: still yellow
        (-6.0, 5.0, "blue-green"),  # greener than yellow
        (3.0, 0.0, "red-purple"),  # db == 0 and redder
        (2.0, -3.0, "red-purple"),
        (0.0, -3.0, "blue-green"),  # da == 0: not red
        (0.0, 0.0, "blue-green"),
        (-2.0, -3.0, "blue-green"),
        (0.0, 0.5, "yellow-brown"),  # a small yellowing is yellow
        (0.5, -1.0, "red-purple"),  # a small reddening is red
    ],
)
def test_stage_rule_at_its_boundaries(da, db, stage):
    assert bruise_stage(da, db) == stage


@pytest.mark.parametrize(
    ("n_skin", "expected"),
    [(0, 15), (5000, 15), (8750, 18), (10000, 20), (19500, 39), (20000, 40), (10**6, 40)],
)
def test_min_area_is_a_share_of_the_skin_within_its_bounds(n_skin, expected):
    assert bruise_min_area(n_skin) == expected


# -- the steps of the colour test ----------------------------------------------------------------


def _weighted_median_loop(level, weight, at, win):
    """The smallest level at which a window's cumulative weight reaches half its total."""
    h, w = weight.shape
    grid = np.full((h, w), -1)
    grid[at] = level
    out = np.zeros((h, w), np.float32)
    held = np.zeros((h, w), bool)
    r = win // 2
    for i in range(h):
        for j in range(w):
            lv, wt = [], []
            for y in range(max(0, i - r), min(h, i + r + 1)):
                for x in range(max(0, j - r), min(w, j + r + 1)):
                    if grid[y, x] >= 0:
                        lv.append(grid[y, x])
                        wt.append(weight[y, x])
            if sum(wt) > 0:
                held[i, j] = True
                order = np.argsort(lv, kind="stable")
                cum = np.cumsum(np.asarray(wt, np.float64)[order])
                k = int(np.argmax(cum >= 0.5 * cum[-1] - 1e-6))
                out[i, j] = np.asarray(lv)[order][k]
    return out, held


@pytest.mark.parametrize(("seed", "win", "spread"), [(0, 3, 256), (1, 5, 256), (2, 5, 40)])
def test_windowed_median_matches_a_loop(seed, win, spread):
    rng = np.random.default_rng(seed)
    h, w = 9, 11
    weight = np.where(rng.random((h, w)) < 0.7, rng.integers(1, 5, (h, w)) / 4.0, 0.0)
    weight = weight.astype(np.float32)
    weight[:3, :3] = 0.0  # a corner with no weight at all
    at = np.nonzero(weight > 0)
    level = rng.integers(200 - spread if spread < 256 else 0, 200 if spread < 256 else 256,
                         at[0].size).astype(np.intp)  # fmt: skip
    got, held = windowed_median(level, weight, at, win)
    ref, ref_held = _weighted_median_loop(level, weight, at, win)
    assert np.array_equal(held, ref_held)
    assert not held[0, 0]
    assert np.array_equal(got[held], ref[held])


def test_windowed_median_of_no_weight():
    weight = np.zeros((4, 5), np.float32)
    got, held = windowed_median(np.zeros(0, np.intp), weight, np.nonzero(weight), 3)
    assert not held.any() and got.shape == (4, 5) and not got.any()


def test_skin_background_ignores_non_skin_and_a_small_bruise():
    lab = np.empty((120, 140, 3), np.float32)
    lab[:] = SKIN_LAB
    skin = np.ones((120, 140), bool)
    skin[:40] = False
    lab[:40] = (20.0, 30.0, -40.0)  # not skin: must not vote
    yy, xx = np.mgrid[:120, :140]
    spot = (yy - 80) ** 2 + (xx - 70) ** 2 <= 8**2
    lab[spot] = (50.0, 14.0, 0.0)  # a bruise smaller than half of each window's skin
    bg = skin_background(lab, skin, sigma=15.0)
    steps = (100.0 / 255, 256.0 / 255, 256.0 / 255)
    for c in range(3):
        assert np.abs(bg[40:, :, c] - SKIN_LAB[c]).max() <= steps[c], c
        assert np.abs(bg[:30, :, c] - SKIN_LAB[c]).max() <= steps[c] + 0.05, c
    only_b = skin_background(lab, skin, sigma=15.0, channels=(2,))
    assert only_b.shape == (120, 140, 1)
    assert np.allclose(only_b[..., 0], bg[..., 2], atol=1e-5)


def test_skin_background_without_skin_in_a_window_is_the_overall_median():
    lab = np.empty((150, 60, 3), np.float32)
    lab[:] = (40.0, 0.0, 0.0)
    skin = np.zeros((150, 60), bool)
    skin[:20] = True
    lab[:20] = (70.0, 10.0, 20.0)
    bg = skin_background(lab, skin, sigma=3.0)
    assert bg[140, 30] == pytest.approx((70.0, 10.0, 20.0), abs=1.0)
    assert bg[5, 30] == pytest.approx((70.0, 10.0, 20.0), abs=1.0)


def test_candidates_follow_the_hue_rules():
    # On uniform skin, patches of known departure: blue (db -10), yellow (db +10), red only
    # (da +15), green-yellow on lit skin (dL +3, db +5, da -6: 5 + 0.5 * 6 = 8 > 7), the same
    # greener and yellower departure darkening (dL -3: 3 + 0.5 * 6 + 0.5 * min(6, 2 * 3) = 9 >
    # 7) or lightening (dL +3: 3 + 0.5 * 6 = 6 < 7: pale, not a bruise), a darker loss of
    # redness that hardly yellows (dL -3, da -8, db +1: 1 + 0.5 * 8 + 0.5 * min(8, 2 * 1) =
    # 6 < 7: skin beside a redder patch), blue too dark (dL -35) and yellow too light (dL +15).
    lab = np.empty((150, 240, 3), np.float32)
    lab[:] = SKIN_LAB
    patches = {
        "blue": ((0.0, 0.0, -10.0), True),
        "yellow": ((0.0, 0.0, 10.0), True),
        "red": ((0.0, 15.0, 0.0), False),
        "green_yellow": ((3.0, -6.0, 5.0), True),
        "dark_blue": ((-35.0, 0.0, -10.0), False),
        "light_yellow": ((15.0, 0.0, 10.0), False),
        "faint": ((0.0, 0.0, 6.0), False),
        "purple": ((0.0, 6.0, -5.0), True),  # 5 + 0.5 * 6 = 8 > 7
        "green_dark": ((-3.0, -6.0, 3.0), True),
        "green_light": ((3.0, -6.0, 3.0), False),
        "less_red": ((-3.0, -8.0, 1.0), False),
    }
    where = {}
    for k, (name, (d, _)) in enumerate(patches.items()):
        r, c = 20 + 50 * (k // 4), 20 + 60 * (k % 4)
        lab[r : r + 12, c : c + 12] += d
        where[name] = (r + 6, c + 6)
    skin = np.ones(lab.shape[:2], bool)
    cand, score = bruise_candidates(lab, skin, background_sigma_px=12.0)
    for name, (_, expected) in patches.items():
        assert bool(cand[where[name]]) is expected, name
    # the score is the departure beyond the threshold, in thresholds: |db| / 7 - 1
    assert score[where["blue"]] == pytest.approx(10 / 7 - 1, abs=0.05)
    assert score[where["green_yellow"]] == pytest.approx(8 / 7 - 1, abs=0.05)
    assert score[where["green_dark"]] == pytest.approx(9 / 7 - 1, abs=0.05)
    assert score[where["red"]] == 0 and score[5, 5] == 0
    assert not cand[~skin].any()
    none, zero = bruise_candidates(lab, np.zeros_like(skin))
    assert none.dtype == bool and not none.any() and not zero.any()


def test_filter_components_core_extent_area_and_shape():
    score = np.zeros((60, 120), np.float32)
    binary = np.zeros((60, 120), bool)
    # A: 10 x 10, inner 6 x 6 at 3, ring at 0.5: core kept; extent score + 1 >= 0.5 * 4 -> the
    # inner 36 px
    binary[5:15, 5:15] = True
    score[5:15, 5:15] = 0.5
    score[7:13, 7:13] = 3.0
    # B: 8 x 8 at exactly the core score: kept whole
    binary[30:38, 5:13] = True
    score[30:38, 5:13] = BRUISE_CORE_SCORE
    # C: 8 x 8 just under the core score: dropped
    binary[30:38, 30:38] = True
    score[30:38, 30:38] = BRUISE_CORE_SCORE - 0.01
    # D: 3 x 40 line at 2: elongated, dropped
    binary[50:53, 40:80] = True
    score[50:53, 40:80] = 2.0
    # E: 5 x 5 at 2: too small for min_area 30
    binary[5:10, 100:105] = True
    score[5:10, 100:105] = 2.0
    out = filter_components(binary, 30, score)
    expected = np.zeros_like(binary)
    expected[7:13, 7:13] = True
    expected[30:38, 5:13] = True
    assert np.array_equal(out, expected)
    # without a score: the area alone, elongated or not
    plain = filter_components(binary, 30)
    assert plain[5:15, 5:15].all() and plain[50:53, 40:80].all() and not plain[5:10, 100:105].any()
    assert plain.sum() == 100 + 64 + 64 + 120
    # a component whose half-maximum part falls below the minimum area is dropped
    assert not filter_components(binary, 40, score)[7:13, 7:13].any()
    assert not filter_components(np.zeros_like(binary), 1, score).any()


def test_colour_that_moves_with_the_photos_shading_is_not_a_bruise():
    # Shading stripes (L* +-16 around 65, a period of 48 px) with the photo's own coupling of
    # colour to lightness (a* and b* move by 0.5 per L*: plain shading and a warm key light).
    # The local background cannot follow stripes this narrow; the fitted slopes take the
    # coupling out, so no pixel is a candidate. Without them (or with a slope of the wrong
    # sign) the shadows would read as blue-green or yellow bruises.
    yy, xx = np.mgrid[:160, :200]
    dL = 16.0 * np.sin(2 * np.pi * xx / 48.0)
    lab = np.stack([65.0 + dL, 12.0 + 0.5 * dL, 16.0 + 0.5 * dL], axis=-1).astype(np.float32)
    skin = np.ones((160, 200), bool)
    cand, _ = bruise_candidates(lab, skin, background_sigma_px=15.0)
    assert not cand.any()
    # the same departures without the coupling (b* moving alone) are bruise-coloured
    lab2 = lab.copy()
    lab2[..., 0] = 65.0
    lab2[..., 1] = 12.0
    cand2, _ = bruise_candidates(lab2, skin, background_sigma_px=15.0)
    assert cand2.mean() > 0.2
