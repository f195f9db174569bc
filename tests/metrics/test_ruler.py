"""A millimetre ruler in a hair photo gives the scale (mesovision.ruler, mesovision.scale).

Renders of ``mesovision.testing.hair`` with a ruler of known px/mm (field seeds from 5100 on,
not used while the detector's settings were chosen on seeds 0-99 of ``benchmarks/hair.py
ruler --split dev``): the scale within 0.2 %, the ruler's pixels out of the measured area, no
ruler found where there is none, and ``result.json`` saying where the scale came from.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from mesovision.ruler import find_ruler
from mesovision.testing.hair import crown_field, render, ruler_coverage, trichogram_field


@pytest.mark.parametrize(
    ("ppm", "angle", "blur", "noise"),
    [(50.0, 0.0, 0.5, 0.005), (50.0, 4.0, 1.2, 0.025), (8.0, -3.0, 1.2, 0.025),
     (17.3, 7.5, 0.8, 0.01), (31.6, -1.5, 0.5, 0.005)],
)  # fmt: skip
def test_the_ruler_gives_the_scale_and_its_pixels(ppm, angle, blur, noise):
    f = crown_field(5101) if ppm < 12 else trichogram_field(5102, density_per_cm2=200)
    r = render(f, px_per_mm=ppm, seed=5103, blur_px=blur, noise_sd=noise, gain=0.9, ramp=0.1,
               ruler=True, ruler_angle_deg=angle)  # fmt: skip
    got = find_ruler(r.rgb)
    assert got is not None
    assert got.px_per_mm == pytest.approx(ppm, rel=0.002)
    assert abs(got.angle_deg - angle) <= 2.5  # the angle is a by-product, to about 2 degrees
    assert got.ticks >= 8 and got.residual < 0.05
    body, _ = ruler_coverage(512, ppm, angle)
    # the whole ruler is masked, and little of the scalp beside it
    assert got.mask[body > 0.5].mean() > 0.97
    assert got.mask[body < 0.5].mean() < 0.05


def test_a_vertical_ruler_reads_the_same():
    r = render(trichogram_field(5104), px_per_mm=25.0, seed=1, blur_px=0.6, noise_sd=0.01,
               ruler=True, ruler_angle_deg=2.0)  # fmt: skip
    turned = np.ascontiguousarray(np.rot90(r.rgb))  # the ruler now along the right... left edge
    got = find_ruler(turned)
    assert got is not None and got.px_per_mm == pytest.approx(25.0, rel=0.002)
    assert abs(abs(got.angle_deg) - 88.0) <= 2.5


@pytest.mark.parametrize("seed", [5110, 5111, 5112])
def test_no_ruler_is_found_on_hair_alone(seed):
    for f, ppm in ((trichogram_field(seed, density_per_cm2=250), 50.0), (crown_field(seed), 8.0)):
        r = render(f, px_per_mm=ppm, seed=seed, blur_px=0.5, noise_sd=0.01)
        assert find_ruler(r.rgb) is None
    flat = np.full((200, 300, 3), 0.5, np.float32)
    assert find_ruler(flat) is None


def _save(path, rgb):
    Image.fromarray((rgb * 255 + 0.5).astype(np.uint8)).save(path)
    return str(path)


@pytest.mark.slow
def test_compare_takes_the_scale_from_the_ruler_and_says_so(tmp_path):
    """``mesovision compare --mode trichoscopy`` without ``--px-per-mm``: the scale from the
    ruler (``result.json`` ``scale.source == "ruler"``), the density per cm² near the one given
    the scale by the option, the ruler's ticks not counted as hairs; without a ruler, no scale
    and a warning."""
    f = trichogram_field(5120, density_per_cm2=180)
    kw = dict(px_per_mm=50.0, blur_px=0.5, noise_sd=0.005, ruler=True)
    truth = render(f, seed=1, ruler_angle_deg=3.0, **kw)
    b = _save(tmp_path / "b.png", truth.rgb)
    a = _save(tmp_path / "a.png", render(f, seed=2, ruler_angle_deg=-2.0, angle_deg=1.5, **kw).rgb)

    def run(*extra):
        out = tmp_path / ("out" + "".join(extra))
        cmd = [sys.executable, "-m", "mesovision", "compare", b, a, "-o", str(out),
               "--mode", "trichoscopy", "--json", *extra]  # fmt: skip
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        assert p.returncode == 0, p.stderr
        return json.loads(p.stdout), p.stderr

    rec, _ = run()
    assert rec["scale"]["source"] == "ruler"
    assert rec["scale"]["px_per_mm"] == pytest.approx(50.0, rel=0.002)
    assert rec["scale"]["ruler"]["ticks"] >= 8
    dens = rec["changes"]["area"]["hair.density_per_cm2"]
    # the count runs low where shafts merge (docs/hair.md), more so at this density (197 / cm²)
    assert 0.65 * truth.truth.density_per_cm2 < dens["before"] < truth.truth.density_per_cm2
    assert not dens["significant"]  # the same hairs, the rulers placed differently
    given, err = run("--px-per-mm", "50")
    assert given["scale"]["source"] == "option" and given["scale"]["px_per_mm"] == 50.0
    assert given["scale"]["ruler"]["px_per_mm"] == pytest.approx(50.0, rel=0.002)
    dg = given["changes"]["area"]["hair.density_per_cm2"]["before"]
    assert dg == pytest.approx(dens["before"], rel=0.005)  # the ruler is left out either way
    off, err = run("--px-per-mm", "45")
    assert "the ruler in the photo reads 50 px/mm, --px-per-mm gives 45" in err
    # no ruler: no scale, a warning, the per-pixel metrics only
    plain = render(f, px_per_mm=50.0, seed=1, blur_px=0.5, noise_sd=0.005)
    b2 = _save(tmp_path / "b2.png", plain.rgb)
    out = tmp_path / "plain"
    cmd = [sys.executable, "-m", "mesovision", "compare", b2, b2, "-o", str(out), "--mode",
           "trichoscopy", "--json"]  # fmt: skip
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    rec2 = json.loads(p.stdout)
    assert rec2["scale"] == {"px_per_mm": None, "px_per_mm_working": None, "source": None,
                             "ruler": None}  # fmt: skip
    assert "no scale" in p.stderr
    assert rec2["changes"]["area"]["hair.density_per_cm2"]["before"] is None
    assert rec2["changes"]["area"]["hair.density_per_kpx"]["before"] > 0
