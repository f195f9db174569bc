"""What ``mesovision stats`` refuses and warns of, and what it says: a results table without a
column it reads, a subject twice in one group, a --primary endpoint with nothing to test, the
discoveries of each FDR family apart, a split-face arm, and missing visits."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import message_lines
from test_stats_audit_estimates import results

from mesovision import stats
from mesovision.cli import main
from mesovision.errors import UsageError


def _batch(tmp_path, df) -> str:
    out = tmp_path / "out"
    out.mkdir()
    df.to_parquet(out / "results.parquet")
    return str(out)


def _cohort(seed: int = 1) -> pd.DataFrame:
    """Two arms of 8: b_act falls by 2 (every subject), a_ctrl does not move."""
    rng = np.random.default_rng(seed)
    return results({"a_ctrl": list(rng.normal(0, 0.3, 8)), "b_act": list(rng.normal(-2, 0.3, 8))})


@pytest.mark.parametrize("drop", [["direction"], ["comparison", "direction"]])
def test_a_results_table_without_a_column_stats_reads_is_refused(tmp_path, capsys, drop):
    out = _batch(tmp_path, _cohort().drop(columns=drop))
    assert main(["stats", out, "--no-plots"]) == 2
    captured = capsys.readouterr()
    (line,) = message_lines(captured.err)
    assert line.startswith(f"mesovision: error: {out}/results.parquet: not a results table")
    assert f"no column {', '.join(sorted(drop))} (stats needs subject," in line
    assert captured.out == "" and not (tmp_path / "out/stats").exists()


def test_a_subject_twice_in_a_group_is_refused(tmp_path, capsys):
    """Two copies of one table: 16 rows per arm would double n and shrink p (6 subjects:
    p 0.031 -> 0.00049); one line names the subject and its group."""
    df = _cohort()
    with pytest.raises(UsageError, match="subject a_ctrl_0 has 2 baseline changes in one group"):
        stats.compute_stats(pd.concat([df, df]))
    out = _batch(tmp_path, pd.concat([df, df.iloc[[3]]]))
    assert main(["stats", out]) == 2
    (line,) = message_lines(capsys.readouterr().err)
    assert line == (
        f"mesovision: error: {out}/results.parquet: subject a_ctrl_3 has 2 baseline changes in "
        "one group (arm a_ctrl, view front, timepoint 4, region left_cheek, metric "
        "redness.mean_a): duplicate rows (tables concatenated or merged twice?) would count one "
        "subject as several; keep one row per subject"
    )
    assert not (tmp_path / "out/stats").exists()


def test_a_primary_endpoint_without_a_finite_change_is_refused(tmp_path, capsys):
    """A mm metric of a batch without a scale is NaN for every subject: naming it the primary
    endpoint would give no primary test at all, exit 0; it is refused, saying why."""
    df = _cohort()
    mm = df.assign(metric="swelling.contour_mm", unit="mm", delta=np.nan, after=np.nan)
    other = df.assign(region="chin", metric="texture.roughness_ra", unit="")
    out = _batch(tmp_path, pd.concat([df, mm, other]))
    assert main(["stats", out, "--primary", "left_cheek:swelling.contour_mm"]) == 2
    (line,) = message_lines(capsys.readouterr().err)
    assert line == (
        "mesovision: error: --primary left_cheek:swelling.contour_mm: no finite change (needs a "
        "scale: px_per_mm or ipd_mm); it would give no primary test"
    )
    assert not (tmp_path / "out/stats").exists()
    # a region and a metric that exist only apart
    assert main(["stats", out, "--primary", "chin:redness.mean_a"]) == 2
    (line,) = message_lines(capsys.readouterr().err)
    assert "no change of metric redness.mean_a in region chin" in line
    # every change declared not comparable
    nc = pd.concat([df, other.assign(comparability="not_comparable")])
    with pytest.raises(UsageError, match="every change from baseline declared not comparable"):
        stats.primary_endpoints(nc, "texture.roughness_ra")
    assert main(["stats", out, "--no-plots", "--primary", "redness.mean_a"]) == 0


def test_discoveries_are_counted_per_fdr_family(tmp_path, capsys):
    """The four families are each controlled at 5 % on their own: the summary line and
    summary.json give each family's count, not one sum."""
    df = _cohort()
    sec = df.assign(metric="texture.roughness_ra", endpoint="secondary", unit="")
    out = _batch(tmp_path, pd.concat([df, sec]))
    assert main(["stats", out, "--no-plots"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == (
        "4 within-arm and 2 between-arm tests (3 of primary endpoints; 0 too small to reach "
        "p < 0.05, not counted); significant at FDR 5 % within each family: within primary 1, "
        "within secondary 1, between primary 1, between secondary 1"
    )
    doc = json.loads((tmp_path / "out/stats/summary.json").read_text())
    assert doc["tests"]["significant_fdr"] == {
        "within": {"primary": 1, "secondary": 1},
        "between": {"primary": 1, "secondary": 1},
        "split": {"primary": 0, "secondary": 0},
    }


def _split_face(seed: int = 4) -> pd.DataFrame:
    """The audit's split-face arm: 12 subjects, the left cheek treated in even subjects, the
    right in odd ones; the treated side falls by 2, the other does not move (SD 1)."""
    rng = np.random.default_rng(seed)
    parts = []
    for i in range(12):
        treated = "left_cheek" if i % 2 == 0 else "right_cheek"
        for region in ("left_cheek", "right_cheek"):
            d = (-2.0 if region == treated else 0.0) + rng.normal(0, 1)
            row = results({"split": [d]}, endpoint="primary" if region == treated else "secondary")
            parts.append(row.assign(subject=f"s{i}", region=region))
    return pd.concat(parts, ignore_index=True)


def test_an_arm_whose_subjects_treat_different_sides_is_warned_of(tmp_path, capsys):
    df = _split_face()
    (line,) = stats.treated_sides_differ(df)
    assert line.startswith(
        "arm split: its subjects' treated regions differ (subjects per treated regions: "
        "left_cheek: 6; right_cheek: 6): each region's test pools treated and untreated sides; "
        "where a subject treats one side of a left/right pair, the split rows (test split) "
        "compare its treated side with its other side"
    )
    assert stats.treated_sides_differ(_cohort()) == []
    out = _batch(tmp_path, df)
    assert main(["stats", out, "--no-plots"]) == 0
    captured = capsys.readouterr()
    warned = [ln for ln in message_lines(captured.err) if "WARNING" in ln]
    assert warned == [f"mesovision: WARNING: {line}"]
    assert captured.out.startswith(
        "2 within-arm, 0 between-arm and 1 split-face tests (3 of primary endpoints; 0 too small "
        "to reach p < 0.05, not counted); significant at FDR 5 % within each family: within "
        "primary 1, within secondary 0, between primary 0, between secondary 0, split primary 1, "
        "split secondary 0\n"
    )


def test_split_face_rows_recover_the_treated_sides_effect():
    """The audit's design: the true effect is -2 on the treated side of every subject. Each
    region's within-arm test pools 6 treated and 6 untreated cheeks (estimates -1.6 and -0.5,
    one not significant); the split row, treated minus other side per subject, recovers -2
    with the exact Wilcoxon p of the 12 differences."""
    from scipy import stats as ss

    df = _split_face()
    st = stats.compute_stats(df)
    sp = st[st["test"] == "split"]
    assert len(sp) == 1
    r = sp.iloc[0]
    assert (r["arm"], r["region"], r["endpoint"], r["n"]) == ("split", "cheek", "primary", 12)
    assert r["estimate_name"] == "hodges-lehmann pseudo-median (treated - other side)"
    w = df.pivot(index="subject", columns="region", values="delta")
    treated = df[df["endpoint"] == "primary"].set_index("subject")["region"]
    d = np.array([w.loc[s, t] - w.loc[s, ({"left_cheek", "right_cheek"} - {t}).pop()]
                  for s, t in treated.items()])  # fmt: skip
    assert r["p_value"] == pytest.approx(ss.wilcoxon(d, method="exact").pvalue, rel=1e-9)
    assert r["p_value"] < 0.01 and r["significant_fdr"]
    assert r["ci_low"] < -2.0 < r["ci_high"] and r["ci_high"] < -1.0
    # the numbers docs/research.md quotes
    assert (r["estimate"], r["ci_low"], r["ci_high"], r["p_value"]) == pytest.approx(
        (-2.454562, -3.320385, -1.227905, 0.002441), abs=1e-6
    )
    assert sorted(st.loc[st["test"] == "within", "estimate"].round(2)) == [-1.62, -0.55]
    assert r["mean"] == pytest.approx(d.mean(), rel=1e-9)
    within = st[st["test"] == "within"].set_index("region")
    assert within["estimate"].max() > -1.0  # the pooled side halves the effect
    # a subject treating both sides (or neither) gives no split difference
    both = df.assign(endpoint="primary")
    assert not (stats.compute_stats(both)["test"] == "split").any()
    # pre-registered endpoints: a split row is primary when its metric (or a side) is named
    pre = stats.compute_stats(df, primary={"right_cheek:redness.mean_a"})
    assert pre.loc[pre["test"] == "split", "endpoint"].item() == "primary"
    pre = stats.compute_stats(df, primary={"chin:redness.mean_a"})
    assert pre.loc[pre["test"] == "split", "endpoint"].item() == "secondary"


def test_n_differing_between_timepoints_is_warned_of():
    df = _cohort()
    late = df.assign(timepoint="12", timepoint_rank=2)
    late = late[late["subject"] != "b_act_0"]  # a missed visit
    (line,) = stats.n_differs(stats.compute_stats(pd.concat([df, late])))
    assert line.startswith(
        "arm b_act: n differs between timepoints in 1 of 1 view x region x metric (e.g. front "
        "left_cheek redness.mean_a: 7 to 8 subjects)"
    )
    every = pd.concat([df, df.assign(timepoint_rank=2, timepoint="12")])
    assert stats.n_differs(stats.compute_stats(every)) == []
