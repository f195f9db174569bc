"""Statistics on a batch's tidy results: changes per arm, between arms, and measurement error.

Input is the long table ``mesovision batch`` writes (``results.parquet``; one row per comparison x
region x metric, see :mod:`mesovision.batch`). Every group below is one view x region x metric, so
that a subject counts once per test (views are not pooled).

**Within an arm** (``test = "within"``), per arm x view x timepoint x region x metric, on the
changes from baseline (``comparison == "baseline"``, ``delta = after - before``, one per subject):

* ``n``, ``estimate`` = mean change, ``ci_low``/``ci_high`` = percentile bootstrap 95 % interval
  of the mean (``n_resamples`` resamples of the subjects, seeded per group from ``seed`` and the
  group's name, so a group's interval does not depend on which other groups exist);
* ``p_value``: Wilcoxon signed-rank test of the changes against 0 (the paired test of after vs
  baseline; two-sided; zero changes dropped, ``scipy.stats.wilcoxon``, exact for small ``n``
  without ties);
* ``effect_size``: matched-pairs rank-biserial correlation ``r = (R+ - R-) / (R+ + R-)``, with
  ``R+``/``R-`` the sums of the signed ranks of the positive/negative changes (Kerby 2014; -1..1);
  ``cohens_dz`` = mean change / SD of the changes is given too.

**Between arms** (``test = "between"``), for each pair of arms ``a < b`` (alphabetical), per view x
timepoint x region x metric, on the same changes:

* ``estimate`` = Hodges-Lehmann shift ``median(d_b[j] - d_a[i])`` over all pairs (``b`` minus
  ``a``), with a percentile bootstrap 95 % interval (each arm resampled on its own);
* ``p_value``: Mann-Whitney U test (two-sided, ``scipy.stats.mannwhitneyu``);
* ``effect_size``: rank-biserial ``r = 2 U_b / (n_a n_b) - 1`` (``U_b`` counts the pairs where
  ``b``'s change is larger, ties half; positive when ``b`` changes more).

**Multiple comparisons**: Benjamini-Hochberg false discovery rate (``p_fdr``), over two families:
all within-arm tests of the table, and all between-arm tests of the table.
``significant_fdr = p_fdr < alpha`` (0.05).

**Measurement error** (:func:`measurement_error`), from same-day repeats (``comparison ==
"repeat"``: repeat ``r`` of a visit compared with repeat 1; ``before`` is the repeat-1 value,
``after`` the repeat-``r`` value, both measured as in any comparison), per view x region x metric,
each (subject, timepoint, r) one target measured twice:

* ``icc``: ICC(2,1), two-way random effects, absolute agreement, single measurement (Shrout and
  Fleiss 1979; McGraw and Wong 1996, "ICC(A,1)"):
  ``(MSR - MSE) / (MSR + (k-1) MSE + k (MSC - MSE) / n)`` with ``k = 2``;
* ``sem``: standard error of measurement for agreement, ``sqrt(var_sessions + var_error)`` with
  ``var_error = MSE`` and ``var_sessions = max(0, (MSC - MSE) / n)`` (de Vet et al. 2006): it
  includes a systematic difference between the repeats, unlike ``SD * sqrt(1 - ICC)``;
* ``sdc = 1.96 * sqrt(2) * sem``: the smallest detectable change between two measurements of one
  subject (95 %).

:func:`apply_sdc` uses it as a noise floor: ``noise_floor = max(noise_floor_pair, sdc)`` (the
comparison's own floor stays a lower bound), and a change stays ``significant`` only where it
exceeds that floor as well.
"""

from __future__ import annotations

import fnmatch
import hashlib
import logging
import math
import os
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

Z95 = 1.959963984540054
ALPHA = 0.05
N_RESAMPLES = 2000
SEED = 20260601
GROUP = ["view", "timepoint_rank", "timepoint", "region", "metric"]
STATS_COLUMNS = (
    "test", "arm", "arm_a", "arm_b", "view", "timepoint", "timepoint_rank", "region", "metric",
    "unit", "direction", "n", "n_a", "n_b", "mean_a", "mean_b", "estimate", "estimate_name",
    "ci_low", "ci_high", "statistic", "p_value", "p_fdr", "significant_fdr", "effect_size",
    "effect_size_name", "cohens_dz",
)  # fmt: skip
ME_COLUMNS = (
    "view", "region", "metric", "unit", "n", "mean_repeat1", "mean_repeat2", "mean_diff",
    "sd_diff", "icc", "sem", "sdc",
)  # fmt: skip


# --------------------------------------------------------------------------------------------
# Building blocks
# --------------------------------------------------------------------------------------------


def group_rng(seed: int, *key) -> np.random.Generator:
    """A generator seeded by ``seed`` and a group's name (independent of other groups)."""
    h = int(hashlib.sha256(repr(key).encode()).hexdigest()[:16], 16)
    return np.random.default_rng([seed, h])


def bootstrap_ci(
    x: np.ndarray, rng: np.random.Generator, *, n_resamples: int = N_RESAMPLES, level: float = 0.95
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of ``x`` (NaN for fewer than 2 values)."""
    x = np.asarray(x, np.float64)
    if x.size < 2:
        return math.nan, math.nan
    idx = rng.integers(0, x.size, size=(n_resamples, x.size))
    means = x[idx].mean(axis=1)
    a = (1 - level) / 2
    lo, hi = np.quantile(means, [a, 1 - a])
    return float(lo), float(hi)


def hodges_lehmann(a: np.ndarray, b: np.ndarray) -> float:
    """Hodges-Lehmann shift of ``b`` over ``a``: the median of all ``b[j] - a[i]``."""
    return float(np.median(np.subtract.outer(np.asarray(b), np.asarray(a))))


def bootstrap_hl_ci(
    a: np.ndarray,
    b: np.ndarray,
    rng: np.random.Generator,
    *,
    n_resamples: int = N_RESAMPLES,
    level: float = 0.95,
) -> tuple[float, float]:
    """Percentile bootstrap interval of the Hodges-Lehmann shift (each sample resampled)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.size < 2 or b.size < 2:
        return math.nan, math.nan
    ra = a[rng.integers(0, a.size, size=(n_resamples, a.size))]
    rb = b[rng.integers(0, b.size, size=(n_resamples, b.size))]
    diffs = rb[:, :, None] - ra[:, None, :]
    hl = np.median(diffs.reshape(n_resamples, -1), axis=1)
    q = (1 - level) / 2
    lo, hi = np.quantile(hl, [q, 1 - q])
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
    where ``b`` is larger (ties half); ``r = 2 U_b / (n_a n_b) - 1``."""
    from scipy import stats as ss

    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.size == 0 or b.size == 0:
        return math.nan, math.nan, math.nan
    res = ss.mannwhitneyu(b, a, alternative="two-sided")
    u_b = float(res.statistic)
    return u_b, float(res.pvalue), 2.0 * u_b / (a.size * b.size) - 1.0


def benjamini_hochberg(p) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (``q``); NaN stays NaN and does not count in ``m``."""
    p = np.asarray(p, np.float64)
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
    return {
        "view": view,
        "timepoint": tp,
        "timepoint_rank": rank,
        "region": region,
        "metric": metric,
        "unit": unit,
        "direction": direction,
    }


def _baseline_changes(results):
    df = results[results["comparison"] == "baseline"]
    return df[np.isfinite(df["delta"].to_numpy(np.float64))]


def within_arm(results, *, n_resamples: int = N_RESAMPLES, seed: int = SEED) -> list[dict]:
    """Per arm x view x timepoint x region x metric: mean change, CI, Wilcoxon, effect sizes."""
    df = _baseline_changes(results)
    rows = []
    keys = ["arm", *GROUP, "unit", "direction"]
    for key, g in df.groupby(keys, sort=True, dropna=False):
        arm, view, rank, tp, region, metric, unit, direction = key
        d = g["delta"].to_numpy(np.float64)
        rng = group_rng(seed, "within", arm, view, tp, region, metric)
        lo, hi = bootstrap_ci(d, rng, n_resamples=n_resamples)
        stat, p, rb = wilcoxon_signed_rank(d)
        sd = float(d.std(ddof=1)) if d.size > 1 else math.nan
        rows.append(
            {
                "test": "within",
                "arm": arm,
                "arm_a": "",
                "arm_b": "",
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


def between_arms(results, *, n_resamples: int = N_RESAMPLES, seed: int = SEED) -> list[dict]:
    """For each pair of arms, per view x timepoint x region x metric: Mann-Whitney U on the
    changes, Hodges-Lehmann shift and its bootstrap CI, rank-biserial effect size."""
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
                rng = group_rng(seed, "between", a, b, view, tp, region, metric)
                u, p, r = mann_whitney(da, db)
                lo, hi = bootstrap_hl_ci(da, db, rng, n_resamples=n_resamples)
                rows.append(
                    {
                        "test": "between",
                        "arm": f"{b} - {a}",
                        "arm_a": a,
                        "arm_b": b,
                        **_group_fields(view, rank, tp, region, metric, unit, direction),
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


def compute_stats(
    results, *, n_resamples: int = N_RESAMPLES, seed: int = SEED, alpha: float = ALPHA
):
    """The stats table (columns :data:`STATS_COLUMNS`): within-arm then between-arm rows, each
    family FDR-corrected on its own; floats rounded to 10 significant digits."""
    import pandas as pd

    from .batch import round_sig

    within = within_arm(results, n_resamples=n_resamples, seed=seed)
    between = between_arms(results, n_resamples=n_resamples, seed=seed)
    for fam in (within, between):
        q = benjamini_hochberg([r["p_value"] for r in fam])
        for r, qi in zip(fam, q, strict=True):
            r["p_fdr"] = float(qi)
            r["significant_fdr"] = bool(np.isfinite(qi) and qi < alpha)
    df = pd.DataFrame(within + between, columns=list(STATS_COLUMNS))
    for c in ("n", "n_a", "n_b"):
        df[c] = df[c].astype("Int64")
    floats = ["mean_a", "mean_b", "estimate", "ci_low", "ci_high", "statistic", "p_value",
              "p_fdr", "effect_size", "cohens_dz"]  # fmt: skip
    for c in floats:
        df[c] = df[c].map(round_sig).astype("float64")
    df["significant_fdr"] = df["significant_fdr"].astype(bool)
    df["timepoint_rank"] = df["timepoint_rank"].astype("int64")
    return df


# --------------------------------------------------------------------------------------------
# Measurement error
# --------------------------------------------------------------------------------------------


def icc_agreement(y: np.ndarray) -> dict:
    """ICC(2,1) (absolute agreement), the SEM for agreement and the SDC of an ``(n, k)`` table
    of ``n`` targets measured ``k`` times (see the module docstring). NaN when ``n < 2``."""
    y = np.asarray(y, np.float64)
    n, k = y.shape
    out = {"icc": math.nan, "sem": math.nan, "sdc": math.nan}
    if n < 2 or k < 2:
        return out
    gm = y.mean()
    rm, cm = y.mean(axis=1), y.mean(axis=0)
    msr = k * float(((rm - gm) ** 2).sum()) / (n - 1)
    msc = n * float(((cm - gm) ** 2).sum()) / (k - 1)
    mse = float(((y - rm[:, None] - cm[None, :] + gm) ** 2).sum()) / ((n - 1) * (k - 1))
    den = msr + (k - 1) * mse + k * (msc - mse) / n
    out["icc"] = (msr - mse) / den if den > 0 else math.nan
    sem = math.sqrt(max(0.0, (msc - mse) / n) + mse)
    out["sem"] = sem
    out["sdc"] = Z95 * math.sqrt(2.0) * sem
    return out


def measurement_error(results):
    """Test-retest ICC, SEM and SDC per view x region x metric from the ``repeat`` rows of a
    results table (columns :data:`ME_COLUMNS`; empty without repeats)."""
    import pandas as pd

    from .batch import round_sig

    rep = results[results["comparison"] == "repeat"]
    rows = []
    for (view, region, metric), g in rep.groupby(["view", "region", "metric"], sort=True):
        y = g[["before", "after"]].to_numpy(np.float64)
        y = y[np.isfinite(y).all(axis=1)]
        d = y[:, 1] - y[:, 0]
        res = icc_agreement(y)
        rows.append(
            {
                "view": view,
                "region": region,
                "metric": metric,
                "unit": g["unit"].iloc[0],
                "n": len(y),
                "mean_repeat1": float(y[:, 0].mean()) if len(y) else math.nan,
                "mean_repeat2": float(y[:, 1].mean()) if len(y) else math.nan,
                "mean_diff": float(d.mean()) if len(y) else math.nan,
                "sd_diff": float(d.std(ddof=1)) if len(y) > 1 else math.nan,
                **res,
            }
        )
    df = pd.DataFrame(rows, columns=list(ME_COLUMNS))
    df["n"] = df["n"].astype("int64")
    for c in ME_COLUMNS[5:]:
        df[c] = df[c].map(round_sig).astype("float64")
    return df


def apply_sdc(results, sdc_table):
    """``results`` with ``sdc`` from ``sdc_table`` (matched on view, region, metric),
    ``noise_floor = max(noise_floor_pair, sdc)`` where an SDC is known, and ``significant``
    only where the comparison found it significant (its false-discovery-rate decision) and
    ``|delta| > sdc``. Rows without a matching finite SDC keep their comparison's floor and
    significance; a comparison floor that is NaN (not estimable) stays NaN, so such a change is
    never called significant on the SDC alone."""
    from .batch import round_sig

    key = list(zip(sdc_table["view"], sdc_table["region"], sdc_table["metric"], strict=True))
    lookup = dict(zip(key, sdc_table["sdc"].astype("float64"), strict=True))
    out = results.copy()
    sdc = np.array(
        [
            round_sig(lookup.get(k, math.nan))
            for k in zip(out["view"], out["region"], out["metric"], strict=True)
        ],
        dtype=np.float64,
    )
    pair = out["noise_floor_pair"].to_numpy(np.float64)
    has = np.isfinite(sdc)
    floor = np.where(has, np.maximum(pair, sdc), pair)  # an unknown pair floor stays unknown
    delta = out["delta"].to_numpy(np.float64)
    own = out["significant"].to_numpy(bool)
    with np.errstate(invalid="ignore"):
        sig = own & np.isfinite(floor) & np.isfinite(delta) & (np.abs(delta) > floor)
    out["sdc"] = sdc
    out["noise_floor"] = floor
    out["significant"] = np.where(has, sig, own)
    return out


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


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in str(name))


def select_metrics(names, patterns: str | None) -> list[str]:
    """The metric names matching any of the comma-separated glob ``patterns`` (all if None)."""
    names = sorted(set(names))
    if not patterns:
        return names
    pats = [p.strip() for p in patterns.split(",") if p.strip()]
    return [n for n in names if any(fnmatch.fnmatchcase(n, p) for p in pats)]


def _trajectories(stats_df, metrics: str | None):
    """``(view, metric, rows, file name)`` of every trajectory plot of ``stats_df``: the
    within-arm rows of one view x metric with at least one finite estimate."""
    w = stats_df[stats_df["test"] == "within"]
    for view in sorted(w["view"].unique()):
        wv = w[w["view"] == view]
        for metric in select_metrics(wv["metric"], metrics):
            wm = wv[wv["metric"] == metric]
            if np.isfinite(wm["estimate"].to_numpy(np.float64)).any():
                yield view, metric, wm, f"trajectory_{_safe(view)}_{_safe(metric)}.png"


def trajectory_names(stats_df, *, metrics: str | None = None) -> list[str]:
    """The file names :func:`plot_trajectories` writes for ``stats_df`` (nothing is drawn)."""
    return [name for *_, name in _trajectories(stats_df, metrics)]


def plot_trajectories(
    stats_df, out_dir: str | os.PathLike[str], *, metrics: str | None = None, timepoints=None
) -> list[Path]:
    """One PNG per view x metric: mean change from baseline +/- 95 % CI per arm over the
    timepoints, one panel per region (``trajectory_<view>_<metric>.png``, see
    :func:`trajectory_names`).

    ``timepoints``: ``{rank: value}`` for the x axis (numbers); default the ranks, labelled
    with the timepoints. The baseline is drawn at 0. PNGs carry no software/date metadata.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .io import atomic_write_bytes

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for view, metric, wm, name in _trajectories(stats_df, metrics):
        regions = sorted(wm["region"].unique())
        ncol = min(4, len(regions))
        nrow = math.ceil(len(regions) / ncol)
        fig, axes = plt.subplots(
            nrow, ncol, figsize=(3.2 * ncol, 2.6 * nrow), squeeze=False, sharex=True
        )
        labels = dict(zip(wm["timepoint_rank"], wm["timepoint"].astype(str), strict=False))
        labels.setdefault(0, "baseline")
        for ax, region in zip(axes.flat, regions, strict=False):
            wr = wm[wm["region"] == region]
            for arm in sorted(wr["arm"].unique()):
                g = wr[wr["arm"] == arm].sort_values("timepoint_rank")
                ranks = g["timepoint_rank"].to_numpy()
                x = [timepoints[r] if timepoints else r for r in ranks]
                x0 = timepoints[0] if timepoints else 0
                y = g["estimate"].to_numpy(np.float64)
                lo = y - g["ci_low"].to_numpy(np.float64)
                hi = g["ci_high"].to_numpy(np.float64) - y
                ax.errorbar(
                    [x0, *x],
                    [0.0, *y],
                    yerr=[[0.0, *np.nan_to_num(lo)], [0.0, *np.nan_to_num(hi)]],
                    marker="o",
                    ms=3,
                    capsize=2,
                    label=arm,
                )
            ax.axhline(0.0, color="0.6", lw=0.8)
            ax.set_title(region, fontsize=9)
            ax.tick_params(labelsize=7)
            ax.locator_params(axis="y", nbins=4)
            if not timepoints:
                ax.set_xticks(sorted(labels))
                ax.set_xticklabels([labels[k] for k in sorted(labels)])
        for ax in list(axes.flat)[len(regions) :]:
            ax.set_visible(False)
        axes.flat[0].legend(fontsize=7)
        unit = wm["unit"].iloc[0]
        fig.suptitle(
            f"{metric} ({unit}): mean change from baseline, 95 % CI - view {view}", fontsize=10
        )
        fig.supxlabel("timepoint", fontsize=9)
        fig.subplots_adjust(left=0.07, right=0.98, bottom=0.1, top=0.88, wspace=0.3, hspace=0.45)
        import io

        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=90, metadata={"Software": None})
        plt.close(fig)
        p = out / name
        atomic_write_bytes(p, buf.getvalue(), force=True)
        paths.append(p)
    return paths


def run_stats(
    out_dir: str | os.PathLike[str],
    stats_dir: str | os.PathLike[str] | None = None,
    *,
    metrics: str | None = None,
    plots: bool = True,
    n_resamples: int = N_RESAMPLES,
    seed: int = SEED,
    force: bool = False,
):
    """Read a batch's results, write ``stats.csv``/``stats.parquet`` and the trajectory plots
    (``plots/trajectory_*.png``) into ``stats_dir`` (default ``out_dir/stats``). Returns
    ``(stats_df, written_paths)``.

    The files are written all together or not at all (:func:`mesovision.io.output_folder`): an
    interrupted run leaves the previous ones as they were. Files mesovision wrote there before
    are replaced; one of these names that it did not write raises
    :class:`~mesovision.errors.OutputExists` unless ``force`` (see
    :func:`mesovision.batch.claim_outputs`)."""
    from .batch import claim_outputs, write_table
    from .io import output_folder, prepare_output_dir

    results = load_results(out_dir)
    sd = prepare_output_dir(stats_dir or Path(out_dir) / "stats", [], force=True)
    tables = ("stats.csv", "stats.parquet")
    claim_outputs(sd, tables, command="stats", force=force)  # refused before any work
    st = compute_stats(results, n_resamples=n_resamples, seed=seed)
    names = list(tables)
    if plots:
        names += [f"plots/{n}" for n in trajectory_names(st, metrics=metrics)]
        claim_outputs(sd, names, command="stats", force=force)
    with output_folder(sd, names, force=True) as staging:
        write_table(st, staging / "stats.csv", staging / "stats.parquet")
        if plots:
            tps = None
            if len(results) and results["timepoint"].dtype.kind in "if":
                tps = dict(zip(results["timepoint_rank"], results["timepoint"], strict=True))
                tps.update(
                    zip(
                        results["reference_timepoint_rank"],
                        results["reference_timepoint"],
                        strict=True,
                    )
                )
            plot_trajectories(st, staging / "plots", metrics=metrics, timepoints=tps)
    paths = [sd / n for n in names]
    return st, paths
