"""Long work off the request thread: a registry of background jobs shared by every tab.

A job is a function run on a worker thread of its kind: one worker per kind, so that the
comparisons of a course (``course``, minutes for a long course) never hold back the capture
checks of a photo just uploaded (``check``), while two comparisons never compete for the cores
they each use already. It receives a
``progress(done, total, label)`` callback (the signature of ``course_document``'s ``on_step``)
and returns a result kept with the job. Pages poll ``GET /jobs/<id>`` (:meth:`Job.as_dict`) for
the state (``queued``, ``running``, ``done``, ``failed``), the step and its label.

Jobs have a key (e.g. the patient, view and state of the course): :meth:`JobRegistry.submit`
returns the queued, running or finished job of the same key instead of starting a second one, so
a second tab opening the same course sees the same progress and the same result.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

__all__ = ["Job", "JobRegistry"]

log = logging.getLogger(__name__)


@dataclass
class Job:
    """One background job and its state (fields changed by the worker under the lock)."""

    id: int
    key: tuple
    kind: str
    state: str = "queued"
    done: int = 0
    total: int = 0
    label: str = ""
    error: str | None = None
    result: object = None
    started: float = field(default_factory=time.time)

    def as_dict(self) -> dict:
        """The state shown to the page (never the result itself)."""
        return {
            "id": self.id,
            "kind": self.kind,
            "state": self.state,
            "done": self.done,
            "total": self.total,
            "label": self.label,
            "error": self.error,
        }


class JobRegistry:
    """Jobs by id and by key, run one at a time per kind on a worker thread of that kind."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._jobs: dict[int, Job] = {}
        self._by_key: dict[tuple, Job] = {}
        self._pools: dict[str, ThreadPoolExecutor] = {}

    def _pool(self, kind: str) -> ThreadPoolExecutor:
        with self._lock:
            if kind not in self._pools:
                self._pools[kind] = ThreadPoolExecutor(
                    max_workers=1, thread_name_prefix=f"mesovision-{kind}"
                )
            return self._pools[kind]

    def submit(self, kind: str, key: tuple, fn: Callable) -> Job:
        """The job of ``key`` (queued, running or done); a new one running ``fn(progress)`` when
        there is none or the last one failed."""
        with self._lock:
            old = self._by_key.get(key)
            if old is not None and old.state != "failed":
                return old
            job = Job(id=next(self._ids), key=key, kind=kind)
            self._jobs[job.id] = job
            self._by_key[key] = job
        self._pool(kind).submit(self._run, job, fn)
        return job

    def get(self, job_id: int) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def find(self, key: tuple) -> Job | None:
        with self._lock:
            return self._by_key.get(key)

    def forget(self, match: Callable[[tuple], bool]) -> set[int]:
        """Forget the jobs whose key ``match`` accepts, with their results (a running one
        finishes, unseen); their ids."""
        with self._lock:
            gone = {k: j for k, j in self._by_key.items() if match(k)}
            for k, j in gone.items():
                del self._by_key[k]
                self._jobs.pop(j.id, None)
            old = [i for i, j in self._jobs.items() if match(j.key)]  # replaced by a retry
            for i in old:
                del self._jobs[i]
        return {j.id for j in gone.values()} | set(old)

    def _run(self, job: Job, fn: Callable) -> None:
        def progress(done: int, total: int, label: str = "") -> None:
            with self._lock:
                job.done, job.total, job.label = done, total, label

        with self._lock:
            job.state = "running"
        try:
            result = fn(progress)
        except Exception as e:  # noqa: BLE001 (the job's failure is shown in the page)
            message = getattr(e, "message", None) or f"{type(e).__name__}: {e}"
            log.warning("job %s (%s) failed: %s", job.id, job.kind, message)
            with self._lock:
                job.state, job.error = "failed", str(message)
            return
        with self._lock:
            job.result, job.state = result, "done"
            job.done = max(job.done, job.total)

    def shutdown(self) -> None:
        """Stop taking jobs; a running one finishes."""
        with self._lock:
            pools = list(self._pools.values())
        for pool in pools:
            pool.shutdown(wait=False, cancel_futures=True)
