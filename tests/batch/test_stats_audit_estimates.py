"""The within-arm estimate goes with its test (Hodges-Lehmann pseudo-median and the Walsh-average
interval of the Wilcoxon signed-rank test), small tied samples get exact p-values, and an
interval of equal values is NaN. References: scipy's exact tests and brute-force enumeration."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as ss
from test_stats import result_row

from mesovision import stats
from mesovision.rank_tests import (
    hl_ci,
    mann_whitney,
    mean_ci,
    pseudo_median,
    w_cdf,
    walsh_ci,
    wilcoxon_signed_rank,
)


def results(arms: dict[str, list[float]], *, endpoint: str = "primary") -> pd.DataFrame:
    """A results table of one view x timepoint x region x metric: one baseline change per
    subject of each arm (the columns ``stats`` reads)."""
    rows = []
    for arm, deltas in arms.items():
        for i, d in enumerate(deltas):
            extra = {"endpoint": endpoint, "comparability": "comparable"}
            rows.append(result_row(f"{arm}_{i}", arm, d, timepoint="4", reference="0", **extra))
    return pd.DataFrame(rows)


def test_a_significant_within_arm_change_points_the_way_of_its_estimate_and_interval():
    """The audit's arm: 14 subjects fall by about 1, one rises by 40. The Wilcoxon p is 0.0106;
    the estimate and interval that go with it are the pseudo-median and the Walsh-average
    interval, both below 0 (the mean, 1.73 with a t interval across 0, is kept apart)."""
    d = [-1.0, -1.2, -0.8, -1.1, -0.9, -1.3, -0.7, -1.0, -1.05, -0.95, -1.15, -0.85, -1.25, -0.75]
    d = [*d, 40.0]
    r = stats.compute_stats(results({"b_act": d})).iloc[0]
    # ties, 15 non-zero changes: the normal approximation (tie-corrected)
    assert r["p_value"] == pytest.approx(ss.wilcoxon(d, method="asymptotic").pvalue, rel=1e-9)
    assert r["p_value"] == pytest.approx(0.010578, abs=1e-6) and r["significant_fdr"]
    assert r["estimate_name"] == "hodges-lehmann pseudo-median change"
    assert r["estimate"] == pytest.approx(-0.975)  # the median of the 120 Walsh averages
    assert r["ci_low"] == pytest.approx(-1.1) and r["ci_high"] == pytest.approx(-0.825)
    assert np.sign(r["estimate"]) == np.sign(r["effect_size"]) == -1
    assert r["mean"] == pytest.approx(np.mean(d), rel=1e-9)
    lo, hi = ss.ttest_1samp(d, 0.0).confidence_interval()
    assert (r["mean_ci_low"], r["mean_ci_high"]) == (pytest.approx(lo), pytest.approx(hi))


def test_the_walsh_interval_is_the_set_of_shifts_the_exact_test_does_not_reject():
    """Just inside either end of the interval scipy's exact signed-rank test of ``d - theta``
    gives p > 0.05, just outside p <= 0.05; and the interval excludes 0 exactly when the
    test's p is at most 0.05 (300 samples, n 6..30)."""
    rng = np.random.default_rng(11)
    for n in (6, 8, 12, 20):
        x = rng.normal(0.4, 1.0, n)
        lo, hi = walsh_ci(x)
        walsh = [(x[i] + x[j]) / 2 for i in range(n) for j in range(i, n)]
        assert pseudo_median(x) == pytest.approx(np.median(walsh), rel=1e-12)
        eps = 1e-9 * max(1.0, abs(lo), abs(hi))
        p = [ss.wilcoxon(x - t, method="exact").pvalue for t in (lo - eps, lo + eps, hi - eps,
                                                                   hi + eps)]  # fmt: skip
        assert p[0] <= 0.05 < p[1] and p[3] <= 0.05 < p[2]
    for _ in range(300):
        x = rng.normal(rng.uniform(0, 1.5), 1.0, int(rng.integers(6, 31)))
        lo, hi = walsh_ci(x)
        _, p, _ = wilcoxon_signed_rank(x)
        assert (lo > 0 or hi < 0) == (p <= 0.05)
    # the audit's n = 8 sample: p 0.0547 and an interval across 0 (the t interval was not)
    x = np.array([1.55, -1.05, 2.37, 0.7, 1.48, 0.66, 0.42, 1.26])
    assert wilcoxon_signed_rank(x)[1] == pytest.approx(0.0546875)
    assert walsh_ci(x)[0] < 0 < walsh_ci(x)[1] and mean_ci(x)[0] > 0


def test_signed_rank_distribution_is_exact():
    """``w_cdf`` against enumerating every sign pattern of ranks 1..n."""
    for n in (1, 5, 8, 12):
        signs = np.array(list(itertools.product((0, 1), repeat=n)))
        sums = signs @ np.arange(1, n + 1)
        counts = np.bincount(sums, minlength=n * (n + 1) // 2 + 1)
        assert np.allclose(w_cdf(n), np.cumsum(counts) / 2**n, rtol=0, atol=1e-15)
    assert w_cdf(8)[3] == pytest.approx(5 / 256)  # k = 4 at n = 8: coverage 1 - 10/256


@pytest.mark.parametrize("draw", ["normal", "laplace"])
def test_walsh_interval_covers_the_centre_at_its_exact_level(draw):
    """400 samples of 8 symmetric values: the exact coverage is 1 - 2 x 5/256 = 0.961 (k = 4);
    the observed coverage is within 3 standard errors of it. 5 values give no interval."""
    rng = np.random.default_rng(5)
    hit = 0
    for _ in range(400):
        x = getattr(rng, draw)(2.0, 1.0, 8)
        lo, hi = walsh_ci(x)
        hit += lo <= 2.0 <= hi
    level = 1 - 10 / 256
    assert abs(hit / 400 - level) < 3 * math.sqrt(level * (1 - level) / 400)
    assert all(math.isnan(v) for v in walsh_ci(rng.normal(size=5)))


def test_equal_changes_give_no_interval():
    """Every change 1 (a floored metric, a count): no 95 % interval of zero width, in the
    pseudo-median's, the mean's and the between-arm shift's columns alike."""
    st = stats.compute_stats(results({"a": [1.0] * 7, "b": [1.0] * 7}))
    w = st[st["test"] == "within"]
    assert (w["estimate"] == 1.0).all() and (w["mean"] == 1.0).all()
    for c in ("ci_low", "ci_high", "mean_ci_low", "mean_ci_high"):
        assert w[c].isna().all(), c
    b = st[st["test"] == "between"].iloc[0]
    assert b["estimate"] == 0.0 and math.isnan(b["ci_low"]) and math.isnan(b["ci_high"])
    assert all(math.isnan(v) for v in mean_ci(np.zeros(4)))
    assert all(math.isnan(v) for v in hl_ci(np.zeros(9), np.zeros(9)))


def _mw_enumerated(a, b) -> float:
    """Two-sided permutation p of the Mann-Whitney U over every split of the pooled values:
    twice the smaller tail, at most 1."""
    both = np.concatenate([a, b])
    u = lambda x, y: (np.sign(np.subtract.outer(y, x)) + 1).sum() / 2  # noqa: E731
    obs = u(a, b)
    null = []
    for idx in itertools.combinations(range(both.size), len(a)):
        mask = np.zeros(both.size, bool)
        mask[list(idx)] = True
        null.append(u(both[mask], both[~mask]))
    null = np.array(null)
    return min(1.0, 2 * min(np.mean(null >= obs - 1e-9), np.mean(null <= obs + 1e-9)))


def _sr_enumerated(d) -> float:
    """Two-sided permutation p of the signed-rank statistic over every sign flip: twice the
    smaller tail, at most 1."""
    d = np.asarray(d, float)
    d = d[d != 0]
    r = ss.rankdata(np.abs(d))
    obs = r[d > 0].sum()
    null = np.array([r[np.array(f)].sum() for f in itertools.product((False, True), repeat=d.size)])
    return min(1.0, 2 * min(np.mean(null >= obs - 1e-9), np.mean(null <= obs + 1e-9)))


def test_small_tied_samples_get_exact_p_values():
    """Three zeros against three ones: the smallest p two arms of 3 allow is 2 / C(6, 3) =
    0.1 (the normal approximation said 0.047); 3 against 4 ones: 2 / 35. Tied changes
    within an arm and between arms match enumerating every split or sign flip."""
    assert mann_whitney(np.zeros(3), np.ones(3))[1] == pytest.approx(0.1)
    assert mann_whitney(np.zeros(3), np.ones(4))[1] == pytest.approx(2 / 35)
    st = stats.compute_stats(results({"a_ctrl": [0, 0, 0], "b_act": [1, 1, 1]}))
    assert st.loc[st["test"] == "between", "p_value"].iloc[0] == pytest.approx(0.1)
    rng = np.random.default_rng(2)
    for _ in range(6):
        a = rng.integers(0, 3, int(rng.integers(3, 6))).astype(float)
        b = rng.integers(0, 4, int(rng.integers(3, 7))).astype(float)
        if len(set(a) | set(b)) > 1:
            assert mann_whitney(a, b)[1] == pytest.approx(_mw_enumerated(a, b), rel=1e-9)
        d = rng.integers(-2, 4, 11).astype(float)
        assert wilcoxon_signed_rank(d)[1] == pytest.approx(_sr_enumerated(d), rel=1e-9)
    # the same table gives the same p-values (every split enumerated: nothing random)
    a, b = rng.integers(0, 3, 7).astype(float), rng.integers(0, 3, 8).astype(float)
    assert mann_whitney(a, b) == mann_whitney(a, b)
