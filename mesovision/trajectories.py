"""Trajectory plots of a stats table: the change from baseline per arm over the timepoints.

One PNG per view x metric (``trajectory_<view>_<metric>.png``), one panel per region, each arm's
``estimate`` (the Hodges-Lehmann pseudo-median change, the one the table's test goes with) with
its 95 % interval (``ci_low``/``ci_high``; no bar where the interval is NaN), the baseline drawn
at 0. Arms are shifted a little along x so that their bars do not hide each other; subjects
without an arm are labelled ``no arm``; each arm's legend entry gives its ``n`` (a range when
missing visits make it differ between timepoints). The x axis is the timepoints' values when
they are numbers, else their order labelled with the timepoints. The files carry no software or
date metadata, so the same table gives the same bytes.
"""

from __future__ import annotations

import fnmatch
import math
import os
import textwrap
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


def _arm_label(arm: str, g) -> str:
    """An arm's legend entry: its name (``no arm`` for subjects without one) and its ``n``."""
    lo, hi = int(g["n"].min()), int(g["n"].max())
    return f"{arm or 'no arm'} (n {lo})" if lo == hi else f"{arm or 'no arm'} (n {lo}-{hi})"


def _draw_panel(ax, wr, arms, labels, timepoints, dodge) -> None:
    """One region's panel: per arm the estimates joined from 0 at baseline, a bar for each
    finite interval; arm ``i`` shifted by ``dodge * (i - (len(arms) - 1) / 2)`` along x."""
    for i, arm in enumerate(arms):
        color = f"C{i % 10}"
        g = wr[wr["arm"] == arm].sort_values("timepoint_rank")
        if g.empty:
            continue
        shift = dodge * (i - (len(arms) - 1) / 2)
        x0 = (timepoints[0] if timepoints else 0) + shift
        x = np.array([timepoints[r] if timepoints else r for r in g["timepoint_rank"]], float)
        x += shift
        y = g["estimate"].to_numpy(np.float64)
        ax.plot([x0, *x], [0.0, *y], marker="o", ms=3, color=color, label=labels[arm])
        lo, hi = g["ci_low"].to_numpy(np.float64), g["ci_high"].to_numpy(np.float64)
        ok = np.isfinite(lo) & np.isfinite(hi) & np.isfinite(y)
        if ok.any():
            yerr = [y[ok] - lo[ok], hi[ok] - y[ok]]
            ax.errorbar(x[ok], y[ok], yerr=yerr, fmt="none", ecolor=color, capsize=2)


def plot_trajectories(
    stats_df, out_dir: str | os.PathLike[str], *, metrics: str | None = None, timepoints=None
) -> list[Path]:
    """One PNG per view x metric: the estimate of the change from baseline +/- 95 % CI per arm
    over the timepoints, one panel per region (``trajectory_<view>_<metric>.png``, see
    :func:`trajectory_names`; what is drawn: the module docstring).

    ``timepoints``: ``{rank: value}`` for the x axis (numbers); default the ranks, labelled
    with the timepoints. The baseline is drawn at 0. PNGs carry no software/date metadata.
    """
    import io

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
        title = (
            f"{metric} ({wm['unit'].iloc[0]}): change from baseline, Hodges-Lehmann "
            f"pseudo-median and 95 % CI - view {view}"
        )
        lines = textwrap.wrap(title, width=int(3.2 * ncol * 10), break_on_hyphens=False)
        caption = textwrap.wrap(
            "timepoint (n: subjects per arm; missing visits make it differ between timepoints)",
            width=int(3.2 * ncol * 12),
        )
        head, foot = 0.3 + 0.2 * len(lines), 0.15 + 0.17 * len(caption)  # inches
        height = 2.6 * nrow + head + foot
        fig, axes = plt.subplots(
            nrow, ncol, figsize=(3.2 * ncol, height), squeeze=False, sharex=True
        )
        ticks = dict(zip(wm["timepoint_rank"], wm["timepoint"].astype(str), strict=False))
        ticks.setdefault(0, "baseline")
        xs = list(timepoints.values()) if timepoints else list(ticks)
        dodge = 0.02 * ((max(xs) - min(xs)) or 1.0)
        arms = sorted(wm["arm"].unique())
        labels = {a: _arm_label(a, wm[wm["arm"] == a]) for a in arms}
        for ax, region in zip(axes.flat, regions, strict=False):
            _draw_panel(ax, wm[wm["region"] == region], arms, labels, timepoints, dodge)
            ax.axhline(0.0, color="0.6", lw=0.8)
            ax.set_title(region, fontsize=9)
            ax.tick_params(labelsize=7)
            ax.locator_params(axis="y", nbins=4)
            if not timepoints:
                ax.set_xticks(sorted(ticks))
                ax.set_xticklabels([ticks[k] for k in sorted(ticks)])
        for ax in list(axes.flat)[len(regions) :]:
            ax.set_visible(False)
        axes.flat[0].legend(fontsize=7)
        fig.suptitle("\n".join(lines), fontsize=10)
        fig.supxlabel("\n".join(caption), fontsize=8)
        fig.subplots_adjust(
            left=0.45 / (3.2 * ncol),
            right=0.98,
            bottom=(foot + 0.25) / height,
            top=1.0 - head / height,
            wspace=0.3,
            hspace=0.45,
        )
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=90, metadata={"Software": None})
        plt.close(fig)
        p = out / name
        atomic_write_bytes(p, buf.getvalue(), force=True)
        paths.append(p)
    return paths
