"""Known values for the functions whose mutants survived the fast tests (``docs/testing.md``).

mutmut over ``mesovision/noise.py`` with the fast tests found the noise terms that only the slow
end-to-end comparisons (``tests/test_compare.py``) reach: the quadrature sum, the capture term,
the z-score, the counting noise, the paired-tile standard error, the at-risk pixels and the
r.m.s. change. Each is checked here on inputs small enough to compute by hand, two-sided.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from mesovision import noise
from mesovision.metrics import get_metric
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
    terms = [3.0, 4.0, 12.0, 84.0, 132.0, 720.0, 1.0]
    for i, t in enumerate(terms):
        one = [0.0] * 7
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
    )
    assert t.total() == pytest.approx(math.sqrt(1 + 4 + 16 + 100 + 400 + 1600 + 6400))
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


def test_z_score_values_and_untested_cells():
    z = z_score([2.0, -3.0, 1.0, 1.0, math.nan, 1.0, 0.0], [0.5, 1.5, 0.0, -1.0, 1.0, math.inf, 2])
    np.testing.assert_array_equal(np.isnan(z), [False, False, True, True, True, True, False])
    np.testing.assert_allclose(z[[0, 1, 6]], [4.0, -2.0, 0.0])
    assert float(z_score(1.0, 4.0)) == 0.25


# -- counting noise ------------------------------------------------------------------------------


def test_counting_sd_counts():
    assert counting_sd("pigmentation.spot_count", 7.0, 9.0, 100, 100, None, {}, {}) == 4.0
    # At least one count: sqrt(max(1, before + after)).
    assert counting_sd("pigmentation.spot_count", 0.0, 0.0, 100, 100, None, {}, {}) == 1.0
    assert counting_sd("pigmentation.spot_count", 0.25, 0.25, 100, 100, None, {}, {}) == 1.0
    assert counting_sd("pigmentation.spot_count", math.nan, 9.0, 100, 100, None, {}, {}) == 0.0
    assert counting_sd("pigmentation.spot_count", 9.0, math.inf, 100, 100, None, {}, {}) == 0.0


def test_counting_sd_densities():
    # 2 and 3 per 1000 px^2 over 4000 and 6000 px: 8 + 18 = 26 counted, mean area 5 kpx.
    sd = counting_sd("texture.pore_density_per_kpx", 2.0, 3.0, 4000, 6000, None, {}, {})
    assert sd == pytest.approx(math.sqrt(26.0) / 5.0)
    # Fewer than one counted: one.
    sd = counting_sd("texture.pore_density_per_kpx", 0.0, 0.1, 4000, 6000, None, {}, {})
    assert sd == pytest.approx(1.0 / 5.0)
    # Per cm^2 at 20 px/mm: 40000 px = 100 mm^2 = 1 cm^2; 60000 px = 1.5 cm^2.
    sd = counting_sd("texture.pore_density_per_cm2", 10.0, 20.0, 40000, 60000, 20.0, {}, {})
    assert sd == pytest.approx(math.sqrt(10.0 + 30.0) / 1.25)
    # Without a scale the areas are unknown: no counting term (the density is NaN anyway).
    assert counting_sd("texture.pore_density_per_cm2", 1.0, 2.0, 40000, 60000, None, {}, {}) == 0
    assert counting_sd("texture.pore_density_per_kpx", 2.0, 3.0, 0, 6000, None, {}, {}) == 0.0
    assert counting_sd("texture.pore_density_per_kpx", 2.0, 3.0, 4000, 0, None, {}, {}) == 0.0


def test_counting_sd_spot_areas_and_shares():
    b, a = {"pigmentation.spot_count": 10.0}, {"pigmentation.spot_count": 6.0}
    sd = counting_sd("pigmentation.spot_area_px", 30.0, 50.0, 1000, 1000, None, b, a)
    assert sd == pytest.approx(80.0 / 4.0)
    sd = counting_sd("pigmentation.spot_area_pct", 1.0, 2.0, 1000, 1000, None, b, a)
    assert sd == pytest.approx(3.0 / 4.0)  # the spot areas go before the shares
    few = {"pigmentation.spot_count": 0.0}
    sd = counting_sd("pigmentation.spot_area_mm2", 3.0, 5.0, 1000, 1000, 10.0, few, few)
    assert sd == pytest.approx(8.0)
    assert counting_sd("pigmentation.spot_area_px", 3.0, 5.0, 1, 1, None, {}, a) == 0.0
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


# -- at-risk pixels and the r.m.s. change --------------------------------------------------------


def _maps():
    near = np.zeros((4, 6), bool)
    near[1:3, 2:5] = True  # 6 pixels at risk
    return SimpleNamespace(window=(10, 14, 20, 26), maps={"red_near": near})


def test_near_threshold_px_counts_the_window_of_the_mask():
    mask = np.zeros((30, 40), bool)
    mask[10:14, 20:26] = True
    spec = get_metric("redness.red_area_pct")
    assert near_threshold_px(_maps(), mask, spec) == 6
    mask[11, 22] = False
    assert near_threshold_px(_maps(), mask, spec) == 5
    assert near_threshold_px(_maps(), mask, get_metric("redness.mean_a")) == 0  # not a share
    assert near_threshold_px(_maps(), mask, get_metric("bruise.area_pct")) == 0  # no near map
    spotless = SimpleNamespace(window=(10, 14, 20, 26), maps={})
    assert near_threshold_px(spotless, mask, get_metric("pigmentation.spot_area_pct")) == 0


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
    # Exactly MIN_FIELD_REGIONS (4) untreated parts: those alone (MAD of 0..3 is 1).
    deltas = {"a": 0.0, "b": 1.0, "c": 2.0, "d": 3.0, "t": 50.0, "u": -70.0}
    assert noise.MIN_FIELD_REGIONS == 4
    assert noise.field_sd(deltas, ("t", "u")) == pytest.approx(MAD_TO_SD)
    # Fewer untreated parts: all parts (MAD of the six is 1.5); fewer than 4 finite: NaN.
    assert noise.field_sd(deltas, ("t", "u", "a")) == pytest.approx(1.5 * MAD_TO_SD)
    assert math.isnan(noise.field_sd({"a": 1.0, "b": 2.0, "c": 3.0, "d": math.nan}))


def test_field_terms_absolute_metric_skips_the_treated_parts():
    before = dict.fromkeys(("a", "b", "c", "d", "t", "u"), 0.0)
    after = {"a": 0.0, "b": 1.0, "c": 2.0, "d": 3.0, "t": 50.0, "u": -70.0}
    out = noise.field_terms("redness.mean_a", before, after, ("t", "u"))
    assert out == dict.fromkeys(before, pytest.approx(MAD_TO_SD))
    out = noise.field_terms("redness.mean_a", before, after)  # nothing treated: all six
    assert out == dict.fromkeys(before, pytest.approx(1.5 * MAD_TO_SD))
    out = noise.field_terms("pigmentation.spot_count", before, after)
    assert out == dict.fromkeys(before, 0.0)  # counts and areas: none
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
