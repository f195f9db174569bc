"""Capture checks: synthetic failures of known magnitude made from the sample photos."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from conftest import SAMPLES, message_lines, run_cli

from mesovision import checks
from mesovision.checks import (
    CHECKS,
    FAIL_CHECKS,
    CaptureFeatures,
    evaluate_capture,
    eye_aspect_ratio,
    measure_capture,
    mouth_open_ratio,
    mouth_width_iod,
)
from mesovision.io import load_photo
from mesovision.testing.synthetic import apply_similarity

NAMES = ("grace_hopper", "astronaut")


@pytest.fixture(scope="module")
def photos():
    return {n: load_photo(SAMPLES / n / "before.jpg").rgb for n in NAMES}


@pytest.fixture(scope="module")
def measured(photos):
    return {n: measure_capture(rgb) for n, rgb in photos.items()}


def _by_name(result: list[dict]) -> dict[str, dict]:
    return {c["name"]: c for c in result}


def _check(rgb, name, **kw):
    return _by_name(evaluate_capture(measure_capture(rgb, **kw)))[name]


def test_every_check_is_documented_in_one_table(measured):
    # the file's transparency and palette are read by check_photo (the loader sees the file)
    file_measures = {"transparent_share": 0.0, "palette_colours": 0}
    base = CaptureFeatures(**{**measured["grace_hopper"].__dict__, **file_measures})
    produced = {c["name"] for c in evaluate_capture(base, baseline=base)}
    assert produced == set(CHECKS)
    assert FAIL_CHECKS <= set(CHECKS)
    for name, (threshold, unit, doc) in CHECKS.items():
        assert isinstance(threshold, (int, float)) and unit and len(doc) > 10, name
    for c in evaluate_capture(base, baseline=base):
        assert set(c) == {"name", "ok", "severity", "value", "threshold", "unit", "message"}
        assert c["severity"] == ("fail" if c["name"] in FAIL_CHECKS else "warn")


@pytest.mark.parametrize("name", NAMES)
def test_sample_photos_pass_every_check_but_the_astronauts_smile(measured, name):
    f = measured[name]
    result = evaluate_capture(f, baseline=f)
    problems = [c["name"] for c in result if not c["ok"]]
    # Open eyes, closed mouth (the astronaut smiles with parted lips: 0.15 of the mouth width).
    assert 0.22 < f.eye_aspect_ratio < 0.40
    assert f.mouth_open_ratio < {"grace_hopper": 0.02, "astronaut": 0.20}[name]
    assert abs(f.yaw_deg) < 5 and abs(f.pitch_deg) < 5 and abs(f.roll_deg) < 5
    # The astronaut smiles broadly (the Face Landmarker reads 0.90 on both sides), Grace Hopper
    # does not: only the astronaut is asked for a neutral expression.
    smile = f.expression["smile"]
    if name == "astronaut":
        assert 0.8 < smile <= 1.0
        # Its face is under the texture size (86 px between the eyes): a warning too.
        assert f.interocular_px < checks.MIN_TEXTURE_INTEROCULAR_PX
        assert problems == ["face_size_texture", "expression_neutral"]
        assert _by_name(result)["expression_neutral"]["message"].startswith(
            "ask for a neutral expression: smiling (0.9"
        )
    else:
        assert smile < 0.1
        assert problems == []


def test_eye_and_mouth_ratios_on_known_geometry():
    p = np.zeros((478, 2))
    # Both eyes 30 px wide, lids 3 px above and below: EAR = (6 + 6) / (2 * 30) = 0.2.
    for x0, (p1, p2, p3, p4, p5, p6) in ((100, checks.RIGHT_EYE), (200, checks.LEFT_EYE)):
        p[p1], p[p4] = (x0, 50), (x0 + 30, 50)
        p[p2], p[p6] = (x0 + 10, 47), (x0 + 10, 53)
        p[p3], p[p5] = (x0 + 20, 47), (x0 + 20, 53)
    assert eye_aspect_ratio(p) == pytest.approx(0.2)
    closed = p.copy()
    for idx in (checks.RIGHT_EYE, checks.LEFT_EYE):
        for i in idx[1:3] + idx[4:6]:
            closed[i, 1] = 50
    assert eye_aspect_ratio(closed) == pytest.approx(0.0)
    # Mouth 50 px wide, lips 5 px apart; pupils 60 px apart.
    p[61], p[291], p[13], p[14] = (125, 120), (175, 120), (150, 118), (150, 123)
    p[468], p[473] = (115, 50), (175, 50)
    assert mouth_open_ratio(p) == pytest.approx(0.1)
    assert mouth_width_iod(p) == pytest.approx(50 / 60)


def test_closed_eyes_open_mouth_and_smile_give_their_messages(measured):
    base = measured["grace_hopper"]
    expr = dict(base.expression)
    expr["smile"] += 0.5
    expr["eye_blink"] += 0.3
    expr["frown"] -= 0.1
    f = CaptureFeatures(
        **{
            **base.__dict__,
            "eye_aspect_ratio": 0.08,
            "mouth_open_ratio": 0.4,
            "expression": expr,
        }
    )
    r = _by_name(evaluate_capture(f, baseline=base))
    assert not r["eyes_open"]["ok"] and r["eyes_open"]["message"].startswith("open the eyes")
    assert r["mouth_closed"]["message"].startswith("close the mouth / neutral expression")
    assert r["smile_vs_baseline"]["value"] == pytest.approx(0.5)
    assert r["smile_vs_baseline"]["message"].startswith(
        f"expression as at baseline: smiling more ({expr['smile']:.2f} vs "
        f"{base.expression['smile']:.2f} at baseline; it moves the perioral, chin, left_cheek"
    )
    assert not r["eyes_vs_baseline"]["ok"] and r["eyes_vs_baseline"]["value"] == pytest.approx(0.3)
    assert "the eyes closed more (" in r["eyes_vs_baseline"]["message"]
    # A change within the limit passes (the frown's is 0.20); brows and mouth did not change.
    assert r["frown_vs_baseline"]["ok"] and r["frown_vs_baseline"]["value"] == pytest.approx(-0.1)
    assert r["brows_vs_baseline"]["ok"] and r["brows_vs_baseline"]["value"] == 0
    assert r["mouth_vs_baseline"]["ok"] and r["mouth_vs_baseline"]["value"] == 0
    assert all(
        r[k]["severity"] == "warn"
        for k in ("eyes_open", "mouth_closed", "smile_vs_baseline", "eyes_vs_baseline")
    )


def test_a_baseline_without_expression_scores_is_not_assessed(measured):
    base = CaptureFeatures(**{**measured["grace_hopper"].__dict__, "expression": None})
    r = _by_name(evaluate_capture(measured["astronaut"], baseline=base))
    for name in checks.EXPRESSION_CHECKS:
        assert r[name]["ok"] and r[name]["value"] is None
        assert r[name]["message"] == "ok"


@pytest.mark.parametrize(
    ("view", "yaw", "ok", "says"),
    [
        ("front", 14.0, False, "turn the head 14° to the patient's right"),
        ("front", -12.0, False, "turn the head 12° to the patient's left"),
        ("front", 6.0, True, "ok"),
        # left-45 shows the patient's left cheek: face turned to the patient's right, yaw -45.
        ("left-45", -40.0, True, "ok"),
        ("left-45", 45.0, False, "turn the head 90° to the patient's right"),
        ("right-45", 30.0, False, "turn the head 15° to the patient's left"),
    ],
)
def test_yaw_convention_per_view(measured, view, yaw, ok, says):
    f = CaptureFeatures(**{**measured["grace_hopper"].__dict__, "view": view, "yaw_deg": yaw})
    c = _by_name(evaluate_capture(f))["head_yaw"]
    assert c["ok"] is ok and c["severity"] == "fail"
    assert c["message"].startswith(says)


def test_pose_difference_from_the_baseline_uses_the_alignment_limits(measured):
    base = measured["grace_hopper"]
    f = CaptureFeatures(**{**base.__dict__, "yaw_deg": base.yaw_deg + 18, "pitch_deg": -14})
    r = _by_name(evaluate_capture(f, baseline=base))
    assert not r["yaw_vs_baseline"]["ok"] and r["yaw_vs_baseline"]["threshold"] == 15.0
    assert r["yaw_vs_baseline"]["message"].startswith("turn the head 18° to the patient's right")
    assert not r["head_pitch"]["ok"] and r["head_pitch"]["message"] == "raise the chin by 14°"


def test_a_head_turned_beyond_swellings_limit_warns(measured):
    """Swelling's outline moves with a turn in depth: beyond the geometry verdict's 1.5 deg from
    the baseline's pose the photo warns (and still passes the alignment's 15 deg)."""
    base = measured["grace_hopper"]

    def check(dyaw, dpitch):
        f = CaptureFeatures(
            **{
                **base.__dict__,
                "yaw_deg": base.yaw_deg + dyaw,
                "pitch_deg": base.pitch_deg + dpitch,
            }
        )
        r = _by_name(evaluate_capture(f, baseline=base))
        assert r["yaw_vs_baseline"]["ok"] and r["pitch_vs_baseline"]["ok"]
        return r["pose_for_swelling"]

    assert check(1.4, -1.0)["ok"] and check(0.0, 1.5)["ok"]
    c = check(2.0, 0.5)
    assert not c["ok"] and c["severity"] == "warn" and c["threshold"] == 1.5
    assert c["value"] == pytest.approx(2.0)
    assert c["message"].startswith("to follow swelling, turn the head 2.0° to the patient's right")
    c = check(-0.5, -2.5)
    assert not c["ok"] and c["message"].startswith("to follow swelling, raise the chin by 2.5°")


@pytest.mark.parametrize("name", NAMES)
def test_blur_of_known_sigma_fails_and_the_original_passes(photos, measured, name):
    rgb, f = photos[name], measured[name]
    assert _by_name(evaluate_capture(f))["sharpness"]["ok"]
    # sigma of 2 px at the check's face scale (BLUR_IOD_PX between the pupils)
    sigma = 2.0 * f.interocular_px / checks.BLUR_IOD_PX
    c = _check(cv2.GaussianBlur(rgb, (0, 0), sigma), "sharpness")
    assert not c["ok"] and c["severity"] == "fail"
    assert c["value"] < checks.MIN_SHARPNESS < 1.4 * checks.MIN_SHARPNESS < f.sharpness
    assert c["message"].startswith("hold the camera still or focus: the image is blurred")


def test_sharpness_does_not_depend_on_resolution(photos, measured):
    rgb = photos["grace_hopper"]
    half = cv2.resize(rgb, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    # Grace Hopper's face: 168 px between the pupils, 84 at half size; both read within 20 %.
    assert measure_capture(half).sharpness == pytest.approx(
        measured["grace_hopper"].sharpness, rel=0.2
    )


@pytest.mark.parametrize("name", NAMES)
def test_overexposure_clips_and_fails(photos, name):
    r = _by_name(evaluate_capture(measure_capture(np.clip(photos[name] * 1.8, 0, 1))))
    c = r["clipping"]
    assert not c["ok"] and c["severity"] == "fail" and c["value"] > 0.9
    assert (
        c["message"]
        == f"reduce the light: {100 * c['value']:.1f} % of the skin is clipped (maximum 10 %)"
    )
    assert not r["exposure"]["ok"] and r["exposure"]["message"].startswith("reduce the light")


def test_rotation_by_15_degrees_fails_roll(photos, measured):
    rotated, _ = apply_similarity(photos["grace_hopper"], angle_deg=15.0)
    c = _check(rotated, "head_roll")
    # cv2's positive angle turns the image counter-clockwise: roll (clockwise positive) drops.
    assert c["value"] == pytest.approx(measured["grace_hopper"].roll_deg - 15, abs=1.5)
    assert not c["ok"] and c["severity"] == "warn"
    assert c["message"].startswith(
        f"level the head: it is tilted {abs(c['value']):.0f}° toward the patient's right shoulder"
    )


@pytest.mark.parametrize("k", [1, 3])
def test_a_face_lying_sideways_is_measured_upright_and_warned(photos, measured, k):
    """A photo whose orientation tag was lost shows the face a quarter turn over: the checks
    measure it turned back upright (pose and size as the upright photo's) and say so."""
    sideways = np.ascontiguousarray(np.rot90(photos["grace_hopper"], k))
    f = measure_capture(sideways)
    up = measured["grace_hopper"]
    assert f.quarter_turns == (4 - k) % 4
    assert f.interocular_px == pytest.approx(up.interocular_px, rel=1e-3)
    for angle in ("yaw_deg", "pitch_deg", "roll_deg"):
        assert getattr(f, angle) == pytest.approx(getattr(up, angle), abs=0.1), angle
    r = _by_name(evaluate_capture(f))
    c = r["orientation"]
    assert not c["ok"] and c["severity"] == "warn" and c["value"] == (4 - k) % 4
    how = "counterclockwise" if k == 1 else "clockwise"
    assert c["message"].startswith(f"the face lies a quarter turn {how} in the photo")
    assert r["head_roll"]["ok"] and r["head_pitch"]["ok"]
    assert _by_name(evaluate_capture(up))["orientation"] == {
        "name": "orientation", "ok": True, "severity": "warn", "value": 0, "threshold": 0,
        "unit": "quarter turns", "message": "ok",
    }  # fmt: skip


@pytest.mark.parametrize("name", NAMES)
def test_glare_blob_fails(photos, measured, name):
    from mesovision.testing.capture import glare_photo

    shiny = glare_photo(photos[name])  # 0.95 at the left cheek's centre, sigma 0.12 IOD
    assert measured[name].glare_share < 0.7 * checks.MAX_GLARE_SHARE
    c = _check(shiny, "glare")
    assert not c["ok"] and c["severity"] == "fail" and c["value"] > 1.5 * checks.MAX_GLARE_SHARE
    assert c["message"].startswith("avoid glare: shiny highlights cover")


def test_small_face_fails_face_size(photos):
    small = cv2.resize(photos["grace_hopper"], None, fx=0.15, fy=0.15, interpolation=cv2.INTER_AREA)
    c = _check(small, "face_size")
    assert c["value"] == pytest.approx(168 * 0.15, rel=0.1)
    assert not c["ok"] and c["threshold"] == 30.0
    assert (
        c["message"] == f"move closer: the face is {c['value']:.0f} px between the eyes, minimum 30"
    )


def test_a_face_too_small_for_texture_warns(photos):
    """Texture is compared in full from 100 px between the eyes in the scoring frame (the
    texture verdict's comparable limit), 0.9 of the working copy's: 111 px in the photo."""
    from mesovision.comparability import LIMITS
    from mesovision.scoring import SCORE_IOD_SHARE

    ok = next(lim.ok for lim in LIMITS["texture"] if lim.measure == "scoring_iod_px")
    assert checks.MIN_TEXTURE_INTEROCULAR_PX == round(ok / SCORE_IOD_SHARE) == 111
    assert _check(photos["grace_hopper"], "face_size_texture")["ok"]  # 168 px
    small = cv2.resize(photos["grace_hopper"], None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    c = _check(small, "face_size_texture")
    assert c["value"] == pytest.approx(168 * 0.5, rel=0.1)
    assert not c["ok"] and c["severity"] == "warn" and c["threshold"] == 111
    assert c["message"] == (
        "move closer for texture: pores, fine lines and roughness are compared in full from "
        f"111 px between the eyes in the photo (100 as scored), this face has {c['value']:.0f}"
    )
    assert _check(small, "face_size")["ok"]


def test_no_face_is_a_failed_check():
    r = evaluate_capture(measure_capture(np.full((200, 200, 3), 0.6, np.float32)))
    assert [(c["name"], c["ok"], c["severity"]) for c in r] == [("face_found", False, "fail")]


def test_body_view_checks_image_quality_and_that_no_face_fills_it(photos):
    r = _by_name(evaluate_capture(measure_capture(photos["astronaut"], view="body:arm")))
    assert set(r) == {"no_face", "colour", "sharpness", "exposure", "clipping", "gamut", "glare"}
    # the astronaut portrait filed as an arm: a warning (tests/checks/test_face_in_body_modes.py)
    assert not r["no_face"]["ok"] and r["no_face"]["severity"] == "warn"


def run_check(*args):
    return run_cli("check", *args)


@pytest.mark.slow
def test_check_command_exit_codes(tmp_path, photos):
    from mesovision.io import write_png

    before = str(SAMPLES / "grace_hopper" / "before.jpg")
    blurred = write_png(
        tmp_path / "blurred.png", cv2.GaussianBlur(photos["grace_hopper"], (0, 0), 4)
    )
    proc = run_check(before)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "before.jpg (front): all 20 checks ok"
    proc = run_check(before, str(blurred), "--baseline", before, "--json")
    assert proc.returncode == 6
    out = json.loads(proc.stdout)
    assert [r["ok"] for r in out] == [True, False]
    # a blurred face reads as enlarged too (its detail is a smaller image's): a warning
    failed = {c["name"]: c["severity"] for c in out[1]["checks"] if not c["ok"]}
    assert failed == {"enlarged": "warn", "sharpness": "fail"}
    proc = run_check(str(tmp_path / "missing.jpg"), before)
    assert proc.returncode == 3
    assert message_lines(proc.stderr) == [
        f"mesovision: error: {tmp_path / 'missing.jpg'}: no such file"
    ]
    assert (
        proc.stderr.strip()
        .splitlines()[-1]
        .startswith("mesovision check: 1 photo(s) checked, 1 unreadable")
    )
    assert "before.jpg (front): all 20 checks ok" in proc.stdout
    proc = run_check(before, "--view", "sideways")
    assert proc.returncode == 2 and "unknown view 'sideways'" in proc.stderr


def test_a_photo_without_colour_fails_the_colour_check(tmp_path, photos, measured):
    ok = _by_name(evaluate_capture(measured["grace_hopper"]))["colour"]
    assert ok["ok"] and ok["severity"] == "fail" and ok["value"] == pytest.approx(64.05, abs=0.05)
    grey = np.repeat(cv2.cvtColor(photos["grace_hopper"], cv2.COLOR_RGB2GRAY)[..., None], 3, 2)
    c = _check(grey, "colour")
    assert not c["ok"] and c["value"] < 0.2 and c["threshold"] == 4.0
    assert c["message"].startswith("retake in colour: the photo has no colour (grayscale")
    # the CLI: a grayscale JPEG fails the check (exit 6) with that message
    from PIL import Image

    path = tmp_path / "grey.jpg"
    Image.open(SAMPLES / "grace_hopper" / "before.jpg").convert("L").save(path, quality=90)
    proc = run_cli("check", path)
    assert proc.returncode == 6, proc.stderr
    assert "FAIL  colour" in proc.stdout and "retake in colour" in proc.stdout
