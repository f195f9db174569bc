"""The advice of ``face_size``, ``face_size_texture`` and ``sharpness`` names the cause when it
is not the distance or a shaking hand: a small file (a thumbnail, a messenger's copy: "or use
the camera's full-resolution file") or a working copy reduced below the default by
``--max-side`` ("raise --max-side"). In a working copy of the default size, or for features
stored without their sizes, the advice is the usual one. Real files: a 64 x 64 px thumbnail of
the astronaut sample, and the sample at ``--max-side 256``; the rest on its measured features
with the sizes replaced."""

from __future__ import annotations

from dataclasses import replace

import pytest
from conftest import SAMPLES, run_cli
from PIL import Image, ImageOps

from mesovision.checks import check_photo, evaluate_capture

PHOTO = SAMPLES / "astronaut" / "before.jpg"  # 1024 x 1024 px, 86 px between the eyes


def _by_name(checks) -> dict:
    return {c["name"]: c for c in checks}


def test_a_thumbnail_is_told_to_use_the_full_resolution_file(tmp_path):
    thumb = tmp_path / "thumb64.jpg"
    with Image.open(SAMPLES / "astronaut" / "after_no_change.jpg") as im:
        ImageOps.exif_transpose(im).convert("RGB").resize((64, 64)).save(thumb)
    report = check_photo(str(thumb))
    assert report.features.file_size == report.features.working_size == (64, 64)
    c = _by_name(report.checks)
    iod = c["face_size"]["value"]
    assert c["face_size"]["message"] == (
        "move closer, or use the camera's full-resolution file (this one is 64 x 64 px): the "
        f"face is {iod:.0f} px between the eyes, minimum 30"
    )
    assert c["face_size_texture"]["message"].startswith(
        "move closer for texture, or use the camera's full-resolution file (this one is 64 x 64 "
        "px): pores, fine lines and roughness are compared in full from 111 px"
    )
    assert not c["sharpness"]["ok"]
    assert c["sharpness"]["message"].startswith(
        "hold the camera still or focus, or use the camera's full-resolution file (this one is "
        "64 x 64 px): the image is blurred (sharpness "
    )


def test_a_working_copy_reduced_by_max_side_is_named(tmp_path):
    proc = run_cli("check", PHOTO, "--max-side", "256")
    assert proc.returncode == 6, proc.stderr
    [size] = [line for line in proc.stdout.splitlines() if "FAIL  face_size " in line]
    assert "raise --max-side: the face is " in size
    assert "px between the eyes in the working copy (256 x 256 px), " in size
    assert "px in the file (1024 x 1024 px); minimum 30" in size
    assert "move closer" not in size
    [sharp] = [line for line in proc.stdout.splitlines() if "FAIL  sharpness " in line]
    assert "raise --max-side, or hold the camera still or focus: the image is blurred" in sharp
    assert "in the working copy (256 x 256 px; the file is 1024 x 1024 px)" in sharp


@pytest.fixture(scope="module")
def features():
    return check_photo(str(PHOTO)).features


def _far(f, iod=20.0, **sizes):
    """The sample's features with a face ``iod`` px between the eyes, blurred, and ``sizes``."""
    return _by_name(evaluate_capture(replace(f, interocular_px=iod, sharpness=2.0, **sizes)))


def test_the_distance_is_the_cause_in_a_full_size_copy(features):
    # a 12 MP phone photo at the default working size: the face is too far away (39 px
    # between the eyes in the file, 20 in the 2048-px working copy)
    c = _far(features, file_size=(4032, 3024), working_size=(2048, 1536))
    assert (
        c["face_size"]["message"] == "move closer: the face is 20 px between the eyes, minimum 30"
    )
    assert c["sharpness"]["message"] == (
        "hold the camera still or focus: the image is blurred (sharpness 2.0, minimum 10)"
    )
    # the same photo reduced to 1024 px by --max-side: the working copy is named
    c = _far(features, file_size=(4032, 3024), working_size=(1024, 768))
    assert c["face_size"]["message"] == (
        "raise --max-side: the face is 20 px between the eyes in the working copy (1024 x 768 "
        "px), 79 px in the file (4032 x 3024 px); minimum 30"
    )
    c = _far(features, file_size=(4032, 3024), working_size=(256, 192))  # 315 px in the file
    assert c["face_size"]["message"].startswith("raise --max-side")
    # reduced, but the face is too small in the file as well: move closer
    c = _far(features, 10.0, file_size=(4032, 3024), working_size=(2000, 1500))  # 20 px in it
    assert (
        c["face_size"]["message"] == "move closer: the face is 10 px between the eyes, minimum 30"
    )


def test_features_stored_without_sizes_keep_the_usual_advice(features):
    c = _far(features, file_size=None, working_size=None)
    assert (
        c["face_size"]["message"] == "move closer: the face is 20 px between the eyes, minimum 30"
    )
    assert c["sharpness"]["message"].startswith("hold the camera still or focus: the image")


def test_a_large_face_blurred_in_a_small_file_is_not_blamed_on_the_file():
    # 166 px between the eyes in a 1024 x 1200 file: the sharpness is measured at 100 px,
    # reduced, not enlarged: the file's size is not the cause
    f = check_photo(str(SAMPLES / "grace_hopper" / "before.jpg")).features
    assert f.interocular_px > 100 and f.file_size == (1024, 1200)
    c = _by_name(evaluate_capture(replace(f, sharpness=2.0)))
    assert c["sharpness"]["message"] == (
        "hold the camera still or focus: the image is blurred (sharpness 2.0, minimum 10)"
    )
