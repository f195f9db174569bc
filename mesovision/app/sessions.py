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

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from ..course import add_checked_session, edit_checked_session, remove_checked_session
from ..errors import CaptureError, IdentityMismatch, MesovisionError
from ..regions import REGION_NAMES, validate_region_names
from ..store import FACE_VIEWS, open_store, validate_date, validate_view
from . import uploads
from .web import STATIC, app_wording, error_page, form, library_error, page, state

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


async def new_session_page(request: Request):
    """``GET /patients/{pid}/sessions/new``."""
    pid = request.path_params["pid"]
    try:
        with open_store(state(request).store_dir) as store:
            patient = store.patient(pid)
            n = len(store.sessions(pid))
    except MesovisionError as e:
        return library_error(request, e)
    diagram = (STATIC / "face_regions.svg").read_text(encoding="utf-8")
    regions = [r for r in REGION_NAMES if r != "face"]
    return page(request, "session_new.html", patient=patient, n_sessions=n, diagram=diagram,
                regions=regions, views=FACE_VIEWS)  # fmt: skip


async def upload_photo(request: Request):
    """``POST /uploads`` (fields ``file``, ``view``, ``patient``): stage and check a photo."""
    st = state(request)
    data = await form(request)
    f = data.get("file")
    if f is None or isinstance(f, str):
        return JSONResponse({"error": "no file in the upload"}, status_code=400)
    try:
        view = validate_view(str(data.get("view", "front")))
        with open_store(st.store_dir) as store:
            pid = store.patient(str(data.get("patient", "")))["id"]
    except MesovisionError as e:
        return JSONResponse({"error": e.message}, status_code=400)
    up = await run_in_threadpool(st.staging.add, f.filename, f.file, view=view, patient_id=pid)
    await f.close()
    job = st.jobs.submit(
        "check", ("check", up.id), lambda p: uploads.check_upload(st.store_dir, up)
    )
    return JSONResponse({"upload": up.id, "name": up.name, "job": job.id})


async def upload_status(request: Request):
    """``GET /uploads/{uid}``: the upload's checks (once the job has run)."""
    up = state(request).staging.get(request.path_params["uid"])
    if up is None:
        return JSONResponse({"error": "unknown upload"}, status_code=404)
    return JSONResponse({"upload": up.id, "name": up.name, "error": up.error,
                         "report": up.report, "thumb": up.thumb is not None})  # fmt: skip


async def discard_upload(request: Request):
    """``POST /uploads/{uid}/discard``: forget a staged photo (retaken) and delete its file."""
    await form(request)
    state(request).staging.discard(request.path_params["uid"])
    return JSONResponse({"discarded": request.path_params["uid"]})


async def upload_thumb(request: Request):
    """``GET /uploads/{uid}/thumb.jpg``: the thumbnail with the regions drawn."""
    up = state(request).staging.get(request.path_params["uid"])
    if up is None or up.thumb is None:
        return Response(status_code=404)
    return Response(up.thumb, media_type="image/jpeg")


def _accepted_notes(staged: list, data) -> tuple[list[str], bool]:
    """The notes recording each accepted failing photo, and whether every failing photo has a
    reason."""
    notes, complete = [], True
    for up in staged:
        failed = [c["name"] for c in (up.report or {}).get("checks", [])
                  if not c["ok"] and c["severity"] == "fail"]  # fmt: skip
        reason = str(data.get(f"accept_{up.id}", "")).strip()
        if failed and not reason:
            complete = False
        elif failed:
            notes.append(f"accepted: {up.name}: {', '.join(failed)}: {reason}")
    return notes, complete


def _file_session(store_dir, pid: str, args: dict, *, complete: bool, rebaseline: bool) -> dict:
    """``add_checked_session`` without ``force``, then with it when the refusal is for checks
    that every failing photo's reason accepts."""
    with open_store(store_dir) as store:
        store.rebaseline_note(pid, args["date"], rebaseline=rebaseline)
        try:
            return add_checked_session(store, pid, **args)[0]
        except (IdentityMismatch, CaptureError):
            if not complete:
                raise
            return add_checked_session(store, pid, force=True, **args)[0]


def _message(e: MesovisionError, staged: list) -> str:
    """The refusal as the page says it: the photo by the user's file name (not its staged
    path), and the app's way past a failed check instead of the command line's."""
    names = {str(u.path): u.name for u in staged}
    text = app_wording(e.message)
    return f"{names[e.path]}: {text}" if e.path in names else text


def _answer(request: Request, *, error: str | None = None, location: str | None = None):
    """The page's script asks for JSON (``Accept: application/json``): ``{"error": ...}`` or
    ``{"location": ...}``, status 200 either way (a refusal is an answer the page shows beside
    the photos, not a failed request); a plain form post gets the error page or a redirect."""
    if "application/json" in request.headers.get("accept", ""):
        return JSONResponse({"error": error} if error else {"location": location})
    return error_page(request, error) if error else RedirectResponse(location, status_code=303)


async def add_session(request: Request):
    """``POST /patients/{pid}/sessions``: file the session with its staged photos."""
    st = state(request)
    pid = request.path_params["pid"]
    data = await form(request)
    staged = [st.staging.get(u) for u in data.getlist("photo")]
    if not staged or any(u is None or u.report is None for u in staged):
        return _answer(request, error="add at least one photo and wait for its checks")
    try:
        date = validate_date(str(data.get("date", "")))
        treated = validate_region_names(",".join(data.getlist("treated"))) if data.getlist(
            "treated") else ()  # fmt: skip
        photos = [(str(u.path), validate_view(str(data.get(f"view_{u.id}", u.view))))
                  for u in staged]  # fmt: skip
        accepted, complete = _accepted_notes(staged, data)
        notes = "\n".join([str(data.get("notes", "")).strip(), *accepted]).strip() or None
        args = dict(date=date, photos=photos, treated=treated, copy=True, notes=notes,
                    product=str(data.get("product", "")).strip() or None,
                    upload_names={str(u.path): u.name for u in staged})  # fmt: skip
        rebaseline = bool(data.get("rebaseline"))
        # seconds of work (landmarks, descriptors): off the event loop, the server keeps answering
        session = await run_in_threadpool(
            _file_session, st.store_dir, pid, args, complete=complete, rebaseline=rebaseline
        )
    except MesovisionError as e:
        return _answer(request, error=_message(e, staged))
    for u in staged:
        st.staging.discard(u.id)
    return _answer(request, location=f"/patients/{pid}?session={session['id']}")


async def edit_session(request: Request):
    """``GET|POST /sessions/{sid}/edit``: correct date, treated areas, product, notes."""
    st = state(request)
    sid = int(request.path_params["sid"])
    try:
        with open_store(st.store_dir, create=False) as store:
            s = store.session(sid)
            if request.method == "GET":
                regions = [r for r in REGION_NAMES if r != "face"]
                return page(request, "session_edit.html", s=s, regions=regions)
            data = await form(request)
            date = str(data.get("date", "")).strip()
            rebaseline = bool(data.get("rebaseline"))
            # the checks a new baseline makes stale are re-run and filed (ticking the box
            # accepts the new baseline, as --rebaseline --force does)
            edit_checked_session(
                store,
                sid,
                force=rebaseline,
                date=date,
                treated=validate_region_names(",".join(data.getlist("treated"))),
                product=str(data.get("product", "")),
                notes=str(data.get("notes", "")),
                rebaseline=rebaseline,
            )
    except MesovisionError as e:
        return library_error(request, e)
    return RedirectResponse(f"/patients/{s['patient_id']}", status_code=303)


async def remove_session(request: Request):
    """``GET|POST /sessions/{sid}/remove``: a confirmation page, then the removal."""
    st = state(request)
    sid = int(request.path_params["sid"])
    try:
        with open_store(st.store_dir, create=False) as store:
            s = store.session(sid)
            if request.method == "GET":
                return page(request, "session_remove.html", s=s)
            await form(request)
            remove_checked_session(store, sid)  # the checks against a removed baseline re-run
    except MesovisionError as e:
        return library_error(request, e)
    return RedirectResponse(f"/patients/{s['patient_id']}", status_code=303)
