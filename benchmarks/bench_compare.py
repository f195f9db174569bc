"""The whole comparison (align, normalize, score, compare; no report rendering) for a pair of
12-MP JPEGs, per stage, against the bare decode of the same two files in the same run.
Independent stages run on OpenCV's thread count (the machine's cores); medians of the runs,
the ratio of the best runs (the least disturbed by other load on a shared machine) and each
run's whole over its own decode (paired: a change of the host's load between runs cancels). The
comparison's own stages (the tasks of ``mesovision._threads.run_tasks``, read from its debug log)
are listed with their median start, end and CPU time, the time their thread waited for a core
(``runqueue``: what other load on the machine took; Linux) and the rest of their wall time
(``slept``: waiting for the GIL or a lock), and the thread time they leave idle.

The process's CPU time (all threads, user and system) of each part and its ratio to the decode's
change much less with the host's load than wall times do: on a busy shared machine they compare
two versions of the code better. The comparison's minor page faults (fresh memory touched) are
counted too.

Run: python benchmarks/bench_compare.py [--repeat N]     (target: whole < 5x bare decode)
"""

from __future__ import annotations

import argparse
import logging
import re
import resource
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from _photos import twelve_mp_pair
from bench_align import bare_decode

from mesovision._threads import default_threads
from mesovision.compare import compare_pair
from mesovision.pipeline import align_pair


class _Tasks(logging.Handler):
    """Collects the ``run_tasks`` debug records of one comparison: name -> (start, end, CPU,
    runqueue); the runqueue is NaN where it is not logged."""

    PATTERN = re.compile(
        r"task (\w+): ([\d.]+)-([\d.]+) ms, CPU ([\d.]+) ms(?:, runqueue ([\d.]+|nan) ms)?"
    )

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.runs: list[dict[str, tuple[float, float, float, float]]] = []
        self.active = False  # only the comparison's graph: the alignment has its own tasks

    def emit(self, record: logging.LogRecord) -> None:
        m = self.PATTERN.fullmatch(record.getMessage())
        if m and self.runs and self.active:
            self.runs[-1][m[1]] = tuple(float(v or "nan") for v in m.groups()[1:])


def _measured(rows: list, f, *args):
    """``f(*args)``, with ``(wall s, process CPU s, minor page faults)`` appended to ``rows``."""
    f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    t, c = time.perf_counter(), time.process_time()
    out = f(*args)
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    rows.append((wall, cpu, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0))
    return out


def _runs(before: Path, after: Path, repeat: int, tasks: _Tasks) -> dict[str, list]:
    """``repeat`` runs of decode, alignment and comparison: ``{part: [(wall, cpu, faults)]}``."""
    rows: dict[str, list] = {"decode": [], "align": [], "compare": []}
    for _ in range(repeat):
        _measured(rows["decode"], bare_decode, (before, after))
        pair = _measured(rows["align"], align_pair, str(before), str(after))
        tasks.runs.append({})
        tasks.active = True
        _measured(rows["compare"], compare_pair, pair)
        tasks.active = False
    return rows


def _summary(rows: dict[str, list]) -> None:
    wall = {k: [r[0] for r in v] for k, v in rows.items()}
    ms = {k: 1000 * statistics.median(v) for k, v in wall.items()}
    best = {k: 1000 * min(v) for k, v in wall.items()}
    whole = ms["align"] + ms["compare"]
    print(f"bare decode of two 12-MP JPEGs        : {ms['decode']:7.1f} ms")
    print(f"load + landmarks + align              : {ms['align']:7.1f} ms")
    print(f"normalize + score + noise floor       : {ms['compare']:7.1f} ms")
    print(f"whole comparison                      : {whole:7.1f} ms")
    print(f"ratio whole / decode                  : {whole / ms['decode']:7.2f} x (target < 5)")
    best_ratio = (best["align"] + best["compare"]) / best["decode"]
    print(f"ratio of the best runs                : {best_ratio:7.2f} x")
    per_run = sorted(
        (a + c) / d for d, a, c in zip(wall["decode"], wall["align"], wall["compare"], strict=True)
    )
    print(f"ratio per run (median, min-max)       : {statistics.median(per_run):7.2f} x "
          f"({per_run[0]:.2f}-{per_run[-1]:.2f})")  # fmt: skip
    cpu = {k: 1000 * statistics.median(r[1] for r in v) for k, v in rows.items()}
    print(f"CPU time: decode, align, compare      : {cpu['decode']:.0f}, {cpu['align']:.0f}, "
          f"{cpu['compare']:.0f} ms (all threads)")  # fmt: skip
    print(f"CPU ratio (align + compare) / decode  : "
          f"{(cpu['align'] + cpu['compare']) / cpu['decode']:7.2f} x")  # fmt: skip
    faults = statistics.median(r[2] for r in rows["compare"])
    print(f"minor page faults of a comparison     : {faults:7.0f}")
    print(f"threads (OpenCV's count)              : {default_threads():7d}")


def _stages(tasks: _Tasks) -> None:
    print()
    print("stages of the comparison (median ms from its task graph's start)")
    print(f"{'task':<22} {'start':>7} {'end':>7} {'wall':>7} {'CPU':>7} {'runq':>7} {'slept':>7}")
    per: dict[str, list[tuple[float, float, float, float]]] = defaultdict(list)
    for run in tasks.runs:
        for name, v in run.items():
            per[name].append(v)
    for name, vs in sorted(per.items(), key=lambda kv: statistics.median(v[0] for v in kv[1])):
        start, end, cpu, rq = (statistics.median(v[k] for v in vs) for k in range(4))
        slept = statistics.median(v[1] - v[0] - v[2] - v[3] for v in vs)
        print(f"{name:<22} {start:7.0f} {end:7.0f} {end - start:7.0f} {cpu:7.0f} {rq:7.0f} "
              f"{slept:7.0f}")  # fmt: skip
    spans = [max(v[1] for v in run.values()) for run in tasks.runs if run]
    busy = [sum(v[1] - v[0] for v in run.values()) for run in tasks.runs if run]
    n = default_threads()
    idle = statistics.median(n * s - b for s, b in zip(spans, busy, strict=True))
    print(f"task graph {statistics.median(spans):.0f} ms on {n} threads; idle thread time "
          f"{idle:.0f} ms")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        before, after = twelve_mp_pair(Path(d))
        compare_pair(align_pair(str(before), str(after)))  # warm-up
        tasks = _Tasks()
        task_log = logging.getLogger("mesovision._threads")
        task_log.addHandler(tasks)
        task_log.setLevel(logging.DEBUG)
        rows = _runs(before, after, args.repeat, tasks)
    _summary(rows)
    _stages(tasks)


if __name__ == "__main__":
    main()
