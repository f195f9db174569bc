"""Statistics on a batch's tidy results: changes per arm and between arms, with CIs, tests and FDR.

Input is the long table ``mesovision batch`` writes (``results.parquet``; one row per comparison x
region x metric, see :mod:`mesovision.batch`). Every group below is one view x region x metric, so
that a subject counts once per test (views are not pooled).

**Within an arm** (``test = "within"``), per arm x view x timepoint x region x metric, on the
changes from baseline (``comparison == "baseline"``, ``delta = after - before``, one per subject;
a change whose family the pair's verdicts declare ``not_comparable`` is left out, as the
comparison left it untested):

* ``n``, ``estimate`` = mean change, ``ci_low``/``ci_high`` = its Student t 95 % interval
  (``mean +- t(0.975, n - 1) SD / sqrt(n)``, :func:`mean_ci`: exact under normally distributed
  changes at any ``n``, which a percentile bootstrap is not: at ``n`` = 3 it covers the mean
  about 75 % of the time, at 10 about 90 %);
* ``p_value``: Wilcoxon signed-rank test of the changes against 0 (the paired test of after vs
  baseline; two-sided; zero changes dropped, ``scipy.stats.wilcoxon``, exact for small ``n``
  without ties);
* ``effect_size``: matched-pairs rank-biserial correlation ``r = (R+ - R-) / (R+ + R-)``, with
  ``R+``/``R-`` the sums of the signed ranks of the positive/negative changes (Kerby 2014; -1..1);
  ``cohens_dz`` = mean change / SD of the changes is given too.

**Between arms** (``test = "between"``), for each pair of arms ``a < b`` (alphabetical), per view x
timepoint x region x metric, on the same changes:

* ``estimate`` = Hodges-Lehmann shift ``median(d_b[j] - d_a[i])`` over all pairs (``b`` minus
  ``a``), with its distribution-free 95 % interval (:func:`hl_ci`, Moses: the order statistics
  of the pairwise differences that the Mann-Whitney test's null distribution sets; at least
  95 % whatever the distribution of the changes, when they are continuous; NaN when the arms
  are too small for any 95 % interval, as they are for a Mann-Whitney p under 0.05: 3 and 3);
* ``p_value``: Mann-Whitney U test (two-sided, ``scipy.stats.mannwhitneyu``);
* ``effect_size``: rank-biserial ``r = 2 U_b / (n_a n_b) - 1`` (``U_b`` counts the pairs where
  ``b``'s change is larger, ties half; positive when ``b`` changes more).

The intervals are computed, not resampled: a table is the same on every run and machine.

**Multiple comparisons**: Benjamini-Hochberg false discovery rate (``p_fdr``), over two families:
all within-arm tests of the table, and all between-arm tests of the table.
``significant_fdr = p_fdr < alpha`` (0.05).

**Measurement error** from same-day repeats (ICC, SEM, SDC) and the SDC as a noise floor are in
:mod:`mesovision.repeatability`; the trajectory plots in :mod:`mesovision.trajectories`.
"""

from __future__ import annotations

import functools
import logging
import math
import os
from pathlib import Path

import numpy as np

from .repeatability import ME_COLUMNS, Z95, apply_sdc, icc_agreement, measurement_error
from .tables import (
    SCHEMAS,
    claim_outputs,
    conform,
    drop_stale_outputs,
    round_sig,
    write_table,
)
from .trajectories import check_metric_globs, plot_trajectories, select_metrics, trajectory_names

__all__ = [
    "ALPHA",
    "GROUP",
    "ME_COLUMNS",
    "STATS_COLUMNS",
    "Z95",
    "apply_sdc",
    "benjamini_hochberg",
    "between_arms",
    "compute_stats",
    "HL_EXACT_MAX_N",
    "hl_ci",
    "hodges_lehmann",
    "icc_agreement",
    "load_results",
    "mann_whitney",
    "mean_ci",
    "measurement_error",
    "plot_trajectories",
    "run_stats",
    "select_metrics",
    "timepoint_labels",
    "trajectory_names",
    "u_cdf",
    "wilcoxon_signed_rank",
    "within_arm",
]

log = logging.getLogger(__name__)

ALPHA = 0.05
GROUP = ["view", "timepoint_rank", "timepoint", "region", "metric"]
#: The columns of ``stats.csv``/``stats.parquet`` (types: :data:`mesovision.tables.SCHEMAS`).
STATS_COLUMNS = tuple(SCHEMAS["stats"])


# --------------------------------------------------------------------------------------------
# Building blocks
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# Tests per group
# --------------------------------------------------------------------------------------------


def _group_fields(view, rank, tp, region, metric, unit, direction) -> dict:
    """The columns that name a group, in the order of :data:`STATS_COLUMNS`."""
    from .metrics import display_name

    return {
        "view": view,
        "timepoint": tp,
        "timepoint_rank": rank,
        "region": region,
        "metric": metric,
        "measure": display_name(metric),
        "unit": unit,
        "direction": direction,
    }


def _baseline_changes(results):
    """The baseline comparisons with a finite change of a family the pair could compare (a
    change its verdict declares ``not_comparable`` was not tested: its delta carries the photos'
    mismatch); timepoints as text, a missing arm as ``""`` (one group)."""
    df = results[results["comparison"] == "baseline"]
    df = df[np.isfinite(df["delta"].to_numpy(np.float64))]
    if "comparability" in df.columns:
        df = df[(df["comparability"] != "not_comparable").fillna(True).to_numpy(bool)]
    return df.assign(
        arm=df["arm"].astype(object).where(df["arm"].notna(), ""),
        timepoint=df["timepoint"].astype(object).map(str),
    )


def within_arm(results) -> list[dict]:
    """Per arm x view x timepoint x region x metric: mean change, CI, Wilcoxon, effect sizes."""
    df = _baseline_changes(results)
    rows = []
    keys = ["arm", *GROUP, "unit", "direction"]
    for key, g in df.groupby(keys, sort=True, dropna=False):
        arm, view, rank, tp, region, metric, unit, direction = key
        d = g["delta"].to_numpy(np.float64)
        lo, hi = mean_ci(d)
        stat, p, rb = wilcoxon_signed_rank(d)
        sd = float(d.std(ddof=1)) if d.size > 1 else math.nan
        rows.append(
            {
                "test": "within",
                "arm": arm,
                "arm_a": None,
                "arm_b": None,
                **_group_fields(view, rank, tp, region, metric, unit, direction),
                "n": d.size,
                "estimate": float(d.mean()),
                "estimate_name": "mean change",
                "ci_low": lo,
                "ci_high": hi,
                "statistic": stat,
                "p_value": p,
                "effect_size": rb,
                "effect_size_name": "matched-pairs rank-biserial",
                "cohens_dz": float(d.mean()) / sd if sd and math.isfinite(sd) else math.nan,
            }
        )
    return rows


def between_arms(results) -> list[dict]:
    """For each pair of arms, per view x timepoint x region x metric: Mann-Whitney U on the
    changes, Hodges-Lehmann shift and its distribution-free CI, rank-biserial effect size."""
    df = _baseline_changes(results)
    arms = sorted(a for a in df["arm"].dropna().unique() if a != "")
    rows = []
    for i, a in enumerate(arms):
        for b in arms[i + 1 :]:
            sub = df[df["arm"].isin([a, b])]
            for key, g in sub.groupby([*GROUP, "unit", "direction"], sort=True, dropna=False):
                view, rank, tp, region, metric, unit, direction = key
                da = g.loc[g["arm"] == a, "delta"].to_numpy(np.float64)
                db = g.loc[g["arm"] == b, "delta"].to_numpy(np.float64)
                if da.size == 0 or db.size == 0:
                    continue
                u, p, r = mann_whitney(da, db)
                lo, hi = hl_ci(da, db)
                rows.append(
                    {
                        "test": "between",
                        "arm": f"{b} - {a}",
                        "arm_a": a,
                        "arm_b": b,
                        **_group_fields(view, rank, tp, region, metric, unit, direction),
                        "n": da.size + db.size,
                        "n_a": da.size,
                        "n_b": db.size,
                        "mean_a": float(da.mean()),
                        "mean_b": float(db.mean()),
                        "estimate": hodges_lehmann(da, db),
                        "estimate_name": "hodges-lehmann shift (b - a)",
                        "ci_low": lo,
                        "ci_high": hi,
                        "statistic": u,
                        "p_value": p,
                        "effect_size": r,
                        "effect_size_name": "rank-biserial (b > a positive)",
                    }
                )
    return rows


def compute_stats(results, *, alpha: float = ALPHA):
    """The stats table (columns :data:`STATS_COLUMNS`): within-arm then between-arm rows, each
    family FDR-corrected on its own; floats rounded to 10 significant digits."""
    import pandas as pd

    within = within_arm(results)
    between = between_arms(results)
    for fam in (within, between):
        q = benjamini_hochberg([r["p_value"] for r in fam])
        for r, qi in zip(fam, q, strict=True):
            r["p_fdr"] = float(qi)
            r["significant_fdr"] = bool(np.isfinite(qi) and qi < alpha)
    df = pd.DataFrame(within + between, columns=list(STATS_COLUMNS))
    floats = ["mean_a", "mean_b", "estimate", "ci_low", "ci_high", "statistic", "p_value",
              "p_fdr", "effect_size", "cohens_dz"]  # fmt: skip
    for c in floats:
        df[c] = df[c].map(round_sig).astype("float64")
    order = list(timepoint_labels(results).values())
    return conform(df, "stats", timepoints=order)


def timepoint_labels(results) -> dict[int, str]:
    """``{rank: label}`` of every timepoint of a results table (``timepoint`` and
    ``reference_timepoint``), in rank order: the manifest's timepoint order."""
    pairs = {}
    for label, rank in (("timepoint", "timepoint_rank"),
                        ("reference_timepoint", "reference_timepoint_rank")):  # fmt: skip
        if label in results.columns and rank in results.columns:
            for r, t in zip(results[rank], results[label].astype(object), strict=True):
                pairs.setdefault(int(r), str(t))
    return dict(sorted(pairs.items()))


# --------------------------------------------------------------------------------------------
# Files and plots
# --------------------------------------------------------------------------------------------


def load_results(out_dir: str | os.PathLike[str]):
    """``OUT/results.parquet`` of a batch as a DataFrame.

    Raises
    ------
    InputFileError
        No ``results.parquet`` in ``out_dir`` (or it cannot be read).
    """
    import pandas as pd

    from .errors import InputFileError

    p = Path(out_dir) / "results.parquet"
    if not p.is_file():
        raise InputFileError(
            "no results.parquet here: run mesovision batch into this folder first", path=str(p)
        )
    try:
        return pd.read_parquet(p)
    except (OSError, ValueError) as exc:
        raise InputFileError(f"cannot read ({exc})", path=str(p)) from None


def _numeric_timepoints(results) -> dict[int, float] | None:
    """``{rank: value}`` when every timepoint is a number (the plots' x axis), else ``None``."""
    labels = timepoint_labels(results)
    try:
        values = {r: float(t) for r, t in labels.items()}
    except ValueError:
        return None
    return values or None


def run_stats(
    out_dir: str | os.PathLike[str],
    stats_dir: str | os.PathLike[str] | None = None,
    *,
    metrics: str | None = None,
    plots: bool = True,
    force: bool = False,
    on_stage=None,
):
    """Read a batch's results, write ``stats.csv``/``stats.parquet`` and the trajectory plots
    (``plots/trajectory_*.png``) into ``stats_dir`` (default ``out_dir/stats``). Returns
    ``(stats_df, written_paths)``. ``on_stage(doing, done)`` is called as each stage starts
    (reading, computing, writing the tables, drawing the plots), for a progress display.

    The files are written all together or not at all (:func:`mesovision.io.output_folder`): an
    interrupted run leaves the previous ones as they were. Files mesovision wrote there before
    are replaced, and its plots that this run does not draw (other metrics, or ``plots``
    false) are removed; one of these names that it did not write raises
    :class:`~mesovision.errors.OutputExists` unless ``force`` (see
    :func:`mesovision.tables.claim_outputs`). A glob of ``metrics`` that matches no metric of
    the results raises :class:`~mesovision.errors.UsageError` before anything is written."""
    from .io import output_folder, prepare_output_dir

    stage = on_stage or (lambda doing, done: None)
    stage("reading the batch's results", "read the batch's results")
    results = load_results(out_dir)
    check_metric_globs(results["metric"], metrics)  # a usage error before anything is written
    sd = prepare_output_dir(stats_dir or Path(out_dir) / "stats", [], force=True)
    tables = ("stats.csv", "stats.parquet")
    claim_outputs(sd, tables, command="stats", force=force)  # refused before any work
    stage("computing the statistics", "computed the statistics")
    st = compute_stats(results)
    names = list(tables)
    if plots:
        names += [f"plots/{n}" for n in trajectory_names(st, metrics=metrics)]
        claim_outputs(sd, names, command="stats", force=force)
    with output_folder(sd, names, force=True) as staging:
        stage("writing the tables", "wrote the tables")
        write_table(st, staging / "stats.csv", staging / "stats.parquet")
        if plots:
            stage("drawing the plots", "drew the plots")
            tps = _numeric_timepoints(results)
            plot_trajectories(st, staging / "plots", metrics=metrics, timepoints=tps)
    drop_stale_outputs(sd, "plots/", names)  # an earlier run's plots of other metrics
    paths = [sd / n for n in names]
    return st, paths
