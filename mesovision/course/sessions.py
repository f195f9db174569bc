"""Adding a session to a course with the capture checks of its photos and the identity check
against the baseline (one transaction; refused faults raise unless ``force``).

The identity check is public (:func:`file_descriptor`, :func:`same_person_check`, from
:mod:`mesovision.course.same_person`): the clinic app (:mod:`mesovision.app`) shows it as soon
as a photo is uploaded, with the numbers filed later."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from ..errors import IdentityMismatch, UsageError
from ..store import Store
from .same_person import file_descriptor, same_person_check

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
    scales: Sequence[float | None] | None = None,
) -> tuple[dict, list]:
    """Check each ``(path, view)`` photo (against the course's first photo of that view, when
    there is one) and file them as one session. Returns ``(session, capture reports)``.

    ``upload_names`` maps the path of a photo uploaded through the app (a staged copy, deleted
    after filing) to the file name the browser sent: the store records that name
    (``upload:<name>``, ``PhotoImport.upload_name``) instead of the path. Uploads need ``copy``.

    ``scales``: each photo's pixels per mm of its file (None: no scale; default none), filed with
    it (``PhotoImport.px_per_mm``); a photo of a view that needs one (``trichoscopy:``) without it
    raises :class:`UsageError` before any check runs.

    A photo already in the store raises :class:`UsageError`; a failed capture check raises
    :class:`CaptureError` (nothing imported) unless ``force``. A session dated before the
    baseline becomes it: its photos are checked without a baseline, and the other sessions'
    checks are re-run against it (:mod:`mesovision.course.rechecks`; a new failure refused as
    a new photo's is). A date in the future, or one the patient already has a session on, is
    logged as a warning (:func:`~mesovision.course.rechecks.date_warnings`).
    ``on_report(report)`` is called for each photo's capture report as soon as it is made.

    Face views are also checked against the baseline's face (:mod:`mesovision.identity`): another
    person raises :class:`~mesovision.errors.IdentityMismatch` (nothing imported; before any
    capture-check refusal) unless ``force``; a face too small to tell who it is (it fails
    ``face_size``) gets no identity check and no descriptor: its capture failure is refused.
    The outcome is filed with the photo as a ``same_person`` entry of its checks (the
    descriptor distance and the limit); each face photo's descriptor is kept in its
    ``features`` (``face_descriptor``) for later sessions.
    """
    from ..store import check_photo_scale
    from .rechecks import date_warnings, make_recheck

    store.patient(patient_id)
    scales = list(scales) if scales is not None else [None] * len(photos)
    for (path, view), scale in zip(photos, scales, strict=True):
        check_photo_scale(view, scale, path=path)
    names = dict(upload_names or {})
    before = store.sessions(patient_id)
    reports, descriptors, identity = _check_photos(store, patient_id, date, photos, on_report)
    _refuse_faults(reports, identity, force=force, names=names)
    for w in date_warnings(store, patient_id, date):
        log.warning("%s", w)
    session = store.import_session(
        patient_id,
        date=date,
        photos=_imports(photos, reports, descriptors, identity, scales, names),
        treated=treated,
        product=product,
        notes=notes,
        copy=copy,
        # a session before the baseline becomes it: the others' checks run against it
        recheck=make_recheck(
            store,
            before,
            force=force,
            refused="nothing imported (use --force to import it anyway)",
        ),
    )
    return session, reports


def _imports(photos, reports, descriptors, identity, scales, names) -> list:
    """The :class:`~mesovision.store.PhotoImport` of each ``(path, view)`` photo: its capture
    report, face descriptor, ``same_person`` check, scale and uploaded file name."""
    from ..store import PhotoImport

    return [
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
            px_per_mm=scale,
        )
        for r, (path, view), desc, check, scale in zip(
            reports, photos, descriptors, identity, scales, strict=True
        )
    ]


def _check_photos(
    store: Store, patient_id: str, date: str, photos: list[tuple[str, str]], on_report
) -> tuple[list, list, list]:
    """The capture report, face descriptor (or None) and ``same_person`` check (or None) of each
    ``(path, view)`` photo of a session dated ``date``, checked against the course's baseline
    photo of its view (none when the session comes before it: it becomes the baseline). A
    photo already in the store raises :class:`UsageError`."""
    from ..checks import CaptureFeatures, check_photo
    from ..io import sha256_file
    from .rechecks import face_too_small

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
        if base is not None and date < store.session(base["session_id"])["date"]:
            base = None  # this session becomes the baseline of the view
        features = (
            CaptureFeatures.from_dict(base["features"]) if base and base["features"] else None
        )
        report = check_photo(path, view=view, baseline=features)
        if on_report is not None:
            on_report(report)
        reports.append(report)
        # a face too small to tell who it is gets no descriptor: its capture failure is reported
        small = face_too_small(report.features.as_dict())
        found = report.features.face_found and not small
        desc = file_descriptor(path, report.sha256) if found else None
        descriptors.append(desc)
        identity.append(_identity(store, base, desc))
    return reports, descriptors, identity


def _identity(store: Store, base: dict | None, desc) -> dict | None:
    """The ``same_person`` check of a photo's face descriptor ``desc`` against the baseline
    photo ``base`` (None without either; not assessed when the baseline's face is too small)."""
    from .rechecks import baseline_too_small, face_too_small

    if base is None or desc is None:
        return None
    if face_too_small(base["features"]):
        return baseline_too_small(base)
    return same_person_check(base, str(store.photo_file(base)), desc)


#: The capture checks whose failure the comparison with the baseline refuses too (the
#: alignment's pose limits, :data:`mesovision.align.THRESHOLDS`): a photo filed past them with
#: ``--force`` is never compared.
_UNCOMPARABLE = ("yaw_vs_baseline", "pitch_vs_baseline")


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
        hint = "retake the photo, or use --force to import it anyway"
        if any(f["name"] in _UNCOMPARABLE for q, f in failed if q is r):  # past the alignment's
            hint = (  # limit: --force files it, but no comparison with the baseline will take it
                "retake the photo: --force would import it, but it could not be compared with "
                "the baseline (its turn from the baseline is past the comparison's limit)"
            )
        raise CaptureError(
            f"{c['name']}: {c['message']}{more}; nothing imported ({hint})", path=r.path
        )
