"""``store check`` names what killed operations left (under the store's write lock, so that a
write in progress is not one), and ``store check --repair`` removes exactly that: each kind is
made by a process SIGKILLed at the point where it leaves it, as a power cut would."""

from __future__ import annotations

import io
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO
from PIL import Image

import mesovision.store.schema as schema
from mesovision.cli import main
from mesovision.errors import StoreBusy
from mesovision.store import DB_NAME, PENDING_NAME, PhotoImport, Store

#: Scripts run in a process that kills itself (SIGKILL) at one point of an operation.
_PRELUDE = """
import os, signal, sys
import mesovision.io as mio
from mesovision.store import PhotoImport, Store, ledger, restore, upkeep
def die(*a, **k):
    os.kill(os.getpid(), signal.SIGKILL)
d = sys.argv[1]
"""
_KILLS = {
    # session add --copy: the copy's temporary file written, killed before its rename
    "import": """
real = os.replace
def replace_then_die(src, dst):
    if str(src).endswith(".tmp"):
        die()
    real(src, dst)
ledger.os.replace = replace_then_die
st = Store(d)
st.import_session("P1", date="2026-03-01", photos=[PhotoImport(sys.argv[2])], copy=True)
""",
    # a comparison stored: one PNG of its folder written, killed before the commit
    "analysis": """
import numpy as np
real = mio.write_png
def write_then_die(path, img, **k):
    real(path, img, **k)
    die()
mio.write_png = write_then_die
st = Store(d)
st.add_analysis(kind="compare", photo_ids=[1, 2], cache_key="k" * 64, settings={},
                result={}, version="t", images={"before.png": np.zeros((4, 4, 3))})
""",
    # patient remove: committed, killed before the cleanup that removes the copies
    "removal": """
st = Store(d)
ledger.FilesLedger._drop_recorded_pending = die
st.remove_patient("P2")
""",
    # store backup: killed after its first photo copy
    "backup": """
real = upkeep._write_private
def write_then_die(path, data):
    real(path, data)
    die()
upkeep._write_private = write_then_die
Store(d).backup(sys.argv[2])
""",
    # store restore into a new folder: killed after the backup's files were copied
    "restore": """
calls = []  # its second look at the target: the copy is made and checked
def refuse_second(target):
    calls.append(target)
    if len(calls) == 2:
        die()
restore._refuse_in_use = refuse_second
restore.restore_store(sys.argv[2], d, force=True)
""",
    # mesovision serve: a photo staged, killed outright (its staging folder's lock released)
    "serve": """
import io
from mesovision.app.uploads import Staging
up = Staging(d).add("IMG 1.jpg", io.BytesIO(b"staged photo"), view="front", patient_id="P1")
print(up.path, flush=True)
die()
""",
}


def _jpeg(path, seed: int) -> str:
    rgb = np.random.default_rng(seed).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(path, quality=90)
    return str(path)


def _killed(kind: str, *args) -> str:
    """Run the operation ``kind`` in a process killed at its point; what it printed."""
    proc = subprocess.run(
        [sys.executable, "-c", _PRELUDE + _KILLS[kind], *map(str, args)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    return proc.stdout


def _check(d, *extra) -> tuple[int, list[str], str]:
    proc = subprocess.run(
        [sys.executable, "-m", "mesovision", "store", "check", "--store", str(d), *extra],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    return proc.returncode, proc.stdout.splitlines(), proc.stderr


@pytest.fixture
def store(tmp_path):
    """A store with P1 (two sessions, copies) and P2 (one session, a copy), and a backup."""
    d = tmp_path / "clinic"
    with Store(d) as st:
        for pid, n in (("P1", 2), ("P2", 1)):
            st.add_patient(pid)
            for i in range(n):
                photo = PhotoImport(_jpeg(tmp_path / f"{pid}{i}.jpg", int(pid[1]) * 10 + i))
                st.import_session(pid, date=f"2026-0{i + 1}-01", photos=[photo], copy=True)
        st.backup(tmp_path / "bk")
    return d


def _leftovers(kind: str, d, tmp_path) -> list[str]:
    """Kill ``kind`` on the store ``d``; the lines ``store check`` must print for what it left."""
    interrupted = "leftover file of a write interrupted before its commit"
    pending = (
        f"leftover list of the files of a write interrupted before its commit: {d}/{PENDING_NAME}"
    )
    if kind == "import":
        _killed(kind, d, _jpeg(tmp_path / "new.jpg", 99))
        [tmp] = [p for p in (d / "photos").iterdir() if p.name.endswith(".tmp")]
        assert tmp.name.startswith(".")  # the copy's temporary file, not renamed
        return [f"{interrupted}: {tmp}", pending]
    if kind == "analysis":
        _killed(kind, d)
        [half] = [p for p in (d / "analyses").iterdir() if p.name.startswith(".tmp-")]
        assert [f.name for f in half.iterdir()] == ["before.png"]  # half-written
        return [f"{interrupted}: {half}", pending]
    if kind == "removal":
        with Store(d) as st:
            [p2] = st.sessions("P2")[0]["photos"]
        _killed(kind, d)
        copy = d / p2["managed_path"]
        assert copy.is_file()  # the removed patient's face, still in photos/
        return [f"leftover copy of a removed photo (left by an interrupted removal): {copy}"]
    usb = tmp_path / "usb"
    usb.mkdir()
    _killed(kind, d, usb / "bk2")
    [staged] = list(usb.iterdir())
    assert staged.name.startswith(".bk2.tmp-") and (staged / DB_NAME).is_file()
    return [f"leftover copy of this store by a backup killed before its end: {staged}"]


@pytest.mark.parametrize("kind", ["import", "analysis", "removal", "backup"])
def test_check_names_a_killed_operations_leftovers_and_repair_removes_them(tmp_path, store, kind):
    d = store
    expected = _leftovers(kind, d, tmp_path)
    # Not leftovers: folders that look alike but are not the store's (a live process's, or
    # holding something a store does not), and a file of the user's in the store folder
    live = tmp_path / f".clinic.restore-{os.getpid()}"
    live.mkdir()
    mine = tmp_path / f".clinic.restore-{2**22 + 17}"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    (d / "store.pending.txt").write_text("mine")
    code, out, err = _check(d)
    assert code == 12, err
    assert out == [f"  {line}" for line in expected]
    n = len(expected)
    assert err.strip().endswith(
        f"{n} problem(s) found; {n} leftover(s) of interrupted operations: mesovision store "
        "check --repair removes them"
    )
    code, out, err = _check(d, "--repair")
    assert code == 0, out + [err]
    assert out == [f"removed {line}" for line in expected] + [f"store {d}: ok"]
    for line in expected:
        assert not os.path.lexists(line.rsplit(": ", 1)[1])
    assert not list(d.glob("store.backup-*"))  # the note of a killed backup
    assert live.is_dir() and (mine / "notes.txt").is_file()
    assert (d / "store.pending.txt").read_text() == "mine"
    with Store(d) as st:  # what was committed is all there
        patients = [p["id"] for p in st.patients()]
        assert patients == (["P1"] if kind == "removal" else ["P1", "P2"])
        assert len(st.sessions("P1")) == 2


def test_a_killed_restore_is_named_by_the_check_of_the_store_it_restores(tmp_path, store):
    restored = tmp_path / "restored"
    _killed("restore", restored, tmp_path / "bk")
    [staged] = [p for p in tmp_path.iterdir() if p.name.startswith(".restored.restore-")]
    assert (staged / DB_NAME).is_file() and not restored.exists()
    assert _check(store)[0] == 0  # another store's restore: not this one's
    with Store(restored):  # the store folder, made again
        pass
    code, out, _ = _check(restored)
    assert code == 12
    assert out == [f"  leftover copy of a backup by a restore killed before its end: {staged}"]
    assert _check(restored, "--repair")[0] == 0 and not staged.exists()


def test_a_write_in_progress_is_not_a_leftover(store, monkeypatch, capsys):
    """A writer between its first file and its commit holds the write lock: the check waits for
    it (here 0.2 s) and stops with exit 15 instead of calling its files leftovers."""
    d = store
    (d / PENDING_NAME).write_text("photos/.x.jpg.tmp\n")
    (d / "photos" / ".x.jpg.tmp").write_bytes(b"half a photo")
    monkeypatch.setattr(schema, "BUSY_TIMEOUT_MS", 200)
    other = sqlite3.connect(d / DB_NAME, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with Store(d) as st, pytest.raises(StoreBusy):
            st.leftovers()
        assert main(["store", "check", "--store", str(d)]) == 15
        assert main(["store", "check", "--repair", "--store", str(d)]) == 15
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert (d / "photos" / ".x.jpg.tmp").read_bytes() == b"half a photo"
    capsys.readouterr()
    # the writer gone without its commit: now a leftover
    assert main(["store", "check", "--store", str(d)]) == 12
    assert f"leftover file of a write interrupted before its commit: {d}/photos/.x.jpg.tmp" in (
        capsys.readouterr().out
    )


def test_a_killed_servers_staged_uploads_are_leftovers_never_a_running_servers(tmp_path, store):
    """A server killed outright leaves its staging folder (the photos as uploaded, with their
    metadata): the check names it and the repair removes it; the folder of a running server
    (it holds its lock), and entries of ``.uploads`` not named like a server's, are neither."""
    from mesovision.app.uploads import UPLOADS_DIR, Staging

    d = store
    staged = Path(_killed("serve", d).strip())
    run = staged.parent.parent
    assert staged.read_bytes() == b"staged photo" and run.parent == d / UPLOADS_DIR
    live = Staging(d)  # a running server with a photo staged
    up = live.add("IMG 2.jpg", io.BytesIO(b"live photo"), view="front", patient_id="P1")
    others = [d / UPLOADS_DIR / "run-0123", d / UPLOADS_DIR / "notes"]  # not named like ours
    for other in others:
        other.mkdir()
        (other / "keep.txt").write_text("mine")
    try:
        code, out, err = _check(d)
        assert code == 12, err
        assert out == [f"  leftover uploads of a mesovision serve killed before its end: {run}"]
        code, out, err = _check(d, "--repair")
        assert code == 0, out + [err]
        assert out == [
            f"removed leftover uploads of a mesovision serve killed before its end: {run}",
            f"store {d}: ok",
        ]
        assert not os.path.lexists(run)
        assert up.path.read_bytes() == b"live photo"  # the running server's, kept
        assert all((o / "keep.txt").read_text() == "mine" for o in others)
    finally:
        live.close()
    assert not up.path.parent.parent.exists()
    assert _check(d)[0] == 0
