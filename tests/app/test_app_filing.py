"""Filing and editing sessions in the clinic app over plain HTTP: a check that fails only at
filing (the baseline filed meanwhile) is refused and shown, then filed with a reason only; a
session that cannot be compared lands on the timeline with the reason; the library's warnings
reach the page; editing the notes keeps the treated areas the form does not list."""

from __future__ import annotations

import re
import sys

import pytest
from conftest import REPO, SAMPLES, require
from test_app_http import _upload, _wait

from mesovision.store import open_store

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")

BEFORE = SAMPLES / "astronaut" / "before.jpg"
AFTER = SAMPLES / "astronaut" / "after_treated.jpg"
OTHER = SAMPLES / "grace_hopper" / "before.jpg"
JSON = {"Accept": "application/json"}


@pytest.fixture
def client(tmp_path):
    from test_app_http import _client

    c, secret, app = _client(tmp_path / "store")
    assert c.get(f"/patients?token={secret.token}").status_code == 303
    c.secret, c.app_state, c.store_dir = secret, app.state, tmp_path / "store"
    c.post("/patients", data={"id": "P001", "csrf": secret.csrf})
    yield c
    app.state.jobs.shutdown()
    app.state.staging.close()


def _staged(client, data: bytes, name: str) -> dict:
    up = _upload(client, data, name=name).json()
    assert _wait(client, up["job"])["state"] == "done"
    return client.get(f"/uploads/{up['upload']}").json()


def _file(client, uid, date, reason=None, **extra):
    form = {"csrf": client.secret.csrf, "date": date, "photo": uid, **extra}
    if reason:
        form[f"accept_{uid}"] = reason
    return client.post("/patients/P001/sessions", data=form, headers=JSON).json()


def _failing(info: dict) -> list[str]:
    return [c["name"] for c in info["report"]["checks"] if not c["ok"] and c["severity"] == "fail"]


def test_a_check_failing_only_at_filing_is_refused_and_filed_only_with_a_reason(client):
    # one tab stages another person's photo before the baseline exists: nothing to compare with
    early = _staged(client, OTHER.read_bytes(), "hopper.jpg")
    assert _failing(early) == [] and "same_person" not in str(early["report"]["checks"])
    # another tab files the baseline meanwhile
    base = _staged(client, BEFORE.read_bytes(), "baseline.jpg")
    assert "location" in _file(client, base["upload"], "2026-01-05")
    # filing the first tab's photo: the same-person check against the new baseline fails, the
    # page says so and nothing is filed (never forced without a reason)
    answer = _file(client, early["upload"], "2026-02-02", notes="control")
    assert answer["error"].startswith("hopper.jpg: same_person: a different person"), answer
    assert "current baseline" in answer["error"] and "accept it with a reason" in answer["error"]
    with open_store(client.store_dir) as store:
        assert len(store.sessions("P001")) == 1
    now = client.get(f"/uploads/{early['upload']}").json()  # the card shows it now
    assert _failing(now) == ["same_person"]
    # filing again without a reason: still refused (the library's own refusal)
    answer = _file(client, early["upload"], "2026-02-02", notes="control")
    assert "nothing imported" in answer["error"]
    with open_store(client.store_dir) as store:
        assert len(store.sessions("P001")) == 1
    # with a reason: filed, the reason in the notes with the check it accepts
    answer = _file(client, early["upload"], "2026-02-02", "twin sister, consented", notes="control")
    assert answer["location"] == "/patients/P001?session=2", answer
    with open_store(client.store_dir) as store:
        s = store.sessions("P001")[-1]
    assert s["notes"] == "control\naccepted: hopper.jpg: same_person: twin sister, consented"
    (same,) = [c for c in s["photos"][0]["checks"] if c["name"] == "same_person"]
    assert not same["ok"] and same["value"] > same["threshold"]
    # the warning of the forced identity check is the page's, in the app's words
    assert any("filed with the reason given" in w for w in answer["warnings"]), answer
    assert not any("--force" in w for w in answer["warnings"])

    # the session cannot be compared: after filing, the patient page (not an error page) says so
    page = client.get(answer["location"])
    (job,) = re.findall(r'data-job="(\d+)"', page.text)
    assert _wait(client, int(job), timeout=300)["state"] == "done"
    page = client.get(answer["location"])
    assert page.status_code == 200 and "Not done" not in page.text
    (said,) = re.findall(r'<p class="notice" id="filed-not-compared"[^>]*>(.*?)</p>', page.text)
    assert said.startswith("Session 2 is filed; it could not be compared: with the first session")
    assert "hopper.jpg does not look like the same person as the first session" in said
    assert 'id="timeline"' in page.text


def test_warnings_of_filing_and_upload_are_shown_on_the_page(client):
    base = _staged(client, BEFORE.read_bytes(), "baseline.jpg")
    assert _file(client, base["upload"], "2026-01-05")["warnings"] == []
    later = _staged(client, AFTER.read_bytes(), "later.jpg")
    answer = _file(client, later["upload"], "2099-01-01")
    (w,) = answer["warnings"]
    assert w.startswith("session date 2099-01-01 is in the future")
    assert w.endswith("correct it with 'edit' beside the session on the patient page"), w
    page = client.get(answer["location"]).text  # on the page filing lands on
    assert 'id="notices"' in page and "session date 2099-01-01 is in the future" in page
    # still there when the page reloads itself after the comparisons, then said
    (job,) = re.findall(r'data-job="(\d+)"', page)
    assert _wait(client, int(job), timeout=300)["state"] == "done"
    assert "session date 2099-01-01 is in the future" in client.get(answer["location"]).text
    assert 'id="notices"' not in client.get(answer["location"]).text


def test_the_new_session_form_gives_today_s_date_which_files_without_a_warning(client):
    """The date field holds the server's local date (ISO, editable, not limited to it); a
    session filed with it has no warning of a date in the future, one filed with a later date
    has (as ``session add`` files it)."""
    import datetime

    today = datetime.date.today().isoformat()
    new = client.get("/patients/P001/sessions/new").text
    (field,) = re.findall(r'<input id="date"[^>]*>', new)
    assert f'value="{today}"' in field and f'data-today="{today}"' in field
    assert "required" in field and "max=" not in field and "readonly" not in field
    # the hint of a date after today, hidden until the page's script sees one
    assert re.search(r'<p class="hint" id="date-future" role="status" hidden>', new)
    base = _staged(client, BEFORE.read_bytes(), "baseline.jpg")
    answer = _file(client, base["upload"], today)
    assert "location" in answer and answer["warnings"] == [], answer
    with open_store(client.store_dir) as store:
        assert [s["date"] for s in store.sessions("P001")] == [today]


def test_two_faces_in_a_photo_are_said_on_its_card(client):
    sys.path.insert(0, str(REPO / "benchmarks"))
    from _faces import faces_dir

    folder = faces_dir()
    require(folder is not None, "../shared/faces not found (or set MESOVISION_FACES)")
    sys.path.insert(0, str(REPO / "tests" / "checks"))
    from test_single_face import _side_by_side

    photo = _side_by_side(folder, client.store_dir.parent / "two.jpg", 0.4)
    info = _staged(client, photo.read_bytes(), "IMG 12.jpg")
    (single,) = [c for c in info["report"]["checks"] if c["name"] == "single_face"]
    assert single["ok"]
    # by the name sent, not the staged path; once (not again by the thumbnail's detection)
    assert info["warnings"] == [
        f"IMG 12.jpg: 2 faces found; the largest is used (the other is "
        f"{100 * single['value']:.0f} % of its size; the photo fails single_face above 50 %)"
    ], info
    # a mesh fitted to the windows behind one person, lying sideways, is not a face
    info = _staged(client, (folder / "fr_obama1.jpg").read_bytes(), "Obama 1.jpg")
    assert info["warnings"] == [], info


def test_editing_the_notes_keeps_the_treated_areas_the_form_does_not_list(client):
    base = _staged(client, BEFORE.read_bytes(), "baseline.jpg")
    areas = {"treated": ["face", "left_cheek"]}
    assert "location" in _file(client, base["upload"], "2026-01-05", **areas)
    page = client.get("/sessions/1/edit").text
    ticked = re.findall(r'name="treated" value="([a-z_]+)" checked', page)
    assert ticked == ["left_cheek", "face"]  # every area of the session is shown, ticked
    assert "<legend" in page  # the boxes have a name for screen readers
    form = {"csrf": client.secret.csrf, "date": "2026-01-05", "notes": "corrected note",
            "treated": ticked}  # fmt: skip
    assert client.post("/sessions/1/edit", data=form).status_code == 303
    with open_store(client.store_dir) as store:
        s = store.session(1)
    assert s["notes"] == "corrected note" and sorted(s["treated"]) == ["face", "left_cheek"]


def test_two_photos_of_one_view_are_refused_in_the_app_s_words(client):
    one = _staged(client, BEFORE.read_bytes(), "one.jpg")
    two = _staged(client, AFTER.read_bytes(), "two.jpg")
    form = {
        "csrf": client.secret.csrf,
        "date": "2026-01-05",
        "photo": [one["upload"], two["upload"]],
    }
    answer = client.post("/patients/P001/sessions", data=form, headers=JSON).json()
    assert answer["error"].startswith("one.jpg and two.jpg have the same view front"), answer
    assert "--" not in answer["error"] and "choose another view for one of them" in answer["error"]


def test_a_capture_check_failing_only_against_the_new_baseline_needs_the_reason_again(client):
    """A photo accepted for ``head_yaw`` before the baseline existed also fails
    ``yaw_vs_baseline`` once the baseline is filed: refused and shown, the note then names
    every check the reason accepts."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    from _faces import faces_dir

    folder = faces_dir()
    require(folder is not None, "../shared/faces not found (or set MESOVISION_FACES)")
    early = _staged(client, (folder / "fr_kit_harington_john2.jpeg").read_bytes(), "turned.jpg")
    assert "head_yaw" in _failing(early) and "yaw_vs_baseline" not in _failing(early)
    base = _staged(client, (folder / "fr_kit_harington_john1.jpeg").read_bytes(), "front.jpg")
    assert "location" in _file(client, base["upload"], "2026-01-05")
    answer = _file(client, early["upload"], "2026-02-02", "in a hurry")
    assert answer["error"].startswith("turned.jpg: yaw_vs_baseline: turn the head"), answer
    with open_store(client.store_dir) as store:
        assert len(store.sessions("P001")) == 1
    answer = _file(client, early["upload"], "2026-02-02", "in a hurry")
    assert "location" in answer, answer
    with open_store(client.store_dir) as store:
        notes = store.sessions("P001")[-1]["notes"]
    (line,) = notes.splitlines()
    assert line.startswith("accepted: turned.jpg: head_yaw") and "yaw_vs_baseline" in line
    assert line.endswith(": in a hurry")


def test_a_trichoscopy_photo_is_filed_with_its_scale_and_its_area_treated(client):
    """A photo's scale field reaches the store (a trichoscopy photo without one is refused with
    the store's reason); a body, scalp or trichoscopy view may be ticked as a treated area."""
    photo = (SAMPLES / "scalp" / "before.jpg").read_bytes()
    up = _upload(client, photo, name="crown.jpg", view="trichoscopy:vertex").json()
    assert _wait(client, up["job"])["state"] == "done"
    form = {"csrf": client.secret.csrf, "date": "2026-01-05", "photo": up["upload"],
            "treated": "trichoscopy:vertex"}  # fmt: skip
    r = client.post("/patients/P001/sessions", data=form, headers=JSON)
    assert r.json()["error"] == (
        "crown.jpg: a trichoscopy:vertex photo needs its scale: fill in its scale (px per mm of "
        "the file)"
    )
    bad = client.post("/patients/P001/sessions", data={**form, f"scale_{up['upload']}": "-3"},
                      headers=JSON)  # fmt: skip
    assert bad.json()["error"] == (
        "crown.jpg: scale '-3' is not a positive number of pixels per mm"
    )
    r = client.post("/patients/P001/sessions", data={**form, f"scale_{up['upload']}": "50"},
                    headers=JSON)  # fmt: skip
    assert "location" in r.json(), r.json()
    with open_store(client.store_dir) as store:
        (s,) = store.sessions("P001")
    assert s["treated"] == ["trichoscopy:vertex"]
    assert [(p["view"], p["px_per_mm"]) for p in s["photos"]] == [("trichoscopy:vertex", 50.0)]
    new = client.get("/patients/P001/sessions/new").text
    assert 'value="trichoscopy:vertex"> trichoscopy:vertex (its whole area)' in new


def test_the_patient_s_interpupillary_distance_is_set_and_recomputes_the_course(client):
    """Given with a new patient (checked as ``--ipd-mm``: a refusal shows the form again with
    the message beside the field), set and cleared on the patient's page (CSRF-checked); a new
    distance gives the course a new job, whose comparisons carry the swelling in mm."""
    sec = client.secret
    bad = client.post("/patients", data={"id": "P2", "ipd_mm": "6.3", "csrf": sec.csrf})
    assert bad.status_code == 400 and 'id="new-ipd-error"' in bad.text
    assert "interpupillary distance 6.3 is not a plausible interpupillary distance" in bad.text
    assert 'value="6.3"' in bad.text  # the value typed, to correct
    with open_store(client.store_dir) as store:
        assert [p["id"] for p in store.patients()] == ["P001"]
    ok = client.post("/patients", data={"id": "P2", "ipd_mm": "61.5", "csrf": sec.csrf})
    assert ok.status_code == 303
    assert re.search(
        r'<input id="ipd" name="ipd_mm"[^>]*value="61.5"', client.get("/patients/P2").text
    )

    for photo, date in ((BEFORE, "2026-01-05"), (AFTER, "2026-01-12")):
        uid = _staged(client, photo.read_bytes(), photo.name)["upload"]
        assert "location" in _file(client, uid, date, treated=["left_cheek", "right_cheek"])
    (plain,) = re.findall(r'data-job="(\d+)"', client.get("/patients/P001").text)
    assert _wait(client, int(plain), timeout=300)["state"] == "done"
    assert 'data-metric="swelling.contour_mm"' not in client.get("/patients/P001").text

    assert client.post("/patients/P001/ipd", data={"ipd_mm": "63"}).status_code == 403
    r = client.post("/patients/P001/ipd", data={"ipd_mm": "63", "csrf": sec.csrf})
    assert r.status_code == 303 and r.headers["location"] == "/patients/P001"
    page = client.get("/patients/P001").text
    (scaled,) = re.findall(r'data-job="(\d+)"', page)
    assert scaled != plain  # the course is compared again at the new scale
    assert _wait(client, int(scaled), timeout=300)["state"] == "done"
    page = client.get("/patients/P001").text
    assert 'data-metric="swelling.contour_mm"' in page
    assert "interpupillary distance 63 mm (the scale of the measures in mm)" in page
    refused = client.post("/patients/P001/ipd", data={"ipd_mm": "abc", "csrf": sec.csrf})
    assert refused.status_code == 400 and "is not a number of mm" in refused.text
    assert (
        client.post("/patients/P001/ipd", data={"ipd_mm": "", "csrf": sec.csrf}).status_code == 303
    )
    with open_store(client.store_dir) as store:
        assert store.patient("P001")["ipd_mm"] is None
        assert [c["detail"]["new"] for c in store.changes() if c["action"] == "patient edit"] == [
            {"ipd_mm": 63.0}, {"ipd_mm": None},
        ]  # fmt: skip
