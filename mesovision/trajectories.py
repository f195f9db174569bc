"""Trajectory plots of a stats table: mean change from baseline per arm over the timepoints.

One PNG per view x metric (``trajectory_<view>_<metric>.png``), one panel per region, each arm's
mean change with its Student t 95 % interval, the baseline drawn at 0. The x axis is the
timepoints' values when they are numbers, else their order labelled with the timepoints. The
files carry no software or date metadata, so the same table gives the same bytes.
"""

from __future__ import annotations

import fnmatch
import math
import os
from pathlib import Path

import numpy as np

__all__ = ["check_metric_globs", "plot_trajectories", "select_metrics", "trajectory_names"]


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in str(name))


def _globs(patterns: str) -> list[str]:
    return [p.strip() for p in patterns.split(",") if p.strip()]


def select_metrics(names, patterns: str | None) -> list[str]:
    """The metric names matching any of the comma-separated glob ``patterns`` (all if None)."""
    names = sorted(set(names))
    if not patterns:
        return names
    pats = _globs(patterns)
    return [n for n in names if any(fnmatch.fnmatchcase(n, p) for p in pats)]


def check_metric_globs(names, patterns: str | None) -> None:
    """Raise :class:`~mesovision.errors.UsageError` when one of the comma-separated globs
    ``patterns`` matches none of the metric ``names`` (or no glob is given), naming the glob and
    a few of the metric names; ``None`` (every metric) passes."""
    from .errors import UsageError

    if patterns is None:
        return
    names = sorted(set(names))
    few = ", ".join(names[:6]) + (f", ... ({len(names)} in all)" if len(names) > 6 else "")
    pats = _globs(patterns)
    if not pats:
        raise UsageError(f"--metrics {patterns!r} gives no glob; metrics: {few or 'none'}")
    for p in pats:
        if not any(fnmatch.fnmatchcase(n, p) for n in names):
            raise UsageError(
                f"--metrics {p!r} matches no metric of the results; metrics: {few or 'none'}"
            )


def _trajectories(stats_df, metrics: str | None):
    """``(view, metric, rows, file name)`` of every trajectory plot of ``stats_df``: the
    within-arm rows of one view x metric with at least one finite estimate."""
    w = stats_df[stats_df["test"] == "within"]
    for view in sorted(w["view"].unique()):
        wv = w[w["view"] == view]
        for metric in select_metrics(wv["metric"], metrics):
            wm = wv[wv["metric"] == metric]
            wm = wm.assign(arm=wm["arm"].astype(object).where(wm["arm"].notna(), ""))
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
    out.mkdir(mode=0o700, parents=True, exist_ok=True)
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
