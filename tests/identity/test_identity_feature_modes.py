"""The identity check of the feature-aligned modes (body, scalp, trichoscopy) and the fewest
feature matches their alignment is accepted on (``mesovision.pipeline._align_body``,
``mesovision.identity.check_identity_if_faces``, ``mesovision.align.body.MIN_INLIERS``).

Real photos of ``../shared/faces`` (the tests that need them skip without the folder, and fail
without it when ``CI=true``): Obama's and Biden's portraits (another person: distance 0.850),
Obama's portrait with Biden's face pasted over his (another person in the same room: 0.847,
so that the photos align), and Carell's portrait recaptured with its hairline moved (the same
person: 0.092). The samples' thigh photos show no face.
"""

from __future__ import annotations

import json
import sys

import cv2
import numpy as np
import pytest
from conftest import REPO, SAMPLES, message_lines, require, run_cli
from PIL import Image

from mesovision.align import MIN_INLIERS, align_body
from mesovision.errors import AlignmentError, IdentityMismatch
from mesovision.identity import MAX_DISTANCE, NO_FACE_NOTE, check_identity_if_faces
from mesovision.io import load_photo
from mesovision.pipeline import align_pair

THIGH = SAMPLES / "thigh"


@pytest.fixture(scope="module")
def faces():
    sys.path.insert(0, str(REPO / "benchmarks"))
    from _faces import faces_dir

    folder = faces_dir()
    require(folder is not None, "../shared/faces not found (or set MESOVISION_FACES)")
    return folder


def _save(path, rgb) -> str:
    Image.fromarray((np.clip(rgb, 0, 1) * 255 + 0.5).astype(np.uint8)).save(path, quality=92)
    return str(path)


def _face_box(rgb) -> tuple[int, int, int, int]:
    """A square of 3.2 interocular distances around the face (pupils 0.4 IOD above its centre):
    forehead to chin."""
    from mesovision.landmarks import detect_landmarks

    lm = detect_landmarks(rgb)
    r, left = (np.asarray(lm.points[i][:2], float) for i in (468, 473))
    iod = float(np.hypot(*(left - r)))
    cx, cy = (r + left) / 2 + (0.0, 0.4 * iod)
    h = 1.6 * iod
    return round(cx - h), round(cy - h), round(cx + h), round(cy + h)


@pytest.fixture(scope="module")
def swapped(faces, tmp_path_factory):
    """``(before, after)``: Obama's portrait, and the same photo with Biden's face (forehead to
    chin) pasted over Obama's: the room, and so the image features, are the same."""
    before = load_photo(faces / "fr_obama.jpg").rgb
    other = load_photo(faces / "fr_biden.jpg").rgb
    x0, y0, x1, y1 = _face_box(before)
    u0, v0, u1, v1 = _face_box(other)
    after = before.copy()
    after[y0:y1, x0:x1] = cv2.resize(other[v0:v1, u0:u1], (x1 - x0, y1 - y0),
                                     interpolation=cv2.INTER_AREA)  # fmt: skip
    folder = tmp_path_factory.mktemp("swapped")
    return str(faces / "fr_obama.jpg"), _save(folder / "biden_in_obamas_room.jpg", after)


@pytest.fixture(scope="module")
def recaptured(faces, tmp_path_factory):
    """``(before, after)``: Carell's portrait and the same face taken again (scaled, turned,
    other light and noise), its hairline moved up by 8 % IOD."""
    from mesovision.landmarks import detect_landmarks
    from mesovision.testing.hairline import move_hairline, recapture

    rgb = load_photo(faces / "of_carell.jpg", max_side=1024).rgb
    moved = recapture(move_hairline(rgb, detect_landmarks(rgb), 8.0), seed=11)
    folder = tmp_path_factory.mktemp("recaptured")
    return _save(folder / "b.png", rgb), _save(folder / "a.png", moved)


@pytest.mark.parametrize("mode", ["scalp", "body"])
def test_another_person_is_refused_in_the_feature_modes(faces, mode, tmp_path):
    """Obama against Biden: exit 11 and one line naming the after photo, as in face mode; no
    output folder."""
    after = str(faces / "fr_biden.jpg")
    out = tmp_path / "out"
    proc = run_cli("compare", faces / "fr_obama.jpg", after, "-o", out, "--mode", mode,
                   "--px-per-mm", "5")  # fmt: skip
    assert proc.returncode == 11, proc.stderr
    lines = message_lines(proc.stderr)
    assert lines == [
        f"mesovision: error: {after}: a different person from the before photo: "
        f"face-descriptor distance 0.850, limit {MAX_DISTANCE:.3f} (use --force to proceed)"
    ]
    assert not out.exists()


def test_force_compares_another_person_and_records_the_identity(swapped, tmp_path):
    """``--force`` on Biden's face in Obama's room (scalp mode): compared, with the failed check
    in ``result.json`` and a warning."""
    before, after = swapped
    out = tmp_path / "out"
    proc = run_cli("compare", before, after, "-o", out, "--mode", "scalp", "--force")
    assert proc.returncode == 0, proc.stderr
    assert f"{after}: a different person from the before photo" in proc.stderr
    assert "proceeding (--force)" in proc.stderr
    al = json.loads((out / "result.json").read_text())["alignment"]
    ident = al["identity"]
    assert ident["passed"] is False and ident["threshold"] == MAX_DISTANCE
    assert 0.80 <= ident["distance"] <= 0.90  # measured 0.847
    assert al["identity_note"] is None and al["n_points"] >= 500  # the room matches: 892
    assert any("different person" in w for w in al["warnings"])
    assert al["forced"] == [f"{after}: {ident['note']}"]  # and the summary names it
    assert f"warning: {after}: a different person from the before photo" in proc.stdout
    assert "compared only because of --force" in proc.stdout


@pytest.mark.parametrize("mode", ["body", "trichoscopy"])
def test_the_library_refuses_another_person_unless_forced(swapped, mode):
    before, after = swapped
    with pytest.raises(IdentityMismatch) as err:
        align_pair(before, after, mode=mode)
    assert err.value.path == after and err.value.exit_code == 11
    pair = align_pair(before, after, mode=mode, force=True)
    assert pair.identity["passed"] is False and pair.identity["distance"] > MAX_DISTANCE
    assert pair.identity_note is None


@pytest.mark.parametrize("mode", ["scalp", "body"])
def test_the_same_person_passes_and_the_check_is_recorded(recaptured, mode):
    from mesovision.pipeline import alignment_record

    pair = align_pair(*recaptured, mode=mode)
    rec = alignment_record(pair)
    assert rec["identity"]["passed"] is True
    assert rec["identity"]["distance"] < 0.2  # measured 0.092
    assert rec["identity_note"] is None
    assert not any("different person" in w for w in rec["warnings"])


def test_a_photo_without_a_face_is_compared_without_the_check():
    """The thigh pair: no face, so no identity check, and the note names the before photo."""
    from mesovision.pipeline import alignment_record

    before = str(THIGH / "before.jpg")
    rec = alignment_record(align_pair(before, str(THIGH / "after_treated.jpg"), mode="body"))
    assert rec["identity"] is None
    assert rec["identity_note"] == f"{before}: {NO_FACE_NOTE}"
    # a face before and none after: the note names the after photo
    face = load_photo(SAMPLES / "astronaut" / "before.jpg").rgb
    flat = np.full_like(face, 0.5)
    assert check_identity_if_faces(face, flat, names=("b.jpg", "a.jpg")) == (
        None,
        f"a.jpg: {NO_FACE_NOTE}",
    )


def test_a_fit_on_too_few_matches_is_refused_even_with_force(faces, tmp_path):
    """The thigh against Carell's portrait: a few chance matches (6 agree on a homography),
    refused with the alignment's exit code 7 and one line naming the after photo, --force or
    not."""
    after = str(faces / "of_carell.jpg")
    for force in ((), ("--force",)):
        out = tmp_path / f"out{len(force)}"
        proc = run_cli("compare", THIGH / "before.jpg", after, "-o", out, "--mode", "body", *force)
        assert proc.returncode == 7, proc.stderr
        lines = message_lines(proc.stderr)
        assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
        assert lines[0].startswith(f"mesovision: error: {after}: only 6 of ")
        assert lines[0].endswith(
            f"matching features agree on one alignment; at least {MIN_INLIERS} are needed (do "
            "the photos show the same area?)"
        )
        assert not out.exists()


def test_the_fewest_inliers_is_a_bound_that_is_met(monkeypatch):
    """The thigh sample pair has 41 inliers: accepted at a minimum of 41, refused at 42."""
    b = load_photo(THIGH / "before.jpg").rgb
    a = load_photo(THIGH / "after_treated.jpg").rgb
    mask = np.ones(b.shape[:2], bool)
    al = align_body(b, a, mask=mask, refine=False)
    assert al.n_points == 41 >= MIN_INLIERS
    monkeypatch.setattr("mesovision.align.body.MIN_INLIERS", 41)
    assert align_body(b, a, mask=mask, refine=False).n_points == 41
    monkeypatch.setattr("mesovision.align.body.MIN_INLIERS", 42)
    with pytest.raises(AlignmentError) as err:
        align_body(b, a, mask=mask, refine=False, path="a.jpg")
    assert err.value.path == "a.jpg" and err.value.exit_code == 7
    assert err.value.message.startswith("only 41 of 41 matching features agree")
    assert "at least 42 are needed" in err.value.message
