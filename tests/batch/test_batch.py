"""The batch runner: manifest validation, per-item failures, caching and resume after kill -9,
byte-identical tables, the SDC as noise floor, and the dask backend.

One small generated trial (2 subjects x 3 timepoints + same-day repeats, 512-px photos) is
compared once per module; later tests reuse its cache (content-addressed) to stay fast.
"""

from __future__ import annotations

import contextlib
import csv
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from mesovision.cli import main

TABLES = ("results.csv", "results.parquet", "measurement_error.csv")
SAMPLES = Path(__file__).resolve().parents[2] / "sample_images"


def _cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mesovision", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _write_manifest(path: Path, rows: list[dict], columns: list[str] | None = None) -> Path:
    columns = columns or list(rows[0])
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=columns, lineterminator="\n", extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    return path


def _read_manifest(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def trial(tmp_path_factory):
    from mesovision.testing.trial import make_trial

    d = tmp_path_factory.mktemp("trial")
    return make_trial(
        d, n_subjects=2, timepoints=(0, 6, 12), repeat_timepoints=(0,), long_side_px=512
    )


@pytest.fixture(scope="module")
def run_a(trial, tmp_path_factory):
    """The uninterrupted reference run (CLI, 2 local workers)."""
    out = tmp_path_factory.mktemp("run") / "outA"
    p = _cli("batch", str(trial.manifest), "-o", str(out), "-j", "2")
    assert p.returncode == 0, p.stderr
    return out, p


# --------------------------------------------------------------------------------------------
# A whole run
# --------------------------------------------------------------------------------------------


def test_run_writes_tidy_tables_with_the_known_effect(run_a, trial):
    out, p = run_a
    assert "6 items: 6 ok, 0 failed, 0 skipped; 0 from the cache, 6 comparisons computed" in (
        p.stdout
    )
    outputs = p.stdout.splitlines()[-1].split(": ", 1)[1].split(", ")
    assert outputs == [
        "results.csv", "results.parquet", "status.csv", "measurement_error.csv", "summary.json",
        "cache/",
    ]  # fmt: skip
    assert all((out / f).exists() for f in outputs)
    # stderr: only our progress lines (no MediaPipe/TensorFlow noise from the workers)
    assert all(line.startswith("batch [") for line in p.stderr.splitlines()), p.stderr
    st = pd.read_csv(out / "status.csv")
    assert list(st["status"]) == ["ok"] * 6
    assert sorted(st["comparison"]) == ["baseline"] * 4 + ["repeat"] * 2
    res = pd.read_parquet(out / "results.parquet")
    csv_res = pd.read_csv(out / "results.csv")
    assert len(res) == len(csv_res) > 0
    assert list(res.columns) == list(csv_res.columns)
    for c in ("subject", "arm", "view", "timepoint", "reference_timepoint", "comparison",
              "region", "metric", "unit", "direction", "before", "after", "delta", "relative",
              "noise_floor", "significant", "residual_px", "residual_iod_pct", "coverage",
              "lighting_de00_after", "before_sha256", "after_sha256"):  # fmt: skip
        assert c in res.columns
    assert list(res["timepoint"].cat.categories) == ["0", "6", "12"]  # text, in numeric order
    assert res["timepoint_rank"].dtype == np.int64 and res["significant"].dtype == bool
    assert np.allclose(
        res["delta"], res["after"] - res["before"], rtol=1e-8, atol=1e-8, equal_nan=True
    )
    # p from the table's own columns: delta / se under null_scale x t(null_df), normal for NaN
    from scipy import stats

    tested = res[res["p"].notna() & (res["se"] > 0)]
    t = (tested["delta"].abs() / (tested["se"] * tested["null_scale"])).to_numpy()
    df = tested["null_df"].to_numpy()
    p = np.where(np.isnan(df), 2 * stats.norm.sf(t), 2 * stats.t.sf(t, np.nan_to_num(df, nan=1)))
    assert len(tested) > 100 and (tested["null_scale"] != 1).any() and np.isnan(df).any()
    assert np.allclose(p, tested["p"], rtol=1e-6, atol=1e-12)
    # Known truth: treated arm (S02), a* on the cheeks lowered by 6 x the feathered share.
    share = trial.truth["effect"]["expected_share_of_injected"]["astronaut"]
    for region in ("left_cheek", "right_cheek"):
        sel = res[
            (res["subject"] == "S02")
            & (res["comparison"] == "baseline")
            & (res["region"] == region)
            & (res["metric"] == "redness.mean_a")
        ].set_index("timepoint")
        assert sel.loc["12", "delta"] == pytest.approx(-6.0 * share[region], abs=1.0)
        assert sel.loc["6", "delta"] == pytest.approx(-3.0 * share[region], abs=1.0)
        assert bool(sel.loc["12", "significant"])
        ctrl = res[
            (res["subject"] == "S01")
            & (res["region"] == region)
            & (res["metric"] == "redness.mean_a")
        ]
        assert (ctrl["delta"].abs() < 1.5).all()
    me = pd.read_csv(out / "measurement_error.csv")
    row = me[(me["region"] == "left_cheek") & (me["metric"] == "redness.mean_a")].iloc[0]
    assert row["n"] == 2
    assert row["sdc"] == pytest.approx(1.959963984540054 * np.sqrt(2) * row["sem"], rel=1e-6)


def test_the_summary_counts_one_comparison_in_the_singular():
    from types import SimpleNamespace

    from mesovision.commands.batch import summary_text

    s = SimpleNamespace(
        n_items=2, n_ok=2, n_failed=0, n_skipped=0, n_cached=1, n_computed=1, seconds=1.25,
        failures=[], tables=[], out=Path("o"),
    )  # fmt: skip
    assert summary_text(s).splitlines()[0] == (
        "2 items: 2 ok, 0 failed, 0 skipped; 1 from the cache, 1 comparison computed in 1.2 s"
    )


def test_rerun_uses_cache_and_gives_identical_tables(run_a):
    out, _ = run_a
    before = {n: (out / n).read_bytes() for n in TABLES}
    p = _cli("batch", str(_manifest_of(out)), "-o", str(out), "-j", "2")
    assert p.returncode == 0, p.stderr
    assert "6 from the cache, 0 comparisons computed" in p.stdout
    assert {n: (out / n).read_bytes() for n in TABLES} == before
    st = pd.read_csv(out / "status.csv")
    assert st["cached"].all()


def _manifest_of(out: Path) -> Path:
    import json

    return Path(json.loads((out / "summary.json").read_text())["manifest"])


def _live_members(session_id: int) -> list[int]:
    """Processes (not zombies) of the session started by our test."""
    live = []
    for st in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = st.read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2 :].split()
        if int(fields[3]) == session_id and fields[0] != "Z":
            live.append(int(st.parent.name))
    return live


@pytest.mark.slow
def test_resume_after_kill_9_gives_identical_tables(run_a, trial, tmp_path):
    out_a, _ = run_a
    out = tmp_path / "outC"
    proc = subprocess.Popen(
        [sys.executable, "-m", "mesovision", "batch", str(trial.manifest), "-o", str(out)]
        + ["-j", "1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not list(out.glob("cache/*.json")):
            assert proc.poll() is None, "the batch ended before it could be killed"
            time.sleep(0.1)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        done_at_kill = len(list(out.glob("cache/*.json")))
        assert 1 <= done_at_kill < 6
        assert not (out / "results.csv").exists()
        # The workers notice that their batch is gone and exit: no orphan keeps computing.
        deadline = time.monotonic() + 10
        while _live_members(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _live_members(proc.pid) == []
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    assert len(list(out.glob("cache/*.json"))) == done_at_kill
    p = _cli("batch", str(trial.manifest), "-o", str(out), "-j", "2")
    assert p.returncode == 0, p.stderr
    st = pd.read_csv(out / "status.csv")
    assert int(st["cached"].sum()) == done_at_kill
    assert f"{done_at_kill} from the cache, {6 - done_at_kill} comparisons computed" in p.stdout
    for n in TABLES:  # recomputed in other processes, byte for byte the same
        assert (out / n).read_bytes() == (out_a / n).read_bytes(), n
    assert not list(out.glob("cache/.*.tmp"))


# --------------------------------------------------------------------------------------------
# The tables all together or not at all
# --------------------------------------------------------------------------------------------

STAGING = re.compile(r"^\..+\.[a-z0-9_]{8}\.partial$")  # io.output_folder's staging folder
TEMP = re.compile(r"^\..+\.[a-z0-9_]{8}\.tmp$")  # io.atomic_write_bytes' temporary file


def _strays(where: Path) -> list[Path]:
    return [p for p in where.rglob("*") if STAGING.match(p.name) or TEMP.match(p.name)]


def _outputs(out: Path) -> dict[str, tuple[bytes, int]]:
    """The files directly in ``out`` (the tables, the summary, the marker): bytes and inode."""
    return {
        p.name: (p.read_bytes(), p.stat().st_ino)
        for p in sorted(out.iterdir())
        if p.is_file() and not STAGING.match(p.name)
    }


def _previous_run(run_a, tmp_path: Path) -> Path:
    """A copy of the reference run: a complete set of earlier outputs and the whole cache."""
    out_a, _ = run_a
    out = tmp_path / "out"
    shutil.copytree(out_a, out)
    return out


@pytest.mark.parametrize("error", [KeyboardInterrupt, RuntimeError])
def test_an_interruption_while_the_tables_are_written_keeps_the_previous_ones(
    run_a, tmp_path, monkeypatch, error
):
    import mesovision.batch as batch
    import mesovision.batch.run as batch_run

    out_a, _ = run_a
    out = _previous_run(run_a, tmp_path)
    before = _outputs(out)
    assert set(batch.TABLE_NAMES) | {batch.OUTPUT_MARKER} == set(before)
    real = batch.write_table
    written = []

    def write_then_fail(df, csv_path, parquet_path=None):
        written.extend(real(df, csv_path, parquet_path))  # results.csv and .parquet are written
        raise error("interrupted while writing the tables")

    monkeypatch.setattr(batch_run, "write_table", write_then_fail)
    with pytest.raises(error):
        batch.run_batch(_manifest_of(out), out, jobs=1)
    assert [p.name for p in written] == ["results.csv", "results.parquet"]
    assert _outputs(out) == before  # the same files, not even replaced by equal ones
    assert _strays(tmp_path) == []
    monkeypatch.setattr(batch_run, "write_table", real)
    s = batch.run_batch(_manifest_of(out), out, jobs=1)
    assert (s.n_ok, s.n_cached) == (6, 6)
    after = _outputs(out)
    for n in batch.TABLE_NAMES:
        assert after[n][1] != before[n][1], f"{n} was not replaced"
    for n in TABLES:
        assert after[n][0] == (out_a / n).read_bytes(), n
    assert _strays(tmp_path) == []


_KILL_WHILE_WRITING = """
import os, signal, sys, time
# A shell's background job starts with SIGINT ignored; a user's Ctrl-C reaches a foreground one.
signal.signal(signal.SIGINT, signal.default_int_handler)
import mesovision.batch.run as batch_run
real = batch_run.write_table
def write_then_signal(*args, **kwargs):
    paths = real(*args, **kwargs)
    os.kill(os.getpid(), signal.{sig})
    # Python runs a signal's handler in the main thread at its next bytecode: wait here so that
    # the interrupt lands while the tables are being written, whichever thread writes them.
    time.sleep(30)
    return paths
batch_run.write_table = write_then_signal
from mesovision.cli import main
sys.exit(main(["batch", sys.argv[1], "-o", sys.argv[2], "-j", "1"]))
"""


@pytest.mark.parametrize("sig", ["SIGKILL", "SIGINT", "SIGTERM"])
def test_a_batch_killed_while_writing_its_tables_keeps_the_previous_ones(run_a, tmp_path, sig):
    """A real process signalled right after its first table is staged: the previous outputs stay
    as they were; what a SIGKILL left is removed by the next run."""
    out_a, _ = run_a
    out = _previous_run(run_a, tmp_path)
    before = _outputs(out)
    code = _KILL_WHILE_WRITING.format(sig=sig)
    proc = subprocess.run(
        [sys.executable, "-c", code, str(_manifest_of(out)), str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    assert _outputs(out) == before
    if sig == "SIGKILL":
        assert proc.returncode == -signal.SIGKILL
        assert [p.parent for p in _strays(tmp_path) if STAGING.match(p.name)] == [out]
    else:  # Ctrl-C, or SIGTERM (kill, a job scheduler's limit): stopped cleanly, nothing left
        assert proc.returncode == (130 if sig == "SIGINT" else 143), proc.stderr
        assert _strays(tmp_path) == []
    p = _cli("batch", str(_manifest_of(out)), "-o", str(out), "-j", "1")
    assert p.returncode == 0, p.stderr
    assert _strays(tmp_path) == []
    for n in TABLES:
        assert (out / n).read_bytes() == (out_a / n).read_bytes(), n


# --------------------------------------------------------------------------------------------
# Failures
# --------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_failing_items_are_recorded_and_the_rest_continue(run_a, trial, tmp_path):
    out_a, _ = run_a
    folder = trial.manifest.parent
    rows = [r for r in _read_manifest(trial.manifest) if r["subject"] == "S01"]
    good_t0 = folder / rows[0]["path"]
    good_t6 = folder / next(r["path"] for r in rows if r["timepoint"] == "6")
    # F01: a truncated after photo; N01: a baseline photo with no face in it.
    data = good_t6.read_bytes()
    (folder / "photos/trunc.jpg").write_bytes(data[: len(data) // 3])
    shutil.copy(good_t0, folder / "photos/f01_t0.jpg")
    Image.fromarray(np.full((512, 440, 3), 128, np.uint8)).save(folder / "photos/grey.jpg")
    shutil.copy(good_t6, folder / "photos/n01_t6.jpg")
    extra = [
        dict(rows[0], subject="F01", timepoint="0", repeat="1", path="photos/f01_t0.jpg"),
        dict(rows[0], subject="F01", timepoint="6", repeat="1", path="photos/trunc.jpg"),
        dict(rows[0], subject="N01", timepoint="0", repeat="1", path="photos/grey.jpg"),
        dict(rows[0], subject="N01", timepoint="6", repeat="1", path="photos/n01_t6.jpg"),
    ]
    man = _write_manifest(folder / "with_failures.csv", rows + extra)
    out = tmp_path / "outF"
    shutil.copytree(out_a / "cache", out / "cache")  # S01's results are reused by content
    p = _cli("batch", str(man), "-o", str(out), "-j", "2")
    assert p.returncode == 13  # items failed (docs/exit-codes.md): not 1, which is a bug
    err = [ln for ln in p.stderr.splitlines() if not ln.startswith("batch [")]
    assert err == [
        f"mesovision: error: {out / 'status.csv'}: 2 of 5 items failed (listed there; the "
        "tables hold the others)"
    ]
    st = pd.read_csv(out / "status.csv").set_index("subject")
    assert (st.loc["S01", "status"] == "ok").all()
    assert st.loc["F01", "status"] == "failed" and st.loc["N01", "status"] == "failed"
    assert (st.loc["F01", "error_type"], st.loc["F01", "exit_code"]) == ("InvalidImage", 4)
    assert (st.loc["N01", "error_type"], st.loc["N01", "exit_code"]) == ("NoFace", 5)
    assert "trunc.jpg" in st.loc["F01", "message"] and "grey.jpg" in st.loc["N01", "message"]
    assert "3 from the cache, 2 comparisons computed" in p.stdout
    res = pd.read_csv(out / "results.csv")
    assert set(res["subject"]) == {"S01"}
    # The S01 rows are those of the reference run (same inputs, same numbers).
    ref = pd.read_csv(out_a / "results.csv")
    pd.testing.assert_frame_equal(
        res.reset_index(drop=True), ref[ref["subject"] == "S01"].reset_index(drop=True)
    )
    # Input-caused failures are cached and reported again; --retry-failed recomputes them.
    p2 = _cli("batch", str(man), "-o", str(out), "-j", "1")
    assert p2.returncode == 13 and "5 from the cache, 0 comparisons computed" in p2.stdout
    # The summary is written in one piece: a reader that stops after its first line (head -1)
    # leaves the same exit code, whenever it stops (unbuffered stdout, as PYTHONUNBUFFERED=1).
    cmd = f"{sys.executable} -m mesovision batch {man} -o {out} -j 1 2>/dev/null | head -1"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    for _ in range(3):
        sh = subprocess.run(["bash", "-c", cmd + ' >/dev/null; echo "${PIPESTATUS[0]}"'],
                            capture_output=True, text=True, env=env, timeout=300)  # fmt: skip
        assert sh.stdout.strip() == "13", sh
    p3 = _cli("batch", str(man), "-o", str(out), "-j", "1", "--retry-failed")
    assert p3.returncode == 13 and "3 from the cache, 2 comparisons computed" in p3.stdout


# --------------------------------------------------------------------------------------------
# Manifest validation: one line, the right exit code, nothing written
# --------------------------------------------------------------------------------------------


def _bad(tmp_path, capsys, rows, columns=None, extra_args=(), name="m.csv"):
    for r in rows:
        p = tmp_path / r.get("path", "")
        if r.get("path") and not r["path"].startswith(("..", "/", "missing")) and not p.exists():
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(b"x" + r["path"].encode())
    man = _write_manifest(tmp_path / name, rows, columns)
    out = tmp_path / "out"
    code = main(["batch", str(man), "-o", str(out), *extra_args])
    err = capsys.readouterr().err.strip().splitlines()
    assert not out.exists(), "nothing may be written for a bad manifest"
    assert len(err) == 1, err
    return code, err[0]


def _rows(n=2, **over):
    base = [
        {"subject": "S1", "timepoint": str(t), "view": "front", "path": f"p/s1_{t}.jpg"}
        for t in range(n)
    ]
    for i, r in over.items():
        base[int(i[1:])].update(r)
    return base


_COLS_SCALE = ["subject", "timepoint", "view", "path", "px_per_mm", "ipd_mm"]


@pytest.mark.parametrize(
    ("rows", "columns", "code", "needle"),
    [
        (_rows(), ["subject", "timepoint", "path"], 2, "missing column view"),
        (_rows(r1={"path": "missing/x.jpg"}), None, 3, "row 3: photo 'missing/x.jpg' not found"),
        (_rows(r1={"path": "../outside.jpg"}), None, 2, "row 3: photo '../outside.jpg' is outside"),
        (_rows(r1={"path": "/etc/hostname"}), None, 2, "row 3: photo '/etc/hostname' is outside"),
        (_rows(r1={"timepoint": "0"}), None, 2, "row 3: duplicate of row 2"),
        (_rows(r1={"subject": ""}), None, 2, "row 3: empty subject"),
        (
            [dict(r, repeat="x") for r in _rows()],
            None,
            2,
            "row 2: repeat 'x' is not an integer from 1 to 1000",
        ),
        (
            [dict(r, treated="left_cheek;chek") for r in _rows()],
            None,
            2,
            "row 2: unknown region 'chek'",
        ),
        (
            [dict(r, arm=a) for r, a in zip(_rows(), ("a", "b"), strict=True)],
            None,
            2,
            "row 3: subject 'S1' is in arm 'b' here but 'a' in row 2",
        ),
        (
            [dict(r, repeat=str(k)) for r, k in zip(_rows(), (1, 2), strict=True)],
            None,
            2,
            "row 3: repeat 2 of subject S1, timepoint 1, view front has no repeat 1",
        ),
        ([dict(r, tretaed="") for r in _rows()], None, 2, "unknown column 'tretaed'"),
        (
            _rows(r1={"timepoint": "nan"}),
            None,
            2,
            "row 3: timepoint 'nan' reads as missing in the tables (pandas); give another label",
        ),
        (
            _rows(r0={"subject": "NA"}),
            None,
            2,
            "row 2: subject 'NA' reads as missing in the tables",
        ),
        (
            _rows(r1={"px_per_mm": "-3"}),
            _COLS_SCALE,
            2,
            "row 3: px_per_mm '-3' is not a plausible scale (0.01-10000 px per mm)",
        ),
        (_rows(r0={"px_per_mm": "nan"}), _COLS_SCALE, 2, "row 2: px_per_mm 'nan' is not a"),
        (_rows(r0={"px_per_mm": "inf"}), _COLS_SCALE, 2, "row 2: px_per_mm 'inf' is not a"),
        (_rows(r0={"ipd_mm": "6.3"}), _COLS_SCALE, 2, "row 2: ipd_mm '6.3' is not a plausible"),
        (
            _rows(r0={"ipd_mm": "63", "mode": "body"}),
            [*_COLS_SCALE, "mode"],
            2,
            "row 2: ipd_mm needs face or scalp mode",
        ),
        (
            _rows(r0={"ipd_mm": "63", "px_per_mm": "20"}),
            _COLS_SCALE,
            2,
            "row 2: give px_per_mm or ipd_mm, not both",
        ),
    ],
)
def test_bad_manifest_is_refused_in_one_line(tmp_path, capsys, rows, columns, code, needle):
    got, line = _bad(tmp_path, capsys, rows, columns)
    assert got == code
    assert line.startswith(f"mesovision: error: {tmp_path / 'm.csv'}: ")
    assert needle in line


def test_allow_outside_and_unknown_baseline(tmp_path, capsys):
    (tmp_path / "sub").mkdir()
    rows = _rows(r1={"path": "../o.jpg"})
    (tmp_path / "o.jpg").write_bytes(b"o")
    (tmp_path / "sub/p").mkdir()
    for r in rows[:1]:
        (tmp_path / "sub" / r["path"]).write_bytes(b"a")
    man = _write_manifest(tmp_path / "sub/m.csv", rows)
    from mesovision.batch import read_manifest

    m = read_manifest(man, allow_outside=True)
    assert [r.path for r in m.rows][1] == (tmp_path / "o.jpg").resolve()
    code = main(["batch", str(man), "-o", str(tmp_path / "out"), "--allow-outside",
                 "--baseline", "7"])  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err
    assert "--baseline '7' is not a timepoint of the manifest; timepoints: 0, 1" in err


# --------------------------------------------------------------------------------------------
# Planning
# --------------------------------------------------------------------------------------------


def _files(tmp_path, rows):
    for r in rows:
        (tmp_path / r["path"]).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / r["path"]).write_bytes(r["path"].encode())
    return rows


def test_plan_orders_labels_and_compares_previous_and_repeats(tmp_path):
    from mesovision.batch import BatchSettings, plan_items, read_manifest

    rows = _files(
        tmp_path,
        [
            {
                "subject": s,
                "timepoint": t,
                "view": "front",
                "path": f"{s}_{t}{r}.jpg",
                "repeat": r,
                "timepoint_order": o,
            }
            for s in ("S10", "S2")
            for t, o in (("screening", 0), ("week2", 1), ("week10", 2))
            for r in ((1, 2) if t == "week2" else (1,))
        ],  # fmt: skip
    )
    rows = [r for r in rows if not (r["subject"] == "S2" and r["timepoint"] == "screening")]
    man = _write_manifest(tmp_path / "m.csv", rows)
    m = read_manifest(man)
    assert m.timepoints == ("screening", "week2", "week10") and not m.numeric
    items = plan_items(m, BatchSettings(), previous=True)
    got = [(i.subject, i.comparison, i.timepoint, i.reference_timepoint, i.repeat,
            i.skip_reason is not None) for i in items]  # fmt: skip
    assert got == [
        ("S2", "baseline", "week2", "screening", 1, True),  # no baseline photo: skipped
        ("S2", "repeat", "week2", "week2", 2, False),
        ("S2", "baseline", "week10", "screening", 1, True),
        ("S2", "previous", "week10", "week2", 1, False),
        ("S10", "baseline", "week2", "screening", 1, False),
        ("S10", "previous", "week2", "screening", 1, False),
        ("S10", "repeat", "week2", "week2", 2, False),
        ("S10", "baseline", "week10", "screening", 1, False),
        ("S10", "previous", "week10", "week2", 1, False),
    ]
    # The same pair asked twice (baseline and previous) has one key: computed once.
    s10 = [i for i in items if i.subject == "S10" and i.timepoint == "week2"]
    assert s10[0].key == s10[1].key
    # Without timepoint_order: natural sort; --baseline moves a label first.
    for r in rows:
        del r["timepoint_order"]
    man2 = _write_manifest(tmp_path / "m2.csv", rows)
    assert read_manifest(man2).timepoints == ("screening", "week2", "week10")
    assert read_manifest(man2, baseline="week2").timepoints == ("week2", "screening", "week10")


def test_numeric_timepoints_sort_by_value_and_keys_follow_content(tmp_path):
    from mesovision.batch import BatchSettings, plan_items, read_manifest

    rows = _files(
        tmp_path,
        [
            {"subject": "A", "timepoint": t, "view": "v", "path": f"a{t}.jpg"}
            for t in ("12", "4.0", "0", "8")
        ],  # fmt: skip
    )
    m = read_manifest(_write_manifest(tmp_path / "m.csv", rows))
    assert m.timepoints == ("0", "4", "8", "12") and m.numeric
    keys = [i.key for i in plan_items(m, BatchSettings())]
    assert len(set(keys)) == 3
    k2 = [i.key for i in plan_items(m, BatchSettings(lighting="none"))]
    assert not set(keys) & set(k2)  # settings are part of the key
    # A measured-area file ("reference") of the baseline row goes to every comparison with it.
    (tmp_path / "mask.png").write_bytes(b"mask")
    rows[2]["reference"] = "mask.png"
    for r in rows[:2] + rows[3:]:
        r["reference"] = ""
    mm = read_manifest(_write_manifest(tmp_path / "mm.csv", rows))
    km = plan_items(mm, BatchSettings())
    assert all(i.task["mask"] == str((tmp_path / "mask.png").resolve()) for i in km)
    assert not {i.key for i in km} & set(keys)
    (tmp_path / "a8.jpg").write_bytes(b"changed")
    for r in rows:
        del r["reference"]
    m3 = read_manifest(_write_manifest(tmp_path / "m.csv", rows))
    k3 = [i.key for i in plan_items(m3, BatchSettings())]
    assert k3[0] == keys[0] and k3[1] != keys[1] and k3[2] == keys[2]


@pytest.mark.slow
def test_a_photo_changed_or_missing_on_the_worker_is_not_cached(tmp_path):
    """The worker checks that it compared the bytes the cache key was made of: a photo changed
    after the manifest was read gives a failure that is not cached (a re-run compares it
    again), and so does a photo missing on the worker (its machine's, not the inputs')."""
    from mesovision.batch import BatchSettings, plan_items, read_manifest
    from mesovision.batch.worker import run_item

    before, after = (
        SAMPLES / "astronaut" / "before.jpg",
        SAMPLES / "astronaut" / "after_no_change.jpg",
    )
    shutil.copy(before, tmp_path / "b.jpg")
    shutil.copy(after, tmp_path / "a.jpg")
    rows = [
        {"subject": "S", "timepoint": t, "view": "front", "path": p}
        for t, p in (("0", "b.jpg"), ("1", "a.jpg"))
    ]
    m = read_manifest(_write_manifest(tmp_path / "m.csv", rows))
    (item,) = plan_items(m, BatchSettings(max_side=384))
    shutil.copy(SAMPLES / "astronaut" / "after_treated.jpg", tmp_path / "a.jpg")  # changed
    entry = run_item(item.task)
    assert entry["status"] == "failed" and not entry["cacheable"] and entry["exit_code"] == 3
    assert entry["message"].startswith(f"{tmp_path / 'a.jpg'}: the file changed since the")
    shutil.copy(after, tmp_path / "a.jpg")  # back as it was: compared and cacheable
    assert (e := run_item(item.task))["status"] == "ok" and e["cacheable"]
    (tmp_path / "a.jpg").unlink()
    entry = run_item(item.task)
    assert entry["error_type"] == "InputFileError" and not entry["cacheable"]


def test_a_cached_message_names_the_photos_where_they_are_now():
    """A study folder moved (or shared) after its batch: the cached failures and warnings named
    the photos by their old absolute paths; status.csv names them by the paths now."""
    from types import SimpleNamespace

    from mesovision.batch.results import _paths_now

    entry = {"task": {"before": "/old/study/b.jpg", "after": "/old/study/a.jpg"}}
    item = SimpleNamespace(task={"before": "/new/s/b.jpg", "after": "/new/s/a.jpg"})
    here = _paths_now(entry, item)
    assert (
        here("/old/study/a.jpg: head turned +18 deg (yaw)")
        == "/new/s/a.jpg: head turned +18 deg (yaw)"
    )
    assert here(None) is None and here("no path") == "no path"


def test_visit_dates_as_timepoints_are_refused_unless_shared_iso_dates(tmp_path):
    """Visit dates are each subject's own: ``05/01/2024`` (5 January or 1 May?) is refused, an
    impossible date too, and ISO dates only when every subject has the baseline date (else a
    subject's later visit would become another subject's baseline, or the subject would be
    skipped); each message names the row and says what to write instead."""
    from mesovision.batch import read_manifest
    from mesovision.errors import UsageError

    def manifest(name, visits):
        rows = [
            {"subject": s, "timepoint": t, "view": "front", "path": f"{s}{k}.jpg"}
            for s, dates in visits.items()
            for k, t in enumerate(dates)
        ]
        return _write_manifest(tmp_path / name, _files(tmp_path, rows))

    # the audit's case: T01's later visit sorted first as text, T02's date impossible
    m = manifest("a.csv", {"T01": ["12/01/2023", "05/01/2024"]})
    with pytest.raises(UsageError, match=r"a.csv: row 2: timepoint '12/01/2023' is a date whose"):
        read_manifest(m)
    m = manifest("b.csv", {"T02": ["2023-12-01", "2024-02-31"]})
    with pytest.raises(UsageError, match=r"row 3: timepoint '2024-02-31' is not a calendar date"):
        read_manifest(m)
    m = manifest(
        "c.csv", {"T01": ["2023-12-01", "2024-03-01"], "T02": ["2023-12-04", "2024-03-05"]}
    )
    with pytest.raises(UsageError, match="row 4: the timepoints are visit dates and subject T02 "):
        read_manifest(m)
    # a one-day study (or dates every subject shares): dates in time order
    ok = read_manifest(
        manifest("d.csv", {"T01": ["2024-03-01", "2023-12-01"], "T02": ["2023-12-01"]})
    )
    assert ok.timepoints == ("2023-12-01", "2024-03-01")
    # labels that only look like numbers with separators are not dates
    assert read_manifest(manifest("e.csv", {"S1": ["w1-2", "w3-4"]})).timepoints == (
        "w1-2",
        "w3-4",
    )


def test_a_row_scale_goes_to_its_comparisons_and_changes_only_their_keys(tmp_path):
    """``px_per_mm`` / ``ipd_mm`` of the before photo's row are the comparison's scale; rows
    without one keep the keys they had without the columns."""
    from mesovision.batch import BatchSettings, plan_items, read_manifest

    rows = _files(
        tmp_path,
        [
            {"subject": s, "timepoint": t, "view": "v", "path": f"{s}{t}.jpg"}
            for s in ("A", "B")
            for t in ("0", "1")
        ],  # fmt: skip
    )
    keys = [i.key for i in plan_items(read_manifest(_write_manifest(tmp_path / "m.csv", rows)),
                                      BatchSettings())]  # fmt: skip
    rows[0]["px_per_mm"], rows[1]["px_per_mm"] = "12.5", "99"  # A: before row 12.5, after 99
    rows[2]["ipd_mm"] = "62"  # B: the before row's IPD
    m = read_manifest(_write_manifest(tmp_path / "s.csv", rows, [*rows[0], "ipd_mm"]))
    assert [(r.px_per_mm, r.ipd_mm) for r in m.rows] == [
        (12.5, None), (99.0, None), (None, 62.0), (None, None)
    ]  # fmt: skip
    items = plan_items(m, BatchSettings())
    a, b = (i.task["settings"] for i in items)
    assert a["px_per_mm"] == 12.5 and "ipd_mm" not in a
    assert b["ipd_mm"] == 62.0 and "px_per_mm" not in b
    assert not {i.key for i in items} & set(keys)
    # without a scale on any row, the key is the one written without the columns
    for r in rows:
        r["px_per_mm"] = r["ipd_mm"] = ""
    m0 = read_manifest(_write_manifest(tmp_path / "e.csv", rows, [*rows[0]]))
    assert [i.key for i in plan_items(m0, BatchSettings())] == keys


@pytest.mark.slow
def test_a_trichoscopy_batch_with_a_row_scale_gives_the_scaled_hair_metrics(tmp_path):
    """A rendered close-up pair at 50 px/mm: with ``px_per_mm`` in the before row the batch's
    table holds the density per cm² (near the render's truth) and the width in µm; without it,
    those are missing and the per-pixel density remains."""
    from mesovision.testing.hair import add_hairs, render, trichogram_field

    f = trichogram_field(5020, density_per_cm2=180)
    b = render(f, px_per_mm=50.0, seed=1, blur_px=0.5, noise_sd=0.005)
    a = render(add_hairs(f, 0.3, seed=2), px_per_mm=50.0, seed=2, blur_px=0.5, noise_sd=0.005)
    for name, r in (("b.png", b), ("a.png", a)):
        Image.fromarray((r.rgb * 255 + 0.5).astype(np.uint8)).save(tmp_path / name)
    rows = [
        {"subject": "S", "timepoint": "0", "view": "crown", "path": "b.png", "mode": "trichoscopy",
         "px_per_mm": "50"},
        {"subject": "S", "timepoint": "1", "view": "crown", "path": "a.png", "mode": "trichoscopy",
         "px_per_mm": ""},
    ]  # fmt: skip
    got = {}
    for scaled in (True, False):
        if not scaled:
            rows[0]["px_per_mm"] = ""
        man = _write_manifest(tmp_path / f"m{scaled}.csv", rows)
        out = tmp_path / f"out{scaled}"
        assert main(["batch", str(man), "-o", str(out), "-j", "1"]) == 0
        t = pd.read_csv(out / "results.csv")
        got[scaled] = t.set_index("metric")
    dens = got[True].loc["hair.density_per_cm2"]
    assert dens["before"] == pytest.approx(b.truth.density_per_cm2, rel=0.25)
    assert dens["after"] > dens["before"]
    assert np.isfinite(got[True].loc["hair.shaft_width_median_um", "before"])
    assert "hair.density_per_cm2" not in got[False].index or np.isnan(
        got[False].loc["hair.density_per_cm2", "before"]
    )
    assert got[False].loc["hair.density_per_kpx", "before"] == pytest.approx(
        got[True].loc["hair.density_per_kpx", "before"]
    )


def _sample_rows(tmp_path, subject, folder, names, mode, scale) -> list[dict]:
    rows = []
    for t, name in enumerate(names):
        shutil.copy(folder / name, tmp_path / f"{subject}_{name}")
        rows.append({"subject": subject, "timepoint": str(t), "view": folder.name,
                     "path": f"{subject}_{name}", "mode": mode,
                     "px_per_mm": scale if t == 0 else ""})  # fmt: skip
    return rows


@pytest.mark.slow
def test_body_checks_and_scalp_rows_in_the_tables_of_the_sample_pairs(tmp_path):
    """The thigh sample pair (body mode, 4 px/mm) carries its body checks in every row: the
    overlap of an after photo moved by 2 mm of 100, no change of scale, the lamp turned by 3
    degrees (``truth.json``); the scalp sample pair in the scalp mode (50 px/mm) reads the
    visible scalp share near the renders' truth, and has no hairline rows (no face)."""
    import json

    from conftest import SAMPLES as samples

    from mesovision.hairline import SITES

    rows = _sample_rows(tmp_path, "T", samples / "thigh", ("before.jpg", "after_treated.jpg"),
                        "body", "4")  # fmt: skip
    rows += _sample_rows(tmp_path, "S", samples / "scalp", ("before.jpg", "after_denser.jpg"),
                         "scalp", "50")  # fmt: skip
    man = _write_manifest(tmp_path / "m.csv", rows)
    assert main(["batch", str(man), "-o", str(tmp_path / "out"), "-j", "1"]) == 0
    from mesovision.tables import read_table

    t = read_table(tmp_path / "out" / "results.parquet", "results")
    body = t[t["subject"] == "T"]
    assert len(body) > 20 and body["body_checks_failed"].isna().all()
    for col in ("framing_overlap", "framing_scale", "light_turn_deg"):
        assert body[col].nunique() == 1 and str(body[col].dtype) == "float64"
    row = body.iloc[0]
    assert 0.95 < row["framing_overlap"] <= 1.0
    assert row["framing_scale"] == pytest.approx(1.0, abs=0.01)
    assert abs(row["light_turn_deg"] - 3.0) < 3.0
    scalp = t[t["subject"] == "S"].set_index("metric")
    assert scalp[["framing_overlap", "framing_scale", "light_turn_deg"]].isna().all().all()
    assert not set(scalp["region"]) & set(SITES)
    truth = json.loads((samples / "scalp" / "truth.json").read_text())["photos"]
    share = scalp.loc["hair.scalp_share_pct"]
    want_b = truth["before.jpg"]["truth"]["scalp_share_pct"]
    want_a = truth["after_denser.jpg"]["truth"]["scalp_share_pct"]
    assert share["before"] == pytest.approx(want_b, abs=2.0)
    assert share["delta"] == pytest.approx(want_a - want_b, abs=1.0) and share["significant"]


@pytest.mark.slow
def test_the_frontal_hairline_in_the_batch_tables(tmp_path):
    """A real frontal photo (a held-out person of ``benchmarks/hair.py hairline``) and the same
    photo with the hairline moved up by 8 % IOD and taken again, in the scalp mode with an IPD
    of 63 mm: one row per site and measure, each with its unit, standard error, z, q and
    significance as ``result.json`` has them; the move read at most sites."""
    from conftest import REPO, require

    from mesovision.hairline import CAPTURE_SD_IOD_PCT, SITES
    from mesovision.io import load_photo
    from mesovision.landmarks import detect_landmarks
    from mesovision.tables import read_table
    from mesovision.testing.hairline import move_hairline, recapture

    sys.path.insert(0, str(REPO / "benchmarks"))
    from _faces import faces_dir

    faces = faces_dir()
    require(faces is not None, "../shared/faces not found (or set MESOVISION_FACES)")
    rgb = load_photo(faces / "of_carell.jpg", max_side=1024).rgb
    moved = recapture(move_hairline(rgb, detect_landmarks(rgb), 8.0), seed=11)
    for name, img in (("b.png", rgb), ("a.png", moved)):
        Image.fromarray((img * 255 + 0.5).astype(np.uint8)).save(tmp_path / name)
    rows = [{"subject": "F", "timepoint": str(t), "view": "front", "path": name,
             "mode": "scalp", "ipd_mm": "63" if t == 0 else ""}
            for t, name in enumerate(("b.png", "a.png"))]  # fmt: skip
    man = _write_manifest(tmp_path / "m.csv", rows)
    assert main(["batch", str(man), "-o", str(tmp_path / "out"), "-j", "1"]) == 0
    t = read_table(tmp_path / "out" / "results.csv", "results")
    site_rows = t[t["region"].isin(list(SITES))]
    assert len(site_rows) == 2 * len(SITES)
    assert site_rows["family"].isna().all() and site_rows["comparability"].isna().all()
    assert (site_rows["measure"] == "hairline height").all()
    pct = site_rows[site_rows["metric"] == "hair.hairline_iod_pct"].set_index("region")
    mm = site_rows[site_rows["metric"] == "hair.hairline_mm"].set_index("region")
    assert (pct["unit"] == "% IOD").all() and (mm["unit"] == "mm").all()
    assert np.median(np.abs(pct["delta"] - 8.0)) < 3.0
    assert pct["significant"].sum() >= 3 and (pct["delta"] > 0).sum() >= 4
    assert np.allclose(pct["z"], pct["delta"] / pct["se"])
    assert np.allclose(pct["noise_floor"], 1.959964 * pct["se"], rtol=1e-6)
    assert (pct["se"] >= CAPTURE_SD_IOD_PCT).all()  # at least the capture term
    # mm: the share times the IPD (63 mm per 100 % IOD), the same test
    assert np.allclose(mm["delta"], 0.63 * pct["delta"], rtol=1e-6)
    assert np.allclose(mm["z"], pct["z"]) and (mm["significant"] == pct["significant"]).all()


# --------------------------------------------------------------------------------------------
# Measurement error as noise floor
# --------------------------------------------------------------------------------------------


def test_sdc_file_raises_noise_floor_and_recomputes_significant(run_a, tmp_path):
    out_a, _ = run_a
    out = tmp_path / "outS"
    shutil.copytree(out_a / "cache", out / "cache")
    sdc = tmp_path / "me.csv"
    sdc.write_text(
        "view,region,metric,sdc\n"
        "front,left_cheek,redness.mean_a,100\n"
        "front,right_cheek,redness.mean_a,0.001\n"
    )
    p = _cli("batch", str(_manifest_of(out_a)), "-o", str(out), "--sdc", str(sdc))
    assert p.returncode == 0, p.stderr
    assert "0 comparisons computed" in p.stdout
    ref = pd.read_parquet(out_a / "results.parquet")
    res = pd.read_parquet(out / "results.parquet")
    key = ["subject", "comparison", "timepoint", "repeat", "region", "metric"]
    m = ref.merge(res, on=key, suffixes=("_ref", ""))
    lc = m[(m["region"] == "left_cheek") & (m["metric"] == "redness.mean_a")]
    assert lc["significant_ref"].any() and not lc["significant"].any()
    assert (lc["noise_floor"] == 100).all() and (lc["sdc"] == 100).all()
    rc = m[(m["region"] == "right_cheek") & (m["metric"] == "redness.mean_a")]
    # A tiny SDC leaves the comparison's own floor in place (max of the two).
    assert (rc["noise_floor"] == rc["noise_floor_ref"]).all()
    assert (rc["significant"] == rc["significant_ref"]).all()
    other = m[m["metric"] != "redness.mean_a"]
    assert other["sdc"].isna().all()
    assert (other["significant"] == other["significant_ref"]).all()
    # From the manifest's own repeats: the floors are at least the measured SDCs.
    p2 = _cli("batch", str(_manifest_of(out_a)), "-o", str(out), "--sdc-from-repeats")
    assert p2.returncode == 0, p2.stderr
    res2 = pd.read_parquet(out / "results.parquet")
    me = pd.read_csv(out / "measurement_error.csv")
    j = res2.merge(me[["view", "region", "metric", "sdc"]], on=["view", "region", "metric"])
    ok = np.isfinite(j["sdc_y"]) & np.isfinite(j["noise_floor_pair"])
    assert np.allclose(j.loc[ok, "sdc_x"], j.loc[ok, "sdc_y"], rtol=1e-9)
    assert (j.loc[ok, "noise_floor"] >= j.loc[ok, "sdc_y"] * (1 - 1e-9)).all()


# --------------------------------------------------------------------------------------------
# Dask
# --------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_dask_cluster_gives_the_same_table(run_a, trial, tmp_path):
    distributed = pytest.importorskip("distributed")
    from mesovision.batch import run_batch

    out_a, _ = run_a
    rows = [r for r in _read_manifest(trial.manifest) if r["subject"] == "S01"]
    man = _write_manifest(trial.manifest.parent / "s01.csv", rows)
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
    ) as cluster:
        s = run_batch(man, tmp_path / "outD", executor="dask", scheduler=cluster.scheduler_address)
    assert (s.n_ok, s.n_failed, s.n_computed) == (3, 0, 3)
    res = pd.read_csv(tmp_path / "outD/results.csv")
    ref = pd.read_csv(out_a / "results.csv")
    pd.testing.assert_frame_equal(res, ref[ref["subject"] == "S01"].reset_index(drop=True))


def test_dask_needs_a_scheduler(trial, tmp_path, capsys):
    code = main(["batch", str(trial.manifest), "-o", str(tmp_path / "o"), "--executor", "dask"])
    assert code == 2
    assert "needs --scheduler ADDRESS" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
    # and a scheduler without the dask executor is refused, not ignored (a local run)
    code = main(["batch", str(trial.manifest), "-o", str(tmp_path / "o"), "--scheduler", "x:1"])
    assert code == 2
    assert "--scheduler needs --executor dask" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_local_pool_does_not_import_dask(trial):
    code = (
        "import sys; from mesovision.batch import read_manifest, plan_items, BatchSettings;"
        f"plan_items(read_manifest({str(trial.manifest)!r}), BatchSettings());"
        "assert 'distributed' not in sys.modules and 'dask' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_progress_bar_lines():
    import io

    from mesovision.batch import Progress
    from mesovision.commands.batch import ProgressBar

    s = io.StringIO()
    bar = ProgressBar(s, interval_s=0.0, width=10)
    bar(Progress(done=2, total=10, cached=2, failed=0, elapsed_s=0.0))
    bar(Progress(done=6, total=10, cached=2, failed=1, elapsed_s=8.0))
    lines = s.getvalue().splitlines()
    assert lines[0].startswith("batch [##        ] 2/10 (20 %)  0.00/s  left ?")
    assert lines[1] == "batch [######    ] 6/10 (60 %)  0.50/s  left 0:08  1 failed"


# --------------------------------------------------------------------------------------------
# Spreadsheet safety (OWASP CSV injection)
# --------------------------------------------------------------------------------------------

FORMULAS = ("=cmd|' /C calc'!A0", "+1", "-x", "@SUM(1)", "\tlead", "\rlead")


def test_csv_text_cells_that_start_a_formula_are_prefixed_and_parquet_keeps_them(tmp_path):
    from mesovision.tables import spreadsheet_safe, spreadsheet_unsafe, write_table

    df = pd.DataFrame(
        {
            "subject": [*FORMULAS, "plain", "a=b"],
            "delta": [-1.5, -2.0, 0.0, 1.0, -3.25, 4.0, -0.5, 2.0],
            "significant": [True, False] * 4,
        }
    )
    write_table(df, tmp_path / "t.csv", tmp_path / "t.parquet")
    with open(tmp_path / "t.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [r["subject"] for r in rows] == [*("'" + v for v in FORMULAS), "plain", "a=b"]
    assert [r["delta"] for r in rows] == [
        "-1.5",
        "-2.0",
        "0.0",
        "1.0",
        "-3.25",
        "4.0",
        "-0.5",
        "2.0",
    ]
    back = pd.read_parquet(tmp_path / "t.parquet")
    assert back["subject"].tolist() == [*FORMULAS, "plain", "a=b"]
    assert back["delta"].tolist() == df["delta"].tolist()
    assert spreadsheet_safe(-1.5) == -1.5 and spreadsheet_safe(None) is None
    assert [spreadsheet_unsafe(spreadsheet_safe(v)) for v in FORMULAS] == list(FORMULAS)
    assert spreadsheet_unsafe("'quoted") == "'quoted"  # not ours: kept


def test_read_table_undoes_the_prefix_in_covariate_text_too(tmp_path):
    from mesovision.tables import read_table, write_table

    df = pd.DataFrame(
        {
            "subject": ["=a", "b", "c", "d", "e", "f", "g", "h"],
            "x_note": [*FORMULAS, "-3", None],  # text covariate: "-3" is text here
            "x_dose": [-1.5, 2.0, 0.0, 1.0, -3.25, 4.0, -0.5, 2.0],  # numbers: never prefixed
        }
    )
    write_table(df, tmp_path / "t.csv", tmp_path / "t.parquet")
    assert "'-3" in (tmp_path / "t.csv").read_text(encoding="utf-8")
    for name in ("t.csv", "t.parquet"):
        back = read_table(tmp_path / name, "status")
        assert back["subject"].tolist()[:2] == ["=a", "b"]
        assert back["x_note"].tolist()[:7] == [*FORMULAS, "-3"]
        assert back["x_note"].isna().tolist() == [False] * 7 + [True]
        assert back["x_dose"].tolist() == df["x_dose"].tolist()


LINE_BREAK_CELLS = ("a\rb", "c\nd", "e\r\nf", 'say "hi"', "x,y", "plain")


def test_csv_cells_with_line_breaks_or_quotes_are_quoted_the_same_on_every_python(tmp_path):
    import io

    from mesovision.tables import csv_text, write_table

    df = pd.DataFrame({"note": list(LINE_BREAK_CELLS), "v": [1.0, 2.5, None, -1.0, 0.0, 3.0]})
    write_table(df, tmp_path / "t.csv")
    assert (tmp_path / "t.csv").read_bytes() == (
        b'note,v\n"a\rb",1.0\n"c\nd",2.5\n"e\r\nf",\n"say ""hi""",-1.0\n"x,y",0.0\nplain,3.0\n'
    )
    with open(tmp_path / "t.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    values = ["1.0", "2.5", "", "-1.0", "0.0", "3.0"]
    assert rows == [["note", "v"], *(list(r) for r in zip(LINE_BREAK_CELLS, values, strict=True))]
    back = pd.read_csv(tmp_path / "t.csv", keep_default_na=False)
    assert back["note"].tolist() == list(LINE_BREAK_CELLS)
    assert back["v"].tolist() == values

    rows = [{"k": c, "n": None} for c in LINE_BREAK_CELLS] + [{"k": "", "n": 1}]
    text = csv_text(rows, ["k", "n"])
    assert text == 'k,n\n"a\rb",\n"c\nd",\n"e\r\nf",\n"say ""hi""",\n"x,y",\nplain,\n,1\n'
    assert list(csv.reader(io.StringIO(text, newline=""))) == [
        ["k", "n"],
        *([c, ""] for c in LINE_BREAK_CELLS),
        ["", "1"],
    ]
    back = pd.read_csv(io.StringIO(text, newline=""), keep_default_na=False, dtype=str)
    assert back["k"].tolist() == [*LINE_BREAK_CELLS, ""]


def test_sdc_table_reads_back_prefixed_names(tmp_path):
    from mesovision.batch import read_sdc_table
    from mesovision.tables import write_table

    me = pd.DataFrame({"view": ["=front"], "region": ["-x"], "metric": ["m"], "sdc": [1.0]})
    write_table(me, tmp_path / "me.csv")
    got = read_sdc_table(tmp_path / "me.csv")
    assert got.iloc[0][["view", "region", "metric"]].tolist() == ["=front", "-x", "m"]


# --------------------------------------------------------------------------------------------
# The tables as pandas and R read them: types, nulls, timepoint order, covariates
# --------------------------------------------------------------------------------------------


def _fake_record(delta: float) -> dict:
    """A comparison record as the worker caches it: two regions x one metric."""
    change = {"before": 10.0, "after": 10.0 + delta, "delta": delta, "noise_floor": 1.0,
              "unit": "a*", "direction": "higher_is_worse", "family": "redness",
              "significant": abs(delta) > 1.0, "se": 0.5, "z": delta / 0.5, "p": 0.01,
              "q": 0.02}  # fmt: skip
    return {
        "alignment": {"residual_px": 1.5, "residual_iod": 0.01, "coverage": 0.9},
        "changes": {r: {"redness.mean_a": dict(change)} for r in ("left_cheek", "forehead")},
    }


@pytest.fixture(scope="module")
def labelled_run(tmp_path_factory):
    """A batch over labelled timepoints (baseline, week4, week12) with an x_age column and a
    declared covariate ``site``, and its stats tables, whose cache holds every comparison (no
    photo is analysed):
    S1 in arm A with a same-day repeat; S2 with no arm and no age; S3 without a baseline photo
    (a skipped item); S1's week12 comparison failed."""
    from mesovision.batch import BatchSettings, plan_items, read_manifest, run_batch
    from mesovision.batch.cache import write_cache_entry
    from mesovision.batch.plan import CACHE_FORMAT
    from mesovision.stats import run_stats

    d = tmp_path_factory.mktemp("labelled")
    rows = [
        {"subject": s, "arm": arm, "timepoint": t, "view": "front", "repeat": rep,
         "path": f"{s}_{t}_{rep}.jpg", "x_age": age, "site": site}
        for s, arm, age, site, tps in (
            ("S1", "A", "34", "north", ("baseline", "week4", "week12")),
            ("S2", "", "", "south", ("baseline", "week4", "week12")),
            ("S3", "A", "51", "north", ("week4",)),
        )
        for t in tps
        for rep in ((1, 2) if (s, t) == ("S1", "baseline") else (1,))
    ]  # fmt: skip
    _files(d, rows)
    man = _write_manifest(d / "m.csv", rows)
    out = d / "out"
    (out / "cache").mkdir(parents=True)
    items = plan_items(read_manifest(man, covariates="site"), BatchSettings())
    for it in items:
        if it.key is None:
            continue
        entry = {"cache_format": CACHE_FORMAT, "key": it.key, "log": [], "seconds": 2.0}
        if (it.subject, it.timepoint) == ("S1", "week12"):
            entry.update(status="failed", error_type="NoFaceError", message="no face found",
                         exit_code=3, record=None)  # fmt: skip
        else:
            delta = {"baseline": 0.25, "week4": -1.5, "week12": -3.0}[it.timepoint]
            delta += 0.5 if it.subject == "S2" else 0.0
            entry.update(status="ok", record=_fake_record(delta))
        write_cache_entry(out, entry)
    summary = run_batch(man, out, covariates="site", jobs=1)
    assert (summary.n_computed, summary.n_failed, summary.n_skipped) == (0, 1, 1)
    run_stats(out, plots=False)
    return out


def test_status_lists_each_warning_once(tmp_path):
    """A warning the alignment records and the worker's log also reports (as ``warning:
    <file>: ...``) appears once, as the log line naming the file; other lines are kept."""
    from mesovision.batch import BatchSettings, plan_items, read_manifest, run_batch
    from mesovision.batch.cache import write_cache_entry
    from mesovision.batch.plan import CACHE_FORMAT

    rows = [{"subject": "S1", "timepoint": t, "view": "front", "path": f"S1_{t}.jpg"}
            for t in ("0", "1")]  # fmt: skip
    _files(tmp_path, rows)
    man = _write_manifest(tmp_path / "m.csv", rows)
    out = tmp_path / "out"
    (out / "cache").mkdir(parents=True)
    [it] = [i for i in plan_items(read_manifest(man), BatchSettings()) if i.key]
    record = _fake_record(-1.5)
    record["alignment"]["warnings"] = [
        "few matches",  # logged by the pipeline as "<after>: few matches"
        "alignment residual 3.1 % of the interocular distance; limit 3 %",  # logged with --force
        "S1_0.jpg: photo turned 90 deg",  # recorded with its file, logged as it is
        "not logged",
    ]
    log = [
        "warning: S1_1.jpg: few matches",
        "warning: S1_1.jpg: alignment residual 3.1 % of the interocular distance; limit 3 %; "
        "proceeding (--force)",
        "warning: S1_0.jpg: photo turned 90 deg",
        "warning: UserWarning: something else",
    ]
    entry = {"cache_format": CACHE_FORMAT, "key": it.key, "log": log, "seconds": 2.0,
             "status": "ok", "record": record}  # fmt: skip
    write_cache_entry(out, entry)
    run_batch(man, out, jobs=1)
    with open(out / "status.csv", newline="", encoding="utf-8") as f:
        [row] = [r for r in csv.DictReader(f) if r["status"] == "ok"]
    assert row["warnings"] == " | ".join(["not logged", *log])


def test_a_subject_with_photos_of_one_visit_only_is_named_not_dropped(tmp_path, caplog):
    """A subject lost to follow-up (a baseline photo, no later one) has no comparison and so no
    row in any table: the batch names it in a warning and in summary.json."""
    import json
    import logging

    from mesovision.batch import BatchSettings, plan_items, read_manifest, run_batch
    from mesovision.batch.cache import write_cache_entry
    from mesovision.batch.plan import CACHE_FORMAT

    rows = [{"subject": s, "timepoint": t, "view": v, "path": f"{s}_{v}_{t}.jpg"}
            for s, v, t in (("S1", "front", "0"), ("S1", "front", "4"), ("S1", "left", "0"),
                            ("S2", "front", "0"), ("S10", "front", "4"))]  # fmt: skip
    _files(tmp_path, rows)
    man = _write_manifest(tmp_path / "m.csv", rows)
    out = tmp_path / "out"
    (out / "cache").mkdir(parents=True)
    [it] = [i for i in plan_items(read_manifest(man), BatchSettings()) if i.key]
    entry = {"cache_format": CACHE_FORMAT, "key": it.key, "log": [], "seconds": 2.0,
             "status": "ok", "record": _fake_record(-1.5)}  # fmt: skip
    write_cache_entry(out, entry)
    with caplog.at_level(logging.WARNING, logger="mesovision"):
        s = run_batch(man, out, jobs=1)
    left = [{"subject": "S1", "view": "left", "timepoints": ["0"]},
            {"subject": "S2", "view": "front", "timepoints": ["0"]}]  # fmt: skip
    assert (s.n_items, s.n_ok, s.n_skipped) == (2, 1, 1)  # S10: no baseline photo, skipped
    assert list(s.not_compared) == left
    assert json.loads((out / "summary.json").read_text())["not_compared"] == left
    [msg] = [r.getMessage() for r in caplog.records if "one visit only" in r.getMessage()]
    assert msg.endswith(": 2 subject/view(s) with photos of one visit only, nothing to compare, "
                        "in no table: S1 left (timepoint 0); S2 front (timepoint 0)")  # fmt: skip


def test_a_script_without_a_main_guard_fails_its_items_saying_why(tmp_path):
    """A script that calls run_batch at its top level: each spawned worker imports the script,
    which calls run_batch again, and dies; the items fail with a message that says so."""
    rows = [{"subject": "S1", "timepoint": t, "view": "front", "path": f"S1_{t}.jpg"}
            for t in ("0", "1")]  # fmt: skip
    _files(tmp_path, rows)
    _write_manifest(tmp_path / "m.csv", rows)
    script = tmp_path / "study.py"
    script.write_text(
        "from mesovision.batch import run_batch\n"
        "s = run_batch('m.csv', 'out', jobs=1)\n"
        "print('failed', s.n_failed)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    p = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True,
                       text=True, timeout=300, env=env)  # fmt: skip
    assert p.returncode == 0 and p.stdout.splitlines()[-1] == "failed 1", p.stderr[-2000:]
    [row] = _read_manifest(tmp_path / "out" / "status.csv")
    assert (row["status"], row["error_type"]) == ("failed", "BrokenProcessPool")
    assert row["message"] == (
        "worker failed: the worker process died (killed, e.g. out of memory; or, when a Python "
        'script calls run_batch, the call is not under `if __name__ == "__main__":`, which the '
        "worker processes need: they import the script)"
    )


def _pandas_kind(series) -> str:
    """The declared type that a column read back by pandas has."""
    from pandas.api.types import (
        is_bool_dtype,
        is_float_dtype,
        is_integer_dtype,
        is_string_dtype,
    )

    d = series.dtype
    if isinstance(d, pd.CategoricalDtype):
        return "timepoint" if d.ordered else "category"
    if is_bool_dtype(d):
        return "bool"
    if is_integer_dtype(d):
        return "Int64" if isinstance(d, pd.Int64Dtype) else "int64"
    if is_float_dtype(d):
        return "float64"
    return "string" if is_string_dtype(d) else str(d)


TABLE_FILES = {
    "results": ("results.csv", "results.parquet"),
    "status": ("status.csv",),
    "measurement_error": ("measurement_error.csv",),
    "stats": ("stats/stats.csv", "stats/stats.parquet"),
}
COVARIATES = {"x_age": "float64", "site": "string"}


def test_every_table_reads_back_with_its_declared_types(labelled_run):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from mesovision.tables import SCHEMAS, read_table

    out = labelled_run
    arrow = {"string": pa.string(), "int64": pa.int64(), "Int64": pa.int64(),
             "float64": pa.float64(), "bool": pa.bool_(),
             "timepoint": pa.dictionary(pa.int32(), pa.string(), ordered=True)}  # fmt: skip
    for table, files in TABLE_FILES.items():
        schema = dict(SCHEMAS[table])
        if table in ("results", "status"):
            schema.update(COVARIATES)
        for name in files:
            df = read_table(out / name, table)
            assert list(df.columns) == list(schema), name
            for c, t in schema.items():
                want = "string" if t == "timepoint" and name.endswith(".csv") else t
                assert _pandas_kind(df[c]) == want, (name, c, df[c].dtype)
            if name.endswith(".parquet"):
                got = pq.read_schema(out / name)
                assert [(f.name, f.type) for f in got] == [(c, arrow[t]) for c, t in schema.items()]
                plain = pd.read_parquet(out / name)  # no mesovision code in between
                assert _pandas_kind(plain["timepoint"]) == "timepoint"
                assert plain["timepoint_rank"].dtype == np.int64
            else:
                plain = pd.read_csv(out / name)
                for c, t in schema.items():
                    if t in ("int64", "bool") and len(plain):
                        assert _pandas_kind(plain[c]) == t, (name, c)
    st = pd.read_parquet(out / "stats/stats.parquet")
    assert st["n"].dtype == np.int64 and st["n"].tolist() == [1] * 6


def test_timepoints_are_text_in_the_manifests_order_with_a_rank(labelled_run):
    res = pd.read_parquet(labelled_run / "results.parquet")
    tp = res["timepoint"]
    assert list(tp.cat.categories) == ["baseline", "week4", "week12"] and tp.cat.ordered
    assert list(res["reference_timepoint"].cat.categories) == ["baseline", "week4", "week12"]
    ranks = dict(zip(tp.astype(str), res["timepoint_rank"], strict=True))
    assert ranks == {"baseline": 0, "week4": 1, "week12": 2}  # week4 before week12
    assert (tp.sort_values().astype(str).unique() == ["baseline", "week4", "week12"]).all()
    csv_res = pd.read_csv(labelled_run / "results.csv")
    assert set(csv_res["timepoint"]) == {"baseline", "week4", "week12"}
    st = pd.read_parquet(labelled_run / "stats/stats.parquet")
    assert list(st["timepoint"].cat.categories) == ["baseline", "week4", "week12"]
    assert st.loc[st["timepoint"] == "week12", "timepoint_rank"].unique().tolist() == [2]


def test_missing_values_are_nulls_never_empty_strings(labelled_run):
    import pyarrow.parquet as pq

    out = labelled_run
    for name in ("results.parquet", "stats/stats.parquet"):
        t = pq.read_table(out / name)
        for f in t.schema:
            if str(f.type) == "string":
                assert "" not in t.column(f.name).to_pylist(), (name, f.name)
    res = pd.read_parquet(out / "results.parquet")
    s2 = res[res["subject"] == "S2"]
    assert len(s2) == 4 and s2["arm"].isna().all()  # no arm: null, not ""
    assert res["comparability_reason"].isna().all()
    for name in ("status.csv", "results.csv", "measurement_error.csv", "stats/stats.csv"):
        text = (out / name).read_text()
        assert '""' not in text, name  # an empty cell is written as nothing at all
    status = pd.read_csv(out / "status.csv", keep_default_na=False)
    skipped = status[status["status"] == "skipped"].iloc[0]
    assert skipped["subject"] == "S3" and skipped["before_path"] == ""  # an empty cell...
    status = pd.read_csv(out / "status.csv")
    skipped = status[status["status"] == "skipped"].iloc[0]
    assert pd.isna(skipped["before_path"]) and pd.isna(skipped["error_type"])  # ...read as NA
    assert pd.isna(skipped["exit_code"]) and pd.isna(skipped["warnings"])
    failed = status[status["status"] == "failed"].iloc[0]
    assert (failed["error_type"], failed["exit_code"]) == ("NoFaceError", 3)
    st = pd.read_parquet(out / "stats/stats.parquet")
    assert st["arm_a"].isna().all() and st["n_a"].isna().all()  # within-arm rows only
    assert st["arm"].isna().sum() == 4  # S2's groups (week4, week12 x 2 regions): no arm


def test_covariates_arrive_in_the_tables(labelled_run):
    res = pd.read_parquet(labelled_run / "results.parquet")
    assert list(res.columns[-2:]) == ["x_age", "site"]
    age = res.groupby("subject")["x_age"].first(skipna=False).to_dict()
    assert age["S1"] == 34.0 and math.isnan(age["S2"])
    assert res.groupby("subject")["site"].first().to_dict() == {"S1": "north", "S2": "south"}
    status = pd.read_csv(labelled_run / "status.csv")
    s3 = status[status["subject"] == "S3"].iloc[0]
    assert (s3["x_age"], s3["site"]) == (51.0, "north")
    assert status["x_age"].dtype == np.float64


def test_covariate_columns_are_accepted_only_when_declared(tmp_path):
    from mesovision.batch import read_manifest
    from mesovision.errors import UsageError

    rows = _files(tmp_path, [{"subject": "A", "timepoint": t, "view": "v", "path": f"a{t}.jpg",
                              "age": "40", "x_bmi": "22.5"} for t in ("0", "4")])  # fmt: skip
    man = _write_manifest(tmp_path / "m.csv", rows)
    with pytest.raises(UsageError, match="unknown column 'age'"):
        read_manifest(man)
    m = read_manifest(man, covariates="age")
    assert m.covariates == ("age", "x_bmi") and m.rows[0].covariates == ("40", "22.5")
    assert read_manifest(man, covariates=["age"]).covariates == ("age", "x_bmi")
    with pytest.raises(UsageError, match="no column 'weight' in the manifest"):
        read_manifest(man, covariates="age,weight")
    with pytest.raises(UsageError, match="'delta' is a column of the manifest or of the tables"):
        read_manifest(man, covariates="age,delta")


def test_the_documented_schema_is_the_written_one():
    """docs/tables.md lists every column of every table with the type the code writes."""
    from conftest import REPO

    from mesovision.tables import SCHEMAS

    doc = (REPO / "docs" / "tables.md").read_text()
    documented: dict[str, dict[str, str]] = {}
    table = None
    for line in doc.splitlines():
        m = re.match(r"## `(\w+)` \(", line)
        if m:
            table = documented.setdefault(m.group(1), {})
        m = re.match(r"\| `(\w+)` \| (\w+) \|", line)
        if m and table is not None:
            table[m.group(1)] = m.group(2)
    assert documented == SCHEMAS


def test_batch_help_explains_every_option_and_ends_with_examples(capsys):
    from mesovision.cli import build_parser

    commands = next(a.choices for a in build_parser()._actions if isinstance(a.choices, dict))
    for action in commands["batch"]._actions:
        assert action.help, action.option_strings or action.dest
    with pytest.raises(SystemExit):
        main(["batch", "--help"])
    text = capsys.readouterr().out
    tail = text[text.index("\nExamples:\n") :]
    assert tail.count("  mesovision batch ") == 4 and "--covariates" in tail
    assert "``" not in text and "exit codes" not in text


def test_covariates_from_the_command_line(labelled_run, tmp_path, capsys):
    out = tmp_path / "out"
    shutil.copytree(labelled_run / "cache", out / "cache")
    man = labelled_run.parent / "m.csv"
    assert main(["batch", str(man), "-o", str(out), "--json"]) == 2  # site: not declared
    assert "unknown column 'site'" in capsys.readouterr().err
    assert main(["batch", str(man), "-o", str(out), "--covariates", "site", "--json"]) == 13
    res = pd.read_csv(out / "results.csv")
    assert list(res.columns[-2:]) == ["x_age", "site"]
    assert sorted(res["site"].unique()) == ["north", "south"]
