"""The application object and the server that runs it.

:func:`create_app` builds the Starlette application of a store: the routes of
:mod:`~mesovision.app.patients`, :mod:`~mesovision.app.sessions` and
:mod:`~mesovision.app.downloads`, the static files of the package, behind
:class:`~mesovision.app.security.Guard`. :func:`run_server` serves it with uvicorn on one
address until interrupted (Ctrl-C, SIGTERM, or SIGHUP: the terminal closed), then stops the job
workers and deletes the staged uploads. :func:`create_app` removes the staging folders a server
of the store killed outright left (:meth:`~mesovision.app.uploads.Staging.remove_stale`).
"""

from __future__ import annotations

import logging
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ..io import load_photo
from ..io.limits import MAX_BYTES_PER_PIXEL
from ..report.assets import CSS as REPORT_CSS
from ..report.assets import JS as REPORT_JS
from . import downloads, patients, sessions
from .security import Guard, Secrets
from .web import STATIC, AppState, CsrfRefused

__all__ = ["DEFAULT_MAX_PIXELS", "create_app", "max_upload_bytes", "run_server"]

log = logging.getLogger(__name__)

#: The pixel limit of uploads: :func:`mesovision.io.load_photo`'s default.
DEFAULT_MAX_PIXELS = load_photo.__kwdefaults__["max_pixels"]


def max_upload_bytes(max_pixels: int = DEFAULT_MAX_PIXELS) -> int:
    """The longest upload accepted: the file-size bound :func:`~mesovision.io.load_photo`
    applies for ``max_pixels`` (16 bytes a pixel plus 16 MiB)."""
    return MAX_BYTES_PER_PIXEL * max_pixels + (16 << 20)


async def _home(request: Request):
    return RedirectResponse("/patients", status_code=303)


async def _report_css(request: Request):
    return Response(REPORT_CSS, media_type="text/css")


async def _report_js(request: Request):
    return Response(REPORT_JS, media_type="text/javascript")


async def _csrf_refused(request: Request, exc: Exception):
    return PlainTextResponse("403: the form's CSRF token is missing or wrong", status_code=403)


def create_app(
    store_dir: str | Path,
    *,
    secret: Secrets | None = None,
    hosts: set[str] | None = None,
    max_body: int | None = None,
) -> Guard:
    """The clinic app of the store ``store_dir`` as an ASGI application.

    ``secret`` holds the access and CSRF tokens (new random ones by default); ``hosts`` the
    accepted ``Host`` header values (``None``: any); ``max_body`` the longest request body
    (default :func:`max_upload_bytes`: :func:`mesovision.io.load_photo`'s file-size bound; the
    pixel limit is the loader's own)."""
    from ..store import open_store

    with open_store(store_dir):  # created on first use, or refused here if damaged
        pass
    secret = secret or Secrets()
    body_limit = max_body if max_body is not None else max_upload_bytes()
    routes = [
        Route("/", _home),
        Route("/patients", patients.patients_page),
        Route("/patients", patients.add_patient, methods=["POST"]),
        Route("/patients/{pid}", patients.patient_page),
        Route("/patients/{pid}/sessions/new", sessions.new_session_page),
        Route("/patients/{pid}/remove", patients.remove_patient, methods=["GET", "POST"]),
        Route("/patients/{pid}/sessions", sessions.add_session, methods=["POST"]),
        Route("/patients/{pid}/ipd", patients.set_patient_ipd, methods=["POST"]),
        Route("/patients/{pid}/{what}", downloads.download),
        Route("/sessions/{sid:int}/edit", sessions.edit_session, methods=["GET", "POST"]),
        Route("/sessions/{sid:int}/remove", sessions.remove_session, methods=["GET", "POST"]),
        Route("/uploads", sessions.upload_photo, methods=["POST"]),
        Route("/uploads/{uid}", sessions.upload_status),
        Route("/uploads/{uid}/discard", sessions.discard_upload, methods=["POST"]),
        Route("/uploads/{uid}/thumb.jpg", sessions.upload_thumb),
        Route("/jobs/{id}", downloads.job_status),
        Route("/report/report.css", _report_css),
        Route("/report/report.js", _report_js),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    app = Starlette(routes=routes, exception_handlers={CsrfRefused: _csrf_refused})
    app.state.mv = AppState(store_dir=Path(store_dir), secret=secret, max_upload_bytes=body_limit)
    app.state.mv.staging.remove_stale()  # what a server killed outright left in the store
    guarded = Guard(app, secret=secret, hosts=hosts, max_body=body_limit)
    guarded.state = app.state.mv
    return guarded


def _terminated(signum, frame) -> None:
    """SIGTERM (``kill``, a service manager's stop) ends the server as Ctrl-C does."""
    raise KeyboardInterrupt


def run_server(app: Guard, sock, *, on_ready=None) -> None:
    """Serve ``app`` on the bound socket ``sock`` with uvicorn until interrupted (Ctrl-C,
    SIGTERM or SIGHUP); ``on_ready()`` is called once it listens. Stops the job workers and
    deletes the staged uploads. (uvicorn stops on Ctrl-C or SIGTERM, then raises it again with
    the handler it found: SIGTERM's default would end the process before the staged uploads are
    deleted, so the server runs with :func:`_terminated` as SIGTERM's handler. SIGHUP, sent when
    the terminal window is closed, is not uvicorn's: its handler asks uvicorn to stop, as
    SIGTERM does, and :func:`run_server` returns.)"""
    import signal
    import threading

    import uvicorn

    host, port = sock.getsockname()[:2]
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    if on_ready is not None:
        original = server.startup

        async def startup(sockets=None):
            await original(sockets=sockets)
            if server.started:
                on_ready()

        server.startup = startup

    def hung_up(signum, frame) -> None:
        server.should_exit = True

    main = threading.current_thread() is threading.main_thread()
    previous = {}
    if main:
        previous[signal.SIGTERM] = signal.signal(signal.SIGTERM, _terminated)
        if hasattr(signal, "SIGHUP"):  # not on Windows
            previous[signal.SIGHUP] = signal.signal(signal.SIGHUP, hung_up)
    try:
        server.run(sockets=[sock])
    finally:
        app.state.jobs.shutdown()
        app.state.staging.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
