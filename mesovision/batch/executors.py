"""Where a batch's comparisons run: a local process pool or a dask cluster.

A pool object has ``make()`` (a :class:`concurrent.futures.Executor`), ``in_flight`` (the most
items submitted at once) and ``close()``. :class:`LocalPool` starts ``spawn`` worker processes,
one thread each, replaced after :data:`MAX_TASKS_PER_CHILD` items (bounds MediaPipe's memory
growth); :class:`DaskPool` submits to a dask.distributed scheduler (an optional dependency, only
imported for ``executor="dask"``). :func:`execute` keeps the pool fed and hands every finished
entry to a callback; a worker that dies fails only the items in flight, and the local pool is
started anew. On Ctrl-C the finished entries are handed on and the pool is stopped at once: the
local workers are terminated, not waited for (``stop()``). :func:`jobs_that_fit` lowers a local
pool's size to the comparisons of the largest photos that the available memory holds at once.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import logging
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass

from .._version import __version__
from ..errors import UsageError
from .plan import CACHE_FORMAT
from .worker import init_worker, run_item

__all__ = [
    "MAX_TASKS_PER_CHILD",
    "DaskPool",
    "LocalPool",
    "Progress",
    "crash_entry",
    "default_jobs",
    "execute",
    "jobs_that_fit",
]

log = logging.getLogger(__name__)

#: Local workers are replaced after this many items (bounds MediaPipe's memory growth).
MAX_TASKS_PER_CHILD = 100

#: Seconds a terminated local worker has to exit before it is killed (Ctrl-C).
STOP_WAIT_S = 5.0


@dataclass(frozen=True)
class Progress:
    """Where a run is: ``done`` of ``total`` unique comparisons (``cached`` of them from the
    cache at the start), ``failed`` so far, ``elapsed_s`` since execution began."""

    done: int
    total: int
    cached: int
    failed: int
    elapsed_s: float


def default_jobs() -> int:
    """Local workers by default: the CPUs this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def jobs_that_fit(jobs: int, tasks: list[dict]) -> int:
    """At most ``jobs``: as many comparisons at once as the machine's available memory holds
    when each is of the largest photos of ``tasks`` (the estimate of
    :func:`~mesovision.io.limits.check_compare_memory`, from the photos' headers), at least 1.
    Fewer than ``jobs`` is said in a one-line warning."""
    from ..io import limits

    if jobs <= 1:
        return jobs
    sizes = {}
    for t in tasks:
        for side in ("before", "after"):
            key = (t[side], t["settings"]["max_side"])
            if key not in sizes:
                sizes[key] = limits.header_size(*key)
    known = [s for s in sizes.values() if s is not None]
    avail = limits.available_memory()
    if not known or avail is None:
        return jobs
    largest = max(known, key=lambda s: s[0] * s[1])
    need = limits.compare_memory_need(largest)
    fit = max(1, min(jobs, avail // need))
    if fit < jobs:
        log.warning(
            "running %d comparison%s at once, not %d: one of the largest photos (working copy "
            "%d x %d px) needs about %.1f GB of memory, %.1f GB available",
            fit, "s" if fit > 1 else "", jobs, *largest, need / 1e9, avail / 1e9,
        )  # fmt: skip
    return fit


class LocalPool:
    """``jobs`` local worker processes (``spawn``), ``2 * jobs`` items in flight."""

    def __init__(self, jobs: int):
        self.jobs = jobs
        self.in_flight = 2 * jobs

    def make(self) -> cf.Executor:
        import multiprocessing as mp

        kw = {"max_tasks_per_child": MAX_TASKS_PER_CHILD} if sys.version_info >= (3, 11) else {}
        return cf.ProcessPoolExecutor(
            max_workers=self.jobs,
            mp_context=mp.get_context("spawn"),
            initializer=init_worker,
            initargs=(os.getpid(),),
            **kw,
        )

    def close(self) -> None:
        pass

    def stop(self, ex: cf.Executor) -> None:
        """End ``ex`` at once (Ctrl-C): drop the queued items and terminate the worker processes
        in the middle of their comparisons (SIGTERM, SIGKILL after :data:`STOP_WAIT_S`)."""
        procs = list((getattr(ex, "_processes", None) or {}).values())
        ex.shutdown(wait=False, cancel_futures=True)
        for p in procs:
            with contextlib.suppress(ProcessLookupError, ValueError):
                p.terminate()
        for p in procs:
            with contextlib.suppress(ValueError):
                p.join(STOP_WAIT_S)
                if p.is_alive():
                    p.kill()
                    p.join()


class DaskPool:
    """A client of the dask scheduler at ``scheduler``; ``2 * jobs`` items in flight (default
    twice the cluster's threads). Raises :class:`~mesovision.errors.UsageError` when the address
    is missing, dask.distributed is not installed or the scheduler cannot be reached."""

    def __init__(self, scheduler: str | None, jobs: int | None):
        if not scheduler:
            raise UsageError("--executor dask needs --scheduler ADDRESS (e.g. tcp://host:8786)")
        try:
            from distributed import Client
        except ImportError:
            raise UsageError(
                "--executor dask needs the optional dependency dask.distributed: "
                "pip install 'mesovision[cluster]'"
            ) from None
        try:
            self.client = Client(scheduler, timeout="20s", set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise UsageError(f"cannot reach the dask scheduler at {scheduler}: {exc}") from None
        threads = sum(self.client.nthreads().values()) or 1
        self.in_flight = 2 * (jobs or threads)

    def make(self) -> cf.Executor:
        return self.client.get_executor(pure=False)

    def close(self) -> None:
        self.client.close()

    def stop(self, ex: cf.Executor) -> None:
        """Drop the items not yet finished (Ctrl-C); the client's closing cancels the rest."""
        ex.shutdown(wait=False, cancel_futures=True)


#: Why a local worker process dies before it returns: the message of its items.
BROKEN_POOL_HINT = (
    "the worker process died (killed, e.g. out of memory; or, when a Python script calls "
    'run_batch, the call is not under `if __name__ == "__main__":`, which the worker '
    "processes need: they import the script)"
)


def crash_entry(task: dict, exc: BaseException) -> dict:
    """The (never cached) entry of a task whose worker failed: died, or lost its connection."""
    from concurrent.futures.process import BrokenProcessPool

    why = BROKEN_POOL_HINT if isinstance(exc, BrokenProcessPool) else str(exc)
    return {
        "cache_format": CACHE_FORMAT,
        "key": task["key"],
        "mesovision": __version__,
        "task": task,
        "status": "failed",
        "error_type": type(exc).__name__,
        "message": f"worker failed: {why}".strip(),
        "exit_code": 1,
        "cacheable": False,
        "record": None,
        "seconds": float("nan"),
        "log": [],
    }


def execute(pool, tasks: list[dict], on_done: Callable[[dict, dict], None]) -> None:
    """Run ``tasks`` on ``pool`` with at most ``pool.in_flight`` submitted at once; a broken
    local pool (a worker killed) fails the items in flight and is replaced.

    On Ctrl-C the pool is stopped at once (:meth:`LocalPool.stop`: the workers are terminated,
    their comparisons in progress lost), the items that had finished before are handed to
    ``on_done`` (so they are cached) and the ``KeyboardInterrupt`` goes on; any other exception
    stops the pool the same way and goes on.
    """
    from concurrent.futures.process import BrokenProcessPool

    pending = list(reversed(tasks))
    ex = pool.make()
    in_flight: dict[cf.Future, dict] = {}
    try:
        while pending or in_flight:
            while pending and len(in_flight) < pool.in_flight:
                t = pending.pop()
                in_flight[ex.submit(run_item, t)] = t
            done, _ = cf.wait(in_flight, return_when=cf.FIRST_COMPLETED)
            broken = False
            for fut in done:
                t = in_flight.pop(fut)
                try:
                    entry = fut.result()
                except Exception as exc:  # infrastructure: a dead worker, a lost connection
                    broken |= isinstance(exc, BrokenProcessPool)
                    entry = crash_entry(t, exc)
                on_done(t, entry)
            if broken:
                for fut, t in list(in_flight.items()):
                    exc = fut.exception()
                    on_done(t, fut.result() if exc is None else crash_entry(t, exc))
                in_flight.clear()
                ex.shutdown(wait=True, cancel_futures=True)
                log.warning("a worker process died; starting a new pool")
                ex = pool.make()
    except KeyboardInterrupt:
        _stop(pool, ex, in_flight, on_done)
        raise
    except BaseException:
        pool.stop(ex)
        raise
    ex.shutdown(wait=True)


def _stop(pool, ex: cf.Executor, in_flight: dict, on_done: Callable[[dict, dict], None]) -> None:
    """Ctrl-C: stop the pool at once, then hand on the items that had finished before it."""
    finished = [(f, t) for f, t in in_flight.items() if f.done() and not f.cancelled()]
    pool.stop(ex)
    for fut, t in finished:
        if fut.exception() is None:
            on_done(t, fut.result())


# --------------------------------------------------------------------------------------------
# The run
