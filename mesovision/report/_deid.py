"""What a report made with ``deidentify`` leaves out, as a copy of the course document.

:func:`deidentified` gives the document such a report is rendered from: no patient id, name or
birth year; no session notes or products (free text can name the patient: "Mme Dupont, tel
..."); no photo capture dates; and every calendar date (sessions, refusals, course notes) as
the days since the first session ("day 0", "day 28"), since every date element but the year is
an identifier under HIPAA's Safe Harbor method. The photos' paths and file names stay in the
copy only so that the report can replace them wherever a message quotes them
(:func:`mesovision.report._sessions.photo_names`); the eyes are blurred when the images are
embedded (:mod:`mesovision.report._images`). The face stays recognisable, so such a report is
still personal health data.

:func:`day_number` and :func:`short_date` read a session's date in either form, for the
figures and the side-effect days.
"""

from __future__ import annotations

import datetime
import re

__all__ = ["LEFT_OUT", "day_number", "deidentified", "short_date"]

#: What a de-identified report says it leaves out (its header, HTML and PDF).
LEFT_OUT = (
    "Shared version: eyes blurred; name, patient id, birth year, file names, notes, products "
    "and calendar dates left out (days since the first session instead). The face stays "
    "recognisable: this is still personal health data."
)

_ISO = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_DAY = re.compile(r"day (-?\d+)")


def _iso(text: str) -> datetime.date | None:
    try:
        return datetime.date.fromisoformat(str(text))
    except ValueError:
        return None


def day_number(date: str) -> int:
    """A session date as a day count: an ISO date's ordinal, or the ``N`` of ``day N``."""
    m = _DAY.fullmatch(str(date))
    if m:
        return int(m.group(1))
    return datetime.date.fromisoformat(str(date)).toordinal()


def short_date(date: str) -> str:
    """A session date for a figure's axis: ``5 Jan`` of an ISO date, ``day N`` as it is."""
    d = _iso(date)
    return f"{d.day} {d.strftime('%b')}" if d else str(date)


def _days_since(first: datetime.date | None):
    """A function replacing every ISO date of a text by ``day N`` since ``first`` (``a date``
    when the first session's date is not an ISO date)."""

    def day(m: re.Match) -> str:
        d = _iso(m.group())
        return f"day {(d - first).days}" if d and first else "a date"

    return lambda text: None if text is None else _ISO.sub(day, str(text))


def deidentified(doc: dict) -> dict:
    """A copy of the course document ``doc`` as a de-identified report shows it (see the module
    docstring); the comparisons (records and images) are shared with ``doc``."""
    days = _days_since(_iso(doc["sessions"][0]["date"]))
    sessions = [
        {
            **s,
            "date": days(s["date"]),
            "product": None,
            "notes": None,
            "photo": {**(s.get("photo") or {}), "capture_date": None},
        }
        for s in doc["sessions"]
    ]
    refusals = [
        {
            **r,
            "date": days(r.get("date")),
            "message": days(r.get("message")),
            "note": days(r.get("note")),
        }
        for r in doc.get("refusals") or []
    ]
    patient = None if doc["patient"].get("id") is None else ""
    return {
        **doc,
        "patient": {"id": patient, "name": None, "birth_year": None},
        "sessions": sessions,
        "refusals": refusals,
        "notes": [days(n) for n in doc.get("notes") or []],
    }
