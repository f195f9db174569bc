"""Bad photos end to end: every case of tests/bad_inputs/cases.json through the real command line.

The corpus is made by ``scripts/make_bad_inputs.py`` (seeded); :func:`test_corpus_matches_script`
regenerates it and compares the bytes, so the files on disk cannot go stale. Each case runs
``mesovision compare before.jpg CASE -o OUT`` in a subprocess (and ``mesovision align ...``: every
refused case, one accepted case of each kind):
a refused case prints exactly one stderr line ``mesovision: error: <file>: <reason>``, returns
its documented exit code, shows no traceback and leaves no output; an accepted case returns 0,
prints only warnings and writes every output, each of which decodes.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import ALIGN_OUTPUTS, run_cli
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "tests" / "bad_inputs"
DOC = json.loads((CORPUS / "cases.json").read_text())
CASES = {c["file"]: c for c in DOC["cases"]}
BEFORE = CORPUS / DOC["before"]


# MediaPipe's native start-up line can escape landmarks.py's fd-2 silencing: the graph opens its
# calculators asynchronously after FaceMesh() returns (solution_base.start_run without a wait), so
# the TFLite "Created ... delegate" line may be printed between the two silenced blocks. Seen in
# about 1 of 30 runs under load. It is not ours and not an error line; it is filtered here and
# reported (the fix belongs in mesovision/landmarks.py: wait until idle inside the quiet block).
_NATIVE = re.compile(r"^(INFO: Created TensorFlow Lite|[WIEF]\d{4} \d\d:\d\d:\d\d)")


def our_lines(stderr: str) -> list[str]:
    return [ln for ln in stderr.strip().splitlines() if ln and not _NATIVE.match(ln)]


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

        expected = set(output_names())
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
    assert _digests(tmp_path) == _digests(CORPUS), "run scripts/make_bad_inputs.py"


def test_tiff_with_a_broken_later_page_loads_page_0(tmp_path, caplog, monkeypatch):
    """Regression (fuzzing): counting pages of a TIFF whose second page has no dimensions raised
    TypeError; page 0 now loads, with a warning. (The pages are 8 x 6 px: the too-narrow limit is
    lifted for this test.)"""
    import mesovision.io as mio

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
