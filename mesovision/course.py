"""A patient's treatment course as one document: sessions, photos, checks and comparisons.

:func:`course_document` is the contract with the report (``mesovision/report/``) and the source of
``mesovision progress`` and ``mesovision export``. The document is plain JSON types::

    {"schema_version": "1.0",
     "generated_by": "mesovision <version>",
     "patient": {"id": "P001", "name": str | None, "birth_year": int | None},
     "view": "front",
     "sessions": [            # ordered by date (then id); the first is the baseline
        {"id": int, "date": "YYYY-MM-DD", "treated": [region, ...], "product": str | None,
         "notes": str | None,
         "photo": {"id": int, "sha256": str, "path": str (managed copy, else original path),
                   "file_name": str, "capture_date": str | None, "checks": [check dicts]}}],
     "comparisons": [         # for every later session: against "baseline", then "previous"
        {"session_id": int, "against": "baseline" | "previous", "against_session_id": int,
         "analysis_id": int,
         "record": <the comparison_record dict, exactly as compare's result.json>,
         "images": {"before": abs path of the reference photo's working copy (PNG),
                    "aligned_after": ..., "normalized_after": ..., "bruise_mask_before": ...,
                    "bruise_mask_after": ..., "heatmap_<family>_<before|after>": ...}}],
     "notes": [str, ...]}     # sessions skipped (no photo of the view), comparisons that failed

All images of a comparison are in the reference photo's working frame and live in
``<store>/analyses/<analysis_id>/``. For the second session "previous" is the baseline: both
entries are present (the same cached analysis). ``session=ID`` keeps the comparisons of that
session only; ``sessions`` then lists the baseline, the previous session and that one.

Comparisons are :func:`mesovision.compare.compare_pair` with :data:`COMPARE_SETTINGS`, the
treated regions being those of every session from the reference to the later one (they are left
out of the lighting reference). Each is computed once and cached in the store's ``analyses``
table under the SHA-256 of ``(both photo hashes, settings, mesovision version)``: a second run
reads it back. A comparison that cannot be made (head turned too far, no face, ...) is left out
with a note; a photo file that is missing or changed since its import is an error.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path

from ._version import __version__
from .errors import (
    IdentityMismatch,
    InputFileError,
    InvalidImage,
    MesovisionError,
    UsageError,
)
from .store import Store
from .views import FACE_VIEWS, validate_view

__all__ = [
    "COMPARE_SETTINGS",
    "COURSE_SCHEMA_VERSION",
    "ROW_FIELDS",
    "add_checked_session",
    "cache_key",
    "comparison_settings",
    "course_document",
    "progress_rows",
    "stored_comparison",
]

log = logging.getLogger(__name__)

COURSE_SCHEMA_VERSION = "1.0"
#: Settings of every stored comparison (with ``mode`` from the view and ``treated``).
COMPARE_SETTINGS = {
    "refine": "ecc",
    "model": "similarity",
    "max_side": 2048,
    "lighting": "reference",
}
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
    "z",
    "q",
    "significant",
    "comparability",
)


def comparison_settings(view: str, treated) -> dict:
    mode = "face" if view in FACE_VIEWS else "body"
    return {"kind": "compare", "mode": mode, **COMPARE_SETTINGS, "treated": sorted(set(treated))}


def cache_key(sha_before: str, sha_after: str, settings: dict, version: str = __version__) -> str:
    """SHA-256 identifying a comparison: the two photos' hashes, the settings, the version."""
    blob = json.dumps(
        {"before": sha_before, "after": sha_after, "settings": settings, "version": version},
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()


def _image_paths(store: Store, analysis: dict) -> dict[str, str] | None:
    """``{name: abs path}`` of an analysis's PNGs, or None when ``before.png`` or one of the
    files the comparison wrote is missing."""
    from .compare import output_names

    folder = store.analysis_dir(analysis["id"])
    names = ["before.png"] + [n for n in output_names() if n.endswith(".png")]
    if analysis["result"].get("lighting") is None:
        names.remove("normalized_after.png")
    paths = {n[: -len(".png")]: folder / n for n in names}
    if not all(p.is_file() for p in paths.values()):
        return None
    return {k: str(v) for k, v in paths.items()}


def _photo_path(store: Store, photo: dict) -> str:
    p = store.photo_file(photo)
    if not p.is_file():
        raise InputFileError(
            f"photo {photo['id']} of session {photo['session_id']} is missing (move it back, or "
            "import photos with --copy to keep a copy in the store)",
            path=str(p),
        )
    return str(p)


def _user_name(photo: dict) -> str:
    """How messages name a stored photo: the file the user imported."""
    return str(photo.get("original_path") or photo.get("file_name") or f"photo {photo['id']}")


def stored_comparison(store: Store, before: dict, after: dict, *, view: str, treated) -> dict:
    """The analysis comparing two stored photos (``before`` the reference), from the cache or
    computed and stored now. Returns the analysis row with ``images`` (``{name: abs path}``)."""
    settings = comparison_settings(view, treated)
    key = cache_key(before["sha256"], after["sha256"], settings)
    row = store.find_analysis(key)
    if row is not None:
        images = _image_paths(store, row)
        if images is not None:
            log.info("comparison of photos %d and %d: cached", before["id"], after["id"])
            return {**row, "images": images}
        log.warning("analysis %d: image files missing; computing it again", row["id"])
    from .compare import compare_pair, comparison_record, output_images
    from .io import load_photo, to_jsonable
    from .pipeline import align_pair

    pb, pa = _photo_path(store, before), _photo_path(store, after)
    # Messages and errors from here on name the user's file, not the store's hashed copy.
    photos = [
        dataclasses.replace(load_photo(p, max_side=settings["max_side"]), path=_user_name(ph))
        for p, ph in ((pb, before), (pa, after))
    ]
    pair = align_pair(
        photos[0],
        photos[1],
        mode=settings["mode"],
        refine=settings["refine"],
        model=settings["model"],
        max_side=settings["max_side"],
    )
    for photo, loaded, path in ((before, pair.before, pb), (after, pair.after, pa)):
        if loaded.sha256 != photo["sha256"]:
            raise InputFileError(
                f"the file changed since its import as photo {photo['id']} (SHA-256 differs)",
                path=path,
            )
    cmp = compare_pair(pair, lighting=settings["lighting"], treated=settings["treated"])
    images = {"before.png": pair.before.rgb, **output_images(cmp)}
    row = store.add_analysis(
        kind="compare",
        photo_ids=[before["id"], after["id"]],
        cache_key=key,
        settings=settings,
        result=to_jsonable(comparison_record(cmp)),
        version=__version__,
        images=images,
        replace=row is not None,
    )
    return {**row, "images": _image_paths(store, row) or {}}


def _session_entry(store: Store, s: dict, photo: dict) -> dict:
    return {
        "id": s["id"],
        "date": s["date"],
        "treated": s["treated"],
        "product": s["product"],
        "notes": s["notes"],
        "photo": {
            "id": photo["id"],
            "sha256": photo["sha256"],
            "path": str(store.photo_file(photo)),
            "file_name": Path(photo["original_path"]).name,
            "capture_date": photo["capture_date"],
            "checks": photo["checks"],
        },
    }


def add_checked_session(
    store: Store,
    patient_id: str,
    *,
    date: str,
    photos: list[tuple[str, str]],
    treated=(),
    product: str | None = None,
    notes: str | None = None,
    copy: bool = False,
    force: bool = False,
    on_report=None,
) -> tuple[dict, list]:
    """Check each ``(path, view)`` photo (against the course's first photo of that view, when
    there is one) and file them as one session. Returns ``(session, capture reports)``.

    A photo already in the store raises :class:`UsageError`; a failed capture check raises
    :class:`CaptureError` (nothing imported) unless ``force``. ``on_report(report)`` is called
    for each photo's capture report as soon as it is made.

    Face views are also checked against the baseline's face (:mod:`mesovision.identity`): another
    person raises :class:`~mesovision.errors.IdentityMismatch` (nothing imported; before any
    capture-check refusal) unless ``force``. The outcome is filed with the photo as a
    ``same_person`` entry of its checks (the descriptor distance and the limit); each face
    photo's descriptor is kept in its ``features`` (``face_descriptor``) for later sessions.
    """
    from .store import PhotoImport

    store.patient(patient_id)
    reports, descriptors, identity = _check_photos(store, patient_id, photos, on_report)
    _refuse_faults(reports, identity, force=force)
    session = store.import_session(
        patient_id,
        date=date,
        photos=[
            PhotoImport(
                path=r.path,
                view=view,
                sha256=r.sha256,
                capture_date=r.capture_date,
                checks=[*r.checks, check] if check is not None else r.checks,
                features={
                    **r.features.as_dict(),
                    **({"face_descriptor": desc.as_dict()} if desc is not None else {}),
                },
            )
            for r, (_, view), desc, check in zip(
                reports, photos, descriptors, identity, strict=True
            )
        ],
        treated=treated,
        product=product,
        notes=notes,
        copy=copy,
    )
    return session, reports


def _check_photos(
    store: Store, patient_id: str, photos: list[tuple[str, str]], on_report
) -> tuple[list, list, list]:
    """The capture report, face descriptor (or None) and ``same_person`` check (or None) of each
    ``(path, view)`` photo, checked against the course's baseline photo of its view. A photo
    already in the store raises :class:`UsageError`."""
    from .checks import CaptureFeatures, check_photo
    from .io import sha256_file

    reports, descriptors, identity = [], [], []
    for path, view in photos:
        old = store.photo_by_hash(sha256_file(path))
        if old is not None:
            raise UsageError(
                f"this photo is already in the store (photo {old['id']}, patient "
                f"{old['patient_id']}, session {old['session_id']} of {old['date']})",
                path=path,
            )
        base = store.baseline_photo(patient_id, view)
        features = (
            CaptureFeatures.from_dict(base["features"]) if base and base["features"] else None
        )
        report = check_photo(path, view=view, baseline=features)
        if on_report is not None:
            on_report(report)
        reports.append(report)
        desc = _face_descriptor(path, report.sha256) if report.features.face_found else None
        descriptors.append(desc)
        identity.append(_same_person_check(store, base, desc) if base and desc else None)
    return reports, descriptors, identity


def _refuse_faults(reports: list, identity: list, *, force: bool) -> None:
    """Refuse the session, unless ``force``: another person first (:class:`IdentityMismatch`),
    then a failed capture check (:class:`~mesovision.errors.CaptureError`); with ``force`` the
    other person is logged."""
    from .errors import CaptureError

    # Another person is the graver fault: refused first.
    for r, check in zip(reports, identity, strict=True):
        if check is not None and not check["ok"] and check["severity"] == "fail":
            if not force:
                raise IdentityMismatch(
                    f"{check['message']}; nothing imported (use --force to import it anyway)",
                    path=r.path,
                )
            log.warning("%s: %s; imported (--force)", r.path, check["message"])
    failed = [(r, c) for r in reports for c in r.failed]
    if failed and not force:
        r, c = failed[0]
        more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
        raise CaptureError(
            f"{c['name']}: {c['message']}{more}; nothing imported (retake the photo, or "
            "use --force to import it anyway)",
            path=r.path,
        )


def _face_descriptor(path: str, sha256: str, *, max_side: int = 2048):
    """The face descriptor of a photo file, loaded as the capture checks load it; None without a
    face. Raises :class:`InputFileError` when the file's SHA-256 is not ``sha256`` (it changed)."""
    from .errors import NoFace
    from .identity import face_descriptor
    from .io import load_photo
    from .landmarks import detect_landmarks

    photo = load_photo(path, max_side=max_side)
    if photo.sha256 != sha256:
        raise InputFileError("the file changed since it was checked or imported", path=path)
    try:
        lm = detect_landmarks(photo.rgb, path=path)
    except NoFace:
        return None
    return face_descriptor(photo.rgb, lm)


def _same_person_check(store: Store, base: dict, desc) -> dict:
    """The ``same_person`` check dict of a face descriptor against the baseline photo ``base``:
    its stored descriptor, else (photos filed before descriptors were kept, or by another model)
    one computed from its file now. When the baseline's face cannot be had, the entry is a
    warning that says why."""
    from .identity import FaceDescriptor, compare_descriptors

    where = f"the baseline photo (photo {base['id']}, session {base['session_id']})"
    entry = {
        "name": "same_person",
        "severity": "fail",
        "unit": "descriptor distance",
        "baseline_photo_id": base["id"],
    }
    stored = (base["features"] or {}).get("face_descriptor")
    ref = FaceDescriptor.from_dict(stored) if stored else None
    why = None
    if ref is None or ref.model_sha256 != desc.model_sha256:
        try:
            ref = _face_descriptor(str(store.photo_file(base)), base["sha256"])
        except MesovisionError as e:  # the baseline's file: missing, unreadable or changed
            ref, why = None, e.message
        else:
            why = None if ref is not None else "no face found in it"
    if ref is None:
        msg = f"not assessed: no face descriptor of {where} ({why})"
        log.warning("%s", msg)
        return {
            **entry,
            "ok": False,
            "severity": "warn",
            "value": None,
            "threshold": None,
            "message": msg,
        }
    check = compare_descriptors(ref, desc, reference=where)
    return {
        **entry,
        "ok": check.passed,
        "value": check.distance,
        "threshold": check.threshold,
        "message": "ok" if check.passed else check.note,
        "descriptor_model_sha256": check.descriptor_model_sha256,
    }


def course_document(
    store_dir: str | os.PathLike[str] | Store,
    patient_id: str,
    *,
    view: str = "front",
    session: int | None = None,
    on_step: Callable[[int, int, str], None] | None = None,
) -> dict:
    """The course document of ``patient_id`` for ``view`` (see the module docstring).

    Computes (and caches) any comparison not in the store yet; ``on_step(done, total, label)``
    is called before each comparison (for a progress display). Raises :class:`UsageError` for an
    unknown patient or session, or a session of another patient.
    """
    if isinstance(store_dir, Store):
        return _document(store_dir, patient_id, view=view, session=session, on_step=on_step)
    with Store(store_dir) as store:
        return _document(store, patient_id, view=view, session=session, on_step=on_step)


def _document(
    store: Store, patient_id: str, *, view: str, session: int | None, on_step=None
) -> dict:
    view = validate_view(view)
    patient = store.patient(patient_id)
    all_sessions = store.sessions(patient_id)
    if session is not None and session not in {s["id"] for s in all_sessions}:
        store.session(session)  # unknown id: UsageError naming it
        raise UsageError(f"session {session} is not a session of patient {patient_id}")
    notes: list[str] = []
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
                an = stored_comparison(store, ref_photo, photo, view=view, treated=treated)
            except MesovisionError as e:
                if isinstance(e, (InputFileError, InvalidImage, UsageError)):
                    raise  # the files or the request are wrong: the user must act
                notes.append(
                    f"session {s['id']} ({s['date']}) against {against} (session {ref['id']}): "
                    f"not compared: {e}"
                )
                log.warning("%s", notes[-1])
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
        },
        "view": view,
        "sessions": [_session_entry(store, s, p) for s, p in course],
        "comparisons": comparisons,
        "notes": notes,
    }


def progress_rows(doc: dict) -> list[dict]:
    """Tidy rows (one per comparison, region and metric) with the columns of
    :data:`ROW_FIELDS`; ``session`` is the later session's id and ``date`` its date."""
    dates = {s["id"]: s["date"] for s in doc["sessions"]}
    rows = []
    for c in doc["comparisons"]:
        verdicts = c["record"].get("comparability") or {}
        for region, metrics in c["record"]["changes"].items():
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
                        "z": ch.get("z"),
                        "q": ch.get("q"),
                        "significant": ch["significant"],
                        "comparability": (verdicts.get(ch.get("family")) or {}).get("status"),
                    }
                )
    return rows
