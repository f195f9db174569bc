"""Capture-check messages against their limits: a check decides on the measured value, and the
value it prints is on the same side of the limit as the decision (a yaw of 10.3 against a
maximum of 10 prints "10.3°", never "10°"); the no-face message gives the hint a comparison's
refusal gives; features stored before a check existed load without that check."""

from __future__ import annotations

import random
import types

import numpy as np
import pytest
from conftest import SAMPLES

from mesovision.checks import (
    CaptureFeatures,
    body_baseline_checks,
    body_pair_checks,
    evaluate_capture,
    measure_capture,
)
from mesovision.io import load_photo
from mesovision.landmarks import NO_FACE_HINT


@pytest.fixture(scope="module")
def base():
    return measure_capture(load_photo(SAMPLES / "grace_hopper" / "before.jpg").rgb)


def _with(f: CaptureFeatures, **kw) -> CaptureFeatures:
    return CaptureFeatures(**{**f.__dict__, **kw})


def _by_name(result: list[dict]) -> dict[str, dict]:
    return {c["name"]: c for c in result}


def test_shown_prints_a_value_on_its_side_of_the_limit():
    from mesovision.checks import shown

    assert shown(10.3, 10) == "10.3" and shown(9.7, 10) == "9.7"
    assert shown(10.0, 10) == "10" and shown(14.0, 10) == "14" and shown(10.6, 10) == "11"
    assert shown(1.02, 1.0, 1) == "1.02" and shown(0.996, 1.0, 1) == "0.996"
    assert shown(0.1496, 0.15, 2) == "0.1496" and shown(0.2, 0.15, 2) == "0.20"
    rng = random.Random(7)
    for _ in range(2000):
        limit = rng.choice([0.0, 0.15, 1.0, 1.5, 4.0, 10.0, 12.0, 15.0, 85.0])
        value = limit + rng.choice([-1, 1]) * 10 ** rng.uniform(-7, 1)
        digits = rng.choice([0, 1, 2])
        printed = float(shown(value, limit, digits))
        assert (printed > limit) == (value > limit) and printed != limit, (value, limit, digits)


@pytest.mark.parametrize(
    ("field", "past", "at", "name", "says"),
    [
        ("yaw_deg", 10.3, 10.0, "head_yaw", "turn the head 10.3° to the patient's right"),
        ("pitch_deg", -12.4, -12.0, "head_pitch", "raise the chin by 12.4°"),
        ("roll_deg", -10.2, -10.0, "head_roll", "level the head: it is tilted 10.2° toward"),
        ("interocular_px", 29.7, 30.0, "face_size", "the face is 29.7 px between the eyes"),
        ("interocular_px", 110.6, 111.0, "face_size_texture", "this face has 110.6"),
        ("eye_aspect_ratio", 0.1496, 0.15, "eyes_open", "(eye aspect ratio 0.1496, minimum"),
        ("mouth_open_ratio", 0.2504, 0.25, "mouth_closed", "lips apart by 25.04 % of the mouth"),
        ("sharpness", 9.97, 10.0, "sharpness", "(sharpness 9.97, minimum 10)"),
        ("skin_l_median", 85.3, 85.0, "exposure", "lightness is L* 85.3, expected 25-85"),
        ("skin_l_median", 24.8, 25.0, "exposure", "lightness is L* 24.8, expected 25-85"),
        ("clipped_share", 0.1003, 0.1, "clipping", "10.03 % of the skin is clipped (maximum 10"),
        ("glare_share", 0.0102, 0.01, "glare", "cover 1.02 % of the skin (maximum 1 %)"),
        ("chroma_p99", 3.98, 4.01, "colour", "chroma 3.98, a photo in colour has more than 4"),
        ("other_face_share", 0.5004, 0.5, "single_face", "another face is 50.04 % of the size"),
        ("transparent_share", 1e-6, 0.0, "opaque", "0.0001 % of its pixels are transparent"),
        ("enlargement", 2.5004, 2.4996, "enlarged", "appears enlarged about 2.5004x from a"),
    ],
)
def test_a_value_just_past_its_limit_fails_and_prints_past_it(base, field, past, at, name, says):
    """Rounded to its usual decimals, each value would print as the limit it fails ("turn the
    head 10°" for a maximum of 10, "cover 1.0 % of the skin (maximum 1 %)")."""
    c = _by_name(evaluate_capture(_with(base, **{field: past})))[name]
    assert not c["ok"] and says in c["message"], c["message"]
    # the limits hold the value at the limit itself (colour's excepted: more than 4)
    assert _by_name(evaluate_capture(_with(base, **{field: at})))[name]["ok"]
    if name == "colour":
        assert not _by_name(evaluate_capture(_with(base, chroma_p99=4.0)))[name]["ok"]


def test_pose_changes_from_the_baseline_print_past_their_limits(base):
    f = _with(base, yaw_deg=base.yaw_deg + 15.2, pitch_deg=base.pitch_deg)
    r = _by_name(evaluate_capture(f, baseline=base))
    assert not r["yaw_vs_baseline"]["ok"]
    assert r["yaw_vs_baseline"]["message"] == (
        "turn the head 15.2° to the patient's right to match the baseline"
    )
    f = _with(base, yaw_deg=base.yaw_deg + 1.504)
    c = _by_name(evaluate_capture(f, baseline=base))["pose_for_swelling"]
    assert not c["ok"] and c["message"].startswith(
        "to follow swelling, turn the head 1.504° to the patient's right"
    )


def test_body_messages_print_past_their_limits():
    lamp = CaptureFeatures(view="body:thigh", face_found=False, light_azimuth_deg=0.0)
    (c,) = body_baseline_checks(
        CaptureFeatures(view="body:thigh", face_found=False, light_azimuth_deg=20.3), lamp
    )
    assert not c["ok"] and ", 20.3° away from the baseline's" in c["message"]
    k = 1.1504  # the after photo's area is this much smaller than the baseline's
    pair = types.SimpleNamespace(alignment=types.SimpleNamespace(matrix=np.diag([k, k, 1.0])))
    mismatch = types.SimpleNamespace(overlap=0.8996, light_before_deg=10.0, light_after_deg=12.0)
    r = _by_name(body_pair_checks(pair, mismatch=mismatch))
    assert r["framing_overlap"]["message"].startswith("only 89.96% of the baseline's measured")
    assert r["framing_scale"]["message"].startswith("the area is 1.1504x smaller than in the")
    assert r["light_after_alignment"]["ok"]


def test_no_face_says_what_a_comparison_says():
    """The hint of a comparison's "no face found" (a group or distant shot) is the check's."""
    f = measure_capture(np.full((200, 200, 3), 0.6, np.float32))
    (c,) = evaluate_capture(f)
    assert c["name"] == "face_found" and not c["ok"]
    assert c["message"] == (f"no face found ({NO_FACE_HINT}); frame the whole face, unobstructed")
    assert "group or distant shot" in NO_FACE_HINT


def test_features_stored_without_the_newer_measures_load_without_their_checks(base):
    stored = {
        k: v
        for k, v in base.as_dict().items()
        if k not in ("other_face_share", "transparent_share", "chroma_p99", "enlargement")
    }
    old = CaptureFeatures.from_dict(stored)
    assert old.other_face_share is None and old.transparent_share is None
    assert old.enlargement is None
    names = [c["name"] for c in evaluate_capture(old, baseline=old)]
    assert not {"single_face", "opaque", "colour", "enlarged"} & set(names)
    assert names[:3] == ["face_found", "orientation", "face_size"]
    new = _by_name(evaluate_capture(_with(base, transparent_share=0.0)))
    assert new["single_face"]["ok"] and new["single_face"]["value"] == 0.0
    assert new["opaque"]["ok"] and new["opaque"]["severity"] == "warn"
