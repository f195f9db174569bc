"""Nothing lost: existing outputs are never overwritten without ``--force``, ``--force`` replaces
them atomically, and a ``compare`` killed at any moment leaves no half-written output.

Real processes on the small corpus photos (tests/bad_inputs/, grace_hopper at 1x).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ALIGN_OUTPUTS, REPO, readable, run_cli
from PIL import Image

CORPUS = REPO / "tests" / "bad_inputs"
BEFORE = CORPUS / "before.jpg"
AFTER = CORPUS / "orientation_6.jpg"  # the same face stored sideways
TEMP = re.compile(r"^\..+\.[^.]+\.tmp$")  # io.atomic_write_bytes: .<name>.<random>.tmp


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "mesovision", *args]


run = run_cli


def snapshot(folder: Path) -> dict[str, tuple[bytes, int, int]]:
    """Every file under ``folder``: (bytes, mtime_ns, inode)."""
    out = {}
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            st = p.stat()
            out[str(p.relative_to(folder))] = (p.read_bytes(), st.st_mtime_ns, st.st_ino)
    return out


def fake_outputs(folder: Path, names) -> None:
    """Stale outputs from an earlier run: valid files with recognisable content."""
    folder.mkdir(parents=True, exist_ok=True)
    for n in names:
        p = folder / n
        p.parent.mkdir(parents=True, exist_ok=True)
        if n.endswith(".json"):
            p.write_text('{"stale": true}\n')
        elif n.endswith(".html"):
            p.write_text("<html>stale</html>\n")
        else:
            Image.new("RGB", (3, 2), (1, 2, 3)).save(p)
        os.utime(p, ns=(1_000_000_000, 1_000_000_000))


def folders(out: Path) -> list[Path]:
    return sorted(p for p in out.rglob("*") if p.is_dir())


def _check_refused(out: Path, args: list[str]) -> None:
    before, dirs = snapshot(out), folders(out)
    proc = run(*args)
    assert proc.returncode == 9, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mesovision: error: "), proc.stderr
    assert "exists; use --force to overwrite" in lines[0]
    assert snapshot(out) == before, "a refused run changed the output folder"
    if args[0] != "demo":  # see test_demo_refusal_creates_no_folders
        assert folders(out) == dirs, "a refused run made folders"


def _check_forced(out: Path, args: list[str], names) -> None:
    before = snapshot(out)
    proc = run(*args, "--force")
    assert proc.returncode == 0, proc.stderr
    after = snapshot(out)
    for rel, (data, mtime, ino) in before.items():
        new_data, new_mtime, new_ino = after[rel]
        assert new_data != data and new_mtime != mtime, f"{rel} was not replaced"
        # Replaced by a rename of a complete temporary file, not rewritten in place.
        assert new_ino != ino, f"{rel} was rewritten in place"
    leftovers = [p for p in out.rglob("*") if p.is_file() and TEMP.match(p.name)]
    assert leftovers == []
    for rel in after:
        assert readable(out / rel), rel
    assert set(names) <= set(after)


def _check_refused_then_forced(out: Path, args: list[str], names) -> None:
    _check_refused(out, args)
    _check_forced(out, args, names)


def test_align_refuses_existing_outputs_and_force_replaces(tmp_path):
    out = tmp_path / "out"
    fake_outputs(out, ALIGN_OUTPUTS)
    args = ["align", str(BEFORE), str(AFTER), "-o", str(out)]
    _check_refused_then_forced(out, args, ALIGN_OUTPUTS)


@pytest.mark.slow
def test_compare_refuses_one_existing_output(tmp_path):
    from mesovision.compare import output_names

    out = tmp_path / "out"
    fake_outputs(out, ["heatmap_texture_after.png"])  # one existing output is enough
    args = ["compare", str(BEFORE), str(AFTER), "-o", str(out)]
    _check_refused_then_forced(out, args, output_names())


@pytest.mark.parametrize("stale", ["grace_hopper/after_treated/result.json", "course/report.html"])
def test_demo_refuses_existing_outputs(tmp_path, stale):
    # The demo's --force run (a full demo, ~30 s) is in tests/io/test_privacy.py, offline.
    out = tmp_path / "demo"
    fake_outputs(out, [stale])
    _check_refused(out, ["demo", "-o", str(out)])


def test_demo_refusal_creates_no_folders(tmp_path):
    out = tmp_path / "demo"
    fake_outputs(out, ["course/report.html"])
    dirs = folders(out)
    assert run("demo", "-o", str(out)).returncode == 9
    assert folders(out) == dirs


STAGING = re.compile(r"^\..+\.[a-z0-9_]{8}\.partial$")  # io.output_folder's staging folder


def _strays(where: Path) -> list[Path]:
    """Staging folders and temporary files under ``where`` (none after a finished run)."""
    return [p for p in where.rglob("*") if STAGING.match(p.name) or TEMP.match(p.name)]


def _assert_all_or_nothing(out: Path, names: set[str]) -> None:
    """``out`` holds no output, or every output, each complete (and nothing else)."""
    present = (
        sorted(p.name for p in out.iterdir() if not STAGING.match(p.name)) if out.exists() else []
    )
    assert present in ([], sorted(names)), present
    for n in present:
        assert readable(out / n), f"{n} is half-written"


def _staged_files(where: Path) -> list[Path]:
    return [p for d in where.glob(".*.partial") for p in d.rglob("*") if p.is_file()]


def _start_and_signal(args, sig, *, delay_s: float | None, staging_in: Path) -> subprocess.Popen:
    """Start ``mesovision ARGS``; send ``sig`` after ``delay_s`` s, or (``None``) as soon as a
    file exists in a staging folder in ``staging_in`` (the run is writing its outputs)."""
    proc = subprocess.Popen(
        cli(*args), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO
    )
    t0 = time.monotonic()
    while proc.poll() is None and time.monotonic() - t0 < 120:
        if delay_s is not None and time.monotonic() - t0 >= delay_s:
            break
        if delay_s is None and staging_in.exists() and _staged_files(staging_in):
            break
        time.sleep(0.002)
    proc.send_signal(sig)
    proc.wait(timeout=30)
    return proc


@pytest.mark.slow
@pytest.mark.parametrize("delay_s", [1.0, 1.5, 2.0, None], ids=["1.0s", "1.5s", "2.0s", "writing"])
def test_killed_compare_leaves_all_or_nothing_and_next_run_cleans(tmp_path, delay_s):
    from mesovision.compare import output_names
    from mesovision.tables import OUTPUT_MARKER

    names = {*output_names(), OUTPUT_MARKER}  # the list of what compare wrote, with them
    out = tmp_path / "out"
    args = ["compare", str(BEFORE), str(AFTER), "-o", str(out)]
    proc = _start_and_signal(args, signal.SIGKILL, delay_s=delay_s, staging_in=tmp_path)
    _assert_all_or_nothing(out, names)
    if delay_s is None:  # killed while writing: no output in place, the staging folder left
        assert proc.returncode == -signal.SIGKILL
        assert not out.exists()
        assert _strays(tmp_path)
    # The next run into the same target removes what the killed one left.
    rerun = run(*args, "--force")
    assert rerun.returncode == 0, rerun.stderr
    assert _strays(tmp_path) == []
    assert sorted(p.name for p in out.iterdir()) == sorted(names)


def test_interrupted_compare_keeps_previous_outputs(tmp_path):
    """SIGINT (Ctrl-C) while a --force run writes: previous outputs byte-identical, no strays."""
    from mesovision.compare import output_names

    out = tmp_path / "out"
    fake_outputs(out, output_names())
    before = snapshot(out)
    args = ["compare", str(BEFORE), str(AFTER), "-o", str(out), "--force"]
    proc = _start_and_signal(args, signal.SIGINT, delay_s=None, staging_in=out)
    assert proc.returncode == 130
    assert snapshot(out) == before
    assert _strays(tmp_path) == []


@pytest.mark.slow
def test_killed_forced_compare_leftovers_go_with_next_forced_run(tmp_path):
    from mesovision.compare import output_names

    out = tmp_path / "out"
    fake_outputs(out, output_names())
    before = snapshot(out)
    args = ["compare", str(BEFORE), str(AFTER), "-o", str(out), "--force"]
    proc = _start_and_signal(args, signal.SIGKILL, delay_s=None, staging_in=out)
    assert proc.returncode == -signal.SIGKILL
    assert {k: v for k, v in snapshot(out).items() if not k.startswith(".")} == before
    assert _strays(tmp_path)
    # An old-style leftover temporary file of an output, and a file that is not ours.
    (out / ".result.json.ab12cd34.tmp").write_text("{")
    (out / "notes.txt").write_text("mine")
    assert run(*args).returncode == 0
    assert _strays(tmp_path) == []
    assert (out / "notes.txt").read_text() == "mine"
    for n in output_names():
        assert readable(out / n) and (out / n).read_bytes() != before[n][0]


def test_report_writes_html_and_pdf_together_or_not_at_all(tmp_path, monkeypatch):
    """--force, and the PDF fails after the HTML is rendered: the previous files stay as they
    were, and no staging folder is left; then a good run replaces both."""
    import types

    import mesovision.report as report
    from mesovision import cli

    fake = types.ModuleType("mesovision.course")
    fake.course_document = lambda store, patient, *, view="front", session=None, on_step=None: {
        "sessions": [{"id": 1}]  # (what the fake render functions below never read)
    }
    monkeypatch.setitem(sys.modules, "mesovision.course", fake)
    monkeypatch.setenv("MESOVISION_STORE", str(tmp_path / "store"))
    out = tmp_path / "r"
    fake_outputs(out, ["report.html", "report.pdf"])
    before = snapshot(out)
    monkeypatch.setattr(report, "render_html", lambda doc, **kw: "<html>new</html>")

    def broken_pdf(doc, **kw):
        raise KeyboardInterrupt

    monkeypatch.setattr(report, "render_pdf", broken_pdf)
    args = ["report", "P1", "-o", str(out / "report.html"), "--pdf", "--force"]
    assert cli.main(args) == 130
    assert snapshot(out) == before
    assert _strays(tmp_path) == []
    monkeypatch.setattr(report, "render_pdf", lambda doc, **kw: b"%PDF-new")
    assert cli.main(args) == 0
    assert (out / "report.html").read_text() == "<html>new</html>"
    assert (out / "report.pdf").read_bytes() == b"%PDF-new"
    assert _strays(tmp_path) == []
