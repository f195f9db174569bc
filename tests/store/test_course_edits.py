"""Course edits keep the stored checks true: a photo's new view re-runs its checks, a new
baseline (``session edit --date --rebaseline``, ``session add --rebaseline``, removing the
baseline) re-runs every session's checks against it; a new failure is refused as ``session
add`` refuses one (exit 6, exit 11 for another person) unless ``--force``. Dates that are
probably wrong (in the future, shared with another session) are warned about. Built from the
shipped samples: grace_hopper's photos, and astronaut's as another person."""

from __future__ import annotations

import logging

import pytest
from conftest import SAMPLES, message_lines, run_cli

from mesovision.checks import CaptureFeatures, check_photo
from mesovision.course import (
    add_checked_session,
    edit_checked_session,
    remove_checked_session,
)
from mesovision.errors import IdentityMismatch
from mesovision.store import Store

FACE = SAMPLES / "grace_hopper"
OTHER = SAMPLES / "astronaut" / "before.jpg"
BASELINE_CHECKS = ("_vs_baseline", "pose_for_swelling", "same_person")


def _file(st: Store, pid: str, date: str, photo, view: str = "front", **kw) -> dict:
    """A session filed as ``session add --force`` files it."""
    return add_checked_session(
        st, pid, date=date, photos=[(str(photo), view)], force=True, copy=True, **kw
    )[0]


def _checks(st: Store, session: dict) -> list[dict]:
    return st.session(session["id"])["photos"][0]["checks"]


def _against(checks: list[dict]) -> list[str]:
    """The names of the checks made against a baseline."""
    return [c["name"] for c in checks if any(k in c["name"] for k in BASELINE_CHECKS)]


def _without_identity(checks: list[dict]) -> list[dict]:
    return [c for c in checks if c["name"] != "same_person"]


def test_a_new_view_reruns_the_photos_checks_and_is_refused_as_session_add(tmp_path):
    """A frontal photo moved to ``left-45`` is checked as ``left-45``: refused with exit 6 and
    the message ``check --view left-45`` gives (one line; nothing changes), accepted with
    ``--force``, and then filed with exactly the checks ``session add --view left-45`` files."""
    store = tmp_path / "s"
    with Store(store) as st:
        st.add_patient("P1")
        s = _file(st, "P1", "2026-01-05", FACE / "before.jpg")
        filed = _checks(st, s)
    assert [c["name"] for c in filed if not c["ok"]] == []  # a good frontal photo
    as_oblique = check_photo(str(FACE / "before.jpg"), view="left-45")
    [fail] = as_oblique.failed
    assert fail["name"] == "head_yaw" and "the left-45 view needs yaw -45°" in fail["message"]
    proc = run_cli("session", "edit", s["id"], "--view", "left-45", "--store", store)
    assert proc.returncode == 6, proc.stderr
    [line] = message_lines(proc.stderr)
    pid = s["photos"][0]["id"]
    assert line == (
        f"mesovision: error: {FACE / 'before.jpg'}: photo {pid} of session {s['id']} as "
        f"left-45: head_yaw: {fail['message']}; nothing changed (use --force to change it "
        "anyway)"
    )
    with Store(store) as st:
        photo = st.session(s["id"])["photos"][0]
        assert photo["view"] == "front" and photo["checks"] == filed and st.changes() == []
    proc = run_cli("session", "edit", s["id"], "--view", "left-45", "--force", "--store", store)
    assert proc.returncode == 0, proc.stderr
    assert f"checks re-run: photo {pid} of session {s['id']} (left-45): 1 failed" in proc.stdout
    with Store(store) as st:
        photo = st.session(s["id"])["photos"][0]
        assert photo["view"] == "left-45" and photo["features"]["view"] == "left-45"
        assert photo["checks"] == as_oblique.checks
        [edit] = st.changes()
        assert edit["detail"]["rechecked"] == {str(pid): ["head_yaw"]}


def test_a_rebaseline_reruns_every_sessions_checks_against_the_new_baseline(tmp_path):
    """Session 2 (another person, filed with --force) dated before the baseline: the others
    would now be another person than the baseline, a new failure: refused (exit 11's error,
    nothing changed) unless forced. Forced, the new baseline carries no check against a
    baseline, and every other session the checks ``session add`` files against it. Removing
    it makes session 1 the baseline again, with its checks re-run."""
    with Store(tmp_path / "s") as st:
        st.add_patient("P2")
        s1 = _file(st, "P2", "2026-01-05", FACE / "before.jpg")
        s2 = _file(st, "P2", "2026-01-19", OTHER)
        s3 = _file(st, "P2", "2026-02-02", FACE / "after_no_change.jpg")
        before = st.sessions("P2")
        assert _against(_checks(st, s1)) == [] and "same_person" in _against(_checks(st, s2))
        with pytest.raises(IdentityMismatch, match="nothing changed") as info:
            edit_checked_session(st, s2["id"], date="2026-01-01", rebaseline=True)
        assert info.value.exit_code == 11
        assert f"photo {s1['photos'][0]['id']} of session {s1['id']}" in info.value.message
        assert st.sessions("P2") == before and st.changes() == []
        s, rechecked = edit_checked_session(
            st, s2["id"], date="2026-01-01", rebaseline=True, force=True
        )
        assert [x["id"] for x in st.sessions("P2")] == [s2["id"], s1["id"], s3["id"]]
        assert sorted(rechecked) == sorted(x["photos"][0]["id"] for x in (s1, s2, s3))
        assert _against(_checks(st, s2)) == []  # the baseline
        base = st.session(s2["id"])["photos"][0]
        ref = CaptureFeatures.from_dict(base["features"])
        for x, photo in ((s1, FACE / "before.jpg"), (s3, FACE / "after_no_change.jpg")):
            checks = _checks(st, x)
            assert _without_identity(checks) == check_photo(str(photo), baseline=ref).checks
            [same] = [c for c in checks if c["name"] == "same_person"]
            assert same["baseline_photo_id"] == base["id"] and not same["ok"]
        assert st.changes()[-1]["detail"]["rechecked"][str(s3["photos"][0]["id"])][-1] == (
            "same_person"
        )
        # Removing the baseline: session 1 is the baseline again, checked against nothing.
        _, rechecked = remove_checked_session(st, s2["id"])
        assert sorted(rechecked) == [s1["photos"][0]["id"], s3["photos"][0]["id"]]
        assert _against(_checks(st, s1)) == []
        _assert_checked_against(st, s3, st.session(s1["id"]), FACE / "after_no_change.jpg")


def _assert_checked_against(st, session: dict, baseline: dict, photo) -> None:
    """The session's stored checks are those ``session add`` files for ``photo`` against the
    baseline session's photo, the same person as it."""
    ref = CaptureFeatures.from_dict(baseline["photos"][0]["features"])
    checks = _checks(st, session)
    assert _without_identity(checks) == check_photo(str(photo), baseline=ref).checks
    [same] = [c for c in checks if c["name"] == "same_person"]
    assert same["ok"] and same["baseline_photo_id"] == baseline["photos"][0]["id"]


def test_session_add_before_the_baseline_is_checked_as_the_new_baseline(tmp_path):
    """``session add --rebaseline``: the new session is the baseline (no check against the
    old one) and the old baseline is checked against it, as ``session add`` would have; a
    new failure of the others is refused unless forced, and nothing is imported."""
    with Store(tmp_path / "s") as st:
        st.add_patient("P3")
        old = _file(st, "P3", "2026-02-01", FACE / "after_no_change.jpg")
        assert _against(_checks(st, old)) == []
        new = _file(st, "P3", "2026-01-01", FACE / "before.jpg")
        assert [s["id"] for s in st.sessions("P3")] == [new["id"], old["id"]]
        assert _against(_checks(st, new)) == []
        _assert_checked_against(st, old, new, FACE / "after_no_change.jpg")
        checks = _checks(st, old)
        # Another person as the new baseline: the others would be another person than it, a
        # new failure: refused (as session add refuses one), nothing imported.
        n, files = len(st.sessions("P3")), sorted((tmp_path / "s" / "photos").iterdir())
        with pytest.raises(IdentityMismatch, match=r"nothing imported \(use --force") as info:
            add_checked_session(st, "P3", date="2025-12-01", photos=[(str(OTHER), "front")])
        assert info.value.exit_code == 11
        assert f"photo {old['photos'][0]['id']} of session {old['id']}" in info.value.message
        assert len(st.sessions("P3")) == n and _checks(st, old) == checks
        assert sorted((tmp_path / "s" / "photos").iterdir()) == files


def test_dates_in_the_future_or_shared_with_another_session_are_warned_about(tmp_path, caplog):
    """A date in the future is almost always a typo, and two sessions on one date are told
    apart only by their ids: both are filed (two visits a day can be real) with a warning that
    says how to correct it, at ``session add`` and ``session edit --date``."""
    store = tmp_path / "s"
    with Store(store) as st:
        st.add_patient("P4")
        s1 = _file(st, "P4", "2026-01-05", FACE / "before.jpg")
    proc = run_cli(
        "session", "add", "P4", "--date", "2026-01-05", "--photo", FACE / "after_no_change.jpg",
        "--force", "--store", store,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    warnings = [ln for ln in message_lines(proc.stderr) if "already has" in ln]
    assert warnings == [
        f"mesovision: WARNING: patient P4 already has session {s1['id']} on 2026-01-05: this is "
        "another session of that day (mesovision session remove ID removes a duplicate)"
    ]
    with Store(store) as st, caplog.at_level(logging.WARNING):
        s3 = _file(st, "P4", "2099-01-01", FACE / "after_treated.jpg")
        assert len(st.sessions("P4")) == 3  # filed all the same
    assert any(
        r.getMessage().startswith("session date 2099-01-01 is in the future (today is ")
        and "mesovision session edit ID --date YYYY-MM-DD" in r.getMessage()
        for r in caplog.records
    ), caplog.text
    proc = run_cli("session", "edit", s3["id"], "--date", "2098-12-31", "--store", store)
    assert proc.returncode == 0, proc.stderr
    [line] = message_lines(proc.stderr)
    assert line.startswith("mesovision: WARNING: session date 2098-12-31 is in the future")
    proc = run_cli("session", "edit", s3["id"], "--date", "2026-02-01", "--store", store)
    assert proc.returncode == 0 and message_lines(proc.stderr) == [], proc.stderr
