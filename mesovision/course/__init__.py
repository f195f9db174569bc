"""A patient's treatment course as one document: sessions, photos, checks and comparisons.

:func:`course_document` is the contract with the report (``mesovision/report/``) and the source of
``mesovision progress`` and ``mesovision export``. The document is plain JSON types::

    {"schema_version": "1.1",
     "generated_by": "mesovision <version>",
     "patient": {"id": "P001", "name": str | None, "birth_year": int | None},
     "view": "front",
     "sessions": [            # ordered by date (then id); the first is the baseline
        {"id": int, "date": "YYYY-MM-DD", "treated": [region, ...], "product": str | None,
         "notes": str | None,
         "photo": {"id": int, "sha256": str, "path": str (managed copy, else original path),
                   "file_name": str (the user's file name: the last component of the path
                                     filed, or an upload's name as the browser sent it),
                   "original_path": str (the absolute path filed, or "upload:<file name>"
                                         for a photo uploaded through the app: no path),
                   "capture_date": str | None, "checks": [check dicts]}}],
     "comparisons": [         # for every later session: against "baseline", then "previous"
        {"session_id": int, "against": "baseline" | "previous", "against_session_id": int,
         "analysis_id": int,
         "record": <the comparison_record dict, exactly as compare's result.json>,
         "images": {"before": abs path of the reference photo's working copy (PNG),
                    "aligned_after": ..., "normalized_after": ..., "bruise_mask_before": ...,
                    "bruise_mask_after": ..., "heatmap_<family>_<before|after>": ...}}],
     "notes": [str, ...],     # sessions skipped (no photo of the view), comparisons that failed
     "refusals": [            # the comparisons that failed, one per note of a failure
        {"session_id": int, "date": str, "against": "baseline" | "previous",
         "against_session_id": int,
         "photo_session_id": int (the session whose photo the reason names),
         "error": str (the exception's class: "AlignmentError", "NoFace", ...),
         "check": str | None (the limit: "yaw", "residual", ..., mesovision.errors.CHECKS),
         "value": float | None, "limit": float | None (in the message's units),
         "message": str (the reason, as the command line words it),
         "note": str (its note in "notes")}]}

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

from .cache import (
    COMPARE_SETTINGS,
    IPD_VIEW,
    cache_key,
    comparison_settings,
    stored_comparison,
)
from .document import COURSE_SCHEMA_VERSION, ROW_FIELDS, course_document, progress_rows
from .rechecks import date_warnings, edit_checked_session, remove_checked_session
from .sessions import add_checked_session, file_descriptor, same_person_check

__all__ = [
    "COMPARE_SETTINGS",
    "COURSE_SCHEMA_VERSION",
    "IPD_VIEW",
    "ROW_FIELDS",
    "add_checked_session",
    "cache_key",
    "comparison_settings",
    "course_document",
    "date_warnings",
    "edit_checked_session",
    "file_descriptor",
    "progress_rows",
    "remove_checked_session",
    "same_person_check",
    "stored_comparison",
]
