"""A store of an older schema: commands that only read it (``patient list``, ``patient show``,
``store check``, ``store backup``) leave it as it is, readable by the older mesovision that
wrote it; a command that writes upgrades it after keeping its database in
``.pre-migration-<schema>-<UTC time>/`` and says so in one line."""

from __future__ import annotations

import os
import sqlite3
import stat

import numpy as np
import pytest
from PIL import Image

from mesovision.cli import main
from mesovision.errors import StoreReadOnly
from mesovision.store import DB_NAME, SCHEMA_VERSION, Store, connect, migrate

OLD = SCHEMA_VERSION - 1


def _version(db) -> int:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("PRAGMA user_version").fetchone()[0]
    finally:
        conn.close()


@pytest.fixture
def old_store(tmp_path):
    """A store of the schema before this one (as the previous release wrote it): patient P1
    with one session of one photo filed without --copy."""
    photo = tmp_path / "before.jpg"
    rgb = np.random.default_rng(3).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(photo, quality=90)
    from mesovision.io import sha256_file

    d = tmp_path / "clinic"
    d.mkdir(mode=0o700)
    conn = connect(d / DB_NAME)
    assert migrate(conn, target=OLD) == OLD
    conn.execute("INSERT INTO patients (id, created) VALUES ('P1', '2026-01-01')")
    conn.execute(
        "INSERT INTO sessions (patient_id, date, created) VALUES ('P1', '2026-01-02', 'x')"
    )
    conn.execute(
        "INSERT INTO photos (session_id, sha256, view, original_path, created) "
        "VALUES (1, ?, 'front', ?, 'x')",
        (sha256_file(photo), str(photo)),
    )
    conn.close()
    return d


def test_reading_commands_leave_an_older_store_as_it_is(old_store, tmp_path, capsys):
    d = old_store
    before = (d / DB_NAME).read_bytes()
    assert main(["patient", "list", "--store", str(d)]) == 0
    assert "P1" in capsys.readouterr().out
    assert main(["patient", "show", "P1", "--store", str(d)]) == 0
    assert "before.jpg" in capsys.readouterr().out
    assert main(["store", "check", "--store", str(d)]) == 0
    assert capsys.readouterr().out == f"store {d}: ok\n"
    assert main(["store", "backup", str(tmp_path / "bk"), "--store", str(d)]) == 0
    out, err = capsys.readouterr()
    assert "1 photo(s)" in out and err == ""  # nothing upgraded, nothing to say
    assert _version(d / DB_NAME) == OLD and (d / DB_NAME).read_bytes() == before
    assert not list(d.glob(".pre-migration-*"))
    # the backup is a store of this schema (made from the upgraded copy in memory)
    assert _version(tmp_path / "bk" / DB_NAME) == SCHEMA_VERSION
    with Store(tmp_path / "bk", upgrade="read") as bk:
        assert bk.read_as_upgraded is None and bk.integrity_problems() == []
        assert [p["id"] for p in bk.patients()] == ["P1"]
    # the same through the API: reading works, a write is refused before anything is written
    with Store(d, create=False, upgrade="read") as st:
        assert st.read_as_upgraded == OLD and st.schema_version == SCHEMA_VERSION
        assert st.patient("P1")["ipd_mm"] is None  # a column of this schema, read from the copy
        with pytest.raises(StoreReadOnly, match=f"without upgrading its schema {OLD}"):
            st.add_patient("P2")
    assert _version(d / DB_NAME) == OLD and (d / DB_NAME).read_bytes() == before


def test_a_writing_command_keeps_the_database_then_upgrades_it(old_store, capsys):
    d = old_store
    assert main(["patient", "add", "P2", "--store", str(d)]) == 0
    err = capsys.readouterr().err.splitlines()
    [keep] = list(d.glob(f".pre-migration-{OLD}-*"))
    assert err == [
        f"mesovision: WARNING: {d}: store upgraded from schema {OLD} to {SCHEMA_VERSION}, "
        f"which mesovision versions that know only schema {OLD} cannot open; the database "
        f"before the upgrade is kept in {keep}"
    ]
    assert _version(d / DB_NAME) == SCHEMA_VERSION
    assert _version(keep / DB_NAME) == OLD  # the store as it was: P1 only
    conn = sqlite3.connect(keep / DB_NAME)
    assert [r[0] for r in conn.execute("SELECT id FROM patients")] == ["P1"]
    conn.close()
    assert stat.S_IMODE(os.stat(keep).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(keep / DB_NAME).st_mode) == 0o600
    assert main(["patient", "add", "P3", "--store", str(d)]) == 0  # upgraded: no second copy
    assert capsys.readouterr().err == "" and len(list(d.glob(".pre-migration-*"))) == 1
    assert main(["store", "check", "--store", str(d)]) == 0
    with Store(d) as st:
        assert [p["id"] for p in st.patients()] == ["P1", "P2", "P3"]
        assert st.pre_migration_copies() == [keep / DB_NAME]
        assert st.pre_migration_copies("P2") == []  # added after the upgrade
    # removing a patient the kept database holds says where it still is
    capsys.readouterr()
    assert main(["patient", "remove", "P1", "--yes", "--store", str(d)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1:] == [
        f"  still in {keep} (the database kept before a schema upgrade): delete that folder "
        "to erase the patient there too"
    ]
    assert main(["patient", "remove", "P2", "--yes", "--store", str(d)]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 1  # not in the kept database


def test_check_finds_leftovers_of_an_older_store_without_upgrading_it(old_store, capsys):
    d = old_store
    (d / "store.pending").write_text("photos/.x.jpg.tmp\n")
    (d / "photos").mkdir(mode=0o700)
    (d / "photos" / ".x.jpg.tmp").write_bytes(b"half a photo")
    assert main(["store", "check", "--store", str(d)]) == 12
    assert f"leftover file of a write interrupted before its commit: {d}/photos/.x.jpg.tmp" in (
        capsys.readouterr().out
    )
    assert _version(d / DB_NAME) == OLD
    assert main(["store", "check", "--repair", "--store", str(d)]) == 0  # a repair writes
    assert not (d / "photos" / ".x.jpg.tmp").exists() and _version(d / DB_NAME) == SCHEMA_VERSION
    assert len(list(d.glob(f".pre-migration-{OLD}-*"))) == 1
