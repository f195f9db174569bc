"""The clinic app: ``mesovision serve``, a local web application for a store's courses.

A practitioner's whole course workflow in the browser: patients (search, add, open), a new
session (date, treated areas on a face diagram, product, notes, photos by drag and drop with
their capture checks at once), the course (sessions on a timeline, the report's viewer, summary,
course figure and measures for any session), report and export downloads, and editing or
removing a session with a confirmation. Every number comes from the library functions the
commands call (:func:`mesovision.course.add_checked_session`,
:func:`mesovision.course.course_document`, :func:`mesovision.report.html.report_body`,
:func:`mesovision.course.progress_rows`); the app adds no computation of its own.

Framework: **Starlette** (ASGI; the toolkit under FastAPI, maintained by Encode, small and
typed, with a test client and static files built in) served by **uvicorn**, **Jinja2** templates
with autoescaping on, and **python-multipart** for uploads. The app is a handful of HTML pages
and JSON polls, so FastAPI's request models and OpenAPI pages would add weight and nothing
else; Flask's WSGI would hold a thread for every poll of a job.

Safety (:mod:`~mesovision.app.security`): bound to 127.0.0.1 unless ``--host``; a random access
token printed at start and then kept in a cookie; a CSRF token on every form; upload size and
pixel limits of :func:`mesovision.io.load_photo`; uploads staged in a private folder of the
store (``.uploads``, removed when the server stops, or by the next server of the store after a
crash) and filed through the store (:mod:`~mesovision.app.uploads`), never served back; the
patient search filtered in the page (no name in an address); every user text escaped;
a strict Content-Security-Policy with no inline script and every asset a file of this package.
Long work runs on worker threads, one per kind of job (:mod:`~mesovision.app.jobs`), polled by
the pages.

Modules: :mod:`~mesovision.app.server` (the application and uvicorn),
:mod:`~mesovision.app.security`, :mod:`~mesovision.app.jobs`, :mod:`~mesovision.app.uploads`,
:mod:`~mesovision.app.web` (state, templates, forms), :mod:`~mesovision.app.patients`,
:mod:`~mesovision.app.sessions`, :mod:`~mesovision.app.course_jobs` and
:mod:`~mesovision.app.downloads` (the pages).
"""

from __future__ import annotations

from .security import CSP, Secrets
from .server import create_app, max_upload_bytes, run_server

__all__ = ["CSP", "Secrets", "create_app", "max_upload_bytes", "run_server"]
