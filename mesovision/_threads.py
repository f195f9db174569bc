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

``threads=1`` runs the stages in order on the calling thread, with the same two limits: OpenCV
splits some kernels' work over its pool, and their values then depend on the pool's size in the
last bits (measured with OpenCV 5.1: ``cv2.warpAffine``, ``cv2.warpPerspective`` and
``cv2.mean``): the stages see one pool size whatever the thread count, so that the result does
not depend on it.

Both limits are process-wide (``cv2.setNumThreads`` and threadpoolctl act on the whole process):
while stages run, other threads of the process that use OpenCV or BLAS run them on one thread
too. They are set when the first of the process's concurrent runs starts and restored, to the
values found then, when the last one ends (:func:`one_thread_each`), so that overlapping runs
(two comparisons on two threads) leave the process's settings as they found them.

Each task runs in the caller's :mod:`contextvars` context (a copy of it), as a call on the
caller's thread would.
"""

from __future__ import annotations

import contextvars
import logging
import math
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import lru_cache

__all__ = [
    "default_threads",
    "one_thread_each",
    "run",
    "run_tasks",
    "run_stages",
    "runqueue_ms",
    "set_default_threads",
]

log = logging.getLogger(__name__)


#: The thread count of the runs given none, when set (the command line's ``--threads``,
#: :func:`set_default_threads`); ``None``: OpenCV's.
_default: int | None = None


def default_threads() -> int:
    """The thread count of a run given none: the one set by :func:`set_default_threads`, else
    OpenCV's (``cv2.getNumThreads()``)."""
    if _default is not None:
        return _default
    import cv2

    return max(1, cv2.getNumThreads())


def set_default_threads(threads: int | None) -> int | None:
    """Set the thread count of the process's runs given none (``None``: OpenCV's again);
    returns the one set before."""
    global _default
    before, _default = _default, threads
    return before


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

    Each task's start and end (ms from the call), CPU time and the time its thread waited,
    runnable, for a core (:func:`runqueue_ms`: what other load took from it) are logged at DEBUG
    level on this module's logger, with the function's name (``benchmarks/bench_compare.py``
    reads them); the rest of a task's wall time its thread slept (the GIL, a lock).
    """
    for i, (_, deps) in enumerate(tasks):
        if any(not 0 <= d < i for d in deps):
            raise ValueError(f"task {i} depends on {deps}: only earlier tasks can be inputs")
    n = default_threads() if threads is None else threads
    t_run = time.perf_counter()

    def timed(fn, args):
        debug = log.isEnabledFor(logging.DEBUG)
        # (the runqueue read inside the wall clock's: a wait for a core while reading it is
        # within the task's wall time, so that CPU + runqueue never exceed it)
        t0, c0 = time.perf_counter(), time.thread_time()
        q0 = runqueue_ms() if debug else 0.0
        out = fn(*args)
        q1 = runqueue_ms() if debug else 0.0
        c1, t1 = time.thread_time(), time.perf_counter()
        if debug:
            log.debug(
                "task %s: %.1f-%.1f ms, CPU %.1f ms, runqueue %.1f ms",
                getattr(fn, "__name__", "task"),
                1000 * (t0 - t_run),
                1000 * (t1 - t_run),
                1000 * (c1 - c0),
                q1 - q0,
            )
        return out

    if n <= 1 or len(tasks) <= 1:
        results: list = []
        with one_thread_each():
            for fn, deps in tasks:
                results.append(timed(fn, [results[d] for d in deps]))
        return results
    futures: list = []

    def call(fn, deps):
        return timed(fn, [futures[d].result() for d in deps])

    with one_thread_each(), ThreadPoolExecutor(min(n, len(tasks))) as ex:
        for fn, deps in tasks:
            futures.append(ex.submit(contextvars.copy_context().run, call, fn, deps))
        return [f.result() for f in futures]


def runqueue_ms() -> float:
    """Milliseconds the calling thread has spent runnable but waiting for a core (Linux's
    ``/proc/thread-self/schedstat``, its second number): the time other load on the machine
    took from it; NaN where the kernel does not give it."""
    try:
        with open("/proc/thread-self/schedstat", "rb") as f:
            return int(f.read().split()[1]) / 1e6
    except (OSError, ValueError, IndexError):
        return math.nan


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


class _Held:
    """The process's runs holding OpenCV and BLAS to one thread, and what the last restores."""

    lock = threading.Lock()
    runs = 0
    opencv: int = 0  # cv2.getNumThreads() when the first run started
    blas = None  # threadpoolctl's limiter, which restores the BLAS threads


@contextmanager
def one_thread_each():
    """OpenCV's thread pool and BLAS held to one thread while the tasks (a ``with`` block, a
    decorated function) run: the tasks already keep the cores busy, their own parallel loops
    would only add hand-over costs, and OpenCV's results would depend on its pool's size (module
    docstring). Counted over the process's overlapping runs: the first saves and sets, the last
    restores."""
    import cv2

    with _Held.lock:
        if _Held.runs == 0:
            _Held.opencv = cv2.getNumThreads()
            _Held.blas = _controller(len(sys.modules)).limit(limits=1, user_api="blas")
            cv2.setNumThreads(1)
        _Held.runs += 1
    try:
        yield
    finally:
        with _Held.lock:
            _Held.runs -= 1
            if _Held.runs == 0:
                cv2.setNumThreads(_Held.opencv)
                _Held.blas.restore_original_limits()
                _Held.blas = None


@lru_cache(maxsize=1)
def _controller(n_modules: int):
    """The thread pools of the loaded libraries, found again when a module was imported since
    (``n_modules``, the size of ``sys.modules``): a BLAS loaded later is held too."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()
