"""The hair family on rendered scalp photos with known hair (mesovision.testing.hair).

The renders here use field seeds from 5000 on, never used while the settings were chosen
(``benchmarks/hair.py`` tunes on seeds 0-99 and reports on 1000 on). Tolerances are those
docs/hair.md states for the reference capture (blur 0.5 px, noise 0.005): density within 25 %
(the count runs low where shafts merge), median shaft width within 8 µm, visible scalp within
3 points on close-ups and 12 points on part-line views, part width within 1 mm.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import mesovision.metrics as M
from mesovision.testing.hair import add_hairs, crown_field, render, trichogram_field

PPM = 50.0
COMBOS = [("dark", "light"), ("dark", "dark"), ("light", "light"), ("light", "dark")]
HAIR = M.metrics_for_mode("trichoscopy")


def _scores(rgb, ppm):
    mask = np.ones(rgb.shape[:2], bool)
    return M.score_regions(rgb, {"area": mask}, px_per_mm=ppm, metrics=HAIR)["area"]


def test_renders_are_seeded_and_truth_follows_the_field():
    f = trichogram_field(5001, density_per_cm2=180)
    a = render(f, px_per_mm=PPM, seed=3, blur_px=0.5, noise_sd=0.01)
    b = render(trichogram_field(5001, density_per_cm2=180), px_per_mm=PPM, seed=3, blur_px=0.5,
               noise_sd=0.01)  # fmt: skip
    assert np.array_equal(a.rgb, b.rgb) and a.truth == b.truth
    # 512 px at 50 px/mm: 1.05 cm², a Poisson draw around 180 / cm²
    assert a.truth.area_cm2 == pytest.approx(512 * 512 / PPM**2 / 100)
    assert 140 < a.truth.density_per_cm2 < 220
    g = add_hairs(f, 0.3, seed=1)
    assert g.n == f.n + round(0.3 * f.n)
    denser = render(g, px_per_mm=PPM, seed=3)
    assert denser.truth.count > 1.2 * a.truth.count


@pytest.mark.parametrize(("hair", "scalp"), COMBOS)
def test_close_up_counts_and_widths_on_held_out_renders(hair, scalp):
    """Dark hair on light scalp, light on dark, and the low-contrast pairs: one adaptive rule."""
    f = trichogram_field(5010, density_per_cm2=200, thin_share=0.2, hair=hair, scalp=scalp)
    r = render(f, px_per_mm=PPM, seed=5011, blur_px=0.5, noise_sd=0.005)
    v, t = _scores(r.rgb, PPM), r.truth
    print(hair, scalp, v, t.density_per_cm2, t.median_width_um)
    assert v["hair.density_per_cm2"] == pytest.approx(t.density_per_cm2, rel=0.25)
    assert abs(v["hair.shaft_width_median_um"] - t.median_width_um) < 8.0
    assert abs(v["hair.scalp_share_pct"] - t.scalp_share_pct) < 3.0
    assert 0.0 <= v["hair.thin_share_pct"] < 40.0
    # the per-kpx density is the per-cm² one without the scale
    assert v["hair.density_per_kpx"] == pytest.approx(
        v["hair.density_per_cm2"] * 1000.0 / (PPM**2 * 100.0), rel=1e-9
    )


def test_density_follows_the_hair_count():
    """More hairs, a higher density: the measured ratio follows the true one."""
    lo = render(trichogram_field(5020, density_per_cm2=100), px_per_mm=PPM, seed=1, blur_px=0.5)
    hi = render(trichogram_field(5020, density_per_cm2=220), px_per_mm=PPM, seed=1, blur_px=0.5)
    ratio = (
        _scores(hi.rgb, PPM)["hair.density_per_cm2"] / _scores(lo.rgb, PPM)["hair.density_per_cm2"]
    )
    true = hi.truth.density_per_cm2 / lo.truth.density_per_cm2
    assert ratio == pytest.approx(true, rel=0.15)


def test_width_barely_moves_with_blur():
    """The width is integrated contrast, which blur spreads but keeps."""
    f = trichogram_field(5030, density_per_cm2=120, thin_share=0.0)
    sharp = _scores(render(f, px_per_mm=PPM, seed=2, blur_px=0.3).rgb, PPM)
    soft = _scores(render(f, px_per_mm=PPM, seed=2, blur_px=1.2).rgb, PPM)
    w0, w1 = sharp["hair.shaft_width_median_um"], soft["hair.shaft_width_median_um"]
    assert abs(w1 - w0) < 0.12 * w0


def test_thin_hairs_are_counted_as_thin():
    thick = render(trichogram_field(5040, density_per_cm2=120, thin_share=0.0), px_per_mm=PPM,
                   seed=1, blur_px=0.4)  # fmt: skip
    thin = render(trichogram_field(5040, density_per_cm2=120, thin_share=0.6), px_per_mm=PPM,
                  seed=1, blur_px=0.4)  # fmt: skip
    s0, s1 = _scores(thick.rgb, PPM), _scores(thin.rgb, PPM)
    assert s0["hair.thin_share_pct"] < 5.0
    assert s1["hair.thin_share_pct"] > 25.0
    assert s1["hair.shaft_width_median_um"] < s0["hair.shaft_width_median_um"]


@pytest.mark.parametrize(("hair", "scalp"), [("dark", "light"), ("light", "dark")])
def test_part_line_view(hair, scalp):
    c = crown_field(5050, part_width_mm=4.0, hair=hair, scalp=scalp)
    r = render(c, px_per_mm=8.0, seed=5051, blur_px=0.5, noise_sd=0.005)
    v = _scores(r.rgb, 8.0)
    assert abs(v["hair.part_width_mm"] - 4.0) < 1.0
    assert v["hair.part_width_px"] == pytest.approx(8.0 * v["hair.part_width_mm"])
    assert abs(v["hair.scalp_share_pct"] - r.truth.scalp_share_pct) < 12.0


def _u8(r):
    return (r.rgb * 255 + 0.5).astype(np.uint8)


@pytest.mark.slow
def test_part_width_change_is_reported_but_never_tested_on_a_crown_recapture():
    """docs/hair.md: the part width is reported for both photos, its change not tested (the
    paired tiles hold no part). A sparse crown (30 follicles / cm²) recaptured turned by 2
    degrees, shifted, 8 % brighter and a little blurrier: the part reads 1 px wider, which a
    tested part width with its paired-tile floor (0.42 px) calls significant."""
    import mesovision as mv

    f = crown_field(5100, part_width_mm=4.0, density_per_cm2=30.0)
    kw = {"px_per_mm": 8.0, "size_px": 640, "noise_sd": 0.005}
    b = render(f, seed=1, blur_px=0.5, **kw)
    a = render(f, seed=2, angle_deg=2.0, shift_mm=(0.8, -0.5), gain=1.08, blur_px=0.8, **kw)
    r = mv.compare(_u8(b), _u8(a), mode="scalp", px_per_mm=8.0)
    area = r.changes["area"]
    for name in ("hair.part_width_px", "hair.part_width_mm"):
        c = area[name]
        assert not M.get_metric(name).tested
        assert math.isfinite(c.before) and math.isfinite(c.after) and math.isfinite(c.delta)
        assert abs(c.before / (8.0 if name.endswith("_px") else 1.0) - 4.0) < 1.0
        assert math.isnan(c.se) and math.isnan(c.noise_floor)
        assert c.z is None and c.p is None and c.q is None and not c.significant
    assert area["hair.part_width_px"].delta != 0  # the part did move on the recapture
    assert area["hair.scalp_share_pct"].p is not None  # the other scalp metric is tested
    assert not {m for _, m, _ in r.significant()} & {"hair.part_width_px", "hair.part_width_mm"}
    rec = r.to_dict()["changes"]["area"]["hair.part_width_px"]
    assert rec["se"] is None and rec["z"] is None and rec["significant"] is False
    assert rec["before"] == area["hair.part_width_px"].before


def test_without_a_scale_the_scaled_metrics_are_nan_and_bare_scalp_has_no_hair():
    f = trichogram_field(5060, density_per_cm2=0.0)
    r = render(f, px_per_mm=PPM, seed=1, blur_px=0.5, noise_sd=0.01)
    v = _scores(r.rgb, None)
    for name in HAIR:
        if M.get_metric(name).needs_scale:
            assert math.isnan(v[name]), name
    assert v["hair.density_per_kpx"] < 0.01  # at most a stray end in 262 144 px
    assert v["hair.scalp_share_pct"] > 99.0


def test_modes_choose_the_families():
    face, scalp = set(M.metrics_for_mode("face")), set(M.metrics_for_mode("scalp"))
    close = set(M.metrics_for_mode("trichoscopy"))
    assert close == set(M.get_family("hair").metrics)
    # crown and part-line views: no counts or widths of hairs thinner than a pixel
    assert scalp == {"hair.scalp_share_pct", "hair.part_width_px", "hair.part_width_mm"}
    assert not face & close
    assert {n.split(".")[0] for n in face} == {
        "texture",
        "redness",
        "pigmentation",
        "bruise",
        "swelling",
    }


def _write_pair(tmp_path):
    f = trichogram_field(5070, density_per_cm2=180)
    b = render(f, px_per_mm=PPM, seed=1, blur_px=0.6, noise_sd=0.01)
    a = render(add_hairs(f, 0.3, seed=2), px_per_mm=PPM, seed=2, blur_px=0.6, noise_sd=0.01,
               angle_deg=2.0, shift_mm=(0.2, -0.1), gain=1.1, ramp=0.1)  # fmt: skip
    paths = []
    for name, r in (("before.png", b), ("after.png", a)):
        Image.fromarray((r.rgb * 255 + 0.5).astype(np.uint8)).save(tmp_path / name)
        paths.append(str(tmp_path / name))
    return paths, b.truth, a.truth


@pytest.mark.slow
def test_compare_trichoscopy_end_to_end(tmp_path):
    """``mesovision compare --mode trichoscopy --px-per-mm``: only hair metrics, the denser
    after photo's density up and significant, the hair heatmap written."""
    (before, after), tb, ta = _write_pair(tmp_path)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "mesovision", "compare", before, after, "-o", str(out),
           "--mode", "trichoscopy", "--px-per-mm", "50", "--json"]  # fmt: skip
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    record = json.loads(run.stdout)
    assert set(record["changes"]) == {"area"}
    assert set(record["changes"]["area"]) == set(HAIR)
    dens = record["changes"]["area"]["hair.density_per_cm2"]
    true_rise = ta.density_per_cm2 / tb.density_per_cm2 - 1.0
    assert dens["significant"] and dens["delta"] > 0
    assert dens["after"] / dens["before"] - 1.0 == pytest.approx(true_rise, abs=0.12)
    assert (out / "heatmap_hair_after.png").is_file()
    assert not (out / "heatmap_texture_after.png").exists()


def test_the_family_carries_its_capture_terms():
    """Capture terms that ``capture_noise.json`` does not cover come from the family: absolute
    for widths, a share of the larger value for the densities; a term for a metric the family
    has not registered is refused."""
    from mesovision.metrics.hair import CAPTURE_SD
    from mesovision.noise import capture_sd

    w = "hair.shaft_width_median_um"
    assert capture_sd({}, w, 70.0, 75.0) == CAPTURE_SD[w]
    d = "hair.density_per_cm2"
    assert capture_sd({}, d, 150.0, 200.0) == pytest.approx(CAPTURE_SD[d] * 200.0)
    assert capture_sd({d: 2.0}, d, 150.0, 200.0) == pytest.approx(400.0)  # the table first
    with pytest.raises(ValueError, match="has not registered"):
        M.register_family("toy3", capture_sd={"texture.roughness_ra": 1.0})
    assert "toy3" not in M.FAMILIES
