"""The ``same_person`` check of a face photo against the course's baseline photo: the
face-descriptor distance (:mod:`mesovision.identity`) and its limit."""

from __future__ import annotations

import logging

from ..errors import InputFileError, MesovisionError

__all__ = ["file_descriptor", "same_person_check"]

log = logging.getLogger(__name__)


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
