"""Store safety (issue #16): managed copies without identifying metadata, ``store check`` and
``store backup``, and course edits (session remove/edit, patient remove)."""

from __future__ import annotations

import hashlib
import io
import json
import sqlite3
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from conftest import run_cli
from PIL import Image, ImageCms

from mesovision.errors import InvalidImage, OutputExists, StoreError, UsageError
from mesovision.io import load_photo, strip_metadata
from mesovision.store import DB_NAME, PhotoImport, Store

SECRETS = (b"SN-998877", b"Jane Owner", b"MAKERNOTE-SECRET", b"ns.adobe.com/xap", b"Canon")


def _rgb(seed: int = 0, shape=(48, 64)) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (*shape, 3), dtype=np.uint8)


def _exif(orientation: int = 6) -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x013B] = "Jane Owner"  # Artist
    exif[0x010F] = "Canon"  # Make
    sub = exif.get_ifd(0x8769)
    sub[0xA431] = "SN-998877"  # BodySerialNumber
    sub[0x927C] = b"MAKERNOTE-SECRET"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (48.0, 51.0, 24.0)
    return exif


XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/'
    b'22-rdf-syntax-ns#"><rdf:Description xmlns:xmp="http://ns.adobe.com/xap/1.0/" '
    b'xmp:CreatorTool="Jane Owner"/></rdf:RDF></x:xmpmeta>'
)


def _jpeg_with_metadata(path: Path, *, progressive: bool = False) -> Path:
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    buf = io.BytesIO()
    Image.fromarray(_rgb()).save(
        buf, "JPEG", quality=90, exif=_exif(), icc_profile=icc, xmp=XMP, comment=b"Jane Owner",
        progressive=progressive,
    )  # fmt: skip
    data = buf.getvalue()
    iptc = b"Photoshop 3.0\0" + b"8BIM\x04\x04\0\0\0\0\0\x0e" + b"\x1c\x02\x50\0\x0aJane Owner"
    app13 = b"\xff\xed" + struct.pack(">H", len(iptc) + 2) + iptc
    data = data[:2] + app13 + data[2:] + b"trailing preview SN-998877"
    path.write_bytes(data)
    return path


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png_with_metadata(path: Path) -> Path:
    buf = io.BytesIO()
    Image.fromarray(_rgb(1)).save(buf, "PNG")
    data = buf.getvalue()
    extra = (
        _chunk(b"tEXt", b"Author\0Jane Owner")
        + _chunk(b"iTXt", b"XML:com.adobe.xmp\0\0\0\0\0" + XMP)
        + _chunk(b"eXIf", _exif(3).tobytes())
    )
    path.write_bytes(data[:33] + extra + data[33:])  # after IHDR
    return path


@pytest.mark.parametrize("progressive", [False, True])
def test_jpeg_copy_keeps_pixels_orientation_icc_and_nothing_else(tmp_path, progressive):
    src = _jpeg_with_metadata(tmp_path / "a.jpg", progressive=progressive)
    raw = src.read_bytes()
    assert all(s in raw for s in SECRETS)
    out, ext = strip_metadata(raw, path=str(src))
    assert ext == ".jpg" and len(out) < len(raw)
    for s in (*SECRETS, b"Photoshop 3.0", b"trailing"):
        assert s not in out, s
    with Image.open(src) as a, Image.open(io.BytesIO(out)) as b:
        assert np.array_equal(np.asarray(a), np.asarray(b))  # not re-encoded
        assert b.info.get("icc_profile") == a.info["icc_profile"]
        assert dict(b.getexif()) == {0x0112: 6}
        assert "xmp" not in b.info and "comment" not in b.info
    copy = tmp_path / "copy.jpg"
    copy.write_bytes(out)
    pa, pb = load_photo(str(src)), load_photo(str(copy))
    assert pa.exif_orientation == pb.exif_orientation == 6
    assert np.array_equal(pa.rgb, pb.rgb)


def test_png_copy_keeps_pixels_and_orientation_only(tmp_path):
    src = _png_with_metadata(tmp_path / "a.png")
    out, ext = strip_metadata(src.read_bytes())
    assert ext == ".png"
    for s in SECRETS:
        assert s not in out, s
    with Image.open(src) as a, Image.open(io.BytesIO(out)) as b:
        assert np.array_equal(np.asarray(a), np.asarray(b))
        assert dict(b.getexif()) == {0x0112: 3} and not b.text


def test_tiff_is_reencoded_losslessly_without_tags(tmp_path):
    src = tmp_path / "a.tif"
    Image.fromarray(_rgb(2)).save(src, tiffinfo={0x013B: "Jane Owner", 0x010F: "Canon"})
    out, ext = strip_metadata(src.read_bytes())
    assert ext == ".png" and b"Jane Owner" not in out and b"Canon" not in out
    with Image.open(src) as a, Image.open(io.BytesIO(out)) as b:
        assert np.array_equal(np.asarray(a), np.asarray(b))


@pytest.mark.parametrize(
    "data, reason",
    [
        (b"not an image at all", "not a readable image"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "truncated JPEG"),
        (b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR", "truncated PNG"),
    ],
)
def test_unreadable_input_is_an_invalid_image_naming_the_file(data, reason):
    with pytest.raises(InvalidImage, match=reason) as info:
        strip_metadata(data, path="x.jpg")
    assert info.value.path == "x.jpg"


def _store_with_copy(tmp_path) -> tuple[Path, dict, Path]:
    src = _jpeg_with_metadata(tmp_path / "in.jpg")
    d = tmp_path / "s"
    with Store(d) as st:
        st.add_patient("P1")
        s = st.import_session("P1", date="2026-03-01", photos=[PhotoImport(str(src))], copy=True)
    return d, s, src


def test_store_copy_is_stripped_and_keeps_the_original_hash(tmp_path):
    d, s, src = _store_with_copy(tmp_path)
    [ph] = s["photos"]
    assert ph["original_sha256"] == hashlib.sha256(src.read_bytes()).hexdigest()  # identity
    managed = Path(ph["file"])
    assert managed.name == ph["original_sha256"] + ".jpg"
    assert ph["sha256"] == hashlib.sha256(managed.read_bytes()).hexdigest()  # what is read
    with Store(d) as st:  # the original is still recognised as already imported
        with pytest.raises(UsageError, match="already in the store"):
            st.import_session("P1", date="2026-03-09", photos=[PhotoImport(str(src))])
    assert not any(x in managed.read_bytes() for x in SECRETS)
    with Store(d) as st:
        row = st.conn.execute("SELECT sha256 FROM files WHERE path = ?", (ph["managed_path"],))
        assert row.fetchone()[0] == hashlib.sha256(managed.read_bytes()).hexdigest()
        assert st.integrity_problems() == []


def test_store_check_and_backup_cli(tmp_path):
    d, s, _ = _store_with_copy(tmp_path)
    proc = run_cli("store", "check", "--store", d)
    assert proc.returncode == 0 and "ok" in proc.stdout, proc.stderr
    backup = tmp_path / "backup"
    proc = run_cli("store", "backup", backup, "--store", d)
    assert proc.returncode == 0, proc.stderr
    assert "1 photo(s)" in proc.stdout
    with Store(backup) as b:
        assert b.integrity_problems() == []
        assert [x["id"] for x in b.sessions("P1")] == [s["id"]]
    c = sqlite3.connect(backup / DB_NAME)
    assert c.execute("PRAGMA quick_check").fetchone()[0] == "ok"
    c.close()
    proc = run_cli("store", "backup", backup, "--store", d)
    assert proc.returncode == OutputExists.exit_code
    # A changed copy: check reports it and exits 12.
    managed = Path(s["photos"][0]["file"])
    managed.write_bytes(managed.read_bytes() + b"x")
    proc = run_cli("store", "check", "--json", "--store", d)
    assert proc.returncode == StoreError.exit_code == 12
    assert any("SHA-256 differs" in p for p in json.loads(proc.stdout))
    assert proc.stderr.strip().splitlines() == [f"mesovision: error: {d}: 1 problem(s) found"]
    with Store(d) as st, pytest.raises(StoreError, match="changed since it was written"):
        st.backup(tmp_path / "b2")
    assert not (tmp_path / "b2").exists()
    managed.unlink()
    proc = run_cli("store", "check", "--json", "--store", d)
    assert any("missing" in p for p in json.loads(proc.stdout))


def _store_without_copy(tmp_path) -> tuple[Path, list[dict], list[Path]]:
    srcs = [_jpeg_with_metadata(tmp_path / "a.jpg"), _png_with_metadata(tmp_path / "b.png")]
    d = tmp_path / "s"
    with Store(d) as st:
        st.add_patient("P1")
        ss = [
            st.import_session("P1", date=f"2026-03-0{i + 1}", photos=[PhotoImport(str(f))])
            for i, f in enumerate(srcs)
        ]
    return d, ss, srcs


def test_backup_copies_the_originals_of_photos_filed_without_copy(tmp_path):
    d, ss, srcs = _store_without_copy(tmp_path)
    proc = run_cli("store", "backup", tmp_path / "bk", "--store", d)
    assert proc.returncode == 0, proc.stderr
    assert "database, 2 photo(s) (2 of them copied from the original files" in proc.stdout
    for f in srcs:  # the backup must not depend on the originals
        f.rename(f.with_suffix(".moved"))
    with Store(tmp_path / "bk") as b:
        assert b.integrity_problems() == []
        for s, f, ext in zip(ss, srcs, (".jpg", ".png"), strict=True):
            [ph] = b.session(s["id"])["photos"]
            orig = f.with_suffix(".moved").read_bytes()
            assert ph["managed_path"] == f"photos/{hashlib.sha256(orig).hexdigest()}{ext}"
            assert Path(ph["file"]) == tmp_path / "bk" / ph["managed_path"]
            data = Path(ph["file"]).read_bytes()
            assert data == strip_metadata(orig)[0] and not any(x in data for x in SECRETS)
            assert ph["original_sha256"] == hashlib.sha256(orig).hexdigest()
            assert ph["sha256"] == hashlib.sha256(data).hexdigest()
    with Store(d) as st:  # the store's own records are unchanged
        assert [st.session(s["id"])["photos"][0]["managed_path"] for s in ss] == [None, None]
        assert not (d / "photos").exists()


def test_check_names_each_missing_or_changed_original_and_backup_refuses(tmp_path):
    d, ss, srcs = _store_without_copy(tmp_path)
    proc = run_cli("store", "check", "--store", d)
    assert proc.returncode == 0 and proc.stdout == f"store {d}: ok\n", proc.stderr
    srcs[0].unlink()
    srcs[1].write_bytes(srcs[1].read_bytes() + b"x")
    p1, p2 = (s["photos"][0]["id"] for s in ss)
    proc = run_cli("store", "check", "--store", d)
    assert proc.returncode == StoreError.exit_code == 12
    assert proc.stdout.splitlines() == [
        f"  photo {p1} of session {ss[0]['id']}: original file {srcs[0]} missing",
        f"  photo {p2} of session {ss[1]['id']}: original file {srcs[1]} changed (SHA-256 "
        "differs from the one recorded when filed)",
    ]
    assert proc.stderr.strip().splitlines() == [f"mesovision: error: {d}: 2 problem(s) found"]
    proc = run_cli("store", "backup", tmp_path / "bk", "--store", d)
    assert proc.returncode == 12 and proc.stdout == ""
    assert proc.stderr.startswith(
        f"mesovision: error: {srcs[0]}: photo {p1} of session {ss[0]['id']}: cannot read the "
        "original file (no such file); restore the file, or remove the session"
    )
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "bk").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.png", "s"]


@pytest.mark.slow
def test_a_changed_original_is_refused_before_anything_is_computed_or_cached(tmp_path):
    """A photo filed without --copy whose file was replaced (here by another person's photo,
    which the alignment would refuse): progress names the change (exit 3) and caches nothing,
    so that once the file is back the pair is compared as filed."""
    import shutil

    from conftest import SAMPLES

    store, pics = tmp_path / "s", tmp_path / "pics"
    pics.mkdir()
    before, after = pics / "b.jpg", pics / "a.jpg"
    shutil.copy(SAMPLES / "astronaut" / "before.jpg", before)
    shutil.copy(SAMPLES / "astronaut" / "after_no_change.jpg", after)
    assert run_cli("patient", "add", "P1", "--store", store).returncode == 0
    for date, f in (("2026-01-05", before), ("2026-02-02", after)):
        proc = run_cli("session", "add", "P1", "--date", date, "--photo", f, "--store", store)
        assert proc.returncode == 0, proc.stderr
    original = after.read_bytes()
    shutil.copy(SAMPLES / "grace_hopper" / "before.jpg", after)
    proc = run_cli("progress", "P1", "--store", store)
    assert proc.returncode == 3, proc.stderr
    assert f"{after}: the file changed since its import as photo" in proc.stderr
    with Store(store) as st:
        assert st.conn.execute("SELECT COUNT(*) FROM analyses").fetchone()[0] == 0
    after.write_bytes(original)
    proc = run_cli("progress", "P1", "--store", store)
    assert proc.returncode == 0 and "not compared" not in proc.stdout, proc.stdout


def _course(tmp_path, n: int = 3) -> tuple[Path, list[dict]]:
    d = tmp_path / "s"
    out = []
    with Store(d) as st:
        st.add_patient("P1")
        for i in range(n):
            f = tmp_path / f"p{i}.png"
            Image.fromarray(_rgb(10 + i)).save(f)
            out.append(
                st.import_session(
                    "P1", date=f"2026-03-0{i + 2}", photos=[PhotoImport(str(f))], copy=True
                )
            )
    return d, out


def test_session_remove_drops_photos_copies_and_analyses(tmp_path):
    d, ss = _course(tmp_path)
    with Store(d) as st:
        pid = [ss[0]["photos"][0]["id"], ss[1]["photos"][0]["id"]]
        an = st.add_analysis(
            kind="compare", photo_ids=pid, cache_key="k", settings={}, result={}, version="0",
            images={"before.png": np.zeros((4, 4, 3))},
        )  # fmt: skip
        assert st.analysis_dir(an["id"]).is_dir()
        st.remove_session(ss[1]["id"])
        assert [s["id"] for s in st.sessions("P1")] == [ss[0]["id"], ss[2]["id"]]
        assert not Path(ss[1]["photos"][0]["file"]).exists()
        assert Path(ss[0]["photos"][0]["file"]).is_file()
        assert st.find_analysis("k") is None and not st.analysis_dir(an["id"]).exists()
        [ch] = st.changes()
        assert ch["action"] == "session remove" and ch["session_id"] == ss[1]["id"]
        assert ch["time"].startswith("20") and ch["detail"]["analyses_dropped"] == 1
        assert st.integrity_problems() == []
        with pytest.raises(UsageError, match="unknown session"):
            st.remove_session(ss[1]["id"])


def test_session_edit_and_rebaseline(tmp_path):
    d, ss = _course(tmp_path)
    with Store(d) as st:
        s = st.edit_session(ss[2]["id"], notes="retouch", product="HA 1%", treated=["chin"])
        assert (s["notes"], s["product"], s["treated"]) == ("retouch", "HA 1%", ["chin"])
        s = st.edit_session(ss[2]["id"], view="left-45")
        assert s["photos"][0]["view"] == "left-45"
        with pytest.raises(UsageError, match=r"baseline changes from session 1 of 2026-03-02 to "):
            st.edit_session(ss[2]["id"], date="2026-02-01")
        with pytest.raises(UsageError, match=r"to session 2 of 2026-03-03.*--rebaseline"):
            st.edit_session(ss[0]["id"], date="2026-03-10")  # the baseline moved past another
        assert st.session(ss[2]["id"])["date"] == "2026-03-04"  # unchanged
        # Moving the baseline itself later is no re-baselining against itself.
        st.edit_session(ss[0]["id"], date="2026-03-02")
        note = st.rebaseline_note("P1", "2026-02-01", rebaseline=True, session_id=ss[2]["id"])
        assert "to this session of 2026-02-01" in note
        st.edit_session(ss[2]["id"], date="2026-02-01", rebaseline=True)
        assert st.sessions("P1")[0]["id"] == ss[2]["id"]
        assert st.baseline_photo("P1", "left-45")["id"] == ss[2]["photos"][0]["id"]
        actions = [c["action"] for c in st.changes()]
        assert actions == ["session edit"] * 4
        assert st.changes()[0]["detail"]["old"]["notes"] is None
        with pytest.raises(UsageError, match="nothing to change"):
            st.edit_session(ss[2]["id"])
        with pytest.raises(UsageError, match="not a calendar date"):
            st.edit_session(ss[2]["id"], date="2026-13-01")


def test_session_edit_clears_treated_product_and_notes(tmp_path):
    """``--treated ""``, ``--product ""`` and ``--notes ""`` clear the field (NULL, as for a
    session filed without one); the change is recorded with the old values; an option not given
    is left as it is."""
    d, ss = _course(tmp_path)
    sid = ss[1]["id"]
    with Store(d) as st:
        st.edit_session(sid, treated=["chin", "forehead"], product="HA 1%", notes="bruise")
    help_text = run_cli("session", "edit", "--help").stdout
    for option in ('--treated "" clears them', '--product "" clears it', '--notes "" clears'):
        assert option in " ".join(help_text.split()), help_text
    proc = run_cli("session", "edit", sid, "--treated", "", "--store", d)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    with Store(d) as st:
        s = st.session(sid)
        assert (s["treated"], s["product"], s["notes"]) == ([], "HA 1%", "bruise")
    proc = run_cli("session", "edit", sid, "--product", "", "--notes", "", "--store", d)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    with Store(d) as st:
        s = st.session(sid)
        assert (s["treated"], s["product"], s["notes"]) == ([], None, None)
        row = st.conn.execute("SELECT product, notes FROM sessions WHERE id = ?", (sid,)).fetchone()
        assert tuple(row) == (None, None)
        edits = [c for c in st.changes() if c["action"] == "session edit"]
        assert [c["session_id"] for c in edits] == [sid] * 3
        assert edits[1]["detail"] == {
            "old": {"treated": ["chin", "forehead"]},
            "new": {"treated": []},
        }
        assert edits[2]["detail"] == {
            "old": {"product": "HA 1%", "notes": "bruise"},
            "new": {"product": None, "notes": None},
        }
    show = run_cli("patient", "show", "P1", "--store", d).stdout
    line = next(ln for ln in show.splitlines() if ln.startswith(f"  session {sid} "))
    assert "treated" not in line and "product" not in line and "bruise" not in line, line


def test_cli_edits_and_patient_remove(tmp_path):
    d, ss = _course(tmp_path)
    proc = run_cli("session", "edit", ss[1]["id"], "--date", "2026-01-01", "--store", d)
    assert proc.returncode == 2 and "--rebaseline" in proc.stderr
    proc = run_cli(
        "session", "edit", ss[1]["id"], "--date", "2026-01-01", "--rebaseline", "--store", d
    )
    assert proc.returncode == 0 and "baseline changes" in proc.stdout, proc.stderr
    sid = ss[2]["id"]
    proc = run_cli("session", "remove", sid, "--store", d)  # no terminal, no --yes
    assert proc.returncode == 2 and proc.stdout == "", proc.stdout
    assert proc.stderr.strip() == (
        f"mesovision: error: removing session {sid} needs --yes (no terminal to ask)"
    )
    proc = run_cli("session", "remove", sid, "--yes", "--store", d)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert f"session {sid} (2026-03-04) of patient P1 removed with 1 photo(s)" in proc.stdout
    proc = run_cli("patient", "remove", "P1", "--store", d)  # no terminal, no --yes
    assert proc.returncode == 2 and proc.stderr.strip() == (
        "mesovision: error: removing patient P1 needs --yes (no terminal to ask)"
    )
    with Store(d) as st:
        assert [c["action"] for c in st.changes()] == ["session edit", "session remove"]
    proc = run_cli("patient", "remove", "P1", "--yes", "--store", d)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == (
        "patient P1 removed: 2 session(s), 2 photo(s), 0 cached analysis(es), 2 entry(ies) of "
        "the log of changes"
    )
    with Store(d) as st:
        assert st.patients() == []
        assert [p.name for p in (d / "photos").iterdir()] == []
        # The patient's edit and session removal went with them; the removal names no patient.
        [entry] = st.changes()
        assert (entry["action"], entry["patient_id"], entry["session_id"]) == (
            "patient remove",
            None,
            None,
        )
        assert st.integrity_problems() == []
    proc = run_cli("session", "remove", "99", "--store", d)
    assert proc.returncode == 2 and proc.stderr.strip() == "mesovision: error: unknown session 99"


def _remove_at_a_terminal(d: Path, answer: bytes, *what: str):
    """``mesovision patient remove P1`` (or ``mesovision WHAT remove``, ``what`` = ``("session",
    "3")``) with a terminal (a pseudo-terminal) on stdin that types ``answer``."""
    import os
    import subprocess
    import sys

    leader, follower = os.openpty()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "mesovision", *(what[:1] or ["patient"]), "remove"]
            + [*(what[1:] or ["P1"]), "--store", str(d)],
            stdin=follower,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        os.close(follower)
        follower = None
        os.write(leader, answer)
        out, err = proc.communicate(timeout=120)
    finally:
        if follower is not None:
            os.close(follower)
        os.close(leader)
    return proc.returncode, out, err


@pytest.mark.parametrize(
    ("answer", "code", "removed", "said"),
    [
        (b"P1\n", 0, True, "patient P1 removed: 3 session(s), 3 photo(s)"),
        (b"  P1  \n", 0, True, "patient P1 removed"),
        (b"y\n", 0, False, "nothing removed"),
        (b"n\n", 0, False, "nothing removed"),
        (b"\n", 0, False, "nothing removed"),
        (b"p1\n", 0, False, "nothing removed"),
        (b"\x04", 2, False, None),  # Ctrl-D: end of input, no answer
    ],
    ids=["id", "id-spaces", "y", "n", "empty", "wrong-case", "eof"],
)
def test_patient_remove_asks_for_the_id_at_a_terminal(tmp_path, answer, code, removed, said):
    """Only the patient's id removes (a removal cannot be undone: a reflexive ``y`` keeps the
    patient); any other answer keeps everything; end of input keeps everything and exits 2."""
    d, _ = _course(tmp_path)
    rc, out, err = _remove_at_a_terminal(d, answer)
    assert "Traceback" not in err and "unexpected failure" not in err, err
    assert rc == code, err
    assert "remove patient P1 and 3 session(s) with their photos? type the id to confirm:" in out
    with Store(d) as st:
        assert [p["id"] for p in st.patients()] == ([] if removed else ["P1"])
        assert len(list((d / "photos").iterdir())) == (0 if removed else 3)
        assert [c["action"] for c in st.changes()] == (["patient remove"] if removed else [])
    if said is not None:
        assert said in out and err == "", (out, err)
    else:
        assert err.strip().splitlines() == [
            "mesovision: error: no answer (end of input): patient P1 not removed; give --yes to "
            "remove without asking"
        ]


@pytest.mark.parametrize(
    ("answer", "code", "removed"),
    [(b"2\n", 0, True), (b" 2 \n", 0, True), (b"y\n", 0, False), (b"3\n", 0, False)]
    + [(b"\x04", 2, False)],
    ids=["id", "id-spaces", "y", "other-id", "eof"],
)
def test_session_remove_asks_for_the_session_id_at_a_terminal(tmp_path, answer, code, removed):
    """``session remove`` asks as ``patient remove`` does (the same helper): only the session's
    id removes it; any other answer keeps it (exit 0); end of input keeps it and exits 2."""
    d, ss = _course(tmp_path)
    sid = ss[1]["id"]
    assert sid == 2
    rc, out, err = _remove_at_a_terminal(d, answer, "session", str(sid))
    assert "Traceback" not in err, err
    assert rc == code, err
    assert (
        "remove session 2 (2026-03-03) of patient P1 with 1 photo(s)? type the session id to "
        "confirm:" in out
    )
    with Store(d) as st:
        assert [s["id"] for s in st.sessions("P1")] == ([1, 3] if removed else [1, 2, 3])
        assert len(list((d / "photos").iterdir())) == (2 if removed else 3)
        assert [c["action"] for c in st.changes()] == (["session remove"] if removed else [])
    if removed:
        assert "session 2 (2026-03-03) of patient P1 removed with 1 photo(s)" in out, out
    elif code == 0:
        assert out.rstrip().endswith("nothing removed") and err == "", (out, err)
    else:
        assert err.strip().splitlines() == [
            "mesovision: error: no answer (end of input): session 2 not removed; give --yes to "
            "remove without asking"
        ]


def test_session_add_before_the_baseline_needs_rebaseline(tmp_path):
    d = tmp_path / "s"
    photos = []
    for i in range(2):
        photos.append(tmp_path / f"p{i}.png")
        Image.fromarray(_rgb(20 + i, (300, 400))).save(photos[-1])
    assert run_cli("patient", "add", "P1", "--store", d).returncode == 0
    add = ("session", "add", "P1", "--view", "body:thigh", "--force", "--store", d)
    proc = run_cli(*add, "--date", "2026-03-01", "--photo", photos[0])
    assert proc.returncode == 0, proc.stderr
    proc = run_cli(*add, "--date", "2026-02-01", "--photo", photos[1])
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "mesovision: error: the baseline changes from session 1 of 2026-03-01 to this session "
        "of 2026-02-01: every later session is then compared with it; give --rebaseline to "
        "accept that"
    ]
    proc = run_cli(*add, "--date", "2026-02-01", "--photo", photos[1], "--rebaseline")
    assert proc.returncode == 0 and "rebaseline: the baseline changes" in proc.stdout
    with Store(d) as st:
        assert [s["date"] for s in st.sessions("P1")] == ["2026-02-01", "2026-03-01"]


def test_schema_2_store_is_migrated_and_keeps_its_files(tmp_path):
    """A store written before the ``files`` table: its copies and analysis folders are recorded
    on migration (not deleted, not refused); a leftover no row knows is refused, not deleted."""
    from mesovision.store import MIGRATIONS, connect, migrate

    d = tmp_path / "old"
    (d / "photos").mkdir(parents=True)
    (d / "analyses" / "1").mkdir(parents=True)
    (d / "analyses" / "1" / "before.png").write_bytes(b"png")
    copy = d / "photos" / ("b" * 64 + ".jpg")
    copy.write_bytes(b"old copy")
    conn = connect(d / DB_NAME)
    assert migrate(conn, target=2) == 2 < len(MIGRATIONS)
    conn.execute("INSERT INTO patients (id, created) VALUES ('P7', 'x')")
    conn.execute(
        "INSERT INTO sessions (id, patient_id, date, created) VALUES (1, 'P7', '2026-01-02', 'x')"
    )
    conn.execute(
        "INSERT INTO photos (session_id, sha256, view, original_path, managed_path, created) "
        "VALUES (1, ?, 'front', '/x.jpg', ?, 'x')",
        (hashlib.sha256(b"old copy").hexdigest(), f"photos/{copy.name}"),
    )
    conn.execute(
        "INSERT INTO analyses (id, kind, photo_ids, cache_key, settings, result, version, "
        "created) VALUES (1, 'compare', '[1, 1]', 'k', '{}', '{}', '0', 'x')"
    )
    conn.close()
    with Store(d) as st:
        assert st.integrity_problems() == []
        st.add_patient("P8")  # a write: cleanup runs
        assert copy.read_bytes() == b"old copy" and (d / "analyses" / "1").is_dir()
        leftover = d / "photos" / ("c" * 64 + ".jpg")
        leftover.write_bytes(b"crash leftover of the old code")
        with pytest.raises(StoreError, match="not written by mesovision"):
            st.add_patient("P9")
        assert leftover.is_file()


def test_a_pending_list_naming_paths_outside_the_store_removes_nothing(tmp_path):
    from mesovision.store import PENDING_NAME, Store

    outside = tmp_path / "precious.txt"
    outside.write_text("keep")
    store_dir = tmp_path / "store"
    with Store(store_dir) as st:
        st.add_patient("P1")
    (store_dir / PENDING_NAME).write_text(
        f"../precious.txt\nphotos/../../precious.txt\n{outside}\n"
    )
    with Store(store_dir) as st:
        st.add_patient("P2")
    assert outside.read_text() == "keep"


def test_a_finished_write_leaves_no_pending_list(tmp_path):
    from mesovision.store import PENDING_NAME

    jpg = tmp_path / "p.jpg"
    Image.new("RGB", (8, 8), (200, 150, 120)).save(jpg)
    store_dir = tmp_path / "store"
    with Store(store_dir) as st:
        st.add_patient("P1")
        st.import_session("P1", date="2026-01-05", photos=[PhotoImport(str(jpg))], copy=True)
    assert not (store_dir / PENDING_NAME).exists()
    assert len(list((store_dir / "photos").iterdir())) == 1
