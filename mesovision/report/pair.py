"""A report for one pair of photos without a patient record (``compare ... --report``).

:func:`pair_document` turns one comparison (its ``result.json`` record and the images written
beside it) into a course document of two sessions, so the same report — summary, viewer,
heatmaps, measures, quality, methods — is written for a single comparison. The sessions' dates
are the photos' capture dates (EXIF ``DateTimeOriginal``) when they have one, else the dates of
the files' last modification; the report says which.
"""

from __future__ import annotations

import datetime
import os
from pathlib import Path

__all__ = ["pair_document", "photo_date"]


def photo_date(info: dict) -> tuple[str, str]:
    """``(YYYY-MM-DD, source)`` of a photo from its ``inputs`` entry of the record: the EXIF
    capture date, else the file's modification date (source ``"file date"``)."""
    taken = ((info.get("capture") or {}).get("datetime_original") or "").strip()
    if len(taken) >= 10:
        try:
            return datetime.date.fromisoformat(taken[:10].replace(":", "-")).isoformat(), "taken"
        except ValueError:
            pass
    mtime = os.stat(info["file"]).st_mtime
    return datetime.datetime.fromtimestamp(mtime, datetime.UTC).date().isoformat(), "file date"


def pair_document(record: dict, images: dict[str, str], *, generated_by: str) -> dict:
    """A two-session course document (schema of :mod:`mesovision.report`) for one comparison.

    ``record`` is the comparison record (``result.json``), ``images`` the comparison's image
    files by document name (``before``, ``normalized_after``, ``heatmap_<family>_<side>``...).
    """
    inputs = record["inputs"]
    treated = list((record.get("settings") or {}).get("treated") or [])
    (d_before, how_b), (d_after, how_a) = photo_date(inputs["before"]), photo_date(inputs["after"])
    if d_after < d_before:  # same-day or undated pairs keep their order
        d_after = d_before
    sessions, notes = [], []
    for k, (role, date, how) in enumerate(
        (("before", d_before, how_b), ("after", d_after, how_a)), start=1
    ):
        path = Path(inputs[role]["file"])
        sessions.append(
            {
                "id": k,
                "date": date,
                "treated": treated if role == "after" else [],
                "product": None,
                "notes": None,
                "photo": {
                    "id": k,
                    "sha256": inputs[role]["sha256"],
                    "path": str(path),
                    "file_name": path.name,
                    "capture_date": date if how == "taken" else None,
                    "checks": [],
                },
            }
        )
        if how != "taken":
            notes.append(f"{path.name}: no capture date in the photo; the file's date is shown")
    return {
        "schema_version": "1.1",
        "generated_by": generated_by,
        "patient": {"id": None, "name": None, "birth_year": None},
        "view": (record.get("settings") or {}).get("mode", "face"),
        "sessions": sessions,
        "notes": notes,
        "refusals": [],
        "comparisons": [
            {
                "session_id": 2,
                "against": "baseline",
                "against_session_id": 1,
                "record": record,
                "images": images,
            }
        ],
    }
