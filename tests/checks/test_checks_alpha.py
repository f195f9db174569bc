"""``opaque``: a file with transparency warns. The loader drops the alpha channel, so a PNG
with alpha 0 everywhere (blank in every viewer) or 128 (faded) is measured on colours the
viewer does not show; the check says so, and its value is the share of the file's pixels that
are not fully opaque (alpha channel, or a palette entry or colour marked transparent)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import SAMPLES, run_cli
from PIL import Image

from mesovision.checks import check_photo
from mesovision.io import load_photo

HOPPER = SAMPLES / "grace_hopper" / "before.jpg"


@pytest.fixture(scope="module")
def rgb8():
    return np.asarray(Image.open(HOPPER).convert("RGB"))


def _rgba(tmp_path, rgb8, alpha, name="alpha.png"):
    a = np.empty(rgb8.shape[:2], np.uint8)
    a[...] = alpha
    path = tmp_path / name
    Image.fromarray(np.dstack([rgb8, a]), "RGBA").save(path)
    return path


def test_the_loader_measures_the_transparency_it_drops(tmp_path, rgb8):
    h, w = rgb8.shape[:2]
    assert load_photo(HOPPER).transparent_share == 0.0  # a JPEG has no alpha
    assert load_photo(_rgba(tmp_path, rgb8, 255)).transparent_share == 0.0
    assert load_photo(_rgba(tmp_path, rgb8, 0)).transparent_share == 1.0
    assert load_photo(_rgba(tmp_path, rgb8, 254)).transparent_share == 1.0
    half = np.full((h, w), 255, np.uint8)
    half[:, : w // 4] = 128
    assert load_photo(_rgba(tmp_path, rgb8, half)).transparent_share == pytest.approx(0.25)
    # grey with alpha, a palette with a transparent entry, RGB with a transparent colour
    la = tmp_path / "la.png"
    Image.fromarray(np.dstack([rgb8[..., 0], half]), "LA").save(la)
    assert load_photo(la).transparent_share == pytest.approx(0.25)
    pal = Image.fromarray(rgb8).quantize(16)
    idx = np.asarray(pal)
    pal.save(tmp_path / "p.png", transparency=int(idx[0, 0]))
    share = np.mean(idx == idx[0, 0])
    assert load_photo(tmp_path / "p.png").transparent_share == pytest.approx(share)
    rgb = rgb8.copy()
    rgb[:10] = (1, 2, 3)
    Image.fromarray(rgb).save(tmp_path / "trns.png", transparency=(1, 2, 3))
    assert load_photo(tmp_path / "trns.png").transparent_share == pytest.approx(10 / h, rel=0.01)


@pytest.mark.parametrize("alpha", [0, 128])
def test_a_transparent_png_warns_and_is_measured_as_the_opaque_one(tmp_path, rgb8, alpha):
    opaque = check_photo(str(_rgba(tmp_path, rgb8, 255, "opaque.png")))
    seen = check_photo(str(_rgba(tmp_path, rgb8, alpha)))
    c = {c["name"]: c for c in seen.checks}["opaque"]
    assert not c["ok"] and c["severity"] == "warn" and c["value"] == 1.0
    assert c["message"] == (
        "save the photo without transparency: 100 % of its pixels are transparent or "
        "see-through (alpha channel), so a viewer shows it blank or faded while the colours "
        "under the transparency are measured"
    )
    assert {c["name"]: c for c in opaque.checks}["opaque"]["ok"]
    # the hidden colours are measured: every other check reads the opaque file's values
    others = [(c["name"], c["value"]) for c in seen.checks if c["name"] != "opaque"]
    assert others == [(c["name"], c["value"]) for c in opaque.checks if c["name"] != "opaque"]
    assert [c["name"] for c in seen.problems] == ["opaque"]
    assert seen.features.transparent_share == 1.0


def test_check_command_shows_the_warning(tmp_path, rgb8):
    path = _rgba(tmp_path, rgb8, 0)
    proc = run_cli("check", path)
    assert proc.returncode == 0, proc.stderr  # a warning: the photo can still be measured
    assert proc.stdout.splitlines()[0] == "alpha.png (front): 0 failed, 1 warning(s) of 20 checks"
    assert proc.stdout.splitlines()[1].startswith("  warn  opaque             save the photo")
    (report,) = json.loads(run_cli("check", path, "--json").stdout)
    assert [(c["name"], c["ok"]) for c in report["checks"] if not c["ok"]] == [("opaque", False)]
    assert report["features"]["transparent_share"] == 1.0
