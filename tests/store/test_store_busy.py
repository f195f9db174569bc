"""A store whose write lock another process keeps: a clear error (exit 15), nothing written.

A writer waits :data:`~mesovision.store.BUSY_TIMEOUT_MS` (30 s) for the lock; here the wait is
shortened to 0.2 s, and the lock is held by a second connection, as ``store backup`` of a large
store holds it while it copies every photo."""

from __future__ import annotations

import sqlite3

import pytest

import mesovision.store.schema as schema
from mesovision.cli import main
from mesovision.errors import EXIT_CODES, StoreBusy
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
