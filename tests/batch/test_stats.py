"""Statistics on tidy results: known effects recovered, hand-computed values, published ICCs,
the SDC as noise floor, and the stats command."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest
from conftest import message_lines

from mesovision import stats
from mesovision._version import __version__ as mv_version
from mesovision.cli import main
from mesovision.errors import UsageError

Z95 = 1.959963984540054


def _results(
    *,
    n: int = 12,
    shift: float = 2.0,
    sd: float = 0.5,
    seed: int = 7,
    timepoints=(0, 4, 12),
) -> pd.DataFrame:
    """A results table like batch writes: arms control (no effect) and treated (``shift`` x
    t / t_last), one region x metric, ``n`` subjects per arm, Gaussian noise ``sd`` centred
    within each arm x timepoint (so that the sample mean change is exactly the effect)."""
    rng = np.random.default_rng(seed)
    noise = rng.normal(0.0, sd, size=(2, len(timepoints), n))
    noise -= noise.mean(axis=2, keepdims=True)
    rows = []
    for a, arm in enumerate(("control", "treated")):
        for i in range(n):
            subj = f"{arm[0]}{i:02d}"
            base = rng.normal(10.0, 2.0)
            for rank, t in enumerate(timepoints[1:], start=1):
                eff = shift * t / timepoints[-1] if arm == "treated" else 0.0
                d = eff + noise[a, rank, i]
                extra = {"noise_floor": 1.0, "noise_floor_pair": 1.0, "sdc": math.nan}
                rows.append(
                    result_row(
                        subj,
                        arm,
                        d,
                        timepoint=t,
                        rank=rank,
                        reference=timepoints[0],
                        before=base,
                        significant=abs(d) > 1.0,
                        **extra,
                    )  # fmt: skip
                )
    return pd.DataFrame(rows)


def result_row(
    subject: str, arm: str, delta: float, *, timepoint=4, rank=1, reference=0, before=10.0, **extra
) -> dict:
    """One row of a results table as batch writes it: the baseline change ``delta`` of the left
    cheek's redness of ``subject`` at ``timepoint`` (``extra``: more columns)."""
    return {
        "subject": subject,
        "arm": arm,
        "view": "front",
        "timepoint": timepoint,
        "timepoint_rank": rank,
        "reference_timepoint": reference,
        "reference_timepoint_rank": 0,
        "comparison": "baseline",
        "repeat": 1,
        "region": "left_cheek",
        "metric": "redness.mean_a",
        "unit": "a*",
        "direction": "higher_is_worse",
        "before": before,
        "after": before + delta,
        "delta": float(delta),
        **extra,
    }


@pytest.fixture(scope="module")
def table():
    df = _results()
    return df, stats.compute_stats(df)


def _row(st, **kw):
    sel = st
    for k, v in kw.items():
        sel = sel[sel[k] == v]
    assert len(sel) == 1, kw
    return sel.iloc[0]


def test_known_shift_is_recovered_within_arm(table):
    df, st = table
    r = _row(st, test="within", arm="treated", timepoint="12")
    assert r["n"] == 12
    assert r["ci_low"] < 2.0 < r["ci_high"]
    assert r["ci_high"] - r["ci_low"] < 1.0
    # every change positive: exact two-sided Wilcoxon p = 2 / 2^12
    assert r["p_value"] == pytest.approx(2 / 2**12, rel=1e-6)
    assert r["effect_size"] == 1.0
    d = df[(df["arm"] == "treated") & (df["timepoint"] == 12)]["delta"]
    assert r["mean"] == pytest.approx(d.mean(), rel=1e-9) and d.mean() == pytest.approx(2.0)
    assert r["estimate"] == pytest.approx(stats.pseudo_median(d.to_numpy()), rel=1e-9)
    assert r["mean_ci_low"] < 2.0 < r["mean_ci_high"]
    assert r["cohens_dz"] == pytest.approx(d.mean() / d.std(ddof=1), rel=1e-9)
    c = _row(st, test="within", arm="control", timepoint="12")
    assert c["p_value"] > 0.2 and c["ci_low"] < 0.0 < c["ci_high"]
    assert not c["significant_fdr"] and r["significant_fdr"]


def test_known_shift_is_recovered_between_arms(table):
    df, st = table
    r = _row(st, test="between", timepoint="12")
    assert (r["arm_a"], r["arm_b"], r["arm"]) == ("control", "treated", "treated - control")
    assert r["ci_low"] < 2.0 < r["ci_high"]
    assert r["p_value"] < 1e-4 and r["effect_size"] > 0.9
    e = _row(st, test="between", timepoint="4")  # shift 2 * 4/12
    assert e["ci_low"] < 2 / 3 < e["ci_high"]
    # FDR within each family: p_fdr >= p and the family sizes are the tests of that kind
    for fam in ("within", "between"):
        f = st[st["test"] == fam]
        q = stats.benjamini_hochberg(f["p_value"].to_numpy())
        assert np.allclose(f["p_fdr"], q, rtol=1e-9)
        assert (f["p_fdr"] >= f["p_value"] - 1e-15).all()


def test_changes_not_comparable_are_left_out():
    """A change whose family the pair's verdicts declare not comparable was not tested: it does
    not enter the arm's mean, test or count (a table without the column keeps every change)."""
    df, st = _results(), None
    d = df.assign(comparability="comparable")
    bad = (d["arm"] == "treated") & (d["timepoint"] == 12) & (d["subject"] == "t00")
    d.loc[bad, "comparability"] = "not_comparable"
    d.loc[bad, "delta"] = 1000.0  # a mismatch's delta: it must not move the mean
    st = stats.compute_stats(d)
    r = _row(st, test="within", arm="treated", timepoint="12")
    keep = d[(d["arm"] == "treated") & (d["timepoint"] == 12) & ~bad]["delta"]
    assert r["n"] == 11 and r["mean"] == pytest.approx(keep.mean(), rel=1e-9)
    full = _row(stats.compute_stats(df), test="within", arm="treated", timepoint="12")
    assert full["n"] == 12


def test_no_effect_gives_large_p():
    df = _results(shift=0.0, seed=3)
    st = stats.compute_stats(df)
    assert (st["p_value"] > 0.05).all()
    assert not st["significant_fdr"].any()


def test_stats_are_reproducible_and_independent_of_other_groups(table):
    # (the intervals are computed, not resampled: nothing is seeded)
    df, st = table
    again = stats.compute_stats(df)
    pd.testing.assert_frame_equal(st, again)
    only = stats.compute_stats(df[df["timepoint"] == 12])
    a = _row(st, test="within", arm="treated", timepoint="12")
    b = _row(only, test="within", arm="treated", timepoint="12")
    assert (a["ci_low"], a["ci_high"]) == (b["ci_low"], b["ci_high"])


def test_hand_computed_building_blocks():
    # Wilcoxon on [1, 2, -3, 4, 5]: R+ = 12, R- = 3; exact p = 2 * 5/32
    stat, p, rb = stats.wilcoxon_signed_rank(np.array([1.0, 2.0, -3.0, 4.0, 5.0]))
    assert (stat, rb) == (3.0, 0.6) and p == pytest.approx(10 / 32)
    assert stats.wilcoxon_signed_rank(np.zeros(4)) == (0.0, 1.0, 0.0)
    # Hodges-Lehmann: differences 2, 4, 1, 3 -> median 2.5
    assert stats.hodges_lehmann(np.array([0.0, 1.0]), np.array([2.0, 4.0])) == 2.5
    u, p, r = stats.mann_whitney(np.array([1.0, 2.0, 3.0]), np.array([4.0, 5.0, 6.0]))
    assert (u, r) == (9.0, 1.0) and p == pytest.approx(0.1)
    # Benjamini-Hochberg by hand (and NaN left out of m)
    q = stats.benjamini_hochberg([0.01, 0.04, 0.03, 0.5, np.nan])
    assert np.allclose(q[:4], [0.04, 0.04 * 4 / 3, 0.04 * 4 / 3, 0.5]) and np.isnan(q[4])
    scipy_stats = pytest.importorskip("scipy.stats")
    p = np.random.default_rng(0).uniform(size=50) ** 3
    assert np.allclose(stats.benjamini_hochberg(p), scipy_stats.false_discovery_control(p))


def test_mean_interval_is_student_t_and_covers_95_percent_at_small_n():
    # [1, 2, 3, 6]: mean 3, SD sqrt(14/3), t(0.975, 3) = 3.182446305
    lo, hi = stats.mean_ci(np.array([1.0, 2.0, 3.0, 6.0]))
    half = 3.182446305284263 * math.sqrt(14 / 3) / 2
    assert (lo, hi) == (pytest.approx(3 - half, rel=1e-12), pytest.approx(3 + half, rel=1e-12))
    assert all(math.isnan(v) for v in stats.mean_ci(np.array([1.0])))
    assert all(math.isnan(v) for v in stats.mean_ci(np.array([1.0, np.inf])))
    # Normal changes, 4000 samples each: a percentile bootstrap covers 75 % at n = 3 and 83 %
    # at n = 5; this interval 95 % (binomial SD 0.34 %).
    rng = np.random.default_rng(11)
    for n in (2, 3, 5):
        cover = [lo <= 0.0 <= hi for lo, hi in map(stats.mean_ci, rng.normal(size=(4000, n)))]
        assert 0.94 <= np.mean(cover) <= 0.96, n


def test_mann_whitney_null_distribution_is_exact():
    # U of 2 and 2 values: 6 orderings, U = 0, 1, 2, 2, 3, 4
    assert np.allclose(stats.u_cdf(2, 2), np.array([1, 2, 4, 5, 6]) / 6)
    scipy_stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(5)
    for n_a, n_b in ((3, 4), (7, 5), (12, 12)):
        cdf = stats.u_cdf(n_a, n_b)
        for _ in range(10):
            a, b = rng.normal(size=n_a), rng.normal(size=n_b)
            res = scipy_stats.mannwhitneyu(b, a, method="exact")
            u = int(res.statistic)
            p = min(1.0, 2 * min(cdf[u], 1 - (cdf[u - 1] if u else 0.0)))
            assert p == pytest.approx(res.pvalue, rel=1e-9)


def test_hodges_lehmann_interval_is_distribution_free():
    # 4 and 4 values: P(U <= 0) = 1/70 is the largest tail under 2.5 %, so the interval runs
    # from the smallest to the largest of the 16 differences (coverage 1 - 2/70)
    a, b = np.array([0.0, 1.0, 2.0, 3.0]), np.array([5.0, 7.0, 8.0, 10.0])
    assert stats.hl_ci(a, b) == (2.0, 10.0)
    # 3 and 3 values give no 95 % interval (no Mann-Whitney p under 0.1 either)
    assert all(math.isnan(v) for v in stats.hl_ci(a[:3], b[:3]))
    # Skewed changes shifted by 0.7, 2000 samples: coverage at least 95 % (binomial SD 0.5 %)
    # from the exact distribution (8 and 8) and from the normal one (60 and 55); the percentile
    # bootstrap covered 80 % at 3 and 3, 91 % at 5 and 5.
    rng = np.random.default_rng(3)
    for n_a, n_b, low, high in ((8, 8, 0.94, 0.965), (60, 55, 0.935, 0.965)):
        a = rng.standard_exponential(size=(2000, n_a))
        b = rng.standard_exponential(size=(2000, n_b)) + 0.7
        intervals = (stats.hl_ci(x, y) for x, y in zip(a, b, strict=True))
        cover = [lo <= 0.7 <= hi for lo, hi in intervals]
        assert low <= np.mean(cover) <= high, (n_a, n_b)


def test_degenerate_inputs_are_neither_silent_nor_half_finite():
    # all-equal arms: no difference (as all-zero changes give p = 1 within an arm)
    assert stats.mann_whitney(np.ones(3), np.ones(2)) == (3.0, 1.0, 0.0)
    for bad in ([0.01, np.inf], [0.01, -0.1], [1.5]):
        with pytest.raises(ValueError, match="p-values must lie in"):
            stats.benjamini_hochberg(bad)


def test_icc_against_hand_computation_and_shrout_fleiss():
    # n=4 targets, k=2: MSR = 49/3, MSC = 2, MSE = 1/3 (computed by hand)
    y = np.array([[1, 2], [3, 3], [5, 6], [7, 9]], float)
    r = stats.icc_agreement(y)
    assert r["icc"] == pytest.approx((49 / 3 - 1 / 3) / (49 / 3 + 1 / 3 + 2 * (2 - 1 / 3) / 4))
    assert r["icc"] == pytest.approx(16 / 17.5)
    assert r["sem"] == pytest.approx(math.sqrt((2 - 1 / 3) / 4 + 1 / 3))  # sqrt(0.75)
    assert r["sdc"] == pytest.approx(Z95 * math.sqrt(2) * math.sqrt(0.75))
    # Shrout & Fleiss (1979), Table 2: 6 targets x 4 judges, ICC(2,1) = 0.29
    sf = np.array(
        [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]],
        float,
    )
    assert round(stats.icc_agreement(sf)["icc"], 2) == 0.29
    assert math.isnan(stats.icc_agreement(y[:1])["icc"])


def test_measurement_error_from_repeat_rows():
    y = np.array([[1, 2], [3, 3], [5, 6], [7, 9]], float)
    rows = [
        {"view": "front", "subject": f"S{i}", "comparison": "repeat", "region": "chin",
         "metric": "m", "unit": "u", "before": b, "after": a, "delta": a - b}
        for i, (b, a) in enumerate(y)
    ] + [{"view": "front", "subject": "S9", "comparison": "baseline", "region": "chin",
          "metric": "m", "unit": "u", "before": 0.0, "after": 50.0, "delta": 50.0}]  # fmt: skip
    me = stats.measurement_error(pd.DataFrame(rows))
    assert list(me.columns) == list(stats.ME_COLUMNS)
    r = me.iloc[0]
    assert (r["view"], r["region"], r["metric"], r["n"]) == ("front", "chin", "m", 4)
    assert r["icc"] == pytest.approx(16 / 17.5, rel=1e-9)
    assert r["sdc"] == pytest.approx(Z95 * math.sqrt(1.5), rel=1e-9)
    assert (r["mean_repeat1"], r["mean_repeat2"], r["mean_diff"]) == (4.0, 5.0, 1.0)


def test_sdc_as_noise_floor():
    res = pd.DataFrame(
        {
            "view": ["front"] * 5,
            "region": ["chin", "chin", "chin", "nose", "chin"],
            "metric": ["m"] * 5,
            "delta": [1.5, 2.5, -1.5, 1.5, 2.5],
            "noise_floor": [1.0, 1.0, 3.0, 1.0, math.nan],
            "noise_floor_pair": [1.0, 1.0, 3.0, 1.0, math.nan],
            "sdc": [math.nan] * 5,
            "significant": [True, True, False, True, False],
        }
    )
    sdc = pd.DataFrame({"view": ["front"], "region": ["chin"], "metric": ["m"], "sdc": [2.0]})
    out = stats.apply_sdc(res, sdc)
    assert list(out["noise_floor"])[:4] == [2.0, 2.0, 3.0, 1.0]  # max(pair floor, SDC)
    assert math.isnan(out["noise_floor"].iloc[4])  # an unknown pair floor stays unknown
    assert list(out["significant"]) == [False, True, False, True, False]
    assert out["sdc"].iloc[[0, 1, 2, 4]].tolist() == [2.0] * 4 and math.isnan(out["sdc"].iloc[3])
    assert list(res["significant"]) == [True, True, False, True, False]  # input untouched


def test_stats_command_writes_tables_and_plots(tmp_path, capsys):
    from mesovision.tables import write_table

    out = tmp_path / "out"
    out.mkdir()
    df = _results()
    write_table(df, out / "results.csv", out / "results.parquet")
    code = main(["stats", str(out), "--metrics", "redness.*"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "4 within-arm and 2 between-arm tests" in printed
    st = pd.read_csv(out / "stats/stats.csv")
    assert set(st["test"]) == {"within", "between"}
    png = out / "stats/plots/trajectory_front_redness.mean_a.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    first = {p.name: p.read_bytes() for p in (out / "stats").glob("stats.*")}
    # what the tables came from: the results' hash, the options, the versions, the counts
    import json

    from mesovision.io import sha256_file

    doc = json.loads((out / "stats/summary.json").read_text())
    assert doc["results_sha256"] == sha256_file(out / "results.parquet")
    assert doc["options"] == {"primary": None, "metrics": "redness.*", "plots": True}
    assert doc["tests"]["within"] == 4 and doc["provenance"]["mesovision"] == mv_version
    assert main(["stats", str(out), "--no-plots"]) == 0
    assert {p.name: p.read_bytes() for p in (out / "stats").glob("stats.*")} == first
    assert not png.exists()  # the earlier run's plot does not stand beside the new tables
    # no results: one line, exit 3
    capsys.readouterr()
    assert main(["stats", str(tmp_path / "nothing")]) == 3
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no results.parquet here" in err[0]


@pytest.mark.parametrize("globs", ["nomatch.*", "redness.*, nomatch.*", " , "])
def test_stats_metrics_glob_matching_nothing_is_refused_before_anything_is_written(
    tmp_path, capsys, globs
):
    from mesovision.tables import write_table

    out = tmp_path / "out"
    out.mkdir()
    write_table(_results(), out / "results.csv", out / "results.parquet")
    assert main(["stats", str(out), "--metrics", "redness.*"]) == 0
    before = _files(out)
    capsys.readouterr()
    assert main(["stats", str(out), "--metrics", globs]) == 2
    assert _files(out) == before  # the previous tables and plots, untouched
    captured = capsys.readouterr()
    assert captured.out == ""
    if globs.strip(" ,"):
        expected = "--metrics 'nomatch.*' matches no metric of the results"
    else:
        expected = "--metrics ' , ' gives no glob"
    assert captured.err.splitlines() == [f"mesovision: error: {expected}; metrics: redness.mean_a"]
    assert (
        main(["stats", str(tmp_path / "out"), "-o", str(tmp_path / "new"), "--metrics", globs]) == 2
    )
    assert not (tmp_path / "new").exists()


def _files(folder) -> dict[str, tuple[bytes, int]]:
    """Every file under ``folder``: bytes and inode."""
    return {
        str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_ino)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_only_an_earlier_runs_own_plots_are_removed(tmp_path):
    """A run drawing fewer plots removes the earlier run's plots it does not draw again, and
    only those mesovision listed: a user's file beside them, a link, and a marker entry leading
    out of the folder are left alone."""
    import json

    from mesovision.tables import OUTPUT_MARKER, drop_stale_outputs, write_table

    out = tmp_path / "out"
    out.mkdir()
    a, b = _results(), _results(seed=8)
    b["metric"], b["unit"] = "texture.roughness_ra", "L*"  # a second metric: a second plot
    write_table(pd.concat([a, b]), out / "results.csv", out / "results.parquet")
    assert main(["stats", str(out)]) == 0
    sd = out / "stats"
    drawn = sorted(p.name for p in (sd / "plots").glob("*.png"))
    assert drawn == [
        "trajectory_front_redness.mean_a.png",
        "trajectory_front_texture.roughness_ra.png",
    ]
    (sd / "plots" / "mine.png").write_bytes(b"user")
    outside = tmp_path / "keep.png"
    outside.write_bytes(b"keep")
    marker = json.loads((sd / OUTPUT_MARKER).read_text())
    marker["files"] += ["plots/../../keep.png"]
    (sd / OUTPUT_MARKER).write_text(json.dumps(marker))
    assert main(["stats", str(out), "--metrics", "redness.mean_a"]) == 0
    left = sorted(p.name for p in (sd / "plots").iterdir())
    assert left == ["mine.png", "trajectory_front_redness.mean_a.png"]
    assert outside.read_bytes() == b"keep"
    listed = json.loads((sd / OUTPUT_MARKER).read_text())["files"]
    assert "plots/trajectory_front_redness.mean_a.png" in listed
    assert "plots/trajectory_front_texture.roughness_ra.png" not in listed
    assert drop_stale_outputs(sd, "plots/", ["plots/mine.png"]) == [
        "plots/trajectory_front_redness.mean_a.png"
    ]
    assert sorted(p.name for p in (sd / "plots").iterdir()) == ["mine.png"]


def test_stats_outputs_are_written_all_together_or_not_at_all(tmp_path, monkeypatch):
    """Interrupted after the tables are staged, before the plots: the previous tables and plots
    stay as they were and nothing is left; a staging folder left by a killed run is removed by
    the next run, and the next run replaces every file."""
    from mesovision.tables import OUTPUT_MARKER, write_table

    out = tmp_path / "out"
    out.mkdir()
    write_table(_results(), out / "results.csv", out / "results.parquet")
    argv = ["stats", str(out), "--metrics", "redness.*"]
    assert main(argv) == 0
    sd = out / "stats"
    before = _files(sd)
    assert set(before) == {
        "stats.csv",
        "stats.parquet",
        "summary.json",
        "plots/trajectory_front_redness.mean_a.png",
        OUTPUT_MARKER,
    }

    def plots_interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(stats, "plot_trajectories", plots_interrupted)
    assert main(argv) == 130
    assert _files(sd) == before  # not even replaced by equal files
    monkeypatch.undo()
    killed = sd / ".stats.abcd1234.partial"  # what a SIGKILL while writing leaves
    (killed / "plots").mkdir(parents=True)
    (killed / "stats.csv").write_text("half")
    assert main(argv) == 0
    assert not killed.exists()
    after = _files(sd)
    assert set(after) == set(before)
    for name in ("stats.csv", "stats.parquet", "plots/trajectory_front_redness.mean_a.png"):
        assert after[name][0] == before[name][0] and after[name][1] != before[name][1], name
    assert [p.name for p in sd.iterdir() if p.name.startswith(".")] == [OUTPUT_MARKER]


def test_stats_prints_each_significant_row_with_its_unit_and_n(tmp_path, capsys, monkeypatch):
    """Each printed estimate carries its metric's unit and the subjects it comes from (``n``
    within an arm, ``n_a+n_b`` between arms); the rows beyond those shown are counted."""
    from mesovision.commands import stats as command
    from mesovision.tables import write_table

    out = tmp_path / "out"
    out.mkdir()
    write_table(_results(n=12, shift=4.0), out / "results.csv", out / "results.parquet")
    assert main(["stats", str(out), "--no-plots"]) == 0
    lines = capsys.readouterr().out.splitlines()[1:-1]
    st = pd.read_parquet(out / "stats/stats.parquet")
    sig = st[st["significant_fdr"]]
    assert len(sig) == len(lines) == 4  # the treated arm and the arms' difference at 4 and 12
    for line in lines:
        assert re.search(r" [+-][0-9.]+ a\* \[[+-][0-9.]+, [+-][0-9.]+\] n=(12|12\+12) q=", line)
    between = [line for line in lines if line.split()[0] == "between"]
    assert len(between) == 2 and all("n=12+12 q=" in line for line in between)
    monkeypatch.setattr(command, "SHOWN", 1)
    assert main(["stats", str(out), "--no-plots"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-2] == "  ... and 3 more significant (stats.csv: significant_fdr)"


def test_stats_refuses_a_plot_it_did_not_write(tmp_path, capsys):
    from mesovision.tables import write_table

    out = tmp_path / "out"
    (out / "stats" / "plots").mkdir(parents=True)
    write_table(_results(), out / "results.csv", out / "results.parquet")
    mine = out / "stats" / "plots" / "trajectory_front_redness.mean_a.png"
    mine.write_bytes(b"my own plot")
    argv = ["stats", str(out)]
    assert main(argv) == 9
    err = message_lines(capsys.readouterr().err)
    assert err == [
        f"mesovision: error: {mine}: exists and was not written by mesovision stats; use "
        "--force to replace it"
    ]
    assert mine.read_bytes() == b"my own plot"
    assert not (out / "stats" / "stats.csv").exists()
    assert main([*argv, "--no-plots"]) == 0  # the plot is not one of its outputs then
    assert mine.read_bytes() == b"my own plot"
    assert main([*argv, "--force"]) == 0
    assert mine.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_stats_help_explains_every_option_and_ends_with_examples(capsys):
    from mesovision.cli import build_parser

    commands = next(a.choices for a in build_parser()._actions if isinstance(a.choices, dict))
    for action in commands["stats"]._actions:
        assert action.help, action.option_strings or action.dest
    with pytest.raises(SystemExit):
        main(["stats", "--help"])
    text = capsys.readouterr().out
    tail = text[text.index("\nExamples:\n") :]
    assert tail.count("  mesovision stats ") == 4 and "--no-plots" in tail
    assert "``" not in text and "exit codes" not in text


def _study(n: int = 7, exploratory: int = 60, seed: int = 3) -> pd.DataFrame:
    """A small trial as a clinic runs one: ``n`` treated subjects whose treated cheek's
    redness (the declared endpoint: the batch's ``endpoint`` column ``primary``) rises in every
    one of them, and ``exploratory`` other measures of no effect (``secondary``), in a treated
    and a control arm of ``n`` subjects each, one follow-up."""
    rng = np.random.default_rng(seed)
    rows = []
    metrics = [("left_cheek", "redness.mean_a")] + [
        ("chin", f"texture.m{k}") for k in range(exploratory)
    ]
    for arm in ("control", "treated"):
        for i in range(n):
            for region, metric in metrics:
                primary = arm == "treated" and metric == "redness.mean_a"
                d = 3.0 + rng.normal(0, 0.3) if primary else rng.normal(0, 1)
                rows.append(
                    {
                        "subject": f"{arm[0]}{i}",
                        "arm": arm,
                        "view": "front",
                        "timepoint": 12,
                        "timepoint_rank": 1,
                        "reference_timepoint": 0,
                        "reference_timepoint_rank": 0,
                        "comparison": "baseline",
                        "region": region,
                        "metric": metric,
                        "unit": "a*",
                        "direction": "higher_is_worse",
                        "delta": d,
                        "endpoint": "primary" if primary else "secondary",
                    }
                )
    return pd.DataFrame(rows)


def test_primary_endpoints_are_not_diluted_by_the_exploratory_tests():
    """Seven of seven treated subjects improve on the declared endpoint (exact Wilcoxon p =
    2 / 2^7 = 0.0156): significant among the primary endpoints, where a study-wide
    Benjamini-Hochberg over the 60 exploratory measures as well would bury it (q = 0.0156 x 61
    = 0.95). The secondary tests are corrected among themselves."""
    df = _study()
    st = stats.compute_stats(df)
    r = _row(st, test="within", arm="treated", metric="redness.mean_a")
    assert r["endpoint"] == "primary" and r["p_value"] == pytest.approx(2 / 2**7)
    assert r["p_fdr"] == pytest.approx(2 / 2**7) and r["significant_fdr"]  # alone in its family
    b = _row(st, test="between", metric="redness.mean_a")  # the treated arm's rows are primary
    assert b["endpoint"] == "primary" and b["significant_fdr"]
    assert b["p_fdr"] == pytest.approx(b["p_value"])
    c = _row(st, test="within", arm="control", metric="redness.mean_a")
    assert c["endpoint"] == "secondary"
    pooled = stats.benjamini_hochberg(st.loc[st["test"] == "within", "p_value"].to_numpy())
    assert pooled.min() > 0.05  # what one family over everything would have said
    sec = st[(st["test"] == "within") & (st["endpoint"] == "secondary")]
    assert np.allclose(sec["p_fdr"], stats.benjamini_hochberg(sec["p_value"].to_numpy()))
    # results of a batch without the endpoint column: every test secondary, as before
    old = stats.compute_stats(df.drop(columns="endpoint"))
    assert (old["endpoint"] == "secondary").all()
    assert not old.loc[old["test"] == "within", "significant_fdr"].any()


def test_pre_registered_endpoints_replace_the_batchs():
    df = _study()
    st = stats.compute_stats(df, primary={"chin:texture.m0", "texture.m1"})
    primary = st[st["endpoint"] == "primary"]
    assert set(primary["metric"]) == {"texture.m0", "texture.m1"}
    assert _row(st, test="within", arm="treated", metric="redness.mean_a")["endpoint"] == (
        "secondary"
    )
    with pytest.raises(UsageError, match="no metric 'redness.x' in the results"):
        stats.primary_endpoints(df, "redness.x")
    with pytest.raises(UsageError, match="no region 'nose' in the results"):
        stats.primary_endpoints(df, "nose:redness.mean_a")
    assert stats.primary_endpoints(df, " left_cheek:redness.mean_a ,texture.m3") == {
        "left_cheek:redness.mean_a",
        "texture.m3",
    }


def test_a_test_that_cannot_reach_significance_is_not_counted():
    """Five subjects (smallest exact Wilcoxon p 2 / 2^5 = 0.0625) or fewer non-zero changes:
    the test cannot be a discovery, so it does not enlarge its family; its p_fdr is NaN. Arms
    of 2 and 3 (smallest Mann-Whitney p 2 / C(5, 2) = 0.2) likewise."""
    df = _study(n=7, exploratory=3)
    few = df[
        (df["arm"] == "control")
        & df["subject"].isin(["c0", "c1", "c2"])
        & (df["metric"] == "redness.mean_a")
    ].copy()
    few["metric"] = "texture.few"
    few.loc[few["subject"] == "c0", "delta"] = 0.0  # 2 non-zero changes
    st = stats.compute_stats(pd.concat([df, few]))
    r = _row(st, test="within", arm="control", metric="texture.few", region="left_cheek")
    assert r["n"] == 3 and r["n_nonzero"] == 2 and np.isnan(r["p_fdr"])
    assert not r["significant_fdr"] and stats.attainable(dict(r)) == 0.5
    counted = st[(st["test"] == "within") & (st["endpoint"] == "secondary") & st["p_fdr"].notna()]
    assert np.allclose(counted["p_fdr"], stats.benjamini_hochberg(counted["p_value"].to_numpy()))
    assert stats.attainable({"test": "between", "n_a": 2, "n_b": 3}) == pytest.approx(0.2)
    assert stats.attainable({"test": "within", "n_nonzero": 6}) == pytest.approx(2 / 64)


def test_an_arm_without_any_tested_change_is_said(tmp_path):
    """The control arm's comparisons were all declared not comparable (or failed): it has no
    row in the stats table, and stats says so instead of showing a trial without controls."""
    df = _study(n=6, exploratory=2)
    df["comparability"] = np.where(df["arm"] == "control", "not_comparable", "comparable")
    st = stats.compute_stats(df)
    assert set(st["arm"]) == {"treated"}
    status = tmp_path / "status.csv"
    pd.DataFrame(
        {"arm": ["control"] * 7 + ["treated"] * 6, "status": ["failed"] + ["ok"] * 12}
    ).to_csv(status, index=False)
    (line,) = stats.untested_arms(df, st, status)
    assert line.startswith(
        "arm control: no change from baseline could be tested (1 of its 7 comparisons failed "
        "or skipped, 18 of its 18 changes not comparable;"
    )
    assert (
        stats.untested_arms(df, stats.compute_stats(df.assign(comparability="comparable")), status)
        == []
    )


def test_a_batch_without_arms_and_without_any_test_is_said(tmp_path):
    """No arm column and every comparison failed or declared not comparable: no test at all,
    and stats says why instead of printing zero tests without a word."""
    df = _study(n=6, exploratory=2).assign(arm=None, comparability="not_comparable")
    st = stats.compute_stats(df)
    assert not (st["test"] == "within").any()
    status = tmp_path / "status.csv"
    pd.DataFrame({"status": ["failed"] * 2 + ["ok"] * 6}).to_csv(status, index=False)
    (line,) = stats.untested_arms(df, st, status)
    assert line.startswith(
        f"the batch: no change from baseline could be tested (2 of its 8 comparisons failed or "
        f"skipped, {len(df)} of its {len(df)} changes not comparable;"
    )
    ok = df.assign(comparability="comparable")
    assert stats.untested_arms(ok, stats.compute_stats(ok), status) == []


def test_a_timepoint_without_any_tested_change_in_an_arm_is_said(tmp_path):
    """Every week-12 comparison of the treated arm failed or was declared not comparable: that
    arm has rows at week 4 only (its n does not differ between the timepoints it has, and the
    arm has tests), and stats names the missing timepoint with its counts."""
    df = _results(n=6)
    t12 = (df["arm"] == "treated") & (df["timepoint"] == 12)
    df["comparability"] = np.where(t12, "not_comparable", "comparable")
    df = df[~(t12 & (df["subject"] == "t00"))]  # its comparison failed: no result rows
    st = stats.compute_stats(df)
    within = st[st["test"] == "within"]
    assert set(zip(within["arm"], within["timepoint"], strict=True)) == {
        ("control", "4"), ("control", "12"), ("treated", "4")}  # fmt: skip
    status = tmp_path / "status.csv"
    pd.DataFrame(
        [
            {
                "subject": s,
                "arm": a,
                "timepoint": str(t),
                "timepoint_rank": r,
                "comparison": "baseline",
                "status": "failed" if (s, t) == ("t00", 12) else "ok",
            }
            for a in ("control", "treated")
            for i in range(6)
            for s in [f"{a[0]}{i:02d}"]
            for t, r in ((4, 1), (12, 2))
        ]  # fmt: skip
    ).to_csv(status, index=False)
    assert stats.untested_arms(df, st, status) == [] and stats.n_differs(st) == []
    assert stats.untested_timepoints(df, st, status) == [
        "arm treated: no change from baseline could be tested at timepoint 12 (1 of its 6 "
        "comparisons failed or skipped, 5 of its 5 changes not comparable): no row of stats "
        "there, and its trajectory leaves it out (status.csv and the results' "
        "comparability_reason say why)"
    ]
    # without status.csv, the counts of the results
    (line,) = stats.untested_timepoints(df, st, tmp_path / "none.csv")
    assert "timepoint 12 (5 of its 5 changes not comparable)" in line
    everything = df.assign(comparability="comparable")
    assert stats.untested_timepoints(everything, stats.compute_stats(everything), status) == []


def test_a_batch_run_warns_of_statistics_of_earlier_results(tmp_path, caplog):
    import json

    from mesovision.batch.run import _warn_stale_stats
    from mesovision.io import sha256_file

    (tmp_path / "stats").mkdir()
    (tmp_path / "results.parquet").write_bytes(b"new results")
    summary = tmp_path / "stats" / "summary.json"
    summary.write_text(json.dumps({"results_sha256": "0" * 64}))
    with caplog.at_level("WARNING", logger="mesovision"):
        _warn_stale_stats(tmp_path)
    assert "statistics of earlier results; run mesovision stats" in caplog.text
    caplog.clear()
    summary.write_text(json.dumps({"results_sha256": sha256_file(tmp_path / "results.parquet")}))
    with caplog.at_level("WARNING", logger="mesovision"):
        _warn_stale_stats(tmp_path)
    assert caplog.text == ""


def test_new_batch_and_stats_folders_are_their_owners_only(tmp_path):
    """As a compare's output folder: the folders batch and stats create are mode 0700 (patient
    data), whatever the umask; the files in them are 0600."""
    import os
    import stat

    from mesovision.io import prepare_output_dir
    from mesovision.tables import write_table

    old = os.umask(0o022)
    try:
        out = prepare_output_dir(tmp_path / "out", ["results.csv", "plots/a.png"])
        write_table(_results(), out / "results.csv", out / "results.parquet")
        assert main(["stats", str(out), "--metrics", "redness.*"]) == 0
    finally:
        os.umask(old)
    for folder in (out, out / "plots", out / "stats", out / "stats" / "plots"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    for f in (out / "results.csv", out / "stats" / "stats.csv"):
        assert stat.S_IMODE(f.stat().st_mode) == 0o600, f
