"""Adding a session to a course with the capture checks of its photos and the identity check
against the baseline (one transaction; refused faults raise unless ``force``).

The identity check is public (:func:`file_descriptor`, :func:`same_person_check`): the clinic
app (:mod:`mesovision.app`) shows it as soon as a photo is uploaded, with the numbers filed
later."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from ..errors import IdentityMismatch, InputFileError, MesovisionError, UsageError
from ..store import Store

__all__ = ["add_checked_session", "file_descriptor", "same_person_check"]

log = logging.getLogger(__name__)


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
    upload_names: Mapping[str, str] | None = None,
) -> tuple[dict, list]:
    """Check each ``(path, view)`` photo (against the course's first photo of that view, when
    there is one) and file them as one session. Returns ``(session, capture reports)``.

    ``upload_names`` maps the path of a photo uploaded through the app (a staged copy, deleted
    after filing) to the file name the browser sent: the store records that name
    (``upload:<name>``, ``PhotoImport.upload_name``) instead of the path. Uploads need ``copy``.

    A photo already in the store raises :class:`UsageError`; a failed capture check raises
    :class:`CaptureError` (nothing imported) unless ``force``. ``on_report(report)`` is called
    for each photo's capture report as soon as it is made.

    Face views are also checked against the baseline's face (:mod:`mesovision.identity`): another
    person raises :class:`~mesovision.errors.IdentityMismatch` (nothing imported; before any
    capture-check refusal) unless ``force``. The outcome is filed with the photo as a
    ``same_person`` entry of its checks (the descriptor distance and the limit); each face
    photo's descriptor is kept in its ``features`` (``face_descriptor``) for later sessions.
    """
    from ..store import PhotoImport

    store.patient(patient_id)
    names = dict(upload_names or {})
    reports, descriptors, identity = _check_photos(store, patient_id, photos, on_report)
    _refuse_faults(reports, identity, force=force, names=names)
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
                upload_name=names.get(path),
            )
            for r, (path, view), desc, check in zip(
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
    from ..checks import CaptureFeatures, check_photo
    from ..io import sha256_file

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
        desc = file_descriptor(path, report.sha256) if report.features.face_found else None
        descriptors.append(desc)
        identity.append(
            same_person_check(base, str(store.photo_file(base)), desc) if base and desc else None
        )
    return reports, descriptors, identity


def _refuse_faults(reports: list, identity: list, *, force: bool, names: dict) -> None:
    """Refuse the session, unless ``force``: another person first (:class:`IdentityMismatch`),
    then a failed capture check (:class:`~mesovision.errors.CaptureError`); with ``force`` the
    other person is logged (an upload by its file name, ``names``)."""
    from ..errors import CaptureError

    # Another person is the graver fault: refused first.
    for r, check in zip(reports, identity, strict=True):
        if check is not None and not check["ok"] and check["severity"] == "fail":
            if not force:
                raise IdentityMismatch(
                    f"{check['message']}; nothing imported (use --force to import it anyway)",
                    path=r.path,
                )
            who = names.get(r.path, r.path)
            log.warning("%s: %s; imported (--force)", who, check["message"])
    failed = [(r, c) for r in reports for c in r.failed]
    if failed and not force:
        r, c = failed[0]
        more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
        raise CaptureError(
            f"{c['name']}: {c['message']}{more}; nothing imported (retake the photo, or "
            "use --force to import it anyway)",
            path=r.path,
        )


def file_descriptor(path: str, sha256: str, *, max_side: int = 2048):
    """The face descriptor of a photo file, loaded as the capture checks load it; None without a
    face. Raises :class:`InputFileError` when the file's SHA-256 is not ``sha256`` (it changed)."""
    from ..errors import NoFace
    from ..identity import face_descriptor
    from ..io import load_photo
    from ..landmarks import detect_landmarks_upright

    photo = load_photo(path, max_side=max_side)
    if photo.sha256 != sha256:
        raise InputFileError("the file changed since it was checked or imported", path=path)
    try:
        _, rgb, lm = detect_landmarks_upright(photo.rgb, path=path)
    except NoFace:
        return None
    return face_descriptor(rgb, lm)


def same_person_check(base: dict, base_path: str, desc) -> dict:
    """The ``same_person`` check dict of a face descriptor against the baseline photo ``base`` (a
    store photo row, its file at ``base_path``): its stored descriptor, else (photos filed
    before descriptors were kept, or by another model) one computed from its file now. When the
    baseline's face cannot be had, the entry is a warning that says why."""
    from ..identity import FaceDescriptor, compare_descriptors

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
            ref = file_descriptor(base_path, base["sha256"])
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
