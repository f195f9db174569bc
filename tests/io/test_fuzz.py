"""A short coverage-guided fuzzing run of load_photo (tests/io/fuzz_load.py, atheris) in the suite.

Longer runs on demand: ``python tests/io/fuzz_load.py -max_total_time=600``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


@pytest.mark.slow
def test_fuzz_load_photo_briefly(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            str(HERE / "fuzz_load.py"),
            "-atheris_runs=2000",
            "-max_total_time=20",
            "-seed=1",
            f"-artifact_prefix={tmp_path}/",
        ],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=tmp_path,
    )
    crashes = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("crash-"))
    tail = "\n".join(proc.stderr.splitlines()[-25:])
    assert proc.returncode == 0 and crashes == [], f"{crashes}\n{tail}"
    # it really fuzzed: libFuzzer reports the runs it did ("Done N runs" or "Done N in")
    assert "Done " in proc.stderr, tail
    assert "seed corpus: files:" in proc.stderr  # the seeds were loaded
