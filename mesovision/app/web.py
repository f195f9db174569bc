"""What every page of the app shares: its state, the templates, forms and error pages.

The templates are Jinja2 files in ``mesovision/app/templates/`` with autoescaping on for every
template (user text such as names, notes and products is escaped wherever it appears); the
stylesheet and script are files in ``mesovision/app/static/`` served by the app. A
:class:`~mesovision.errors.MesovisionError` raised by the library (an unknown patient, a refused
photo, a date before the baseline) becomes a page with its one-line message and status 400, or
404 for an unknown patient (:func:`library_error`), never a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from tempfile import SpooledTemporaryFile

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request
from starlette.responses import HTMLResponse

from .jobs import JobRegistry
from .notices import APP_WORDING, app_wording
from .security import Secrets, check_csrf
from .uploads import UPLOADS_DIR, Staging

__all__ = [
    "APP_WORDING",
    "STATIC",
    "AppState",
    "CsrfRefused",
    "app_wording",
    "error_page",
    "form",
    "library_error",
    "page",
    "session_query",
    "state",
    "store_message",
]

#: The app's own static files (stylesheet, script, face diagram).
STATIC = Path(__file__).parent / "static"

_ENV = Environment(
    loader=PackageLoader("mesovision.app", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass
class AppState:
    """The state of one server: its store, secrets, jobs, staged uploads and limits."""

    store_dir: Path
    secret: Secrets
    max_upload_bytes: int
    jobs: JobRegistry = field(default_factory=JobRegistry)
    #: the staged uploads, in the store folder (``<store>/.uploads``)
    staging: Staging = field(init=False)
    cache: dict = field(default_factory=dict)
    #: the warnings of filing a session, by session id, shown once on the patient page
    notices: dict = field(default_factory=dict)
    #: the sessions filed from a page (id, date, number of photos), by session id, confirmed on
    #: the patient page until its comparisons are done
    filed: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.staging = Staging(self.store_dir)


class CsrfRefused(Exception):
    """A POST without the page's CSRF token (answered with 403)."""


def state(request: Request) -> AppState:
    return request.app.state.mv


def page(request: Request, name: str, status: int = 200, **context) -> HTMLResponse:
    """Render the template ``name`` with the CSRF token and ``context``."""
    st = state(request)
    text = _ENV.get_template(name).render(
        csrf=st.secret.csrf, store=str(st.store_dir), path=request.url.path, **context
    )
    return HTMLResponse(text, status_code=status)


def error_page(
    request: Request, message: str, status: int = 400, title: str | None = None
) -> HTMLResponse:
    """The page of a refusal: ``title`` (what failed; by default "Not found" for a 404, "Not
    saved" for a form refused, "Not shown" otherwise), ``message``, and the way on (back to
    the form for a form refused, the patients otherwise)."""
    posted = request.method == "POST"
    if title is None:
        title = "Not found" if status == 404 else "Not saved" if posted else "Not shown"
    return page(request, "error.html", status=status, message=message, posted=posted,
                title=title)  # fmt: skip


def library_error(request: Request, e: Exception) -> HTMLResponse:
    """The error page of an error the library raised: its message (:func:`store_message`),
    status 404 (titled "Patient not found") for an unknown patient, else 400."""
    from ..errors import UnknownPatient

    text = store_message(state(request).store_dir, e)
    if isinstance(e, UnknownPatient):
        return error_page(request, text, status=404, title="Patient not found")
    return error_page(request, text)


def store_message(store_dir: Path, e: Exception) -> str:
    """A library error as the pages say it: its message with the command line's advice said as
    the pages offer it (:func:`app_wording`), after the entry of the store it names, relative
    to the store folder (``photos: not written by mesovision: ...``); a path outside the store
    or of a staged upload is not shown."""
    text = app_wording(getattr(e, "message", str(e)))
    path = getattr(e, "path", None)
    if not path:
        return text
    try:
        rel = Path(path).absolute().relative_to(Path(store_dir).absolute())
    except ValueError:
        return text
    return f"{rel.as_posix()}: {text}" if rel.parts and rel.parts[0] != UPLOADS_DIR else text


def session_query(request: Request) -> str | None:
    """The ``session`` query parameter (a session id), or ``None``; a
    :class:`~mesovision.errors.UsageError` (a 400 page, :func:`library_error`) when it is not a
    number."""
    from ..errors import UsageError

    chosen = request.query_params.get("session")
    if chosen is not None and not (chosen.isascii() and chosen.isdigit()):
        raise UsageError(f"session {chosen!r} is not a session id")
    return chosen


async def form(request: Request):
    """The request's form, after its CSRF token was checked (:class:`CsrfRefused`)."""
    st = state(request)
    data = await _parsed_form(request, st)
    token = data.get("csrf") or request.headers.get("x-csrf-token")
    if not check_csrf(st.secret, token):
        raise CsrfRefused()
    return data


class _StagedParser(MultiPartParser):
    """Starlette's multipart parser with each file spooled in the server's staging folder in
    the store (``spool_dir()``, mode 0700; an unnamed file once over 1 MB), not in the system's
    temporary folder: no byte of an uploaded photo is written outside the store folder."""

    def __init__(self, *args, spool_dir, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.spool_dir = spool_dir

    def on_headers_finished(self) -> None:
        super().on_headers_finished()
        upload = self._current_part.file
        if upload is not None:  # a file part, nothing written yet: spooled in the store
            spooled = SpooledTemporaryFile(max_size=self.spool_max_size, dir=self.spool_dir())
            self._files_to_close_on_error.append(spooled)
            upload.file.close()
            upload.file = spooled


async def _parsed_form(request: Request, st: AppState):
    """The request's form (at most 20 files and 200 fields), a multipart form's files spooled
    in the staging folder (:class:`_StagedParser`); a malformed form, or a staging folder that
    cannot be made, is a one-line ``400``."""
    from ..errors import MesovisionError

    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "multipart/form-data":
        return await request.form(max_files=20, max_fields=200)
    spool = _StagedParser(request.headers, request.stream(), max_files=20, max_fields=200,
                          spool_dir=lambda: st.staging.root)  # fmt: skip
    try:
        return await spool.parse()
    except MultiPartException as e:
        raise HTTPException(status_code=400, detail=e.message) from None
    except MesovisionError as e:
        raise HTTPException(status_code=400, detail=store_message(st.store_dir, e)) from None
