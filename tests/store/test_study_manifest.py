"""A clinic store's courses as a batch manifest (``mesovision store manifest``), read back by
``mesovision batch`` and ``mesovision stats``: the store's photos become a study."""

from __future__ import annotations

import csv

import pandas as pd
import pytest
from conftest import SAMPLES, run_cli

from mesovision.course.study import MANIFEST_FIELDS, study_manifest
from mesovision.errors import UnknownPatient
from mesovision.store import PhotoImport, Store

ASTRONAUT = SAMPLES / "astronaut"


def test_the_rows_number_each_patients_visits_from_its_first(tmp_path):
    with Store(tmp_path / "s") as st:
        for pid, first in (("P002", "2026-02-10"), ("P001", "2026-01-05")):
            st.add_patient(pid)
            later = "2026-04-01" if pid == "P001" else "2026-03-03"
            folder = ASTRONAUT if pid == "P001" else SAMPLES / "grace_hopper"
            st.import_session(
                pid, date=later, photos=[PhotoImport(str(folder / "after_treated.jpg"))],
                treated=["left_cheek"],
            )  # fmt: skip
            st.import_session(
                pid, date=first, photos=[PhotoImport(str(folder / "before.jpg"))],
                treated=["left_cheek", "right_cheek"],
            )  # fmt: skip
        rows = study_manifest(st)
        assert [(r["subject"], r["timepoint"], r["x_date"]) for r in rows] == [
            ("P001", 0, "2026-01-05"),
            ("P001", 1, "2026-04-01"),
            ("P002", 0, "2026-02-10"),
            ("P002", 1, "2026-03-03"),
        ]
        assert rows[0]["path"] == str((ASTRONAUT / "before.jpg").resolve())
        assert rows[0]["treated"] == "left_cheek;right_cheek" and rows[0]["mode"] == "face"
        assert list(rows[0]) == list(MANIFEST_FIELDS)
        assert [r["subject"] for r in study_manifest(st, patients=["P002"])] == ["P002"] * 2
        assert study_manifest(st, view="left-45") == []  # no photo of that view
        assert {r["ipd_mm"] for r in rows} == {None}  # no distance given
        st.set_patient_ipd("P001", 63.0)
        # the course's scale of the front view (patient add --ipd-mm): P001's rows only
        assert [r["ipd_mm"] for r in study_manifest(st)] == [63.0, 63.0, None, None]
        with pytest.raises(UnknownPatient):
            study_manifest(st, patients=["P404"])


@pytest.mark.slow
def test_a_store_becomes_a_study_batch_and_stats_read(tmp_path):
    with Store(tmp_path / "s") as st:
        st.add_patient("P001", ipd_mm=63.0)
        for date, photo in (("2026-01-05", "before.jpg"), ("2026-02-02", "after_treated.jpg")):
            st.import_session(
                "P001", date=date, photos=[PhotoImport(str(ASTRONAUT / photo))],
                treated=["left_cheek", "right_cheek", "forehead", "chin"],
            )  # fmt: skip
    m = tmp_path / "study" / "manifest.csv"
    m.parent.mkdir()
    proc = run_cli("store", "manifest", m, "--store", tmp_path / "s")
    assert proc.returncode == 0, proc.stderr
    assert "1 patient(s); next: mesovision batch" in proc.stdout
    with open(m, newline="") as f:
        assert [r["timepoint"] for r in csv.DictReader(f)] == ["0", "1"]
    again = run_cli("store", "manifest", m, "--store", tmp_path / "s")
    assert again.returncode == 9  # not overwritten without --force
    out = tmp_path / "study" / "out"
    proc = run_cli("batch", m, "-o", out, "--allow-outside", "--max-side", "512", "-j", "1")
    assert proc.returncode == 0, proc.stderr
    res = pd.read_parquet(out / "results.parquet")
    assert set(res["subject"]) == {"P001"} and set(res["x_date"]) == {"2026-02-02"}
    cheek = res[(res["region"] == "left_cheek") & (res["metric"] == "redness.mean_a")].iloc[0]
    assert cheek["endpoint"] == "primary"
    # the patient's interpupillary distance is the batch's scale, as it is the course's
    mm = res[res["metric"] == "swelling.contour_mm"]
    assert len(mm) > 0 and mm["delta"].notna().any()
