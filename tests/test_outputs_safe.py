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
from conftest import ALIGN_OUTPUTS, readable, run_cli
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
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


def test_compare_refuses_one_existing_output(tmp_path):
    from mesovision.compare import output_names

    out = tmp_path / "out"
    fake_outputs(out, ["heatmap_texture_after.png"])  # one existing output is enough
    args = ["compare", str(BEFORE), str(AFTER), "-o", str(out)]
    _check_refused_then_forced(out, args, output_names())


@pytest.mark.parametrize("stale", ["grace_hopper/after_treated/result.json", "course/report.html"])
def test_demo_refuses_existing_outputs(tmp_path, stale):
    # The demo's --force run (a full demo, ~30 s) is in tests/test_privacy.py, offline.
    out = tmp_path / "demo"
    fake_outputs(out, [stale])
    _check_refused(out, ["demo", "-o", str(out)])


def test_demo_refusal_creates_no_folders(tmp_path):
    out = tmp_path / "demo"
    fake_outputs(out, ["course/report.html"])
    dirs = folders(out)
    assert run("demo", "-o", str(out)).returncode == 9
    assert folders(out) == dirs


def _assert_no_partial_file(out: Path, names: set[str]) -> list[str]:
    """Every output present decodes; anything else is a hidden temporary file."""
    present = []
    for p in sorted(out.rglob("*")) if out.exists() else []:
        if not p.is_file():
            continue
        if p.name in names:
            assert readable(p), f"{p.name} is half-written"
            present.append(p.name)
        else:
            assert TEMP.match(p.name), f"unexpected file {p.name}"
            assert p.name not in names
    return present


def _kill_after(out: Path, delay_s: float | None, names: set[str]) -> subprocess.Popen:
    """Start compare; SIGKILL it after ``delay_s`` s, or as soon as its first output appears."""
    proc = subprocess.Popen(
        cli("compare", str(BEFORE), str(AFTER), "-o", str(out)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=REPO,
    )
    t0 = time.monotonic()
    while proc.poll() is None and time.monotonic() - t0 < 120:
        if delay_s is not None and time.monotonic() - t0 >= delay_s:
            break
        if delay_s is None and out.exists() and any(p.name in names for p in out.iterdir()):
            break
        time.sleep(0.002)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    return proc


@pytest.mark.parametrize("delay_s", [1.0, 1.5, 2.0, None], ids=["1.0s", "1.5s", "2.0s", "writing"])
def test_killed_compare_leaves_no_partial_file(tmp_path, delay_s):
    from mesovision.compare import output_names

    names = set(output_names())
    out = tmp_path / "out"
    proc = _kill_after(out, delay_s, names)
    present = _assert_no_partial_file(out, names)
    if delay_s is None:
        # killed while writing: some outputs exist, not all (the run needs them all)
        assert proc.returncode == -signal.SIGKILL
        assert 1 <= len(present) < len(names), present
