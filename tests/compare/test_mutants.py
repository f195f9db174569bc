"""Known values for the functions whose mutants survived the fast tests (``docs/testing.md``).

mutmut over ``mesovision/noise.py`` with the fast tests found the noise terms that only the slow
end-to-end comparisons (``tests/compare/test_compare.py``) reach: the quadrature sum, the
capture term, the z-score, the counting noise, the paired-tile standard error, the at-risk pixels
and the r.m.s. change. Each is checked here on inputs small enough to compute by hand, two-sided.
"""

from __future__ import annotations

import dataclasses
import math
from types import SimpleNamespace

import numpy as np
import pytest
from conftest import mismatch

from mesovision import noise
from mesovision.metrics import ImageMaps, get_family, get_metric
from mesovision.noise import (
    MAD_TO_SD,
    Change,
    NoiseTerms,
    capture_sd,
    counting_sd,
    near_counts,
    near_threshold_px,
    paired_se,
    relative_capture,
    rms_change,
    standard_error,
    z_score,
)

# -- the quadrature sum -------------------------------------------------------------------------


def test_standard_error_adds_every_term_in_quadrature():
    # Each term alone comes back as itself; together, the square root of the sum of squares.
    terms = [3.0, 4.0, 12.0, 84.0, 132.0, 720.0, 1.0, 5.0, 7.0]  # ... detail, pose
    for i, t in enumerate(terms):
        one = [0.0] * 9
        one[i] = -t  # squared: the sign does not matter
        assert standard_error(*one) == pytest.approx(t, rel=1e-12)
    assert standard_error(*terms) == pytest.approx(math.sqrt(sum(t * t for t in terms)))
    assert standard_error(3.0, 4.0, 0.0, 0.0, 0.0) == pytest.approx(5.0)  # field, mismatch: 0
    assert math.isnan(standard_error(1.0, math.nan, 0.0, 0.0, 0.0))
    arr = standard_error(np.array([3.0, 0.0]), np.array([4.0, 0.0]), 0, 0, np.array([0, 2.0]))
    np.testing.assert_allclose(arr, [5.0, 2.0])


def test_noise_terms_total_and_dict():
    t = NoiseTerms(
        se_paired=1.0,
        n_tiles=9,
        sd_registration=2.0,
        sd_recapture=4.0,
        sd_counting=10.0,
        sd_capture=20.0,
        sd_field=40.0,
        sd_mismatch=80.0,
        sd_detail=160.0,
        sd_pose=320.0,
    )
    assert t.total() == pytest.approx(
        math.sqrt(1 + 4 + 16 + 100 + 400 + 1600 + 6400 + 25600 + 102400)
    )
    assert isinstance(t.total(), float)
    assert NoiseTerms(3.0, 1, 4.0, 0.0, 0.0, 0.0).total() == pytest.approx(5.0)
    d = t.as_dict()
    assert d == {
        "se_paired": 1.0,
        "n_tiles": 9,
        "sd_registration": 2.0,
        "sd_recapture": 4.0,
        "sd_counting": 10.0,
        "sd_capture": 20.0,
        "sd_field": 40.0,
        "sd_mismatch": 80.0,
        "sd_detail": 160.0,
        "null_scale": 1.0,
        "null_df": None,
        "sd_pose": 320.0,
    }
    c = Change(
        before=1.0,
        after=2.0,
        delta=1.0,
        relative=1.0,
        se=0.5,
        z=2.0,
        p=0.0455,
        q=0.0455,
        noise_floor=0.98,
        significant=True,
        unit="a*",
        direction="higher_worse",
        family="colour",
        noise=t,
    )
    cd = c.as_dict()
    assert cd["noise"] == d and cd["endpoint"] == "secondary" and cd["delta"] == 1.0
    assert cd["z"] == 2.0 and cd["family"] == "colour" and cd["significant"] is True
    # the record's keys are the fields, once each (the noise terms under "noise" only)
    assert list(cd) == [f.name for f in dataclasses.fields(Change)]


# -- the capture term and the z-score ------------------------------------------------------------


def test_relative_capture_metrics():
    assert relative_capture("texture.roughness_ra")
    assert relative_capture("pigmentation.spot_contrast")
    assert not relative_capture("redness.mean_a")
    assert not relative_capture("pigmentation.spot_count")


def test_capture_sd_absolute_relative_and_missing():
    table = {"redness.mean_a": 0.4, "texture.roughness_ra": 0.05, "pigmentation.ita_deg": 0.0}
    assert capture_sd(table, "redness.mean_a", 10.0, 30.0) == 0.4  # absolute: not scaled
    # Relative: that share of the larger absolute value.
    assert capture_sd(table, "texture.roughness_ra", 2.0, -6.0) == pytest.approx(0.3)
    assert capture_sd(table, "texture.roughness_ra", 8.0, 6.0) == pytest.approx(0.4)
    assert capture_sd(table, "texture.roughness_ra", math.nan, 6.0) == 0.0
    assert capture_sd(table, "texture.roughness_ra", 6.0, math.inf) == 0.0
    assert capture_sd(table, "pigmentation.ita_deg", 1.0, 2.0) == 0.0
    assert capture_sd(table, "texture.glcm_contrast", 1.0, 2.0) == 0.0  # not in the table


def test_capture_sd_of_a_metric_in_mm_is_its_frame_metrics_converted_by_the_scale():
    """A metric in mm (``SCALED_METRICS``) without a term of its own takes its frame metric's,
    converted with the scoring frame's scale ``(px per mm, interocular distance in px)``:
    spot area px / ppm², an outline in % IOD x IOD / (100 ppm); none without a scale, a
    conversion or a frame term, and its own term when the table has one."""
    table = {"pigmentation.spot_area_px": 1.0, "swelling.contour_pct_iod": 0.09}
    scale = (4.0, 120.0)
    assert capture_sd(table, "pigmentation.spot_area_mm2", 10.0, 20.0, scale) == 0.0625  # 1 / 16
    # 0.09 % of 120 px is 0.108 px, 0.027 mm at 4 px per mm
    assert capture_sd(table, "swelling.contour_mm", 1.0, 2.0, scale) == pytest.approx(0.027)
    for no_scale in (None, (None, 120.0), (0.0, 120.0)):
        assert capture_sd(table, "pigmentation.spot_area_mm2", 10.0, 20.0, no_scale) == 0.0
    assert capture_sd({"swelling.puffiness_pct": 1.0}, "swelling.puffiness_mm2", 1, 2, scale) == 0
    assert capture_sd({}, "pigmentation.spot_area_mm2", 10.0, 20.0, scale) == 0.0
    own = {**table, "pigmentation.spot_area_mm2": 0.3}
    assert capture_sd(own, "pigmentation.spot_area_mm2", 10.0, 20.0, scale) == 0.3


def test_capture_sd_falls_back_to_the_family_table():
    # A metric missing from the table takes its family's own capture term (hair registers
    # some); a metric of no registered family has none.
    fam = get_family("hair")
    assert fam.capture_sd
    name, c = sorted(fam.capture_sd.items())[0]
    scale = max(abs(2.0), abs(-3.0)) if relative_capture(name) else 1.0
    assert capture_sd({}, name, 2.0, -3.0) == pytest.approx(c * scale)
    assert capture_sd({name: 0.5}, name, 2.0, -3.0) == pytest.approx(0.5 * scale)
    assert capture_sd({}, "nosuch.metric", 2.0, -3.0) == 0.0


def test_z_score_values_and_untested_cells():
    z = z_score([2.0, -3.0, 1.0, 1.0, math.nan, 1.0, 0.0], [0.5, 1.5, 0.0, -1.0, 1.0, math.inf, 2])
    np.testing.assert_array_equal(np.isnan(z), [False, False, True, True, True, True, False])
    np.testing.assert_allclose(z[[0, 1, 6]], [4.0, -2.0, 0.0])
    assert float(z_score(1.0, 4.0)) == 0.25


# -- counting noise ------------------------------------------------------------------------------


@pytest.fixture
def tally_family():
    """A small family, ``tally``, of a count without a flip variance (``tally.n``, its counting
    term Poisson), its densities (``tally.per_kpx``, ``tally.per_cm2``, Poisson over the area)
    and areas of its detections that carry the count's noise (``counted_by``); removed again
    afterwards. (The spot count and areas and the fine-line and pore densities carry a flip
    variance instead: ``tests/metrics/test_spot_flip.py``, ``test_texture_flip.py``.)"""
    import mesovision.metrics as M

    doc = """A test metric.

        Formula
        -------
        a count of test detections.

        References
        ----------
        None (a test family).
        """
    for name, unit in (
        ("n", "count"),
        ("area_px", "px"),
        ("area_pct", "%"),
        ("area_mm2", "mm^2"),
        ("per_kpx", "1/(1000 px^2)"),
        ("per_cm2", "1/cm^2"),
    ):

        def func(toy_l):
            return toy_l

        func.__doc__ = doc
        M.register(
            f"tally.{name}",
            unit=unit,
            direction="neutral",
            display=f"tally {name}",
            plain="A test metric.",
            unit_label=unit,
            maps=("toy_l",),
        )(func)
    M.register_family(
        "tally",
        counted_by={f"tally.{a}": "tally.n" for a in ("area_px", "area_pct", "area_mm2")},
    )
    try:
        yield
    finally:
        M.unregister_family("tally")


def test_counting_sd_counts(tally_family):
    assert counting_sd("tally.n", 7.0, 9.0, 100, 100, None, {}, {}) == 4.0
    # At least one count: sqrt(max(1, before + after)).
    assert counting_sd("tally.n", 0.0, 0.0, 100, 100, None, {}, {}) == 1.0
    assert counting_sd("tally.n", 0.25, 0.25, 100, 100, None, {}, {}) == 1.0
    assert counting_sd("tally.n", math.nan, 9.0, 100, 100, None, {}, {}) == 0.0
    assert counting_sd("tally.n", 9.0, math.inf, 100, 100, None, {}, {}) == 0.0


def test_counting_sd_of_the_spot_count_is_its_flip_variance():
    # Not Poisson: the root of the two photos' flip variances (n_near), whatever the counts.
    assert counting_sd("pigmentation.spot_count", 7.0, 9.0, 100, 100, None, {}, {}, 2.25) == 1.5
    assert counting_sd("pigmentation.spot_count", 7.0, 9.0, 100, 100, None, {}, {}) == 0.0
    assert counting_sd("pigmentation.spot_count", math.nan, 9.0, 1, 1, None, {}, {}, 4.0) == 0.0
    assert counting_sd("pigmentation.spot_area_pct", 1.0, 2.0, 1, 1, None, {}, {}, 0.25) == 0.5


def test_counting_sd_densities(tally_family):
    # 2 and 3 per 1000 px^2 over 4000 and 6000 px: 8 + 18 = 26 counted, mean area 5 kpx.
    sd = counting_sd("tally.per_kpx", 2.0, 3.0, 4000, 6000, None, {}, {})
    assert sd == pytest.approx(math.sqrt(26.0) / 5.0)
    # Fewer than one counted: one.
    sd = counting_sd("tally.per_kpx", 0.0, 0.1, 4000, 6000, None, {}, {})
    assert sd == pytest.approx(1.0 / 5.0)
    # Per cm^2 at 20 px/mm: 40000 px = 100 mm^2 = 1 cm^2; 60000 px = 1.5 cm^2.
    sd = counting_sd("tally.per_cm2", 10.0, 20.0, 40000, 60000, 20.0, {}, {})
    assert sd == pytest.approx(math.sqrt(10.0 + 30.0) / 1.25)
    # Without a scale the areas are unknown: no counting term (the density is NaN anyway).
    assert counting_sd("tally.per_cm2", 1.0, 2.0, 40000, 60000, None, {}, {}) == 0
    assert counting_sd("tally.per_kpx", 2.0, 3.0, 0, 6000, None, {}, {}) == 0.0
    assert counting_sd("tally.per_kpx", 2.0, 3.0, 4000, 0, None, {}, {}) == 0.0
    # The fine-line and pore densities carry their flip variance instead (the root of the two
    # photos' summed variances, n_near, in the density's unit squared), whatever the counts.
    sd = counting_sd("texture.pore_density_per_kpx", 2.0, 3.0, 5000, 5000, None, {}, {}, 0.09)
    assert sd == pytest.approx(0.3)
    # Regions of 4000 and 6000 px: the same 12 pores read 3.0 and 2.0 per kpx; the area term is
    # the mean density x the areas' difference over their mean, 2.5 x 2000 / 5000 = 1.0.
    sd = counting_sd("texture.pore_density_per_kpx", 3.0, 2.0, 4000, 6000, None, {}, {}, 0.09)
    assert sd == pytest.approx(math.sqrt(0.09 + 1.0))


def test_counting_sd_spot_areas_and_shares(tally_family):
    b, a = {"tally.n": 10.0}, {"tally.n": 6.0}
    sd = counting_sd("tally.area_px", 30.0, 50.0, 1000, 1000, None, b, a)
    assert sd == pytest.approx(80.0 / 4.0)
    sd = counting_sd("tally.area_pct", 1.0, 2.0, 1000, 1000, None, b, a)
    assert sd == pytest.approx(3.0 / 4.0)  # the areas of detections go before the shares
    few = {"tally.n": 0.0}
    sd = counting_sd("tally.area_mm2", 3.0, 5.0, 1000, 1000, 10.0, few, few)
    assert sd == pytest.approx(8.0)
    assert counting_sd("tally.area_px", 3.0, 5.0, 1, 1, None, {}, a) == 0.0
    # A share in %: flagged pixels 10 % of 1000 + 20 % of 2000 = 500, plus 76 at risk.
    sd = counting_sd("redness.red_area_pct", 10.0, 20.0, 1000, 2000, None, {}, {}, n_near=76)
    assert sd == pytest.approx(100.0 * math.sqrt(576.0) / 1000.0)
    sd = counting_sd("redness.red_area_pct", 0.0, 0.0, 1000, 2000, None, {}, {})
    assert sd == pytest.approx(100.0 / 1000.0)
    assert counting_sd("redness.red_area_pct", 10.0, 20.0, 0, 2000, None, {}, {}) == 0.0
    assert counting_sd("redness.red_area_pct", 10.0, 20.0, 1000, 0, None, {}, {}) == 0.0
    assert counting_sd("redness.mean_a", 10.0, 20.0, 1000, 2000, None, {}, {}) == 0.0


# -- paired tiles --------------------------------------------------------------------------------


def test_paired_se_from_tiles_and_pooled():
    units = {"redness.mean_a": "a*", "pigmentation.spot_count": "count"}
    tiles = np.array([0.0, 1.0, 2.0, 3.0, 10.0])  # median 2, MAD 1
    diffs = {
        "chin": {"redness.mean_a": tiles, "pigmentation.spot_count": tiles},
        "nose": {"redness.mean_a": tiles[:2], "pigmentation.spot_count": tiles[:2]},
        "face": {"redness.mean_a": tiles * 100, "pigmentation.spot_count": tiles * 100},
    }
    region_tiles = {"chin": 5.0, "nose": 4.0, "face": 20.0}
    se = paired_se(diffs, region_tiles, units)
    assert se["chin"]["redness.mean_a"] == (pytest.approx(MAD_TO_SD / math.sqrt(5)), 5)
    # Counts add up over the region: times its size in tiles.
    assert se["chin"]["pigmentation.spot_count"] == (pytest.approx(MAD_TO_SD * math.sqrt(5)), 5)
    # Two tiles: the spread pooled over the parts (chin only has 3 or more; face left out)
    # over sqrt(4).
    assert se["nose"]["redness.mean_a"] == (pytest.approx(MAD_TO_SD / 2), 2)
    assert se["nose"]["pigmentation.spot_count"] == (pytest.approx(MAD_TO_SD * 2), 2)
    assert se["face"]["redness.mean_a"][0] == pytest.approx(100 * MAD_TO_SD / math.sqrt(5))
    empty = paired_se(
        {"nose": {"redness.mean_a": tiles[:2]}}, {"nose": 0.0}, {"redness.mean_a": "a*"}
    )
    assert math.isnan(empty["nose"]["redness.mean_a"][0])
    assert empty["nose"]["redness.mean_a"][1] == 2


def test_paired_se_exactly_min_tiles_uses_the_region_own_spread():
    units = {"redness.mean_a": "a*"}
    three = np.array([1.0, 2.0, 4.0])  # median 2, MAD 1
    chin = np.array([0.0, 0.0, 0.0, 5.0, 5.0])
    se = paired_se(
        {"nose": {"redness.mean_a": three}, "chin": {"redness.mean_a": chin}},
        {"nose": 3.0, "chin": 5.0},
        units,
    )
    assert noise.MIN_PAIRED_TILES == 3
    assert se["nose"]["redness.mean_a"] == (pytest.approx(MAD_TO_SD / math.sqrt(3)), 3)


def test_paired_se_treated_at_exactly_min_tiles_and_two_untreated_parts():
    # A treated region of exactly MIN_PAIRED_TILES tiles, and exactly two untreated parts with
    # that many: the treated region takes their pooled, centred spread; with one of them a tile
    # short, its own.
    units = {"redness.mean_a": "a*"}
    treated = np.array([0.0, -4.0, -4.0])  # own MAD 0
    chin = np.array([0.0, 1.0, 2.0])  # centred: -1 0 1
    forehead = np.array([10.0, 12.0, 14.0])  # centred: -2 0 2; pooled MAD 1
    tiles = {"left_cheek": 3.0, "chin": 3.0, "forehead": 3.0}

    def se(fore):
        diffs = {
            "left_cheek": {"redness.mean_a": treated},
            "chin": {"redness.mean_a": chin},
            "forehead": {"redness.mean_a": fore},
        }
        return paired_se(diffs, tiles, units, treated=("left_cheek",))

    out = se(forehead)
    assert noise.MIN_PAIRED_TILES == 3
    assert out["left_cheek"]["redness.mean_a"] == (pytest.approx(MAD_TO_SD / math.sqrt(3)), 3)
    # the untreated parts keep their own spread
    assert out["chin"]["redness.mean_a"] == (pytest.approx(MAD_TO_SD / math.sqrt(3)), 3)
    assert out["forehead"]["redness.mean_a"] == (pytest.approx(2 * MAD_TO_SD / math.sqrt(3)), 3)
    # one untreated part with enough tiles: no reference, the treated region's own spread (0)
    short = se(forehead[:2])
    assert short["left_cheek"]["redness.mean_a"] == (0.0, 3)


# -- at-risk pixels and the r.m.s. change --------------------------------------------------------


def _maps():
    near = np.zeros((4, 6), bool)
    near[1:3, 2:5] = True  # 6 pixels at risk
    flip = np.zeros((4, 6), np.float32)
    flip[0, 0:2] = 1.5  # a bruise's per-pixel share of its flip variance (px²)
    maps = {"red_near": near, "bruise_flip": flip}
    return ImageMaps(shape=(30, 40), window=(10, 14, 20, 26), maps=maps, baseline=None)


def test_near_threshold_px_counts_the_window_of_the_mask():
    mask = np.zeros((30, 40), bool)
    mask[10:14, 20:26] = True
    spec = get_metric("redness.red_area_pct")
    assert near_threshold_px(_maps(), mask, spec) == 6
    mask[11, 22] = False
    assert near_threshold_px(_maps(), mask, spec) == 5
    assert near_threshold_px(_maps(), mask, get_metric("redness.mean_a")) == 0  # not a share
    # A float map is summed: the variance of whole detections at risk (px²).
    assert near_threshold_px(_maps(), mask, get_metric("bruise.area_pct")) == 3.0
    mask[10, 20] = False
    assert near_threshold_px(_maps(), mask, get_metric("bruise.area_pct")) == 1.5
    # A metric whose family registers a flip variance: that function's value.
    flips = SimpleNamespace(total=lambda name, m: float(m.sum()) if name == "spot_flip_area" else 0)
    n = int(mask.sum())
    share = near_threshold_px(flips, mask, get_metric("pigmentation.spot_area_pct"))
    assert share == pytest.approx(n * (100.0 / n) ** 2)
    assert near_threshold_px(flips, mask, get_metric("pigmentation.spot_area_px")) == n
    assert near_threshold_px(flips, mask, get_metric("pigmentation.spot_count")) == 0


def test_near_counts_leaves_out_metrics_without_risk():
    full = np.zeros((30, 40), bool)
    full[10:14, 20:26] = True
    names = ["redness.red_area_pct", "redness.mean_a"]
    out = near_counts(_maps(), {"chin": full, "nose": np.zeros_like(full)}, names)
    assert out == {"chin": {"redness.red_area_pct": 6}, "nose": {}}


def test_rms_change():
    assert rms_change([1.0, 3.0], 2.0) == pytest.approx(1.0)
    assert rms_change([2.0, 5.0, math.nan], 2.0) == pytest.approx(math.sqrt(4.5))
    assert rms_change([math.nan, math.nan], 1.0) == 0.0
    assert rms_change([], 1.0) == 0.0
    assert rms_change([4.0], 1.0) == 3.0


# -- the between-region term ---------------------------------------------------------------------


def test_robust_sd_of_none_one_and_five_values():
    assert math.isnan(noise.robust_sd(np.empty(0)))
    assert noise.robust_sd(np.array([5.0])) == 0.0
    assert noise.robust_sd(np.array([0.0, 1.0, 2.0, 3.0, 100.0])) == pytest.approx(MAD_TO_SD)


def test_field_sd_leaves_out_face_area_and_the_treated_parts():
    deltas = {"face": 100.0, "area": 100.0, "a": 0.0, "b": 1.0, "c": 2.0, "d": 3.0, "e": 4.0}
    assert noise.field_sd(deltas) == pytest.approx(MAD_TO_SD)  # MAD of 0..4 is 1
    # Exactly MIN_FIELD_REGIONS (4) untreated parts: those alone, their mean absolute change
    # (1.5) x sqrt(pi / 2).
    deltas = {"a": 0.0, "b": 1.0, "c": -2.0, "d": 3.0, "t": 50.0, "u": -70.0}
    assert noise.MIN_FIELD_REGIONS == 4
    assert noise.field_sd(deltas, ("t", "u")) == pytest.approx(1.5 * math.sqrt(math.pi / 2))
    # Fewer untreated parts: the MAD of all parts (median 0.5, deviations .5 .5 2.5 2.5 49.5
    # 70.5 -> 2.5); fewer than 4 finite: NaN.
    assert noise.field_sd(deltas, ("t", "u", "a")) == pytest.approx(2.5 * MAD_TO_SD)
    assert math.isnan(noise.field_sd({"a": 1.0, "b": 2.0, "c": 3.0, "d": math.nan}))


def test_field_terms_absolute_metric_skips_the_treated_parts():
    before = dict.fromkeys(("a", "b", "c", "d", "t", "u"), 0.0)
    after = {"a": 0.0, "b": 1.0, "c": 2.0, "d": 3.0, "t": 50.0, "u": -70.0}
    out = noise.field_terms("redness.mean_a", before, after, ("t", "u"))
    assert out == dict.fromkeys(before, pytest.approx(1.5 * math.sqrt(math.pi / 2)))
    out = noise.field_terms("redness.mean_a", before, after)  # nothing treated: all six
    assert out == dict.fromkeys(before, pytest.approx(1.5 * MAD_TO_SD))
    out = noise.field_terms("pigmentation.spot_count", before, after)
    assert out == dict.fromkeys(before, 0.0)  # counts and areas: none
    # a family registered as local (swelling, in % of the IOD): none, whatever the spread
    assert get_metric("swelling.contour_pct_iod").unit not in noise.EXTENSIVE_UNITS
    out = noise.field_terms("swelling.contour_pct_iod", before, after, ("t", "u"))
    assert out == dict.fromkeys(before, 0.0)
    few = noise.field_terms("redness.mean_a", {"a": 1.0, "b": 2.0}, {"a": 1.0, "b": 3.0})
    assert all(math.isnan(v) for v in few.values()) and set(few) == {"a", "b"}


@pytest.mark.parametrize("unit", [1.0, 0.01])
def test_field_terms_relative_metric(unit):
    """Texture: relative changes ``(after - before) / max(|before|, |after|)`` of 1/3, 1/6, 0,
    -1/5, -1/2 (MAD 0.2), back in the unit times each region's larger value."""
    before = {r: 10.0 * unit for r in "abcde"} | {"zero": 0.0, "gone": 5.0 * unit}
    before["nan"] = math.nan
    after = {"a": 15.0, "b": 12.0, "c": 10.0, "d": 8.0, "e": 5.0, "zero": 0.0, "nan": 3.0}
    after = {r: v * unit for r, v in after.items()}  # "gone" has no after value
    out = noise.field_terms("texture.roughness_ra", before, after)
    sd = 0.2 * MAD_TO_SD
    expected = {"a": 15, "b": 12, "c": 10, "d": 10, "e": 10, "zero": 0, "gone": 5}
    for r, scale in expected.items():
        assert out[r] == pytest.approx(sd * scale * unit), r
    assert out["nan"] == 0.0  # no finite scale


# -- false discovery rate ------------------------------------------------------------------------


def _change(p, endpoint="secondary"):
    t = NoiseTerms(0.0, 0, 0.0, 0.0, 0.0, 0.0)
    return Change(1.0, 1.0, 0.0, 0.0, 1.0, 0.0, p, None, 0.0, False, "a*", "neutral", "colour", t,
                  endpoint)  # fmt: skip


def test_control_fdr_without_primary_endpoints_and_at_the_boundary():
    changes = [_change(0.01), _change(0.04), _change(None)]
    noise.control_fdr(changes)  # no primary endpoint: the secondary ones are still adjusted
    assert [c.q for c in changes] == [pytest.approx(0.02), pytest.approx(0.04), None]
    assert [c.significant for c in changes] == [True, True, False]
    edge = [_change(noise.FDR, "primary")]
    noise.control_fdr(edge)
    assert edge[0].q == pytest.approx(noise.FDR) and edge[0].significant is False  # q < FDR
    both = [_change(0.01, "primary"), _change(0.03), _change(0.03)]
    noise.control_fdr(both)  # adjusted within each stratum
    assert [c.q for c in both] == [pytest.approx(0.01), pytest.approx(0.03), pytest.approx(0.03)]


# -- comparability ------------------------------------------------------------------------------


def test_family_of_every_prefix():
    from mesovision.comparability import family_of

    assert family_of("redness.mean_a") == "colour"
    assert family_of("redness.erythema_index") == "colour"
    assert family_of("pigmentation.ita_deg") == "pigmentation"
    assert family_of("texture.roughness_ra") == "texture"
    assert family_of("bruise.area_pct") == "bruise"
    assert family_of("geometry.anything") == "geometry"
    assert family_of("hair.density_per_cm2") == "texture"  # the hair family takes texture's
    assert family_of("swelling.outline") == "geometry"  # not a family: geometry
    assert family_of("texture.a.b") == "texture"
    # a prefix no metric family registers: its own name when a verdict is given for it, else
    # geometry
    assert family_of("colour.anything") == "colour"
    assert family_of("unknown.metric") == "geometry"


_mm = mismatch


def test_limit_grades_at_and_around_their_bounds():
    from mesovision.comparability import Limit

    up = Limit("x", 2.0, 4.0)
    assert [up.grade(v) for v in (1.0, 2.0, 3.0, 4.0, 6.0)] == [0.0, 0.0, 0.5, 1.0, 2.0]
    assert up.grade(None) == 0.0 and up.grade(math.nan) == 0.0 and up.grade(math.inf) == 0.0
    down = Limit("q", 40.0, 20.0, lower=True)
    assert [down.grade(v) for v in (90.0, 40.0, 30.0, 20.0, 10.0)] == [0.0, 0.0, 0.5, 1.0, 1.5]


def test_the_limits_in_use():
    """The calibrated limits (``docs/method.md``), pinned: a change is a decision."""
    from mesovision.comparability import LIMITS

    table = {
        f: [(lim.measure, lim.ok, lim.bad, lim.lower) for lim in ls] for f, ls in LIMITS.items()
    }
    jpeg = ("jpeg_quality", 40.0, 20.0, True)
    assert table == {
        "colour": [("delta_e00", 1.5, 3.0, False), jpeg],
        "pigmentation": [
            ("delta_e00", 1.5, 3.0, False),
            ("detail_spread", 1.4, 2.0, False),
            ("noise_spread", 2.0, 3.0, False),
            jpeg,
            ("detail_iod_px", 100.0, 0.0, True),
        ],
        "texture": [
            ("delta_e00", 3.0, 5.0, False),
            ("detail_spread", 1.2, 1.45, False),
            ("noise_spread", 1.4, 2.5, False),
            jpeg,
            ("scoring_iod_px", 100.0, 75.0, True),
            ("detail_iod_px", 100.0, 75.0, True),
        ],
        "bruise": [
            ("delta_e00", 1.5, 3.0, False),
            ("detail_spread", 1.5, 2.5, False),
            ("noise_spread", 2.5, 4.0, False),
            jpeg,
            ("scoring_iod_px", 72.0, 0.0, True),
            ("skin_melanin", 0.5, 10.0, False),
        ],
        "geometry": [
            ("pose_deg", 1.5, 3.0, False),
            ("delta_e00", 1.5, 3.0, False),
            ("detail_spread", 1.4, 2.0, False),
            ("scoring_iod_px", 72.0, 0.0, True),
        ],
    }


@pytest.mark.parametrize(
    ("kw", "family", "reason"),
    [
        (
            {"noise_ratio": 4.0},
            "texture",
            "texture: image noise differs (the after photo is noisier: noise ratio 4.00); retake "
            "with more light or a lower ISO",
        ),
        (
            {"noise_ratio": 0.25},
            "texture",
            "texture: image noise differs (the before photo is noisier: noise ratio 0.25); the "
            "baseline photo is the noisier, which a retake of the after photo cannot mend: "
            "compare with a cleaner baseline",
        ),
        (
            {"detail_ratio": 1 / 3},
            "bruise",
            "bruise: focus or detail differs (the after photo shows less: detail ratio 0.33); "
            "retake in focus at the baseline's distance",
        ),
        (
            {"detail_ratio": 3.0},
            "bruise",
            "bruise: focus or detail differs (the before photo shows less: detail ratio 3.00); "
            "the baseline photo shows less detail, which a retake of the after photo cannot "
            "mend: compare with a sharper baseline",
        ),
        (
            {"jpeg_quality": 12},
            "colour",
            "colour: JPEG quality 12; export the photos at quality 85 or more",
        ),
        (
            {"pose_deg": 12.5},
            "geometry",
            "geometry: the head is turned 12.5 deg differently; retake facing the camera as in "
            "the baseline",
        ),
    ],
)
def test_verdict_reasons_name_the_measure_and_its_value(kw, family, reason):
    from mesovision.comparability import verdicts

    v = verdicts(_mm(**kw))[family]
    assert v.family == family and v.status == "not_comparable" and v.reason == reason
    assert v.inflation == 1.0 and not v.tested


def test_verdict_boundaries_and_widening():
    from mesovision.comparability import Verdict, verdicts

    v = verdicts(_mm())
    assert all(x.family == f and x.reason == "" and x.inflation == 1.0 for f, x in v.items())
    # Exactly at ``bad``: grade 1, still limited (not comparable beyond it), widened twice.
    v = verdicts(_mm(delta_e00=3.0))["colour"]
    assert (v.family, v.status, v.inflation) == ("colour", "limited", 2.0)
    assert v.tested
    # Widening rounded to 3 decimals: 1.5 + 1.5 / 3 is a grade of 1/3.
    assert verdicts(_mm(delta_e00=2.0))["colour"].inflation == 1.333
    # The noise ratio is folded (0.5 and 2.0 alike) and shown unfolded: 1.4 -> 2.5, 2.0 is
    # 0.6 / 1.1 of the way.
    for r in (0.5, 2.0):
        t = verdicts(_mm(noise_ratio=r))["texture"]
        assert t.status == "limited" and t.inflation == pytest.approx(1 + 0.6 / 1.1, abs=1e-3)
        assert f"noise ratio {r:.2f}" in t.reason
    assert verdicts(_mm(noise_ratio=0.0))["texture"].status == "comparable"  # not measured
    assert verdicts(_mm(noise_ratio=-2.0))["texture"].status == "comparable"
    assert verdicts(_mm(noise_ratio=math.inf))["texture"].status == "comparable"
    assert verdicts(_mm(jpeg_quality=None))["colour"].status == "comparable"
    # The expression: limited, widened twice, regions listed; only when nothing else is.
    g = verdicts(_mm(expression_regions=("perioral", "chin")))["geometry"]
    assert g == Verdict(
        "geometry",
        "limited",
        "geometry: the expression differs (perioral, chin); retake with the baseline's neutral "
        "expression",
        2.0,
    )
    other = verdicts(_mm(expression_regions=("chin",)))
    assert other["bruise"].status == "comparable"  # the families after geometry still come
    g = verdicts(_mm(expression_regions=("chin",), pose_deg=2.25))["geometry"]
    assert g.inflation == 1.5 and "turned 2.2 deg" in g.reason
    assert list(verdicts(_mm())) == ["colour", "pigmentation", "texture", "bruise", "geometry"]


def test_skin_that_reads_dark_limits_bruises_without_widening():
    from mesovision.comparability import Verdict, verdicts

    v = verdicts(_mm(skin_melanin=0.66))
    assert v["bruise"] == Verdict(
        "bruise",
        "limited",
        "bruise: the skin reads dark or yellowish in this photo (melanin density 0.66, over 0.5): "
        "green bruises may go unseen, above 1 yellow-brown ones too; judge late bruises by eye",
        1.0,
    )
    assert all(x.status == "comparable" for f, x in v.items() if f != "bruise")
    assert verdicts(_mm(skin_melanin=0.5))["bruise"].status == "comparable"
    assert verdicts(_mm(skin_melanin=None))["bruise"].status == "comparable"
    dark = verdicts(_mm(skin_melanin=3.0))["bruise"]  # the darkest skin: never not comparable
    assert dark.status == "limited" and dark.inflation == 1.0 and dark.tested
    # A measure that widens the floor names its reason and widens it (1.5 -> 2.5, halfway).
    both = verdicts(_mm(skin_melanin=0.66, detail_ratio=2.0))["bruise"]
    assert both.inflation == 1.5 and both.reason.startswith("bruise: focus or detail differs")
    # ... and the other limit it is past is named too (without its own advice)
    assert both.reason.endswith("; also the skin reads dark or yellowish in this photo (melanin "
                                "density 0.66, over 0.5): green bruises may go unseen, above 1 "
                                "yellow-brown ones too")  # fmt: skip


def test_a_verdict_names_every_limit_the_pair_is_past_worst_first():
    """A practitioner who mends the worst finding meets the next: the reason names them all,
    the worst with its advice, the others after it from the worse to the lesser."""
    from mesovision.comparability import verdicts

    g = verdicts(_mm(delta_e00=5.0, pose_deg=4.1))["geometry"]
    assert g.status == "not_comparable"
    assert g.reason == (
        "geometry: light differs by dE00 5.0 on untreated skin; retake under the baseline's "
        "light or use a colour card; also the head is turned 4.1 deg differently"
    )
    c = verdicts(_mm(delta_e00=2.0, jpeg_quality=35, noise_ratio=2.2))["pigmentation"]
    head, also = c.reason.split("; also ")
    assert head.startswith("pigmentation: light differs by dE00 2.0")
    assert also.split(", and ") == ["JPEG quality 35", "image noise differs (the after photo is "
                                    "noisier: noise ratio 2.20)"]  # fmt: skip
    assert "; also" not in verdicts(_mm(pose_deg=2.0))["geometry"].reason  # one limit: none


def test_mismatch_and_verdict_as_dict():
    from mesovision.comparability import Verdict

    d = _mm(expression_regions=("chin",)).as_dict()
    assert d["expression_regions"] == ["chin"] and d["delta_e00"] == 0.3 and len(d) == 14
    assert d["skin_melanin"] is None and d["grayscale_photos"] == []
    assert d["enlarged_photo"] is d["enlargement"] is d["detail_iod_px"] is None
    assert Verdict("colour", "limited", "why", 1.5).as_dict() == {
        "status": "limited",
        "reason": "why",
        "inflation": 1.5,
    }


def test_tile_colour_error_counts_only_tiles_full_enough_in_both():
    from mesovision.color import delta_e_ciede2000
    from mesovision.mismatch import tile_colour_error

    # Four 5 x 4 tiles (20 px each, the minimum) of known colours, shifted by (1, 2, -1).
    labels = np.repeat(np.arange(4), 20).reshape(8, 10)
    lab_b = np.zeros((8, 10, 3))
    lab_b[..., 0] = 50.0 + 5 * labels
    lab_a = lab_b + [1.0, 2.0, -1.0]
    ref = np.ones((8, 10), bool)
    de, n = tile_colour_error(lab_b, lab_a, ref, ref, labels, labels)
    per_tile = delta_e_ciede2000(lab_b[::2, ::5].reshape(-1, 3), lab_a[::2, ::5].reshape(-1, 3))
    assert n == 4 and de == pytest.approx(float(np.median(per_tile)), abs=1e-6)
    # One pixel fewer in a tile of one photo: 3 tiles; in two tiles: too few (None, 2).
    short = ref.copy()
    short[0, 0] = False
    de_3, n_3 = tile_colour_error(lab_b, lab_a, short, ref, labels, labels)
    assert n_3 == 3 and de_3 == pytest.approx(float(np.median(per_tile[1:])), abs=1e-6)
    assert tile_colour_error(lab_b, lab_a, ref, short, labels, labels)[1] == 3
    short[7, 9] = False
    assert tile_colour_error(lab_b, lab_a, short, ref, labels, labels) == (None, 2)
    # Pixels outside the reference or unlabelled (-1) do not count; a tile's mean is its own.
    lab_a2 = lab_a.copy()
    lab_a2[0, 0] = (0.0, 80.0, 80.0)
    outside = ref.copy()
    outside[0, 0] = False
    lab_b2 = lab_b.copy()
    lab_b2[0, 0] = (0.0, 80.0, 80.0)
    lb = labels.copy()
    lb[0, 0] = -1
    de2, n2 = tile_colour_error(lab_b2, lab_a2, ref, outside, lb, labels, min_px=19)
    assert n2 == 4 and de2 == pytest.approx(de, abs=1e-6)
    # A one-pixel tile is its pixel (min_px=1).
    one = np.full((8, 10), -1)
    one[0, 0], one[0, 1], one[0, 2] = 0, 1, 2
    de1, n1 = tile_colour_error(lab_b, lab_a, ref, ref, one, one, min_px=1)
    truth = delta_e_ciede2000(lab_b[0, 0], lab_a[0, 0])[0]
    assert n1 == 3 and de1 == pytest.approx(float(truth), abs=1e-6)
    # The photos' tile numbers differ (the after photo has no tile 3): both ranges are counted.
    assert tile_colour_error(lab_b, lab_a, ref, ref, labels, np.minimum(labels, 2))[1] == 3
    assert tile_colour_error(lab_b, lab_a, ref, ref, np.minimum(labels, 2), labels)[1] == 3


def test_detail_and_noise_sigma_against_scipy():
    from scipy import ndimage

    from mesovision.mismatch import detail, noise_sigma

    rng = np.random.default_rng(5)
    img = rng.normal(50, 10, (40, 50)).astype(np.float32)
    img += np.linspace(0, 30, 50, dtype=np.float32)  # a ramp: the borders matter
    mask = np.zeros(img.shape, bool)
    mask[:, :5] = True
    mask[:20, 5:] = True
    x = img.astype(np.float64)
    g1 = ndimage.gaussian_filter(x, 1.0, mode="mirror")
    g2 = ndimage.gaussian_filter(x, 2.5, mode="mirror")
    truth = math.sqrt(np.mean((x - g1)[mask] ** 2) / np.mean((g1 - g2)[mask] ** 2))
    assert detail(img, mask) == pytest.approx(truth, rel=1e-4)
    kernel = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float64)
    r = ndimage.correlate(x, kernel, mode="reflect")  # OpenCV's BORDER_REFLECT
    truth = math.sqrt(math.pi / 2) / 6 * np.mean(np.abs(r[mask]))
    assert noise_sigma(img, mask) == pytest.approx(truth, rel=1e-4)
    small = np.zeros(img.shape, bool)
    small.flat[:100] = True  # exactly 100 pixels: enough
    assert detail(img, small) is not None and noise_sigma(img, small) is not None
    small.flat[99] = False
    assert detail(img, small) is None and noise_sigma(img, small) is None
    assert detail(np.zeros((20, 20), np.float32), np.ones((20, 20), bool)) is None  # flat


def test_lightness_is_cielab_l():
    from mesovision.mismatch import _lightness

    rgb = np.array([[[1.0, 1.0, 1.0], [0.5, 0.5, 0.5]], [[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]]])
    np.testing.assert_allclose(_lightness(rgb), [[100.0, 53.39], [0.0, 53.24]], atol=0.02)


def test_ratio_hull_and_pose_measures():
    from mesovision.mismatch import hull_mask, pose_deg, ratio

    assert ratio(3.0, 2.0) == 1.5 and isinstance(ratio(3, 2), float)
    assert ratio(0.5, 0.25) == 2.0 and ratio(0.25, 0.5) == 0.5
    for a, b in ((None, 1.0), (1.0, None), (0.0, 1.0), (1.0, 0.0), (-1.0, 2.0), (1.0, -2.0)):
        assert ratio(a, b) is None
    m = hull_mask(np.array([[1.0, 1.0], [6.0, 1.0], [6.0, 4.0], [1.0, 4.0], [3.0, 2.0]]), (8, 9, 3))
    assert m.dtype == bool and m.shape == (8, 9)
    assert m.sum() == 24 and m[1:5, 1:7].all()  # the rectangle's 6 x 4 pixels, edges included
    assert hull_mask(None, (8, 9)) is None
    assert pose_deg({"yaw_deg": -7.0, "pitch_deg": 3.0}) == 7.0
    assert pose_deg({"yaw_deg": 2.0, "pitch_deg": -4.5}) == 4.5
    assert pose_deg(None) is None and pose_deg({}) is None


# -- colour ------------------------------------------------------------------------------------


def test_srgb_transfer_curves_at_known_points():
    from mesovision.color import linear_to_srgb, srgb_to_linear

    # IEC 61966-2-1: linear segment below 0.04045 (encoded) / 0.0031308 (linear).
    enc = np.array([0.0, 0.02, 0.04045, 0.5, 1.0])
    lin = np.array([0.0, 0.02 / 12.92, 0.04045 / 12.92, 0.21404114, 1.0])
    out = srgb_to_linear(enc)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, lin, rtol=1e-5, atol=1e-8)
    back = linear_to_srgb(lin)
    assert back.dtype == np.float32
    np.testing.assert_allclose(back, enc, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(linear_to_srgb([-0.5, 0.001, 2.0]), [0.0, 0.01292, 1.0], rtol=1e-5)
    assert float(srgb_to_linear(0.04046)) == pytest.approx(((0.04046 + 0.055) / 1.055) ** 2.4)
    assert float(linear_to_srgb(0.0031309)) == pytest.approx(1.055 * 0.0031309 ** (1 / 2.4) - 0.055)


@pytest.mark.parametrize("shape", [(3,), (5, 3), (2, 4, 3), (2, 2, 2, 3)])
def test_lab_conversions_keep_any_shape(shape):
    from mesovision.color import lab_to_rgb, rgb_to_lab

    rng = np.random.default_rng(3)
    rgb = rng.uniform(0.05, 0.95, shape).astype(np.float32)
    lab = rgb_to_lab(rgb)
    assert lab.shape == shape and lab.dtype == np.float32
    back = lab_to_rgb(lab)
    assert back.shape == shape and back.dtype == np.float32
    np.testing.assert_allclose(back, rgb, atol=2e-3)
    # Known values: sRGB white and mid-grey, and a clipped out-of-gamut Lab.
    np.testing.assert_allclose(rgb_to_lab(np.ones(3)), [100.0, 0.0, 0.0], atol=0.01)
    np.testing.assert_allclose(rgb_to_lab(np.full(3, 0.5)), [53.39, 0.0, 0.0], atol=0.02)
    np.testing.assert_allclose(lab_to_rgb(np.array([50.0, 0.0, 0.0])), [0.4663] * 3, atol=2e-3)
    sat = lab_to_rgb(np.array([[50.0, 120.0, 0.0]]))
    assert sat.min() >= 0.0 and sat.max() <= 1.0


def test_ciede2000_computes_in_float64_whatever_the_input():
    from mesovision.color import delta_e_ciede2000

    rng = np.random.default_rng(4)
    lab1 = np.c_[rng.uniform(20, 80, 50), rng.uniform(-40, 40, (50, 2))]
    lab2 = lab1 + rng.normal(0, 3, lab1.shape)
    exact = delta_e_ciede2000(lab1, lab2)
    f32 = delta_e_ciede2000(lab1.astype(np.float32), lab2.astype(np.float32))
    ref = delta_e_ciede2000(lab1.astype(np.float32).astype(np.float64), lab2.astype(np.float32))
    assert f32.dtype == np.float64
    np.testing.assert_allclose(f32, ref, rtol=1e-12)
    assert np.abs(exact - f32).max() < 1e-4
    # Colours on the axes (a' = 0 with b = +-1, +-2, achromatic) against scikit-image's own
    # implementation of the same formula.
    from skimage.color import deltaE_ciede2000

    axes = np.array([[50, 0, 1], [50, 0, -1], [60, 0, 2], [50, 1, 0], [40, 0, 0], [50, -1, 0]])
    i, j = np.triu_indices(len(axes), 1)
    ours = delta_e_ciede2000(axes[i].astype(float), axes[j].astype(float))
    np.testing.assert_allclose(ours, deltaE_ciede2000(axes[i], axes[j]), rtol=1e-9, atol=1e-12)


# -- boundaries the first tests left open --------------------------------------------------------


def test_capture_sd_of_exactly_one_unit():
    assert capture_sd({"redness.mean_a": 1.0}, "redness.mean_a", 0.0, 0.0) == 1.0


def test_counting_sd_boundaries(tally_family):
    # Shares without pixels at risk: only the flagged ones (10 % of 1000 + 20 % of 2000).
    sd = counting_sd("redness.red_area_pct", 10.0, 20.0, 1000, 2000, None, {}, {})
    assert sd == pytest.approx(100.0 * math.sqrt(500.0) / 1000.0)
    # One pixel in a region is enough for a share.
    assert counting_sd("redness.red_area_pct", 100.0, 100.0, 1, 1, None, {}, {}) == pytest.approx(
        100.0 * math.sqrt(2.0)
    )
    # Half a kilopixel is a positive area.
    sd = counting_sd("tally.per_kpx", 4.0, 4.0, 500, 500, None, {}, {})
    assert sd == pytest.approx(math.sqrt(4.0) / 0.5)
    # A spot count missing from either photo's scores: no term.
    b = {"pigmentation.spot_count": 10.0}
    assert counting_sd("pigmentation.spot_area_px", 3.0, 5.0, 1, 1, None, b, {}) == 0.0
    assert counting_sd("pigmentation.spot_area_px", 3.0, 5.0, 1, 1, None, {}, b) == 0.0


def test_paired_se_pools_centred_parts_of_three_or_more_tiles():
    units = {"redness.mean_a": "a*"}
    diffs = {
        "chin": {"redness.mean_a": np.array([0.0, 1.0, 2.0, 3.0, 4.0])},  # median 2
        "forehead": {"redness.mean_a": np.array([8.0, 10.0, 13.0])},  # median 10, 3 tiles
        "area": {"redness.mean_a": np.array([-50.0, 0.0, 50.0, 100.0])},  # left out
        "nose": {"redness.mean_a": np.array([1.0])},
        "lip": {"redness.mean_a": np.array([1.0])},
    }
    se = paired_se(diffs, {"chin": 5, "forehead": 3, "area": 4, "nose": 4, "lip": 1}, units)
    # Pooled: chin - 2 and forehead - 10 = -2 -1 0 1 2 -2 0 3: MAD 1.5 (chin alone: 1).
    assert se["nose"]["redness.mean_a"] == (pytest.approx(1.5 * MAD_TO_SD / 2), 1)
    assert se["lip"]["redness.mean_a"] == (pytest.approx(1.5 * MAD_TO_SD), 1)
    se = paired_se(diffs, {"chin": 5, "forehead": 3, "area": 4, "nose": 0, "lip": 1}, units)
    assert math.isnan(se["nose"]["redness.mean_a"][0])
    # No part with 3 tiles or more: no pooled spread.
    few = {"nose": {"redness.mean_a": np.array([1.0, 2.0])}}
    assert math.isnan(paired_se(few, {"nose": 4}, units)["nose"]["redness.mean_a"][0])


def test_rgb_to_lab_clips_its_input():
    from mesovision.color import rgb_to_lab

    np.testing.assert_array_equal(
        rgb_to_lab(np.array([1.5, -0.2, 0.5])), rgb_to_lab(np.array([1.0, 0.0, 0.5]))
    )


def test_ciede2000_against_scikit_image_on_random_pairs():
    """Every hue quadrant and hue differences beyond 180 deg (where the formula's branches
    and the rotation term near blue matter)."""
    from skimage.color import deltaE_ciede2000

    from mesovision.color import delta_e_ciede2000

    rng = np.random.default_rng(6)
    n = 4000
    lab1 = np.c_[rng.uniform(0, 100, n), rng.uniform(-80, 80, (n, 2))]
    lab2 = np.c_[rng.uniform(0, 100, n), rng.uniform(-80, 80, (n, 2))]
    near = lab1 + rng.normal(0, 4, lab1.shape)
    for a, b in ((lab1, lab2), (lab1, near)):
        np.testing.assert_allclose(delta_e_ciede2000(a, b), deltaE_ciede2000(a, b), rtol=1e-9)


# -- heatmaps ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def skin():
    """A small skin-coloured photo with a redder, a darker and a purple patch, its maps and a
    mask."""
    from mesovision.metrics import prepare

    rng = np.random.default_rng(7)
    rgb = np.empty((48, 64, 3), np.float32)
    rgb[:] = (0.80, 0.60, 0.50)
    rgb[10:20, 10:30] = (0.85, 0.45, 0.42)  # redder
    rgb[28:40, 36:56] = (0.55, 0.40, 0.33)  # darker
    rgb[30:42, 8:28] = (0.60, 0.45, 0.55)  # bruise-coloured
    rgb += rng.normal(0, 0.01, rgb.shape).astype(np.float32)
    rgb = np.clip(rgb, 0, 1)
    mask = np.zeros(rgb.shape[:2], bool)
    mask[4:44, 6:60] = True
    return rgb, prepare(rgb, roi_mask=mask), mask


@pytest.mark.parametrize("family", ["redness", "pigmentation", "texture", "bruise"])
@pytest.mark.parametrize("alpha", [0.0, 0.3, 1.0])
def test_heatmap_is_the_documented_blend(skin, family, alpha):
    """The overlay recomputed from the module's contract: the family's map (minus the baseline
    median for redness and pigmentation) on its fixed range, matplotlib's colormap, blended with
    opacity ``alpha * sqrt(norm)`` inside the mask where the value is above the range's low end
    (transparent at or below it)."""
    import matplotlib

    from mesovision.metrics.heatmaps import FAMILIES, family_map, heatmap

    rgb, maps, mask = skin
    name, ref, lo, hi, cmap = FAMILIES[family]
    assert (name, ref, lo, hi, cmap) == {
        "redness": ("hb", "haemoglobin_density_median", 0.0, 0.25, "YlOrRd"),
        "pigmentation": ("mel", "melanin_density_median", 0.0, 0.3, "YlOrBr"),
        "texture": ("ridge", None, 0.0, 6.0, "PuBu"),
        "bruise": ("bruise_score", None, 0.0, 2.0, "RdPu"),
    }[family]
    v = maps.full_frame(name).astype(np.float64)
    if ref:
        v = v - getattr(maps.baseline, ref)
    norm = np.clip((v - lo) / (hi - lo), 0, 1)
    np.testing.assert_allclose(family_map(maps, family), norm, atol=1e-6)
    n = np.nan_to_num(norm)
    w = np.where(np.isfinite(norm) & mask & (n > 0), alpha * np.sqrt(n), 0.0)[..., None]
    lut = matplotlib.colormaps[cmap](np.linspace(0, 1, 256))[:, :3]
    colour = lut[np.round(n * 255).astype(int)]
    expected = rgb * (1 - w) + colour * w
    out = heatmap(rgb, maps, family, mask=mask, alpha=alpha)
    assert out.dtype == np.float32 and out.shape == rgb.shape
    assert 0.0 < norm[mask].max() and norm[mask].min() < 0.5  # a range of colours is used
    np.testing.assert_allclose(out, expected, atol=2e-6)
    np.testing.assert_array_equal(out[~mask], rgb[~mask])  # outside the mask: the photo
    flat = mask & (n == 0)
    np.testing.assert_array_equal(out[flat], rgb[flat])  # skin like the baseline: the photo
    assert 0.0 <= out.min() and out.max() <= 1.0


def test_heatmap_arguments(skin):
    from mesovision.errors import UsageError
    from mesovision.metrics.heatmaps import family_map, heatmap

    rgb, maps, mask = skin
    for bad in (-0.01, 1.01):
        with pytest.raises(ValueError, match=f"alpha must be in \\[0, 1\\], got {bad}"):
            heatmap(rgb, maps, "redness", alpha=bad)
    with pytest.raises(UsageError, match="valid: body, bruise, hair, pigmentation, redness, tex"):
        heatmap(rgb, maps, "wrinkles")
    with pytest.raises(UsageError, match="valid: body, bruise, hair, pigmentation, redness, tex"):
        family_map(maps, "wrinkles")
    with pytest.raises(ValueError, match="maps are for a"):
        heatmap(rgb[:40], maps, "redness")
    # Without a mask: everywhere the map is finite. From an RGB image: prepared with the mask.
    whole = heatmap(rgb, maps, "texture", alpha=1.0)
    assert not np.array_equal(whole[~mask], rgb[~mask])
    direct = heatmap(rgb, rgb, "redness", mask=mask, alpha=0.5)
    np.testing.assert_allclose(
        direct, heatmap(rgb, maps, "redness", mask=mask, alpha=0.5), atol=1e-6
    )


# -- the registry --------------------------------------------------------------------------------


def test_metric_spec_as_dict_and_docstring_parsing():
    from mesovision.metrics._registry import _parse_docstring

    spec = get_metric("redness.mean_a")
    d = spec.as_dict()
    assert list(d) == [
        "name",
        "family",
        "unit",
        "direction",
        "kind",
        "maps",
        "min_pixels",
        "needs_scale",
        "tested",
        "display",
        "plain",
        "unit_label",
        "summary",
        "formula",
        "reference",
    ]
    assert d["tested"] is True and get_metric("hair.part_width_mm").as_dict()["tested"] is False
    assert d["name"] == "redness.mean_a" and d["family"] == "redness" and d["unit"] == "a*"
    assert (d["display"], d["unit_label"]) == ("redness", "a* units") and d["plain"]
    assert d["kind"] == "pixel_mean" and d["maps"] == ["a"] and d["min_pixels"] == spec.min_pixels
    assert d["needs_scale"] is False and d["formula"] == spec.formula and d["summary"]
    doc = """First line
    goes on.

    More prose.

    Formula
    -------
    x = 1

    References
    ----------
    Someone (2020).
    """
    assert _parse_docstring(doc) == {
        "summary": "First line goes on.",
        "formula": "x = 1",
        "references": "Someone (2020).",
    }
    assert _parse_docstring(None) == {"summary": ""}


# -- the skin baseline ---------------------------------------------------------------------------


def test_skin_baseline_of_known_reflectances():
    """Medians and MADs of the baseline from pixels of two known colours (3 : 1), against the
    published index formulas computed here: EI = 100 (OD_green - OD_red), MI = 100 OD_red,
    OD = -log10 of the linear reflectance."""
    from mesovision.color import rgb_to_lab, srgb_to_linear
    from mesovision.metrics._maps import (
        HAEMOGLOBIN_OD_VECTOR,
        MELANIN_OD_VECTOR,
        SkinBaseline,
    )

    main, other = np.array([0.8, 0.55, 0.45]), np.array([0.6, 0.5, 0.4])
    rgb = np.empty((8, 8, 3), np.float32)
    rgb[:] = main
    rgb[:2] = other  # a quarter of the pixels
    mask = np.ones((8, 8), bool)
    mask[7, 7] = False
    b = SkinBaseline.from_image(rgb, mask)
    od = -np.log10(srgb_to_linear(main).astype(np.float64))
    assert b.erythema_index_median == pytest.approx(100 * (od[1] - od[0]), abs=1e-3)
    assert b.melanin_index_median == pytest.approx(100 * od[0], abs=1e-3)
    assert b.erythema_index_mad == pytest.approx(0.0, abs=1e-4)  # three quarters alike
    basis = np.array([MELANIN_OD_VECTOR, HAEMOGLOBIN_OD_VECTOR, (1.0, 1.0, 1.0)]).T
    dens = np.linalg.solve(basis, od)
    assert b.melanin_density_median == pytest.approx(dens[0], abs=1e-4)
    assert b.haemoglobin_density_median == pytest.approx(dens[1], abs=1e-4)
    np.testing.assert_allclose(b.lab_median, rgb_to_lab(main), atol=1e-3)
    assert b.n_pixels == 63
    d = b.as_dict()
    assert d["n_pixels"] == 63 and d["melanin_index_median"] == b.melanin_index_median
    assert d["erythema_index_median"] == b.erythema_index_median and len(d) == 9
    assert SkinBaseline.from_image(rgb).n_pixels == 64
    with pytest.raises(ValueError, match="empty mask"):
        SkinBaseline.from_image(rgb, np.zeros((8, 8), bool))


def test_ita_category_at_its_bin_edges():
    """Chardon's bins are open above their lower bound: an edge belongs to the darker bin."""
    from mesovision.metrics.pigmentation import ita_category

    edges = {55.0: "light", 41.0: "intermediate", 28.0: "tan", 10.0: "brown", -30.0: "dark"}
    for ita, name in edges.items():
        assert ita_category(ita) == name, ita
        assert ita_category(np.nextafter(ita, np.inf)) != name, ita
    assert ita_category(-1e6) == "dark" and ita_category(math.inf) is None
