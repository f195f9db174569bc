"""The skin each region loses to clipping (mesovision.clipping): recorded per photo and
warned about when large, on a synthetic clip and on a light face whose cheek a redness clips."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import shared_faces

from mesovision.clipping import CLIP_WARN_SHARE, clip_warnings, clipped_shares, clipping_record


def test_shares_count_the_region_pixels_each_clip_leaves_out():
    region = np.zeros((10, 10), bool)
    region[:, :4] = True  # 40 px
    own = np.zeros_like(region)
    own[:2, :4] = True  # 8 of them
    either = own.copy()
    either[2:5, :4] = True  # 20 of them
    shares = clipped_shares({"r": region, "empty": np.zeros_like(region)}, own, either)
    assert shares == {"r": {"own": 0.2, "lost": 0.5}, "empty": {"own": 0.0, "lost": 0.0}}


def test_a_warning_names_the_region_the_share_and_the_photo_past_the_limit():
    before = {"a": {"own": 0.0, "lost": 0.9}, "b": {"own": 0.1, "lost": CLIP_WARN_SHARE}}
    after = {"a": {"own": 0.9, "lost": 0.88}, "b": {"own": 0.0, "lost": 0.1}}
    assert clip_warnings(before, after) == {
        "a": "a: 90 % of its skin is clipped (most in the after photo) and left out: its "
        "colour change is read on the rest and may be under-reported"
    }
    same = {"a": {"own": 0.5, "lost": 0.5}}
    assert "(in both photos)" in clip_warnings(same, same)["a"]
    rec = clipping_record(before, after)
    assert rec.regions["a"] == {"before": 0.0, "after": 0.9, "lost": 0.9}
    assert list(rec.warnings) == ["a"]


def _compare(before, after, **kw):
    import mesovision as mv

    return mv.compare(before, after, **kw)


def test_a_cheek_clipped_white_in_the_after_photo_is_recorded_and_warned(faces, face_regions):
    rgb = faces["grace_hopper"]
    after = rgb.copy()
    after[face_regions["grace_hopper"]["left_cheek"]] = 1.0
    cmp = _compare(rgb, after, treated=["left_cheek"])
    reg = cmp.clipping.regions
    assert reg["left_cheek"]["after"] > 0.9 and reg["left_cheek"]["lost"] > 0.9
    assert reg["left_cheek"]["before"] < 0.1
    assert reg["right_cheek"]["lost"] < CLIP_WARN_SHARE
    assert "left_cheek" in cmp.clipping.warnings and "right_cheek" not in cmp.clipping.warnings
    assert "most in the after photo" in cmp.clipping.warnings["left_cheek"]
    from mesovision.compare import comparison_record

    assert comparison_record(cmp)["clipping"]["warnings"] == cmp.clipping.warnings
    same = _compare(rgb, rgb)
    assert "left_cheek" not in same.clipping.warnings
    assert same.clipping.regions["left_cheek"]["lost"] < 0.1


def test_redness_that_clips_a_light_cheek_is_warned_about():
    # The metamorphic audit's case: +8 a* on Rose Leslie's left cheek clips about 90 % of it.
    from mesovision.io import load_photo
    from mesovision.landmarks import detect_landmarks
    from mesovision.regions import region_masks
    from mesovision.testing.synthetic import inject_redness

    path = next((p for p, _ in shared_faces() if p.name == "fr_rose_leslie_img1.jpg"), None)
    if path is None:
        pytest.skip("fr_rose_leslie_img1.jpg not in the shared faces")
    rgb = load_photo(path).rgb
    lm = detect_landmarks(rgb)
    cheek = region_masks(lm, rgb.shape[:2], rgb=rgb)["left_cheek"]
    u8 = lambda x: np.round(np.clip(x, 0, 1) * 255).astype(np.uint8) / 255.0  # noqa: E731
    red = inject_redness(rgb, cheek, delta_a=8, feather_px=0.05 * lm.interocular_px)
    cmp = _compare(u8(rgb).astype(np.float32), u8(red).astype(np.float32), treated=["left_cheek"])
    lc = cmp.clipping.regions["left_cheek"]
    assert lc["before"] < 0.05 and lc["after"] > 0.8
    assert "left_cheek" in cmp.clipping.warnings
    assert cmp.clipping.regions["right_cheek"]["lost"] < CLIP_WARN_SHARE
