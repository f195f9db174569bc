"""Run the stages of one comparison side by side on threads, each after its inputs.

OpenCV and NumPy release the GIL inside their kernels, so the two photos of a pair (decoding,
region masks, per-pixel maps) and the noise floor's re-measurements overlap well on a second
core. :func:`run_tasks` takes the stages as a task list with inputs (a small dependency graph),
so that no thread waits at a barrier between stages while work is left. The default thread count
is OpenCV's (``cv2.getNumThreads()``), which a batch worker sets to 1: a batch already runs one
pair per core.

While the stages run side by side, NumPy's BLAS (OpenBLAS) is held to one thread: its own worker
threads would otherwise spin between the small matrix products of the pixel maps and the lighting
fit, taking the very cores the stages run on (measured: about 0.4 s of CPU time per 12-MP
comparison on two cores). OpenCV's own thread pool is held to one thread too: its parallel loops
would only hand work back and forth between cores the stages already fill.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import lru_cache

__all__ = ["default_threads", "run", "run_tasks", "run_stages"]

log = logging.getLogger(__name__)


def default_threads() -> int:
    import cv2

    return max(1, cv2.getNumThreads())


def run(threads: int | None, *fns: Callable):
    """Call each of ``fns`` (no arguments) and return their results in order, on up to
    ``threads`` threads (default :func:`default_threads`). An exception is raised as the
    sequential calls would raise it: the first failing function's, in order."""
    return run_tasks(threads, [(f, ()) for f in fns])


def run_tasks(threads: int | None, tasks: list[tuple[Callable, tuple[int, ...]]]) -> list:
    """Run ``tasks``, each ``(fn, deps)``: ``fn`` is called with the results of the tasks at the
    indices ``deps`` (all earlier in the list), on up to ``threads`` threads (default
    :func:`default_threads`). Returns the results in order; an exception is raised as the
    sequential calls would raise it (a task whose input failed fails with the same error).

    Tasks start in list order, so a task waits only for tasks that have already started: no
    deadlock whatever the thread count. Put long tasks early and short ones last.

    Each task's start and end (ms from the call) and CPU time are logged at DEBUG level on this
    module's logger, with the function's name (``benchmarks/bench_compare.py`` reads them).
    """
    for i, (_, deps) in enumerate(tasks):
        if any(not 0 <= d < i for d in deps):
            raise ValueError(f"task {i} depends on {deps}: only earlier tasks can be inputs")
    n = default_threads() if threads is None else threads
    t_run = time.perf_counter()

    def timed(fn, args):
        t0, c0 = time.perf_counter(), time.thread_time()
        out = fn(*args)
        t1 = time.perf_counter()
        log.debug(
            "task %s: %.1f-%.1f ms, CPU %.1f ms",
            getattr(fn, "__name__", "task"),
            1000 * (t0 - t_run),
            1000 * (t1 - t_run),
            1000 * (time.thread_time() - c0),
        )
        return out

    if n <= 1 or len(tasks) <= 1:
        results: list = []
        for fn, deps in tasks:
            results.append(timed(fn, [results[d] for d in deps]))
        return results
    futures: list = []

    def call(fn, deps):
        return timed(fn, [futures[d].result() for d in deps])

    with (
        _controller(len(sys.modules)).limit(limits=1, user_api="blas"),
        _opencv_single_threaded(),
        ThreadPoolExecutor(min(n, len(tasks))) as ex,
    ):
        for fn, deps in tasks:
            futures.append(ex.submit(call, fn, deps))
        return [f.result() for f in futures]


def run_stages(
    threads: int | None, stages: dict[str, tuple[Callable, tuple[str, ...]]]
) -> dict[str, object]:
    """:func:`run_tasks` with named stages: ``{name: (fn, input names)}``, each stage's inputs
    named earlier in the dict (which is the start order). Returns ``{name: result}``."""
    names = list(stages)
    index = {n: i for i, n in enumerate(names)}
    tasks = []
    for i, (name, (fn, deps)) in enumerate(stages.items()):
        bad = [d for d in deps if index.get(d, i) >= i]
        if bad:
            raise ValueError(f"stage {name!r} needs {bad}: only earlier stages can be inputs")
        tasks.append((fn, tuple(index[d] for d in deps)))
    return dict(zip(names, run_tasks(threads, tasks), strict=True))


@contextmanager
def _opencv_single_threaded():
    """OpenCV's own thread pool held to one thread (restored after): the tasks already keep
    the cores busy, and its parallel loops would only add hand-over costs between them."""
    import cv2

    before = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        yield
    finally:
        cv2.setNumThreads(before)


@lru_cache(maxsize=1)
def _controller(n_modules: int):
    """The thread pools of the loaded libraries, found again when a module was imported since
    (``n_modules``, the size of ``sys.modules``): a BLAS loaded later is held too."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()
