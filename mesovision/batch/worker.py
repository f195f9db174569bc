"""One comparison in a worker process: the task the executors run.

:func:`run_item` compares one pair (a task of the plan) and returns its cache entry. It never
raises for a failing comparison: a :class:`~mesovision.errors.MesovisionError` (caused by the
input: no face, an undecodable photo, an alignment beyond its thresholds) is recorded with its
type, message and exit code and may be cached; any other exception (a bug), a photo missing or
unreadable on this machine, or a photo whose bytes are not those the manifest was hashed from
(changed during the batch) is recorded the same way but never cached, so a re-run retries it.
This is the one place of the package that catches broadly. Log records and Python warnings are
captured into the entry instead of reaching the worker's stderr.

:func:`init_worker` prepares a worker process once: one OpenCV/BLAS thread (parallelism comes
from processes) and, in a local pool, a watchdog that ends the worker when the batch process dies.
"""

from __future__ import annotations

import logging
import os
import time

from .._version import __version__
from ..errors import InputFileError, MesovisionError
from .plan import CACHE_FORMAT

__all__ = ["init_worker", "peak_rss_mb", "run_item"]

_worker_ready = False


def _watch_parent(parent_pid: int, interval_s: float = 1.0) -> None:
    """Exit this worker when the batch process that started it is gone (``kill -9`` of the
    batch must not leave workers behind: they would wait on their queue forever)."""
    while True:
        time.sleep(interval_s)
        if os.getppid() != parent_pid:
            os._exit(1)


def init_worker(parent_pid: int | None = None) -> None:
    """Once per worker process: one OpenCV thread (parallelism comes from processes); in a
    local pool, a watchdog thread that ends the worker when the batch process dies."""
    global _worker_ready
    if parent_pid is not None:
        import signal
        import threading

        # Ctrl-C is the batch process's to handle (it stops the pool); no worker tracebacks.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True).start()
    if _worker_ready:
        return
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    import cv2

    cv2.setNumThreads(1)
    _worker_ready = True


class _ListHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(f"{record.levelname.lower()}: {record.getMessage()}")


def _compare(task: dict) -> dict:
    """The JSON-ready ``result.json`` record of one task's comparison (raises on failure)."""
    from ..checks import add_body_checks
    from ..compare import compare_pair, comparison_record
    from ..frontal_hairline import add_hairline
    from ..io import to_jsonable
    from ..pipeline import align_pair
    from ..scale import resolve_scale

    s = task["settings"]
    pair = align_pair(
        task["before"],
        task["after"],
        mode=s["mode"],
        refine=s["refine"],
        model=s["model"],
        mask_path=task["mask"],
        max_side=s["max_side"],
        force=s["force"],
        threads=task.get("threads"),
    )
    scale, pair = resolve_scale(pair, px_per_mm=s.get("px_per_mm"), ipd_mm=s.get("ipd_mm"))
    pair = add_hairline(pair, px_per_mm_working=scale.px_per_mm_working, ipd_mm=s.get("ipd_mm"))
    cmp = compare_pair(
        pair,
        lighting=s["lighting"],
        treated=tuple(s["treated"]),
        px_per_mm_at_before=scale.px_per_mm_working,
        threads=task.get("threads"),
    )
    return to_jsonable(comparison_record(add_body_checks(cmp)))


def run_item(task: dict) -> dict:
    """Compare one pair (a task from :func:`plan_items`) and return its cache entry.

    Never raises for a failing comparison: a :class:`~mesovision.errors.MesovisionError` gives
    ``status="failed"`` with its type, message and exit code (cacheable, unless the photo is
    missing or unreadable here); any other exception, or a photo whose SHA-256 is not the
    task's, gives the same with ``cacheable=False`` (retried on every run). Log records and Python
    warnings of the package are captured into ``log`` instead of reaching the worker's stderr.
    """
    import warnings

    init_worker()
    t0 = time.perf_counter()
    handler = _ListHandler()
    pkg = logging.getLogger("mesovision")
    saved = pkg.propagate
    pkg.addHandler(handler)
    pkg.propagate = False
    entry: dict = {
        "cache_format": CACHE_FORMAT,
        "key": task["key"],
        "mesovision": __version__,
        "task": task,
    }
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                record = _compare(task)
                entry.update(
                    status="ok",
                    error_type=None,
                    message=None,
                    exit_code=0,
                    cacheable=True,
                    record=record,
                )
            except MesovisionError as exc:
                entry.update(
                    status="failed",
                    error_type=type(exc).__name__,
                    message=str(exc),
                    exit_code=exc.exit_code,
                    # a file missing or unreadable here is this machine's, not the inputs'
                    cacheable=not isinstance(exc, InputFileError),
                    record=None,
                )
            except Exception as exc:  # the batch runner's one broad catch: record, go on
                entry.update(
                    status="failed",
                    error_type=type(exc).__name__,
                    message=f"unexpected failure (a bug): {exc}",
                    exit_code=1,
                    cacheable=False,
                    record=None,
                )
        handler.messages += [f"warning: {w.category.__name__}: {w.message}" for w in caught]
        changed = _changed_input(task, entry["record"])
        if changed is not None:
            entry.update(
                status="failed",
                error_type="InputFileError",
                message=f"{changed}: the file changed since the manifest was read (SHA-256 "
                "differs); run the batch again",
                exit_code=InputFileError.exit_code,
                cacheable=False,
                record=None,
            )
    finally:
        pkg.removeHandler(handler)
        pkg.propagate = saved
    entry["seconds"] = time.perf_counter() - t0
    entry["log"] = handler.messages
    entry["worker_pid"] = os.getpid()
    entry["worker_maxrss_mb"] = peak_rss_mb()
    return entry


def _changed_input(task: dict, record: dict | None) -> str | None:
    """The photo of ``task`` whose bytes are not those its cache key was made of (the hash the
    comparison read, else the file's now), or ``None``: a result of other bytes must not be
    cached under the manifest's key."""
    from ..io import sha256_file

    for side in ("before", "after"):
        want = task.get(f"{side}_sha256")
        got = ((record or {}).get("inputs") or {}).get(side, {}).get("sha256")
        if want is None:
            continue
        if got is None:
            try:
                got = sha256_file(task[side])
            except InputFileError:
                continue  # gone: its error is the comparison's
        if got != want:
            return task[side]
    return None


def peak_rss_mb() -> float:
    """This process's RSS high-water mark in MB: ``VmHWM`` of ``/proc/self/status`` (Linux;
    ``ru_maxrss`` would also count the parent's peak, which Linux carries across ``exec``)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
