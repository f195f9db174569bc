"""The capture checks' sample-face claims (``test_checks.py``: a known blur fails sharpness, a
glare highlight on the cheek fails glare) over every single-face photo of ``../shared/faces``
(or ``$MESOVISION_FACES``; skipped with the reason when absent, a failure under ``CI=true``).
A degradation is asked to fail only where the photo as it is passes that check (some of these
photos are soft or shiny already). None of these photos of one person fails ``single_face`` (one
has a mesh fitted to the windows behind the face, lying sideways), and none has transparency
(three are RGBA PNGs, all opaque)."""

from __future__ import annotations

import cv2
import pytest
from conftest import shared_faces

from mesovision import checks
from mesovision.checks import evaluate_capture, measure_capture
from mesovision.io import load_photo
from mesovision.testing.capture import glare_photo

pytestmark = pytest.mark.slow


def _check(f, name):
    return {c["name"]: c for c in evaluate_capture(f)}[name]


def test_blur_and_glare_fail_on_every_shared_face():
    n = sharp = plain = 0
    missed, several, transparent = [], [], []
    for path, _ in shared_faces():
        photo = load_photo(str(path), max_side=2048)
        rgb = photo.rgb
        if photo.transparent_share != 0.0:
            transparent.append(path.name)
        f = measure_capture(rgb)
        if not f.face_found:
            continue
        n += 1
        if not _check(f, "single_face")["ok"] or f.other_face_share != 0.0:
            several.append((path.name, f.other_face_share))
        if _check(f, "sharpness")["ok"]:
            sharp += 1
            sigma = 2.0 * f.interocular_px / checks.BLUR_IOD_PX  # 2 px at the check's scale
            if _check(measure_capture(cv2.GaussianBlur(rgb, (0, 0), sigma)), "sharpness")["ok"]:
                missed.append((path.name, "blur"))
        if f.glare_share < 0.7 * checks.MAX_GLARE_SHARE:
            plain += 1
            shiny = glare_photo(rgb)  # the sample test's highlight: 0.95, sigma 0.12 IOD
            if _check(measure_capture(shiny), "glare")["ok"]:
                missed.append((path.name, "glare"))
    print(f"{n} faces: {sharp} sharp, {plain} without glare; missed {missed}")
    # measured: 37 of 83 pass sharpness as they are (most 150-px crops do not), 75 are free of
    # glare; every blurred sharp face fails, the highlight fails on 74 of 75
    assert n >= 80 and sharp >= 30 and plain >= 60
    assert several == [] and transparent == []
    assert [m for m in missed if m[1] == "blur"] == []
    assert len(missed) <= 0.05 * plain, missed
