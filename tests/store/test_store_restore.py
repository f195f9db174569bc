"""``store restore BACKUP --store DIR``: the backup checked in a new folder, then in DIR's place;
an existing store replaced only with --force (moved aside, its stale write-ahead log with it),
a newer schema or a damaged backup refused with nothing replaced, the backup itself unchanged."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path

import numpy as np
import pytest
from conftest import run_cli
from PIL import Image

from mesovision.errors import InputFileError, OutputExists, StoreBusy, StoreError, UsageError
from mesovision.store import DB_NAME, SCHEMA_VERSION, PhotoImport, Store, restore_store


def _jpeg(path: Path, seed: int) -> str:
    rgb = np.random.default_rng(seed).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(path, quality=90)
    return str(path)


def _course(st: Store, tmp_path: Path, dates: list[str]) -> None:
    for date in dates:
        photo = _jpeg(tmp_path / f"{date}.jpg", int(date.replace("-", "")))
        st.import_session("P1", date=date, photos=[PhotoImport(photo)], copy=True)


def _dates(d: Path) -> list[str]:
    with Store(d, create=False) as st:
        return [s["date"] for s in st.sessions("P1")]


@pytest.fixture
def backed_up(tmp_path):
    """A store of P1 with one session, its backup, and a second session filed after it."""
    d, bk = tmp_path / "clinic", tmp_path / "usb"
    with Store(d) as st:
        st.add_patient("P1", ipd_mm=63)
        _course(st, tmp_path, ["2026-01-05"])
        st.backup(bk)
        _course(st, tmp_path, ["2026-02-02"])
    return d, bk


def test_a_store_with_a_stale_write_ahead_log_is_replaced_by_the_backup_alone(backed_up):
    """The store was not closed cleanly (its -wal holds the second session): copying the backup
    into its folder would read that session back (SQLite applies the -wal beside the database);
    the restore moves the folder aside whole, so the store holds exactly the backup."""
    d, bk = backed_up
    live = sqlite3.connect(d / DB_NAME)  # a connection never closed: the -wal stays, as a crash
    live.execute("PRAGMA wal_autocheckpoint = 0")
    live.execute("UPDATE sessions SET notes = 'after the backup'")
    live.commit()
    assert (d / f"{DB_NAME}-wal").stat().st_size > 0
    # the control: the backup's files copied into (a copy of) the folder read the stale log
    naive = d.parent / "naive"
    shutil.copytree(d, naive)
    shutil.copytree(bk, naive, dirs_exist_ok=True)
    with Store(naive, create=False) as st:
        assert st.sessions("P1")[0]["notes"] == "after the backup"
    with pytest.raises(OutputExists, match="a store exists here: give --force"):
        restore_store(bk, d)
    assert _dates(d) == ["2026-01-05", "2026-02-02"]
    done = restore_store(bk, d, force=True)
    live.close()
    assert _dates(d) == ["2026-01-05"]
    with Store(d, create=False) as st:
        assert st.sessions("P1")[0]["notes"] is None
    assert (done["patients"], done["sessions"], done["photos"]) == (1, 1, 1)
    with Store(d, create=False) as st:
        assert st.integrity_problems() == [] and st.patient("P1")["ipd_mm"] == 63
    aside = Path(done["replaced"])
    assert aside.name.startswith("clinic.replaced-") and _dates(aside) == _dates(bk) + [
        "2026-02-02"
    ]


def test_a_backup_of_an_older_schema_is_restored_upgraded_and_left_as_it_is(tmp_path, backed_up):
    _, bk = backed_up
    old = tmp_path / "old"
    shutil.copytree(bk, old)
    c = sqlite3.connect(old / DB_NAME)
    c.execute("ALTER TABLE patients DROP COLUMN ipd_mm")  # schema 5: no ipd_mm yet
    c.execute("PRAGMA user_version = 5")
    c.close()
    restore_store(old, tmp_path / "new")
    with Store(tmp_path / "new", create=False) as st:
        assert st.schema_version == SCHEMA_VERSION and st.patient("P1")["ipd_mm"] is None
    c = sqlite3.connect(old / DB_NAME)
    assert c.execute("PRAGMA user_version").fetchone()[0] == 5  # the backup is not upgraded
    c.close()


@pytest.mark.parametrize("damage", ["newer schema", "photo missing", "photo changed", "foreign"])
def test_a_backup_that_cannot_be_restored_replaces_nothing(backed_up, damage):
    d, bk = backed_up
    photo = next((bk / "photos").iterdir())
    if damage == "newer schema":
        c = sqlite3.connect(bk / DB_NAME)
        c.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
        c.close()
        err, match = InputFileError, f"store schema version {SCHEMA_VERSION + 1} is newer"
    elif damage == "photo missing":
        photo.unlink()
        err, match = StoreError, "no such file; the backup is not restored"
    elif damage == "photo changed":
        photo.write_bytes(b"x" + photo.read_bytes())
        err, match = StoreError, "changed since it was written; the backup is not restored"
    else:  # a file the store did not write is not copied: the copy is a clean store
        (bk / "photos" / "holiday.jpg").write_bytes(b"mine")
        err, match = None, None
    if err is None:
        restore_store(bk, d, force=True)
        assert sorted(p.name for p in (d / "photos").iterdir()) == [photo.name]
        return
    with pytest.raises(err, match=match):
        restore_store(bk, d, force=True)
    assert _dates(d) == ["2026-01-05", "2026-02-02"]  # untouched, not moved
    assert sorted(p.name for p in d.parent.iterdir()) == sorted(
        ["clinic", "usb", "2026-01-05.jpg", "2026-02-02.jpg"]
    )


def _finished_pid() -> int:
    """The id of a process that has ended."""
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_restore_on_the_command_line(backed_up):
    d, bk = backed_up
    p = run_cli("store", "restore", bk, "--store", d)
    assert p.returncode == 9 and p.stderr.strip().endswith("(it is moved aside, not deleted)")
    p = run_cli("store", "restore", bk, "--store", bk / "inner")
    assert p.returncode == 2 and "is inside the backup" in p.stderr
    p = run_cli("store", "restore", d.parent / "nothing", "--store", d.parent / "new")
    assert p.returncode == 2 and "not a store backup (store.sqlite not found)" in p.stderr
    gone = _finished_pid()
    killed = d.parent / f".clinic.restore-{gone}"  # a restore killed before its end
    killed.mkdir()
    (killed / DB_NAME).write_bytes((bk / DB_NAME).read_bytes())
    p = run_cli("store", "restore", bk, "--store", d, "--force")
    assert p.returncode == 0, p.stderr
    assert not killed.exists()
    assert p.stdout.startswith(f"store {d} restored from {bk}: 1 patient(s), 1 session(s)")
    assert "the store it replaced is in " in p.stdout
    with pytest.raises(UsageError):
        restore_store(bk, bk)


def test_a_store_open_in_another_process_is_not_replaced(backed_up):
    """The app (another process) keeps the store open: moving the folder under it would let it
    write photos into the restored folder and rows into the one moved aside. Refused (exit 15)
    while it runs; once it has closed the store, the restore goes through."""
    import sys

    d, bk = backed_up
    app = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
            "c.execute('SELECT count(*) FROM patients').fetchone(); print('open', flush=True); "
            "sys.stdin.read()",
            str(d / DB_NAME),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert app.stdout.readline() == "open\n"
        with pytest.raises(StoreBusy, match="open in another process .* nothing was replaced"):
            restore_store(bk, d, force=True)
        assert _dates(d) == ["2026-01-05", "2026-02-02"]
        assert not [p for p in d.parent.iterdir() if p.name.startswith(".")]
    finally:
        app.communicate("")
    restore_store(bk, d, force=True)
    assert _dates(d) == ["2026-01-05"]
