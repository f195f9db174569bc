"""The skin each region loses to clipping (mesovision.clipping): recorded per photo and
warned about when large, on a synthetic clip and on a light face whose cheek a redness clips."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import shared_faces

from mesovision.clipping import (
    CLIP_WARN_SHARE,
    FrameGamut,
    clip_warnings,
    clipped_shares,
    clipping_record,
)


def test_shares_count_the_region_pixels_each_clip_leaves_out():
    region = np.zeros((10, 10), bool)
    region[:, :4] = True  # 40 px
    own = np.zeros_like(region)
    own[:2, :4] = True  # 8 of them
    either = own.copy()
    either[2:5, :4] = True  # 20 of them
    shares = clipped_shares({"r": region, "empty": np.zeros_like(region)}, own, either)
    none = {"gamut_own": 0.0, "gamut": 0.0}
    assert shares == {
        "r": {"own": 0.2, "lost": 0.5, **none},
        "empty": {"own": 0.0, "lost": 0.0, **none},
    }


def test_pixels_the_profile_conversion_clipped_are_counted_apart_from_capture_clipping():
    region = np.zeros((10, 10), bool)
    region[:, :4] = True  # 40 px
    gamut = FrameGamut(
        own_capture=region & (np.arange(10)[:, None] < 1),  # 4 px
        either_capture=region & (np.arange(10)[:, None] < 2),  # 8 px
        own=region & (np.arange(10)[:, None] >= 5),  # 20 px
        either=region & (np.arange(10)[:, None] >= 3),  # 28 px
    )
    own = gamut.own_capture | gamut.own  # what the comparison leaves out as clipped
    shares = clipped_shares({"r": region}, own, own | gamut.either, gamut)
    assert shares == {"r": {"own": 0.1, "lost": 0.2, "gamut_own": 0.5, "gamut": 0.7}}
    after = {"r": {"own": 0.0, "lost": 0.2, "gamut_own": 0.0, "gamut": 0.7}}
    rec = clipping_record(shares, after)
    assert rec.warnings == {}
    assert rec.gamut_warnings == {
        "r": "r: 70 % of its skin has colours outside sRGB in the file's colour profile (most "
        "in the before photo), clipped to sRGB's edge by the conversion, not by the exposure: "
        "its colours read less saturated than they are and its colour change may be "
        "under-reported"
    }
    assert rec.regions["r"] == {
        "before": 0.1, "after": 0.0, "lost": 0.2, "gamut_before": 0.5, "gamut_after": 0.0,
        "gamut": 0.7,
    }  # fmt: skip


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
    assert rec.regions["a"] == {
        "before": 0.0, "after": 0.9, "lost": 0.9, "gamut_before": 0.0, "gamut_after": 0.0,
        "gamut": 0.0,
    }  # fmt: skip
    assert list(rec.warnings) == ["a"] and rec.gamut_warnings == {}


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


def _p3_photo(path, rgb, region=None, colour=None):
    """``rgb`` (sRGB, float) converted to Display P3 and saved as an 8-bit PNG with that profile
    (as ``tests/checks/test_checks_gamut.py`` makes one), with ``region`` painted ``colour`` (P3
    levels)."""
    import io

    from PIL import Image, ImageCms

    from mesovision.io.profiles import SRGB_CURVE, matrix_trc_icc

    xy = np.array([[0.680, 0.320], [0.265, 0.690], [0.150, 0.060], [0.3127, 0.3290]])
    p3 = matrix_trc_icc(xy, SRGB_CURVE, "Display P3 (test)")
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
    im = Image.fromarray(np.round(np.clip(rgb, 0, 1) * 255).astype(np.uint8))
    out = ImageCms.profileToProfile(
        im, srgb, ImageCms.ImageCmsProfile(io.BytesIO(p3)), renderingIntent=1
    )
    a = np.asarray(out).copy()
    if region is not None:
        a[region] = colour
    Image.fromarray(a).save(path, icc_profile=p3)
    return str(path)


def test_a_cheek_of_colours_outside_srgb_is_warned_as_gamut_not_as_clipped(
    tmp_path, faces, face_regions
):
    """A wide-gamut (Display P3) after photo whose left cheek is a red outside sRGB: the
    conversion clips it to sRGB's red (the comparison leaves it out, as clipped), but it is no
    over-exposure: no clipping warning, a gamut warning naming the cheek and the share. The
    same red at the file's own maximum is clipped at capture: the clipping warning."""
    from mesovision.io import load_photo

    rgb = faces["grace_hopper"]
    cheek = face_regions["grace_hopper"]["left_cheek"]
    before = _p3_photo(tmp_path / "before.png", rgb)
    after = _p3_photo(tmp_path / "after.png", rgb, cheek, (250, 40, 40))
    marked = load_photo(after).gamut_clipped
    assert marked is not None and np.count_nonzero(marked & cheek) > 0.95 * cheek.sum()
    cmp = _compare(before, after, treated=["left_cheek"])
    lc = cmp.clipping.regions["left_cheek"]
    assert lc["gamut_after"] > 0.9 and lc["gamut"] > 0.9 and lc["gamut_before"] == 0.0
    # capture clipping only: the after photo's none, the before photo's highlight (6 %)
    assert lc["after"] < 0.01 and lc["before"] < 0.1
    assert lc["lost"] == pytest.approx(lc["before"], abs=0.01)
    assert "left_cheek" not in cmp.clipping.warnings
    line = cmp.clipping.gamut_warnings["left_cheek"]
    assert line.startswith(f"left_cheek: {100 * lc['gamut']:.0f} % of its skin has colours ")
    assert "outside sRGB in the file's colour profile (most in the after photo)" in line
    assert cmp.clipping.regions["right_cheek"]["gamut"] < 0.05
    assert "right_cheek" not in cmp.clipping.gamut_warnings
    from mesovision.commands.compare import clipping_lines
    from mesovision.compare import comparison_record

    rec = comparison_record(cmp)["clipping"]
    assert rec["gamut_warnings"] == cmp.clipping.gamut_warnings
    said = [f"warning: {w}" for w in cmp.clipping.warnings.values()]  # the nose's highlight
    assert clipping_lines(rec) == [*said, f"warning: {line}"]
    # the same red at the file's maximum (255) was clipped at capture: clipping, not gamut
    at_max = _p3_photo(tmp_path / "at_max.png", rgb, cheek, (255, 40, 40))
    assert load_photo(at_max).gamut_clipped is None
    cmp = _compare(before, at_max, treated=["left_cheek"])
    assert cmp.clipping.regions["left_cheek"]["lost"] > 0.9
    assert "left_cheek" in cmp.clipping.warnings and cmp.clipping.gamut_warnings == {}
