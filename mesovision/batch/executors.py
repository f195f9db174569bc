"""Where a batch's comparisons run: a local process pool or a dask cluster.

A pool object has ``make()`` (a :class:`concurrent.futures.Executor`), ``in_flight`` (the most
items submitted at once) and ``close()``. :class:`LocalPool` starts ``spawn`` worker processes,
one thread each, replaced after :data:`MAX_TASKS_PER_CHILD` items (bounds MediaPipe's memory
growth); :class:`DaskPool` submits to a dask.distributed scheduler (an optional dependency, only
imported for ``executor="dask"``). :func:`execute` keeps the pool fed and hands every finished
entry to a callback; a worker that dies fails only the items in flight, and the local pool is
started anew.
"""

from __future__ import annotations

import concurrent.futures as cf
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
]

log = logging.getLogger(__name__)

#: Local workers are replaced after this many items (bounds MediaPipe's memory growth).
MAX_TASKS_PER_CHILD = 100


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


def crash_entry(task: dict, exc: BaseException) -> dict:
    """The (never cached) entry of a task whose worker failed: died, or lost its connection."""
    return {
        "cache_format": CACHE_FORMAT,
        "key": task["key"],
        "mesovision": __version__,
        "task": task,
        "status": "failed",
        "error_type": type(exc).__name__,
        "message": f"worker failed: {exc}".strip(),
        "exit_code": 1,
        "cacheable": False,
        "record": None,
        "seconds": float("nan"),
        "log": [],
    }


def execute(pool, tasks: list[dict], on_done: Callable[[dict, dict], None]) -> None:
    """Run ``tasks`` on ``pool`` with at most ``pool.in_flight`` submitted at once; a broken
    local pool (a worker killed) fails the items in flight and is replaced."""
    from concurrent.futures.process import BrokenProcessPool

    pending = list(reversed(tasks))
    ex = pool.make()
    try:
        in_flight: dict[cf.Future, dict] = {}
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
    except BaseException:
        ex.shutdown(wait=False, cancel_futures=True)
        raise
    ex.shutdown(wait=True)


# --------------------------------------------------------------------------------------------
# The run
