"""What a course says of its photos: the refusal of a photo that fails its capture checks (where a
failed check is one the comparison with the baseline refuses too, the pose past the alignment's
limit, ``--force`` is not offered as the way out: it would file a photo that no comparison
takes); a refused comparison with the baseline noted once when it is also the previous session;
the clipping warnings of the comparisons with the baseline as notes."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from mesovision.app.notices import app_wording
from mesovision.course.sessions import _refuse_faults
from mesovision.errors import CaptureError


def _report(*names: str):
    failed = [{"name": n, "message": f"{n} failed"} for n in names]
    return SimpleNamespace(path="p.jpg", failed=failed)


def test_a_turn_past_the_comparisons_limit_is_not_offered_force():
    with pytest.raises(CaptureError) as e:
        _refuse_faults([_report("head_yaw", "yaw_vs_baseline")], [None], force=False, names={})
    msg = str(e.value)
    assert msg.endswith(
        "head_yaw: head_yaw failed (and 1 more); nothing imported (retake the photo: --force "
        "would import it, but it could not be compared with the baseline (its turn from the "
        "baseline is past the comparison's limit))"
    )
    assert "accepting it with a reason would file it, but it could not be compared" in (
        app_wording(msg)
    )


def test_other_failed_checks_keep_force_as_the_way_out():
    with pytest.raises(CaptureError, match=r"\(retake the photo, or use --force to import it"):
        _refuse_faults([_report("clipping")], [None], force=False, names={})


def test_a_refusal_against_the_baseline_that_is_also_the_previous_session_is_noted_once(tmp_path):
    """Session 2's photo is another person (filed with --force): its comparison with the first
    session, which is also the previous one, is refused once, and noted once."""
    from conftest import SAMPLES

    from mesovision.course import add_checked_session, course_document
    from mesovision.store import Store

    with Store(tmp_path / "s") as st:
        st.add_patient("P1")
        photos = (SAMPLES / "astronaut" / "before.jpg", SAMPLES / "grace_hopper" / "before.jpg")
        for date, photo in zip(("2026-01-05", "2026-02-02"), photos, strict=True):
            add_checked_session(st, "P1", date=date, photos=[(str(photo), "front")], force=True)
        doc = course_document(st, "P1")
    assert [n.split(": not compared")[0] for n in doc["notes"]] == [
        "session 2 (2026-02-02) against baseline (session 1)"
    ]
    assert [r["against"] for r in doc["refusals"]] == ["baseline", "previous"]


def test_the_clipping_warnings_of_the_comparisons_with_the_baseline_are_notes():
    from mesovision.course.document import clipping_notes

    warn = {
        "warnings": {"right_cheek": "right_cheek: 42 % of its skin is clipped"},
        "gamut_warnings": {"lips": "lips: 30 % of its skin has colours outside sRGB"},
    }
    comps = [
        {
            "session_id": 2,
            "against": "baseline",
            "against_session_id": 1,
            "record": {"clipping": warn},
        },
        {
            "session_id": 2,
            "against": "previous",
            "against_session_id": 1,
            "record": {"clipping": warn},
        },
        {"session_id": 3, "against": "baseline", "against_session_id": 1, "record": {}},
    ]
    course = [({"id": 1, "date": "2026-01-05"}, {}), ({"id": 2, "date": "2026-02-02"}, {})]
    assert clipping_notes(comps, course) == [
        "session 2 (2026-02-02) against baseline (session 1): right_cheek: 42 % of its skin is "
        "clipped",
        "session 2 (2026-02-02) against baseline (session 1): lips: 30 % of its skin has colours "
        "outside sRGB",
    ]
