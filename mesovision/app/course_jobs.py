"""The course document on the job worker, and what the pages and downloads make of it.

:func:`start` submits :func:`mesovision.course.course_document` for a patient and view (every
comparison not cached yet is computed, with ``on_step`` as the job's progress). The job's key
holds the course's sessions and photos as they are in the store, and the patient's
interpupillary distance (the scale of the front view's comparisons), so an edit, a new session,
a removal or a new distance (here or from the command line) gives a new key and a new document,
while every tab looking at an unchanged course shares one job. The report's sections of a session
(:func:`body`) are rendered once per job and session (the last :data:`KEEP_BODIES` are kept).
A removed patient's jobs, rendered pages and filing notices are forgotten (:func:`forget`).
"""

from __future__ import annotations

import hashlib
import json

from ..course import course_document
from ..report.html import report_body
from .jobs import Job
from .web import AppState

__all__ = ["KEEP_BODIES", "body", "current", "forget", "start"]

#: Rendered session pages kept (each holds its photos as ``data:`` URIs, a few MB).
KEEP_BODIES = 8


def _key(patient: dict, view: str, sessions: list[dict]) -> tuple:
    course = {"sessions": sessions, "ipd_mm": patient.get("ipd_mm")}
    state = json.dumps(course, sort_keys=True, default=str).encode()
    return ("course", patient["id"], view, hashlib.sha256(state).hexdigest())


def start(st: AppState, patient: dict, view: str, sessions: list[dict]) -> Job | None:
    """The course job of the patient's (the store's row) current sessions (started when
    needed); ``None`` with fewer than two sessions (nothing to compare)."""
    pid = patient["id"]
    if len(sessions) < 2:
        return None

    def work(progress):
        progress(0, 1, "preparing the comparisons")
        return course_document(st.store_dir, pid, view=view, on_step=progress)

    return st.jobs.submit("course", _key(patient, view, sessions), work)


def current(st: AppState, patient: dict, view: str, sessions: list[dict]) -> Job | None:
    """The finished course job of the patient's current sessions, or ``None``."""
    job = st.jobs.find(_key(patient, view, sessions))
    return job if job is not None and job.state == "done" else None


def body(st: AppState, job: Job, session: int | None) -> tuple[str, str]:
    """The report's sections for ``session`` (default: the latest compared) and the viewer's
    image JSON, rendered once per job and session."""
    k = (job.id, session)
    if k not in st.cache:
        while len(st.cache) >= KEEP_BODIES:
            st.cache.pop(next(iter(st.cache)))  # the oldest
        st.cache[k] = report_body(job.result, session=session, show_name=True)
    return st.cache[k]


def forget(st: AppState, pid: str, session_ids) -> None:
    """Forget the patient's course jobs (their documents), their rendered pages and the
    notices of the sessions ``session_ids``: nothing of a removed patient stays in memory."""
    gone = st.jobs.forget(lambda key: key[:2] == ("course", pid))
    for k in [k for k in st.cache if k[0] in gone]:
        st.cache.pop(k, None)
    for sid in session_ids:
        st.notices.pop(sid, None)
