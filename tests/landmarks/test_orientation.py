"""A photo lying sideways is found upright; an upright face, even a turned head, stays as it is.

:func:`mesovision.landmarks.detect_landmarks_upright` and its vote
(:func:`~mesovision.landmarks.upright_vote`), on the sample photos, on photos of
``../shared/faces`` (or ``$MESOVISION_FACES``; skipped with the reason where the folder is absent,
a failure under ``CI=true``) and on hand-made votes. The figures over every photo at every
quarter turn are ``benchmarks/orientation.py``'s (``docs/how-it-works.md``).
"""

from __future__ import annotations

import functools
import sys

import numpy as np
import pytest
from conftest import REPO, SAMPLES, require
from PIL import Image

from mesovision import landmarks
from mesovision.io import load_photo
from mesovision.landmarks import (
    PLAIN_YAW_DEG,
    detect_landmarks,
    detect_landmarks_upright,
    upright_turns,
    upright_vote,
)
from mesovision.testing.head_turn import turn_head
from mesovision.types import HeadPose, Landmarks

sys.path.insert(0, str(REPO / "benchmarks"))
from _faces import faces_dir  # noqa: E402

FOLDER = faces_dir()
MISSING = (
    "the shared face photos are not here: put them beside the repository as ../shared/faces "
    "or set MESOVISION_FACES"
)
#: Photos of the folder that the first face's eye line alone keeps sideways at a quarter turn
#: (a false upright face is found in the photo as it lies, or the face found sideways points
#: to it upside down), and two it turns right.
SIDEWAYS = (
    "dl_John_Salley_000186_02159346.jpg",
    "dl_John_Salley_000190_02159501.jpg",
    "dl_John_Schneider_000331_00926012.jpg",
    "dl_John_Simm_000306_00470222.jpg",
    "fr_biden2.jpg",
    "of_lennon-1.jpg",
    "fr_obama.jpg",
    "fp_kate_siegel_1.jpg",
)


@pytest.fixture
def count(monkeypatch):
    """The landmarker's runs so far (a list that grows by one per run)."""
    runs = []
    inner = landmarks._find

    def counted(*args, **kwargs):
        runs.append(1)
        return inner(*args, **kwargs)

    monkeypatch.setattr(landmarks, "_find", counted)
    return runs


def _raw(name: str) -> np.ndarray:
    """A sample's pixels as stored, without its EXIF orientation tag."""
    return np.asarray(Image.open(SAMPLES / name).convert("RGB"), dtype=np.float32) / 255


def test_the_astronauts_raw_photo_is_turned_upright_past_a_false_face(count):
    """Stored a quarter turn clockwise (tag 6) and read without the tag, the photo shows a
    false face upright: small (45 px between the pupils), 36 deg of yaw, tilted 16 deg. The
    quarter turns vote for three turns counterclockwise: the real face, frontal, 89 px."""
    raw = _raw("astronaut/after_treated.jpg")
    false = detect_landmarks(raw)
    assert upright_turns(false) == 0 and false.pose.yaw_deg < -PLAIN_YAW_DEG
    assert false.interocular_px == pytest.approx(45.2, abs=2)
    count.clear()
    k, turned, lm = detect_landmarks_upright(raw)
    assert k == 3 and len(count) == 4
    assert np.array_equal(turned, np.rot90(raw, 3))
    assert lm.interocular_px == pytest.approx(89.4, abs=2)
    assert abs(lm.pose.yaw_deg) < 5 and abs(lm.pose.roll_deg) < 5


@pytest.mark.parametrize("k", [1, 2, 3])
def test_the_astronauts_raw_photo_comes_back_upright_from_every_turn(k):
    """Whatever quarter turn the raw pixels are given at (the upright photo turned by
    ``(1 + k) % 4``), the turn returned puts them upright."""
    raw = _raw("astronaut/after_treated.jpg")
    got, _, lm = detect_landmarks_upright(np.ascontiguousarray(np.rot90(raw, k)))
    assert (k + got) % 4 == 3
    assert lm.interocular_px == pytest.approx(89.4, abs=2)


def test_an_upright_frontal_face_costs_one_detection(count):
    rgb = load_photo(SAMPLES / "grace_hopper" / "before.jpg").rgb
    k, turned, lm = detect_landmarks_upright(rgb)
    assert k == 0 and turned is rgb and len(count) == 1
    assert abs(lm.pose.yaw_deg) < 5


def test_a_turned_head_is_searched_at_every_turn_and_stays(count):
    """The astronaut's head turned 40 deg (read about 27 deg): past the yaw limit, so the other
    turns are searched, and the photo stays as it is."""
    rgb = load_photo(SAMPLES / "astronaut" / "before.jpg").rgb
    turned, _ = turn_head(rgb, detect_landmarks(rgb), yaw_deg=-40)
    alone = detect_landmarks(turned)
    assert alone.pose.yaw_deg < -PLAIN_YAW_DEG
    count.clear()
    k, same, lm = detect_landmarks_upright(turned)
    assert k == 0 and same is turned and len(count) == 4
    assert np.array_equal(lm.points, alone.points)


@functools.cache
def _shared(name: str) -> np.ndarray:
    return load_photo(FOLDER / name).rgb


def test_a_turned_head_with_false_faces_at_other_turns_stays():
    """A 150-px crop whose head is turned 35 deg (read 29 deg): upright false faces are found
    at two other quarter turns, one vote each, neither level; the turned head stays."""
    require(FOLDER is not None, MISSING)
    rgb = _shared("dl_John_Savage_000277_01099000.jpg")
    turned, _ = turn_head(rgb, detect_landmarks(rgb), yaw_deg=-35)
    alone = detect_landmarks(turned)
    assert alone.pose.yaw_deg < -PLAIN_YAW_DEG
    others = [detect_landmarks(np.ascontiguousarray(np.rot90(turned, t))) for t in (1, 3)]
    assert [upright_turns(o) for o in others] == [0, 0]
    k, _, lm = detect_landmarks_upright(turned)
    assert k == 0 and np.array_equal(lm.points, alone.points)


@pytest.mark.parametrize("k", [1, 3])
@pytest.mark.parametrize("name", SIDEWAYS)
def test_shared_faces_lying_sideways_come_back_upright(name, k):
    require(FOLDER is not None, MISSING)
    up = _shared(name)
    got, turned, lm = detect_landmarks_upright(np.ascontiguousarray(np.rot90(up, k)))
    assert got == (4 - k) % 4
    assert turned.shape == up.shape and np.array_equal(turned, up)
    assert upright_turns(lm) == 0


# ------------------------------------------------------------------ the vote, on made-up faces


def _face(eye_line_deg: float = 0.0, iod: float = 50.0, pitch: float = 0.0, roll: float = 0.0):
    """Landmarks whose pupils (468, 473) are ``iod`` px apart along ``eye_line_deg``."""
    pts = np.zeros((478, 2))
    a = np.radians(eye_line_deg)
    pts[473] = iod * np.cos(a), iod * np.sin(a)
    pose = HeadPose(yaw_deg=0.0, pitch_deg=pitch, roll_deg=roll)
    return Landmarks(points=pts, z=np.zeros(478), image_size=(400, 400), n_faces=1, pose=pose)


def test_the_turn_most_faces_point_to_wins():
    """The astronaut's pattern: false faces upright as is and upside down (one vote each), the
    real face sideways at turn 2 (eye line at 90 deg: one turn more) and upright at turn 3."""
    found = {
        0: _face(roll=-15),
        1: _face(pitch=24, roll=12),
        2: _face(eye_line_deg=90),
        3: _face(iod=89),
    }
    assert upright_turns(found[2]) == 1
    assert upright_vote(found) == 3


def test_ties_go_to_a_level_face_then_to_the_photo_as_it_is_then_to_the_larger_face():
    assert upright_vote({0: _face(roll=30), 1: _face(iod=30)}) == 1
    assert upright_vote({0: _face(pitch=20), 2: _face(pitch=-20, iod=80)}) == 0
    assert upright_vote({0: _face(iod=40), 2: _face(iod=80)}) == 0
    assert upright_vote({1: _face(iod=40), 3: _face(iod=80), 0: None}) == 3


def test_a_face_upright_as_is_gives_way_only_to_a_level_face():
    """Turn 1 has two votes (its own and the face upside down at turn 3) but is not level: the
    face found upright as the photo is stays."""
    found = {0: _face(), 1: _face(pitch=28), 2: None, 3: _face(eye_line_deg=180)}
    assert upright_turns(found[3]) == 2
    assert upright_vote(found) == 0
    found[1] = _face(pitch=5)
    assert upright_vote(found) == 1


def test_no_upright_face_in_any_turn_gives_no_turn():
    """A face counts for a turn only where it is upright: a sideways face pointing to a turn
    where nothing, or another sideways face, was found gives nothing."""
    assert upright_vote({0: None, 1: _face(eye_line_deg=90), 2: None, 3: None}) is None
    assert upright_vote({0: _face(eye_line_deg=-90), 3: _face(eye_line_deg=90)}) is None
