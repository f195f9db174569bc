"""The per-photo accuracy claims of the sample-face tests, over every single-face photo of
``../shared/faces`` (or ``$MESOVISION_FACES``; skipped with the reason where the folder is
absent, a failure under ``CI=true``).

The sample-face tests these widen: the face mesh and its eye order
(``test_landmarks_regions.py::test_mesh_has_478_points_inside_the_face``), the regions as
non-empty, disjoint skin without eyes or lips and the patient's left cheek on the image's right
(``test_regions_are_nonempty_disjoint_skin``, ``test_left_cheek_is_the_patients_left``), an
in-plane rotation read as roll (``test_roll_follows_in_plane_rotation``,
``test_pose.py::test_in_plane_rotation_is_read_as_roll``), the mirror negating yaw and roll
(``test_pose.py::test_mirror_negates_yaw_and_roll``), a rendered yaw turn read at 0.75 of its
size (``test_pose.py::test_synthetic_yaw_turn_is_read_by_the_mesh_estimator``) and expression
scores that a recapture leaves within the checks' limits (``benchmarks/expression.py``).

Geometric claims hold on every photo; estimates are held to the share of photos within a
tolerance, since a benchmark's 95th percentile is by definition exceeded by 1 photo in 20.
Values measured on the 83 photos (2026-12) are in the comments. The 150 x 150 crops are
enlarged to 600 px (cubic), as in the benchmarks. About 40 s in all (five face meshes a photo).
"""

from __future__ import annotations

import functools
import sys

import cv2
import numpy as np
import pytest
from conftest import REPO, require

from mesovision.expression import EXPRESSIONS, expression_scores
from mesovision.io import load_photo
from mesovision.landmarks import detect_landmarks
from mesovision.regions import REGION_POLYGONS, region_masks
from mesovision.testing.head_turn import turn_head

sys.path.insert(0, str(REPO / "benchmarks"))
from _faces import faces_dir, labelled_faces  # noqa: E402

FOLDER = faces_dir()
MISSING = (
    "the shared face photos are not here: put them beside the repository as ../shared/faces "
    "or set MESOVISION_FACES"
)
PHOTOS = [p.name for p, _ in labelled_faces(FOLDER)] if FOLDER else ["(no faces folder)"]
#: Small crops are enlarged to this long side before use (as benchmarks/pose.py does).
SMALL_SIDE, UPSCALE_SIDE = 300, 600
#: The in-plane rotation applied (deg, clockwise on screen): the expression benchmark's recapture.
ROLL_DEG = 5.0


def _rotate(rgb: np.ndarray, deg: float) -> np.ndarray:
    """Rotated clockwise on screen by ``deg`` about the image centre (a camera roll)."""
    h, w = rgb.shape[:2]
    m = cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), -deg, 1.0)
    out = cv2.warpAffine(rgb, m, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
    return np.clip(out, 0, 1)


@functools.cache
def _photo(name: str):
    """``(rgb, landmarks)`` of one photo of the folder."""
    rgb = load_photo(str(FOLDER / name), max_side=2048).rgb
    if max(rgb.shape[:2]) < SMALL_SIDE:
        s = UPSCALE_SIDE / max(rgb.shape[:2])
        rgb = np.clip(cv2.resize(rgb, None, fx=s, fy=s, interpolation=cv2.INTER_CUBIC), 0, 1)
    return rgb, detect_landmarks(rgb)


@functools.cache
def _variants(name: str):
    """Landmarks of the photo rotated by ``ROLL_DEG`` and of its mirror image."""
    rgb, _ = _photo(name)
    return detect_landmarks(_rotate(rgb, ROLL_DEG)), detect_landmarks(rgb[:, ::-1].copy())


def _need_folder() -> None:
    require(FOLDER is not None, MISSING)


# -- every photo ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", PHOTOS)
def test_mesh_on_every_shared_face(name):
    _need_folder()
    rgb, lm = _photo(name)
    assert lm.points.shape == (478, 2) and lm.n_faces >= 1
    assert np.isfinite(lm.points).all() and lm.interocular_px > 10
    # The patient's right eye's outer corner (33) lies on the image's left, well apart from the
    # left one (263): measured at least 1.30 x the interocular distance.
    assert lm.points[263, 0] - lm.points[33, 0] > 1.0 * lm.interocular_px
    # The pupils are inside the photo.
    h, w = rgb.shape[:2]
    for idx in (468, 473):
        x, y = lm.points[idx]
        assert 0 <= x < w and 0 <= y < h, (idx, x, y)


@pytest.mark.parametrize("name", PHOTOS)
def test_regions_on_every_shared_face(name):
    _need_folder()
    rgb, lm = _photo(name)
    masks = region_masks(lm, rgb.shape, rgb=rgb)
    iod2 = lm.interocular_px**2
    for r in REGION_POLYGONS:
        # Non-empty: smallest measured 0.037 x iod^2 (a glabella); median 0.07-0.55.
        assert masks[r].sum() > 0.02 * iod2, (r, masks[r].sum() / iod2)
        assert not (masks[r] & ~masks["face"]).any(), r
    # Polygon edges only: measured at most 1.3 % of the face, 3.2 % on the 240-px-high photo
    # (interocular 24 px, where an edge's pixels weigh most).
    total = sum(masks[r].astype(int) for r in REGION_POLYGONS)
    assert (total > 1).sum() < 0.04 * masks["face"].sum()
    for idx in (468, 473, 13, 14):  # pupils, inner lips: never skin
        x, y = np.round(lm.points[idx]).astype(int)
        assert not masks["face"][y, x], idx
    # The patient's left cheek is on the image's right (measured >= 1.22 x iod apart).
    xl = np.nonzero(masks["left_cheek"])[1].mean()
    xr = np.nonzero(masks["right_cheek"])[1].mean()
    assert xl - xr > 0.8 * lm.interocular_px


# -- estimates: the share of photos within a tolerance -------------------------------------------


def _all(fn) -> list[tuple[str, object]]:
    _need_folder()
    return [(n, fn(n)) for n in PHOTOS]


def _share(values, limit) -> tuple[int, int]:
    v = np.abs(np.asarray(values, np.float64))
    return int((v <= limit).sum()), v.size


@pytest.mark.slow
def test_in_plane_rotation_is_read_as_roll_on_shared_faces():
    """A 5-deg camera roll is read as roll within 1 deg on at least 95 % of the photos and within
    2 deg on all (measured: median error 0.19, 81 / 83 within 1, largest 1.41); yaw moves by less
    than 2 deg (measured at most 1.2)."""

    def err(n):
        _, lm = _photo(n)
        rot, _ = _variants(n)
        return (
            rot.pose.roll_deg - lm.pose.roll_deg - ROLL_DEG,
            rot.pose.yaw_deg - lm.pose.yaw_deg,
        )

    rows = _all(err)
    roll = [e[0] for _, e in rows]
    yaw = [e[1] for _, e in rows]
    within, n = _share(roll, 1.0)
    worst = sorted(rows, key=lambda r: -abs(r[1][0]))[:3]
    msg = f"roll read within 1 deg on {within} / {n} photos; worst {worst}"
    assert within >= 0.95 * n, msg
    assert _share(roll, 2.0) == (n, n), msg
    assert _share(yaw, 2.0) == (n, n), f"yaw cross-talk {sorted(np.abs(yaw))[-3:]}"


def test_mirror_negates_yaw_and_roll_on_shared_faces():
    """The mirror image reads the opposite yaw and roll and the same pitch: within 2 deg (yaw,
    pitch) and 1.5 deg (roll) on at least 90 % of the photos (measured 78, 79 and 81 of 83), and
    within 4 / 4 / 2.5 deg on all (measured at most 3.0, 3.1 and 1.9)."""

    def sums(n):
        _, lm = _photo(n)
        _, mir = _variants(n)
        return (
            lm.pose.yaw_deg + mir.pose.yaw_deg,
            lm.pose.pitch_deg - mir.pose.pitch_deg,
            lm.pose.roll_deg + mir.pose.roll_deg,
        )

    rows = _all(sums)
    s = np.array([v for _, v in rows])
    for axis, close, far in ((0, 2.0, 4.0), (1, 2.0, 4.0), (2, 1.5, 2.5)):
        within, n = _share(s[:, axis], close)
        msg = (
            f"axis {axis}: within {close} deg on {within} / {n}; largest {np.abs(s[:, axis]).max()}"
        )
        assert within >= 0.9 * n, msg
        assert _share(s[:, axis], far) == (n, n), msg


@pytest.mark.slow
def test_synthetic_yaw_turn_is_read_on_shared_faces():
    """A face turned by +-10 deg (rendered from its mesh) reads a yaw change of 0.75 x the turn
    within 2 deg on at least 85 % of the turns and within 4 on all (measured: 149 / 166 within
    2, largest error 3.2: the sample faces' +-2 does not hold on every face); pitch moves by
    less than 2 deg on at least 90 % (157 / 166) and 4 on all (measured 3.4), roll by less
    than 1.5 on all (measured at most 1.1)."""

    def errors(n):
        rgb, lm = _photo(n)
        out = []
        for deg in (10.0, -10.0):
            t = detect_landmarks(turn_head(rgb, lm, yaw_deg=deg)[0]).pose
            out.append(
                (
                    t.yaw_deg - lm.pose.yaw_deg - 0.75 * deg,
                    t.pitch_deg - lm.pose.pitch_deg,
                    t.roll_deg - lm.pose.roll_deg,
                )
            )
        return out

    rows = _all(errors)
    e = np.array([t for _, ts in rows for t in ts])
    worst = sorted(((abs(t[0]), n) for n, ts in rows for t in ts), reverse=True)[:3]
    for axis, close, share, far in ((0, 2.0, 0.85, 4.0), (1, 2.0, 0.9, 4.0), (2, 1.5, 1.0, 1.5)):
        within, n = _share(e[:, axis], close)
        msg = f"axis {axis}: within {close} deg on {within} / {n} turns; worst yaw {worst}"
        assert within >= share * n, msg
        assert _share(e[:, axis], far) == (n, n), msg


def test_a_recapture_leaves_expression_scores_within_their_limits():
    """Rotated by 5 deg, the same expression stays within each expression's change limit on at
    least 90 % of the photos (the limits are a 99th percentile over several recaptures of half
    of the people; measured here 79-83 of 83 per expression), and within 0.35 on all (measured
    at most 0.28)."""

    def change(n):
        _, lm = _photo(n)
        rot, _ = _variants(n)
        a, b = expression_scores(lm.blendshapes), expression_scores(rot.blendshapes)
        return {k: b[k] - a[k] for k in EXPRESSIONS}

    rows = _all(change)
    for k, e in EXPRESSIONS.items():
        d = [c[k] for _, c in rows]
        within, n = _share(d, e.max_change)
        msg = f"{k}: within {e.max_change} on {within} / {n} photos; largest {max(map(abs, d))}"
        assert within >= 0.9 * n, msg
        assert _share(d, 0.35) == (n, n), msg
