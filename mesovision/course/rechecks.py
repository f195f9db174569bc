"""Keeping a course's stored checks true after an edit: a photo's new view, a new baseline.

A photo's checks (:mod:`mesovision.checks`, and its ``same_person`` check,
:mod:`mesovision.course.same_person`) depend on its view and on the baseline of that view (the
photo of the first session by date, then id). An edit that changes either re-runs them from the
photo's stored features (the measures do not depend on which face view a photo is filed under;
a change between a face view and a ``body:``/``scalp:`` view measures the file again):

* ``session edit --view``: the photo's checks for its new view;
* any change of a view's baseline (``session edit --date`` with ``--rebaseline``, ``session add
  --rebaseline``, ``session remove`` of the baseline, or a view change that makes or unmakes a
  baseline): every photo of that view, against the new baseline (the baseline itself has no
  ``*_vs_baseline`` or ``same_person`` check).

The re-run happens inside the edit's transaction (:meth:`mesovision.store.Store.edit_session`'s
``recheck``). An edit is refused as ``session add`` refuses a photo, unless ``force``: a
re-run check that fails where the stored checks did not fail with the same finding (a failure
accepted with ``--force`` at filing stays accepted): another person first
(:class:`~mesovision.errors.IdentityMismatch`), then a failed capture check
(:class:`~mesovision.errors.CaptureError`). A removal is never refused (its re-run checks are
stored as they come out).

Cached comparisons are keyed by the two photos' hashes and the settings (:mod:`.cache`): a
changed baseline compares other pairs, and a new view drops the photo's cached comparisons.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from ..errors import CaptureError, IdentityMismatch, MesovisionError
from ..store import Store
from ..views import FACE_VIEWS

__all__ = [
    "baselines",
    "checks_against",
    "face_too_small",
    "date_warnings",
    "edit_checked_session",
    "make_recheck",
    "remove_checked_session",
]

log = logging.getLogger(__name__)


def baselines(sessions: Sequence[dict]) -> dict[str, int]:
    """``{view: the id of its baseline photo}``: the photo of that view in the first session
    (by date, then id) that has one."""
    out: dict[str, int] = {}
    for s in sorted(sessions, key=lambda s: (s["date"], s["id"])):
        for p in s["photos"]:
            out.setdefault(p["view"], p["id"])
    return out


def face_too_small(features: dict | None) -> bool:
    """The photo's face (its stored ``features``) is too small to tell who it is: it fails the
    ``face_size`` check (:data:`~mesovision.checks.thresholds.MIN_INTEROCULAR_PX` between the
    eyes). A face descriptor of a few pixels says nothing about the person, so no
    ``same_person`` check is made on it: the capture failure is what is reported."""
    from ..checks.thresholds import MIN_INTEROCULAR_PX

    iod = (features or {}).get("interocular_px")
    return iod is not None and not iod >= MIN_INTEROCULAR_PX


def baseline_too_small(base: dict) -> dict:
    """The ``same_person`` entry (a warning, not assessed) against a baseline photo (a store
    photo row) whose face is too small to tell who it is (:func:`face_too_small`)."""
    from ..checks.thresholds import MIN_INTEROCULAR_PX

    iod = base["features"]["interocular_px"]
    msg = (
        f"not assessed: the face of the baseline photo (photo {base['id']}, session "
        f"{base['session_id']}) is too small to tell who it is ({iod:.0f} px between the eyes, "
        f"minimum {MIN_INTEROCULAR_PX:.0f})"
    )
    log.warning("%s", msg)
    return {
        "name": "same_person",
        "ok": False,
        "severity": "warn",
        "value": None,
        "threshold": None,
        "unit": "descriptor distance",
        "baseline_photo_id": base["id"],
        "message": msg,
    }


def checks_against(store: Store, features: dict, base: dict | None, *, photo: dict) -> list[dict]:
    """The checks of a photo with the stored ``features`` against the baseline photo ``base``
    (a store photo row, or None for a baseline): the capture checks, then for a face photo with
    a face large enough to tell who it is (:func:`face_too_small`) its ``same_person`` check
    (not assessed when the baseline's face is too small)."""
    from ..checks import CaptureFeatures, evaluate_capture

    f = CaptureFeatures.from_dict(features)
    ref = CaptureFeatures.from_dict(base["features"]) if base and base["features"] else None
    checks = evaluate_capture(f, baseline=ref)
    if base is None or f.view not in FACE_VIEWS or not f.face_found or face_too_small(features):
        return checks
    if face_too_small(base["features"]):
        return [*checks, baseline_too_small(base)]
    desc = _descriptor(store, photo, features)
    if desc is None:
        return checks
    from .same_person import same_person_check

    try:
        base_path = str(store.photo_file(base))
    except MesovisionError:
        base_path = ""  # an upload without its copy: the check says it was not assessed
    return [*checks, same_person_check(base, base_path, desc)]


def _descriptor(store: Store, photo: dict, features: dict):
    """The photo's face descriptor: the stored one, else from its file (None when that cannot
    be read)."""
    from ..identity import FaceDescriptor
    from .same_person import file_descriptor

    stored = features.get("face_descriptor")
    if stored:
        return FaceDescriptor.from_dict(stored)
    try:
        return file_descriptor(str(store.photo_file(photo)), photo["sha256"])
    except MesovisionError:
        return None


def _failures(checks: Sequence[dict]) -> set[tuple[str, str]]:
    return {(c["name"], c["message"]) for c in checks if not c["ok"] and c["severity"] == "fail"}


def make_recheck(
    store: Store,
    before: Sequence[dict],
    *,
    photo_id: int | None = None,
    features: dict | None = None,
    force: bool = False,
    refuse: bool = True,
    refused: str = "nothing changed (use --force to change it anyway)",
):
    """The ``recheck`` callable of a store edit (see the module docstring): ``before`` is the
    patient's sessions before the edit; ``photo_id`` a photo whose view the edit changes (its
    checks re-run whatever the baseline) and ``features`` its features for the new view (None:
    its stored ones). Photos that did not exist before (a new session's, checked as filed) are
    left as they are. Without ``refuse`` (a removal) nothing is refused; otherwise a new
    failure raises unless ``force`` (the error ends with ``refused``: what did not happen and
    how to accept it)."""
    old = baselines(before)
    known = {p["id"] for s in before for p in s["photos"]}

    def recheck(sessions: list[dict]) -> dict[int, dict]:
        photos = {p["id"]: (s, p) for s in sessions for p in s["photos"]}
        now = baselines(sessions)
        moved = {v for v in set(now) | set(old) if now.get(v) != old.get(v)}
        targets = [i for i, (_, p) in photos.items() if p["view"] in moved and i in known]
        if photo_id is not None and photo_id in photos and photo_id not in targets:
            targets.append(photo_id)
        updates: dict[int, dict] = {}
        for i in sorted(targets):
            s, p = photos[i]
            own = features if i == photo_id and features is not None else p["features"]
            if own is None:
                continue  # filed without its measures: nothing to run them from
            own = {**own, "view": p["view"]}
            base = photos[now[p["view"]]][1] if now[p["view"]] != i else None
            updates[i] = {
                "checks": checks_against(store, own, base, photo=p),
                "features": own if own != p["features"] else None,
                "session_id": s["id"],
                "view": p["view"],
            }
        if refuse:
            _refuse_new_failures(updates, photos, force=force, refused=refused)
        return updates

    return recheck


def _refuse_new_failures(updates: dict, photos: dict, *, force: bool, refused: str) -> None:
    """Refuse (unless ``force``) a re-run check failing where the photo's stored checks did not
    fail with that finding: another person first, then a capture check."""
    from .cache import user_name

    new = []
    for i, u in updates.items():
        s, p = photos[i]
        for name, message in sorted(_failures(u["checks"]) - _failures(p["checks"])):
            new.append((p, s, name, message))
    who = [n for n in new if n[2] == "same_person"]
    for p, s, _, message in who:
        where = f"photo {p['id']} of session {s['id']} ({p['view']})"
        if not force:
            raise IdentityMismatch(
                f"{where}: {message}; {refused}",
                path=user_name(p),
            )
        log.warning("%s: %s: %s; accepted (--force)", user_name(p), where, message)
    rest = [n for n in new if n[2] != "same_person"]
    if rest and not force:
        p, s, name, message = rest[0]
        more = f" (and {len(rest) - 1} more)" if len(rest) > 1 else ""
        raise CaptureError(
            f"photo {p['id']} of session {s['id']} as {p['view']}: {name}: {message}{more}; "
            f"{refused}",
            path=user_name(p),
        )


def _features_for_view(store: Store, photo: dict, view: str) -> dict | None:
    """The features of a photo filed under ``view``: its stored ones relabelled, or (between a
    face view and a body or scalp view, or when none are stored) measured again from its file,
    with its face descriptor for a face view."""
    stored = photo["features"]
    if stored is not None and (stored.get("view") in FACE_VIEWS) == (view in FACE_VIEWS):
        return {**stored, "view": view}
    from ..checks import check_photo
    from .cache import photo_path, refuse_changed, user_name
    from .same_person import file_descriptor

    path = photo_path(store, photo)
    report = check_photo(path, view=view)
    refuse_changed(photo, report.sha256, user_name(photo))
    features = report.features.as_dict()
    if view in FACE_VIEWS and report.features.face_found:
        desc = file_descriptor(path, report.sha256)
        if desc is not None:
            features["face_descriptor"] = desc.as_dict()
    return features


def _kept(recheck):
    """``(recheck, what it returned)``: a recheck that keeps its updates in a dict the caller
    holds (a store edit returns the session, not the updates)."""
    kept: dict = {}

    def keeping(sessions):
        kept.update(recheck(sessions))
        return kept

    return keeping, kept


def edit_checked_session(
    store: Store, session_id: int, *, force: bool = False, **edit
) -> tuple[dict, dict]:
    """:meth:`Store.edit_session` (``edit``: its keyword arguments) with the checks the edit
    affects re-run (module docstring). Returns ``(the session, {photo id: its re-run checks,
    "features", "session_id", "view"})``."""
    from ..views import validate_view

    old = store.session(session_id)
    before = store.sessions(old["patient_id"])
    photo_id, features = edit.get("photo_id"), None
    view = edit.get("view")
    if view is not None:
        validate_view(view)
        ids = [p["id"] for p in old["photos"]]
        if photo_id is None and len(ids) == 1:
            photo_id = ids[0]
        photo = next((p for p in old["photos"] if p["id"] == photo_id), None)
        if photo is not None and photo["view"] != view:
            features = _features_for_view(store, photo, view)
        else:
            photo_id = None  # the store says what is wrong, or nothing changes
    recheck, rechecked = _kept(
        make_recheck(store, before, photo_id=photo_id, features=features, force=force)
    )
    session = store.edit_session(session_id, recheck=recheck, **edit)
    return session, rechecked


def remove_checked_session(store: Store, session_id: int) -> tuple[dict, dict]:
    """:meth:`Store.remove_session` with the checks of the photos whose baseline the removal
    changes re-run against the new one (never refused). Returns ``(the removed session,
    {photo id: its re-run checks, ...})``."""
    old = store.session(session_id)
    recheck, rechecked = _kept(make_recheck(store, store.sessions(old["patient_id"]), refuse=False))
    return store.remove_session(session_id, recheck=recheck), rechecked


def date_warnings(
    store: Store, patient_id: str, date: str, *, session_id: int | None = None
) -> list[str]:
    """What to warn about a session (``session_id``, or a new one) dated ``date``: a date in
    the future (almost always a typo), and another session of the patient on that date (two
    visits a day can be real: the ids tell them apart)."""
    import datetime

    out = []
    today = datetime.date.today()
    if datetime.date.fromisoformat(date) > today:
        out.append(
            f"session date {date} is in the future (today is {today.isoformat()}): a typo? "
            "correct it with mesovision session edit ID --date YYYY-MM-DD"
        )
    same = [i for i in store.sessions_on(patient_id, date) if i != session_id]
    if same:
        ids = ", ".join(map(str, same))
        out.append(
            f"patient {patient_id} already has session {ids} on {date}: this is another "
            "session of that day (mesovision session remove ID removes a duplicate)"
        )
    return out
