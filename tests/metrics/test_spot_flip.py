"""The spot count's flip variance: candidates that another capture would find or miss.

Known values: a candidate far past every limit of the spot detector adds no variance; one at
a limit (margin 0, the others far) adds ``0.25``; a region's variance is the sum over the
candidates it holds (and a share of one it cuts); the spot area's variance is ``P (1 - P)
F^2`` per candidate; the noise model's counting term of the spot count is the root of the two
photos' variances, not Poisson.
"""

from __future__ import annotations

import numpy as np
import pytest

import mesovision.metrics as M
from mesovision.metrics._spot_flip import (
    SPOT_FLIP_REL_DL,
    candidate_margins,
    candidate_stats,
    detection_probability,
    flip_maps,
)
from mesovision.metrics.pigmentation import SPOT_CORE_DL, SPOT_LIMITS
from mesovision.noise import counting_sd

STATS_KEYS = ("extent_share", "peak_quantile")


def _square(contrast, cand, r0, c0, side, value):
    cand[r0 : r0 + side, c0 : c0 + side] = True
    contrast[r0 : r0 + side, c0 : c0 + side] = value


def _maps(contrast, cand, *, px_per_mm=None):
    var_n, var_a = flip_maps(contrast, cand, **SPOT_LIMITS)
    shape = cand.shape
    return M.ImageMaps(
        shape=shape,
        window=(0, shape[0], 0, shape[1]),
        maps={"spot_flip_n": var_n, "spot_flip_area": var_a},
        baseline=M.SkinBaseline.from_image(np.full((4, 4, 3), 0.6, np.float32)),
        px_per_mm=px_per_mm,
    )


def _variance(name, maps, mask):
    fam = M.FAMILIES["pigmentation"]
    return fam.flip_variance[f"pigmentation.{name}"](maps, mask)


def test_detection_probability_is_the_product_of_the_tests():
    assert detection_probability(np.array([[50.0], [50.0]]))[0] == pytest.approx(1.0)
    assert detection_probability(np.array([[0.0], [50.0]]))[0] == pytest.approx(0.5)
    assert detection_probability(np.array([[0.0], [0.0]]))[0] == pytest.approx(0.25)
    assert detection_probability(np.array([[-50.0], [50.0]]))[0] == pytest.approx(0.0)


def test_a_strong_square_spot_adds_no_variance_and_one_at_the_core_limit_a_quarter():
    contrast = np.zeros((40, 40), np.float32)
    cand = np.zeros((40, 40), bool)
    _square(contrast, cand, 5, 3, 10, 30.0)  # 100 px, 30 L*: far past every limit
    strong = _maps(contrast, cand)
    full = np.ones(cand.shape, bool)
    assert _variance("spot_count", strong, full) == pytest.approx(0.0, abs=1e-6)
    assert _variance("spot_area_px", strong, full) == pytest.approx(0.0, abs=1e-3)

    # A second square of 100 px whose darkness is exactly the core level: P = 1/2 from the core
    # test; its area (100 px of 6-400, half-maximum 100 of at least 8) and elongation (1) are
    # far enough that the others are ~1, so it adds 1/2 x 1/2.
    _square(contrast, cand, 20, 20, 10, SPOT_CORE_DL)
    stats = candidate_stats(contrast, cand, **{k: SPOT_LIMITS[k] for k in STATS_KEYS})
    limits = {k: v for k, v in SPOT_LIMITS.items() if k not in STATS_KEYS}
    margins = candidate_margins(stats, **limits)
    at_core = int(np.argmin(np.abs(stats["peak"] - SPOT_CORE_DL)))
    assert margins[0, at_core] == pytest.approx(0.0)
    p = float(detection_probability(margins[:, at_core]))
    maps = _maps(contrast, cand)
    total = _variance("spot_count", maps, full)
    assert total == pytest.approx(p * (1 - p), rel=1e-5)
    assert total == pytest.approx(0.25, abs=1e-4)
    # the sum over the candidates: each region holds its own; half a candidate, half of it
    left = np.zeros(cand.shape, bool)
    left[:, :15] = True
    assert _variance("spot_count", maps, left) == pytest.approx(0.0, abs=1e-6)
    half = np.zeros(cand.shape, bool)
    half[:25, :] = True  # rows 20-24 of the square at rows 20-29
    assert _variance("spot_count", maps, half) == pytest.approx(total / 2, rel=1e-5)
    # the area: a whole spot of F = 100 px found or missed: P (1 - P) 100^2
    assert _variance("spot_area_px", maps, full) == pytest.approx(total * 100**2, rel=1e-4)
    assert _variance("spot_area_pct", maps, full) == pytest.approx(
        total * 100**2 * (100 / full.sum()) ** 2, rel=1e-4
    )
    assert _variance("spot_area_mm2", maps, full) == 0.0  # no scale
    scaled = _maps(contrast, cand, px_per_mm=2.0)
    assert _variance("spot_area_mm2", scaled, full) == pytest.approx(total * 100**2 / 16, rel=1e-4)


def test_a_faint_candidate_far_below_the_core_adds_nothing_and_one_just_below_adds_some():
    contrast = np.zeros((20, 20), np.float32)
    cand = np.zeros((20, 20), bool)
    _square(contrast, cand, 5, 5, 10, SPOT_CORE_DL / 2)  # 5.6 spreads below the core
    full = np.ones(cand.shape, bool)
    assert _variance("spot_count", _maps(contrast, cand), full) == pytest.approx(0.0, abs=1e-6)
    # one spread below the core (peak - core = -SPOT_FLIP_REL_DL x peak): Phi(-1) = 0.15866
    # found again, variance 0.13349
    contrast[cand] = SPOT_CORE_DL / (1 + SPOT_FLIP_REL_DL)
    v = _variance("spot_count", _maps(contrast, cand), full)
    assert v == pytest.approx(0.15866 * (1 - 0.15866), abs=1e-3)


def test_an_empty_candidate_map_has_zero_maps():
    var_n, var_a = flip_maps(np.zeros((5, 5), np.float32), np.zeros((5, 5), bool), **SPOT_LIMITS)
    assert var_n.shape == (5, 5) and not var_n.any() and not var_a.any()


def test_the_counting_term_of_the_spot_count_is_the_root_of_the_flip_variances():
    # 4 spots before, 8 after: the Poisson term would be sqrt(12); the flip term is the root of
    # the two photos' summed variances (``n_near``), whatever the counts.
    assert counting_sd("pigmentation.spot_count", 4, 8, 1000, 1000, None, {}, {}, 0.25) == 0.5
    assert counting_sd("pigmentation.spot_count", 4, 8, 1000, 1000, None, {}, {}, 0.0) == 0.0
    assert counting_sd("pigmentation.spot_area_px", 40, 80, 1000, 1000, None, {}, {}, 9.0) == 3.0


def test_component_quantile_is_each_labels_lower_quantile():
    """The robust peak that spots and bruises share: per label, numpy's 'lower' quantile of its
    values; a label without values gets ``empty``; the values' dtype is kept."""
    from mesovision.metrics._shapes import component_quantile

    rng = np.random.default_rng(5)
    lab = rng.integers(1, 6, 400)  # labels 1..5; 0 and 6 have no values
    val = rng.normal(size=400).astype(np.float32)
    for q in (0.0, 0.5, 0.9, 1.0):
        got = component_quantile(lab, val, 7, q, empty=np.inf)
        assert got.dtype == np.float32 and got[0] == np.inf and got[6] == np.inf
        want = [np.quantile(val[lab == k], q, method="lower") for k in range(1, 6)]
        np.testing.assert_array_equal(got[1:6], np.asarray(want, np.float32))
    assert component_quantile(lab[:0], val[:0], 3, 0.9).tolist() == [0.0, 0.0, 0.0]
