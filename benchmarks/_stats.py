"""Small helpers the benchmarks share: a change's columns in a result row, the summary of an
error column, the mean changes read and true of a group of pairs, and the rows' CSV (the render
benchmarks ``hair.py``, ``body.py``), and the interval of a share over people resampled
(``calibration.py``)."""

from __future__ import annotations

import csv
import math

import numpy as np


def change_columns(c) -> dict:
    """A :class:`mesovision.Change`'s columns in a benchmark row."""
    return {
        "before": c.before,
        "after": c.after,
        "delta": c.delta,
        "z": c.z,
        "tested": c.z is not None and math.isfinite(c.z),
        "significant": bool(c.significant),
    }


#: The columns of :func:`change_cells`.
CHANGE_HEADER = "mean change | true change | mean change, % | true change, %"


def _mean(values) -> float:
    v = [x for x in values if x is not None and math.isfinite(x)]
    return float(np.mean(v)) if v else math.nan


def change_cells(rows: list[dict]) -> str:
    """The mean change read and the true change of ``rows`` (pairs with ``before``, ``after``,
    ``delta``, ``before_true``, ``after_true``), absolute, then each in % of its own before
    value (mean over the pairs): a measure that runs low by a share of the truth reads an
    absolute change low by that share, and a relative change right. ``n/a`` where no pair has
    the value (no truth for the metric)."""
    read = _mean([r["delta"] for r in rows])
    true = _mean([r["after_true"] - r["before_true"] for r in rows])
    rel_read = _mean([100 * r["delta"] / r["before"] for r in rows if r["before"]])
    rel_true = _mean(
        [100 * (r["after_true"] - r["before_true"]) / r["before_true"] for r in rows
         if r["before_true"]]
    )  # fmt: skip
    return " | ".join("n/a" if not math.isfinite(x) else f"{x:+.2f}"
                      for x in (read, true, rel_read, rel_true))  # fmt: skip


def stat(values) -> str:
    """``mean (median |x|)`` of the finite values, and how many were NaN (not measured)."""
    v = np.asarray([x for x in values if x is not None and np.isfinite(x)], float)
    missing = len(values) - v.size
    if v.size == 0:
        return "n/a"
    out = f"{np.mean(v):+.1f} ({np.median(np.abs(v)):.1f})"
    return out + (f", {missing} NaN" if missing else "")


def write_csv(path, rows: list[dict]) -> None:
    """``rows`` to a CSV at ``path``, the union of their keys as columns (sorted)."""
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=sorted({k for r in rows for k in r}))
        w.writeheader()
        w.writerows(rows)


def cluster_interval(hits, clusters, *, reps: int = 2000, seed: int = 0) -> tuple[float, float]:
    """95 % percentile interval of ``mean(hits)`` when whole clusters (people) are resampled
    with replacement: the rows of one person are not independent (the same face, the same
    detector quirks), so the interval is that of a new set of people like these.

    Parameters
    ----------
    hits : array-like
        One number per row (e.g. 1 where a null change had p < 0.05, else 0).
    clusters : array-like
        The row's cluster (the person), the same length.

    Returns
    -------
    (low, high)
        The 2.5 % and 97.5 % quantiles of the resampled means; NaN, NaN without rows.
    """
    hits = np.asarray(hits, float)
    names, idx = np.unique(np.asarray(clusters), return_inverse=True)
    if hits.size == 0:
        return math.nan, math.nan
    sums = np.bincount(idx, weights=hits, minlength=len(names))
    counts = np.bincount(idx, minlength=len(names)).astype(float)
    draw = np.random.default_rng(seed).integers(0, len(names), size=(reps, len(names)))
    means = sums[draw].sum(axis=1) / counts[draw].sum(axis=1)
    return float(np.quantile(means, 0.025)), float(np.quantile(means, 0.975))
