"""Bad photos end to end: every case of tests/bad_inputs/cases.json through the real command line.

The corpus is made by ``scripts/make_bad_inputs.py`` (seeded); :func:`test_corpus_matches_script`
regenerates it and compares the bytes, so the files on disk cannot go stale. Each case runs
``mesovision compare before.jpg CASE -o OUT`` in a subprocess (and ``mesovision align ...``: every
refused case, one accepted case of each kind):
a refused case prints exactly one stderr line ``mesovision: error: <file>: <reason>``, returns
its documented exit code, shows no traceback and leaves no output; an accepted case returns 0,
prints only warnings and writes every output, each of which decodes.

``cli_cases`` of the same file are hostile command lines (huge integers, NUL bytes, names that are
not UTF-8, ``--max-side`` <= 0, a store damaged in its middle pages, a malformed cache entry, a
closed stdout, control characters in printed text): :func:`test_cli_case` runs each one after its
setup (:data:`SETUPS`) and checks its exit code, its one line, no traceback, no raw control
character printed, and that a refused command changed nothing.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import ALIGN_OUTPUTS, REPO, STAGE_LINE, run_cli
from PIL import Image

CORPUS = REPO / "tests" / "bad_inputs"
DOC = json.loads((CORPUS / "cases.json").read_text())
CASES = {c["file"]: c for c in DOC["cases"]}
CLI_CASES = {c["id"]: c for c in DOC["cli_cases"]}
BEFORE = CORPUS / DOC["before"]


# MediaPipe's native start-up line can escape landmarks.py's fd-2 silencing: the graph opens its
# calculators asynchronously after FaceMesh() returns (solution_base.start_run without a wait), so
# the TFLite "Created ... delegate" line may be printed between the two silenced blocks. Seen in
# about 1 of 30 runs under load. It is not ours and not an error line; it is filtered here and
# reported (the fix belongs in mesovision/landmarks.py: wait until idle inside the quiet block).
_NATIVE = re.compile(r"^(INFO: Created TensorFlow Lite|[WIEF]\d{4} \d\d:\d\d:\d\d)")


def our_lines(stderr: str) -> list[str]:
    """The errors and warnings on stderr (not native libraries' chatter, not stage lines)."""
    return [
        ln
        for ln in stderr.strip().splitlines()
        if ln and not _NATIVE.match(ln) and not STAGE_LINE.match(ln)
    ]


def output_files(out: Path) -> list[Path]:
    return sorted(p for p in out.rglob("*") if p.is_file()) if out.exists() else []


def assert_decodes(path: Path) -> None:
    if path.suffix == ".json":
        json.loads(path.read_text())
        return
    with Image.open(path) as im:
        im.load()
        assert im.size[0] > 0 and im.size[1] > 0


# ``align`` is the first half of ``compare``: on accepted cases it runs for one of each kind (the
# other accepted cases cost ~3 s each and exercise nothing ``compare`` does not).
ALIGN_ACCEPTED = ("png_named.jpg", "rgb16.tif", "animated.webp", "orientation_6.jpg")
RUNS = [(n, "compare") for n in sorted(CASES)] + [
    (n, "align") for n in sorted(CASES) if CASES[n]["exit_code"] != 0 or n in ALIGN_ACCEPTED
]


@pytest.mark.parametrize(("name", "command"), RUNS)
def test_case_end_to_end(tmp_path, name, command):
    case = CASES[name]
    path = CORPUS / name
    out = tmp_path / "out"
    proc = run_cli(command, str(BEFORE), str(path), "-o", str(out))
    lines = our_lines(proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode == case["exit_code"], proc.stderr
    if case["exit_code"] != 0:
        assert len(lines) == 1, proc.stderr
        assert lines[0].startswith(f"mesovision: error: {path}: "), lines[0]
        assert case["reason"] in lines[0], lines[0]
        assert output_files(out) == [], "a refused run left output files"
        return
    assert all(ln.startswith("mesovision: WARNING: ") for ln in lines), proc.stderr
    if case["warning"]:
        assert any(case["warning"] in ln for ln in lines), proc.stderr
    if command == "compare":
        from mesovision.compare import output_names
        from mesovision.tables import OUTPUT_MARKER

        expected = {*output_names(), OUTPUT_MARKER}
        record = json.loads((out / "result.json").read_text())
        identity = record["alignment"]["identity"]
    else:
        expected = set(ALIGN_OUTPUTS)
        record = json.loads((out / "alignment.json").read_text())
        identity = record["identity"]
    assert {p.name for p in output_files(out)} == expected
    for p in output_files(out):
        assert_decodes(p)
    assert identity["passed"], identity
    assert identity["distance"] <= identity["threshold"]


def _before_rgb() -> np.ndarray:
    from mesovision.io import load_photo

    return load_photo(BEFORE).rgb


@pytest.mark.parametrize("orientation", range(1, 9))
def test_orientation_cases_load_upright(orientation):
    from mesovision.io import load_photo

    photo = load_photo(CORPUS / f"orientation_{orientation}.jpg")
    before = _before_rgb()
    assert photo.exif_orientation == orientation
    assert photo.rgb.shape == before.shape
    # Same pixels upright, up to one more JPEG round trip (a wrong orientation differs by ~0.2).
    assert np.abs(photo.rgb - before).mean() < 0.01


@pytest.mark.parametrize(
    ("name", "fmt", "depth"),
    [("png_named.jpg", "PNG", 8), ("rgb16.tif", "TIFF", 16), ("cmyk.tif", "TIFF", 8)],
)
def test_format_cases_load_the_face(name, fmt, depth):
    import cv2

    from mesovision.io import load_photo

    photo = load_photo(CORPUS / name)
    assert (photo.format, photo.bit_depth) == (fmt, depth)
    ref = cv2.resize(_before_rgb(), photo.size, interpolation=cv2.INTER_AREA)
    assert np.abs(photo.rgb - ref).mean() < 0.02  # CMYK inverted or channels swapped: > 0.2


# --------------------------------------------------------------------------------------------
# Hostile command lines (cases.json: cli_cases)
# --------------------------------------------------------------------------------------------

#: Control characters that must never reach the terminal raw (C0 but newline, DEL, C1).
_RAW_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f]")
_NON_UTF8_NAME = b"bad\xff.jpg"


def _two_photos(d: Path) -> None:
    shutil.copyfile(BEFORE, d / "a.jpg")
    shutil.copyfile(CORPUS / "orientation_6.jpg", d / "b.jpg")


def _setup_manifest_huge_repeat(d: Path) -> None:
    _two_photos(d)
    (d / "m.csv").write_text(
        "subject,timepoint,view,path,repeat\nS1,0,front,a.jpg,1\n"
        "S1,0,front,b.jpg,99999999999999999999\n"
    )


def _setup_manifest_nul_path(d: Path) -> None:
    _two_photos(d)
    (d / "m.csv").write_text(
        "subject,timepoint,view,path\nS1,0,front,a.jpg\nS1,1,front,b\x00.jpg\n"
    )


def _setup_non_utf8_photo(d: Path) -> None:
    Path(os.fsdecode(os.fsencode(str(d)) + b"/" + _NON_UTF8_NAME)).write_bytes(BEFORE.read_bytes())


@functools.cache
def _damaged_store_database() -> bytes:
    """A store of 300 patients (19 pages) whose middle page is overwritten."""
    import tempfile

    from mesovision.store import DB_NAME, Store

    with tempfile.TemporaryDirectory() as tmp:
        with Store(Path(tmp) / "s") as st:
            for i in range(300):
                st.add_patient(f"P{i:04d}", name=f"patient number {i}", birth_year=1950 + i % 50)
        raw = bytearray((Path(tmp) / "s" / DB_NAME).read_bytes())
    page = int.from_bytes(raw[16:18], "big")
    assert len(raw) // page >= 8, len(raw) // page
    mid = len(raw) // page // 2
    raw[mid * page : (mid + 1) * page] = b"\xa5" * page
    return bytes(raw)


def _setup_store_damaged_in_the_middle(d: Path) -> None:
    from mesovision.store import DB_NAME

    (d / "s").mkdir()
    (d / "s" / DB_NAME).write_bytes(_damaged_store_database())


def _setup_batch_with_malformed_cache_entry(d: Path) -> None:
    """A well-formed JSON cache entry of the manifest's one comparison that says ``ok`` and holds
    no change (before the fix it was reported ok, with no rows)."""
    from mesovision.batch import (
        CACHE_FORMAT,
        BatchSettings,
        plan_items,
        read_manifest,
        write_cache_entry,
    )

    _two_photos(d)
    (d / "m.csv").write_text("subject,timepoint,view,path\nS1,0,front,a.jpg\nS1,1,front,b.jpg\n")
    [item] = [it for it in plan_items(read_manifest(d / "m.csv"), BatchSettings()) if it.key]
    (d / "out" / "cache").mkdir(parents=True)
    entry = {"cache_format": CACHE_FORMAT, "key": item.key, "status": "ok", "seconds": 1.0}
    write_cache_entry(d / "out", {**entry, "log": [], "record": {"alignment": {}, "changes": {}}})


def _check_recomputed(d: Path, stdout: str) -> None:
    import pandas as pd

    status = pd.read_csv(d / "out" / "status.csv")
    assert list(status["status"]) == ["ok"] and not status["cached"].any()
    assert len(pd.read_csv(d / "out" / "results.csv")) > 0
    assert json.loads(stdout)["n_computed"] == 1


def _setup_store_with_control_characters(d: Path) -> None:
    from mesovision.store import PhotoImport, Store

    photo = d / "a\x1b[31mb\r.png"
    Image.new("RGB", (64, 48), (120, 90, 80)).save(photo)
    with Store(d / "s") as st:
        st.add_patient("P1", name="Bob\x1b[31m\rX\nmesovision: error: forged")
        st.import_session(
            "P1",
            date="2026-01-02",
            photos=[PhotoImport(str(photo))],
            product="pr\x07\x9b",
            notes="n\x1b[2J\nmesovision: error: forged",
        )


def _setup_store_named_with_control_characters(d: Path) -> None:
    from mesovision.store import Store

    with Store(d / "s\x1b[31m\n") as st:
        st.add_patient("P1")


SETUPS = {
    name.removeprefix("_setup_"): f for name, f in globals().items() if name.startswith("_setup_")
}
CHECKS = {"malformed_cache_entry": _check_recomputed}


def _argv(case: dict, d: Path) -> list[bytes]:
    out = []
    for a in case["argv"]:
        a = a.replace("{dir}", str(d)).replace("{before}", str(BEFORE))
        b = os.fsencode(a)
        out.append(b.replace(b"{nonutf8}", os.fsencode(str(d)) + b"/" + _NON_UTF8_NAME))
    return out


def _tree(d: Path) -> dict[str, bytes | None]:
    return {str(p.relative_to(d)): (p.read_bytes() if p.is_file() else None) for p in d.rglob("*")}


@pytest.mark.parametrize("case_id", sorted(CLI_CASES))
def test_cli_case(tmp_path, case_id):
    case = CLI_CASES[case_id]
    d = tmp_path / "d"
    d.mkdir()
    if case["setup"]:
        SETUPS[case["setup"]](d)
    before = _tree(d)
    argv = [os.fsencode(sys.executable), b"-m", b"mesovision", *_argv(case, d)]
    closed = case.get("stdout") == "closed"
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, cwd=REPO
    )
    if closed:  # the reader is gone before the first byte is written (`| head -c0`)
        proc.stdout.close()
        out = b""
        err = proc.stderr.read()
        proc.wait(timeout=300)
        proc.stderr.close()
    else:
        out, err = proc.communicate(timeout=600)
    out, err = out.decode("utf-8"), err.decode("utf-8")
    assert "Traceback" not in err and "unexpected failure" not in err, err
    assert proc.returncode == case["exit_code"], err
    assert not _RAW_CONTROL.search(out) and not _RAW_CONTROL.search(err), (out, err)
    lines = our_lines(err)
    if closed:
        assert lines == [] and out == ""
    elif case["exit_code"] != 0:
        assert len(lines) == 1, err
        assert lines[0].startswith("mesovision: error: "), lines[0]
        assert _tree(d) == before, "a refused command wrote or changed files"
    elif case.get("warning"):
        assert len(lines) == 1 and lines[0].startswith("mesovision: WARNING: "), err
    else:
        assert lines == [], err
    if "names" in case:
        assert case["names"].replace("{dir}", str(d)) in lines[0], lines[0]
        assert case["reason"] in lines[0], lines[0]
    for text in case.get("stdout_has", ()):
        assert text in out, out
    if case_id in CHECKS:
        CHECKS[case_id](d, out)


def test_cli_cases_cover_the_brief():
    """Every hostile input of issue #16 has a case; every setup named exists."""
    ids = set(CLI_CASES)
    assert {
        "huge_session_id",
        "huge_manifest_repeat",
        "nul_byte_in_manifest_path",
        "non_utf8_name_compare",
        "non_utf8_name_session_add",
        "max_side_zero",
        "max_side_negative",
        "damaged_store_patient_list",
        "malformed_cache_entry",
        "closed_stdout_check",
        "control_characters_in_a_file_name",
        "control_characters_in_patient_show",
    } <= ids
    assert {c["setup"] for c in CLI_CASES.values()} - {None} <= set(SETUPS)
    assert set(CHECKS) <= ids
    for c in CLI_CASES.values():
        assert ("names" in c) == (c["exit_code"] not in (0, 141) or bool(c.get("warning"))), c
    narrow = [c for c in DOC["cases"] if "too narrow" in (c["reason"] or "")]
    assert any(Image.open(CORPUS / c["file"]).size[1] == 1 for c in narrow)  # a 1 x N image


def test_cases_cover_the_brief():
    codes = {c["exit_code"] for c in DOC["cases"]}
    assert {0, 4, 5, 6, 7, 11} <= codes
    for c in DOC["cases"]:
        assert (CORPUS / c["file"]).is_file(), c["file"]
        assert (c["exit_code"] == 0) == (c["reason"] is None), c
    assert sum(p.stat().st_size for p in CORPUS.rglob("*") if p.is_file()) < 3e6


def _digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_corpus_matches_script(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "make_bad_inputs.py"), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr
    made = json.loads((tmp_path / "cases.json").read_text())
    versions = made.pop("generated_with")
    committed = dict(DOC)
    committed_versions = committed.pop("generated_with")
    assert made == committed, "cases.json is stale: run scripts/make_bad_inputs.py"
    assert set(_digests(tmp_path)) == set(_digests(CORPUS)), "run scripts/make_bad_inputs.py"
    if versions != committed_versions:
        pytest.skip(
            f"the corpus bytes were written by {committed_versions}, this environment has "
            f"{versions}: file bytes not compared (regenerate the corpus to compare them)"
        )
    made, committed = _digests(tmp_path), _digests(CORPUS)
    for name in (n for n in made if made[n] != committed[n]):
        _assert_same_pixels(tmp_path / name, CORPUS / name)


def _assert_same_pixels(made: Path, committed: Path) -> None:
    """Two files the script wrote with different bytes must be the same image but for the
    rounding of a warp's interpolation, which OpenCV and NumPy compute with the CPU's own SIMD
    (a head turned on an AVX-512 machine and on one without AVX: 3 grey levels at most, on
    0.002 % of the pixels, then JPEG): same size, at most 8 levels apart, 0.05 on average. A
    file that does not decode (a deliberately broken one) must match byte for byte."""
    try:
        a = np.asarray(Image.open(made), np.int16)
        b = np.asarray(Image.open(committed), np.int16)
    except OSError:
        pytest.fail(f"{made.name} differs from the corpus: run scripts/make_bad_inputs.py")
    assert a.shape == b.shape, f"{made.name}: run scripts/make_bad_inputs.py"
    diff = np.abs(a - b)
    assert diff.max() <= 8 and diff.mean() <= 0.05, f"{made.name}: run scripts/make_bad_inputs.py"


def test_tiff_with_a_broken_later_page_loads_page_0(tmp_path, caplog, monkeypatch):
    """Regression (fuzzing): counting pages of a TIFF whose second page has no dimensions raised
    TypeError; page 0 now loads, with a warning. (The pages are 8 x 6 px: the too-narrow limit is
    lifted for this test.)"""
    import mesovision.io.limits as mio

    monkeypatch.setattr(mio, "MIN_SIDE_PX", 1)
    import io
    import logging
    import struct

    from mesovision.io import load_photo

    buf = io.BytesIO()
    pages = [Image.new("RGB", (8, 6), (200, 30, 30)), Image.new("RGB", (8, 6), (0, 0, 255))]
    pages[0].save(buf, "TIFF", save_all=True, append_images=pages[1:])
    data = bytearray(buf.getvalue())
    (ifd0,) = struct.unpack_from("<I", data, 4)
    (n0,) = struct.unpack_from("<H", data, ifd0)
    (ifd1,) = struct.unpack_from("<I", data, ifd0 + 2 + 12 * n0)
    (n1,) = struct.unpack_from("<H", data, ifd1)
    for i in range(n1):  # page 2: rename ImageWidth and ImageLength to unknown tags
        tag_at = ifd1 + 2 + 12 * i
        if struct.unpack_from("<H", data, tag_at)[0] in (256, 257):
            struct.pack_into("<H", data, tag_at, 65000 + i)
    path = tmp_path / "pages.tif"
    path.write_bytes(bytes(data))
    with caplog.at_level(logging.WARNING, logger="mesovision.io"):
        photo = load_photo(path)
    assert photo.size == (8, 6)
    np.testing.assert_allclose(photo.rgb[3, 4], np.array([200, 30, 30]) / 255, atol=1e-6)
    assert "pages after the first are unreadable" in caplog.text
