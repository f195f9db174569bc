"""The sessions of a report: which comparison it shows, why the others were not compared, and
how it names the photos.

**Photos by session, not by file.** Folders and file names often carry the patient's name and
birth date, so without ``show_name`` (and always with ``deidentify``) a photo is named by its
view and session date ("the front photo of 2026-02-02"; with ``deidentify`` the session's day,
"the front photo of day 28"), never by its path or file name; with ``show_name`` by its file
name, never by its folders. :func:`photo_names` gives the
replacements and :func:`scrub` applies them to any text (course notes, session notes).

**Why a session was not compared.** A course document's ``refusals``
(:func:`mesovision.course.course_document`) say which comparison the photos refused, by which
limit (``check``), and the value and limit measured. :func:`refusals` words them for the clinic
("head turned 18° from the pose in the first session's photo (limit 15°); retake facing the
camera, as in that photo"), without file paths or command-line advice; a refusal by no named
limit keeps its message, photos named as the report names them. A document of schema 1.0 has
no ``refusals``: its notes are listed as they are.

**The comparison shown** (:func:`choose_comparison`): a session's comparison with the first
session, else its comparison with the previous session (a course whose later photos the first
one refuses can still show how each session compares with the one before it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import UsageError
from . import _doc

__all__ = [
    "Refusal",
    "against_words",
    "reference_caption",
    "choose_comparison",
    "intro_text",
    "not_compared_lines",
    "not_compared_reasons",
    "note_lists",
    "other_notes",
    "photo_label",
    "photo_names",
    "previous_only",
    "previous_refused",
    "reference_words",
    "refusals",
    "scrub",
    "session_cells",
    "session_head",
]


def photo_label(doc: dict, session: dict) -> str:
    """``the front photo of 2026-02-02`` (``the before photo`` / ``the after photo`` in a
    report of one pair of photos, which has no sessions of its own)."""
    if doc["patient"].get("id") is None:
        return "the before photo" if session is doc["sessions"][0] else "the after photo"
    view = str(doc.get("view") or "front").replace(":", " ").replace("_", " ")
    return f"the {view} photo of {session['date']}"


def photo_names(doc: dict, *, show_name: bool, deidentify: bool) -> list[tuple[str, str]]:
    """``(text, replacement)`` for every path and file name of the course's photos, longest
    first: each photo's file name with ``show_name`` (not ``deidentify``), else its label
    (:func:`photo_label`)."""
    pairs: dict[str, str] = {}
    for s in doc["sessions"]:
        photo = s.get("photo") or {}
        name = photo.get("file_name")
        shown = name if (show_name and not deidentify and name) else photo_label(doc, s)
        for raw in (photo.get("path"), photo.get("original_path"), name):
            if raw:
                pairs.setdefault(str(raw), str(shown))
                if str(raw).startswith("upload:"):
                    pairs.setdefault(str(raw).removeprefix("upload:"), str(shown))
    return sorted(pairs.items(), key=lambda kv: len(kv[0]), reverse=True)


#: A path or file name of an image not among the course's photos (a cached refusal may name
#: the same photo by another path): an optional folder part (which may hold spaces) and a name
#: with an image suffix.
_ANY_PHOTO = re.compile(
    r"(?:[A-Za-z]:)?(?:[/\\][^:;(),\n]*?)?[^\s:;(),/\\]*"
    r"\.(?:jpe?g|png|tiff?|webp|heic|heif|bmp|dng)\b",
    re.IGNORECASE,
)


def scrub(text: str, names: list[tuple[str, str]]) -> str:
    """``text`` with the course's photo paths and file names replaced (:func:`photo_names`) and
    any other image path or file name replaced by ``a photo``."""
    text = str(text)
    out, pos = [], 0
    if names:
        lookup = dict(names)
        known = re.compile("|".join(re.escape(raw) for raw, _ in names))  # longest first
        for m in known.finditer(text):
            out += [_ANY_PHOTO.sub("a photo", text[pos : m.start()]), lookup[m.group()]]
            pos = m.end()
    out.append(_ANY_PHOTO.sub("a photo", text[pos:]))
    return "".join(out)


# ----------------------------------------------------------------------------------------------
# Why a session was not compared
# ----------------------------------------------------------------------------------------------

#: What the clinic is told of a refusal by each limit (:data:`mesovision.errors.CHECKS`): what
#: happened and what to do. ``{ref}`` is the reference photo ("the first session's photo"),
#: ``{photo}`` the refused one, ``{value}`` and ``{limit}`` the measured value and the limit
#: (formatted by :data:`_FORMATS`).
_WORDING: dict[str, tuple[str, str]] = {
    "yaw": (
        "head turned {value}° from the pose in {ref} (limit {limit}°)",
        "retake facing the camera, as in that photo",
    ),
    "pitch": (
        "head tilted {value}° from the pose in {ref} (limit {limit}°)",
        "retake with the head level, as in that photo",
    ),
    "residual": (
        "the face does not lie over {ref} closely enough (misfit {value} % of the eye "
        "distance, limit {limit} %)",
        "retake with the same pose, expression and distance as in that photo",
    ),
    "coverage": (
        "the photo shows only {value} % of the area seen in {ref} (at least {limit} % needed)",
        "retake with the whole area in the frame",
    ),
    "face_size": (
        "the face in {photo} is too small to measure ({value} px between the eyes, at least "
        "{limit})",
        "retake closer, or use the camera's full-resolution file",
    ),
    "no_face": (
        "no face was found in {photo}",
        "crop the photo around the face, or retake it closer",
    ),
    "identity": (
        "{photo} does not look like the same person as {ref} (face distance {value}, limit "
        "{limit})",
        "check that the right photo was filed with this session",
    ),
    "features": (
        "{photo} could not be laid over {ref}",
        "retake showing the same area from the same angle",
    ),
    "light_pixels": (
        "the light of {photo} could not be matched to {ref}",
        "retake under the same light as that photo",
    ),
}

#: How :data:`_WORDING` shows a limit's value and limit (angles without their sign).
_FORMATS = {"residual": ("{:.1f}", "{:.0f}"), "identity": ("{:.3f}", "{:.3f}")}


@dataclass(frozen=True)
class Refusal:
    """One comparison the photos refused: session ``session_id`` (on ``date``) against
    ``against`` (``baseline`` or ``previous``, session ``against_session_id``); ``what``
    happened and what to do (``advice``, empty when unknown), in the clinic's words."""

    session_id: int
    date: str
    against: str
    against_session_id: int
    what: str
    advice: str

    @property
    def text(self) -> str:
        return f"{self.what}; {self.advice}" if self.advice else self.what


def reference_words(doc: dict, against: str, against_session_id: int) -> str:
    """``the first session's photo`` (``the before photo`` for a pair of photos) or ``the
    previous session's photo of 2026-03-02``."""
    if against == "baseline" or against_session_id == _doc.baseline(doc)["id"]:
        first = _doc.wording(doc)["first"]
        return first if first.endswith("photo") else f"{first}'s photo"
    ref = _doc.session_by_id(doc).get(against_session_id, {})
    return f"the previous session's photo of {ref.get('date', '?')}"


def _reason(entry: dict, ref: str, photo: str, names) -> tuple[str, str]:
    """(what, advice) of the document's refusal ``entry``, ``photo`` the refused photo as
    :func:`photo_names` names it: the clinic's words for its limit (:data:`_WORDING`), else
    its message with the photos named as the report names them."""
    check = entry.get("check") or ""
    what, advice = _WORDING.get(check, ("", ""))
    value, limit = entry.get("value"), entry.get("limit")
    if not what or ("{value}" in what and None in (value, limit)):
        text = scrub(entry.get("message") or "", names).replace("the before photo", ref)
        return text, ""
    fmt_value, fmt_limit = _FORMATS.get(check, ("{:.0f}", "{:.0f}"))
    if value is not None and limit is not None:
        value, limit = fmt_value.format(abs(value)), fmt_limit.format(limit)
    return what.format(ref=ref, photo=photo, value=value, limit=limit), advice


#: A photo's own capture checks of its pose (:mod:`mesovision.checks`) and what they say of it.
_OWN_POSE = {
    "head_yaw": "turned",
    "yaw_vs_baseline": "turned",
    "head_pitch": "tilted",
    "pitch_vs_baseline": "tilted",
}


def _reference_fault(doc: dict, entry: dict, ref: str) -> tuple[str, str] | None:
    """(what, advice) of a pose refusal (``yaw``, ``pitch``, ``residual``) whose reference is the
    bad photo (it failed its pose checks, or the refused photo matched the first); or None."""
    if entry.get("check") not in ("yaw", "pitch", "residual"):
        return None
    photo = _doc.session_by_id(doc).get(entry["against_session_id"], {}).get("photo") or {}
    checks = photo.get("checks") or []
    forced = [c for c in checks if not c.get("ok") and c.get("severity") == "fail"]
    failed = [c for c in forced if c.get("name") in _OWN_POSE]
    matches_first = entry["against"] == "previous" and any(
        c["session_id"] == entry["session_id"] and c.get("against") == "baseline"
        for c in doc["comparisons"]
    )
    if not failed and not matches_first:
        return None
    first = reference_words(doc, "baseline", _doc.baseline(doc)["id"])
    if failed:
        v = failed[0].get("value")
        how = _OWN_POSE[failed[0]["name"]] + (f" {abs(v):.0f}°" if _doc.finite(v) else "")
        what = f"{ref} was {how} (it failed its capture checks and was filed anyway)"
    elif forced:  # another check it failed (sharpness, ...): the likelier cause
        names = _doc.and_list([c["name"].replace("_", " ") for c in forced])
        what = f"{ref} failed its {names} check{'s' * (len(forced) > 1)} and was filed anyway"
    else:  # nothing it failed: it does not lie over the first, this session's photo does
        gap = "does not lie over" if entry["check"] == "residual" else "departs from the pose of"
        what = f"{ref} {gap} {first}, which this session's photo matches"
    advice = f"it was compared with {_doc.wording(doc)['first']} instead" * matches_first
    return f"{what}; that photo cannot serve as a reference", advice


def refusals(doc: dict, names: list[tuple[str, str]]) -> list[Refusal]:
    """The comparisons the course's photos refused (the document's ``refusals``), in session
    order; a session's refusal against the previous session is left out when that session is
    the first one (the same comparison)."""
    out = []
    base = _doc.baseline(doc)["id"]
    sessions = _doc.session_by_id(doc)
    for r in doc.get("refusals") or []:
        if r["against"] == "previous" and r["against_session_id"] == base:
            continue
        refused = sessions.get(r.get("photo_session_id"), sessions.get(r["session_id"]))
        photo = dict(names).get(str((refused.get("photo") or {}).get("file_name")))
        photo = photo or photo_label(doc, refused)
        ref = reference_words(doc, r["against"], r["against_session_id"])
        what, advice = _reference_fault(doc, r, ref) or _reason(r, ref, photo, names)
        out.append(
            Refusal(r["session_id"], r["date"], r["against"], r["against_session_id"], what, advice)
        )
    order = {s["id"]: k for k, s in enumerate(doc["sessions"])}
    return sorted(out, key=lambda r: (order.get(r.session_id, 10**9), r.against != "baseline"))


def session_head(*, named: bool, free_text: bool) -> list[str]:
    """The header of the sessions table (the columns of :func:`session_cells`)."""
    head = ["#", "date", "treated areas"] + ["product", "notes"] * free_text
    return head + ["photo"] * named + ["capture checks"]


def session_cells(
    doc: dict, names: list[tuple[str, str]], *, named: bool, free_text: bool = True
) -> list[list[str]]:
    """The text of the sessions table, one row per session: its id (``(first)`` for the
    first), date, treated areas, product and notes (only when ``free_text``; photos named as
    :func:`photo_names` says), the photo's file name (only when ``named``) and its capture
    checks in short."""
    from ._quality import checks_summary

    rows = []
    for k, s in enumerate(doc["sessions"]):
        photo = s.get("photo") or {}
        cells = [
            f"{s['id']}" + (" (first)" if k == 0 else ""),
            s["date"],
            ", ".join(_area_name(doc, t) for t in s.get("treated") or []) or "\u2013",
        ]
        cells += [s.get("product") or "\u2013", scrub(s.get("notes") or "", names)] * free_text
        cells += [photo.get("file_name") or "\u2013"] * named
        rows.append(cells + [checks_summary(photo.get("checks") or [])])
    return rows


def _area_name(doc: dict, region: str) -> str:
    """A treated region as the report names it: ``left cheek``; a body or scalp view's one
    region, ``area``, by the view's area (``thigh``)."""
    if region == "area":
        from ._modes import area_words

        return area_words(doc).row
    return region.replace("_", " ")


def note_lists(doc: dict, names: list[tuple[str, str]]) -> list[tuple[str, str, list[str]]]:
    """The lists below the sessions table that have lines, as ``(title, id, lines)``: the
    comparisons not made (:func:`not_compared_lines`), then the other notes."""
    lists = (
        ("Not compared", "not-compared", not_compared_lines(doc, names)),
        ("Notes", "course-notes", other_notes(doc, names)),
    )
    return [item for item in lists if item[2]]


def other_notes(doc: dict, names: list[tuple[str, str]]) -> list[str]:
    """The course notes that are not refusals (a session skipped), photos named as
    :func:`photo_names` says."""
    refused = {r.get("note") for r in doc.get("refusals") or []}
    return [scrub(n, names) for n in doc.get("notes") or [] if n not in refused]


def not_compared_lines(
    doc: dict, names: list[tuple[str, str]], *, previous: bool = True
) -> list[str]:
    """One line per refused comparison ("Session 3 (2026-03-02), not compared with the first
    session: ..."); without ``previous``, only those with the first session, each saying
    whether the session was compared with the previous one instead."""
    compared_prev = {
        c["session_id"]
        for c in doc["comparisons"]
        if c.get("against") == "previous"
        and c.get("against_session_id") != _doc.baseline(doc)["id"]
    }
    first = _doc.wording(doc)["first"]
    lines = []
    for r in refusals(doc, names):
        if r.against == "previous" and not previous:
            continue
        other = first if r.against == "baseline" else "the previous session"
        line = f"Session {r.session_id} ({r.date}), not compared with {other}: {r.text}."
        if not previous and r.session_id in compared_prev:
            line += " It was compared with the previous session."
        lines.append(line)
    return lines


def not_compared_reasons(doc: dict, *, show_name: bool = True) -> dict[int, str]:
    """Why each later session of the course document ``doc`` has no comparison, in the
    report's words (:func:`refusals`; photos named by file name with ``show_name``):
    ``{session id: "with the first session: <what happened>; <advice>"}``, the refusal against
    the first session before that against the previous one; ``"no comparison was made"`` for
    a session neither compared nor refused. Sessions with a comparison are absent."""
    compared = {c["session_id"] for c in doc["comparisons"]}
    first = _doc.wording(doc)["first"]
    out: dict[int, str] = {}
    for r in refusals(doc, photo_names(doc, show_name=show_name, deidentify=False)):
        other = first if r.against == "baseline" else "the previous session"
        out.setdefault(r.session_id, f"with {other}: {r.text}")
    later = [s["id"] for s in doc["sessions"][1:] if s["id"] not in compared]
    return {sid: out.get(sid, "no comparison was made") for sid in later}


# ----------------------------------------------------------------------------------------------
# The comparison shown
# ----------------------------------------------------------------------------------------------


def against_words(doc: dict, comp: dict) -> str:
    """What the comparison ``comp`` is against: ``the first session`` or ``the previous
    session (2026-03-01)``."""
    if comp.get("against") != "previous":
        return _doc.wording(doc)["first"]
    return f"the previous session ({_doc.session_by_id(doc)[comp['against_session_id']]['date']})"


def reference_caption(doc: dict, comp: dict) -> str:
    """The caption of the reference photo: ``first session, 2026-01-05`` or ``previous
    session, 2026-03-01``."""
    role = "previous session" if comp.get("against") == "previous" else None
    date = _doc.session_by_id(doc)[comp["against_session_id"]]["date"]
    return f"{role or _doc.wording(doc)['first_caption']}, {date}"


def previous_only(doc: dict) -> list[dict]:
    """Comparisons with the previous session (not the first) of the sessions that have no
    comparison with the first session, in session order."""
    with_base = {c["session_id"] for c in _doc.baseline_comparisons(doc)}
    base = _doc.baseline(doc)["id"]
    order = {s["id"]: k for k, s in enumerate(doc["sessions"])}
    comps = [
        c
        for c in doc["comparisons"]
        if c.get("against") == "previous"
        and c.get("against_session_id") != base
        and c["session_id"] not in with_base
    ]
    return sorted(comps, key=lambda c: order.get(c["session_id"], 10**9))


def _why_not(doc: dict, session: int) -> str:
    names = photo_names(doc, show_name=False, deidentify=True)
    reasons = [r for r in refusals(doc, names) if r.session_id == session]
    if not reasons:
        return "no comparison was made"
    first = _doc.wording(doc)["first"]
    return "; ".join(
        f"with {first if r.against == 'baseline' else 'the previous session'}: {r.what}"
        for r in reasons
    )


def choose_comparison(doc: dict, session: int | None) -> dict | None:
    """The comparison the report shows: ``session``'s with the first session, else its
    comparison with the previous session; by default the latest session compared with the
    first, else the latest compared with the previous session. ``None`` when the course has no
    comparison at all. An unknown session, or one that could not be compared, raises
    :class:`UsageError` saying why and naming the sessions that were compared."""
    comps = _doc.baseline_comparisons(doc)
    prev = previous_only(doc)
    if session is None:
        return comps[-1] if comps else (prev[-1] if prev else None)
    ids = [s["id"] for s in doc["sessions"]]
    if session not in ids:
        raise UsageError(
            f"unknown session {session}; sessions of this course: {', '.join(map(str, ids))}"
        )
    for c in comps + prev:
        if c["session_id"] == session:
            return c
    valid = sorted({c["session_id"] for c in comps + prev}, key=ids.index)
    compared = ", ".join(map(str, valid)) if valid else "none"
    if session == ids[0]:
        raise UsageError(
            f"session {session} is the first session: the later sessions are compared with it "
            f"(sessions compared: {compared})"
        )
    date = _doc.session_by_id(doc)[session]["date"]
    raise UsageError(
        f"session {session} ({date}) could not be compared: {_why_not(doc, session)} "
        f"(sessions compared: {compared})"
    )


def intro_text(doc: dict, comp: dict | None, names: list[tuple[str, str]]) -> str | None:
    """The summary's first paragraph when the report does not show the latest session against
    the first one: nothing compared (and why to look below), only comparisons with the previous
    session, or the latest session refused (with the reason)."""
    first = _doc.wording(doc)["first"]
    if comp is None:
        if len(doc.get("sessions") or []) < 2:
            return "Only the first session so far: nothing to compare yet."
        return (
            f"No later session could be compared with {first} or with the session before it; "
            "the list of sessions not compared says why."
        )
    sessions = _doc.session_by_id(doc)
    shown = sessions[comp["session_id"]]["date"]
    if comp.get("against") == "previous":
        ref = sessions[comp["against_session_id"]]["date"]
        these = f"the session of {shown} against the previous session ({ref})"
        if _doc.baseline_comparisons(doc):
            why = _why_not(doc, comp["session_id"])
            return (
                f"The session of {shown} could not be compared with {first} ({why}). This "
                f"report shows {these}."
            )
        dates = [sessions[c["session_id"]]["date"] for c in previous_only(doc)]
        listed = _doc.and_list(dates)
        return (
            f"No later session could be compared with {first} (the list of sessions not "
            f"compared says why). Compared with the session before them: {listed}. This report "
            f"shows {these}."
        )
    latest = doc["sessions"][-1]
    if latest["id"] == comp["session_id"] or latest["id"] == _doc.baseline(doc)["id"]:
        return None
    if latest["id"] in {c["session_id"] for c in _doc.baseline_comparisons(doc)}:
        return None
    reason = next(
        (r.text for r in refusals(doc, names) if r.session_id == latest["id"]),
        "the list of sessions not compared says why",
    )
    text = f"The latest session ({latest['date']}) could not be compared with {first}: {reason}."
    if any(c["session_id"] == latest["id"] for c in previous_only(doc)):
        text += (
            " It was compared with the previous session: the report of that session (session "
            f"{latest['id']}) shows it."
        )
    return text + f" This summary is of the session of {shown}."


def previous_refused(doc: dict, comp: dict, names: list[tuple[str, str]]) -> str | None:
    """The summary's sentence when the session shown (against the first session) could not be
    compared with the previous one: ``Not compared with the previous session (2026-03-30):
    <what happened>; <advice>.``; ``None`` when it was, or the previous one is the first."""
    if comp.get("against") == "previous":
        return None
    for r in refusals(doc, names):
        if r.session_id == comp["session_id"] and r.against == "previous":
            date = _doc.session_by_id(doc)[r.against_session_id]["date"]
            return f"Not compared with the previous session ({date}): {r.text}."
    return None
