"""Photos uploaded through the app are recorded by the file name the browser sent
(``upload:<name>``), never by their staged path, and are read from their managed copy only;
photos filed from the command line keep their absolute path."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from conftest import SAMPLES, run_cli
from PIL import Image

from mesovision.course import course_document
from mesovision.course.cache import user_name
from mesovision.errors import StoreError, UsageError
from mesovision.store import (
    DB_NAME,
    MAX_UPLOAD_NAME,
    PhotoImport,
    Store,
    photo_file_name,
    uploaded_file_name,
)

SENT = "Mme Dupont/IMG 1234 é.jpg"  # what a browser may send: a folder, spaces, an accent
NAME = "IMG 1234 é.jpg"


def _jpeg(path: Path, seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    rgb = np.random.default_rng(seed).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(path, format="JPEG", quality=90)
    return path


def _staged(tmp_path: Path, seed: int = 0) -> Path:
    """A file staged as the app stages an upload: a private folder, the name made safe."""
    return _jpeg(tmp_path / "mesovision-uploads-x1" / "9f0c" / "IMG_1234__.jpg", seed)


def _filed_upload(tmp_path: Path) -> tuple[Path, dict, Path]:
    """A store at ``tmp_path / "s"`` with one session of one staged upload sent as ``SENT``:
    ``(store folder, the session, the staged file)``."""
    staged = _staged(tmp_path)
    d = tmp_path / "s"
    with Store(d) as st:
        st.add_patient("P1")
        s = st.import_session(
            "P1", date="2026-03-01", photos=[PhotoImport(str(staged), upload_name=SENT)], copy=True
        )
    return d, s, staged


def _all_bytes(folder: Path) -> bytes:
    return b"".join(f.read_bytes() for f in sorted(folder.rglob("*")) if f.is_file())


def test_uploaded_file_name_is_the_last_component_as_sent_made_printable():
    assert uploaded_file_name(SENT) == NAME
    assert uploaded_file_name("C:\\fakepath\\Photo 1.JPG") == "Photo 1.JPG"
    assert uploaded_file_name("写真 2026.png") == "写真 2026.png"  # other scripts kept
    # terminal escapes, a new line and a right-to-left override cannot forge or hide text
    assert uploaded_file_name("a\x1b[31mb\nc.jpg") == "a_[31mb_c.jpg"
    assert uploaded_file_name("\u202egpj.exe") == "_gpj.exe"
    assert uploaded_file_name("x\udcff.jpg") == "x_.jpg"  # a lone surrogate
    long = uploaded_file_name("a" * 300 + ".jpg")
    assert len(long) == MAX_UPLOAD_NAME == 255 and long.endswith("a.jpg")
    assert uploaded_file_name("") == uploaded_file_name(None) == "(no name)"
    assert uploaded_file_name("folder/") == "(no name)"


def test_photo_file_name_tells_an_upload_from_a_path():
    assert photo_file_name("upload:IMG 1234 é.jpg") == ("IMG 1234 é.jpg", True)
    assert photo_file_name("/photos/P001/IMG 1234.jpg") == ("IMG 1234.jpg", False)


def test_an_upload_is_recorded_by_its_name_and_read_from_its_copy(tmp_path):
    d, s, staged = _filed_upload(tmp_path)
    with Store(d) as st:
        (row,) = st.conn.execute("SELECT original_path, managed_path FROM photos").fetchall()
    assert tuple(row) == (f"upload:{NAME}", s["photos"][0]["managed_path"])
    [ph] = s["photos"]
    assert (ph["file_name"], ph["uploaded"]) == (NAME, True)
    assert Path(ph["file"]) == d / ph["managed_path"] and ph["managed_path"].startswith("photos/")
    assert user_name(ph) == NAME  # how comparison messages and records name it
    shutil.rmtree(staged.parent.parent)  # the app deletes the staging folder after filing
    assert str(tmp_path / "mesovision-uploads-x1").encode() not in _all_bytes(d)
    with Store(d) as st:
        assert st.integrity_problems() == []
        counts = st.backup(tmp_path / "bk")
    assert (counts["photos"], counts["originals"]) == (1, 0)
    doc = course_document(d, "P1")
    photo = doc["sessions"][0]["photo"]
    assert (photo["file_name"], photo["original_path"]) == (NAME, f"upload:{NAME}")
    assert photo["path"] == str(d / ph["managed_path"])
    proc = run_cli("patient", "show", "P1", "--store", d)
    assert proc.returncode == 0, proc.stderr
    assert f"    photo {ph['id']}  front     {NAME} (uploaded, copy in store)  checks ok\n" in (
        proc.stdout
    )
    assert "mesovision-uploads-" not in proc.stdout + proc.stderr


def test_an_upload_needs_a_managed_copy(tmp_path):
    staged = _staged(tmp_path)
    with Store(tmp_path / "s") as st:
        st.add_patient("P1")
        with pytest.raises(UsageError, match="an uploaded photo is filed with a managed copy"):
            st.import_session(
                "P1", date="2026-03-01", photos=[PhotoImport(str(staged), upload_name=SENT)]
            )
        assert st.sessions("P1") == []


@pytest.mark.parametrize("copy", [False, True])
def test_a_photo_filed_from_a_path_keeps_its_absolute_path(tmp_path, monkeypatch, copy):
    src = _jpeg(tmp_path / "in" / "IMG 1234.jpg")
    monkeypatch.chdir(tmp_path / "in")
    with Store(tmp_path / "s") as st:
        st.add_patient("P1")
        s = st.import_session(
            "P1", date="2026-03-01", photos=[PhotoImport("IMG 1234.jpg")], copy=copy
        )
    [ph] = s["photos"]
    assert ph["original_path"] == str(src) and os.path.isabs(ph["original_path"])
    assert (ph["file_name"], ph["uploaded"]) == ("IMG 1234.jpg", False)
    assert user_name(ph) == str(src)
    proc = run_cli("patient", "show", "P1", "--store", tmp_path / "s")
    shown = f"    photo {ph['id']}  front     {src}{' (copy in store)' if copy else ''}  checks ok"
    assert shown + "\n" in proc.stdout, proc.stdout


@pytest.mark.parametrize("copy", [[], ["--copy"]])
def test_session_add_records_the_absolute_path_given(tmp_path, copy):
    src = tmp_path / "in" / "a photo.jpg"
    src.parent.mkdir()
    shutil.copy(SAMPLES / "astronaut" / "before.jpg", src)
    store = tmp_path / "s"
    assert run_cli("patient", "add", "P1", "--store", store).returncode == 0
    args = ["session", "add", "P1", "--date", "2026-03-01", "--photo", "a photo.jpg", *copy]
    proc = run_cli(*args, "--force", "--store", store, cwd=src.parent)  # a relative path
    assert proc.returncode == 0, proc.stderr
    with Store(store) as st:
        (row,) = st.conn.execute("SELECT original_path, managed_path FROM photos").fetchall()
    assert row[0] == str(src) and (row[1] is not None) == bool(copy)


def test_an_upload_without_its_copy_is_a_problem_not_a_path(tmp_path, monkeypatch):
    """A damaged store (an upload's managed copy unrecorded): nothing reads ``upload:<name>``
    as a path, even where a file of that name exists (the working folder here)."""
    d, s, staged = _filed_upload(tmp_path)
    [ph] = s["photos"]
    c = sqlite3.connect(d / DB_NAME)
    with c:
        c.execute("UPDATE photos SET managed_path = NULL")
    c.close()
    decoy = tmp_path / "cwd"
    decoy.mkdir()
    shutil.copy(staged, decoy / f"upload:{NAME}")  # the same bytes: would pass as the original
    monkeypatch.chdir(decoy)
    with Store(d) as st:
        assert st.integrity_problems() == [
            f"photo {ph['id']} of session {s['id']}: uploaded {NAME} has no managed copy"
        ]
        [got] = st.sessions("P1")[0]["photos"]
        assert got["file"] is None and got["file_name"] == NAME
        with pytest.raises(StoreError, match=re.escape(f"photo {ph['id']} ({NAME}) was upl")):
            st.photo_file(got)
        with pytest.raises(StoreError, match="uploaded IMG 1234 é.jpg has no managed copy") as e:
            st.backup(tmp_path / "bk")
    assert e.value.path == str(d / DB_NAME)
    assert not (tmp_path / "bk").exists()
