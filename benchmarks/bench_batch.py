"""Batch throughput: pairs per second at 1 and 2 local workers, the scaling ratio, and the peak
memory (RSS high-water mark, ``VmHWM``) of each worker process.

A generated trial (:func:`mesovision.testing.trial.make_trial`, seeded; 512-px photos) with at least
``--pairs`` baseline comparisons is run into a fresh output folder per worker count, so nothing
comes from the cache. The wall time includes starting the pool (``spawn``, MediaPipe loaded once
per worker) and writing the tables.

Run: python benchmarks/bench_batch.py [--pairs 200] [--workers 1,2] [--side 512]
(target: scaling ratio >= 1.7 on 2 idle cores)
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
import time
from pathlib import Path

from mesovision.batch import run_batch
from mesovision.testing.trial import make_trial


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", type=int, default=200, help="at least this many comparisons")
    ap.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    ap.add_argument("--side", type=int, default=512, help="long side of the photos (px)")
    args = ap.parse_args()
    workers = [int(w) for w in args.workers.split(",")]
    timepoints = (0, 4, 8, 12, 16)
    n_subjects = math.ceil(args.pairs / (len(timepoints) - 1))
    with tempfile.TemporaryDirectory() as d:
        t = time.perf_counter()
        trial = make_trial(
            Path(d) / "trial",
            n_subjects=n_subjects,
            timepoints=timepoints,
            repeat_timepoints=(),
            long_side_px=args.side,
        )
        print(
            f"trial: {trial.n_photos} photos ({args.side} px), "
            f"{n_subjects * (len(timepoints) - 1)} pairs, made in {time.perf_counter() - t:.1f} s"
        )
        print(f"CPUs available: {len(os.sched_getaffinity(0))}, load average {os.getloadavg()}")
        rows = []
        for w in workers:
            t = time.perf_counter()
            s = run_batch(trial.manifest, Path(d) / f"out{w}", jobs=w)
            wall = time.perf_counter() - t
            # A pair the pipeline refuses (e.g. an alignment residual over its limit: 2 of the
            # 200 generated pairs) has done its work too; the same pairs fail whatever the
            # worker count.
            assert s.n_cached == 0, "a fresh output folder must not hit the cache"
            failed = sorted((f["subject"], f["timepoint"]) for f in s.failures)
            assert not rows or failed == rows[0][5], (failed, rows[0][5])
            n = s.n_computed + s.n_failed
            rss = sorted(s.worker_peak_rss_mb.values())
            rows.append((w, n, wall, n / wall, rss, failed))
    print()
    print(f"{'workers':>7} {'pairs':>6} {'wall s':>8} {'pairs/s':>8} {'scaling':>8}  "
          "peak RSS per worker process (MB)")  # fmt: skip
    base = rows[0][3]
    for w, n, wall, rate, rss, _ in rows:
        print(
            f"{w:>7} {n:>6} {wall:>8.1f} {rate:>8.3f} {rate / base:>8.2f}  "
            + ", ".join(f"{m:.0f}" for m in rss)
        )
    print(f"refused pairs (counted as done): {len(rows[0][5])} {rows[0][5]}")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
