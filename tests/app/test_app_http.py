"""The clinic app over plain HTTP (Starlette's test client, and the real server started by
``mesovision serve``): the access token, CSRF, host and origin checks, upload limits, escaping,
the security headers, the job registry, and filing a session with a failing photo accepted with
a reason."""

from __future__ import annotations

import html
import io
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, SAMPLES
from PIL import Image

from mesovision.app import CSP, Secrets, create_app
from mesovision.app.jobs import JobRegistry
from mesovision.app.uploads import safe_name
from mesovision.store import open_store

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")

BEFORE = SAMPLES / "astronaut" / "before.jpg"
AFTER = SAMPLES / "astronaut" / "after_treated.jpg"


def _client(store_dir, **kw):
    from starlette.testclient import TestClient

    secret = Secrets()
    app = create_app(store_dir, secret=secret, **kw)
    return TestClient(app, follow_redirects=False), secret, app


@pytest.fixture
def client(tmp_path):
    c, secret, app = _client(tmp_path / "store")
    assert c.get(f"/patients?token={secret.token}").status_code == 303  # sets the cookie
    c.secret, c.app_state, c.store_dir = secret, app.state, tmp_path / "store"
    yield c
    app.state.jobs.shutdown()
    app.state.staging.close()


def _wait(c, job_id, timeout=120):
    t0 = time.time()
    while time.time() - t0 < timeout:
        j = c.get(f"/jobs/{job_id}").json()
        if j["state"] in ("done", "failed"):
            return j
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} still {j['state']} after {timeout} s")


def _upload(c, data: bytes, name="photo.jpg", patient="P001", view="front", headers=None):
    return c.post(
        "/uploads",
        files={"file": (name, data, "image/jpeg")},
        data={"view": view, "patient": patient},
        headers={"X-CSRF-Token": c.secret.csrf} if headers is None else headers,
    )


# --- the access token ---------------------------------------------------------------------------


def test_every_request_needs_the_token(tmp_path):
    c, secret, _ = _client(tmp_path / "store")
    for path in ("/", "/patients", "/static/app.js", "/jobs/1", "/patients/P001/report.html"):
        r = c.get(path)
        assert r.status_code == 401, path
        assert "access token" in r.text and secret.token not in r.text
        assert r.headers["content-security-policy"] == CSP
    assert c.get("/patients?token=wrong").status_code == 401
    c.cookies.set("mesovision_token", "wrong")
    assert c.get("/patients").status_code == 401
    assert c.post("/patients", data={"id": "P1", "csrf": secret.csrf}).status_code == 401


def test_the_token_in_the_url_becomes_a_cookie_and_leaves_the_url(tmp_path):
    c, secret, _ = _client(tmp_path / "store")
    r = c.get(f"/patients?q=P0&token={secret.token}")
    assert r.status_code == 303 and r.headers["location"] == "/patients?q=P0"
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"mesovision_token={secret.token};")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    r = c.get("/patients?q=P0")
    assert r.status_code == 200 and secret.token not in r.text


def test_host_and_origin_of_another_site_are_refused(tmp_path):
    c, secret, _ = _client(tmp_path / "store", hosts={"127.0.0.1:8765"})
    c.cookies.set("mesovision_token", secret.token)
    assert c.get("http://127.0.0.1:8765/patients").status_code == 200
    r = c.get("http://evil.example:8765/patients")  # DNS rebinding: the Host names the attacker
    assert r.status_code == 403 and "Host" in r.text
    r = c.post(
        "http://127.0.0.1:8765/patients",
        data={"id": "P9", "csrf": secret.csrf},
        headers={"Origin": "http://evil.example"},
    )
    assert r.status_code == 403
    with open_store(tmp_path / "store") as store:
        assert store.patients() == []


# --- CSRF, escaping, headers --------------------------------------------------------------------


def test_a_form_without_the_csrf_token_is_refused(client):
    for data in ({"id": "P001"}, {"id": "P001", "csrf": "x" * 43}):
        r = client.post("/patients", data=data)
        assert r.status_code == 403 and "CSRF" in r.text
    r = _upload(client, BEFORE.read_bytes(), headers={})
    assert r.status_code == 403
    with open_store(client.store_dir) as store:
        assert store.patients() == []
    assert list(client.app_state.staging.root.iterdir()) == []
    r = client.post("/patients", data={"id": "P001", "csrf": client.secret.csrf})
    assert r.status_code == 303 and r.headers["location"] == "/patients/P001"


def test_user_text_is_escaped_and_every_page_has_the_headers(client):
    name = '<script>alert("x")</script>'
    client.post("/patients", data={"id": "P001", "name": name, "csrf": client.secret.csrf})
    for path in ("/patients", "/patients/P001"):
        r = client.get(path)
        assert r.status_code == 200
        assert name not in r.text and "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in r.text
        assert r.headers["content-security-policy"] == CSP
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["cache-control"] == "no-store"
        # no inline script: every <script> has a src or is a JSON data block
        for tag in re.findall(r"<script[^>]*>", r.text):
            assert "src=" in tag or 'type="application/json"' in tag, tag
    assert "script-src 'self'" in CSP and "unsafe-inline" not in CSP


def test_a_patient_is_removed_only_when_the_id_is_typed(client):
    client.post("/patients", data={"id": "P001", "csrf": client.secret.csrf})
    r = client.get("/patients/P001/remove")
    assert r.status_code == 200 and "Type the id to confirm" in r.text
    r = client.post("/patients/P001/remove", data={"csrf": client.secret.csrf, "confirm": "P00"})
    assert r.status_code == 400 and "the id typed is not P001: nothing removed" in r.text
    assert client.post("/patients/P001/remove", data={"confirm": "P001"}).status_code == 403
    with open_store(client.store_dir) as store:
        assert [p["id"] for p in store.patients()] == ["P001"]
    r = client.post("/patients/P001/remove", data={"csrf": client.secret.csrf, "confirm": "P001"})
    assert r.status_code == 303 and r.headers["location"] == "/patients"
    with open_store(client.store_dir) as store:
        assert store.patients() == []
        assert [c["action"] for c in store.changes()] == ["patient remove"]


def test_the_search_sends_nothing_the_rows_carry_their_folded_words(client):
    """The list is filtered by the page's script (test_app_browser.py): the search box has no
    form and no field name, so nothing typed reaches an address; ``?q=`` filters nothing."""
    for pid, name in (("P001", "Ann Martin"), ("P002", "Bob Stone"), ("X7", None)):
        client.post("/patients", data={"id": pid, "name": name or "", "csrf": client.secret.csrf})
    ids = lambda text: re.findall(r'href="/patients/([^"/]+)"', text)  # noqa: E731
    text = client.get("/patients").text
    assert ids(text) == ["P001", "P002", "X7"] == ids(client.get("/patients?q=stone").text)
    assert re.findall(r'data-search="([^"]*)"', text) == [
        "p001\nann martin",
        "p002\nbob stone",
        "x7\n",
    ]
    box = re.search(r'<div class="search" role="search".*?</div>', text, re.S).group(0)
    assert "<form" not in box and "name=" not in box
    assert '<label for="q">Search by id or name</label>' in box
    assert 'aria-describedby="search-status"' in box and 'role="status"' in box


def test_errors_are_one_line_pages_not_tracebacks(client):
    client.post("/patients", data={"id": "P001", "csrf": client.secret.csrf})
    for query, message in (
        ("view=bogus", "unknown view &#39;bogus&#39;"),  # not "wait for the comparisons"
        ("view=left-45", "no photo of the view &#39;left-45&#39; in this course"),
        ("session=1x", "session &#39;1x&#39; is not a session id"),
    ):
        r = client.get(f"/patients/P001/export.csv?{query}")
        assert r.status_code == 400 and message in r.text, query
    r = client.get("/patients/P001?view=bogus")  # refused as the downloads refuse it
    assert r.status_code == 400 and "unknown view &#39;bogus&#39;" in r.text
    r = client.get("/patients/P001?session=abc")  # not Python's int() message
    assert r.status_code == 400 and "session &#39;abc&#39; is not a session id" in r.text
    r = client.get("/patients/NOPE")  # not found, without the command line's advice
    assert r.status_code == 404 and "unknown patient &#39;NOPE&#39;" in r.text
    assert "mesovision patient list" not in r.text
    assert "Traceback" not in r.text
    r = client.post("/patients", data={"id": "bad id!", "csrf": client.secret.csrf})
    assert r.status_code == 400 and "must be 1-64 letters" in r.text
    assert client.get("/patients/NOPE/nothing.txt").status_code == 404


def test_the_pages_offer_their_own_way_past_a_refusal_not_the_command_line_s():
    from mesovision.app.web import app_wording

    refusal = "2026-01-01 comes before the baseline (2026-02-01); give --rebaseline to accept that"
    assert app_wording(refusal) == (
        "2026-01-01 comes before the baseline (2026-02-01); tick 'the baseline may change' to "
        "accept that"
    )
    assert "--" not in app_wording("face too small; use --force to import it anyway")
    # the templates carry the box the wording names
    for name in ("session_edit.html", "session_new.html"):
        text = (REPO / "mesovision" / "app" / "templates" / name).read_text(encoding="utf-8")
        assert "the baseline may change" in text
    # every command-line text app_wording replaces is one the library says
    from mesovision.app.web import APP_WORDING

    sources = "".join(
        f.read_text(encoding="utf-8")
        for f in (REPO / "mesovision").rglob("*.py")
        if "app" not in f.parts
    )
    for cli, app in APP_WORDING.items():
        assert cli in sources, cli
        assert "--" not in app and "mesovision " not in app, app


def test_assets_are_package_files_without_external_addresses():
    app_dir = REPO / "mesovision" / "app"
    for f in [*app_dir.glob("templates/*.html"), *app_dir.glob("static/*")]:
        text = f.read_text(encoding="utf-8")
        assert not re.search(r"(src|href)=\"(https?:)?//", text), f
        assert "<style" not in text and " style=" not in text, f  # style-src 'self'


# --- uploads ------------------------------------------------------------------------------------


def test_an_upload_longer_than_the_limit_is_refused_before_it_is_read(tmp_path):
    c, secret, app = _client(tmp_path / "store", max_body=50_000)
    c.cookies.set("mesovision_token", secret.token)
    c.secret = secret
    c.post("/patients", data={"id": "P001", "csrf": secret.csrf})
    r = _upload(c, b"\xff" * 60_000)
    assert r.status_code == 413 and "limit is 50000 bytes" in r.text
    assert app.state.staging._root is None  # nothing staged: no staging folder made at all
    app.state.jobs.shutdown()


def test_an_upload_over_the_pixel_limit_is_refused_and_dropped(client):
    client.post("/patients", data={"id": "P001", "csrf": client.secret.csrf})
    buf = io.BytesIO()
    Image.new("L", (8000, 7600)).save(buf, format="PNG")  # 60.8 MP > 60 MP, 60 kB
    r = _upload(client, buf.getvalue(), name="../../huge photo.png")
    assert r.status_code == 200
    up = r.json()
    assert up["name"] == "huge photo.png"  # the name as sent, without its folders
    assert _wait(client, up["job"])["state"] == "done"
    info = client.get(f"/uploads/{up['upload']}").json()
    assert info["error"] == (
        "huge photo.png: photo of 61 MP (8000 x 7600 px); at most 60 MP: set the camera to "
        "12-50 MP or export the photo smaller"
    )
    assert info["report"] is None and not info["thumb"]
    assert list(client.app_state.staging.root.iterdir()) == []
    assert client.get(f"/uploads/{up['upload']}/thumb.jpg").status_code == 404


def test_the_thumbnail_is_a_new_rendering_with_the_regions_drawn():
    from mesovision.app.uploads import THUMB_SIDE, thumbnail

    def outline_pixels(jpeg: bytes) -> int:
        im = Image.open(io.BytesIO(jpeg))
        assert max(im.size) == THUMB_SIDE and "exif" not in im.info and "icc_profile" not in im.info
        rgb = np.asarray(im.convert("RGB"), dtype=np.int32)
        return int((np.abs(rgb - [40, 200, 255]).max(axis=2) < 50).sum())

    drawn, plain = thumbnail(str(BEFORE)), thumbnail(str(BEFORE), face=False)
    # nine region outlines 2 px wide: about 1,600 px of their colour at 480 px; none in the photo
    assert outline_pixels(drawn) > 500 and outline_pixels(plain) < 20


def test_a_photo_lying_sideways_is_shown_upright(tmp_path):
    from mesovision.app.uploads import thumbnail
    from mesovision.io import load_photo, write_png

    up = load_photo(str(SAMPLES / "grace_hopper" / "before.jpg")).rgb  # 1024 x 1200, upright
    lost = write_png(tmp_path / "lost_tag.png", np.rot90(up, 1))
    shown = Image.open(io.BytesIO(thumbnail(str(lost), face=True)))
    plain = Image.open(io.BytesIO(thumbnail(str(lost), face=False)))
    assert shown.width < shown.height and plain.width > plain.height  # turned back upright
    assert shown.size == plain.size[::-1]


def test_safe_name_keeps_letters_digits_and_the_extension():
    assert safe_name("C:\\photos\\été 1.JPG") == "_t__1.JPG"
    assert safe_name("../../.hidden.png") == "hidden.png"
    assert safe_name("") == "photo.jpg" and safe_name(None) == "photo.jpg"
    assert len(safe_name("a" * 300 + ".jpg")) == 100


# --- the job registry ---------------------------------------------------------------------------


def test_jobs_of_one_key_are_shared_and_report_progress_and_failure():
    reg = JobRegistry()
    go = threading.Event()

    def work(progress):
        progress(1, 3, "one")
        go.wait(5)
        progress(3, 3, "three")
        return 42

    a = reg.submit("demo", ("k",), work)
    b = reg.submit("demo", ("k",), work)  # a second tab: the same job
    assert a is b
    for _ in range(100):
        if a.done == 1:
            break
        time.sleep(0.01)
    # another kind runs meanwhile (a photo's checks during a course's comparisons); the same
    # kind waits its turn
    other = reg.submit("check", ("c",), lambda p: "checked")
    queued = reg.submit("demo", ("k2",), lambda p: "second")
    for _ in range(200):
        if other.state == "done":
            break
        time.sleep(0.01)
    assert other.result == "checked" and a.state == "running" and queued.state == "queued"
    assert a.as_dict() | {"id": 0} == {"id": 0, "kind": "demo", "state": "running", "done": 1,
                                       "total": 3, "label": "one", "error": None}  # fmt: skip
    go.set()
    for _ in range(200):
        if a.state == "done":
            break
        time.sleep(0.01)
    assert a.state == "done" and a.result == 42 and (a.done, a.total) == (3, 3)
    for _ in range(200):
        if queued.state == "done":
            break
        time.sleep(0.01)
    assert queued.result == "second"
    assert "result" not in a.as_dict()

    def fail(progress):
        from mesovision.errors import UsageError

        raise UsageError("unknown patient 'P9'")

    f = reg.submit("demo", ("f",), fail)
    for _ in range(200):
        if f.state == "failed":
            break
        time.sleep(0.01)
    assert f.state == "failed" and f.error == "unknown patient 'P9'"
    g = reg.submit("demo", ("f",), lambda p: 1)  # a failed job is retried, not returned
    assert g is not f
    reg.shutdown()


# --- filing a session (capture checks; a failing photo accepted with a reason) -----------------


def test_a_failing_photo_is_filed_only_with_a_reason(client, tmp_path):
    from mesovision.io import load_photo
    from mesovision.testing.capture import glare_photo

    rgb = glare_photo(load_photo(BEFORE).rgb)
    buf = io.BytesIO()
    Image.fromarray(np.round(rgb * 255).astype(np.uint8)).save(buf, format="JPEG", quality=95)
    client.post("/patients", data={"id": "P001", "csrf": client.secret.csrf})
    up = _upload(client, buf.getvalue(), name="shiny.jpg").json()
    assert _wait(client, up["job"])["state"] == "done"
    info = client.get(f"/uploads/{up['upload']}").json()
    failed = [
        c["name"] for c in info["report"]["checks"] if not c["ok"] and c["severity"] == "fail"
    ]
    assert failed == ["glare"] and info["report"]["file"] == "shiny.jpg"
    thumb = client.get(f"/uploads/{up['upload']}/thumb.jpg")
    assert thumb.headers["content-type"] == "image/jpeg"
    assert max(Image.open(io.BytesIO(thumb.content)).size) == 480  # a new rendering
    form = {"csrf": client.secret.csrf, "date": "2026-01-05", "photo": up["upload"],
            "treated": ["left_cheek", "chin"], "notes": "first visit"}  # fmt: skip
    r = client.post("/patients/P001/sessions", data=form)
    assert r.status_code == 400 and "shiny.jpg: glare: avoid glare" in r.text
    assert "nothing imported (retake the photo, or accept it with a reason)" in r.text
    r = client.post("/patients/P001/sessions", data=form, headers={"Accept": "application/json"})
    assert r.status_code == 200 and r.json()["error"].startswith("shiny.jpg: glare: avoid glare")
    with open_store(client.store_dir) as store:
        assert store.sessions("P001") == []
    r = client.post(
        "/patients/P001/sessions", data=form | {f"accept_{up['upload']}": "no other light"}
    )
    assert r.status_code == 303 and r.headers["location"] == "/patients/P001?session=1"
    with open_store(client.store_dir) as store:
        (s,) = store.sessions("P001")
        (ph,) = s["photos"]
        assert store.photo_file(ph).is_file() and ph["managed_path"]  # filed through the store
    assert s["treated"] == ["left_cheek", "chin"]
    assert s["notes"] == "first visit\naccepted: shiny.jpg: glare: no other light"
    assert [c["name"] for c in ph["checks"] if not c["ok"] and c["severity"] == "fail"] == ["glare"]
    assert list(client.app_state.staging.root.iterdir()) == []  # the staged file is gone
    page = client.get("/patients/P001").text
    assert "accepted: shiny.jpg: glare: no other light" in page
    # the failed check by a readable name (its message on hover), apart from the warnings
    (failed,) = re.findall(r'<span class="failed-checks">\(failed: (.*?)\)</span>', page)
    assert re.sub(r"<[^>]+>", "", failed) == "glare" and 'title="avoid glare' in failed


def _file(client, path, date, reason=None):
    up = _upload(client, Path(path).read_bytes(), name=Path(path).name).json()
    assert _wait(client, up["job"])["state"] == "done"
    form = {"csrf": client.secret.csrf, "date": date, "photo": up["upload"]}
    if reason:
        form[f"accept_{up['upload']}"] = reason
    info = client.get(f"/uploads/{up['upload']}").json()
    return client.post("/patients/P001/sessions", data=form), info


def test_another_persons_photo_fails_at_upload_and_is_filed_only_with_a_reason(client):
    client.post("/patients", data={"id": "P001", "csrf": client.secret.csrf})
    r, info = _file(client, BEFORE, "2026-01-05")
    assert r.status_code == 303
    assert "same_person" not in [c["name"] for c in info["report"]["checks"]]  # the baseline
    other = SAMPLES / "grace_hopper" / "before.jpg"
    r, info = _file(client, other, "2026-02-02")
    (same,) = [c for c in info["report"]["checks"] if c["name"] == "same_person"]
    assert not same["ok"] and same["severity"] == "fail" and same["value"] > same["threshold"]
    assert r.status_code == 400 and "nothing imported" in r.text
    with open_store(client.store_dir) as store:
        assert len(store.sessions("P001")) == 1
    r, info = _file(client, AFTER, "2026-02-02")  # the same person: passes
    (same,) = [c for c in info["report"]["checks"] if c["name"] == "same_person"]
    assert same["ok"] and same["value"] < same["threshold"] and r.status_code == 303
    r, info = _file(client, other, "2026-03-02", reason="twin sister, consented")
    assert r.status_code == 303
    (shown,) = [c for c in info["report"]["checks"] if c["name"] == "same_person"]
    with open_store(client.store_dir) as store:
        s = store.sessions("P001")[-1]
    assert s["notes"] == "accepted: before.jpg: same_person: twin sister, consented"
    (filed,) = [c for c in s["photos"][0]["checks"] if c["name"] == "same_person"]
    # the check shown at upload is the one filed (same function, same files)
    assert not filed["ok"] and filed["value"] == pytest.approx(shown["value"], abs=1e-9)
    assert filed["value"] > filed["threshold"]
    # the course cannot compare another person: that session has no "show" link but a word
    (job,) = re.findall(r'data-job="(\d+)"', client.get("/patients/P001").text)
    assert _wait(client, int(job), timeout=300)["state"] == "done"
    page = client.get("/patients/P001").text
    assert page.count('class="show-session"') == 1  # session 2 (the baseline has none)
    assert f'href="/patients/P001?session={s["id"]}' not in page
    (why,) = re.findall(r'<span class="not-compared">not compared: (.*?)</span>', page)
    # in the report's words: the limit, the values, what to do; the photo by its file name
    assert re.fullmatch(
        r"with the first session: before\.jpg does not look like the same person as "
        r"the first session's photo \(face distance 0\.\d{3}, limit 0\.\d{3}\); check that "
        r"the right photo was filed with this session",
        html.unescape(why),
    ), why


def test_an_upload_is_filed_and_shown_by_the_name_the_browser_sent(client):
    """The store records ``upload:<name as sent>``; the upload's JSON, the course document,
    ``patient show``, the patient page and the report name the photo by it, and nothing in the
    store folder or shown holds the staging folder's path."""
    from mesovision.course import course_document

    staging = str(client.app_state.staging.root)
    client.post("/patients", data={"id": "P001", "csrf": client.secret.csrf})
    sent = {"2026-01-05": (BEFORE, "Mme Dupont/IMG 1234 é.jpg"),
            "2026-02-02": (AFTER, "Mme Dupont/IMG 1240 é.jpg")}  # fmt: skip
    for date, (path, name) in sent.items():
        up = _upload(client, path.read_bytes(), name=name).json()
        assert up["name"] == name.split("/")[1]
        assert _wait(client, up["job"])["state"] == "done"
        (staged,) = client.app_state.staging.root.glob("*/*")
        assert staged.name == name.split("/")[1].replace(" ", "_").replace("é", "_")  # safe name
        info = client.get(f"/uploads/{up['upload']}").json()
        assert info["report"]["file"] == up["name"] and staging not in str(info)
        form = {"csrf": client.secret.csrf, "date": date, "photo": up["upload"]}
        assert client.post("/patients/P001/sessions", data=form).status_code == 303
        assert list(client.app_state.staging.root.iterdir()) == []
    with open_store(client.store_dir) as store:
        rows = store.conn.execute("SELECT original_path, managed_path FROM photos ORDER BY id")
        rows = [tuple(r) for r in rows]
    assert [r[0] for r in rows] == ["upload:IMG 1234 é.jpg", "upload:IMG 1240 é.jpg"]
    assert all(r[1].startswith("photos/") for r in rows)
    doc = course_document(client.store_dir, "P001", warn=False)
    assert [s["photo"]["file_name"] for s in doc["sessions"]] == [
        "IMG 1234 é.jpg",
        "IMG 1240 é.jpg",
    ]
    assert len(doc["comparisons"]) == 2, doc["notes"]
    inputs = doc["comparisons"][0]["record"]["inputs"]  # the comparison names the user's files
    assert (inputs["before"]["file"], inputs["after"]["file"]) == (
        "IMG 1234 é.jpg",
        "IMG 1240 é.jpg",
    )
    show = ["patient", "show", "P001", "--store", str(client.store_dir)]
    proc = subprocess.run(
        [sys.executable, "-m", "mesovision", *show], capture_output=True, text=True, cwd=REPO
    )
    assert proc.returncode == 0, proc.stderr
    shown = re.findall(r"^    photo \d+  front     (.*?)  ", proc.stdout, re.M)
    assert shown == [
        "IMG 1234 é.jpg (uploaded, copy in store)",
        "IMG 1240 é.jpg (uploaded, copy in store)",
    ]
    (job,) = re.findall(r'data-job="(\d+)"', client.get("/patients/P001").text)
    assert _wait(client, int(job), timeout=300)["state"] == "done"
    page = client.get("/patients/P001?session=2").text
    assert 'front: <span class="file-name">IMG 1234 é.jpg</span>' in page
    assert "IMG 1240 é.jpg</td>" in page  # the report's sessions table
    report = client.get("/patients/P001/report.html").text
    assert "IMG 1240 é.jpg" in report
    for out in (proc.stdout, str(doc), page, report):
        assert staging not in out and ".uploads" not in out
    for f in client.store_dir.rglob("*"):  # the database (and its WAL), copies, analyses
        assert not f.is_file() or staging.encode() not in f.read_bytes(), f


def test_tabs_share_the_course_job_and_an_edit_starts_a_new_one(client):
    client.post("/patients", data={"id": "P001", "name": "Ann Martin", "csrf": client.secret.csrf})
    assert _file(client, BEFORE, "2026-01-05")[0].status_code == 303
    page = client.get("/patients/P001").text
    assert 'id="no-sessions"' not in page and "data-job" not in page  # nothing to compare yet
    r = client.get("/patients/P001/report.html")
    assert r.status_code == 409 and "comparisons of this course are not ready" in r.text
    assert _file(client, AFTER, "2026-02-02")[0].status_code == 303
    job_of = lambda: re.findall(r'data-job="(\d+)"', client.get("/patients/P001").text)  # noqa: E731
    first = job_of()
    assert len(first) == 1 and job_of() == first  # a second tab: the same job, not a second one
    assert _wait(client, int(first[0]), timeout=300)["state"] == "done"
    page = client.get("/patients/P001").text
    assert "data-job" not in page and 'id="slider"' in page and 'id="course-view"' in page
    r = client.get("/patients/P001/export.json")
    assert r.status_code == 200 and r.headers["content-disposition"].endswith('"P001-export.json"')
    # the report to share: de-identified, its file name without the patient's id
    assert 'id="download-deidentified"' in page
    shared = client.get("/patients/P001/report-deidentified.pdf")
    assert shared.status_code == 200 and shared.content.startswith(b"%PDF")
    assert shared.headers["content-disposition"] == 'attachment; filename="report-deidentified.pdf"'
    from pypdf import PdfReader

    def text(pdf: bytes) -> str:
        return " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)

    assert "Ann Martin" in text(client.get("/patients/P001/report.pdf").content)
    assert "Ann Martin" not in text(shared.content) and "Martin" not in text(shared.content)
    assert {row["against"] for row in r.json()} == {"baseline", "previous"}
    client.post("/sessions/2/edit", data={"csrf": client.secret.csrf, "date": "2026-02-03"})
    second = job_of()  # the course changed: a new document, computed from the cached analyses
    assert second and second != first


# --- the command ---------------------------------------------------------------------------------


def _serve(tmp_path, *extra, env=None):
    """``mesovision serve --port 0`` started as a user starts it: the process, the URL it
    printed, the base address, the port and the token."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "mesovision", "serve", "--store", str(tmp_path / "s"), "--port",
         "0", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO, env=env,
    )  # fmt: skip
    for _ in range(20):
        line = proc.stdout.readline()
        m = re.search(r"(http://([0-9.]+):(\d+))/\?token=(\S+)", line)
        if m:
            return proc, m.group(0), m.group(1), m.group(3), m.group(4)
    proc.kill()
    raise AssertionError(proc.communicate()[1])


def _stop(proc) -> str:
    import signal

    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    return err


def test_serve_prints_a_token_url_and_stops_on_ctrl_c(tmp_path):
    import httpx

    proc, url, base, port, token = _serve(tmp_path)
    try:
        assert base.startswith("http://127.0.0.1:") and len(token) >= 40
        assert httpx.get(f"{base}/patients").status_code == 401
        r = httpx.get(url)
        assert r.status_code == 303 and r.headers["location"] == "/"
        r = httpx.get(f"{base}/patients", cookies={f"mesovision_token_{port}": token})
        assert r.status_code == 200 and "Add a patient" in r.text
        r = httpx.get(
            f"http://localhost:{port}/patients", cookies={f"mesovision_token_{port}": token}
        )
        assert r.status_code == 200
    finally:
        err = _stop(proc)
    assert "warn" not in err.lower()


def test_serve_on_another_address_warns(tmp_path):
    import httpx

    proc, url, base, port, token = _serve(tmp_path, "--host", "0.0.0.0")
    try:
        assert base != f"http://0.0.0.0:{port}"  # this computer's address (test_app_security)
        r = httpx.get(f"http://127.0.0.1:{port}/patients")
        assert r.status_code == 401  # reachable under any name, never without the token
    finally:
        err = _stop(proc)
    assert "serving on 0.0.0.0: other machines that reach this address can open the app" in err


def test_serve_refuses_a_port_out_of_range_or_in_use(tmp_path):
    import socket

    from conftest import run_cli

    r = run_cli("serve", "--store", tmp_path / "s", "--port", "70000")
    assert r.returncode == 2 and "--port 70000 is not between 0 and 65535" in r.stderr
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        r = run_cli("serve", "--store", tmp_path / "s", "--port", port)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr == (
        f"mesovision: error: cannot listen on 127.0.0.1:{port} (in use); choose another --port "
        "or --host\n"
    )


def test_a_defect_in_the_checks_reaches_the_page_as_an_error(tmp_path, monkeypatch):
    # An exception that is not a MesovisionError (a bug) must not leave the upload with neither
    # a report nor an error: the page would wait for its card forever.
    import mesovision.checks
    from mesovision.app import uploads

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(mesovision.checks, "check_photo", broken)
    photo = tmp_path / "up" / "face.jpg"
    photo.parent.mkdir()
    photo.write_bytes((SAMPLES / "astronaut" / "before.jpg").read_bytes())
    with open_store(tmp_path / "store") as store:
        pid = store.add_patient("P1")["id"]
    up = uploads.Upload("u1", "face.jpg", photo, "front", pid)
    uploads.check_upload(tmp_path / "store", up)
    assert up.report is None
    assert up.error == "face.jpg: the checks failed (RuntimeError: boom); see the server log"


def test_serve_open_says_so_when_no_browser_can_be_opened(tmp_path):
    """No display and a browser command that fails (``BROWSER=false``): the server says to open
    the address by hand instead of leaving the user waiting for a browser."""
    import os
    import queue
    import signal

    env = {**os.environ, "BROWSER": "false", "DISPLAY": "", "WAYLAND_DISPLAY": ""}
    proc, *_ = _serve(tmp_path, "--open", env=env)
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout], daemon=True)
    reader.start()
    out = []
    try:  # the lines after the address, up to the browser's outcome (no fixed wait)
        while not out or out[-1] != "Ctrl-C stops the server\n":
            out.append(lines.get(timeout=120))
        out.append(lines.get(timeout=120))  # what the browser's attempt printed
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    assert out[-1] == "no browser could be opened here: open the address above in one\n", out
