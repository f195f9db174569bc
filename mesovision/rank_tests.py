"""The tests and intervals of :mod:`mesovision.stats`, each on plain arrays: the mean change's
Student t interval, the Wilcoxon signed-rank and Mann-Whitney tests with their rank-biserial
effect sizes, the Hodges-Lehmann shift and its distribution-free interval (from the exact null
distribution of the Mann-Whitney U), and the Benjamini-Hochberg adjusted p-values."""

from __future__ import annotations

import functools
import math

import numpy as np

__all__ = [
    "HL_EXACT_MAX_N",
    "benjamini_hochberg",
    "hl_ci",
    "hodges_lehmann",
    "mann_whitney",
    "mean_ci",
    "u_cdf",
    "wilcoxon_signed_rank",
]


def mean_ci(x: np.ndarray, *, level: float = 0.95) -> tuple[float, float]:
    """Student t interval of the mean of ``x``: ``mean +- t((1 + level) / 2, n - 1) SD /
    sqrt(n)``. NaN for fewer than 2 values or any value that is not finite."""
    from scipy.stats import t

    x = np.asarray(x, np.float64)
    if x.size < 2 or not np.isfinite(x).all():
        return math.nan, math.nan
    half = float(t.ppf((1 + level) / 2, x.size - 1)) * float(x.std(ddof=1)) / math.sqrt(x.size)
    m = float(x.mean())
    return m - half, m + half


def hodges_lehmann(a: np.ndarray, b: np.ndarray) -> float:
    """Hodges-Lehmann shift of ``b`` over ``a``: the median of all ``b[j] - a[i]``."""
    return float(np.median(np.subtract.outer(np.asarray(b), np.asarray(a))))


#: Up to this many values in each sample :func:`hl_ci` uses the exact null distribution of the
#: Mann-Whitney U; beyond, its normal approximation (both arms over 50: within one order
#: statistic of the exact one).
HL_EXACT_MAX_N = 50


@functools.cache  # every group of a table with the same arm sizes reads the same distribution
def u_cdf(n_a: int, n_b: int) -> np.ndarray:
    """``P(U <= u)`` for ``u = 0 .. n_a n_b`` under the null hypothesis (no ties): the exact
    distribution of the Mann-Whitney U of samples of ``n_a`` and ``n_b`` values, from the
    counts of the orderings with each ``U`` (``c(i, j) = c(i - 1, j)`` shifted by ``j``
    ``+ c(i, j - 1)``)."""
    size = n_a * n_b + 1
    rows = [np.zeros(size) for _ in range(n_b + 1)]  # c(i, j) for the current i, j = 0..n_b
    for j in range(n_b + 1):
        rows[j][0] = 1.0  # c(0, j): one ordering, U = 0
    for _ in range(n_a):
        rows[0] = rows[0].copy()  # c(i, 0) = 1 at U = 0
        for j in range(1, n_b + 1):
            shifted = np.zeros(size)
            shifted[j:] = rows[j][: size - j]  # c(i - 1, j) shifted by j
            rows[j] = shifted + rows[j - 1]
    counts = rows[n_b]
    cdf = np.cumsum(counts) / counts.sum()
    cdf.flags.writeable = False  # shared by the cache
    return cdf


def hl_ci(a: np.ndarray, b: np.ndarray, *, level: float = 0.95) -> tuple[float, float]:
    """Distribution-free interval of the Hodges-Lehmann shift of ``b`` over ``a`` (Moses;
    Hollander & Wolfe, *Nonparametric Statistical Methods*, 4.3): the ``k``-th smallest and
    ``k``-th largest of the ``n_a n_b`` differences ``b[j] - a[i]``, with ``k - 1`` the largest
    ``u`` for which ``P(U <= u) <= (1 - level) / 2`` (:func:`u_cdf`; its normal approximation
    when a sample has more than :data:`HL_EXACT_MAX_N` values). Its coverage is at least
    ``level`` for continuous changes. NaN when no such ``u`` exists (too few values for any
    interval at that level: 3 and 3, 2 and 5) or a value is not finite."""
    from scipy.stats import norm

    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.size == 0 or b.size == 0 or not (np.isfinite(a).all() and np.isfinite(b).all()):
        return math.nan, math.nan
    n = a.size * b.size
    tail = (1 - level) / 2
    if max(a.size, b.size) <= HL_EXACT_MAX_N:
        below = np.flatnonzero(u_cdf(a.size, b.size) <= tail + 1e-12)
        k = int(below[-1]) + 1 if below.size else 0
    else:
        sd = math.sqrt(n * (a.size + b.size + 1) / 12.0)
        k = math.floor(n / 2 - float(norm.isf(tail)) * sd)  # (Hollander & Wolfe, 4.3)
    if k < 1:
        return math.nan, math.nan
    d = np.subtract.outer(b, a).ravel()
    lo, hi = np.partition(d, (k - 1, n - k))[[k - 1, n - k]]
    return float(lo), float(hi)


def wilcoxon_signed_rank(d: np.ndarray) -> tuple[float, float, float]:
    """``(statistic, p, rank_biserial)`` of the two-sided Wilcoxon signed-rank test of ``d``
    against 0 (zeros dropped). All-zero changes give ``(0, 1, 0)``; no value gives NaNs."""
    from scipy import stats as ss

    d = np.asarray(d, np.float64)
    nz = d[d != 0]
    if d.size == 0:
        return math.nan, math.nan, math.nan
    if nz.size == 0:
        return 0.0, 1.0, 0.0
    ranks = ss.rankdata(np.abs(nz))
    r_plus, r_minus = float(ranks[nz > 0].sum()), float(ranks[nz < 0].sum())
    rb = (r_plus - r_minus) / (r_plus + r_minus)
    res = ss.wilcoxon(nz, zero_method="wilcox", alternative="two-sided")
    return float(res.statistic), float(res.pvalue), rb


def mann_whitney(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """``(U_b, p, rank_biserial)``: two-sided Mann-Whitney U test; ``U_b`` counts the pairs
    where ``b`` is larger (ties half); ``r = 2 U_b / (n_a n_b) - 1``. All values equal give
    ``(n_a n_b / 2, 1, 0)``, as all-zero changes give ``p = 1`` in
    :func:`wilcoxon_signed_rank`; an empty sample gives NaNs."""
    from scipy import stats as ss

    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.size == 0 or b.size == 0:
        return math.nan, math.nan, math.nan
    both = np.concatenate([a, b])
    if (both == both[0]).all():
        return a.size * b.size / 2.0, 1.0, 0.0
    res = ss.mannwhitneyu(b, a, alternative="two-sided")
    u_b = float(res.statistic)
    return u_b, float(res.pvalue), 2.0 * u_b / (a.size * b.size) - 1.0


def benjamini_hochberg(p) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (``q``); NaN stays NaN and does not count in ``m``.
    ``ValueError`` for a p-value outside [0, 1] (infinite ones too)."""
    p = np.asarray(p, np.float64)
    bad = ~np.isnan(p) & ~((p >= 0.0) & (p <= 1.0))
    if bad.any():
        raise ValueError(f"p-values must lie in [0, 1] or be NaN, got {p[bad][0]!r}")
    q = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    m = int(ok.sum())
    if m == 0:
        return q
    pv = p[ok]
    order = np.argsort(pv, kind="stable")
    ranked = pv[order] * m / np.arange(1, m + 1)
    adj = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(adj, 1.0)
    q[ok] = out
    return q
