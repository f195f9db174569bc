"""The tests and intervals of :mod:`mesovision.stats`, each on plain arrays: the mean change's
Student t interval, the Wilcoxon signed-rank and Mann-Whitney tests with their rank-biserial
effect sizes, the one-sample Hodges-Lehmann pseudo-median and its Walsh-average (Tukey)
interval (from the exact null distribution of the signed-rank statistic), the two-sample
Hodges-Lehmann shift and its distribution-free interval (from the exact null distribution of
the Mann-Whitney U), and the Benjamini-Hochberg adjusted p-values.

The tests' p-values are computed by a rule fixed here, not by the installed scipy's ``auto``
choice (:func:`wilcoxon_signed_rank`, :func:`mann_whitney`): exact without ties, an exact
permutation p (every sign flip or every split enumerated; nothing random) for small samples
with ties, the normal approximation only beyond. An interval of zero width (every value equal)
is NaN: no sample of equal values gives a 95 % interval of positive width."""

from __future__ import annotations

import functools
import math

import numpy as np

__all__ = [
    "HL_EXACT_MAX_N",
    "MW_PERMUTATION_MAX",
    "SR_PERMUTATION_MAX_N",
    "benjamini_hochberg",
    "hl_ci",
    "hodges_lehmann",
    "mann_whitney",
    "mean_ci",
    "one_sample",
    "pseudo_median",
    "u_cdf",
    "walsh_ci",
    "w_cdf",
    "wilcoxon_signed_rank",
]


def mean_ci(x: np.ndarray, *, level: float = 0.95) -> tuple[float, float]:
    """Student t interval of the mean of ``x``: ``mean +- t((1 + level) / 2, n - 1) SD /
    sqrt(n)``. NaN for fewer than 2 values, any value that is not finite, or every value
    equal (SD 0: a zero-width interval)."""
    from scipy.stats import t

    x = np.asarray(x, np.float64)
    if x.size < 2 or not np.isfinite(x).all() or (x == x[0]).all():
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
    interval at that level: 3 and 3, 2 and 5), a value is not finite, or the interval has zero
    width (every difference equal)."""
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
    return (float(lo), float(hi)) if lo < hi else (math.nan, math.nan)


def _walsh(x: np.ndarray) -> np.ndarray:
    """The ``n (n + 1) / 2`` Walsh averages ``(x[i] + x[j]) / 2``, ``i <= j``."""
    i, j = np.triu_indices(x.size)
    return (x[i] + x[j]) / 2.0


def pseudo_median(x: np.ndarray) -> float:
    """Hodges-Lehmann one-sample estimate (pseudo-median) of ``x``: the median of its Walsh
    averages ``(x[i] + x[j]) / 2``, ``i <= j``; the estimate that goes with the Wilcoxon
    signed-rank test (Hollander & Wolfe, 3.2). NaN for no value."""
    x = np.asarray(x, np.float64)
    return float(np.median(_walsh(x))) if x.size else math.nan


@functools.cache  # every group of a table with the same size reads the same distribution
def w_cdf(n: int) -> np.ndarray:
    """``P(W+ <= w)`` for ``w = 0 .. n (n + 1) / 2`` under the null hypothesis (no ties): the
    exact distribution of the Wilcoxon signed-rank statistic of ``n`` values, from the counts of
    the sign patterns with each sum of positive ranks (the product of ``1 + x^i``, ``i = 1..n``)."""
    counts = np.zeros(n * (n + 1) // 2 + 1)
    counts[0] = 1.0
    for i in range(1, n + 1):
        counts[i:] = counts[i:] + counts[:-i].copy()
    cdf = np.cumsum(counts) / counts.sum()
    cdf.flags.writeable = False  # shared by the cache
    return cdf


def walsh_ci(x: np.ndarray, *, level: float = 0.95) -> tuple[float, float]:
    """Distribution-free interval of the pseudo-median of ``x`` (Tukey; Hollander & Wolfe, 3.3):
    the ``k``-th smallest and ``k``-th largest of the ``M = n (n + 1) / 2`` Walsh averages,
    with ``k - 1`` the largest ``w`` for which ``P(W+ <= w) <= (1 - level) / 2``
    (:func:`w_cdf`; its normal approximation over :data:`HL_EXACT_MAX_N` values). It is the
    set of shifts ``theta`` that the exact two-sided signed-rank test of ``x - theta`` does not
    reject at ``1 - level``; coverage at least ``level`` for continuous values symmetric about
    their centre. NaN when no such ``w`` exists (5 values or fewer at 95 %), a value is not
    finite, or the interval has zero width (every value equal)."""
    from scipy.stats import norm

    x = np.asarray(x, np.float64)
    n = x.size
    if n == 0 or not np.isfinite(x).all():
        return math.nan, math.nan
    m = n * (n + 1) // 2
    tail = (1 - level) / 2
    if n <= HL_EXACT_MAX_N:
        below = np.flatnonzero(w_cdf(n) <= tail + 1e-12)
        k = int(below[-1]) + 1 if below.size else 0
    else:
        sd = math.sqrt(n * (n + 1) * (2 * n + 1) / 24.0)
        k = math.floor(m / 2 - float(norm.isf(tail)) * sd)  # (Hollander & Wolfe, 3.3)
    if k < 1:
        return math.nan, math.nan
    lo, hi = np.partition(_walsh(x), (k - 1, m - k))[[k - 1, m - k]]
    return (float(lo), float(hi)) if lo < hi else (math.nan, math.nan)


#: Up to this many non-zero values with ties, :func:`wilcoxon_signed_rank` enumerates every
#: sign flip (``2^n``, 8192 at 13) for an exact p; beyond, the normal approximation.
SR_PERMUTATION_MAX_N = 13
#: Up to this many splits ``C(n_a + n_b, n_a)`` of samples with ties, :func:`mann_whitney`
#: enumerates every split for an exact p (3 and 12: 455; 7 and 8: 6435); beyond, the normal
#: approximation.
MW_PERMUTATION_MAX = 20_000


def _has_ties(x: np.ndarray) -> bool:
    return np.unique(x).size < x.size


def wilcoxon_signed_rank(d: np.ndarray) -> tuple[float, float, float]:
    """``(statistic, p, rank_biserial)`` of the two-sided Wilcoxon signed-rank test of ``d``
    against 0 (zeros dropped). All-zero changes give ``(0, 1, 0)``; no value gives NaNs.

    The p-value: exact (the signed-rank null distribution) for up to 50 non-zero changes
    without ties in ``|d|``; with ties, exact by enumerating every sign flip of the changes
    (:data:`SR_PERMUTATION_MAX_N` or fewer); otherwise the normal approximation (with the tie
    correction, no continuity correction)."""
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
    if _has_ties(np.abs(nz)) and nz.size <= SR_PERMUTATION_MAX_N:
        signs = (np.arange(2**nz.size)[:, None] >> np.arange(nz.size)) & 1  # every sign flip
        null = signs @ ranks
        tol = 1e-9 * max(1.0, r_plus)
        tail = min(float(np.mean(null <= r_plus + tol)), float(np.mean(null >= r_plus - tol)))
        return min(r_plus, r_minus), min(1.0, 2.0 * tail), rb
    method = "exact" if not _has_ties(np.abs(nz)) and nz.size <= 50 else "asymptotic"
    res = ss.wilcoxon(nz, zero_method="wilcox", alternative="two-sided", method=method)
    return float(res.statistic), float(res.pvalue), rb


def _mw_enumerated(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """``(U_b, p)``: the two-sided p of the Mann-Whitney U over every split of the pooled
    values into samples of ``a``'s and ``b``'s sizes (twice the smaller tail, at most 1;
    midranks for ties)."""
    from itertools import combinations

    from scipy.stats import rankdata

    ranks = rankdata(np.concatenate([b, a]))
    nb = b.size
    u_b = float(ranks[:nb].sum()) - nb * (nb + 1) / 2.0
    idx = np.array(list(combinations(range(ranks.size), nb)), dtype=np.intp)
    null = ranks[idx].sum(axis=1) - nb * (nb + 1) / 2.0
    tol = 1e-9 * max(1.0, abs(u_b))
    tail = min(float(np.mean(null <= u_b + tol)), float(np.mean(null >= u_b - tol)))
    return u_b, min(1.0, 2.0 * tail)


def mann_whitney(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """``(U_b, p, rank_biserial)``: two-sided Mann-Whitney U test; ``U_b`` counts the pairs
    where ``b`` is larger (ties half); ``r = 2 U_b / (n_a n_b) - 1``. All values equal give
    ``(n_a n_b / 2, 1, 0)``, as all-zero changes give ``p = 1`` in
    :func:`wilcoxon_signed_rank`; an empty sample gives NaNs.

    The p-value: exact (the U null distribution) without ties when an arm has 8 values or
    fewer; with ties, exact by enumerating every split of the pooled values into the two arms
    when there are :data:`MW_PERMUTATION_MAX` or fewer; otherwise the normal approximation
    (tie and continuity corrections)."""
    from scipy import stats as ss

    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.size == 0 or b.size == 0:
        return math.nan, math.nan, math.nan
    both = np.concatenate([a, b])
    if (both == both[0]).all():
        return a.size * b.size / 2.0, 1.0, 0.0
    if _has_ties(both) and math.comb(both.size, a.size) <= MW_PERMUTATION_MAX:
        u_b, p = _mw_enumerated(a, b)
        return u_b, p, 2.0 * u_b / (a.size * b.size) - 1.0
    if not _has_ties(both) and min(a.size, b.size) <= 8:
        method = "exact"
    else:
        method = "asymptotic"
    res = ss.mannwhitneyu(b, a, alternative="two-sided", method=method)
    u_b = float(res.statistic)
    return u_b, float(res.pvalue), 2.0 * u_b / (a.size * b.size) - 1.0


def one_sample(d: np.ndarray) -> dict:
    """The one-sample summary of the changes ``d`` (a row of :mod:`mesovision.stats`): ``n``,
    ``n_nonzero``, the pseudo-median ``estimate`` with its Walsh interval ``ci_low``/``ci_high``,
    the Wilcoxon ``statistic``, ``p_value`` and rank-biserial ``effect_size``, ``cohens_dz``,
    and the ``mean`` with its t interval ``mean_ci_low``/``mean_ci_high``."""
    lo, hi = walsh_ci(d)
    mlo, mhi = mean_ci(d)
    stat, p, rb = wilcoxon_signed_rank(d)
    sd = float(d.std(ddof=1)) if d.size > 1 else math.nan
    return {
        "n": d.size,
        "n_nonzero": int(np.count_nonzero(d)),
        "estimate": pseudo_median(d),
        "ci_low": lo,
        "ci_high": hi,
        "statistic": stat,
        "p_value": p,
        "effect_size": rb,
        "effect_size_name": "matched-pairs rank-biserial",
        "cohens_dz": float(d.mean()) / sd if sd and math.isfinite(sd) else math.nan,
        "mean": float(d.mean()),
        "mean_ci_low": mlo,
        "mean_ci_high": mhi,
    }


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
