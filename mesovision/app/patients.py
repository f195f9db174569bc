"""The patients' pages: the list with search, adding a patient, and a patient's course page.

The search filters the list in the page's own script (``static/app.js``), with case and
accents ignored as :func:`_folded` folds them: what is typed is never sent to the server, so
no name lands in an address or the browser's history.

A patient is removed after a confirmation page where the id is typed (:func:`remove_patient`).
The course page lists the sessions on a timeline (date, treated areas, product, notes, photos
and their checks) and shows, for the chosen session, the report's own sections
(:func:`mesovision.report.html.report_body`: summary, before/after viewer with slider, flicker,
heatmaps and change maps, course figure, measures, sessions, quality, methods). The course
document behind them comes from :func:`mesovision.course.course_document` on the job worker
(:mod:`mesovision.app.course_jobs`); while it runs the page shows its progress.
"""

from __future__ import annotations

import unicodedata
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse

from ..errors import MesovisionError, UsageError
from ..report import not_compared_reasons
from ..store import open_store, validate_view
from ..views import views_of
from . import course_jobs
from .web import form, library_error, page, session_query, state

__all__ = ["add_patient", "patient_page", "patients_page", "remove_patient", "set_patient_ipd"]


def _folded(text: str) -> str:
    """``text`` for searching: case and accents folded (``Zoé Çelik`` → ``zoe celik``)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


async def patients_page(request: Request, refusal: dict | None = None):
    """``GET /patients``: every patient, each row with its id and name folded for the search
    (``data-search``: :func:`_folded`, id and name on two lines), which the page's script
    filters as the user types: the words searched never reach the server or the address.
    With ``refusal`` (a patient not added): the form again, with the values typed and the
    message beside the field it is about, status 400."""
    with open_store(state(request).store_dir) as store:
        rows = store.patients()
    for p in rows:
        p["search"] = f"{_folded(p['id'])}\n{_folded(p['name'] or '')}"
    if refusal is None:
        return page(request, "patients.html", patients=rows, refusal={}, typed={})
    return page(request, "patients.html", status=400, patients=rows, refusal=refusal,
                typed=refusal["typed"])  # fmt: skip


async def add_patient(request: Request):
    """``POST /patients``: add a patient (id, optional name and birth year); refused, the
    form again with the message beside the field (:func:`patients_page`)."""
    data = await form(request)
    pid = str(data.get("id", "")).strip()
    name = str(data.get("name", "")).strip() or None
    year = str(data.get("birth_year", "")).strip()
    ipd_text = str(data.get("ipd_mm", "")).strip()
    typed = {"id": pid, "name": name or "", "birth_year": year, "ipd_mm": ipd_text}
    try:
        if year and not (year.isascii() and year.isdigit()):  # not '²' or '٣'
            message = f"birth year {year!r} is not a number"
            return await patients_page(
                request, {"field": "year", "message": message, "typed": typed}
            )
        ipd = _ipd_mm(ipd_text)
        with open_store(state(request).store_dir) as store:
            store.add_patient(pid, name=name, birth_year=int(year) if year else None, ipd_mm=ipd)
    except MesovisionError as e:
        field = "year" if "birth year" in e.message else "id"
        field = "ipd" if "interpupillary" in e.message else field
        return await patients_page(request, {"field": field, "message": e.message, "typed": typed})
    return RedirectResponse(f"/patients/{quote(pid)}", status_code=303)


def _ipd_mm(text: str) -> float | None:
    """The interpupillary distance typed (mm; empty: none), checked as ``--ipd-mm`` is."""
    from ..scale import check_ipd_mm

    if not text:
        return None
    try:  # ASCII digits and one point only: not '٦٣' or '6,3e1'
        ok = text.isascii() and text.replace(".", "", 1).isdigit()
        value = float(text) if ok else float("nan")
    except ValueError:
        value = float("nan")
    if value != value:
        raise UsageError(f"interpupillary distance {text!r} is not a number of mm")
    check_ipd_mm(value, "interpupillary distance")
    return value


async def set_patient_ipd(request: Request):
    """``POST /patients/{pid}/ipd``: set or clear (empty) the patient's interpupillary distance
    (as ``mesovision patient edit --ipd-mm``); back to the patient's page, whose course is
    compared again at the new scale. Refused: the error page with the message."""
    pid = request.path_params["pid"]
    try:
        data = await form(request)
        ipd = _ipd_mm(str(data.get("ipd_mm", "")).strip())
        with open_store(state(request).store_dir, create=False) as store:
            store.set_patient_ipd(pid, ipd)
    except MesovisionError as e:
        return library_error(request, e)
    return RedirectResponse(f"/patients/{quote(pid)}", status_code=303)


async def patient_page(request: Request):
    """``GET /patients/{pid}?session=&view=``: the patient's course page."""
    st = state(request)
    pid = request.path_params["pid"]
    view = request.query_params.get("view", "front")
    try:
        validate_view(view)
        chosen = session_query(request)
        with open_store(st.store_dir) as store:
            patient = store.patient(pid)
            sessions = store.sessions(pid)
        job = course_jobs.start(st, patient, view, sessions)
        body = data = compared = None
        why = {}
        if job is not None and job.state == "done":  # rendering takes seconds: off the loop
            # a session compared with the one before it only is shown against that one
            compared = {c["session_id"] for c in job.result["comparisons"]}
            why = not_compared_reasons(job.result)
            if chosen and int(chosen) in why:  # filed, but not comparable: the timeline says why
                chosen = None
            body, data = await run_in_threadpool(
                course_jobs.body, st, job, int(chosen) if chosen else None
            )
    except (MesovisionError, ValueError) as e:
        return library_error(request, e)
    filed = request.query_params.get("session")
    filed = int(filed) if filed and filed.isdigit() else None
    # the warnings of filing: kept while the page reloads itself for the comparisons
    final = job is None or job.state in ("done", "failed")
    notices = (st.notices.pop if final else st.notices.get)(filed, [])
    filed_info = (st.filed.pop if final else st.filed.get)(filed, None)
    views = sorted({*views_of(sessions), "front"})
    # the sessions with a photo of the view shown: the first of them is that view's baseline
    in_view = [s["id"] for s in sessions if any(ph["view"] == view for ph in s["photos"])]
    return page(
        request,
        "patient.html",
        patient=patient,
        sessions=sessions,
        job=job.as_dict() if job is not None else None,
        body=body,
        image_data=data,
        view=view,
        views=views,
        chosen=chosen,
        compared=compared,
        why=why,
        in_view=in_view,
        filed=filed,
        notices=notices,
        filed_info=filed_info,
    )


async def remove_patient(request: Request):
    """``GET|POST /patients/{pid}/remove``: a confirmation page where the id is typed, then
    the removal of the patient with every session, photo, copy and cached comparison (as
    ``mesovision patient remove``), the patient's staged uploads (deleted: their thumbnails
    and checks answer 404) and what the server keeps in memory of the course (its comparison
    jobs, rendered pages and notices); another answer removes nothing."""
    st = state(request)
    pid = request.path_params["pid"]
    try:
        with open_store(st.store_dir, create=False) as store:
            patient = store.patient(pid)
            n = len(store.sessions(pid))
            if request.method == "GET":
                return page(request, "patient_remove.html", patient=patient, n_sessions=n)
            data = await form(request)
            if str(data.get("confirm", "")).strip() != pid:
                return page(
                    request,
                    "patient_remove.html",
                    status=400,
                    patient=patient,
                    n_sessions=n,
                    refusal=f"the id typed is not {pid}: nothing removed",
                )
            sessions = [s["id"] for s in store.sessions(pid)]
            store.remove_patient(pid)
    except MesovisionError as e:
        return library_error(request, e)
    st.staging.discard_patient(patient["id"])  # photos uploaded, not filed
    course_jobs.forget(st, pid, sessions)
    return RedirectResponse("/patients", status_code=303)
