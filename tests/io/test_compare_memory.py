"""A ``--max-side`` too large for the machine: a comparison whose estimated memory (200 bytes a
working pixel of one photo, plus 0.5 GB; measured on an 8900 x 6700 photo from 1.05 GB at
2048 px to 11.5 GB at full size) exceeds the memory available is refused with exit 2 and one
line that gives the estimate, before the face mesh runs; the available memory is the system's
(``/proc/meminfo``), here replaced to make the machine small."""

from __future__ import annotations

import pytest
from conftest import SAMPLES

from mesovision import compare
from mesovision.errors import UsageError
from mesovision.io import limits
from mesovision.io.limits import COMPARE_BASE_BYTES, COMPARE_BYTES_PER_PX, available_memory

PHOTO = str(SAMPLES / "astronaut" / "before.jpg")  # 1024 x 1024 px
AFTER = str(SAMPLES / "astronaut" / "after_no_change.jpg")


def test_the_estimate_is_the_measured_one():
    # 8900 x 6700 at --max-side 6000 (6000 x 4517 px): 5.75 GB measured, 5.92 estimated
    need = COMPARE_BASE_BYTES + COMPARE_BYTES_PER_PX * 6000 * 4517
    assert 5.75e9 < need < 5.75e9 * 1.1
    need = COMPARE_BASE_BYTES + COMPARE_BYTES_PER_PX * 2048 * 1542
    assert 1.05e9 < need < 1.05e9 * 1.1


def test_the_available_memory_is_read_from_the_system():
    avail = available_memory()
    with open("/proc/meminfo", encoding="ascii") as f:
        total = next(int(line.split()[1]) * 1024 for line in f if line.startswith("MemTotal:"))
    assert avail is not None and 0 < avail <= total


def test_a_comparison_too_large_for_the_memory_is_refused(monkeypatch):
    need = COMPARE_BASE_BYTES + COMPARE_BYTES_PER_PX * 1024 * 1024  # 0.71 GB
    monkeypatch.setattr(limits, "available_memory", lambda: need - 1)
    with pytest.raises(UsageError) as info:
        compare(PHOTO, AFTER, max_side=100000)
    assert info.value.exit_code == 2
    assert str(info.value) == (
        f"{PHOTO}: comparing at --max-side 100000 (working copy 1024 x 1024 px) needs about "
        "0.7 GB of memory, 0.7 GB available: lower --max-side (2048, the default, needs about "
        "0.7 GB)"
    )
    # at 512 px it fits
    monkeypatch.setattr(limits, "available_memory", lambda: need - 1)
    result = compare(PHOTO, AFTER, max_side=512)
    assert result.pair.before.size == (512, 512)


def test_the_command_line_refuses_with_exit_2_and_no_output(tmp_path):
    """``mesovision compare --max-side 100000`` on a machine with 0.6 GB available (the
    function that reads the system's memory replaced in the process): one line, exit 2,
    nothing written."""
    import subprocess
    import sys

    from conftest import REPO, message_lines

    code = (
        "import sys; import mesovision.io.limits as L; L.available_memory = lambda: 600_000_000; "
        "from mesovision.cli import main; sys.exit(main(sys.argv[1:]))"
    )
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-c", code, "compare", PHOTO, AFTER, "-o", out, "--max-side", "100000"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
    )
    assert proc.returncode == 2, proc.stderr
    [line] = message_lines(proc.stderr)
    assert line == (
        f"mesovision: error: {PHOTO}: comparing at --max-side 100000 (working copy 1024 x 1024 "
        "px) needs about 0.7 GB of memory, 0.6 GB available: lower --max-side (2048, the "
        "default, needs about 0.7 GB)"
    )
    assert not out.exists()
