"""The reasons a report gives for a comparison not made come from the course document's
structured ``refusals`` (which limit, its value and limit, which session's photo), not from
the wording of the command line's message."""

from __future__ import annotations

import pytest

from mesovision.errors import CHECKS
from mesovision.report import _sessions

FIRST = {"id": 1, "date": "2026-01-05", "photo": {"file_name": "a.jpg", "path": "/p/a.jpg"}}
LATER = {"id": 2, "date": "2026-02-02", "photo": {"file_name": "b.jpg", "path": "/p/b.jpg"}}


def _doc(**refusal) -> dict:
    entry = {
        "session_id": 2,
        "date": "2026-02-02",
        "against": "baseline",
        "against_session_id": 1,
        "photo_session_id": 2,
        "error": "AlignmentError",
        "check": None,
        "value": None,
        "limit": None,
        "message": "",
        "note": "session 2 (2026-02-02) against baseline (session 1): not compared: ...",
    }
    entry.update(refusal)
    return {
        "schema_version": "1.1",
        "patient": {"id": "P1"},
        "view": "front",
        "sessions": [FIRST, LATER],
        "comparisons": [],
        "notes": [entry["note"], "session 3 (2026-03-01) has no front photo: skipped"],
        "refusals": [entry],
    }


def _what(doc: dict, *, show_name: bool = False) -> str:
    names = _sessions.photo_names(doc, show_name=show_name, deidentify=False)
    (r,) = _sessions.refusals(doc, names)
    return r.text


@pytest.mark.parametrize(
    ("check", "value", "limit", "text"),
    [
        (
            "yaw",
            -21.4,
            15.0,
            "head turned 21° from the pose in the first session's photo (limit "
            "15°); retake facing the camera, as in that photo",
        ),
        ("pitch", 16.6, 15.0, "head tilted 17° from the pose"),
        ("residual", 3.14, 2.0, "(misfit 3.1 % of the eye distance, limit 2 %)"),
        ("coverage", 61.2, 80.0, "shows only 61 % of the area seen in the first session's photo"),
        (
            "face_size",
            27.6,
            30.0,
            "the face in the front photo of 2026-02-02 is too small to "
            "measure (28 px between the eyes, at least 30)",
        ),
        ("identity", 0.7129, 0.62, "(face distance 0.713, limit 0.620)"),
    ],
)
def test_a_limit_is_worded_from_its_value_whatever_the_message_says(check, value, limit, text):
    # the message is not read: a different wording of it changes nothing
    doc = _doc(check=check, value=value, limit=limit, message="anything at all")
    assert text in _what(doc)
    assert "anything" not in _what(doc)


def test_the_refused_photo_is_the_session_the_entry_names():
    """A photo without a face may be the first session's: the reason names that photo."""
    doc = _doc(check="no_face", photo_session_id=1, message="no face found")
    assert _what(doc).startswith("no face was found in the front photo of 2026-01-05;")
    assert _what(doc, show_name=True).startswith("no face was found in a.jpg;")


def test_a_refusal_by_no_named_limit_keeps_its_message_with_photos_renamed():
    doc = _doc(check=None, message="landmark fit failed for /p/b.jpg against the before photo")
    assert _what(doc) == (
        "landmark fit failed for the front photo of 2026-02-02 against the first session's photo"
    )
    # a limit without its numbers: the message too, not a sentence with holes
    doc = _doc(check="yaw", message="head turned too far")
    assert _what(doc) == "head turned too far"


def test_every_limit_a_course_can_meet_has_clinic_words():
    """Every check but the colour card's (a course matches the light on reference skin, never
    with a card) has its sentence and advice."""
    assert set(_sessions._WORDING) == set(CHECKS) - {"colour_card"}
    assert all(what and advice for what, advice in _sessions._WORDING.values())


def test_notes_that_are_refusals_are_not_listed_twice():
    doc = _doc(check="yaw", value=20.0, limit=15.0)
    names = _sessions.photo_names(doc, show_name=False, deidentify=False)
    assert _sessions.other_notes(doc, names) == [
        "session 3 (2026-03-01) has no front photo: skipped"
    ]
    # a document of schema 1.0 has no refusals: its notes are listed as they are
    old = {**doc, "schema_version": "1.0"}
    del old["refusals"]
    assert _sessions.refusals(old, names) == []
    assert _sessions.other_notes(old, names) == old["notes"]


def test_the_reasons_by_session_prefer_the_first_session_and_name_unexplained_gaps():
    """:func:`mesovision.report.not_compared_reasons` (the app's timeline): one reason per
    later session without a comparison, its refusal against the first session first."""
    from mesovision.report import not_compared_reasons

    third = {"id": 3, "date": "2026-03-01", "photo": {"file_name": "c.jpg", "path": "/p/c.jpg"}}
    doc = _doc(check="yaw", value=-21.4, limit=15.0)
    doc["sessions"] = [FIRST, LATER, third]
    previous = {**doc["refusals"][0], "against": "previous", "check": "coverage", "value": 50.0}
    previous.update(limit=80.0, session_id=3, date="2026-03-01", against_session_id=2)
    doc["refusals"] = [{**previous, "session_id": 2, "against_session_id": 1}, previous]
    doc["refusals"].insert(1, _doc(check="yaw", value=-21.4, limit=15.0)["refusals"][0])
    assert not_compared_reasons(doc) == {
        2: "with the first session: head turned 21° from the pose in the first session's photo "
        "(limit 15°); retake facing the camera, as in that photo",
        3: "with the previous session: the photo shows only 50 % of the area seen in the "
        "previous session's photo of 2026-02-02 (at least 80 % needed); retake with the whole "
        "area in the frame",
    }
    doc["comparisons"] = [{"session_id": 2, "against": "baseline", "against_session_id": 1}]
    doc["refusals"] = []
    assert not_compared_reasons(doc) == {3: "no comparison was made"}
