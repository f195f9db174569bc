"""The store: migrations, concurrent writers, crashes mid-import, duplicates, CLI errors."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, run_cli
from PIL import Image

from mesovision.errors import InputFileError, StoreError, UsageError
from mesovision.store import (
    DB_NAME,
    SCHEMA_VERSION,
    STORE_ENV,
    PhotoImport,
    Store,
    connect,
    migrate,
    resolve_store_dir,
)


def _files(folder: Path, n: int, tag: str = "") -> list[str]:
    """``n`` small JPEGs of distinct content, without metadata (so a managed copy is the same
    bytes)."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        p = folder / f"photo{tag}{i}.jpg"
        rgb = np.full((8, 16, 3), (i * 37) % 256, np.uint8)
        rgb[:, 8:] = (ord((tag or "z")[0]) * 53) % 256
        Image.fromarray(rgb).save(p, quality=95)
        out.append(str(p))
    return out


def _counts(directory: Path) -> tuple[int, int]:
    c = sqlite3.connect(directory / DB_NAME)
    try:
        return (
            c.execute("SELECT count(*) FROM sessions").fetchone()[0],
            c.execute("SELECT count(*) FROM photos").fetchone()[0],
        )
    finally:
        c.close()


def test_store_folder_from_option_or_environment(monkeypatch, tmp_path):
    monkeypatch.delenv(STORE_ENV, raising=False)
    with pytest.raises(UsageError, match="--store DIR or set the environment variable"):
        resolve_store_dir(None)
    monkeypatch.setenv(STORE_ENV, str(tmp_path / "env"))
    assert resolve_store_dir(None) == tmp_path / "env"
    assert resolve_store_dir(tmp_path / "opt") == tmp_path / "opt"


def test_cli_without_store_says_how_to_set_it(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != STORE_ENV}
    proc = run_cli("patient", "list", env=env)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mesovision: error: ")
    assert STORE_ENV in lines[0] and "--store" in lines[0]
    env[STORE_ENV] = str(tmp_path / "s")
    proc = run_cli("patient", "add", "P1", env=env)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "s" / DB_NAME).is_file()


def test_new_store_is_wal_at_current_schema(tmp_path):
    with Store(tmp_path / "s") as st:
        assert st.schema_version == SCHEMA_VERSION == 6
        assert st.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert st.conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 1000
        tables = {
            r[0] for r in st.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }
        assert {"patients", "sessions", "photos", "analyses", "files", "changes"} <= tables
    assert oct((tmp_path / "s").stat().st_mode & 0o777) == "0o700"
    assert oct((tmp_path / "s" / DB_NAME).stat().st_mode & 0o777) == "0o600"


def test_v1_database_is_migrated_with_its_data(tmp_path):
    d = tmp_path / "old"
    d.mkdir()
    conn = connect(d / DB_NAME)
    assert migrate(conn, target=1) == 1  # a store written by the first release
    conn.execute("INSERT INTO patients (id, created) VALUES ('P7', '2026-01-01')")
    conn.execute(
        "INSERT INTO sessions (id, patient_id, date, created) VALUES (1, 'P7', '2026-01-02', 'x')"
    )
    conn.execute(
        "INSERT INTO photos (session_id, sha256, view, original_path, created) "
        "VALUES (1, ?, 'front', '/x.jpg', 'x')",
        ("a" * 64,),
    )
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "analyses" not in tables
    conn.close()
    with Store(d) as st:
        assert st.schema_version == SCHEMA_VERSION
        assert st.find_analysis("nothing") is None  # the v2 table exists
        [s] = st.sessions("P7")
        assert s["date"] == "2026-01-02" and s["photos"][0]["sha256"] == "a" * 64
    with Store(d) as st:  # opening again changes nothing
        assert st.schema_version == SCHEMA_VERSION and len(st.sessions("P7")) == 1


def test_session_and_photo_ids_are_never_reused(tmp_path):
    """A removed session's id (and its photo's) is not given to the next session: a report or
    the log of changes citing "session 2" keeps meaning that visit."""
    files = _files(tmp_path / "in", 3)
    with Store(tmp_path / "s") as st:
        st.add_patient("P1")
        s1 = st.import_session("P1", date="2026-01-01", photos=[PhotoImport(files[0])])
        s2 = st.import_session("P1", date="2026-02-01", photos=[PhotoImport(files[1])])
        st.remove_session(s2["id"])
        s3 = st.import_session("P1", date="2026-03-01", photos=[PhotoImport(files[2])])
        assert s3["id"] == s2["id"] + 1 and s3["id"] != s1["id"]
        assert s3["photos"][0]["id"] == s2["photos"][0]["id"] + 1
        [removal] = st.changes()
        assert removal["session_id"] == s2["id"]
        assert removal["detail"]["photo_ids"] == [s2["photos"][0]["id"]]
        st.remove_patient("P1")
        st.add_patient("P1")
        s4 = st.import_session("P1", date="2026-04-01", photos=[PhotoImport(files[0])])
        assert s4["id"] == s3["id"] + 1 and s4["photos"][0]["id"] == s3["photos"][0]["id"] + 1


def _schema_3_store(d: Path) -> None:
    """A store as the schema-3 code wrote it (ids without AUTOINCREMENT): patient P1 with
    sessions 1 and 2 (photos 1 and 2); session 3 (photo 3) filed, then removed and logged."""
    d.mkdir()
    conn = connect(d / DB_NAME)
    assert migrate(conn, target=3) == 3
    conn.execute("INSERT INTO patients (id, created) VALUES ('P1', 'x')")
    for i in (1, 2, 3):
        conn.execute(
            "INSERT INTO sessions (id, patient_id, date, created) VALUES (?, 'P1', ?, 'x')",
            (i, f"2026-0{i}-01"),
        )
        conn.execute(
            "INSERT INTO photos (id, session_id, sha256, view, original_path, checks, created) "
            "VALUES (?, ?, ?, 'front', ?, '[{\"name\": \"sharpness\"}]', 'x')",
            (i, i, str(i) * 64, f"/p{i}.jpg"),
        )
    conn.execute("DELETE FROM photos WHERE id = 3")
    conn.execute("DELETE FROM sessions WHERE id = 3")
    conn.execute(
        "INSERT INTO changes (time, action, patient_id, session_id) "
        "VALUES ('x', 'session remove', 'P1', 3)"
    )
    schema = {r[0] for r in conn.execute("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL")}
    assert not any("AUTOINCREMENT" in sql for sql in schema)
    conn.close()


def test_schema_3_store_is_migrated_to_ids_never_reused(tmp_path):
    """Schema 4 rebuilds ``sessions`` and ``photos`` with AUTOINCREMENT: the rows, their ids,
    checks and foreign keys survive; the session counter starts after the highest id the log of
    changes knows (session 3, removed before the migration), so no removed id comes back."""
    d = tmp_path / "old"
    _schema_3_store(d)
    with Store(d) as st:
        assert st.schema_version == SCHEMA_VERSION == 6
        assert st.conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        # the photos' files were never written: those are the only problems
        assert [p for p in st.integrity_problems() if "original file" not in p] == []
        ss = st.sessions("P1")
        assert [(s["id"], s["date"]) for s in ss] == [(1, "2026-01-01"), (2, "2026-02-01")]
        assert [s["photos"][0]["id"] for s in ss] == [1, 2]
        assert ss[1]["photos"][0]["checks"] == [{"name": "sharpness"}]
        refs = {
            t: [tuple(r)[2:5] for r in st.conn.execute(f"PRAGMA foreign_key_list({t})")]
            for t in ("sessions", "photos")
        }
        assert refs == {
            "sessions": [("patients", "patient_id", "id")],
            "photos": [("sessions", "session_id", "id")],
        }
        with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
            st.conn.execute("DELETE FROM sessions WHERE id = 1")  # its photo refers to it
        with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
            st.conn.execute(
                "INSERT INTO photos (session_id, sha256, view, original_path, created) "
                "VALUES (99, ?, 'front', '/x.jpg', 'x')",
                ("f" * 64,),
            )
        [f] = _files(tmp_path / "in", 1)
        new = st.import_session("P1", date="2026-05-01", photos=[PhotoImport(f)])
        assert new["id"] == 4 and new["photos"][0]["id"] == 3  # session 3 was removed
        st.remove_session(new["id"])
        [f] = _files(tmp_path / "in2", 1, tag="b")
        again = st.import_session("P1", date="2026-05-01", photos=[PhotoImport(f)])
        assert again["id"] == 5 and again["photos"][0]["id"] == 4
    with Store(d) as st:  # opening again changes nothing
        assert st.schema_version == SCHEMA_VERSION and [s["id"] for s in st.sessions("P1")] == [
            1,
            2,
            5,
        ]


def test_schema_4_store_gains_each_photos_scale(tmp_path):
    """Schema 5 adds ``photos.px_per_mm``: a schema-4 store's photos keep their rows and have no
    scale; a scale can then be set (``session edit --px-per-mm``, logged with the old value),
    cleared, and never be 0 or negative."""
    d = tmp_path / "old"
    d.mkdir()
    conn = connect(d / DB_NAME)
    assert migrate(conn, target=4) == 4
    conn.execute("INSERT INTO patients (id, created) VALUES ('P1', 'x')")
    conn.execute(
        "INSERT INTO sessions (id, patient_id, date, created) VALUES (1, 'P1', '2026-01-01', 'x')"
    )
    conn.execute(
        "INSERT INTO photos (id, session_id, sha256, view, original_path, checks, created) "
        "VALUES (1, 1, ?, 'body:thigh', '/t.jpg', '[{\"name\": \"sharpness\"}]', 'x')",
        ("1" * 64,),
    )
    assert "px_per_mm" not in {r[1] for r in conn.execute("PRAGMA table_info(photos)")}
    conn.close()
    with Store(d) as st:
        assert st.schema_version == SCHEMA_VERSION == 6
        [photo] = st.sessions("P1")[0]["photos"]
        assert photo["px_per_mm"] is None and photo["checks"] == [{"name": "sharpness"}]
        assert photo["view"] == "body:thigh" and photo["sha256"] == "1" * 64
        s = st.edit_session(1, px_per_mm=8.5)
        assert s["photos"][0]["px_per_mm"] == 8.5
        assert st.changes()[-1]["detail"]["new"]["px_per_mm"] == {
            "photo": 1, "from": None, "to": 8.5,
        }  # fmt: skip
        with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
            st.conn.execute("UPDATE photos SET px_per_mm = 0 WHERE id = 1")
        with pytest.raises(UsageError, match="not a plausible scale"):
            st.edit_session(1, px_per_mm=-2.0)
        assert st.edit_session(1, px_per_mm="")["photos"][0]["px_per_mm"] is None
    with Store(d) as st:  # opening again changes nothing
        assert (
            st.schema_version == SCHEMA_VERSION
            and st.sessions("P1")[0]["photos"][0]["px_per_mm"] is None
        )


def test_schema_5_store_gains_each_patient_s_interpupillary_distance(tmp_path):
    """Schema 6 adds ``patients.ipd_mm``: a schema-5 store's patients keep their rows and have
    none; it can then be set, changed and cleared (logged with the old value, the cached
    analyses of the patient's front photos dropped, another patient's kept), and is never
    outside 40-80 mm."""
    d = tmp_path / "old"
    d.mkdir()
    conn = connect(d / DB_NAME)
    assert migrate(conn, target=5) == 5
    conn.execute(
        "INSERT INTO patients (id, name, birth_year, created) VALUES ('P1', 'A', 1980, 'x')"
    )
    conn.execute("INSERT INTO patients (id, created) VALUES ('P2', 'x')")
    for sid, pid in ((1, "P1"), (2, "P1"), (3, "P2"), (4, "P2")):
        conn.execute(
            "INSERT INTO sessions (id, patient_id, date, created) VALUES (?, ?, ?, 'x')",
            (sid, pid, f"2026-01-0{sid}"),
        )
        conn.execute(
            "INSERT INTO photos (id, session_id, sha256, view, original_path, created) "
            "VALUES (?, ?, ?, 'front', '/f.jpg', 'x')",
            (sid, sid, str(sid) * 64),
        )
    for aid, ids in ((1, "[1, 2]"), (2, "[3, 4]")):
        conn.execute(
            "INSERT INTO analyses (id, kind, photo_ids, cache_key, settings, result, version, "
            "created) VALUES (?, 'compare', ?, ?, '{}', '{}', 'v', 'x')",
            (aid, ids, f"k{aid}"),
        )
    assert "ipd_mm" not in {r[1] for r in conn.execute("PRAGMA table_info(patients)")}
    conn.close()
    with Store(d) as st:
        assert st.schema_version == SCHEMA_VERSION == 6
        p1 = st.patient("P1")
        assert p1["ipd_mm"] is None and (p1["name"], p1["birth_year"]) == ("A", 1980)
        assert [p["ipd_mm"] for p in st.patients()] == [None, None]
        assert st.set_patient_ipd("P1", 63)["ipd_mm"] == 63.0
        assert st.changes()[-1]["action"] == "patient edit"
        assert st.changes()[-1]["detail"] == {"old": {"ipd_mm": None}, "new": {"ipd_mm": 63.0}}
        assert st.find_analysis("k1") is None and st.find_analysis("k2") is not None
        n = len(st.changes())
        assert st.set_patient_ipd("P1", 63.0)["ipd_mm"] == 63.0 and len(st.changes()) == n
        with pytest.raises(UsageError, match="not a plausible interpupillary distance"):
            st.set_patient_ipd("P1", 90)
        with pytest.raises(UsageError, match="not a plausible interpupillary distance"):
            st.add_patient("P3", ipd_mm=39.5)
        with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
            st.conn.execute("UPDATE patients SET ipd_mm = 100 WHERE id = 'P1'")
        assert st.set_patient_ipd("P1", None)["ipd_mm"] is None
        assert st.changes()[-1]["detail"]["old"] == {"ipd_mm": 63.0}
        assert st.add_patient("P4", ipd_mm=61.5)["ipd_mm"] == 61.5
    with Store(d) as st:  # opening again changes nothing
        assert st.schema_version == 6 and st.patient("P4")["ipd_mm"] == 61.5
        assert st.patient("P1")["ipd_mm"] is None and len(st.sessions("P2")) == 2


def test_a_trichoscopy_photo_is_filed_only_with_its_scale(tmp_path):
    a, b = _files(tmp_path / "in", 2)
    with Store(tmp_path / "s") as st:
        st.add_patient("P1")
        tri = "trichoscopy:vertex"
        with pytest.raises(UsageError, match="a trichoscopy:vertex photo needs its scale"):
            st.import_session("P1", date="2026-01-01", photos=[PhotoImport(a, view=tri)])
        assert st.sessions("P1") == []
        s = st.import_session(
            "P1", date="2026-01-01", photos=[PhotoImport(a, view=tri, px_per_mm=50.0)]
        )
        assert s["photos"][0]["px_per_mm"] == 50.0
        with pytest.raises(UsageError, match="needs its scale"):
            st.edit_session(s["id"], px_per_mm="")  # cannot be cleared
        s2 = st.import_session("P1", date="2026-02-01", photos=[PhotoImport(b, view="front")])
        with pytest.raises(UsageError, match="needs its scale"):
            st.edit_session(s2["id"], view=tri)  # a view that needs a scale, without one
        s2 = st.edit_session(s2["id"], view=tri, px_per_mm=40.0)
        assert [(p["view"], p["px_per_mm"]) for p in s2["photos"]] == [(tri, 40.0)]


def test_a_migration_refuses_a_row_whose_foreign_key_points_nowhere(tmp_path):
    """The tables are rebuilt with foreign keys off; a row left pointing nowhere (a damaged
    schema-3 store) refuses the migration: nothing changes."""
    d = tmp_path / "old"
    _schema_3_store(d)
    conn = sqlite3.connect(d / DB_NAME)  # foreign keys off: the damage goes in
    conn.execute(
        "INSERT INTO photos (session_id, sha256, view, original_path, created) "
        "VALUES (42, ?, 'front', '/x.jpg', 'x')",
        ("e" * 64,),
    )
    conn.commit()
    conn.close()
    # (id 3 again: schema 3 reuses the removed photo's id)
    with pytest.raises(StoreError, match=r"foreign key: \('photos', 3, 'sessions', 0\)"):
        Store(d)
    conn = sqlite3.connect(d / DB_NAME)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 3
    sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'sessions'").fetchone()[0]
    assert "AUTOINCREMENT" not in sql
    conn.close()


def test_store_newer_than_the_code_is_refused(tmp_path):
    Store(tmp_path).close()
    c = sqlite3.connect(tmp_path / DB_NAME)
    c.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    c.close()
    with pytest.raises(InputFileError, match="newer than this mesovision"):
        Store(tmp_path)


def test_a_file_that_is_not_a_database_is_an_input_error(tmp_path):
    (tmp_path / DB_NAME).write_bytes(b"garbage" * 1000)
    with pytest.raises(StoreError, match="not a usable store database") as info:
        Store(tmp_path)
    assert info.value.exit_code == 12 and isinstance(info.value, InputFileError)


def test_patients(tmp_path):
    with Store(tmp_path) as st:
        st.add_patient("P001", name="Ada", birth_year=1970)
        st.add_patient("P002")
        with pytest.raises(UsageError, match="P001 already exists"):
            st.add_patient("P001")
        with pytest.raises(UsageError, match="birth year 1800"):
            st.add_patient("P003", birth_year=1800)
        with pytest.raises(UsageError, match="patient id"):
            st.add_patient("bad id/with slash")
        with pytest.raises(UsageError, match="unknown patient 'P404'"):
            st.patient("P404")
        assert [(p["id"], p["name"], p["birth_year"]) for p in st.patients()] == [
            ("P001", "Ada", 1970),
            ("P002", None, None),
        ]


def test_import_copy_and_duplicates(tmp_path):
    a, b, c = _files(tmp_path / "in", 3)
    with Store(tmp_path / "s") as st:
        st.add_patient("P1")
        checks = [{"name": "sharpness", "ok": True, "value": 42.0}]
        s = st.import_session(
            "P1",
            date="2026-03-01",
            photos=[PhotoImport(a, "front", checks=checks), PhotoImport(b, "left-45")],
            treated=["left_cheek"],
            product="HA",
            copy=True,
        )
        assert [p["view"] for p in s["photos"]] == ["front", "left-45"]
        assert s["treated"] == ["left_cheek"] and s["photos"][0]["checks"] == checks
        managed = Path(s["photos"][0]["file"])
        assert managed.parent == tmp_path / "s" / "photos"
        assert managed.read_bytes() == Path(a).read_bytes()
        assert managed.name == s["photos"][0]["sha256"] + ".jpg"
        # The same bytes under another name are detected by hash.
        dup = tmp_path / "renamed.jpg"
        dup.write_bytes(Path(a).read_bytes())
        with pytest.raises(UsageError, match=r"already in the store \(photo 1, patient P1"):
            st.import_session("P1", date="2026-03-15", photos=[PhotoImport(str(dup))])
        with pytest.raises(UsageError, match="the same photo is given twice"):
            st.import_session(
                "P1", date="2026-03-15", photos=[PhotoImport(c), PhotoImport(c, "left-45")]
            )
        with pytest.raises(UsageError, match="one photo per view"):
            st.import_session("P1", date="2026-03-15", photos=[PhotoImport(c), PhotoImport(dup)])
        with pytest.raises(UsageError, match="not a calendar date"):
            st.import_session("P1", date="2026-02-30", photos=[PhotoImport(c)])
        with pytest.raises(UsageError, match="unknown view 'side'"):
            st.import_session("P1", date="2026-03-15", photos=[PhotoImport(c, "side")])
        with pytest.raises(UsageError, match="unknown patient 'P2'"):
            st.import_session("P2", date="2026-03-15", photos=[PhotoImport(c)])
        with pytest.raises(InputFileError, match="changed during the import"):
            st.import_session("P1", date="2026-03-15", photos=[PhotoImport(c, sha256="0" * 64)])
        assert _counts(tmp_path / "s") == (1, 2)  # the refused imports left nothing
        assert st.integrity_problems() == []
        s2 = st.import_session("P1", date="2026-03-15", photos=[PhotoImport(c, "body:thigh")])
        assert s2["photos"][0]["managed_path"] is None and s2["photos"][0]["file"] == c
        assert [x["date"] for x in st.sessions("P1")] == ["2026-03-01", "2026-03-15"]
        assert st.baseline_photo("P1", "front")["id"] == s["photos"][0]["id"]
        assert st.baseline_photo("P1", "right-45") is None


def test_orphans_of_the_store_are_removed_and_foreign_files_refused(tmp_path):
    (a, b) = _files(tmp_path / "in", 2)
    d = tmp_path / "s"
    with Store(d) as st:
        st.add_patient("P1")
        s = st.import_session("P1", date="2026-03-01", photos=[PhotoImport(a)], copy=True)
        s2 = st.import_session("P1", date="2026-03-08", photos=[PhotoImport(b)], copy=True)
        photos = d / "photos"
        # A copy the store made and no row needs any more (as after a removal) goes.
        st.conn.execute("DELETE FROM photos WHERE session_id = ?", (s2["id"],))
        st.conn.execute("DELETE FROM sessions WHERE id = ?", (s2["id"],))
        st.add_patient("P2")  # any write transaction
        assert not Path(s2["photos"][0]["file"]).exists()
        assert Path(s["photos"][0]["file"]).is_file()  # the copy a row refers to stays
        # Files the store did not write are never deleted: the write is refused, naming one.
        foreign = [photos / ("f" * 64 + ".jpg"), photos / ".x.jpg.123.tmp"]
        for f in foreign:
            f.write_bytes(b"x")
        (d / "analyses").mkdir()
        (d / "analyses" / "17").mkdir()
        with pytest.raises(StoreError, match="not written by mesovision") as info:
            st.add_patient("P3")
        assert info.value.path == str(d / "analyses" / "17") and "(and 2 more)" in str(info.value)
        assert all(f.exists() for f in foreign) and (d / "analyses" / "17").is_dir()
        assert st.patients()[-1]["id"] == "P2"  # nothing written
        assert sum("not written by mesovision" in p for p in st.integrity_problems()) == 3


def test_reproduction_foreign_photo_is_kept(tmp_path):
    """Issue #16: ``mkdir -p d/photos && echo x > d/photos/keep.jpg && patient add P9``."""
    d = tmp_path / "d"
    (d / "photos").mkdir(parents=True)
    (d / "photos" / "keep.jpg").write_text("x\n")
    proc = run_cli("patient", "add", "P9", "--store", d)
    assert proc.returncode == 12, proc.stderr
    [line] = proc.stderr.strip().splitlines()
    assert line.startswith(f"mesovision: error: {d / DB_NAME}: missing while photos/ exists")
    assert (d / "photos" / "keep.jpg").read_text() == "x\n"
    assert not (d / DB_NAME).exists()


@pytest.mark.parametrize("how", ["missing", "empty", "damaged", "not a store"])
def test_lost_or_damaged_database_beside_photos_is_refused(tmp_path, how):
    (a,) = _files(tmp_path / "in", 1)
    d = tmp_path / "s"
    with Store(d) as st:
        st.add_patient("P1")
        s = st.import_session("P1", date="2026-03-01", photos=[PhotoImport(a)], copy=True)
    copy = Path(s["photos"][0]["file"])
    db = d / DB_NAME
    for extra in (d / (DB_NAME + "-wal"), d / (DB_NAME + "-shm")):
        extra.unlink(missing_ok=True)
    if how == "missing":
        db.unlink()
    elif how == "empty":
        db.write_bytes(b"")
    elif how == "damaged":
        raw = bytearray(db.read_bytes())
        raw[4096 : 4096 + 12] = b"\xa5" * 12  # the second page's b-tree header overwritten
        db.write_bytes(bytes(raw))
    else:
        db.unlink()
        c = sqlite3.connect(db)  # a valid SQLite file that is not a store
        c.execute("CREATE TABLE t (x)")
        c.close()
    size = db.stat().st_size if db.exists() else None
    with pytest.raises(StoreError) as info:
        Store(d)
    assert info.value.exit_code == 12 and info.value.path == str(db)
    assert copy.is_file()  # nothing deleted
    assert (db.stat().st_size if db.exists() else None) == size  # nothing recreated
    proc = run_cli("patient", "list", "--store", d)
    assert proc.returncode == 12 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_cleanup_never_follows_symbolic_links(tmp_path):
    (a,) = _files(tmp_path / "in", 1)
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "keep.jpg").write_bytes(b"x")
    d = tmp_path / "s"
    with Store(d) as st:
        st.add_patient("P1")
        s = st.import_session("P1", date="2026-03-01", photos=[PhotoImport(a)], copy=True)
        # A recorded analysis folder replaced by a link to another folder, then orphaned.
        (d / "analyses").mkdir()
        (d / "analyses" / "5").symlink_to(precious, target_is_directory=True)
        st.conn.execute(
            "INSERT INTO files (path, kind, created) VALUES ('analyses/5', 'analysis', 'x')"
        )
        st.add_patient("P2")
        assert not os.path.lexists(d / "analyses" / "5")  # the link went
        assert (precious / "keep.jpg").is_file()  # its target did not
        # photos/ itself a link: refused, nothing inside touched.
        copy = Path(s["photos"][0]["file"])
        moved = tmp_path / "elsewhere"
        (d / "photos").rename(moved)
        (d / "photos").symlink_to(moved, target_is_directory=True)
        with pytest.raises(StoreError, match="not written by mesovision"):
            st.add_patient("P3")
        assert (moved / copy.name).is_file()


WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    import mesovision.io  # imported lazily by the store: import it before the start signal
    from mesovision.store import PhotoImport, Store
    store_dir, tag, signals, files = sys.argv[1], sys.argv[2], Path(sys.argv[3]), sys.argv[4:]
    def wait(name):
        while not (signals / name).exists():
            time.sleep(0.001)
    wait("open")
    st = Store(store_dir)  # both create the store at once
    st.conn.execute("INSERT OR IGNORE INTO patients (id, created) VALUES ('P', 'x')")
    (signals / f"ready-{tag}").touch()
    wait("write")
    t0 = time.time()
    for i, f in enumerate(files):
        st.import_session("P", date=f"2026-01-{1 + i % 28:02d}", photos=[PhotoImport(f)],
                          notes=tag, copy=i % 2 == 0)
    print(len(st.sessions("P")), t0, time.time())
    """
)


def test_two_processes_writing_at_once(tmp_path):
    n = 40
    signals = tmp_path / "signals"
    signals.mkdir()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(tmp_path / "s"), tag, str(signals)]
            + _files(tmp_path / tag, n, tag),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
        )
        for tag in ("a", "b")
    ]
    (signals / "open").touch()
    deadline = time.time() + 60
    while not all((signals / f"ready-{t}").exists() for t in "ab"):
        assert all(p.poll() is None for p in procs) and time.time() < deadline
        time.sleep(0.005)
    (signals / "write").touch()
    outs = [p.communicate(timeout=120) for p in procs]
    for p, (_, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err
    seen, t0, t1 = zip(*(map(float, out.split()) for out, _ in outs), strict=True)
    assert max(t0) < min(t1), "the two writers did not overlap: nothing was tested"
    assert all(n <= k <= 2 * n for k in seen)  # its own sessions, and some of the other's
    assert _counts(tmp_path / "s") == (2 * n, 2 * n)
    with Store(tmp_path / "s") as st:
        assert st.integrity_problems() == []
        notes = [s["notes"] for s in st.sessions("P")]
        assert notes.count("a") == n and notes.count("b") == n
        assert len(list((tmp_path / "s" / "photos").iterdir())) == 2 * ((n + 1) // 2)


KILLED = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    import mesovision.store as ms
    store_dir, stage, marker, files = sys.argv[1], sys.argv[2], Path(sys.argv[3]), sys.argv[4:]
    orig = getattr(ms.Store, stage)
    def stall(self, *a, **k):
        r = orig(self, *a, **k)
        marker.touch()  # the parent kills us now: mid-import, inside the transaction
        time.sleep(60)
        return r
    setattr(ms.Store, stage, stall)
    st = ms.Store(store_dir)
    views = ["front", "left-45", "right-45"]
    st.import_session("P", date="2026-02-01", copy=True,
                      photos=[ms.PhotoImport(f, views[i]) for i, f in enumerate(files)])
    """
)


@pytest.mark.parametrize("stage", ["_copy_in", "_insert_photo"])
def test_sigkill_mid_import_leaves_no_half_session(tmp_path, stage):
    first, *three = _files(tmp_path / "in", 4)
    with Store(tmp_path / "s") as st:
        st.add_patient("P")
        st.import_session("P", date="2026-01-01", photos=[PhotoImport(first)], copy=True)
    marker = tmp_path / "marker"
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED, str(tmp_path / "s"), stage, str(marker), *three],
        cwd=REPO,
        stderr=subprocess.PIPE,
    )
    deadline = time.time() + 60
    while not marker.exists():
        assert proc.poll() is None, proc.stderr.read()
        assert time.time() < deadline
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    copies = tmp_path / "s" / "photos"
    assert len([p for p in copies.iterdir() if not p.name.startswith(".")]) == 2
    with Store(tmp_path / "s") as st:
        assert st.integrity_problems() == []
        assert [s["date"] for s in st.sessions("P")] == ["2026-01-01"]
        assert _counts(tmp_path / "s") == (1, 1)
        # The next write removes the orphan copy; the killed import can be done again.
        s = st.import_session(
            "P",
            date="2026-02-01",
            photos=[
                PhotoImport(f, v)
                for f, v in zip(three, ["front", "left-45", "right-45"], strict=True)
            ],
        )
        assert len(s["photos"]) == 3
        assert len(list(copies.iterdir())) == 1
        assert st.integrity_problems() == []


def test_cli_patient_commands_and_unknown_ids(tmp_path):
    store = str(tmp_path / "s")
    assert (
        run_cli(
            "patient", "add", "P001", "--name", "A B", "--birth-year", "1961", "--store", store
        ).returncode
        == 0
    )
    proc = run_cli("patient", "list", "--json", "--store", store)
    assert proc.returncode == 0
    [p] = json.loads(proc.stdout)
    assert (p["id"], p["name"], p["birth_year"], p["n_sessions"]) == ("P001", "A B", 1961, 0)
    for args in (
        ("patient", "show", "P404"),
        ("progress", "P404"),
        ("export", "P404", "--csv"),
        ("session", "add", "P404", "--date", "2026-01-01", "--photo", "x.jpg"),
    ):
        proc = run_cli(*args, "--store", store)
        assert proc.returncode == 2, (args, proc.stderr)
        lines = proc.stderr.strip().splitlines()
        assert lines == ["mesovision: error: unknown patient 'P404' (see: mesovision patient list)"]
    proc = run_cli("patient", "add", "P001", "--store", store)
    assert proc.returncode == 2 and "P001 already exists" in proc.stderr


# --------------------------------------------------------------------------------------------
# photo views (mesovision.views, re-exported by mesovision.store)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("view", "mode"),
    [("front", "face"), ("left-45", "face"), ("right-45", "face"), ("body:thigh", "body"),
     ("body:upper_arm", "body"), ("scalp:front", "scalp"), ("scalp:crown", "scalp"),
     ("trichoscopy:vertex", "trichoscopy")],
)  # fmt: skip
def test_validate_view_accepts_face_body_and_scalp_views(view, mode):
    from mesovision.course import comparison_settings
    from mesovision.views import validate_view, view_mode

    assert validate_view(view) == view
    assert view_mode(view) == mode == comparison_settings(view, ())["mode"]


@pytest.mark.parametrize(
    "view",
    ["top", "Front", "body:", "body:thigh/left", "left-30", "scalp:", "hair:crown", "trichoscopy:"],
)
def test_validate_view_refuses_other_names_and_lists_the_valid_ones(view):
    from mesovision.views import validate_view

    with pytest.raises(
        UsageError,
        match=r"valid: front, left-45, right-45, body:<area> .*scalp.*trichoscopy:<area>",
    ):
        validate_view(view)


def test_store_reexports_the_views_of_the_low_level_module():
    import mesovision.store as ms
    import mesovision.views as mv

    assert ms.FACE_VIEWS == ("front", "left-45", "right-45")
    assert ms.FACE_VIEWS is mv.FACE_VIEWS and ms.validate_view is mv.validate_view


def test_capture_checks_do_not_import_the_store():
    """The checks sit below the store: importing them must not load it (layer order)."""
    code = "import sys, mesovision.checks; print('mesovision.store' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert out.stdout.strip() == "False"
