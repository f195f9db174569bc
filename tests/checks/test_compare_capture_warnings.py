"""``compare`` warns about a photo that ``check`` faults for its file or its framing, in the
check's own words: a partly transparent file (the ``opaque`` check's message; the share is
recorded in ``result.json`` as ``inputs.*.transparent_share``) and another face as large as the
patient's (the ``single_face`` check's message). Built from the shipped sample photos: the
astronaut's ``before.jpg`` with a half-transparent alpha channel, and Grace Hopper's beside her
mirror image."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest
from conftest import SAMPLES, run_cli
from PIL import Image, ImageOps

from mesovision import compare
from mesovision.checks import check_photo
from mesovision.record import comparison_record


def _rgb(path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(ImageOps.exif_transpose(im).convert("RGB"))


def _check_message(path, name: str) -> str:
    [c] = [c for c in check_photo(str(path)).checks if c["name"] == name]
    assert not c["ok"]
    return c["message"]


def test_a_transparent_photo_is_warned_about_and_its_share_recorded(tmp_path, caplog):
    rgb = _rgb(SAMPLES / "astronaut" / "before.jpg")
    opaque, half = tmp_path / "opaque.png", tmp_path / "alpha_half.png"
    Image.fromarray(rgb).save(opaque)
    alpha = np.full(rgb.shape[:2], 255, np.uint8)
    alpha[: rgb.shape[0] // 4] = 128  # a quarter of the rows see-through
    Image.fromarray(np.dstack([rgb, alpha])).save(half)
    message = _check_message(half, "opaque")
    assert message.startswith("save the photo without transparency: 25 % of its pixels")
    with caplog.at_level(logging.WARNING):
        cmp = compare(str(opaque), str(half))
    assert f"{half}: {message}" in cmp.pair.warnings
    assert not [w for w in cmp.pair.warnings if str(opaque) in w and "transparen" in w]
    assert f"{half}: {message}" in [r.getMessage() for r in caplog.records]
    rec = comparison_record(cmp)
    assert rec["inputs"]["before"]["transparent_share"] == 0.0
    assert rec["inputs"]["after"]["transparent_share"] == pytest.approx(0.25, abs=0.002)
    assert f"{half}: {message}" in rec["alignment"]["warnings"]


def test_a_group_photo_is_warned_about_in_the_single_face_checks_words(tmp_path):
    hopper = _rgb(SAMPLES / "grace_hopper" / "before.jpg")
    two = tmp_path / "two.png"
    Image.fromarray(np.concatenate([hopper, hopper[:, ::-1]], axis=1)).save(two)
    message = _check_message(two, "single_face")
    assert message.startswith("2 faces found: crop the photo to the patient (another face is")
    proc = run_cli("compare", two, two, "-o", tmp_path / "out")
    assert proc.returncode == 0, proc.stderr
    assert f"mesovision: WARNING: {two}: {message}" in proc.stderr.splitlines()
    rec = json.loads((tmp_path / "out" / "result.json").read_text())
    assert rec["alignment"]["warnings"].count(f"{two}: {message}") == 2  # before and after
    assert rec["inputs"]["after"]["transparent_share"] == 0.0
