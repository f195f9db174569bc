"""The session pages: a new session with its photos, editing and removing a session.

A new session: date, treated areas (picked on the face diagram of the regions, or the list
beside it), product, notes, and photos added by drag and drop or the file picker. Each photo is
uploaded at once (``POST /uploads``), staged and checked on the worker
(:mod:`mesovision.app.uploads`); the page shows the checks' messages beside a thumbnail with the
regions drawn. A photo whose check fails can be removed (``POST /uploads/{uid}/discard``
deletes the staged file) and retaken, or accepted with a reason.

Filing (``POST /patients/{pid}/sessions``) calls :func:`mesovision.course.add_checked_session`,
exactly as ``session add --copy``: the capture checks again and the identity check against the
course's baseline. It is called without ``force`` first; when it refuses for failed capture
checks or another person than the baseline, and every photo that failed a check at its upload
(the same-person check included) was accepted with a reason, it is called again with ``force``
(the failed checks are filed with the photo, as ``--force`` files them) and the reasons are
added to the session's notes (``accepted: <file>: <checks>: <reason>``). Each photo is recorded
by the file name the browser sent (``upload:<name>``, through ``upload_names``), never by its
staged path.
"""

from __future__ import annotations

import datetime
import math
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from ..course import add_checked_session, edit_checked_session, remove_checked_session
from ..errors import CaptureError, IdentityMismatch, MesovisionError, UsageError
from ..regions import REGION_NAMES, validate_treated
from ..store import FACE_VIEWS, open_store, validate_date, validate_view
from ..views import views_of
from . import uploads
from .notices import captured_warnings
from .web import (
    STATIC,
    app_wording,
    error_page,
    form,
    library_error,
    page,
    state,
    store_message,
)

__all__ = [
    "add_session",
    "discard_upload",
    "edit_session",
    "new_session_page",
    "remove_session",
    "upload_photo",
    "upload_status",
    "upload_thumb",
]


#: The views the new-session page suggests besides the face views and the patient's own (any
#: valid view may be typed: :func:`mesovision.views.validate_view`).
VIEW_EXAMPLES = ("scalp:front", "scalp:crown", "body:thigh", "body:abdomen", "body:buttocks")

#: The largest id SQLite stores: a session id above it in an address is unknown (``404``).
MAX_ID = 2**63 - 1


async def new_session_page(request: Request):
    """``GET /patients/{pid}/sessions/new``."""
    pid = request.path_params["pid"]
    try:
        with open_store(state(request).store_dir) as store:
            patient = store.patient(pid)
            sessions = store.sessions(pid)
    except MesovisionError as e:
        return library_error(request, e)
    n = len(sessions)
    used = views_of(sessions)
    diagram = (STATIC / "face_regions.svg").read_text(encoding="utf-8")
    regions = [r for r in REGION_NAMES if r != "face"]
    views = list(dict.fromkeys([*FACE_VIEWS, *used, *VIEW_EXAMPLES]))
    return page(request, "session_new.html", patient=patient, n_sessions=n, diagram=diagram,
                regions=regions, views=views, areas=_other_views(views),
                today=_today())  # fmt: skip


def _today() -> str:
    """The server's local date (ISO), as the warning of a session dated in the future reads it:
    the date forms hint a later date as it is typed (``_session_date.html``, ``app.js``)."""
    return datetime.date.today().isoformat()


async def upload_photo(request: Request):
    """``POST /uploads`` (fields ``file``, ``view``, ``patient``): stage and check a photo."""
    st = state(request)
    try:  # staged in the store folder, filed into the store: refused before it is received
        with open_store(st.store_dir) as store:
            store.require_writable(files=True)  # read-only, or a photos/ it did not write
    except MesovisionError as e:
        return JSONResponse({"error": store_message(st.store_dir, e)}, status_code=400)
    data = await form(request)
    f = data.get("file")
    if f is None or isinstance(f, str):
        return JSONResponse({"error": "no file in the upload"}, status_code=400)
    try:
        view = validate_view(str(data.get("view", "front")))
        with open_store(st.store_dir) as store:
            pid = store.patient(str(data.get("patient", "")))["id"]
            mark = uploads.patient_mark(store, pid)
        up = await run_in_threadpool(
            st.staging.add, f.filename, f.file, view=view, patient_id=pid, mark=mark
        )
    except MesovisionError as e:
        return JSONResponse({"error": store_message(st.store_dir, e)}, status_code=400)
    finally:
        await f.close()
    job = st.jobs.submit(
        "check", ("check", up.id), lambda p: uploads.check_upload(st.store_dir, up)
    )
    return JSONResponse({"upload": up.id, "name": up.name, "job": job.id})


async def upload_status(request: Request):
    """``GET /uploads/{uid}``: the upload's checks (once the job has run); ``404`` for an
    upload discarded, or whose patient was removed (:meth:`~.uploads.Staging.drop_gone`)."""
    st, uid = state(request), request.path_params["uid"]
    st.staging.drop_gone([uid])
    up = st.staging.get(uid)
    if up is None:
        return JSONResponse({"error": "unknown upload"}, status_code=404)
    return JSONResponse({"upload": up.id, "name": up.name, "error": up.error,
                         "report": up.report, "thumb": up.thumb is not None,
                         "warnings": up.warnings})  # fmt: skip


async def discard_upload(request: Request):
    """``POST /uploads/{uid}/discard``: forget a staged photo (retaken) and delete its file."""
    await form(request)
    state(request).staging.discard(request.path_params["uid"])
    return JSONResponse({"discarded": request.path_params["uid"]})


async def upload_thumb(request: Request):
    """``GET /uploads/{uid}/thumb.jpg``: the thumbnail with the regions drawn (``404`` as for
    :func:`upload_status`)."""
    st, uid = state(request), request.path_params["uid"]
    st.staging.drop_gone([uid])
    up = st.staging.get(uid)
    if up is None or up.thumb is None:
        return Response(status_code=404)
    return Response(up.thumb, media_type="image/jpeg")


def _accepted_notes(staged: list, reasons: dict) -> list[str]:
    """The notes recording each accepted failing photo: every check it fails as filed."""
    notes = []
    for up in staged:
        failed = list(up.failing())
        reason = reasons.get(str(up.path))
        if failed and reason:
            notes.append(f"accepted: {up.name}: {', '.join(failed)}: {reason}")
    return notes


def _refresh(store_dir, staged: list, date: str) -> None:
    """Run the checks again of each upload whose baseline is not the one it was checked
    against (a baseline filed or changed meanwhile, or a session dated before the baseline);
    a failure the page was not told of refuses the filing (:class:`CaptureError`) and is told
    now (:attr:`Upload.shown`), to be accepted with a reason or retaken."""
    with open_store(store_dir) as store:
        stale = [u for u in staged if _baseline_id(store, u, date) != u.baseline]
    for up in stale:
        uploads.check_upload(store_dir, up, date, thumb=False, shown=False)
        if up.error:
            raise CaptureError(up.error)
    new = []
    for up in staged:
        unseen = {k: m for k, m in up.failing().items() if k not in up.shown}
        up.shown |= set(up.failing())
        new += [f"{up.name}: {k}: {m}" for k, m in unseen.items()]
    if new:
        raise CaptureError(
            f"{'; '.join(new)}; nothing imported: these checks failed against the course's "
            "current baseline (retake the photo, or accept it with a reason)"
        )


def _refuse_blocking(staged: list, reasons: dict, views: list[str]) -> None:
    """Refuse the filing with every problem of every photo in one message
    (:class:`CaptureError`): each failed check without a reason, a photo the store holds
    already, two photos of one view."""
    problems, unaccepted = [], False
    for up in staged:
        if not reasons.get(str(up.path)) and up.failing():
            problems += [f"{up.name}: {k}: {m}" for k, m in up.failing().items()]
            unaccepted = True
        if (up.report or {}).get("duplicate"):
            problems.append(f"{up.name}: {up.report['duplicate']}")
    for view in dict.fromkeys(v for v in views if views.count(v) > 1):
        names = [u.name for u, v in zip(staged, views, strict=True) if v == view]
        problems.append(
            f"{' and '.join(names)} have the same view {view}: one photo per view (choose "
            "another view for one of them, or remove one)"
        )
    if problems:
        way = " (retake the photo, or accept it with a reason)" if unaccepted else ""
        raise CaptureError(f"{'; '.join(problems)}; nothing imported{way}")


def _baseline_id(store, up, date: str) -> int | None:
    base = uploads.baseline_of(store, up, date)[0]
    return base["id"] if base else None


def _file_session(store_dir, pid: str, args: dict, staged: list, reasons: dict) -> dict:
    """``add_checked_session`` without ``force``, then with it only when the refusal is for a
    staged photo and every failing check of every staged photo (as checked against the
    current baseline, :func:`_refresh`) was shown on the page and accepted with a reason."""
    filed = []  # the capture reports as filing makes them
    with open_store(store_dir) as store:
        if any(uploads.patient_gone(store, u) for u in staged):
            raise UsageError(
                f"patient {pid} was removed after these photos were uploaded: nothing filed"
            )
        try:
            return add_checked_session(store, pid, on_report=filed.append, **args)[0]
        except (IdentityMismatch, CaptureError) as e:
            by_path = {str(u.path): u for u in staged}
            failing = {str(u.path): set(u.failing()) for u in staged}
            if e.path not in by_path or any(f and not reasons.get(p) for p, f in failing.items()):
                raise
            if isinstance(e, IdentityMismatch) and "same_person" not in failing[e.path]:
                raise
            if any(not {c["name"] for c in r.failed} <= failing.get(r.path, set()) for r in filed):
                raise  # a capture failure the page did not show: never filed without a reason
            return add_checked_session(store, pid, force=True, **args)[0]


def _filed(store_dir, pid, args, staged, reasons, notes, rebaseline) -> tuple[dict, list]:
    """:func:`_file_session` with the reasons accepted added to the notes (made after the
    checks ran against the current baseline), and the library's warnings."""
    names = {str(u.path): u.name for u in staged}
    with captured_warnings(names) as said:
        with open_store(store_dir) as store:
            store.rebaseline_note(pid, args["date"], rebaseline=rebaseline)
        _refresh(store_dir, staged, args["date"])
        _refuse_blocking(staged, reasons, [v for _, v in args["photos"]])
        lines = _accepted_notes(staged, reasons)
        args = args | {"notes": "\n".join([notes, *lines]).strip() or None}
        session = _file_session(store_dir, pid, args, staged, reasons)
    return session, said


def _message(e: MesovisionError, staged: list, store_dir) -> str:
    """The refusal as the page says it: the photo by the user's file name (not its staged
    path), or the store's entry (:func:`~.web.store_message`), and the app's way past a failed
    check instead of the command line's."""
    names = {str(u.path): u.name for u in staged}
    if e.path in names:
        return f"{names[e.path]}: {app_wording(e.message)}"
    return store_message(store_dir, e)


def _answer(request: Request, *, error: str | None = None, location: str | None = None,
            warnings: list | None = None):  # fmt: skip
    """The page's script asks for JSON (``Accept: application/json``): ``{"error": ...}`` or
    ``{"location": ..., "warnings": [...]}``, status 200 either way (a refusal is an answer
    the page shows beside the photos, not a failed request); a plain form post gets the error
    page or a redirect."""
    if "application/json" in request.headers.get("accept", ""):
        answer = {"error": error} if error else {"location": location, "warnings": warnings or []}
        return JSONResponse(answer)
    if error:
        return error_page(request, error, title="Session not filed")
    return RedirectResponse(location, status_code=303)


async def add_session(request: Request):
    """``POST /patients/{pid}/sessions``: file the session with its staged photos."""
    st = state(request)
    pid = request.path_params["pid"]
    data = await form(request)
    st.staging.drop_gone(data.getlist("photo"))  # of a patient removed meanwhile: dropped
    staged = [st.staging.get(u) for u in data.getlist("photo")]
    staged = [u if u is None or u.patient_id == pid else None for u in staged]  # another's
    if not staged or any(u is None or u.report is None for u in staged):
        return _answer(request, error="add at least one photo and wait for its checks")
    try:
        date = validate_date(str(data.get("date", "")))
        treated = validate_treated(",".join(data.getlist("treated")))
        for u in staged:
            view = validate_view(str(data.get(f"view_{u.id}", u.view)))
            if view != u.view:  # checked against another baseline: checked again at filing
                u.view, u.baseline = view, -1
        photos = [(str(u.path), u.view) for u in staged]
        scales = [_scale(data.get(f"scale_{u.id}"), u.name) for u in staged]
        notes = str(data.get("notes", "")).strip()
        args = dict(date=date, photos=photos, treated=treated, copy=True,
                    product=str(data.get("product", "")).strip() or None,
                    upload_names={str(u.path): u.name for u in staged},
                    scales=scales)  # fmt: skip
        reasons = {str(u.path): str(data.get(f"accept_{u.id}", "")).strip() for u in staged}
        rebaseline = bool(data.get("rebaseline"))
        # seconds of work (landmarks, descriptors): off the event loop, the server keeps answering
        session, said = await run_in_threadpool(
            _filed, st.store_dir, pid, args, staged, reasons, notes, rebaseline
        )
    except MesovisionError as e:
        return _answer(request, error=_message(e, staged, st.store_dir))
    for u in staged:
        st.staging.discard(u.id)
    if said:
        st.notices[session["id"]] = said
    st.filed[session["id"]] = {"id": session["id"], "date": session["date"], "photos": len(staged)}
    return _answer(request, location=f"/patients/{quote(pid)}?session={session['id']}",
                   warnings=said)  # fmt: skip


def _scale(text, name: str) -> float | None:
    """A photo's scale field (pixels per mm of its file; empty: none)."""
    text = str(text or "").strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not math.isfinite(value) or value <= 0:
        raise UsageError(f"{name}: scale {text!r} is not a positive number of pixels per mm")
    return value


def _other_views(views) -> list[str]:
    """The views among ``views`` whose whole area is a treated area (body, scalp, trichoscopy)."""
    return [v for v in dict.fromkeys(views) if v not in FACE_VIEWS]


def _edit_regions(s: dict) -> list[str]:
    """The areas the edit page offers: the face's regions, the session's body, scalp or
    trichoscopy views, and every other area the session names (the whole face), so that
    saving keeps them unless unticked."""
    offered = [r for r in REGION_NAMES if r != "face"]
    offered += _other_views(ph["view"] for ph in s["photos"])
    return offered + [r for r in s["treated"] if r not in offered]


def _unknown_session(request: Request, e: MesovisionError, sid: int):
    """The error page of ``e``: 404 for a session the store does not hold, as for a patient."""
    if e.message == f"unknown session {sid}":
        return error_page(request, e.message, status=404, title="Session not found")
    return library_error(request, e)


async def edit_session(request: Request):
    """``GET|POST /sessions/{sid}/edit``: correct date, treated areas, product, notes."""
    st = state(request)
    sid = int(request.path_params["sid"])
    if sid > MAX_ID:  # no session of the store (SQLite refuses such a number)
        return error_page(request, f"unknown session {sid}", status=404, title="Session not found")
    posted = None
    try:
        with open_store(st.store_dir, create=False) as store:
            s = store.session(sid)
            if request.method == "GET":
                return page(request, "session_edit.html", s=s, regions=_edit_regions(s),
                            today=_today())  # fmt: skip
            data = await form(request)
            date = str(data.get("date", "")).strip()
            rebaseline = bool(data.get("rebaseline"))
            posted = s | {"date": date, "treated": data.getlist("treated"),
                          "product": str(data.get("product", "")),
                          "notes": str(data.get("notes", ""))}  # fmt: skip
            # the checks a new baseline makes stale are re-run and filed (ticking the box
            # accepts the new baseline, as --rebaseline --force does)
            edit_checked_session(
                store,
                sid,
                force=rebaseline,
                date=date,
                treated=validate_treated(",".join(data.getlist("treated"))),
                product=str(data.get("product", "")),
                notes=str(data.get("notes", "")),
                rebaseline=rebaseline,
            )
    except MesovisionError as e:
        if posted is None:
            return _unknown_session(request, e, sid)
        # refused: the form again with the values typed, the message beside the date
        refusal = store_message(st.store_dir, e)
        return page(request, "session_edit.html", status=400, s=posted,
                    regions=_edit_regions(posted), refusal=refusal, today=_today())  # fmt: skip
    return RedirectResponse(f"/patients/{quote(s['patient_id'])}", status_code=303)


async def remove_session(request: Request):
    """``GET|POST /sessions/{sid}/remove``: a confirmation page, then the removal."""
    st = state(request)
    sid = int(request.path_params["sid"])
    if sid > MAX_ID:  # no session of the store (SQLite refuses such a number)
        return error_page(request, f"unknown session {sid}", status=404, title="Session not found")
    try:
        with open_store(st.store_dir, create=False) as store:
            s = store.session(sid)
            if request.method == "GET":
                return page(request, "session_remove.html", s=s)
            await form(request)
            remove_checked_session(store, sid)  # the checks against a removed baseline re-run
    except MesovisionError as e:
        return _unknown_session(request, e, sid)
    return RedirectResponse(f"/patients/{quote(s['patient_id'])}", status_code=303)
