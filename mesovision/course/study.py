"""A clinic store's courses as a batch manifest, for a study's statistics.

:func:`study_manifest` lists the photos of one view of the store's patients (all, or those
named) as the rows of a ``mesovision batch`` manifest: a patient is a ``subject``, its sessions
with a photo of the view are its visits numbered from 0 (the first by date, the course's
baseline), ``path`` is the photo the store reads (its managed copy, else the original file:
absolute, so ``batch --allow-outside``), ``treated`` the session's treated regions of the view
(:func:`mesovision.views.view_treated`: ``area`` for a body, scalp or trichoscopy view the
session names), ``mode`` the view's capture mode, ``px_per_mm`` the photo's scale (empty
without one), ``ipd_mm`` the patient's interpupillary distance on the front view's photos
without a scale of their own (the scale a course's comparisons take: ``patient add --ipd-mm``;
empty otherwise), and the covariates ``x_date`` (the session's date) and ``x_session``
(its id). Visits are numbered, not dated: a batch groups the subjects by timepoint, and each
patient's dates are their own. An ``arm`` column is left to the study (add it to the CSV).
"""

from __future__ import annotations

from ..store import Store
from ..views import validate_view, view_mode, view_treated
from .cache import IPD_VIEW

__all__ = ["MANIFEST_FIELDS", "study_manifest"]

#: The manifest's columns, in order.
MANIFEST_FIELDS = (
    "subject",
    "timepoint",
    "view",
    "path",
    "treated",
    "mode",
    "px_per_mm",
    "ipd_mm",
    "x_date",
    "x_session",
)


def study_manifest(store: Store, *, view: str = "front", patients=None) -> list[dict]:
    """The manifest rows (:data:`MANIFEST_FIELDS`) of ``view``'s photos of ``patients`` (ids;
    default every patient of the store, in id order), in patient then visit order. An unknown
    patient raises :class:`~mesovision.errors.UnknownPatient`."""
    view = validate_view(view)
    ids = [p["id"] for p in store.patients()] if patients is None else list(patients)
    rows = []
    for pid in ids:
        visit = 0
        ipd = store.patient(pid)["ipd_mm"] if view == IPD_VIEW else None
        for s in store.sessions(pid):
            photo = next((p for p in s["photos"] if p["view"] == view), None)
            if photo is None:
                continue
            rows.append(
                {
                    "subject": pid,
                    "timepoint": visit,
                    "view": view,
                    "path": str(store.photo_file(photo).resolve()),
                    "treated": ";".join(view_treated(s["treated"], view)),
                    "mode": view_mode(view),
                    "px_per_mm": photo["px_per_mm"],
                    "ipd_mm": ipd if photo["px_per_mm"] is None else None,
                    "x_date": s["date"],
                    "x_session": s["id"],
                }
            )
            visit += 1
    return rows
