"""The clinic app's pages over plain HTTP: patient ids and their links, the search, the error
pages' advice, the keyboard and screen-reader details, the report's style sheet, and
``mesovision serve --host localhost``."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from conftest import REPO
from test_app_http import _client, _stop

from mesovision.errors import UsageError
from mesovision.store import open_store

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")


@pytest.fixture
def client(tmp_path):
    c, secret, app = _client(tmp_path / "store")
    assert c.get(f"/patients?token={secret.token}").status_code == 303
    c.secret, c.store_dir = secret, tmp_path / "store"
    yield c
    app.state.jobs.shutdown()
    app.state.staging.close()


def test_an_id_of_dots_only_is_refused_by_the_app_and_the_store(client, tmp_path):
    for pid in ("..", ".", "..."):
        r = client.post("/patients", data={"id": pid, "csrf": client.secret.csrf})
        assert r.status_code == 400 and "(not dots only)" in r.text, pid
        with open_store(tmp_path / "s2") as store, pytest.raises(UsageError, match="dots only"):
            store.add_patient(pid)
    with open_store(client.store_dir) as store:
        assert store.patients() == []
    proc = subprocess.run(
        [sys.executable, "-m", "mesovision", "patient", "add", "..",
         "--store", str(tmp_path / "s3")],
        capture_output=True, text=True, cwd=REPO,
    )  # fmt: skip
    assert proc.returncode == 2 and "not dots only" in proc.stderr, proc.stderr
    # an id with dots and letters stays valid; the page's pattern says the same as the store
    assert (
        client.post("/patients", data={"id": "P.1", "csrf": client.secret.csrf}).status_code == 303
    )
    page = client.get("/patients").text
    assert r'pattern="(?!\.+$)[\p{L}\p{N}._\-]{1,64}"' in page


def test_links_carry_the_id_url_encoded(client):
    r = client.post("/patients", data={"id": "Zoé-1", "csrf": client.secret.csrf})
    assert r.status_code == 303 and r.headers["location"] == "/patients/Zo%C3%A9-1"
    assert 'href="/patients/Zo%C3%A9-1">Zoé-1</a>' in client.get("/patients").text
    page = client.get("/patients/Zo%C3%A9-1").text
    assert 'href="/patients/Zo%C3%A9-1/sessions/new"' in page
    assert 'href="/patients/Zo%C3%A9-1/remove"' in page


def test_search_words_are_folded_for_case_and_accents(client):
    """The rows' search words, as the page's script matches what is typed against them
    (test_app_browser.py folds the typed words the same way in Chromium)."""
    for pid, name in (("P1", "Zoé Dupont-Léger"), ("P2", "Ñuño Çelik"), ("P3", "Ann Martin")):
        client.post("/patients", data={"id": pid, "name": name, "csrf": client.secret.csrf})
    rows = re.findall(r'data-search="([^"]*)"', client.get("/patients").text)
    assert rows == ["p1\nzoe dupont-leger", "p2\nnuno celik", "p3\nann martin"]


def test_error_pages_give_the_advice_that_fits(client):
    r = client.get("/sessions/999/edit")  # an unknown session, as an unknown patient: 404
    assert r.status_code == 404 and "unknown session 999" in r.text
    assert "correct the form" not in r.text
    assert client.get("/sessions/999/remove").status_code == 404
    assert client.get("/patients/NOPE").status_code == 404
    r = client.post("/patients", data={"id": "bad id!", "csrf": client.secret.csrf})
    # refused: the form again, the message beside the id field, the value typed kept
    assert r.status_code == 400 and "<title>Patient not added · Patients" in r.text
    assert re.search(r'<input id="new-id"[^>]*value="bad id!"[^>]*aria-invalid="true"', r.text)
    assert 'aria-describedby="new-id-error new-id-hint"' in r.text
    r = client.post("/patients/P1/remove", data={"confirm": "x", "csrf": client.secret.csrf})
    assert r.status_code == 404 and "<title>Patient not found" in r.text
    client.post("/patients", data={"id": "P1", "csrf": client.secret.csrf})
    r = client.get("/patients/P1/report.html")  # a download refused: no form to correct
    assert r.status_code in (400, 409) and "correct the form" not in r.text


def test_keyboard_and_screen_reader_details(client):
    client.post("/patients", data={"id": "P1", "csrf": client.secret.csrf})
    page = client.get("/patients/P1/sessions/new").text
    drop = re.search(r'<div id="drop"[^>]*>', page).group(0)
    assert "tabindex" not in drop  # no focus stop without a key action
    # the file input comes right before its visible label, which shows its keyboard focus
    assert re.search(r'<input id="file-input"[^>]*><label class="button" for="file-input">', page)
    css = (REPO / "mesovision" / "app" / "static" / "app.css").read_text(encoding="utf-8")
    assert "-9999px" not in css
    assert ".drop input[type=file]:focus-visible + label { outline:" in css
    template = (REPO / "mesovision" / "app" / "templates" / "patient.html").read_text("utf-8")
    assert '<label for="job-progress"' in template


def test_the_report_style_sheet_leaves_the_app_s_layout_alone():
    """The patient page loads the report's style sheet after the app's: its body rules (a width
    and margins) must not inset the app's top bar."""
    from mesovision.report.assets import CSS

    assert re.search(r"(?m)^body \{[^}]*max-width", CSS)  # the rule the app must undo
    css = (REPO / "mesovision" / "app" / "static" / "app.css").read_text(encoding="utf-8")
    (rule,) = re.findall(r"html > body \{([^}]*)\}", css)
    assert "max-width: none" in rule and "margin: 0" in rule and "padding: 0" in rule


def test_serve_on_localhost_is_local(tmp_path):
    import httpx

    proc = subprocess.Popen(
        [sys.executable, "-m", "mesovision", "serve", "--store", str(tmp_path / "s"), "--port",
         "0", "--host", "localhost"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
    )  # fmt: skip
    try:
        for _ in range(20):
            m = re.search(r"http://localhost:(\d+)/\?token=(\S+)", proc.stdout.readline())
            if m:
                break
        assert m, "no URL printed"
        port, token = m.groups()
        ok = httpx.get(f"http://127.0.0.1:{port}/patients?token={token}")
        assert ok.status_code == 303
        # the Host check is on, as on 127.0.0.1 (no DNS rebinding)
        evil = httpx.get(
            f"http://127.0.0.1:{port}/patients?token={token}",
            headers={"Host": f"attacker.example:{port}"},
        )
        assert evil.status_code == 403
    finally:
        err = _stop(proc)
    assert "other machines" not in err and "WARNING" not in err, err


def test_the_timeline_of_a_view_and_the_views_a_session_may_file(client):
    """A session without a photo of the view shown says so (no "show" link to a 400 page); the
    first session with a photo of that view is its baseline; the new-session page suggests the
    patient's views, body and scalp views, and takes any valid view typed."""
    from conftest import SAMPLES

    from mesovision.store import PhotoImport

    with open_store(client.store_dir) as store:
        store.add_patient("P1")
        face = str(SAMPLES / "astronaut" / "before.jpg")
        thigh = str(SAMPLES / "thigh" / "before.jpg")
        s1 = store.import_session("P1", date="2026-01-05", photos=[PhotoImport(face)])["id"]
        s2 = store.import_session(
            "P1", date="2026-02-02", photos=[PhotoImport(thigh, view="body:thigh")]
        )["id"]
    page = client.get("/patients/P1").text
    link = re.compile(
        r'<li class="session[^"]*" data-session="(\d+)">.*?<div class="links">(.*?)</div>', re.S
    )
    links = dict(link.findall(page))
    assert "show-session" not in links[str(s2)] and "no front photo" in links[str(s2)]
    assert "show-session" not in links[str(s1)] and "no-view-photo" not in links[str(s1)]
    page = client.get("/patients/P1?view=body:thigh").text
    links = dict(link.findall(page))
    assert "no body:thigh photo" in links[str(s1)]
    assert "show-session" not in links[str(s2)]  # the view's baseline
    tags = re.findall(
        r'data-session="(\d+)">\s*<div class="when">[^<]*<span class="tag">baseline', page
    )
    assert tags == [str(s2)]
    new = client.get("/patients/P1/sessions/new").text
    (choices,) = re.findall(r'<datalist id="view-choices">(.*?)</datalist>', new, re.S)
    offered = re.findall(r'<option value="([^"]+)">', choices)
    assert (
        offered[:4] == ["front", "left-45", "right-45", "body:thigh"] and "scalp:crown" in offered
    )
