"""The report's words where a comparison was refused: the reference photo that is itself the bad
one (turned, filed anyway) is said to be so, not held up as the pose to retake; and the summary
says when the session shown could not be compared with the previous session."""

from __future__ import annotations

from mesovision.report import _sessions, sections

TREATED = ["left_cheek", "chin"]


def _check(name: str, ok: bool, value: float, severity: str = "fail") -> dict:
    return {"name": name, "ok": ok, "severity": severity, "value": value, "message": "ok"}


def _session(sid: int, date: str, checks: list[dict]) -> dict:
    photo = {"file_name": f"p{sid}.jpg", "path": f"/photos/p{sid}.jpg", "checks": checks}
    return {"id": sid, "date": date, "treated": TREATED, "photo": photo}


def _refusal(sid, date, against, against_id, check, value, limit=15.0) -> dict:
    return {
        "session_id": sid,
        "date": date,
        "against": against,
        "against_session_id": against_id,
        "photo_session_id": sid,
        "error": "AlignmentError",
        "check": check,
        "value": value,
        "limit": limit,
        "message": f"head turned {value:+.0f} deg (yaw) from the before photo; limit 15",
        "note": f"session {sid} against {against}: not compared",
    }


def _comparison(sid: int, against: str, against_id: int) -> dict:
    record = {"settings": {"mode": "face", "treated": TREATED}, "changes": {}}
    return {
        "session_id": sid,
        "against": against,
        "against_session_id": against_id,
        "record": record,
    }


def _course(*, turned_failed_checks: bool = True, third_compared_with_first: bool = True) -> dict:
    """The audit's course: session 2's photo is turned 16° (its own check failed, filed anyway)
    and refused against the first; session 3 faces the camera, is compared with the first and
    refused against session 2 (head turned 17° from session 2's pose)."""
    turned = [_check("head_yaw", not turned_failed_checks, 16.24)]
    comparisons = [_comparison(3, "baseline", 1)] if third_compared_with_first else []
    return {
        "schema_version": "1.1",
        "patient": {"id": "P1"},
        "view": "front",
        "sessions": [
            _session(1, "2026-01-05", [_check("head_yaw", True, 1.0)]),
            _session(2, "2026-03-30", turned),
            _session(3, "2026-04-27", [_check("head_yaw", True, 0.8)]),
        ],
        "comparisons": comparisons,
        "notes": [],
        "refusals": [
            _refusal(2, "2026-03-30", "baseline", 1, "yaw", 17.06),
            _refusal(3, "2026-04-27", "previous", 2, "yaw", -16.92),
        ],
    }


def _lines(doc: dict) -> list[str]:
    return _sessions.not_compared_lines(
        doc, _sessions.photo_names(doc, show_name=False, deidentify=False)
    )


def test_a_turned_reference_photo_is_not_the_pose_to_retake():
    first_line, second_line = _lines(_course())
    # the turned photo itself, against a good first photo: retake it as the first one
    assert first_line == (
        "Session 2 (2026-03-30), not compared with the first session: head turned 17° from the "
        "pose in the first session's photo (limit 15°); retake facing the camera, as in that "
        "photo."
    )
    # the good photo against the turned one: the reference is the bad one
    assert second_line == (
        "Session 3 (2026-04-27), not compared with the previous session: the previous session's "
        "photo of 2026-03-30 was turned 16° (it failed its capture checks and was filed "
        "anyway); that photo cannot serve as a reference; it was compared with the first "
        "session instead."
    )


def test_a_refused_photo_with_the_first_sessions_pose_puts_the_fault_on_the_reference():
    """The reference passed its own checks (turned under their limit) but the refused photo was
    compared with the first session: it has the course's pose, the reference has not."""
    line = _lines(_course(turned_failed_checks=False))[1]
    assert "as in that photo" not in line
    assert line.endswith(
        "the previous session's photo of 2026-03-30 departs from the pose of the first "
        "session's photo, which this session's photo matches; that photo cannot serve as a "
        "reference; it was compared with the first session instead."
    )


def test_a_refusal_against_a_good_reference_keeps_the_retake_advice():
    doc = _course(turned_failed_checks=False, third_compared_with_first=False)
    line = _lines(doc)[1]
    assert line.endswith(
        "head turned 17° from the pose in the previous session's photo of 2026-03-30 (limit "
        "15°); retake facing the camera, as in that photo."
    )


def test_the_summary_says_when_the_previous_session_was_not_compared():
    doc = _course()
    comp = doc["comparisons"][0]
    html = sections.summary(doc, comp)
    assert (
        '<p id="previous-not-compared">Not compared with the previous session (2026-03-30): '
        "the previous session&#x27;s photo of 2026-03-30 was turned 16°"
    ) in html
    # the previous session compared: no such sentence
    doc["comparisons"].append(_comparison(3, "previous", 2))
    doc["refusals"].pop()
    assert "previous-not-compared" not in sections.summary(doc, doc["comparisons"][0])


def test_a_blurred_reference_filed_anyway_is_named_by_the_check_it_failed():
    """The reference's pose passed but its sharpness failed (filed anyway), and the refused photo
    was compared with the first session: the line names the sharpness, not the pose."""
    doc = _course(turned_failed_checks=False)
    doc["sessions"][1]["photo"]["checks"].append(_check("sharpness", False, 1.2))
    doc["refusals"][1].update(check="residual", value=6.5, limit=5.0)
    line = _lines(doc)[1]
    assert "pose" not in line and "as in that photo" not in line
    assert line.endswith(
        "the previous session's photo of 2026-03-30 failed its sharpness check and was filed "
        "anyway; that photo cannot serve as a reference; it was compared with the first session "
        "instead."
    )


def test_a_reference_that_failed_nothing_and_does_not_lie_over_the_first_is_said_so():
    doc = _course(turned_failed_checks=False)
    doc["refusals"][1].update(check="residual", value=6.5, limit=5.0)
    assert _lines(doc)[1].endswith(
        "the previous session's photo of 2026-03-30 does not lie over the first session's photo, "
        "which this session's photo matches; that photo cannot serve as a reference; it was "
        "compared with the first session instead."
    )
