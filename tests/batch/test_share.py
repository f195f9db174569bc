"""``mesovision share``: a batch's tables for a study partner. The clinic's ids, the photos'
paths and hashes, the visit dates and free text do not leave; the numbers, arms, timepoints and
the tables' types do, and ``stats`` on the shared copy gives the batch's statistics."""

from __future__ import annotations

import csv
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from test_batch import _fake_record

import mesovision.tables as mt

#: What must not be in any shared file: patient ids, a name in a photo folder, dates, a note.
SECRETS = ("DUPONT-Jeanne", "MARTIN-Paul", "Dupont Jeanne", "2026-01-05", "called back", ".jpg")


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """A batch of two patients (ids with names, photos in folders named after them) over visits
    0, 1, 2 with a visit-date, a note and an age covariate; its cache holds every comparison
    (no photo is analysed); one comparison failed with a message naming the photo."""
    from mesovision.batch import BatchSettings, plan_items, read_manifest, run_batch
    from mesovision.batch.cache import write_cache_entry
    from mesovision.batch.plan import CACHE_FORMAT

    d = tmp_path_factory.mktemp("share")
    dates = {"DUPONT-Jeanne": ("2026-01-05", "2026-02-02", "2026-03-09"),
             "MARTIN-Paul": ("2026-01-12", "2026-02-16", "2026-03-16")}  # fmt: skip
    rows = []
    for s, arm, age in (("DUPONT-Jeanne", "A", "61"), ("MARTIN-Paul", "B", "47")):
        for t, day in enumerate(dates[s]):
            path = f"{'Dupont Jeanne' if s.startswith('D') else 'Martin Paul'}/IMG_{t}.jpg"
            rows.append({"subject": s, "arm": arm, "timepoint": t, "view": "front", "path": path,
                         "x_date": day, "x_note": "called back" if t == 1 else "",
                         "x_age": age})  # fmt: skip
    for r in rows:
        (d / r["path"]).parent.mkdir(parents=True, exist_ok=True)
        (d / r["path"]).write_bytes(r["path"].encode())
    with open(d / "m.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    out = d / "out"
    (out / "cache").mkdir(parents=True)
    for it in plan_items(read_manifest(d / "m.csv"), BatchSettings()):
        entry = {"cache_format": CACHE_FORMAT, "key": it.key, "log": [], "seconds": 2.0}
        if (it.subject, it.timepoint) == ("MARTIN-Paul", "2"):
            entry.update(status="failed", error_type="NoFaceError", exit_code=3, record=None,
                         message=f"{d / it.after.rel}: no face found")  # fmt: skip
        else:
            delta = -1.5 * int(it.timepoint) + (0.5 if it.subject.startswith("M") else 0.0)
            entry.update(status="ok", record=_fake_record(delta))
        write_cache_entry(out, entry)
    run_batch(d / "m.csv", out, jobs=1)
    return d


def _share(d: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mesovision", "share", str(d / "out"), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_nothing_identifying_leaves_and_the_numbers_do(batch, tmp_path):
    shared, key = tmp_path / "to-sponsor", tmp_path / "key.csv"
    proc = _share(batch, "-o", str(shared), "--key", str(key))
    assert proc.returncode == 0, proc.stderr
    assert "2 subject(s) as study codes (2 new in" in proc.stdout
    assert "x_date: dates as x_date_days" in proc.stdout and "left out: x_note" in proc.stdout
    files = sorted(p.name for p in shared.iterdir())
    assert files == sorted(["results.csv", "results.parquet", "status.csv",
                            "measurement_error.csv", "share.json", mt.OUTPUT_MARKER])  # fmt: skip
    for p in shared.iterdir():
        data = p.read_bytes().decode("utf-8", "replace")
        assert not [s for s in SECRETS if s in data], (p.name, [s for s in SECRETS if s in data])
    # the key: the clinic's, owner-only, one code per subject
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    with open(key, newline="") as f:
        codes = {r["subject"]: r["code"] for r in csv.DictReader(f)}
    assert sorted(codes) == ["DUPONT-Jeanne", "MARTIN-Paul"]
    assert sorted(codes.values()) == ["S001", "S002"]
    before = mt.read_table(batch / "out" / "results.parquet", "results")
    after = mt.read_table(shared / "results.parquet", "results")
    # the same rows and numbers, the subject coded, the photo columns empty, dates as days
    assert list(after.columns) == [*mt.SCHEMAS["results"], "x_date_days", "x_age"]
    coded = before.assign(subject=before["subject"].map(codes))
    coded = coded.sort_values("subject", kind="stable").reset_index(drop=True)  # by code
    assert after["subject"].tolist() == coded["subject"].tolist()
    pd.testing.assert_series_equal(after["delta"], coded["delta"])
    assert after["timepoint"].cat.categories.tolist() == ["0", "1", "2"]
    for c in ("before_path", "after_path", "before_sha256", "after_sha256", "cache_key"):
        assert after[c].isna().all() and before[c].notna().all(), c
    days = after.groupby(["subject", "timepoint"], observed=True)["x_date_days"].first()
    assert days[codes["DUPONT-Jeanne"]].tolist() == [28.0, 63.0]  # 2026-02-02, 2026-03-09
    assert days[codes["MARTIN-Paul"]].tolist() == [35.0]  # its visit 2 failed
    status = mt.read_table(shared / "status.csv", "status")
    failed = status[status["status"] == "failed"].iloc[0]
    assert failed["error_type"] == "NoFaceError" and pd.isna(failed["message"])
    by_subject = status.groupby("subject")["x_date_days"].agg(list)
    assert by_subject[codes["DUPONT-Jeanne"]] == [28.0, 63.0]
    assert by_subject[codes["MARTIN-Paul"]] == [35.0, 63.0]
    doc = json.loads((shared / "share.json").read_text())
    assert doc["covariates"] == {
        "as_days_since_first": {"x_date": "x_date_days"}, "kept": ["x_age"],
        "left_out": ["x_note"],
    }  # fmt: skip


def test_stats_of_the_shared_copy_are_the_batchs(batch, tmp_path):
    from mesovision.stats import run_stats

    shared = tmp_path / "s"
    assert _share(batch, "-o", str(shared), "--key", str(tmp_path / "k.csv")).returncode == 0
    ours, _ = run_stats(batch / "out", tmp_path / "st1", plots=False)
    theirs, _ = run_stats(shared, tmp_path / "st2", plots=False)
    pd.testing.assert_frame_equal(ours, theirs)


def test_a_subject_keeps_its_code_and_the_key_is_only_appended_to(batch, tmp_path):
    key = tmp_path / "key.csv"
    key.write_text("subject,code\nMARTIN-Paul,S007\nSOMEONE-Else,S002\n")
    os.chmod(key, 0o600)
    proc = _share(batch, "-o", str(tmp_path / "a"), "--key", str(key), "--keep", "x_note")
    assert proc.returncode == 0, proc.stderr
    lines = ["subject,code", "MARTIN-Paul,S007", "SOMEONE-Else,S002", "DUPONT-Jeanne,S008"]
    assert key.read_text() == "\n".join(lines) + "\n"
    res = mt.read_table(tmp_path / "a" / "results.parquet", "results")
    assert set(res["subject"]) == {"S007", "S008"} and "called back" in set(res["x_note"])
    again = _share(batch, "-o", str(tmp_path / "b"), "--key", str(key), "--drop", "x_age")
    assert again.returncode == 0 and "(0 new in" in again.stdout
    assert "x_age" not in mt.read_table(tmp_path / "b" / "results.parquet", "results").columns


def test_shared_rows_are_in_code_order_not_in_the_order_of_the_clinics_ids(batch, tmp_path):
    """The batch's rows are sorted by the clinic's ids (DUPONT before MARTIN); the shared rows
    are sorted by study code, as the tables' order says, so that their order does not give
    away the ids' (here MARTIN's code comes first); each subject's rows keep their order."""
    key = tmp_path / "key.csv"
    key.write_text("subject,code\nMARTIN-Paul,S001\nDUPONT-Jeanne,S002\n")
    os.chmod(key, 0o600)
    assert _share(batch, "-o", str(tmp_path / "s"), "--key", str(key)).returncode == 0
    codes = {"MARTIN-Paul": "S001", "DUPONT-Jeanne": "S002"}
    for name in ("results", "status"):
        ours = mt.read_table(batch / "out" / f"{name}.csv", name)
        theirs = mt.read_table(tmp_path / "s" / f"{name}.csv", name)
        assert list(ours["subject"].drop_duplicates()) == ["DUPONT-Jeanne", "MARTIN-Paul"]
        assert list(theirs["subject"].drop_duplicates()) == ["S001", "S002"]
        for subject, code in codes.items():
            mine = ours[ours["subject"] == subject].drop(columns="subject")
            shared = theirs[theirs["subject"] == code].drop(columns="subject")
            cols = ["view", "comparison", "timepoint", "repeat"]
            cols += ["region", "metric", "delta"] if name == "results" else ["status"]
            assert mine[cols].values.tolist() == shared[cols].values.tolist()
    parquet = pd.read_parquet(tmp_path / "s" / "results.parquet")
    assert list(parquet["subject"].drop_duplicates()) == ["S001", "S002"]


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (("-o", "{t}/s", "--key", "{t}/s/key.csv"), 2, "the key must not be in the shared folder"),
        (("-o", "{b}/out", "--key", "{t}/k.csv"), 2, "is the batch's"),
        (("-o", "{t}/s", "--key", "{t}/k.csv", "--keep", "x_nope"), 2, "no covariate 'x_nope'"),
        (("-o", "{t}/s", "--key", "{b}/m.csv"), 3, "not a key file"),
    ],
)
def test_bad_requests_are_one_line_and_write_nothing(batch, tmp_path, args, code, needle):
    args = [a.format(t=tmp_path, b=batch) for a in args]
    proc = _share(batch, *args)
    assert proc.returncode == code and needle in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "s").exists() and not (tmp_path / "k.csv").exists()


def test_an_earlier_share_is_replaced_only_with_force(batch, tmp_path):
    shared, key = tmp_path / "s", str(tmp_path / "k.csv")
    assert _share(batch, "-o", str(shared), "--key", key).returncode == 0
    proc = _share(batch, "-o", str(shared), "--key", key)
    assert proc.returncode == 9 and "--force" in proc.stderr
    assert _share(batch, "-o", str(shared), "--key", key, "--force").returncode == 0


def test_dated_timepoints_are_refused(tmp_path):
    from mesovision.errors import UsageError
    from mesovision.share import share_tables

    out = tmp_path / "out"
    out.mkdir()
    df = pd.DataFrame({"subject": ["P1"], "timepoint": ["2026-01-05"], "timepoint_rank": [1],
                       "reference_timepoint_rank": [0], "repeat": [1]})  # fmt: skip
    mt.write_table(mt.conform(df, "results", timepoints=["2026-01-05"]), out / "results.csv",
                   out / "results.parquet")  # fmt: skip
    mt.write_table(mt.conform(df, "status"), out / "status.csv")
    mt.write_table(mt.conform(df.iloc[:0], "measurement_error"), out / "measurement_error.csv")
    with pytest.raises(UsageError, match="timepoints are calendar dates"):
        share_tables(out, tmp_path / "s", tmp_path / "k.csv")
    assert not (tmp_path / "k.csv").exists()


def test_dates_need_the_batchs_own_manifest(batch, tmp_path):
    """The first visit (the baseline) has no row in the tables: its date comes from the
    manifest the batch ran, refused when it has changed since (unless the dates are dropped)."""
    import shutil

    out = tmp_path / "out"
    shutil.copytree(batch / "out", out)
    manifest = tmp_path / "m.csv"
    manifest.write_text((batch / "m.csv").read_text().replace("2026-01-05", "2026-01-04"))
    doc = json.loads((out / "summary.json").read_text())
    (out / "summary.json").write_text(json.dumps({**doc, "manifest": str(manifest)}))
    args = [sys.executable, "-m", "mesovision", "share", str(out), "-o", str(tmp_path / "s")]
    proc = subprocess.run([*args, "--key", str(tmp_path / "k.csv")], capture_output=True, text=True)
    assert proc.returncode == 3, proc.stderr
    assert proc.stderr.strip() == (
        f"mesovision: error: {manifest}: changed since the batch ran: the first visit's date of "
        "x_date is unknown; run the batch again, or --drop x_date"
    )
    assert not (tmp_path / "s").exists() and not (tmp_path / "k.csv").exists()
    proc = subprocess.run([*args, "--key", str(tmp_path / "k.csv"), "--drop", "x_date"],
                          capture_output=True, text=True)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "x_date" not in mt.read_table(tmp_path / "s" / "status.csv", "status").columns
