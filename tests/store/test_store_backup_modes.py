"""``store backup`` writes its photo copies mode 0600 whatever the umask, and a store whose
``photos/`` is not the store's refuses a writer that asks before its work
(``require_writable(files=True)``, the app's upload) naming the entry."""

from __future__ import annotations

import os
import stat

import numpy as np
import pytest
from PIL import Image

from mesovision.errors import StoreError
from mesovision.store import PhotoImport, Store


def _jpeg(path, seed: int):
    rgb = np.random.default_rng(seed).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(path, quality=90)
    return path


def _modes(folder) -> dict[str, int]:
    return {
        str(p.relative_to(folder)): stat.S_IMODE(os.lstat(p).st_mode)
        for p in sorted(folder.rglob("*"))
    }


@pytest.mark.parametrize("umask", [0o000, 0o022])
def test_backup_photos_are_0600_whatever_the_umask(tmp_path, umask):
    old = os.umask(umask)
    try:
        d = tmp_path / "s"
        with Store(d) as st:
            st.add_patient("U1")
            copied = PhotoImport(str(_jpeg(tmp_path / "a.jpg", 1)))
            st.import_session("U1", date="2026-01-01", photos=[copied], copy=True)
            original = PhotoImport(str(_jpeg(tmp_path / "b.jpg", 2)))  # filed without --copy
            st.import_session("U1", date="2026-02-01", photos=[original])
            counts = st.backup(tmp_path / "bk")
    finally:
        os.umask(old)
    assert counts["photos"] == 2 and counts["originals"] == 1
    modes = _modes(tmp_path / "bk")
    photos = [p for p in modes if p.startswith("photos/")]
    assert len(photos) == 2  # the managed copy and the copy made from the original file
    assert {p: modes[p] for p in photos} == {p: 0o600 for p in photos}
    assert modes["photos"] == 0o700 and modes["store.sqlite"] == 0o600


def test_require_writable_with_files_names_a_foreign_photos_folder(tmp_path):
    d = tmp_path / "s"
    with Store(d) as st:
        st.add_patient("P1")
    (tmp_path / "elsewhere").mkdir()
    (d / "photos").symlink_to(tmp_path / "elsewhere")
    with Store(d) as st:
        st.require_writable()  # the read-only check alone does not look at the files
        with pytest.raises(StoreError, match="not written by mesovision") as e:
            st.require_writable(files=True)
        assert e.value.path == str(d / "photos") and e.value.exit_code == 12
        with pytest.raises(StoreError) as w:  # as every write refuses it
            st.add_patient("P2")
        assert w.value.path == e.value.path


_KILLED_BACKUP = """
import os, signal, sys
from mesovision.store import Store, upkeep
real = upkeep._write_private
def write_then_die(path, data):  # a power cut after the first photo copy
    real(path, data)
    os.kill(os.getpid(), signal.SIGKILL)
upkeep._write_private = write_then_die
Store(sys.argv[1]).backup(sys.argv[2])
"""


def test_a_killed_backup_leaves_no_hidden_copy_after_the_next_one(tmp_path):
    """A backup killed half-way leaves its hidden folder (the database of every patient and the
    photos copied so far) beside the target; the next backup to that target removes it. A
    folder of a running backup, or one holding anything a backup does not, is kept."""
    import subprocess
    import sys

    from conftest import REPO

    d, usb = tmp_path / "s", tmp_path / "usb"
    usb.mkdir()
    with Store(d) as st:
        st.add_patient("P1")
        st.import_session(
            "P1",
            date="2026-01-05",
            photos=[
                PhotoImport(str(_jpeg(tmp_path / f"a{i}.jpg", i)), view=v)
                for i, v in enumerate(("front", "left-45"))
            ],
            copy=True,
        )
    proc = subprocess.Popen(
        [sys.executable, "-c", _KILLED_BACKUP, str(d), str(usb / "bk")],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stderr=subprocess.PIPE,
    )
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == -9, err
    [left] = list(usb.iterdir())
    assert left.name == f".bk.tmp-{proc.pid}" and (left / "store.sqlite").is_file()
    running = usb / f".bk.tmp-{os.getppid()}"  # a backup still at work (its process is alive)
    running.mkdir()
    foreign = usb / f".bk.tmp-{proc.pid + 1_000_000}"  # no such process, not a backup's content
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with Store(d) as st:
        done = st.backup(usb / "bk")
    assert done["photos"] == 2
    assert sorted(p.name for p in usb.iterdir()) == sorted(["bk", running.name, foreign.name])
