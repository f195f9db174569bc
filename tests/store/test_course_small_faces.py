"""A face too small to tell who it is (it fails ``face_size``) gets no identity check in a
course: ``session add`` refuses the capture failure (exit 6), not "a different person" (exit
11), and a baseline with such a face leaves the others' identity check not assessed. Built from
the shipped astronaut photos and a 64 x 64 px thumbnail of one of them (6 px between the eyes:
its face descriptor is 0.625 from the baseline's, beyond the 0.585 limit)."""

from __future__ import annotations

from conftest import SAMPLES, message_lines, run_cli
from PIL import Image, ImageOps

from mesovision.course import add_checked_session, edit_checked_session
from mesovision.store import Store

FACE = SAMPLES / "astronaut"


def _thumbnail(tmp_path, side: int = 64):
    path = tmp_path / f"thumb{side}.jpg"
    with Image.open(FACE / "after_no_change.jpg") as im:
        ImageOps.exif_transpose(im).convert("RGB").resize((side, side)).save(path, quality=90)
    return path


def _same_person(st: Store, session: dict) -> dict | None:
    checks = st.session(session["id"])["photos"][0]["checks"]
    return next((c for c in checks if c["name"] == "same_person"), None)


def test_session_add_refuses_a_thumbnail_for_its_size_not_as_another_person(tmp_path):
    thumb = _thumbnail(tmp_path)
    store = tmp_path / "s"
    assert run_cli("patient", "add", "P1", "--store", store).returncode == 0
    base = ("session", "add", "P1", "--store", store, "--date")
    assert run_cli(*base, "2026-01-05", "--photo", FACE / "before.jpg").returncode == 0
    proc = run_cli(*base, "2026-02-02", "--photo", thumb)
    assert proc.returncode == 6, proc.stderr
    [line] = message_lines(proc.stderr)
    assert line.startswith(f"mesovision: error: {thumb}: face_size: move closer")
    assert "nothing imported (retake the photo, or use --force" in line
    assert "different person" not in proc.stderr
    with Store(store) as st:
        [s1] = st.sessions("P1")
        # forced, it is filed with its capture failure and without an identity check or a
        # descriptor (it could not serve as anyone's reference)
        s2, _ = add_checked_session(
            st, "P1", date="2026-02-02", photos=[(str(thumb), "front")], force=True, copy=True
        )
        assert _same_person(st, s2) is None
        photo = st.session(s2["id"])["photos"][0]
        assert "face_descriptor" not in photo["features"]
        failed = [c["name"] for c in photo["checks"] if not c["ok"] and c["severity"] == "fail"]
        assert failed[0] == "face_size" and "same_person" not in failed


def test_a_baseline_too_small_leaves_the_identity_check_not_assessed(tmp_path):
    """The thumbnail filed (forced) as the baseline: a later full photo gets a ``same_person``
    warning that says why it is not assessed, and is filed; the same when the thumbnail becomes
    the baseline by a date edit (the re-run checks)."""
    thumb = _thumbnail(tmp_path)
    with Store(tmp_path / "s") as st:
        st.add_patient("P1")
        add_checked_session(
            st, "P1", date="2026-01-05", photos=[(str(thumb), "front")], force=True, copy=True
        )
        s2, _ = add_checked_session(
            st, "P1", date="2026-02-02", photos=[(str(FACE / "before.jpg"), "front")], copy=True
        )
        same = _same_person(st, s2)
        assert same["ok"] is False and same["severity"] == "warn" and same["value"] is None
        assert same["message"].startswith("not assessed: the face of the baseline photo")
        assert (
            "is too small to tell who it is (6 px between the eyes, minimum 30)"
            in (same["message"])
        )


def test_a_rebaseline_onto_a_thumbnail_is_not_refused_as_another_person(tmp_path):
    thumb = _thumbnail(tmp_path)
    with Store(tmp_path / "s") as st:
        st.add_patient("P1")
        add_checked_session(
            st, "P1", date="2026-01-05", photos=[(str(FACE / "before.jpg"), "front")], copy=True
        )
        small, _ = add_checked_session(
            st, "P1", date="2026-02-02", photos=[(str(thumb), "front")], force=True, copy=True
        )
        assert _same_person(st, small) is None
        _, rechecked = edit_checked_session(st, small["id"], date="2026-01-01", rebaseline=True)
        [s1] = [s for s in st.sessions("P1") if s["id"] != small["id"]]
        same = _same_person(st, s1)
        assert same["severity"] == "warn" and same["message"].startswith("not assessed")


def test_the_thumbnail_would_be_taken_for_another_person(tmp_path):
    """The premise of the tests above: the thumbnail's face descriptor is beyond the limit
    from the baseline's (so without the size guard it is refused as another person)."""
    from mesovision.course import file_descriptor
    from mesovision.identity import compare_descriptors
    from mesovision.io import sha256_file

    thumb = _thumbnail(tmp_path)
    a = file_descriptor(str(FACE / "before.jpg"), sha256_file(str(FACE / "before.jpg")))
    b = file_descriptor(str(thumb), sha256_file(str(thumb)))
    assert not compare_descriptors(a, b, reference="the baseline").passed
