"""Stored comparisons of a course: computed once with :data:`COMPARE_SETTINGS`, cached in the
store's ``analyses`` table under the SHA-256 of (both photos' content hashes, settings,
mesovision version), read back on the next run. A photo's content hash is the SHA-256 of the
file imported (the ``sha256`` column, ``original_sha256`` of a photo dict), whichever file is
read: the original filed without ``--copy``, or a managed copy (the same pixels without
identifying metadata), which a backup makes of an original. A comparison cached under the
hashes of the files read (:func:`file_cache_key`, an older key) is found too. A comparison the
photos themselves refuse (no face, a face too small, a head turned too far, an alignment or
lighting fit beyond its limits, another person) is cached too, as an analysis of kind
``refused`` holding the error, and raised again from the cache: a course does not recompute it
on every run. Messages about a stored photo name the file the user imported, not the store's
hashed copy."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging

from .._version import __version__
from ..errors import (
    AlignmentError,
    CaptureError,
    IdentityMismatch,
    InputFileError,
    LightingError,
    MesovisionError,
    NoFace,
)
from ..store import Store
from ..views import view_mode, view_treated

__all__ = [
    "COMPARE_SETTINGS",
    "IPD_VIEW",
    "KEPT_REFUSALS",
    "cache_key",
    "comparison_keys",
    "comparison_settings",
    "file_cache_key",
    "image_paths",
    "photo_path",
    "refuse_changed",
    "stored_comparison",
    "user_name",
]

log = logging.getLogger(__name__)

#: The refusals a stored comparison keeps (analysis ``kind`` ``refused``): they follow from the
#: two photos, the settings and the version alone (a file that cannot be read is not kept: the
#: user may mend it).
KEPT_REFUSALS: tuple[type[MesovisionError], ...] = (
    NoFace,
    CaptureError,
    AlignmentError,
    IdentityMismatch,
    LightingError,
)

#: Settings of every stored comparison (with ``mode`` from the view, ``treated`` and the
#: reference photo's ``px_per_mm`` or the patient's ``ipd_mm``: :func:`comparison_settings`).
COMPARE_SETTINGS = {
    "refine": "ecc",
    "model": "similarity",
    "max_side": 2048,
    "lighting": "reference",
}


#: The view whose comparisons take the patient's interpupillary distance as their scale: the
#: eyes of a photo turned 45 deg are foreshortened (their distance in pixels about 0.7 of the
#: front view's), so that the oblique views' measures in mm would read about 40 % too large.
IPD_VIEW = "front"


def comparison_settings(
    view: str, treated, px_per_mm: float | None = None, ipd_mm: float | None = None
) -> dict:
    """The settings of a stored comparison of ``view``: its mode, :data:`COMPARE_SETTINGS`, the
    treated regions of the view (:func:`mesovision.views.view_treated` of the sessions'
    treated areas ``treated``) and its scale: the reference photo's ``px_per_mm`` when it has
    one (of its file, as ``compare --px-per-mm`` takes it), else in the :data:`IPD_VIEW` the
    patient's interpupillary distance ``ipd_mm`` (as ``compare --ipd-mm`` takes it). The scale
    is part of the cache key, so that a new scale computes the comparison again."""
    mode = view_mode(view)
    regions = sorted(set(view_treated(treated, view)))
    scale = {} if px_per_mm is None else {"px_per_mm": float(px_per_mm)}
    if px_per_mm is None and ipd_mm is not None and view == IPD_VIEW:
        scale = {"ipd_mm": float(ipd_mm)}
    return {"kind": "compare", "mode": mode, **COMPARE_SETTINGS, "treated": regions, **scale}


def cache_key(sha_before: str, sha_after: str, settings: dict, version: str = __version__) -> str:
    """SHA-256 identifying a comparison: the two photos' content hashes (``original_sha256``
    of a stored photo), the settings, the version."""
    blob = json.dumps(
        {"before": sha_before, "after": sha_after, "settings": settings, "version": version},
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()


def comparison_keys(before: dict, after: dict, settings: dict) -> tuple[str, str | None]:
    """``(key, older key or None)`` of the comparison of two stored photos: :func:`cache_key`
    of their content hashes, and :func:`file_cache_key` when it differs (a managed copy)."""
    key = cache_key(before["original_sha256"], after["original_sha256"], settings)
    older = file_cache_key(before, after, settings)
    return key, (older if older != key else None)


def file_cache_key(before: dict, after: dict, settings: dict) -> str:
    """The key a comparison of two stored photos was cached under by stores of mesovision
    0.2.0.dev: the hashes of the files read (``sha256`` of a photo dict: a managed copy's own
    hash). It is found as well as :func:`cache_key`: the same files, the same comparison. It
    changed when a backup made managed copies of originals filed without ``--copy``."""
    return cache_key(before["sha256"], after["sha256"], settings)


def image_paths(store: Store, analysis: dict) -> dict[str, str] | None:
    """``{name: abs path}`` of an analysis's PNGs, or None when ``before.png`` or one of the
    files the comparison wrote is missing."""
    from ..compare import output_names

    folder = store.analysis_dir(analysis["id"])
    mode = (analysis.get("settings") or {}).get("mode", "face")
    names = ["before.png"] + [n for n in output_names(mode) if n.endswith(".png")]
    if analysis["result"].get("lighting") is None:
        names.remove("normalized_after.png")
    paths = {n[: -len(".png")]: folder / n for n in names}
    if not all(p.is_file() for p in paths.values()):
        return None
    return {k: str(v) for k, v in paths.items()}


def photo_path(store: Store, photo: dict) -> str:
    """The file of a stored photo, or :class:`InputFileError` naming it when it is missing: a
    managed copy comes back from a backup, an original filed without ``--copy`` is moved back."""
    p = store.photo_file(photo)
    if not p.is_file():
        advice = (
            "its copy in the store is gone: restore the store from a backup (mesovision store "
            "check lists every problem)"
            if photo.get("managed_path")
            else "move it back, or import photos with --copy to keep a copy in the store"
        )
        raise InputFileError(
            f"photo {photo['id']} of session {photo['session_id']} is missing ({advice})",
            path=str(p),
        )
    return str(p)


def refuse_changed(photo: dict, sha256: str, path: str) -> None:
    """:class:`InputFileError` naming ``path`` when the file of the stored ``photo`` now reads
    ``sha256``, not the SHA-256 it was imported with."""
    if sha256 != photo["sha256"]:
        raise InputFileError(
            f"the file changed since its import as photo {photo['id']} (SHA-256 differs)",
            path=path,
        )


def user_name(photo: dict) -> str:
    """How messages name a stored photo: the file the user imported (its path), or for a photo
    uploaded through the app the file name the browser sent."""
    if photo.get("uploaded"):
        return str(photo["file_name"])
    return str(photo.get("original_path") or photo.get("file_name") or f"photo {photo['id']}")


def stored_comparison(
    store: Store, before: dict, after: dict, *, view: str, treated, ipd_mm: float | None = None
) -> dict:
    """The analysis comparing two stored photos (``before`` the reference), from the cache or
    computed and stored now, at the scale :func:`comparison_settings` gives (``ipd_mm``: the
    patient's). Returns the analysis row with ``images`` (``{name: abs path}``)."""
    settings = comparison_settings(view, treated, before.get("px_per_mm"), ipd_mm)
    key, older = comparison_keys(before, after, settings)
    row = store.find_analysis(key)
    if row is None and older is not None:
        row = store.find_analysis(older)
    if row is not None and row["kind"] == "refused":
        log.info("comparison of photos %d and %d: refused (cached)", before["id"], after["id"])
        raise _refusal(row["result"])
    if row is not None:
        images = image_paths(store, row)
        if images is not None:
            log.info("comparison of photos %d and %d: cached", before["id"], after["id"])
            return {**row, "images": images}
        log.warning("analysis %d: image files missing; computing it again", row["id"])
    try:
        return _compute(store, before, after, settings, key, replace=row, older=older)
    except KEPT_REFUSALS as e:
        store.add_analysis(
            kind="refused",
            photo_ids=[before["id"], after["id"]],
            cache_key=key,
            settings=settings,
            result={
                "error": type(e).__name__,
                "message": e.message,
                "path": e.path,
                "hint": e.hint,
                "check": e.check,
                "value": e.value,
                "limit": e.limit,
            },
            version=__version__,
            replace=row is not None,
            older_keys=(older,) if older else (),
        )
        raise


def _refusal(result: dict) -> MesovisionError:
    """The cached refusal ``result`` of an analysis of kind ``refused``, as its error."""
    cls = {c.__name__: c for c in KEPT_REFUSALS}.get(result.get("error"), MesovisionError)
    return cls(
        result.get("message") or "",
        path=result.get("path"),
        hint=result.get("hint"),
        **{k: result.get(k) for k in ("check", "value", "limit")},
    )


def _compute(store: Store, before: dict, after: dict, settings: dict, key: str, *, replace, older):
    """The comparison of two stored photos, computed and stored (``replace``: the cached row
    whose images went missing, stored under ``key`` or the ``older`` key)."""
    from ..checks import add_body_checks
    from ..compare import compare_pair, comparison_record, output_images
    from ..io import load_photo, to_jsonable
    from ..pipeline import align_pair

    pb, pa = photo_path(store, before), photo_path(store, after)
    # Messages and errors from here on name the user's file, not the store's hashed copy.
    photos = [
        dataclasses.replace(load_photo(p, max_side=settings["max_side"]), path=user_name(ph))
        for p, ph in ((pb, before), (pa, after))
    ]
    # Before anything is computed: a refusal of a changed file must not be cached as the pair's.
    for photo, loaded, path in ((before, photos[0], pb), (after, photos[1], pa)):
        refuse_changed(photo, loaded.sha256, path)
    pair = align_pair(
        photos[0],
        photos[1],
        mode=settings["mode"],
        refine=settings["refine"],
        model=settings["model"],
        max_side=settings["max_side"],
    )
    ppm = None
    if settings["mode"] != "face" or "px_per_mm" in settings or "ipd_mm" in settings:
        # the reference photo's scale, or the patient's interpupillary distance, else (hair
        # modes) a ruler in the photo
        from ..scale import resolve_scale

        scale, pair = resolve_scale(
            pair, px_per_mm=settings.get("px_per_mm"), ipd_mm=settings.get("ipd_mm")
        )
        ppm = scale.px_per_mm_working
    if settings["mode"] == "scalp":  # the frontal hairline
        from ..frontal_hairline import add_hairline

        pair = add_hairline(pair, px_per_mm_working=ppm)
    cmp = compare_pair(
        pair, lighting=settings["lighting"], treated=settings["treated"], px_per_mm_at_before=ppm
    )
    cmp = add_body_checks(cmp)
    images = {"before.png": pair.before.rgb, **output_images(cmp)}
    row = store.add_analysis(
        kind="compare",
        photo_ids=[before["id"], after["id"]],
        cache_key=key,
        settings=settings,
        result=to_jsonable(comparison_record(cmp)),
        version=__version__,
        images=images,
        replace=replace is not None,
        older_keys=(older,) if older else (),
    )
    return {**row, "images": image_paths(store, row) or {}}
