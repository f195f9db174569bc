"""The course document of a patient and view (see :mod:`mesovision.course`) and its tidy rows
(``mesovision progress`` and ``mesovision export``)."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable

from .._version import __version__
from ..errors import (
    FORCE_HINT,
    InputFileError,
    InvalidImage,
    MesovisionError,
    StoreReadOnly,
    UsageError,
)
from ..store import Store
from ..views import validate_view, view_treated
from .cache import stored_comparison, user_name

__all__ = [
    "ASSUMED_SCALE_NOTE",
    "COURSE_SCHEMA_VERSION",
    "ROW_FIELDS",
    "course_document",
    "progress_rows",
    "scale_notes",
]

log = logging.getLogger(__name__)

COURSE_SCHEMA_VERSION = "1.1"


#: Columns of :func:`progress_rows` (``mesovision export``), in order.
ROW_FIELDS = (
    "patient",
    "session",
    "date",
    "against",
    "region",
    "metric",
    "unit",
    "before",
    "after",
    "delta",
    "relative",
    "noise_floor",
    "se",
    "null_scale",
    "null_df",
    "z",
    "p",
    "q",
    "significant",
    "comparability",
)


def _session_entry(store: Store, s: dict, photo: dict, view: str) -> dict:
    return {
        "id": s["id"],
        "date": s["date"],
        "treated": view_treated(s["treated"], view),
        "treated_areas": s["treated"],
        "product": s["product"],
        "notes": s["notes"],
        "photo": {
            "id": photo["id"],
            "sha256": photo["sha256"],
            "path": str(store.photo_file(photo)),
            "file_name": photo["file_name"],
            "original_path": photo["original_path"],
            "capture_date": photo["capture_date"],
            "px_per_mm": photo.get("px_per_mm"),
            "checks": photo["checks"],
        },
    }


def course_document(
    store_dir: str | os.PathLike[str] | Store,
    patient_id: str,
    *,
    view: str = "front",
    session: int | None = None,
    on_step: Callable[[int, int, str], None] | None = None,
    warn: bool = True,
) -> dict:
    """The course document of ``patient_id`` for ``view`` (see the module docstring).

    Computes (and caches) any comparison not in the store yet; ``on_step(done, total, label)``
    is called before each comparison (for a progress display). A comparison that cannot be made
    is a note of the document (and logged at INFO unless ``warn`` is false: for a caller that
    prints the notes itself; they come back on every run, so they are no warning). Raises
    :class:`UsageError` for an unknown patient or session, or a session of another patient.
    """
    kw = {"view": view, "session": session, "on_step": on_step, "warn": warn}
    if isinstance(store_dir, Store):
        return _document(store_dir, patient_id, **kw)
    with Store(store_dir) as store:
        return _document(store, patient_id, **kw)


#: What a course note says of a threshold's refusal, in place of :data:`FORCE_HINT`.
_FORCED_NOTE = "not comparable as taken (mesovision compare --force compares the files anyway)"


def _refusal_note(e: MesovisionError) -> str:
    """Why a stored comparison was refused, with the advice that applies to a course: a
    threshold's refusal cannot be forced there (``--force`` is the command line's, for two
    files)."""
    if e.hint != FORCE_HINT:
        return str(e)  # "<path>: <reason> (<hint>)"
    why = f"{e.path}: {e.message}" if e.path else e.message
    return f"{why}; {_FORCED_NOTE}"


def _refusal(e: MesovisionError, session: dict, against: str, ref: dict, photos, note) -> dict:
    """The document's entry of a comparison of ``session`` against ``ref`` that ``e`` refused
    (``note``: the document's note of it):
    the limit that refused it (:data:`mesovision.errors.CHECKS`), its value and the session
    whose photo the error names (``photos``: the reference's and the later session's stored
    photo; the later session when it names neither, or both)."""
    pairs = zip((ref, session), photos, strict=True)
    named = [s["id"] for s, p in pairs if user_name(p) == e.path]
    return {
        "session_id": session["id"],
        "date": session["date"],
        "against": against,
        "against_session_id": ref["id"],
        "photo_session_id": named[0] if len(named) == 1 else session["id"],
        "error": type(e).__name__,
        "check": e.check,
        "value": e.value,
        "limit": e.limit,
        "message": e.message,
        "note": note,
    }


def _document(
    store: Store, patient_id: str, *, view: str, session: int | None, on_step=None, warn=True
) -> dict:
    view = validate_view(view)
    patient = store.patient(patient_id)
    all_sessions = store.sessions(patient_id)
    if session is not None and session not in {s["id"] for s in all_sessions}:
        store.session(session)  # unknown id: UsageError naming it
        raise UsageError(f"session {session} is not a session of patient {patient_id}")
    notes: list[str] = []
    refusals: list[dict] = []
    course: list[tuple[dict, dict]] = []  # (session, its photo of the view)
    for s in all_sessions:
        photo = next((p for p in s["photos"] if p["view"] == view), None)
        if photo is None:
            notes.append(f"session {s['id']} ({s['date']}) has no {view} photo: skipped")
        else:
            course.append((s, photo))
    if session is not None and session not in {s["id"] for s, _ in course}:
        raise UsageError(f"session {session} has no {view} photo")
    comparisons = []
    keep: set[int] = set()
    wanted = [i for i in range(1, len(course)) if session is None or course[i][0]["id"] == session]
    done = 0
    for i in wanted:
        s, photo = course[i]
        keep |= {course[0][0]["id"], course[i - 1][0]["id"], s["id"]}
        for against, j in (("baseline", 0), ("previous", i - 1)):
            ref, ref_photo = course[j]
            if on_step is not None:
                on_step(done, 2 * len(wanted), f"session {s['id']} against {against}")
            done += 1
            treated = {r for t, _ in course[j : i + 1] for r in t["treated"]}
            try:
                an = stored_comparison(
                    store, ref_photo, photo, view=view, treated=treated, ipd_mm=patient["ipd_mm"]
                )
            except MesovisionError as e:
                if isinstance(e, (InputFileError, InvalidImage, UsageError, StoreReadOnly)):
                    raise  # the files, the store or the request are wrong: the user must act
                note = (
                    f"session {s['id']} ({s['date']}) against {against} (session {ref['id']}): "
                    f"not compared: {_refusal_note(e)}"
                )
                refusals.append(_refusal(e, s, against, ref, (ref_photo, photo), note))
                if j == 0 and against == "previous":  # the baseline's pair, noted once
                    continue
                notes.append(note)
                if warn:
                    log.info("%s", note)
                continue
            comparisons.append(
                {
                    "session_id": s["id"],
                    "against": against,
                    "against_session_id": ref["id"],
                    "analysis_id": an["id"],
                    "record": an["result"],
                    "images": an["images"],
                }
            )
    if session is not None:
        keep.add(session)
        course = [(s, p) for s, p in course if s["id"] in keep]
    return {
        "schema_version": COURSE_SCHEMA_VERSION,
        "generated_by": f"mesovision {__version__}",
        "patient": {
            "id": patient["id"],
            "name": patient["name"],
            "birth_year": patient["birth_year"],
            # the scale of the front view's comparisons, when the patient has one
            **({"ipd_mm": patient["ipd_mm"]} if patient["ipd_mm"] is not None else {}),
        },
        "view": view,
        "sessions": [_session_entry(store, s, p, view) for s, p in course],
        "comparisons": comparisons,
        "notes": notes + clipping_notes(comparisons, course) + scale_notes(comparisons),
        "refusals": refusals,
    }


#: The course note of body comparisons measured at the assumed scale (``result.json``
#: ``scale.source`` ``"assumed"``), with that scale.
ASSUMED_SCALE_NOTE = (
    "dimple and stretch-mark counts assume {ppm:g} px per mm (they can be off by tens of "
    "percent, and the measures in mm are missing): give the photo's scale with session add "
    "--px-per-mm, or session edit ID --photo ID --px-per-mm, for counts at the true scale and "
    "measures in mm"
)


def clipping_notes(comparisons: list[dict], course: list[tuple[dict, dict]]) -> list[str]:
    """The clipping warnings of each comparison with the baseline (``result.json``
    ``clipping.warnings``: a region that loses more than a quarter of its skin to clipping;
    ``clipping.gamut_warnings``: more than a quarter of its colours clipped by the conversion
    from the file's colour profile), one note each, naming the session."""
    dates = {s["id"]: s["date"] for s, _ in course}
    return [
        f"session {c['session_id']} ({dates.get(c['session_id'], '?')}) against baseline "
        f"(session {c['against_session_id']}): {line}"
        for c in comparisons
        if c["against"] == "baseline"
        for key in ("warnings", "gamut_warnings")
        for line in ((c["record"].get("clipping") or {}).get(key) or {}).values()
    ]


def scale_notes(comparisons: list[dict]) -> list[str]:
    """One note when a comparison of the course ran at an assumed scale (body mode without the
    reference photo's scale, :func:`mesovision.record.scale_record`), else none."""
    assumed = [
        (c["record"].get("scale") or {}).get("px_per_mm_assumed")
        for c in comparisons
        if (c["record"].get("scale") or {}).get("source") == "assumed"
    ]
    return [ASSUMED_SCALE_NOTE.format(ppm=assumed[0])] if assumed else []


def progress_rows(doc: dict) -> list[dict]:
    """Tidy rows (one per comparison, region and metric) with the columns of
    :data:`ROW_FIELDS`; ``session`` is the later session's id and ``date`` its date. The
    regions are those of the record's changes, then (scalp views) the frontal hairline's sites
    (:func:`mesovision.record.record_changes`; ``comparability`` ``None``: no family verdict
    applies to the hairline's test)."""
    from ..record import null_columns, record_changes

    dates = {s["id"]: s["date"] for s in doc["sessions"]}
    rows = []
    for c in doc["comparisons"]:
        verdicts = c["record"].get("comparability") or {}
        for region, metrics in record_changes(c["record"]).items():
            for metric, ch in metrics.items():
                rows.append(
                    {
                        "patient": doc["patient"]["id"],
                        "session": c["session_id"],
                        "date": dates[c["session_id"]],
                        "against": c["against"],
                        "region": region,
                        "metric": metric,
                        "unit": ch["unit"],
                        "before": ch["before"],
                        "after": ch["after"],
                        "delta": ch["delta"],
                        "relative": ch["relative"],
                        "noise_floor": ch["noise_floor"],
                        "se": ch.get("se"),
                        **null_columns(ch),
                        "z": ch.get("z"),
                        "p": ch.get("p"),
                        "q": ch.get("q"),
                        "significant": ch["significant"],
                        "comparability": (verdicts.get(ch.get("family")) or {}).get("status"),
                    }
                )
    return rows
