"""Erasure: ``patient remove`` leaves no trace of the patient in the store's files.

The patient's rows of the log of changes (old notes of ``session edit``, dates and photo hashes
of ``session remove``) go with the patient, and the removal's own entry names neither the
patient nor their data; ``secure_delete`` and the emptied write-ahead log leave none of the
removed values in ``store.sqlite`` or ``store.sqlite-wal``, whatever the SQLite build's default.
The controls (secure_delete switched off, the write-ahead log not emptied) show that the byte
check sees what they would leave."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mesovision.errors import UsageError
from mesovision.store import DB_NAME, PhotoImport, Store

#: What the removed patient leaves nowhere: name, a note's phone number, the note a correction
#: replaced, the photos' file names, the id.
MARKERS = ("Jane SECRETDOE", "0612345678", "SECRETDRUG", "Jane_SECRETDOE", "SECRETP01")


def _photo(path: Path, seed: int) -> str:
    rgb = np.random.default_rng(seed).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(path)
    return str(path)


def _fill(st: Store, tmp_path: Path) -> list[dict]:
    """Patient SECRETP01 with three sessions (a note with a phone number, a product, a
    correction of the note, a removed session) and patient P2 with one session and an edit."""
    st.add_patient("SECRETP01", name="Jane SECRETDOE", birth_year=1970)
    ss = [
        st.import_session(
            "SECRETP01",
            date=f"2026-01-0{i + 5}",
            photos=[PhotoImport(_photo(tmp_path / f"Jane_SECRETDOE_{i}.png", i))],
            product="SECRETDRUG" if i == 1 else None,
            notes="Mme Jane SECRETDOE, tel 0612345678" if i == 0 else None,
            copy=True,
        )
        for i in range(3)
    ]
    st.edit_session(ss[0]["id"], notes="name removed")
    st.edit_session(ss[1]["id"], product="")
    st.remove_session(ss[2]["id"])
    st.add_patient("P2", name="Other Person")
    other = st.import_session(
        "P2", date="2026-01-05", photos=[PhotoImport(_photo(tmp_path / "p2.png", 9))]
    )
    st.edit_session(other["id"], notes="kept")
    return ss


def test_patient_remove_erases_their_log_of_changes(tmp_path):
    """The patient's edits and session removals leave the log with them; the removal's entry
    holds the time and the counts, without the id; another patient's entries stay."""
    with Store(tmp_path / "s") as st:
        _fill(st, tmp_path)
        before = st.changes()
        assert [(c["action"], c["patient_id"]) for c in before] == [
            ("session edit", "SECRETP01"),
            ("session edit", "SECRETP01"),
            ("session remove", "SECRETP01"),
            ("session edit", "P2"),
        ]
        # Kept while the patient is in the store (an audit trail of corrections).
        assert before[0]["detail"]["old"] == {"notes": "Mme Jane SECRETDOE, tel 0612345678"}
        assert before[2]["detail"]["date"] == "2026-01-07"
        counts = st.remove_patient("SECRETP01")
        assert counts == {"sessions": 2, "photos": 2, "analyses": 0, "changes": 3}
        after = st.changes()
        assert after[0] == before[3]
        [entry] = after[1:]
        assert entry["action"] == "patient remove" and entry["time"].startswith("20")
        assert (entry["patient_id"], entry["session_id"]) == (None, None)
        assert entry["detail"] == counts
        assert [p["id"] for p in st.patients()] == ["P2"]
        assert st.integrity_problems() == []


def _store_bytes(d: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(d.glob(f"{DB_NAME}*"))}


def _build_without_secure_delete(monkeypatch) -> None:
    """Imitate a SQLite built without ``SQLITE_SECURE_DELETE`` (python.org's macOS and Windows
    builds, conda): every new connection starts with ``secure_delete`` off, as Debian's build
    (on) would otherwise hide a store that does not set it."""
    real = sqlite3.connect

    def connect(*args, **kwargs):
        conn = real(*args, **kwargs)
        conn.execute("PRAGMA secure_delete = 0")
        return conn

    monkeypatch.setattr(sqlite3, "connect", connect)


@pytest.mark.parametrize("control", [None, "secure_delete off", "log not emptied"])
def test_a_removed_patient_leaves_no_bytes_in_the_database_files(tmp_path, monkeypatch, control):
    """Read while the store is still open (the app keeps it open; closing the last connection
    would checkpoint and delete the -wal file anyway), with a second connection open as another
    process's would be, and SQLite's default of secure_delete off: neither ``store.sqlite`` nor
    ``store.sqlite-wal`` holds any marker. The controls leave them: without ``secure_delete``
    the deleted rows stay in the database's free space; without the checkpoint the write-ahead
    log keeps the frames that wrote them."""
    import mesovision.store.core as core

    _build_without_secure_delete(monkeypatch)
    if control == "secure_delete off":
        real = core.connect

        def connect(path):
            conn = real(path)
            conn.execute("PRAGMA secure_delete = 0")
            return conn

        monkeypatch.setattr(core, "connect", connect)
    elif control == "log not emptied":
        monkeypatch.setattr(Store, "_truncate_wal", lambda self: None)
    d = tmp_path / "s"
    with Store(d) as st, Store(d) as other:
        _fill(st, tmp_path)
        files = _store_bytes(d)
        assert all(m.encode() in b"".join(files.values()) for m in MARKERS)
        assert other.patient("SECRETP01")["name"] == "Jane SECRETDOE"
        st.remove_patient("SECRETP01")
        files = _store_bytes(d)
        assert set(files) >= {DB_NAME, f"{DB_NAME}-wal"}
        left = {n: [m for m in MARKERS if m.encode() in b] for n, b in files.items()}
        if control is None:
            assert left == {n: [] for n in files}, left
            assert files[f"{DB_NAME}-wal"] == b""  # emptied by the checkpoint
            assert st.conn.execute("PRAGMA secure_delete").fetchone()[0] == 1
        else:  # what each control leaves, and where
            where = DB_NAME if control == "secure_delete off" else f"{DB_NAME}-wal"
            assert left[where], f"{control}: the check would not see what is left: {left}"
        assert b"Other Person" in b"".join(files.values())  # the other patient is untouched
        assert [p["id"] for p in other.patients()] == ["P2"]


def test_a_reader_in_a_transaction_keeps_the_log_with_a_warning(tmp_path, caplog):
    """Another connection inside a read transaction blocks the checkpoint: the removal goes
    through and a warning names the -wal file that keeps the rows until the next checkpoint."""
    d = tmp_path / "s"
    with Store(d) as st:
        _fill(st, tmp_path)
        reader = sqlite3.connect(d / DB_NAME, isolation_level=None)
        try:
            reader.execute("BEGIN")
            reader.execute("SELECT count(*) FROM patients").fetchone()
            st.conn.execute("PRAGMA busy_timeout = 200")  # the checkpoint would wait 30 s
            st.remove_patient("SECRETP01")
        finally:
            reader.close()
        assert [p["id"] for p in st.patients()] == ["P2"]
    [warning] = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warning.startswith(f"{d / DB_NAME}-wal: another process is reading the store"), warning


def _analysis(st: Store, photo_ids: list[int], key: str) -> dict:
    """Store a comparison of ``photo_ids`` with one image, as :mod:`mesovision.course` does."""
    face = np.full((8, 8, 3), 0.5, np.float32)
    return st.add_analysis(
        kind="compare",
        photo_ids=photo_ids,
        cache_key=key,
        settings={},
        result={"regions": {}},
        version="test",
        images={"before.png": face},
    )


def test_a_comparison_finished_after_its_patient_was_removed_is_not_stored(tmp_path):
    """``progress`` reads the photos, computes for seconds without the lock, then stores: a
    ``patient remove`` (another process) in between must not get the patient's face images and
    results back into the store. The store refuses the analysis of removed photos; nothing
    of it is written, and the store stays clean."""
    d = tmp_path / "s"
    with Store(d) as st, Store(d) as other:
        ss = _fill(st, tmp_path)
        ids = [ss[0]["photos"][0]["id"], ss[1]["photos"][0]["id"]]  # read before the removal
        other.remove_patient("SECRETP01")
        gone = rf"not stored: photo\(s\) {ids[0]}, {ids[1]} removed from the store"
        with pytest.raises(UsageError, match=gone):
            _analysis(st, ids, "k" * 64)
        assert st.conn.execute("SELECT count(*) FROM analyses").fetchone()[0] == 0
        assert not (d / "analyses").exists() or list((d / "analyses").iterdir()) == []
        assert st.integrity_problems() == []


def test_an_analysis_of_removed_photos_is_reported_then_removed_with_its_folder(tmp_path):
    """A store that holds such an analysis (written by a version that did not refuse it):
    ``store check`` names it, and the next write removes its row and its folder; the analysis
    of photos still in the store stays."""
    d = tmp_path / "s"
    with Store(d) as st:
        ss = _fill(st, tmp_path)
        ids = [ss[0]["photos"][0]["id"], ss[1]["photos"][0]["id"]]
        kept = _analysis(st, ids, "a" * 64)
        gone = _analysis(st, ids, "b" * 64)
        # the older version's row: its second photo removed after the comparison started
        st.conn.execute(
            "UPDATE analyses SET photo_ids = ? WHERE id = ?", (f"[{ids[0]}, 999]", gone["id"])
        )
        assert st.integrity_problems() == [
            f"analysis {gone['id']} compares removed photos [{ids[0]}, 999] (removed by the next "
            "write)"
        ]
        assert st.analysis_dir(gone["id"]).is_dir()
        st.add_patient("P3")  # any write
        assert [r[0] for r in st.conn.execute("SELECT id FROM analyses")] == [kept["id"]]
        assert not st.analysis_dir(gone["id"]).exists()
        assert st.analysis_dir(kept["id"]).is_dir()
        assert st.integrity_problems() == []


def test_patient_removals_gives_the_last_entry_and_the_first_time_after_an_entry(tmp_path):
    """What the app's staged uploads are checked against (a patient removed since the upload):
    the log's last patient removal, and the time of the first one after a given entry."""
    with Store(tmp_path / "s") as st:
        assert st.patient_removals() == (0, None)
        for pid in ("R1", "R2", "R3"):
            st.add_patient(pid)
        st.set_patient_ipd("R3", 63.0)  # an entry of the log that is not a removal
        st.remove_patient("R1")
        [first] = [c for c in st.changes() if c["action"] == "patient remove"]
        assert st.patient_removals() == (first["id"], first["time"])
        assert st.patient_removals(first["id"]) == (first["id"], None)  # none since
        st.remove_patient("R2")
        second = [c for c in st.changes() if c["action"] == "patient remove"][-1]
        assert second["id"] > first["id"]
        assert st.patient_removals(first["id"]) == (second["id"], second["time"])
        assert st.patient_removals() == (second["id"], first["time"])
