"""Shared fixtures: the real sample faces, their landmarks and region masks (computed once)."""

from __future__ import annotations

import functools
import json
import logging
import os
import re
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

__all__ = [
    "BROWSER_ARGS",
    "CHROMIUM",
    "browser",
    "STAGE_LINE",
    "message_lines",
    "TESTS",
    "REPO",
    "SAMPLES",
    "ALIGN_OUTPUTS",
    "require",
    "load_script",
    "bad_inputs_script",
    "run_cli",
    "readable",
    "mismatch",
]

#: This folder (``tests/``), the repository and its sample photos. Test files build their paths
#: from these, never from their own ``__file__``, so they work from any subfolder of ``tests/``.
TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
SAMPLES = REPO / "sample_images"


#: ``-n auto`` (pyproject's addopts) starts at most this many workers: each holds its own landmark
#: model, browser and session fixtures, so more than this costs memory for little gain.
MAX_WORKERS = 4


def pytest_xdist_auto_num_workers(config) -> int:
    """pytest-xdist's ``-n auto``: one worker per usable core, at most :data:`MAX_WORKERS`
    (``PYTEST_XDIST_AUTO_NUM_WORKERS`` overrides)."""
    env = os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS")
    if env:
        return int(env)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(MAX_WORKERS, cores or 1))


def pytest_configure(config) -> None:
    """Ctrl-C interrupts the test process and the commands it starts, however pytest was
    launched: a shell starts a background job (``pytest &``, many CI runners) with SIGINT
    ignored, every child would inherit that, and the tests that interrupt a command with SIGINT
    would see it finish instead."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


#: A finished stage of a long command on stderr (mesovision.commands.feedback): progress, not
#: an error or a warning.
STAGE_LINE = re.compile(r"^mesovision [a-z]+: .+ \(\d+\.\d s\)$")


def message_lines(stderr: str) -> list[str]:
    """The errors and warnings on stderr: every non-empty line but the stage lines."""
    return [ln for ln in stderr.strip().splitlines() if ln and not STAGE_LINE.match(ln)]


#: Debian's Chromium, driven by Playwright in the report and app tests, and its launch flags (no
#: sandbox as root, nothing fetched in the background).
CHROMIUM = Path("/usr/bin/chromium")
BROWSER_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


def require(ok: bool, reason: str) -> None:
    """Skip the test with ``reason`` unless ``ok``; on CI (``CI=true``) a missing browser or data
    folder is a failure instead: CI installs everything the tests need."""
    if not ok:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (CI=true: nothing may be skipped for a missing resource)")
        pytest.skip(reason)


def shared_faces() -> list:
    """``[(path, person)]`` of the single-face photos of ``../shared/faces`` (or
    ``$MESOVISION_FACES``; ``benchmarks/_faces.py``), through :func:`require` when the folder is
    absent."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    from _faces import faces_dir, labelled_faces

    folder = faces_dir()
    require(folder is not None, "../shared/faces not found (or set MESOVISION_FACES)")
    return labelled_faces(folder)


def _module_at(path, name: str):
    """The Python file at ``path`` executed as a module ``name``, registered in
    ``sys.modules`` (a dataclass of it looks its module up there)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def load_script(name: str):
    """``scripts/NAME.py`` as a module (the committed scripts that make test data)."""
    return _module_at(REPO / "scripts" / f"{name}.py", name)


@functools.cache
def load_benchmark(name: str):
    """``benchmarks/NAME.py`` as a module ``bench_NAME`` (loaded once; its ``_faces`` and other
    helpers importable)."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    return _module_at(REPO / "benchmarks" / f"{name}.py", f"bench_{name}")


@functools.cache
def bad_inputs_script():
    """``scripts/make_bad_inputs.py``: its builders of broken files (loaded once)."""
    return load_script("make_bad_inputs")


def run_cli(*args, env=None, cwd=REPO, timeout=300) -> subprocess.CompletedProcess:
    """``mesovision ARGS...`` as a user runs it: a real process, its exit code and output."""
    return subprocess.run(
        [sys.executable, "-m", "mesovision", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env=env,
    )


#: What ``mesovision align`` writes (with lighting normalization).
ALIGN_OUTPUTS = (
    "aligned_after.png",
    "checkerboard.png",
    "valid_mask.png",
    "normalized_after.png",
    "alignment.json",
)


def readable(path: Path) -> bool:
    """The file is complete: it parses as what its name says."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".json":
            json.loads(path.read_text())
        elif suffix == ".html":
            return "</html>" in path.read_text().lower()
        elif suffix == ".pdf":
            from pypdf import PdfReader

            return len(PdfReader(str(path)).pages) > 0
        elif suffix == ".sqlite":
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
                return db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        else:
            with Image.open(path) as im:
                im.load()
    except Exception:
        return False
    return True


@pytest.fixture(scope="session")
def faces() -> dict[str, np.ndarray]:
    """The two real faces at 2x (interocular distance ~86 and ~168 px)."""
    from mesovision.testing.samples import sample_faces

    return {
        k: np.clip(cv2.resize(v, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC), 0, 1)
        for k, v in sample_faces().items()
    }


@pytest.fixture(scope="session")
def face_landmarks(faces):
    from mesovision.landmarks import detect_landmarks

    return {k: detect_landmarks(v) for k, v in faces.items()}


@pytest.fixture(scope="session")
def face_regions(faces, face_landmarks):
    from mesovision.regions import region_masks

    return {k: region_masks(face_landmarks[k], v.shape, rgb=v) for k, v in faces.items()}


def mismatch(**kw):
    """A :class:`mesovision.comparability.Mismatch` of two alike photos, with ``kw`` changed."""
    from mesovision.comparability import Mismatch

    base = dict(
        delta_e00=0.3,
        n_reference_tiles=40,
        detail_ratio=1.0,
        noise_ratio=1.0,
        scoring_iod_px=150.0,
        size_ratio=1.0,
        jpeg_quality=92,
        pose_deg=1.0,
    )
    return Mismatch(**{**base, **kw})


@pytest.fixture(scope="module")
def browser():
    """A headless Chromium for one test module (a failure under CI=true when it is missing)."""
    require(CHROMIUM.exists(), "/usr/bin/chromium is missing (Debian package 'chromium')")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=BROWSER_ARGS)
        yield b
        b.close()


@pytest.fixture(autouse=True)
def _package_logger_as_found():
    """Each test leaves the ``mesovision`` logger's level and propagation as it found them: a test
    that quietens it would silence the warnings later tests on the same worker assert."""
    logger = logging.getLogger("mesovision")
    level, propagate = logger.level, logger.propagate
    yield
    logger.setLevel(level)
    logger.propagate = propagate
