"""Ctrl-C during a batch with several workers, and the memory check of ``-j N``.

Ctrl-C (SIGINT to the process group, as a terminal sends it) ends the batch with exit 130 at
once, SIGTERM (``kill``, a job scheduler's time limit) alike with exit 143: the workers are
terminated, not waited for; the comparisons that had finished are in the cache, whole, and a
re-run takes them from there; no table is written. ``-j N`` runs at most as many comparisons at
once as the machine's available memory holds for the largest photos.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from mesovision.batch.cache import load_cache_entry

TABLES = ("results.csv", "results.parquet", "status.csv", "measurement_error.csv", "summary.json")


@pytest.fixture(scope="module")
def trial(tmp_path_factory):
    from mesovision.testing.trial import make_trial

    d = tmp_path_factory.mktemp("trial")
    return make_trial(
        d, n_subjects=4, timepoints=(0, 6, 12), repeat_timepoints=(), long_side_px=640
    )


def _session_members(session_id: int) -> list[int]:
    """Live processes (not zombies) of the session the test started."""
    live = []
    for st in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            text = st.read_text()
            fields = text[text.rindex(")") + 2 :].split()
            if int(fields[3]) == session_id and fields[0] != "Z":
                live.append(int(st.parent.name))
    return live


def _batch(manifest: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "mesovision", "batch", str(manifest), "-o", str(out)] + [
        "-j",
        "2",
        "--max-side",
        "512",
        *extra,
    ]


#: Loaded by the batch and its spawned workers (``sitecustomize`` on ``PYTHONPATH``): every
#: comparison but those of subject S01 (the first two) stays busy for a minute after its result,
#: like a comparison of full-resolution photos, so that Ctrl-C meets two comparisons in progress.
SLOW_HOOK = """
import time
import mesovision.batch.worker as w
_compare = w._compare
def _slow(task):
    record = _compare(task)
    if "S01" not in str(task["before"]):
        time.sleep(60)
    return record
w._compare = _slow
"""


@pytest.mark.slow
@pytest.mark.parametrize(
    ("signum", "code", "line"),
    [
        (signal.SIGINT, 130, "mesovision: interrupted"),  # Ctrl-C in a terminal
        (signal.SIGTERM, 143, "mesovision: terminated (SIGTERM)"),  # kill, a scheduler's limit
    ],
    ids=["ctrl-c", "sigterm"],
)
def test_ctrl_c_stops_the_workers_at_once_and_a_rerun_resumes_from_the_cache(
    trial, tmp_path, signum, code, line
):
    out = tmp_path / "out"
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(SLOW_HOOK)
    path = os.pathsep.join([str(hook), *filter(None, [os.environ.get("PYTHONPATH")])])
    proc = subprocess.Popen(
        _batch(trial.manifest, out),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": path},
        start_new_session=True,  # its own process group: SIGINT to all of it, as Ctrl-C does
    )
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and len(list(out.glob("cache/*.json"))) < 2:
            assert proc.poll() is None, proc.stderr.read()
            time.sleep(0.05)
        time.sleep(1.0)  # both workers are in a slow comparison now
        os.killpg(proc.pid, signum)
        t_int = time.monotonic()
        _, err = proc.communicate(timeout=90)
        after_int = time.monotonic() - t_int
        # no worker outlives the batch (the spawn resource tracker may take a moment to see EOF)
        deadline = time.monotonic() + 1.0
        while _session_members(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _session_members(proc.pid) == []
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == code, err
    assert err.strip().splitlines()[-1] == line, err
    assert "Traceback" not in err, err
    assert "leaked" not in err, err  # the pool shut down, not the process killed mid-run
    # the batch did not wait for the comparisons in progress (a minute each)
    assert after_int < 10, after_int
    # the two finished comparisons are cached, whole; no temporary file, no table
    keys = [p.stem for p in out.glob("cache/*.json")]
    assert len(keys) == 2
    for k in keys:
        e = load_cache_entry(out, k)
        assert e is not None and e["status"] == "ok", k
        assert "S01" in e["task"]["before"]
    assert not list(out.glob("cache/.*.tmp"))
    left = sorted(p.name for p in out.iterdir())
    assert left == [".mesovision-outputs.json", "cache"], left  # the folder's claim, the cache
    # a re-run (without the slow hook) computes only the rest
    p = subprocess.run(_batch(trial.manifest, out), capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["n_cached"], summary["n_computed"]) == (2, 6)
    for name in TABLES:
        assert (out / name).is_file()


# --------------------------------------------------------------------------------------------
# -j N and the memory: N comparisons of the largest photos at once must fit
# --------------------------------------------------------------------------------------------


class _Started(Exception):
    """Raised by the fake executor: the pool was made, nothing is computed."""


def _pool_jobs(trial, tmp_path, monkeypatch, caplog, avail, jobs=4) -> int:
    """The worker count ``run_batch(jobs=jobs)`` starts its local pool with, when the machine
    says ``avail`` bytes of memory are available."""
    import mesovision.batch.run as run_mod
    import mesovision.io.limits as limits
    from mesovision.batch import run_batch
    from mesovision.batch.plan import BatchSettings

    monkeypatch.setattr(limits, "available_memory", lambda: avail)
    seen = {}

    def fake_execute(pool, tasks, on_done):
        seen["jobs"] = pool.jobs
        raise _Started

    monkeypatch.setattr(run_mod, "execute", fake_execute)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="mesovision"), pytest.raises(_Started):
        run_batch(trial.manifest, tmp_path / "o", jobs=jobs, settings=BatchSettings(max_side=512))
    return seen["jobs"]


def test_jobs_are_lowered_to_what_the_available_memory_holds(trial, tmp_path, monkeypatch, caplog):
    from mesovision.io.limits import compare_memory_need

    sizes = []
    for photo in (trial.manifest.parent / "photos").glob("*.jpg"):
        with Image.open(photo) as im:
            w, h = im.size
        s = min(1.0, 512 / max(w, h))
        sizes.append((round(w * s), round(h * s)))
    working = max(sizes, key=lambda wh: wh[0] * wh[1])  # the largest working copy
    need = compare_memory_need(working)
    assert need == 500_000_000 + 200 * working[0] * working[1]
    # 2.5 comparisons' worth: 2 at once, said in one line
    assert _pool_jobs(trial, tmp_path, monkeypatch, caplog, int(2.5 * need)) == 2
    (msg,) = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert msg.startswith("running 2 comparisons at once, not 4: ")
    assert f"working copy {working[0]} x {working[1]} px" in msg
    assert f"about {need / 1e9:.1f} GB of memory, {2.5 * need / 1e9:.1f} GB available" in msg
    # less than one: 1 (each comparison's own check refuses what does not fit)
    assert _pool_jobs(trial, tmp_path, monkeypatch, caplog, need // 2) == 1
    assert "running 1 comparison at once, not 4" in caplog.text
    # enough for all, or no figure from the system: -j as given, no warning
    for avail in (4 * need, None):
        assert _pool_jobs(trial, tmp_path, monkeypatch, caplog, avail) == 4
        assert not [r for r in caplog.records if r.levelno == logging.WARNING]


def test_the_largest_photo_sets_the_memory_of_each_comparison(tmp_path, monkeypatch, caplog):
    import mesovision.io.limits as limits
    from mesovision.batch.executors import jobs_that_fit

    small, big = tmp_path / "small.png", tmp_path / "big.png"
    Image.new("RGB", (300, 200)).save(small)
    Image.new("RGB", (4000, 3000)).save(big)  # 2048 x 1536 at --max-side 2048
    settings = {"max_side": 2048}
    tasks = [
        {"before": str(small), "after": str(small), "settings": settings},
        {"before": str(small), "after": str(big), "settings": settings},
        {"before": str(tmp_path / "gone.png"), "after": str(small), "settings": settings},
    ]
    need = 500_000_000 + 200 * 2048 * 1536
    monkeypatch.setattr(limits, "available_memory", lambda: 3 * need - 1)
    assert jobs_that_fit(8, tasks) == 2
    # 300 x 200 px only: 0.512 GB a comparison, 6 of them in 3.4 GB
    assert jobs_that_fit(8, tasks[:1]) == (3 * need - 1) // (500_000_000 + 200 * 300 * 200) == 6
    assert jobs_that_fit(1, tasks) == 1
