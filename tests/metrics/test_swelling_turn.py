"""Swelling under a head turned in depth: the turn the stable points' flow shows is taken off the
outline and carried by the pose term, on synthetic 3-D turns of the sample faces and on two press
crops of one untreated man (docs/swelling.md, "A head turned in depth")."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
from conftest import SAMPLES, shared_faces

import mesovision.metrics as M
import mesovision.metrics.swelling as sw
from mesovision.testing.head_turn import turn_head
from mesovision.testing.swell import swell

CONTOUR = "swelling.contour_pct_iod"
METRICS = [CONTOUR, "swelling.shade_area_pct", "swelling.puffiness_pct"]
#: A 2 deg yaw of the sample faces moved a cheek's outline by 2.3-3.3 % IOD, one cheek out and
#: the other in, without the turn in depth (measured); with it, by at most 0.7 % IOD.
TURN_DEG = 2.0
RAW_MIN_PCT = 2.0
TAKEN_OFF_MAX_PCT = 0.8


def _cheeks(rgb, lm, after) -> dict[str, float]:
    """``contour_pct_iod`` of both cheeks in ``after`` (same frame as ``rgb``) against ``rgb``
    and its landmarks ``lm``, as compare measures an after photo (the before photo's landmarks
    and pixels on the after photo's)."""
    from mesovision.landmarks import detect_landmarks
    from mesovision.regions import region_masks

    lm1 = detect_landmarks(after)
    regions = region_masks(lm1, after.shape, rgb=after)
    maps = M.prepare(after, roi_mask=regions["face"], landmarks=lm1, reference=lm,
                     before_rgb=rgb)  # fmt: skip
    return {
        r: M.score_region(maps, regions[r], metrics=[CONTOUR])[CONTOUR]
        for r in ("left_cheek", "right_cheek")
    }


@pytest.mark.parametrize("face", ["astronaut", "grace_hopper"])
def test_a_turn_in_depth_is_taken_off_the_outline(faces, face_landmarks, face, monkeypatch):
    rgb, lm = faces[face], face_landmarks[face]
    for yaw in (TURN_DEG, -TURN_DEG):
        after = turn_head(rgb, lm, yaw_deg=yaw)[0]
        taken_off = _cheeks(rgb, lm, after)
        with monkeypatch.context() as mp:
            mp.setattr(sw, "TURN_IN_DEPTH", False)
            raw = _cheeks(rgb, lm, after)
        print(f"{face} yaw {yaw:+.0f}: {raw} -> {taken_off}")
        # the turn moves one cheek out and the other in; taken off, neither moves far
        assert raw["left_cheek"] * raw["right_cheek"] < 0
        assert min(abs(v) for v in raw.values()) > RAW_MIN_PCT
        assert max(abs(v) for v in taken_off.values()) < TAKEN_OFF_MAX_PCT


def _png(path, rgb: np.ndarray) -> str:
    cv2.imwrite(str(path), cv2.cvtColor(np.round(rgb * 255).astype(np.uint8), cv2.COLOR_RGB2BGR))
    return str(path)


@pytest.mark.slow
def test_a_turned_pair_has_no_significant_outline_change_and_a_bulge_still_has(
    tmp_path, faces, face_landmarks
):
    # The astronaut turned by 2 deg in depth: no significant contour change, the cheeks' pose
    # term is what the turn moved them by in part; the same photo with its left cheek bulged
    # by 3 % IOD, not turned: the bulge is significant, with its sign and size, and carries no
    # pose term worth its name.
    from mesovision.compare import compare_pair
    from mesovision.pipeline import align_pair

    rgb, lm = faces["astronaut"], face_landmarks["astronaut"]
    before = str(SAMPLES / "astronaut" / "before.jpg")
    turned = _png(tmp_path / "turned.png", turn_head(rgb, lm, yaw_deg=TURN_DEG)[0])
    cmp = compare_pair(align_pair(before, turned, force=True), metrics=METRICS)
    contour = {r: per[CONTOUR] for r, per in cmp.changes.items() if CONTOUR in per}
    print({r: (round(c.delta, 2), round(c.noise.sd_pose, 2)) for r, c in contour.items()})
    assert cmp.verdicts["geometry"].tested
    assert not [r for r, c in contour.items() if c.significant]
    for r in ("left_cheek", "right_cheek"):
        assert contour[r].z is not None and contour[r].noise.sd_pose > 0.2
    bulged = _png(tmp_path / "bulged.png", swell(rgb, lm.points, "left_cheek", 0.03).rgb)
    cmp = compare_pair(align_pair(before, bulged), metrics=METRICS)
    c = cmp.changes["left_cheek"][CONTOUR]
    print(f"bulge: {c.delta:.2f} % IOD, se {c.se:.2f}, sd_pose {c.noise.sd_pose:.3f}")
    assert c.significant and 2.5 < c.delta < 3.5
    assert c.noise.sd_pose < 0.1


def test_two_press_crops_of_an_untreated_man_show_no_significant_outline_change():
    # Two press crops of John Schneider (held out by every benchmark): the head turned between
    # them, and the cheeks' outline moved by -9.7 and +5.5 % IOD, one in and one out, which
    # the pair's geometry verdict (limited, x1.3) did not cover (both significant in a course
    # with the cheeks declared treated). Taken off what the turn in depth moved, neither is
    # significant, with or without treated regions declared.
    from mesovision.compare import compare_pair
    from mesovision.pipeline import align_pair

    files = {p.name: p for p, _ in shared_faces()}
    a, b = "dl_John_Schneider_000329_00925963.jpg", "dl_John_Schneider_000331_00926012.jpg"
    pair = align_pair(str(files[a]), str(files[b]))
    for treated in ((), ("left_cheek", "right_cheek")):
        cmp = compare_pair(pair, treated=treated)
        contour = {r: per[CONTOUR] for r, per in cmp.changes.items() if CONTOUR in per}
        print(treated, {r: (round(c.delta, 2), c.z and round(c.z, 2)) for r, c in contour.items()})
        assert cmp.verdicts["geometry"].tested
        assert not [r for r, c in contour.items() if c.significant]
        for r in ("left_cheek", "right_cheek"):
            assert math.isfinite(contour[r].delta) and contour[r].noise.sd_pose > 1.0
