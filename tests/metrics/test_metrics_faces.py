"""The sample-face claims of ``test_metrics.py`` (redness up only where injected, texture down
where smoothed) over every single-face photo of ``../shared/faces`` (or ``$MESOVISION_FACES``;
skipped with the reason when absent, a failure under ``CI=true``).

Each photo is loaded as ``compare`` loads it (at most 2048 px), its regions drawn from its mesh;
the change is made on the pixels and the metrics scored on both copies with the photo's own skin
baseline. The texture claim is asked only of faces with at least 100 px between the eyes, where
``compare`` declares texture comparable (``comparability``: limited below, small changes going
unseen; not tested below 75 px).
"""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
from conftest import shared_faces

import mesovision.metrics as M
from mesovision.comparability import LIMITS
from mesovision.errors import MesovisionError
from mesovision.io import load_photo
from mesovision.landmarks import detect_landmarks
from mesovision.regions import region_masks
from mesovision.testing.synthetic import inject_redness, smooth_texture

pytestmark = pytest.mark.slow

#: The smallest face (px between the eyes) on which texture is comparable.
TEXTURE_MIN_IOD_PX = next(lim.ok for lim in LIMITS["texture"] if lim.measure == "scoring_iod_px")


@functools.cache
def _face(path: Path):
    """``(rgb, regions, baseline, iod)`` of one photo, or ``None`` when no face is found."""
    rgb = load_photo(str(path), max_side=2048).rgb
    try:
        lm = detect_landmarks(rgb)
    except MesovisionError:
        return None
    masks = region_masks(lm, rgb.shape, rgb=rgb)
    return rgb, masks, M.SkinBaseline.from_image(rgb, masks["face"]), float(lm.interocular_px)


def _score(rgb, masks, baseline, names):
    maps = M.prepare(rgb, roi_mask=masks["face"], baseline=baseline)
    return {k: M.score_region(maps, v, metrics=names) for k, v in masks.items()}


def _faces():
    out = [(p.name, f) for p, _ in shared_faces() if (f := _face(p)) is not None]
    assert len(out) >= 80, f"faces found in {len(out)} photos"
    return out


REDNESS = ["redness.mean_a", "redness.erythema_index", "redness.red_area_pct"]


def test_redness_up_only_where_injected_on_shared_faces():
    target, bad, leaks, n = "left_cheek", [], [], 0
    for name, (rgb, masks, base, _) in _faces():
        if masks[target].sum() < 100:
            continue
        n += 1
        before = _score(rgb, masks, base, REDNESS)
        after = _score(inject_redness(rgb, masks[target], delta_a=8.0), masks, base, REDNESS)
        d = {r: {k: after[r][k] - before[r][k] for k in REDNESS} for r in masks}
        t = d[target]
        if not (5.0 < t["redness.mean_a"] <= 8.2 and t["redness.erythema_index"] > 1.0):
            bad.append((name, round(t["redness.mean_a"], 2), round(t["redness.erythema_index"], 2)))
        for region in masks:
            if region in (target, "face") or (masks[region] & masks[target]).any():
                continue
            if abs(d[region]["redness.mean_a"]) >= 0.05:
                leaks.append((name, region, round(d[region]["redness.mean_a"], 3)))
    print(f"{n} faces; outside the claim: {bad}")
    # a* + 8 reads as + 5 (gamut clipping) to 8.2 (OpenCV's float32 Lab round trip: up to + 8.1
    # measured) on at least 95 % of the faces, never below + 3
    assert len(bad) <= 0.05 * n, bad
    assert all(da > 3.0 for _, da, _ in bad), bad
    assert leaks == []  # pixels of no other region are touched


TEXTURE_DOWN = ["texture.roughness_ra", "texture.glcm_contrast", "texture.ridge_strength_mean"]


def test_texture_down_where_smoothed_on_shared_faces():
    target, bad, n = "forehead", [], 0
    names = [*TEXTURE_DOWN, "texture.glcm_homogeneity"]
    for name, (rgb, masks, base, iod) in _faces():
        if iod < TEXTURE_MIN_IOD_PX or masks[target].sum() < 100:
            continue
        n += 1
        before = _score(rgb, masks, base, names)[target]
        after = _score(smooth_texture(rgb, masks[target], sigma_px=2.0), masks, base, names)[target]
        ratios = {k: after[k] / before[k] for k in TEXTURE_DOWN if before[k] > 0}
        assert len(ratios) == len(TEXTURE_DOWN), (name, before)
        assert after["texture.glcm_homogeneity"] > before["texture.glcm_homogeneity"], name
        # every measure of fine texture down by at least 10 % on every face
        assert max(ratios.values()) < 0.9, (name, ratios)
        if max(ratios.values()) >= 0.7:
            bad.append((name, {k: round(r, 2) for k, r in ratios.items()}))
    print(f"{n} faces of at least {TEXTURE_MIN_IOD_PX:.0f} px between the eyes; outside: {bad}")
    assert n >= 20
    # by 30 % or more (the sample face's claim) on at least 80 % of the faces: measured 19 of
    # 22 (a fringe over the forehead, a blurred photo: 0.71-0.85)
    assert len(bad) <= 0.2 * n, bad
