"""A portrait given to the body, trichoscopy or scalp mode (``mesovision.align.face_fill``): a
comparison warns in one line naming the photos and what the mode measures, and ``mesovision
check --view body:<area>`` warns (``no_face``). Built from the shipped samples: the astronaut
portrait (a face 0.19 of the photo's size), Grace Hopper's portrait with her hairline, the same
cropped below her brows (no hairline in the frame), and the thigh, whose photos show no face."""

from __future__ import annotations

import pytest
from conftest import SAMPLES, run_cli
from PIL import Image

from mesovision.align import MIN_FACE_FILL, face_fill
from mesovision.checks import check_photo
from mesovision.frontal_hairline import add_hairline
from mesovision.io import load_photo
from mesovision.pipeline import align_pair

ASTRONAUT = SAMPLES / "astronaut"
HOPPER = SAMPLES / "grace_hopper"
THIGH = SAMPLES / "thigh"


def _filled(pair) -> list[str]:
    return [w for w in pair.warnings if w.startswith("a face fills")]


def test_face_fill_of_a_portrait_and_of_photos_without_a_face():
    assert face_fill(load_photo(ASTRONAUT / "before.jpg").rgb) == pytest.approx(0.19, abs=0.02)
    assert face_fill(load_photo(HOPPER / "before.jpg").rgb) > 0.3
    for photo in (THIGH / "before.jpg", SAMPLES / "scalp" / "before.jpg"):
        assert face_fill(load_photo(photo).rgb) is None
    assert 0.19 > MIN_FACE_FILL


@pytest.mark.parametrize(
    ("mode", "measures"),
    [
        ("trichoscopy", "trichoscopy mode measures a close-up of the scalp"),
        ("body", "body mode measures body skin (thigh, buttock, abdomen, arm)"),
    ],
)
def test_a_portrait_in_a_body_or_trichoscopy_comparison_warns_in_one_line(mode, measures):
    b, a = ASTRONAUT / "before.jpg", ASTRONAUT / "after_treated.jpg"
    pair = align_pair(str(b), str(a), mode=mode)
    assert _filled(pair) == [f"a face fills {b} and {a}: {measures}; use --mode face"]


def test_a_thigh_in_body_mode_is_not_warned_about():
    pair = align_pair(str(THIGH / "before.jpg"), str(THIGH / "after_treated.jpg"), mode="body")
    assert _filled(pair) == []


def test_scalp_mode_warns_only_about_a_face_without_a_hairline(tmp_path):
    """A frontal-hairline view shows a face: no warning. The same face cut below the brows has
    no hairline in the frame: the scalp mode would measure the face as scalp."""
    full = add_hairline(align_pair(str(HOPPER / "before.jpg"), str(HOPPER / "before.jpg"),
                                   mode="scalp"))  # fmt: skip
    assert any(v == v for v in full.settings["hairline"]["before"]["sites_iod_pct"].values())
    assert _filled(full) == []
    tight = tmp_path / "tight.jpg"
    Image.open(HOPPER / "before.jpg").crop((300, 330, 750, 760)).save(tight, quality=92)
    pair = add_hairline(align_pair(str(tight), str(tight), mode="scalp"))
    sites = pair.settings["hairline"]["before"]["sites_iod_pct"].values()
    assert all(v != v for v in sites)  # NaN: the forehead is outside the photo
    assert _filled(pair) == [
        f"a face fills {tight} and {tight} and no hairline is found above them: scalp mode "
        "measures crown, part-line and frontal-hairline views; use --mode face"
    ]


@pytest.mark.slow
def test_the_cli_prints_the_warning_once(tmp_path):
    b, a = ASTRONAUT / "before.jpg", ASTRONAUT / "after_treated.jpg"
    run = run_cli("compare", b, a, "-o", tmp_path / "o", "--mode", "trichoscopy",
                  "--px-per-mm", "50")  # fmt: skip
    assert run.returncode == 0, run.stderr
    lines = [ln for ln in run.stderr.splitlines() if "a face fills" in ln]
    assert lines == [
        f"mesovision: WARNING: a face fills {b} and {a}: trichoscopy mode measures a close-up "
        "of the scalp; use --mode face"
    ]


def test_check_warns_about_a_portrait_filed_as_a_body_view():
    rep = check_photo(str(ASTRONAUT / "before.jpg"), view="body:thigh")
    c = {c["name"]: c for c in rep.checks}["no_face"]
    assert not c["ok"] and c["severity"] == "warn" and c["threshold"] == MIN_FACE_FILL
    assert c["value"] == pytest.approx(0.19, abs=0.02)
    assert c["message"].startswith("a face fills the photo (its size is 0.19 of the photo's")
    assert not rep.failed  # a warning: the photo is stored (session add), as body checks are
    thigh = {c["name"]: c for c in check_photo(str(THIGH / "before.jpg"), view="body:thigh").checks}
    assert thigh["no_face"]["ok"] and thigh["no_face"]["value"] == 0.0
    # a face view is not asked the question; a scalp view may show a face (frontal hairline)
    for view in ("front", "scalp:front"):
        names = {c["name"] for c in check_photo(str(ASTRONAUT / "before.jpg"), view=view).checks}
        assert "no_face" not in names
