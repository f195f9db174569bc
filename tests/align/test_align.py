from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest

from mesovision.align import (
    THRESHOLDS,
    align_body,
    align_faces,
    check_alignment,
    warp_to_before,
)
from mesovision.errors import AlignmentError, UsageError
from mesovision.landmarks import detect_landmarks
from mesovision.testing.synthetic import apply_lighting, apply_similarity
from mesovision.types import HeadPose

CASES = [  # (angle_deg, scale, shift_xy)
    (5.0, 1.0, (10.0, -8.0)),
    (-8.0, 1.1, (-20.0, 15.0)),
    (3.0, 0.9, (0.0, 0.0)),
    (0.0, 1.0, (6.5, 3.25)),
]


def _mean_error_iod(al, T, face, iod):
    """Mean distance over face pixels between the estimated and the true before->after map."""
    ys, xs = np.nonzero(face)
    P = np.c_[xs, ys, np.ones(len(xs))]
    if al.flow is not None:
        est = al.flow[ys, xs]
    else:
        q = P @ np.linalg.inv(al.matrix).T
        est = q[:, :2] / q[:, 2:]
    true = (P @ T.T)[:, :2]
    return float(np.linalg.norm(est - true, axis=1).mean() / iod)


@pytest.fixture(scope="module")
def errors(faces, face_landmarks, face_regions):
    out = {}
    for name, rgb in faces.items():
        lb, face = face_landmarks[name], face_regions[name]["face"]
        for case in CASES:
            angle, scale, shift = case
            after, T = apply_similarity(rgb, angle_deg=angle, scale=scale, shift_xy=shift)
            after = apply_lighting(after, gain=1.15, white_balance=(1.05, 1.0, 0.95))
            la = detect_landmarks(after)
            for refine in ("none", "ecc", "mesh"):
                al = align_faces(rgb, after, lb, la, face_mask=face, refine=refine)
                out[name, case, refine] = (_mean_error_iod(al, T, face, lb.interocular_px), al)
    return out


def test_ecc_recovers_known_similarity_within_1pct_iod(errors):
    errs = [e for (_, _, r), (e, _) in errors.items() if r == "ecc"]
    assert np.mean(errs) < 0.01, errs
    assert max(errs) < 0.015, errs


def test_landmark_fit_alone_is_within_3pct_iod(errors):
    # Landmarks alone are limited by mesh jitter (glasses on grace_hopper): the refinement matters.
    errs = [e for (_, _, r), (e, _) in errors.items() if r == "none"]
    assert max(errs) < 0.03, errs


def test_mesh_refinement_within_3pct_iod(errors):
    errs = [e for (_, _, r), (e, al) in errors.items() if r == "mesh"]
    assert max(errs) < 0.03, errs


def test_quality_figures_are_reported(errors, face_landmarks):
    for (name, _, _), (_, al) in errors.items():
        assert 0 < al.residual_px < 10
        iod = face_landmarks[name].interocular_px
        assert al.residual_iod == pytest.approx(al.residual_px / iod) and al.residual_iod < 0.05
        assert al.coverage > 0.99
        assert al.pose_difference() is not None
        assert al.method.startswith("landmarks-similarity")


def test_aligning_a_photo_onto_itself_is_the_identity(faces, face_landmarks, face_regions):
    rgb, lm = faces["astronaut"], face_landmarks["astronaut"]
    al = align_faces(rgb, rgb, lm, lm, face_mask=face_regions["astronaut"]["face"])
    assert np.allclose(al.matrix, np.eye(3), atol=2e-3)
    out, valid = warp_to_before(rgb, al, rgb.shape)
    assert valid.mean() > 0.99
    inner = (slice(10, -10), slice(10, -10))
    assert np.abs(out[inner] - rgb[inner]).mean() < 2e-3


def test_warp_maps_after_pixels_onto_before(faces, face_landmarks, face_regions):
    rgb = faces["grace_hopper"]
    after, _ = apply_similarity(rgb, angle_deg=6, scale=1.05, shift_xy=(15, -10))
    al = align_faces(rgb, after, face_landmarks["grace_hopper"], detect_landmarks(after),
                     face_mask=face_regions["grace_hopper"]["face"])  # fmt: skip
    back, valid = warp_to_before(after, al, rgb.shape)
    face = face_regions["grace_hopper"]["face"] & valid
    assert np.abs(back[face] - rgb[face]).mean() < 0.02


@pytest.mark.parametrize("refine", ["ecc", "mesh"])
def test_reduced_aligned_after_matches_the_reduced_full_warp(refine):
    # The comparison fits its lighting on the after photo reduced first and warped at the small
    # size (global alignment), not on the full-resolution warp reduced: the two agree.
    from mesovision.pipeline import align_pair

    g = "sample_images/grace_hopper"
    pair = align_pair(f"{g}/before.jpg", f"{g}/after_no_change.jpg", refine=refine)
    h, w = pair.before.rgb.shape[:2]
    small = (round(h * 0.375), round(w * 0.375))
    got = pair.aligned_after_at(small)
    want = cv2.resize(pair.aligned_after, small[::-1], interpolation=cv2.INTER_AREA)
    inner = cv2.erode(pair.valid.astype(np.uint8), np.ones((9, 9), np.uint8))
    inner = cv2.resize(inner, small[::-1], interpolation=cv2.INTER_NEAREST) > 0
    assert got.shape == want.shape == (*small, 3)
    if pair.alignment.flow is not None:  # a mesh warp reduces the full-resolution warp itself
        assert np.array_equal(got, want)
    else:
        # Same geometry (moving either by 0.15 px only makes them differ more) and colour; the
        # small warp's bilinear interpolation softens a little (1.7 code values on average).
        def err(img):
            return float(np.abs(img - want)[inner].mean())

        assert abs(float((got - want)[inner].mean())) < 1e-3 and err(got) < 0.01
        for dx, dy in ((0.15, 0), (-0.15, 0), (0, 0.15), (0, -0.15)):
            moved = cv2.warpAffine(got, np.float32([[1, 0, dx], [0, 1, dy]]), small[::-1])
            assert err(moved) > err(got) + 1e-3
    assert pair.aligned_after_at((h, w)) is pair.aligned_after


def test_after_regions_are_drawn_on_first_use_in_the_after_frame():
    from mesovision.pipeline import align_pair
    from mesovision.regions import region_masks

    g = "sample_images/grace_hopper"
    pair = align_pair(f"{g}/before.jpg", f"{g}/after_treated.jpg")
    assert "after_regions" not in vars(pair)  # nothing drawn while aligning
    got = pair.after_regions
    want = region_masks(pair.after_landmarks, pair.after.rgb.shape, rgb=pair.after.rgb)
    assert got.keys() == want.keys() == pair.regions.keys()
    assert all(np.array_equal(got[r], want[r]) for r in want)
    # In the after photo's own frame: its face lies over the after landmarks' face oval.
    ys, xs = np.nonzero(got["face"])
    cx, cy = pair.after_landmarks.points.mean(axis=0)
    assert abs(xs.mean() - cx) < 0.1 * pair.after_landmarks.interocular_px
    assert abs(ys.mean() - cy) < 0.5 * pair.after_landmarks.interocular_px
    assert pair.after_regions is got


@pytest.mark.parametrize("k", [1, 3])
def test_a_photo_whose_orientation_tag_was_lost_is_aligned_upright(tmp_path, k):
    """The astronaut's file is stored sideways with an EXIF orientation tag; its pixels saved
    a quarter turn over without the tag (as some exports do) are turned upright, with a
    warning, and align onto the tagged file as the same photo: the identity (0.02 px)."""
    from mesovision.io import load_photo, write_png
    from mesovision.pipeline import align_pair, photo_record

    a = "sample_images/astronaut"
    up = load_photo(f"{a}/before.jpg")
    lost = write_png(tmp_path / "lost_tag.png", np.rot90(up.rgb, k))
    pair = align_pair(f"{a}/before.jpg", str(lost))
    assert pair.after.quarter_turns == (4 - k) % 4 and pair.before.quarter_turns == 0
    assert pair.after.original_size == up.original_size
    assert np.abs(pair.after.rgb - up.rgb).max() < 1 / 255 + 1e-6  # 8-bit PNG of the same pixels
    how = "counterclockwise" if k == 1 else "clockwise"
    assert f"{lost}: the face lies a quarter turn {how} in the photo" in "\n".join(pair.warnings)
    assert pair.identity["passed"] is True
    assert np.abs(pair.alignment.matrix - np.eye(3)).max() < 0.02
    assert photo_record(pair.after)["quarter_turns"] == (4 - k) % 4


def test_a_user_mask_follows_its_before_photo_turned_upright(tmp_path):
    """A mask is drawn on the before photo as its file shows it: sideways for a photo whose
    tag was lost, turned upright with it."""
    from mesovision.io import load_photo, write_png
    from mesovision.pipeline import align_pair

    g = "sample_images/grace_hopper"
    up = load_photo(f"{g}/before.jpg")
    lost = write_png(tmp_path / "lost_tag.png", np.rot90(up.rgb, 1))
    drawn = np.zeros(np.rot90(up.rgb, 1).shape[:2], np.uint8)
    drawn[:, : drawn.shape[1] // 2] = 255  # the left half of the file as shown: sideways
    mask = write_png(tmp_path / "mask.png", drawn)
    pair = align_pair(str(lost), f"{g}/before.jpg", mask_path=str(mask))
    assert pair.before.quarter_turns == 3
    # The left half of the file as shown is the upright photo's top half (the face's upper part).
    half = pair.measured.shape[0] // 2
    assert pair.measured[:half].any() and not pair.measured[half + 1 :].any()
    bad = write_png(tmp_path / "bad.png", drawn[:, : drawn.shape[1] // 2])
    with pytest.raises(UsageError, match="mask is 600x1024 px but the before photo is 1200x1024"):
        align_pair(str(lost), f"{g}/before.jpg", mask_path=str(bad))


def _pose(yaw=0.0, pitch=0.0):
    return HeadPose(yaw_deg=yaw, pitch_deg=pitch, roll_deg=0.0)


def test_thresholds_refuse_and_force_warns(errors):
    _, al = next(iter(errors.values()))
    turned = dataclasses.replace(al, pose_before=_pose(), pose_after=_pose(yaw=22.0))
    with pytest.raises(AlignmentError, match=r"head turned \+22 deg \(yaw\).*limit 15") as err:
        check_alignment(turned, path="after.jpg")
    assert (err.value.check, err.value.value, err.value.limit) == ("yaw", 22.0, 15.0)
    assert len(check_alignment(turned, force=True)) == 1
    partial = dataclasses.replace(al, coverage=0.5)
    with pytest.raises(AlignmentError, match="covers 50 % of the face") as err:
        check_alignment(partial)
    assert (err.value.check, err.value.value, err.value.limit) == ("coverage", 50.0, 90.0)
    assert check_alignment(al) == []
    assert THRESHOLDS["max_yaw_difference_deg"] == 15.0


def test_body_mode_recovers_a_known_homography():
    rng = np.random.default_rng(3)
    # A textured "thigh": skin tone with smooth blobs and fine detail.
    base = np.empty((480, 640, 3), np.float32)
    base[:] = (0.78, 0.6, 0.5)
    noise = cv2.GaussianBlur(rng.normal(0, 1, (480, 640)).astype(np.float32), (0, 0), 3)
    fine = cv2.GaussianBlur(rng.normal(0, 1, (480, 640)).astype(np.float32), (0, 0), 1)
    base = np.clip(base + 0.5 * noise[..., None] + 0.15 * fine[..., None], 0, 1)
    H = np.array([[1.03, 0.04, -12.0], [-0.03, 0.98, 9.0], [2e-5, -1e-5, 1.0]])
    after = cv2.warpPerspective(base, H, (640, 480), flags=cv2.INTER_CUBIC,
                                borderMode=cv2.BORDER_REFLECT)  # fmt: skip
    al = align_body(base, after, mask=np.ones((480, 640), bool))
    ys, xs = np.mgrid[100:380:20, 100:540:20]
    P = np.c_[xs.ravel(), ys.ravel(), np.ones(xs.size)]
    est = P @ np.linalg.inv(al.matrix).T
    true = P @ H.T
    err = np.linalg.norm(est[:, :2] / est[:, 2:] - true[:, :2] / true[:, 2:], axis=1)
    assert err.mean() < 0.3 and al.residual_px < 1.0
    assert al.method.startswith("sift-ransac-homography")


def test_body_mode_refuses_a_featureless_image():
    flat = np.full((200, 200, 3), 0.5, np.float32)
    with pytest.raises(AlignmentError, match="too few image features"):
        align_body(flat, flat)


# --- robustness to landmarks and skin that moved -------------------------------------------------


def _landmark_set(n=41, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(100, 400, (n, 2))


def test_landmark_fit_ignores_a_few_displaced_points():
    from mesovision.align import fit_landmarks
    from mesovision.testing.synthetic import similarity_matrix

    src = _landmark_set()
    t = similarity_matrix(angle_deg=4, scale=1.06, shift_xy=(12, -7), center_xy=(250, 250))
    dst = (np.c_[src, np.ones(len(src))] @ t.T)[:, :2]
    dst += np.random.default_rng(1).normal(0, 0.5, dst.shape)  # detection noise
    moved = dst.copy()
    moved[:5] += (15.0, -10.0)  # five landmarks dragged by a local change
    for target in (dst, moved):
        m = fit_landmarks(src, target)
        err = np.linalg.norm((np.c_[src, np.ones(len(src))] @ (m - t).T)[:, :2], axis=1)
        assert err.max() < 0.6, err.max()


def test_landmark_fit_moves_continuously_with_the_points():
    # A random consensus can flip between subsets of points when one point moves a little; the
    # reweighted fit moves by a fraction of the point's motion.
    from mesovision.align import fit_landmarks

    src = _landmark_set(seed=2)
    dst = src @ np.array([[0.98, -0.1], [0.1, 0.98]]).T + 5
    dst += np.random.default_rng(3).normal(0, 3.0, dst.shape)  # a poor fit: e.g. a turned head
    m0 = fit_landmarks(src, dst)
    for k in range(len(src)):
        nudged = dst.copy()
        nudged[k] += (0.5, 0.5)
        d = (np.c_[src, np.ones(len(src))] @ (fit_landmarks(src, nudged) - m0).T)[:, :2]
        assert np.linalg.norm(d, axis=1).max() < 0.15  # measured 0.06 (random consensus: 1.8)


def test_changed_skin_is_left_out_of_the_intensity_refinement():
    from mesovision.align.ecc import unchanged_mask

    rng = np.random.default_rng(4)
    tmpl = cv2.GaussianBlur(rng.uniform(0.3, 0.7, (200, 200)).astype(np.float32), (0, 0), 3)
    mask = np.zeros((200, 200), np.uint8)
    mask[20:180, 20:180] = 1
    yy, xx = np.mgrid[0:200, 0:200]
    blob = np.hypot(xx - 60, yy - 120) < 20
    # Another light (gain and offset) changes nothing; a dark blob is left out, and little else.
    lit = 1.2 * tmpl + 0.05
    assert np.array_equal(unchanged_mask(tmpl, lit, mask, sigma=4.0), mask)
    changed = lit - 0.25 * blob
    kept = unchanged_mask(tmpl, changed, mask, sigma=4.0).astype(bool)
    assert not (kept & blob).any()
    assert (mask.astype(bool) & ~kept).sum() < 4 * blob.sum()
    # A lamp's gradient across the face is not a local change: nothing is left out.
    ramp = lit * (0.8 + 0.4 * xx / 200)
    assert np.array_equal(unchanged_mask(tmpl, ramp, mask, sigma=4.0), mask)
