"""Downloads of a course and the job state the pages poll.

``GET /patients/{pid}/report.html`` and ``report.pdf`` are :func:`mesovision.report.render_html`
and :func:`~mesovision.report.render_pdf` of the course document (the ``mesovision report``
files, with the patient's name as ``--show-name``); ``report-deidentified.pdf`` is the PDF to
share (``--deidentify``: eyes blurred; no patient id, name, birth year, file names, notes,
products or calendar dates; still personal health data, the face stays recognisable; its file
name is not the patient's id); ``export.csv`` and ``export.json`` are the
rows of :func:`mesovision.course.progress_rows` (``mesovision export``). They use the finished
course job of the course as it is now; while it runs, the answer is ``409`` with a page that
says so. ``GET /jobs/{id}`` is a job's state as JSON.
"""

from __future__ import annotations

import json
import re
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..course import ROW_FIELDS, progress_rows
from ..errors import MesovisionError, UsageError
from ..io import to_jsonable
from ..store import open_store
from ..tables import csv_text
from ..views import validate_view
from . import course_jobs
from .web import error_page, library_error, session_query, state

__all__ = ["attachment", "download", "job_status"]

_TYPES = {
    "report.html": "text/html; charset=utf-8",
    "report.pdf": "application/pdf",
    "report-deidentified.pdf": "application/pdf",
    "export.csv": "text/csv; charset=utf-8",
    "export.json": "application/json",
}


def _content(doc: dict, what: str, session: int | None) -> bytes:
    from ..report import render_html, render_pdf

    if what == "report.html":
        return render_html(doc, session=session, show_name=True).encode("utf-8")
    if what == "report.pdf":
        return render_pdf(doc, session=session, show_name=True)
    if what == "report-deidentified.pdf":
        return render_pdf(doc, session=session, deidentify=True)
    rows = progress_rows(doc)
    if what == "export.csv":
        return csv_text(rows, ROW_FIELDS).encode("utf-8")
    return (json.dumps(to_jsonable(rows), indent=2, allow_nan=False) + "\n").encode("utf-8")


def download(request: Request):
    """``GET /patients/{pid}/{what}``: a report or export file as an attachment (run on
    Starlette's thread pool: rendering takes seconds, the server keeps answering)."""
    st = state(request)
    pid, what = request.path_params["pid"], request.path_params["what"]
    if what not in _TYPES:
        return error_page(request, f"unknown download {what!r}", status=404)
    view = request.query_params.get("view", "front")
    try:
        chosen = session_query(request)
        validate_view(view)
        with open_store(st.store_dir) as store:
            patient = store.patient(pid)
            sessions = store.sessions(pid)
        if not any(ph["view"] == view for s in sessions for ph in s["photos"]):
            return error_page(request, f"no photo of the view {view!r} in this course")
        job = course_jobs.current(st, patient, view, sessions)
        if job is None:
            return error_page(
                request,
                "the comparisons of this course are not ready: open the course page and wait "
                "for them to finish",
                status=409,
            )
        ids = [s["id"] for s in job.result["sessions"]]
        if chosen and int(chosen) not in ids:  # as the course page refuses it
            raise UsageError(
                f"unknown session {chosen}; sessions of this course: {', '.join(map(str, ids))}"
            )
        data = _content(job.result, what, int(chosen) if chosen else None)
    except (MesovisionError, ValueError) as e:
        return library_error(request, e)
    name = what if what == "report-deidentified.pdf" else f"{pid}-{what}"
    return Response(data, media_type=_TYPES[what],
                    headers={"content-disposition": attachment(name)})  # fmt: skip


def attachment(name: str) -> str:
    """The ``Content-Disposition`` of a download named ``name`` (RFC 6266): ``filename`` with
    every character but printable ASCII (and ``"`` or ``\\``) as ``_``, for old clients, and,
    when that changed it, ``filename*`` with the name in UTF-8 (``Łukasz-report.pdf``), which
    browsers use."""
    fallback = re.sub(r'[^\x20-\x7e]|["\\]', "_", name)
    if fallback == name:
        return f'attachment; filename="{name}"'
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


async def job_status(request: Request):
    """``GET /jobs/{id}``: the job's state (404 for an unknown id)."""
    try:
        job = state(request).jobs.get(int(request.path_params["id"]))
    except ValueError:
        job = None
    if job is None:
        return JSONResponse({"error": "unknown job"}, status_code=404)
    return JSONResponse(job.as_dict())
