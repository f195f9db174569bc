"""Bruise segmentation: IoU and colour stage on injected bruises, units, mask output."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from conftest import load_benchmark, require
from scipy import ndimage

import mesovision.metrics as M
from mesovision.metrics._samples import sample_face
from mesovision.metrics.bruise import STAGES, bruise_stage, segment_bruises
from mesovision.testing.synthetic import BRUISE_STAGE_LAB_SHIFT, inject_bruise, inject_redness


def _ellipse_in(mask, frac=0.45, max_aspect=3.0):
    """An ellipse at the mask's centroid with axes ``frac`` x its extent, no more elongated than
    ``max_aspect`` (a bruise is compact: more elongated areas are not segmented, see
    ``metrics._bruise_colour.BRUISE_MAX_ELONGATION``)."""
    ys, xs = np.nonzero(mask)
    ax, ay = frac * np.ptp(xs), frac * np.ptp(ys)
    ax, ay = min(ax, max_aspect * ay), min(ay, max_aspect * ax)
    return (xs.mean(), ys.mean()), (ax, ay)


def _iou_of_overlapping(result_mask, truth, before_mask):
    """IoU of the truth with the new bruise components that touch it."""
    new = result_mask & ~before_mask
    labels, _ = ndimage.label(new, np.ones((3, 3)))
    ids = np.unique(labels[truth & new])
    seg = np.isin(labels, ids[ids > 0])
    iou = (seg & truth).sum() / (seg | truth).sum()
    print(f"bruise IoU {iou:.3f}")
    return iou, seg


@pytest.fixture(scope="module")
def astronaut4():
    rgb, masks = sample_face("astronaut", scale=4.0)
    base = M.SkinBaseline.from_image(rgb, masks["face"])
    return rgb, masks, base, segment_bruises(rgb, masks["face"], baseline=base).mask


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("region", ["right_cheek", "forehead"])
def test_injected_bruise_iou_and_stage_hand_regions(astronaut4, stage, region):
    rgb, masks, base, before = astronaut4
    centre, axes = _ellipse_in(masks[region])
    img, truth = inject_bruise(rgb, centre, axes, angle_deg=20, stage=stage)
    res = segment_bruises(
        img, masks["face"], baseline=base, region_masks={region: masks[region]}, px_per_mm=10.0
    )
    iou, _ = _iou_of_overlapping(res.mask, truth, before)
    assert iou >= 0.6, iou
    mine = [b for b in res.bruises if truth[round(b.centroid_xy[1]), round(b.centroid_xy[0])]]
    assert len(mine) == 1 and mine[0].stage == stage
    assert mine[0].region == region
    assert mine[0].area_mm2 == pytest.approx(mine[0].area_px / 100.0)
    assert mine[0].area_pct == pytest.approx(100.0 * mine[0].area_px / masks["face"].sum())


@pytest.mark.parametrize("stage", STAGES)
def test_injected_bruise_on_landmark_regions(faces, face_regions, stage):
    rgb, masks = faces["grace_hopper"], face_regions["grace_hopper"]
    base = M.SkinBaseline.from_image(rgb, masks["face"])
    before = segment_bruises(rgb, masks["face"], baseline=base).mask
    centre, axes = _ellipse_in(masks["forehead"], frac=0.25)
    img, truth = inject_bruise(rgb, centre, axes, stage=stage)
    res = segment_bruises(img, masks["face"], baseline=base, region_masks=masks)
    iou, _ = _iou_of_overlapping(res.mask, truth & masks["face"], before)
    assert iou >= 0.6, iou
    mine = [b for b in res.bruises if truth[round(b.centroid_xy[1]), round(b.centroid_xy[0])]]
    assert len(mine) == 1 and mine[0].stage == stage and mine[0].region == "forehead"


def test_a_dark_bruise_stays_skin_in_a_comparisons_after_photo(faces, face_landmarks):
    """A strong blue-green bruise is darker and greyer than the face by the non-skin rule's
    margins (hair, frames, deep shadow): measured on its own, the after photo loses it from its
    face region; with the before photo beside it (``paired_rgb``) only what is non-skin in both
    is left out, so the bruise is measured and the before photo's own exclusions stay."""
    from mesovision.regions import region_masks

    rgb, lm = faces["astronaut"], face_landmarks["astronaut"]
    own = region_masks(lm, rgb.shape, rgb=rgb)
    centre, axes = _ellipse_in(own["chin"], frac=0.3)
    # A deep blue bruise on pale skin (the face's median L* is 76): 30 L* darker, chroma ~2.
    img, truth = inject_bruise(rgb, centre, axes, shift_lab=(-30.0, -8.0, -20.0))
    img = np.clip(img, 0.0, 1.0).astype(np.float32)
    truth &= own["face"]
    alone = region_masks(lm, rgb.shape, rgb=img)["face"]
    paired = region_masks(lm, rgb.shape, rgb=img, paired_rgb=rgb)["face"]
    assert np.mean(alone[truth]) < 0.8  # the rule alone takes part of the bruise for hair
    assert np.mean(paired[truth]) == 1.0
    # Elsewhere the after photo measures what the before photo measures, and little more: the
    # rule reads darkness against the photo's own face median, which the bruise lowers, so a
    # few borderline shadow pixels pass in the after photo alone (183 px, 0.9 % of the face).
    assert not np.any(own["face"] & ~paired)
    assert np.count_nonzero(paired & ~own["face"] & ~truth) < 0.01 * np.count_nonzero(own["face"])


@pytest.mark.parametrize("delta_a", [10.0, 15.0])
def test_redness_is_not_a_bruise(astronaut4, delta_a):
    # Nor is the skin around a redder cheek, less red than its background now.
    rgb, masks, base, before = astronaut4
    img = inject_redness(rgb, masks["right_cheek"], delta_a=delta_a)
    res = segment_bruises(img, masks["face"], baseline=base)
    assert not (res.mask & ~before & masks["right_cheek"]).any()
    # every bruise found is one of the clean photo's (the sample has one, below the eye)
    n, labels = cv2.connectedComponents(res.mask.view(np.uint8), connectivity=8)
    assert n == 2 and all((before & (labels == i)).any() for i in range(1, n))


def test_stage_rule_on_prototypes():
    for stage, (_, da, db) in BRUISE_STAGE_LAB_SHIFT.items():
        assert bruise_stage(da, db) == stage


def test_empty_skin_and_outputs(tmp_path, astronaut4):
    rgb, masks, base, _ = astronaut4
    empty = segment_bruises(rgb, np.zeros(rgb.shape[:2], bool))
    assert empty.bruises == () and not empty.mask.any()
    centre, axes = _ellipse_in(masks["right_cheek"])
    img, _ = inject_bruise(rgb, centre, axes, stage="blue-green")
    # The skin mask is one region here: give the face's background scale (a third of the
    # astronaut's interocular distance, ~172 px at 4x).
    res = segment_bruises(img, masks["right_cheek"], baseline=base, background_sigma_px=57.0)
    d = res.as_dict()
    assert d["n_bruises"] == len(res.bruises) >= 1 and d["total_area_mm2"] is None
    assert all(b["area_mm2"] is None for b in d["bruises"])
    from PIL import Image

    path = tmp_path / "bruise_mask.png"
    res.write_mask(path)
    with Image.open(path) as im:
        back = np.asarray(im)
    assert np.array_equal(back > 0, res.mask)


def test_bruise_translation(astronaut4):
    rgb, masks, base, _ = astronaut4
    centre, axes = _ellipse_in(masks["right_cheek"])
    img, _ = inject_bruise(rgb, centre, axes, stage="red-purple")
    skin = masks["right_cheek"]
    a = segment_bruises(img, skin, baseline=base)
    shifted = np.pad(img, ((5, 0), (9, 0), (0, 0)), mode="edge")
    b = segment_bruises(shifted, np.pad(skin, ((5, 0), (9, 0))), baseline=base)
    assert len(a.bruises) == len(b.bruises)
    for x, y in zip(a.bruises, b.bruises, strict=True):
        assert y.area_px == x.area_px and y.stage == x.stage
        assert y.centroid_xy == pytest.approx((x.centroid_xy[0] + 9, x.centroid_xy[1] + 5))


# -- the real faces of ../shared/faces: held-out people ------------------------------------------


@pytest.fixture(scope="module")
def held_out():
    """``benchmarks/bruise.py`` on the held-out people (3 injected bruises per stage per face,
    the benchmark's seeds): its summary of that split."""
    bench = load_benchmark("bruise")
    require(
        bench.faces_dir() is not None,
        "the real faces are not here (put them next to the repository as ../shared/faces or "
        "set MESOVISION_FACES)",
    )
    results = bench.run(per_stage=3, workers=1, only="held-out")
    summary = bench.summarize(results, "held-out")
    print(
        f"\nheld-out: {summary['n_faces']} faces, {summary['n_people']} people, "
        f"{100 * summary['pass_share']:.1f} % under 1 % false area in every region; "
        + ", ".join(f"{k} {100 * v['iou_ge_target']:.1f} %" for k, v in summary["stages"].items())
    )
    return summary


@pytest.mark.slow
def test_held_out_false_area(held_out):
    """Measured 88.1 % (37) of 42 held-out faces (9 people) under 1 % false bruise area in
    every region; the lower bound (36 faces) catches a regression, the upper one a change that
    must be reported (update this figure and the docs)."""
    assert held_out["n_faces"] >= 40 and held_out["n_people"] == 9
    assert 0.85 <= held_out["pass_share"] <= 0.93, held_out["pass_share"]
    # No region of a passing face is near the limit in the median face.
    assert all(med < 0.1 for med, _, _ in held_out["per_region"].values())


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="target of issue 15: >= 95 % of faces; measured 88.1 %")
def test_held_out_false_area_target(held_out):
    assert held_out["pass_share"] >= 0.95


#: Measured share of held-out injected bruises (126 per stage) at IoU >= 0.7, and the bounds
#: asserted around it.
HELD_OUT_IOU_SHARE = {
    "fresh": (0.722, 0.65, 0.85),
    "blue-green": (0.405, 0.33, 0.55),
    "yellow-brown": (0.730, 0.65, 0.85),
    "green": (0.190, 0.12, 0.3),
}


@pytest.mark.slow
@pytest.mark.parametrize("stage", sorted(HELD_OUT_IOU_SHARE))
def test_held_out_injected_iou(held_out, stage):
    _, lo, hi = HELD_OUT_IOU_SHARE[stage]
    s = held_out["stages"][stage]
    assert s["n"] >= 120
    assert lo <= s["iou_ge_target"] <= hi, s
    # A bruise found is read as its stage (green reads as the blue-green stage).
    if stage != "green":
        assert s["stage_ok"] >= 0.9, s


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    reason="target of issue 15: IoU >= 0.7 on every face; measured: "
    "no held-out face has all 12 injected bruises at IoU >= 0.7",
)
def test_held_out_injected_iou_target(held_out):
    assert held_out["faces_all_iou_ok"] == 1.0


#: Measured share of held-out bruises injected and read in a comparison (``bruise.py
#: --pair-injections 1``: one per stage on each of 42 photos, in a random region declared treated,
#: the photo recaptured) at IoU >= 0.7 and detected, and the bounds asserted around the first.
HELD_OUT_PAIR_IOU_SHARE = {
    "fresh": (0.619, 0.762, 0.55, 0.75),
    "blue-green": (0.650, 0.825, 0.55, 0.75),
    "green": (0.333, 0.548, 0.25, 0.45),
    "yellow-brown": (0.524, 0.881, 0.45, 0.65),
}


@pytest.fixture(scope="module")
def held_out_pairs():
    """``benchmarks/bruise.py`` on the held-out people, injected bruises read in comparisons
    only (its seeds): the per-stage table of that split."""
    bench = load_benchmark("bruise")
    require(
        bench.faces_dir() is not None,
        "the real faces are not here (put them next to the repository as ../shared/faces or "
        "set MESOVISION_FACES)",
    )
    results = bench.run(per_stage=0, workers=1, only="held-out", pair_injections=1)
    return bench.summarize(results, "held-out")["pair_stages"]


@pytest.mark.slow
@pytest.mark.parametrize("stage", sorted(HELD_OUT_PAIR_IOU_SHARE))
def test_held_out_injected_iou_in_a_comparison(held_out_pairs, stage):
    """The search against the other photo (``mesovision.metrics._bruise_pair``) finds bruises
    the photos' own tests miss; without it the held-out shares at IoU 0.7 were 0.43, 0.23, 0.0
    and 0.38 (``docs/validation.md``), below every lower bound here."""
    share, detected, lo, hi = HELD_OUT_PAIR_IOU_SHARE[stage]
    s = held_out_pairs[stage]
    assert s["n"] >= 40
    assert lo <= s["iou_ge_target"] <= hi, s
    assert s["detected"] == pytest.approx(detected, abs=0.1), s


def test_flip_variance_of_known_components():
    # Two bruises: 20 px with a peak 0.5 thresholds beyond the core level (two flip spreads of
    # 0.25: missed by another capture with p = Phi(-2)), 30 px exactly at the core level
    # (p = 1/2). Each pixel carries p (1 - p) A; a region's sum is the area's variance (px²).
    from scipy.stats import norm

    from mesovision.metrics._bruise_colour import (
        BRUISE_CORE_SCORE,
        BRUISE_FLIP_SD,
        flip_variance,
    )

    assert BRUISE_FLIP_SD == 0.25  # the value the expectations below are computed for
    bruise = np.zeros((20, 40), bool)
    score = np.zeros((20, 40), np.float32)
    bruise[2:6, 2:7] = True  # 20 px
    score[2:6, 2:7] = 1.0
    score[3, 4] = BRUISE_CORE_SCORE + 0.5  # the peak
    bruise[10:15, 20:26] = True  # 30 px
    score[10:15, 20:26] = BRUISE_CORE_SCORE
    w = flip_variance(bruise, score)
    p = norm.cdf(-2.0)
    assert w.dtype == np.float32 and not w[~bruise].any()
    assert w[2:6, 2:7] == pytest.approx(np.full((4, 5), p * (1 - p) * 20), rel=1e-6)
    assert w[10:15, 20:26].sum() == pytest.approx(0.25 * 30**2, rel=1e-6)
    assert w.sum() == pytest.approx(p * (1 - p) * 400 + 225.0, rel=1e-6)
    assert not flip_variance(np.zeros((5, 5), bool), np.zeros((5, 5), np.float32)).any()


def test_bruise_area_noise_carries_the_flip_variance():
    # A share in % whose near map is the flip variance: a 30 px bruise at the core level in a
    # region of 1000 px, absent in the other photo: Poisson on 30 px plus 225 px².
    from mesovision.noise import counting_sd

    sd = counting_sd("bruise.area_pct", 3.0, 0.0, 1000, 1000, None, {}, {}, n_near=225.0)
    assert sd == pytest.approx(100.0 * np.sqrt(30.0 + 225.0) / 1000.0)
