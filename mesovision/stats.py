"""Statistics on a batch's tidy results: changes per arm and between arms, with CIs, tests and FDR.

Input is the long table ``mesovision batch`` writes (``results.parquet``; one row per comparison x
region x metric, see :mod:`mesovision.batch`). Every group below is one view x region x metric, so
that a subject counts once per test (views are not pooled).

**Within an arm** (``test = "within"``), per arm x view x timepoint x region x metric, on the
changes from baseline (``comparison == "baseline"``, ``delta = after - before``, one per subject;
a change whose family the pair's verdicts declare ``not_comparable`` is left out, as the
comparison left it untested):

* ``n``, ``estimate`` = Hodges-Lehmann pseudo-median change (the median of the Walsh averages
  ``(d[i] + d[j]) / 2``, ``i <= j``), ``ci_low``/``ci_high`` = its distribution-free 95 %
  interval (:func:`walsh_ci`, Tukey: the order statistics of the Walsh averages that the
  signed-rank test's exact null distribution sets, its normal approximation over 50 changes;
  the shifts the signed-rank test does not reject, so that without ties or zeros the interval
  excludes 0 exactly when ``p_value`` is at most 0.05; NaN at 5 changes or fewer);
* ``p_value``: Wilcoxon signed-rank test of the changes against 0 (the paired test of after vs
  baseline; two-sided; zero changes dropped; exact, or exact over every sign flip with ties at
  13 non-zero changes or fewer, :func:`wilcoxon_signed_rank`);
* ``effect_size``: matched-pairs rank-biserial correlation ``r = (R+ - R-) / (R+ + R-)``, with
  ``R+``/``R-`` the sums of the signed ranks of the positive/negative changes (Kerby 2014; -1..1);
  ``cohens_dz`` = mean change / SD of the changes is given too;
* ``mean``, ``mean_ci_low``/``mean_ci_high``: the mean change and its Student t 95 % interval
  (``mean +- t(0.975, n - 1) SD / sqrt(n)``, :func:`mean_ci`), for a reader who reports means;
  they go with a t test, not with ``p_value``.

An interval of zero width (every change equal) is NaN.

**Between arms** (``test = "between"``), for each pair of arms ``a < b`` (alphabetical), per view x
timepoint x region x metric, on the same changes:

* ``estimate`` = Hodges-Lehmann shift ``median(d_b[j] - d_a[i])`` over all pairs (``b`` minus
  ``a``), with its distribution-free 95 % interval (:func:`hl_ci`, Moses: the order statistics
  of the pairwise differences that the Mann-Whitney test's null distribution sets; at least
  95 % whatever the distribution of the changes, when they are continuous; NaN when the arms
  are too small for any 95 % interval, as they are for a Mann-Whitney p under 0.05: 3 and 3);
* ``p_value``: Mann-Whitney U test (two-sided, ``scipy.stats.mannwhitneyu``; exact, or exact
  over every split of the pooled changes with ties when there are 20000 splits or fewer,
  :func:`mann_whitney`);
* ``effect_size``: rank-biserial ``r = 2 U_b / (n_a n_b) - 1`` (``U_b`` counts the pairs where
  ``b``'s change is larger, ties half; positive when ``b`` changes more).

The intervals are computed, not resampled: a table is the same on every run and machine.

**Primary endpoints** (``endpoint``): as in a comparison
(:func:`mesovision.noise.mark_primaries`), a group is ``primary`` when it holds the headline
metric of a family in a region its rows declare treated (the batch's ``endpoint`` column, from
the manifest's ``treated``; a between-arm group when either arm's rows do), else
``secondary``; ``primary=`` (``stats --primary``) names the pre-registered endpoints instead
(``metric`` in every region, or ``region:metric``).

**Split-face** (``test = "split"``, :mod:`mesovision.stats_split`): per arm x view x
timepoint x left/right pair x metric, over the subjects that treat one side of the pair, the
treated side's change minus the other side's, with the columns of a within-arm row
(``region`` the pair without its side: ``cheek``).

**Multiple comparisons**: Benjamini-Hochberg false discovery rate (``p_fdr``), within each
family of tests: within-arm, between-arm and split-face tests, each split into the primary and
the secondary endpoints (the few declared endpoints are not diluted by the exploratory ones). A
test whose smallest attainable p-value is not below ``alpha`` (a Wilcoxon test of fewer than
6 non-zero changes, ``2 / 2^n``; a Mann-Whitney test of arms too small, ``2 / C(n_a + n_b,
n_a)``) cannot be a discovery: it is left out of its family's count (Tarone 1990) and its
``p_fdr`` is NaN. ``significant_fdr = p_fdr < alpha`` (0.05). The families' discoveries are
counted apart (:func:`significant_by_family`): their sum has no controlled rate.

**Checks** (:mod:`mesovision.stats_checks`): a table without a column the tests read, a
subject twice in one group, and a ``primary=`` endpoint without any change to test are
refused; an arm whose subjects' treated regions differ and one whose ``n`` differs between
timepoints are warned of.

**Measurement error** from same-day repeats (ICC, SEM, SDC) and the SDC as a noise floor are in
:mod:`mesovision.repeatability`; the trajectory plots in :mod:`mesovision.trajectories`.
"""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path

import numpy as np

from .rank_tests import (
    HL_EXACT_MAX_N,
    benjamini_hochberg,
    hl_ci,
    hodges_lehmann,
    mann_whitney,
    mean_ci,
    one_sample,
    pseudo_median,
    u_cdf,
    walsh_ci,
    wilcoxon_signed_rank,
)
from .repeatability import ME_COLUMNS, Z95, apply_sdc, icc_agreement, measurement_error
from .stats_checks import (
    baseline_changes,
    check_columns,
    check_unique_subjects,
    n_differs,
    primary_endpoints,
    treated_sides_differ,
    untested_arms,
    untested_timepoints,
)
from .stats_split import split_differences
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
    "attainable",
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
    "primary_endpoints",
    "pseudo_median",
    "run_stats",
    "select_metrics",
    "significant_by_family",
    "split_face",
    "timepoint_labels",
    "trajectory_names",
    "u_cdf",
    "walsh_ci",
    "wilcoxon_signed_rank",
    "within_arm",
]

log = logging.getLogger(__name__)

ALPHA = 0.05
GROUP = ["view", "timepoint_rank", "timepoint", "region", "metric"]
#: The columns of ``stats.csv``/``stats.parquet`` (types: :data:`mesovision.tables.SCHEMAS`).
STATS_COLUMNS = tuple(SCHEMAS["stats"])


# --------------------------------------------------------------------------------------------
# Tests per group
# --------------------------------------------------------------------------------------------


def _group_fields(group: tuple, g, primary) -> dict:
    """The columns that name a group (``(view, rank, timepoint, region, metric, unit,
    direction)``, its rows ``g``), in the order of :data:`STATS_COLUMNS`."""
    from .metrics import display_name

    view, rank, tp, region, metric, unit, direction = group
    return {
        "view": view,
        "timepoint": tp,
        "timepoint_rank": rank,
        "region": region,
        "metric": metric,
        "measure": display_name(metric),
        "unit": unit,
        "direction": direction,
        "endpoint": _endpoint(g, region, metric, primary),
    }


def _endpoint(g, region: str, metric: str, primary) -> str:
    """``primary`` or ``secondary`` of a group ``g`` (rows of results): by ``primary`` (a set
    of ``metric`` and ``region:metric``) when given, else by its rows' ``endpoint``."""
    if primary is not None:
        return "primary" if metric in primary or f"{region}:{metric}" in primary else "secondary"
    if "endpoint" in g.columns and (g["endpoint"] == "primary").fillna(False).any():
        return "primary"
    return "secondary"


def attainable(row: dict) -> float:
    """The smallest p-value the row's test could give at its sizes (two-sided, exact, no ties):
    ``2 / 2^n`` for a Wilcoxon test of ``n`` non-zero changes (within, split),
    ``2 / C(n_a + n_b, n_a)`` for a Mann-Whitney test; 1 for a test of nothing."""
    if row["test"] in ("within", "split"):
        n = row["n_nonzero"]
        return min(1.0, 2.0 / 2.0**n) if n else 1.0
    na, nb = row["n_a"], row["n_b"]
    return min(1.0, 2.0 / math.comb(na + nb, na)) if na and nb else 1.0


def within_arm(results, primary=None) -> list[dict]:
    """Per arm x view x timepoint x region x metric: Hodges-Lehmann pseudo-median change with
    its Walsh-average CI, Wilcoxon, effect sizes, and the mean change with its t CI
    (``primary``: the endpoints, see the module docstring)."""
    df = baseline_changes(results)
    rows = []
    keys = ["arm", *GROUP, "unit", "direction"]
    for key, g in df.groupby(keys, sort=True, dropna=False):
        d = g["delta"].to_numpy(np.float64)
        rows.append(
            {
                "test": "within",
                "arm": key[0],
                "arm_a": None,
                "arm_b": None,
                **_group_fields(key[1:], g, primary),
                "estimate_name": "hodges-lehmann pseudo-median change",
                **one_sample(d),
            }
        )
    return rows


def split_face(results, primary=None) -> list[dict]:
    """Per arm x view x timepoint x paired region x metric, over the subjects that treat one
    side of the pair: the treated side's change minus the other side's
    (:func:`mesovision.stats_split.split_differences`), tested as within-arm changes;
    ``region`` is the pair without its side (``cheek``)."""
    sd = split_differences(baseline_changes(results))
    rows = []
    if sd.empty:
        return rows
    keys = ["arm", "view", "timepoint_rank", "timepoint", "pair", "metric", "unit", "direction"]
    for key, g in sd.groupby(keys, sort=True, dropna=False):
        arm, view, rank, tp, pair, metric, unit, direction = key
        regions = sorted(set(g["treated"]))
        if primary is not None:
            names = {metric, *(f"{r}:{metric}" for r in regions)}
            ep = "primary" if names & primary else "secondary"
        else:
            ep = "primary" if (g["endpoint"] == "primary").fillna(False).any() else "secondary"
        fields = _group_fields((view, rank, tp, pair, metric, unit, direction), g, None)
        rows.append(
            {
                "test": "split",
                "arm": arm,
                "arm_a": None,
                "arm_b": None,
                **fields,
                "endpoint": ep,
                "estimate_name": "hodges-lehmann pseudo-median (treated - other side)",
                **one_sample(g["delta"].to_numpy(np.float64)),
            }
        )
    return rows


def between_arms(results, primary=None) -> list[dict]:
    """For each pair of arms, per view x timepoint x region x metric: Mann-Whitney U on the
    changes, Hodges-Lehmann shift and its distribution-free CI, rank-biserial effect size
    (``primary``: the endpoints, see the module docstring)."""
    df = baseline_changes(results)
    arms = sorted(a for a in df["arm"].dropna().unique() if a != "")
    rows = []
    for i, a in enumerate(arms):
        for b in arms[i + 1 :]:
            sub = df[df["arm"].isin([a, b])]
            for group, g in sub.groupby([*GROUP, "unit", "direction"], sort=True, dropna=False):
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
                        **_group_fields(group, g, primary),
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


def compute_stats(results, *, alpha: float = ALPHA, primary=None):
    """The stats table (columns :data:`STATS_COLUMNS`): within-arm then between-arm rows, each
    family (test x endpoint) FDR-corrected on its own, the tests that cannot reach ``alpha``
    left out (:func:`attainable`); floats rounded to 10 significant digits. ``primary``: the
    pre-registered endpoints (``metric`` or ``region:metric`` names), else the batch's."""
    import pandas as pd

    primary = None if primary is None else set(primary)
    check_unique_subjects(results)
    within = within_arm(results, primary)
    between = between_arms(results, primary)
    split = split_face(results, primary)
    for rows in (within, between, split):
        for stratum in ("primary", "secondary"):
            fam = [r for r in rows if r["endpoint"] == stratum]
            counted = [r["p_value"] if attainable(r) < alpha else math.nan for r in fam]
            for r, qi in zip(fam, benjamini_hochberg(counted), strict=True):
                r["p_fdr"] = float(qi)
                r["significant_fdr"] = bool(np.isfinite(qi) and qi < alpha)
    df = pd.DataFrame(within + between + split, columns=list(STATS_COLUMNS))
    floats = ["mean_a", "mean_b", "estimate", "ci_low", "ci_high", "statistic", "p_value",
              "p_fdr", "effect_size", "cohens_dz", "mean", "mean_ci_low",
              "mean_ci_high"]  # fmt: skip
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
    UsageError
        The table lacks a column ``stats`` reads, or holds a subject twice in one group
        (:mod:`mesovision.stats_checks`).
    """
    import pandas as pd

    from .errors import InputFileError

    p = Path(out_dir) / "results.parquet"
    if not p.is_file():
        raise InputFileError(
            "no results.parquet here: run mesovision batch into this folder first", path=str(p)
        )
    try:
        results = pd.read_parquet(p)
    except (OSError, ValueError) as exc:
        raise InputFileError(f"cannot read ({exc})", path=str(p)) from None
    check_columns(results, p)
    check_unique_subjects(results, p)
    return results


def significant_by_family(st) -> dict[str, dict[str, int]]:
    """``{test: {endpoint: discoveries}}``: the ``significant_fdr`` rows of each of the
    families whose false discovery rate is controlled on its own (their sum is not)."""
    return {
        test: {
            ep: int((st["significant_fdr"] & (st["test"] == test) & (st["endpoint"] == ep)).sum())
            for ep in ("primary", "secondary")
        }
        for test in ("within", "between", "split")
    }


def _summary(out_dir, st, primary, metrics, plots) -> dict:
    """``stats/summary.json``: what the tables were computed from (the results file's SHA-256,
    which ``mesovision batch`` compares to warn of stale statistics), with which options and
    versions, and the counts of tests."""
    from .io import sha256_file
    from .provenance import provenance

    counted = st["p_fdr"].notna()
    return {
        "results": "results.parquet",
        "results_sha256": sha256_file(Path(out_dir) / "results.parquet"),
        "options": {"primary": primary, "metrics": metrics, "plots": plots},
        "tests": {
            "within": int((st["test"] == "within").sum()),
            "between": int((st["test"] == "between").sum()),
            "split": int((st["test"] == "split").sum()),
            "primary": int((st["endpoint"] == "primary").sum()),
            "not_counted": int((~counted).sum()),
            "significant_fdr": significant_by_family(st),
        },
        "provenance": provenance(),
    }


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
    primary: str | None = None,
    plots: bool = True,
    force: bool = False,
    on_stage=None,
):
    """Read a batch's results, write ``stats.csv``/``stats.parquet`` and the trajectory plots
    (``plots/trajectory_*.png``) into ``stats_dir`` (default ``out_dir/stats``). Returns
    ``(stats_df, written_paths)``. ``on_stage(doing, done)`` is called as each stage starts
    (reading, computing, writing the tables, drawing the plots), for a progress display.
    ``primary``: the pre-registered endpoints (comma-separated ``metric`` or ``region:metric``,
    :func:`primary_endpoints`), else the batch's (the module docstring).

    The files are written all together or not at all (:func:`mesovision.io.output_folder`): an
    interrupted run leaves the previous ones as they were. Files mesovision wrote there before
    are replaced, and its plots that this run does not draw (other metrics, or ``plots``
    false) are removed; one of these names that it did not write raises
    :class:`~mesovision.errors.OutputExists` unless ``force`` (see
    :func:`mesovision.tables.claim_outputs`). A glob of ``metrics`` that matches no metric of
    the results raises :class:`~mesovision.errors.UsageError` before anything is written."""
    from .io import output_folder, prepare_output_dir, write_json

    stage = on_stage or (lambda doing, done: None)
    stage("reading the batch's results", "read the batch's results")
    results = load_results(out_dir)
    check_metric_globs(results["metric"], metrics)  # a usage error before anything is written
    endpoints = primary_endpoints(results, primary)
    sd = prepare_output_dir(stats_dir or Path(out_dir) / "stats", [], force=True)
    tables = ("stats.csv", "stats.parquet", "summary.json")
    claim_outputs(sd, tables, command="stats", force=force)  # refused before any work
    stage("computing the statistics", "computed the statistics")
    st = compute_stats(results, primary=endpoints)
    for line in [
        *untested_arms(results, st, Path(out_dir) / "status.csv"),
        *untested_timepoints(results, st, Path(out_dir) / "status.csv"),
        *treated_sides_differ(results),
        *n_differs(st),
    ]:
        log.warning("%s", line)
    names = list(tables)
    if plots:
        names += [f"plots/{n}" for n in trajectory_names(st, metrics=metrics)]
        claim_outputs(sd, names, command="stats", force=force)
    with output_folder(sd, names, force=True) as staging:
        stage("writing the tables", "wrote the tables")
        write_table(st, staging / "stats.csv", staging / "stats.parquet")
        write_json(staging / "summary.json", _summary(out_dir, st, primary, metrics, plots))
        if plots:
            stage("drawing the plots", "drew the plots")
            tps = _numeric_timepoints(results)
            plot_trajectories(st, staging / "plots", metrics=metrics, timepoints=tps)
    drop_stale_outputs(sd, "plots/", names)  # an earlier run's plots of other metrics
    paths = [sd / n for n in names]
    return st, paths
