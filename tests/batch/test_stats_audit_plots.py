"""Trajectory plots draw what the table calls the estimate: no bar where the interval is NaN,
a legend entry for subjects without an arm, a title inside the figure, arms side by side."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_stats_audit_estimates import results

from mesovision import stats


@pytest.fixture
def figures(monkeypatch):
    """The figures ``plot_trajectories`` draws, kept open for inspection."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kept = []
    monkeypatch.setattr(plt, "close", lambda fig=None: kept.append(fig))
    yield kept
    for fig in kept:
        plt.figure(fig.number)
        fig.clf()
    matplotlib.pyplot.close("all")


def _table() -> pd.DataFrame:
    """Arms a_ctrl and b_act of 8 and subjects without an arm (6) at weeks 4 and 12; b_act
    keeps 5 subjects at week 12, too few for any 95 % interval (NaN)."""
    rng = np.random.default_rng(3)
    parts = []
    for tp, rank in (("4", 1), ("12", 2)):
        arms = {"a_ctrl": rng.normal(0, 1, 8), "b_act": rng.normal(1, 1, 8 if rank == 1 else 5)}
        df = results({k: list(v) for k, v in arms.items()}, endpoint="secondary")
        none = results({"x": list(rng.normal(0, 1, 6))}).assign(arm=None)
        parts.append(pd.concat([df, none]).assign(timepoint=tp, timepoint_rank=rank))
    return pd.concat(parts, ignore_index=True)


def test_trajectory_plot_draws_the_estimate_and_only_finite_intervals(tmp_path, figures):
    st = stats.compute_stats(_table())
    (path,) = stats.plot_trajectories(st, tmp_path, timepoints={0: 0.0, 1: 4.0, 2: 12.0})
    assert path.name == "trajectory_front_redness.mean_a.png"
    (fig,) = figures
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["no arm (n 6)", "a_ctrl (n 8)", "b_act (n 5-8)"]
    lines = {ln.get_label(): ln for ln in ax.get_lines() if ln.get_label() in labels}
    w = st[st["test"] == "within"]
    for arm, label in (("a_ctrl", "a_ctrl (n 8)"), ("b_act", "b_act (n 5-8)")):
        y = lines[label].get_ydata()
        expected = w[w["arm"] == arm].sort_values("timepoint_rank")["estimate"]
        assert np.allclose(y, [0.0, *expected])  # the table's estimate, not the mean
    # arms at one timepoint are side by side, not on top of each other
    x = {label: ln.get_xdata()[1] for label, ln in lines.items()}
    assert len({round(v, 6) for v in x.values()}) == 3 and max(x.values()) - min(x.values()) < 1
    # a bar for each finite interval: b_act's week 12 (5 subjects) has none, not a zero bar
    finite = int((w["ci_low"].notna() & w["ci_high"].notna()).sum())
    assert finite == 5
    bars = [c for c in ax.containers if type(c).__name__ == "ErrorbarContainer"]
    assert sum(len(c.lines[2][0].get_segments()) for c in bars) == finite
    # the title is wrapped inside the figure, above the panel's title
    fig.canvas.draw()
    title = fig._suptitle.get_window_extent()
    width = fig.get_size_inches()[0] * fig.dpi
    assert "\n" in fig._suptitle.get_text() and 0 <= title.x0 and title.x1 <= width
    assert title.y0 > ax.title.get_window_extent().y1
    assert "Hodges-Lehmann pseudo-median" in " ".join(fig._suptitle.get_text().split())
