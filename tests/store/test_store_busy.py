"""A store whose write lock another process keeps: a clear error (exit 15), nothing written.

A writer waits :data:`~mesovision.store.BUSY_TIMEOUT_MS` (30 s) for the lock; here the wait is
shortened to 0.2 s, and the lock is held by a second connection, as ``store backup`` of a large
store holds it while it copies every photo."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

import mesovision.store.schema as schema
from mesovision.cli import main
from mesovision.errors import EXIT_CODES, StoreBusy, StoreError
from mesovision.store import DB_NAME, Store


@pytest.fixture
def locked_store(tmp_path, monkeypatch):
    """A store with patient P1, its write lock held by another connection."""
    d = tmp_path / "s"
    with Store(d) as st:
        st.add_patient("P1")
    monkeypatch.setattr(schema, "BUSY_TIMEOUT_MS", 200)
    other = sqlite3.connect(d / DB_NAME, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    yield d
    other.execute("ROLLBACK")
    other.close()


def test_a_write_waiting_too_long_is_store_busy_and_writes_nothing(locked_store):
    with Store(locked_store) as st:
        with pytest.raises(StoreBusy, match=r"kept the store's write lock for over 0.2 s"):
            st.add_patient("P2")
        with pytest.raises(StoreBusy):
            st.backup(locked_store.parent / "bk")
        assert not (locked_store.parent / "bk").exists()
        assert [p["id"] for p in st.patients()] == ["P1"]


def test_the_command_line_names_the_busy_store_in_one_line(locked_store, capsys):
    code = main(["patient", "add", "P2", "--store", str(locked_store)])
    err = capsys.readouterr().err
    assert code == 15 and EXIT_CODES[15].startswith("The store is busy")
    assert err.startswith(f"mesovision: error: {locked_store}: another process (a store backup")
    assert err.count("\n") == 1 and "unexpected" not in err


def test_a_write_starting_while_the_folders_are_listed_is_not_foreign(tmp_path, monkeypatch):
    """Another writer (the app's course job storing analysis after analysis, with images) notes
    its names and creates its temporary folder while an upload's check lists ``analyses/``: the
    check does not call the writer's folder foreign (the upload was refused, "not written by
    mesovision", when the names were read before the listing)."""
    import os

    import mesovision.store.ledger as ledger

    d = tmp_path / "s"
    with Store(d) as st:
        st.add_patient("P1")
    (d / "analyses").mkdir()
    scandir, started = os.scandir, []

    def writer_starts(path):  # the other writer's first steps, each time a listing begins
        if Path(path).name == "analyses":
            started.append(tmp := f".tmp-{len(started) + 1}")
            with Store(d) as other:
                other._note_pending(f"analyses/{tmp}", f"analyses/{len(started)}")
            (d / "analyses" / tmp).mkdir()
        return scandir(path)

    monkeypatch.setattr(ledger.os, "scandir", writer_starts)
    with Store(d) as st:
        st.require_writable(files=True)
        assert st.foreign_entries() == [] and len(started) >= 2
    (d / "analyses" / "stray.png").write_bytes(b"x")
    with Store(d) as st, pytest.raises(StoreError, match="not written by mesovision"):
        st.require_writable(files=True)
