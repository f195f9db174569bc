"""The sessions of a report: which comparison it shows, why the others were not compared, and
how it names the photos.

**Photos by session, not by file.** Folders and file names often carry the patient's name and
birth date, so without ``show_name`` (and always with ``deidentify``) a photo is named by its
view and session date ("the front photo of 2026-02-02"), never by its path or file name; with
``show_name`` by its file name, never by its folders. :func:`photo_names` gives the
replacements and :func:`scrub` applies them to any text (course notes, session notes).

**Why a session was not compared.** A course document's notes
(:func:`mesovision.course.course_document`) say which comparison the photos refused and why,
in the command line's words (``session 3 (2026-03-02) against baseline (session 1): not
compared: <path>: head turned +18 deg (yaw) from the before photo; limit 15; ...``).
:func:`refusals` reads them back into :class:`Refusal` items worded for the clinic ("head
turned 18° from the pose in the first session's photo (limit 15°); retake facing the camera,
as in that photo"), without file paths or command-line advice.

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
    "note_lists",
    "other_notes",
    "photo_label",
    "photo_names",
    "previous_only",
    "reference_words",
    "refusals",
    "scrub",
    "session_cells",
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

_NOTE = re.compile(
    r"^session (?P<sid>\d+) \((?P<date>[^)]*)\) against (?P<against>baseline|previous) "
    r"\(session (?P<ref>\d+)\): not compared: (?P<rest>.*)$",
    re.S,
)
#: Command-line advice a course note may end with (a course cannot force a comparison).
_CLI_TAIL = re.compile(r";\s*not comparable as taken \(.*\)\s*$|\s*\((?:use )?--force[^)]*\)\s*$")
_NUM = r"([+-]?\d+(?:\.\d+)?)"

#: (pattern of the command line's reason, what happened, what to do); ``{ref}`` is the
#: reference photo ("the first session's photo"), ``{photo}`` the refused one, ``{a}`` the
#: absolute first number and ``{n1}``/``{n2}``... the numbers as found.
_RULES: tuple[tuple[re.Pattern, str, str], ...] = tuple(
    (re.compile(p, re.S), what, advice)
    for p, what, advice in (
        (
            rf"head turned {_NUM} deg \(yaw\) from the before photo; limit {_NUM}",
            "head turned {a}° from the pose in {ref} (limit {n2}°)",
            "retake facing the camera, as in that photo",
        ),
        (
            rf"head tilted {_NUM} deg \(pitch\) from the before photo; limit {_NUM}",
            "head tilted {a}° from the pose in {ref} (limit {n2}°)",
            "retake with the head level, as in that photo",
        ),
        (
            rf"alignment residual {_NUM} % of the interocular distance; limit {_NUM} %",
            "the face does not lie over {ref} closely enough (misfit {n1} % of the eye "
            "distance, limit {n2} %)",
            "retake with the same pose, expression and distance as in that photo",
        ),
        (
            rf"aligned photo covers {_NUM} % of the (face|measured area); limit {_NUM} %",
            "the photo shows only {n1} % of the area seen in {ref} (at least {n2} % needed)",
            "retake with the whole area in the frame",
        ),
        (
            rf"face too small: interocular distance {_NUM} px, minimum {_NUM} px",
            "the face in {photo} is too small to measure ({n1} px between the eyes, at least {n2})",
            "retake closer, or use the camera's full-resolution file",
        ),
        (
            r"^no face found",
            "no face was found in {photo}",
            "crop the photo around the face, or retake it closer",
        ),
        (
            rf"a different person from .*?face-descriptor distance {_NUM}, limit {_NUM}",
            "{photo} does not look like the same person as {ref} (face distance {n1}, limit {n2})",
            "check that the right photo was filed with this session",
        ),
        (
            r"usable (?:reference )?pixels",
            "the light of {photo} could not be matched to {ref}",
            "retake under the same light as that photo",
        ),
        (
            r"features|homography",
            "{photo} could not be laid over {ref}",
            "retake showing the same area from the same angle",
        ),
    )
)


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


#: The file named at the start of a reason ("<path>: <reason>") when it is none of the course's.
_LEADING_FILE = re.compile(
    r"^.*?\.(?:jpe?g|png|tiff?|webp|heic|heif|bmp|dng): ", re.IGNORECASE | re.S
)


def _reason(rest: str, ref: str, photo: str, names) -> tuple[str, str]:
    """(what, advice) of a note's reason ``rest`` (after "not compared: "), ``photo`` the
    refused photo as :func:`photo_names` names it."""
    text = scrub(_LEADING_FILE.sub("", rest, count=1), names)
    text = text.removeprefix(f"{photo}: ").removeprefix("a photo: ")
    text = _CLI_TAIL.sub("", text).strip()
    for pattern, what, advice in _RULES:
        m = pattern.search(text)
        if m is None:
            continue
        nums = [g for g in m.groups() if g is not None and re.fullmatch(_NUM, g)]
        fields = {f"n{k}": v.lstrip("+") for k, v in enumerate(nums, start=1)}
        fields["a"] = nums[0].lstrip("+-") if nums else ""
        return what.format(ref=ref, photo=photo, **fields), advice
    text = re.sub(r"\s*\([^()]*(?:--|mesovision )[^()]*\)", "", text)  # command-line advice
    return text.replace("the before photo", ref), ""


def _refused_photo(rest: str, doc: dict, sid: int, ref_id: int) -> dict:
    """The session whose photo a note's reason names (the refused photo is usually the later
    one, but a photo without a face may be the reference)."""
    sessions = _doc.session_by_id(doc)
    for candidate in (ref_id, sid):
        photo = (sessions.get(candidate) or {}).get("photo") or {}
        paths = [photo.get(k) for k in ("path", "original_path", "file_name")]
        if any(p and rest.startswith(f"{p}: ") for p in paths):
            return sessions[candidate]
    return sessions.get(sid) or doc["sessions"][-1]


def _shown_name(doc: dict, session: dict, names: list[tuple[str, str]]) -> str:
    """How the report names ``session``'s photo (:func:`photo_names`)."""
    file_name = (session.get("photo") or {}).get("file_name")
    return dict(names).get(str(file_name), photo_label(doc, session))


def refusals(doc: dict, names: list[tuple[str, str]]) -> list[Refusal]:
    """The comparisons the course's photos refused, from its notes, in session order; a
    session's refusal against the previous session is left out when that session is the first
    one (the same comparison)."""
    out = []
    base = _doc.baseline(doc)["id"]
    for note in doc.get("notes") or []:
        m = _NOTE.match(str(note))
        if m is None:
            continue
        sid, ref_id, against = int(m["sid"]), int(m["ref"]), m["against"]
        if against == "previous" and ref_id == base:
            continue
        photo = _shown_name(doc, _refused_photo(m["rest"], doc, sid, ref_id), names)
        what, advice = _reason(m["rest"], reference_words(doc, against, ref_id), photo, names)
        out.append(Refusal(sid, m["date"], against, ref_id, what, advice))
    order = {s["id"]: k for k, s in enumerate(doc["sessions"])}
    return sorted(out, key=lambda r: (order.get(r.session_id, 10**9), r.against != "baseline"))


def session_cells(doc: dict, names: list[tuple[str, str]], *, named: bool) -> list[list[str]]:
    """The text of the sessions table, one row per session: its id (``(first)`` for the
    first), date, treated areas, product, notes (photos named as :func:`photo_names` says), the
    photo's file name (only when ``named``) and its capture checks in short."""
    from ._quality import checks_summary

    rows = []
    for k, s in enumerate(doc["sessions"]):
        photo = s.get("photo") or {}
        cells = [
            f"{s['id']}" + (" (first)" if k == 0 else ""),
            s["date"],
            ", ".join(s.get("treated") or []) or "\u2013",
            s.get("product") or "\u2013",
            scrub(s.get("notes") or "", names),
        ]
        cells += [photo.get("file_name") or "\u2013"] * named
        rows.append(cells + [checks_summary(photo.get("checks") or [])])
    return rows


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
    return [scrub(n, names) for n in doc.get("notes") or [] if not _NOTE.match(str(n))]


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
