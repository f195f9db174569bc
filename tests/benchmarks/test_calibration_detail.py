"""``benchmarks/_detail.py``: the detail term's factor, fitted by maximum likelihood on null
changes whose spread grows with the pair's focus mismatch."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from conftest import REPO

sys.path.insert(0, str(REPO / "benchmarks"))

from _detail import MIN_GAIN, fit_detail  # noqa: E402

from mesovision.noise import detail_sd  # noqa: E402

METRIC = "texture.roughness_ra"


def _rows(kappa: float, n: int = 800, seed: int = 0) -> dict[str, np.ndarray]:
    """Null changes of one texture metric: measured terms of 0.02, a value of 2 and a detail
    ratio spread over 0.8-1.25; ``delta ~ N(0, 0.02^2 + (kappa |ln r| 2)^2)``."""
    rng = np.random.default_rng(seed)
    r = np.exp(rng.uniform(-0.22, 0.22, n))
    sd = np.sqrt(0.02**2 + (kappa * np.abs(np.log(r)) * 2.0) ** 2)
    return {
        "metric": np.full(n, METRIC),
        "before": np.full(n, 2.0),
        "after": np.full(n, 2.0),
        "delta": rng.normal(0.0, sd),
        "detail_ratio": r,
        "se_paired": np.full(n, 0.02),
        "sd_registration": np.zeros(n),
        "sd_recapture": np.zeros(n),
        "sd_counting": np.zeros(n),
        "sd_field": np.zeros(n),
        "field": np.ones(n, bool),
    }


def test_the_factor_the_changes_were_drawn_with_is_found():
    t = _rows(0.4)
    fitted = fit_detail(t, np.ones(len(t["delta"]), bool))
    assert fitted[METRIC] == pytest.approx(0.4, rel=0.2)


def test_changes_that_do_not_follow_the_mismatch_get_no_factor():
    t = _rows(0.0, seed=1)
    assert fit_detail(t, np.ones(len(t["delta"]), bool)) == {}
    assert MIN_GAIN > 1.92  # above half the 95 % point of chi-square(1)


def test_other_families_are_not_fitted():
    t = _rows(0.4, seed=2)
    t["metric"] = np.full(len(t["delta"]), "redness.mean_a")
    assert fit_detail(t, np.ones(len(t["delta"]), bool)) == {}


def test_the_term_is_the_factor_times_the_log_ratio_and_the_larger_value():
    table = {METRIC: 0.5}
    assert detail_sd(table, METRIC, 2.0, -3.0, 1.25) == pytest.approx(0.5 * np.log(1.25) * 3.0)
    # a ratio and its inverse are the same mismatch
    assert detail_sd(table, METRIC, 2.0, 3.0, 0.8) == pytest.approx(
        detail_sd(table, METRIC, 2.0, 3.0, 1.25)
    )
    for r in (1.0, None, float("nan"), 0.0, -1.0, float("inf")):
        assert detail_sd(table, METRIC, 2.0, 3.0, r) == 0.0, r
    assert detail_sd(table, "redness.mean_a", 2.0, 3.0, 1.25) == 0.0
    assert detail_sd(table, METRIC, float("nan"), 3.0, 1.25) == 0.0
