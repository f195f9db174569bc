"""The clinic app against the security audit's findings: other sites' cookies, non-Latin-1
patient ids in downloads, a ``.uploads`` link, a patient removed from the command line while
uploads are staged, uploads spooled only in the store, crafted input answered with one-line
``400``/``404`` pages, the token redirect only to a path of the app, the store's refusals
naming the entry, ``--host 0.0.0.0``'s printed address, and an unknown ``?session=`` of a
download."""

from __future__ import annotations

import html
import logging
import re
import tempfile
import time
from pathlib import Path

import pytest
from test_app_http import AFTER, BEFORE, _client, _serve, _stop, _upload, _wait
from test_app_privacy import store_client

from mesovision.app.uploads import PRUNE_SECONDS, UPLOADS_DIR, Staging
from mesovision.commands import serve as serve_command
from mesovision.store import open_store

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")


@pytest.fixture
def client(tmp_path):
    yield from store_client(tmp_path)


def _add(c, pid, **extra):
    return c.post("/patients", data={"csrf": c.secret.csrf, "id": pid, **extra})


def _alert(text: str) -> str:
    return html.unescape(text.split('role="alert">')[1].split("<")[0].strip())


# --- 1. other servers' cookies on the same host ----------------------------------------------


def test_other_sites_cookies_do_not_hide_the_token_cookie(tmp_path):
    c, secret, app = _client(tmp_path / "store")
    try:
        mine = f"{secret.cookie}={secret.token}"
        others = ['prefs={"theme":"dark"}', "a=b c", "ui[state]=1", "user@x=1", 'x=a"b', "noeq"]
        for other in others:
            for header in (f"{other}; {mine}", f"{mine}; {other}"):
                r = c.get("/patients", headers={"Cookie": header})
                assert r.status_code == 200, header
        # a cookie of the same name set by a page of another port does not hide the app's own
        r = c.get("/patients", headers={"Cookie": f"{secret.cookie}=junk; {mine}"})
        assert r.status_code == 200
        for header in ('prefs={"a":1}', f"{secret.cookie}=junk", f"x={secret.token}"):
            assert c.get("/patients", headers={"Cookie": header}).status_code == 401
    finally:
        app.state.staging.close()


# --- 7, 8. the token redirect and crafted input --------------------------------------------------


def test_the_token_redirect_stays_on_a_path_of_the_app(tmp_path):
    c, secret, app = _client(tmp_path / "store")
    t = secret.token
    try:
        for path, where in [
            (f"//evil.example/?token={t}", "/evil.example/"),
            (f"///evil.example?token={t}", "/evil.example"),
            (f"/%2F%2Fevil.example?token={t}", "/%2F%2Fevil.example"),
            (f"/%E2%82%AC?token={t}&view=front", "/%E2%82%AC?view=front"),
            (f"/a%0d%0ab?token={t}", "/a%0d%0ab"),
        ]:
            r = c.get(f"http://testserver{path}")  # not a scheme-relative URL to httpx
            assert r.status_code == 303 and r.headers["location"] == where, path
            r = c.get(
                f"http://testserver{path}", headers={"Sec-Fetch-Site": "cross-site"}
            )  # the forwarding page
            assert (
                r.status_code == 200 and f'content="0;url={where.replace("&", "&amp;")}"' in r.text
            )
    finally:
        app.state.staging.close()


def test_crafted_numbers_get_one_line_pages(client):
    for year in ("²", "٣", "1９80"):  # digits to str.isdigit, not to the form's pattern
        r = _add(client, "Y1", birth_year=year)
        assert r.status_code == 400 and _alert(r.text) == f"birth year {year!r} is not a number"
    with open_store(client.store_dir) as store:
        assert store.patients() == []
    huge = "9" * 23
    r = client.get(f"/sessions/{huge}/edit")
    assert r.status_code == 404 and _alert(r.text) == f"unknown session {huge}"
    r = client.post(f"/sessions/{huge}/remove", data={"csrf": client.secret.csrf})
    assert r.status_code == 404 and _alert(r.text) == f"unknown session {huge}"
    r = client.get(f"/sessions/{2**63 - 1}/edit")  # the largest SQLite id: the store's answer
    assert r.status_code == 404 and _alert(r.text) == f"unknown session {2**63 - 1}"


# --- 2, 11. downloads ----------------------------------------------------------------------------


def _file(c, pid, path, date):
    up = _upload(c, Path(path).read_bytes(), name=Path(path).name, patient=pid).json()
    assert _wait(c, up["job"])["state"] == "done"
    form = {"csrf": c.secret.csrf, "date": date, "photo": up["upload"]}
    r = c.post(f"/patients/{pid}/sessions", data=form)
    assert r.status_code == 303, r.text
    return int(r.headers["location"].rsplit("=", 1)[1])


def test_downloads_of_a_non_latin1_patient_id_and_an_unknown_session(client):
    pid = "Łukasz中文"
    assert _add(client, pid).status_code == 303
    _file(client, pid, BEFORE, "2026-01-05")
    sid = _file(client, pid, AFTER, "2026-02-02")
    job = re.search(r'data-job="(\d+)"', client.get(f"/patients/{pid}").text)
    assert _wait(client, int(job.group(1)), timeout=300)["state"] == "done"
    quoted = "%C5%81ukasz%E4%B8%AD%E6%96%87"
    for what in ("report.html", "export.csv", "export.json"):
        r = client.get(f"/patients/{pid}/{what}")
        assert r.status_code == 200, (what, r.text[:200])
        assert r.headers["content-disposition"] == (
            f"attachment; filename=\"_ukasz__-{what}\"; filename*=UTF-8''{quoted}-{what}"
        )
    r = client.get(f"/patients/{pid}/export.csv?session={sid}")
    assert r.status_code == 200 and "2026-02-02" in r.text
    huge = "9" * 23
    page = client.get(f"/patients/{pid}?session={huge}")
    assert page.status_code == 400
    for what in ("export.csv", "export.json", "report.html"):
        r = client.get(f"/patients/{pid}/{what}?session={huge}")
        assert r.status_code == page.status_code and _alert(r.text) == _alert(page.text), what
        assert _alert(r.text).startswith(f"unknown session {huge}; sessions of this course: ")


# --- 3. a .uploads that is a link ----------------------------------------------------------------


def test_a_uploads_link_is_never_listed_or_deleted_through(tmp_path, caplog):
    store = tmp_path / "store"
    with open_store(store) as st:
        st.add_patient("X1")
    other = tmp_path / "other"
    (other / "run-0123456789abcdef").mkdir(parents=True)
    (other / "run-0123456789abcdef" / "data.txt").write_text("precious")
    (store / UPLOADS_DIR).symlink_to(other)
    with caplog.at_level(logging.WARNING, logger="mesovision"):
        c, secret, app = _client(store)  # the start removes stale folders
        app.state.staging.close()
        assert Staging(store).remove_stale() == 0
    assert (other / "run-0123456789abcdef" / "data.txt").read_text() == "precious"
    assert (store / UPLOADS_DIR).is_symlink()
    said = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert said and all("is not a folder (a symbolic link or a file)" in m for m in said)
    assert str(store / UPLOADS_DIR) in said[0]


# --- 4. a patient removed from the command line --------------------------------------------------


def _staged(c, pid, path=BEFORE, name="IMG_gps.jpg"):
    up = _upload(c, Path(path).read_bytes(), name=name, patient=pid).json()
    assert _wait(c, up["job"])["state"] == "done"
    return up["upload"], c.app_state.staging.get(up["upload"]).path


def test_a_patient_removed_elsewhere_loses_the_staged_uploads_at_once(client):
    _add(client, "Q1", name="Erase Me")
    uid, path = _staged(client, "Q1")
    assert client.get(f"/uploads/{uid}/thumb.jpg").status_code == 200 and path.exists()
    with open_store(client.store_dir) as store:  # mesovision patient remove Q1 --yes
        store.remove_patient("Q1")
    assert client.get(f"/uploads/{uid}/thumb.jpg").status_code == 404
    assert client.get(f"/uploads/{uid}").status_code == 404
    assert not path.exists() and not path.parent.exists()


def test_a_patient_removed_elsewhere_loses_the_staged_uploads_without_a_request(client):
    _add(client, "Q2")
    uid, path = _staged(client, "Q2")
    with open_store(client.store_dir) as store:
        store.remove_patient("Q2")
    t0 = time.time()
    while path.exists() and time.time() - t0 < PRUNE_SECONDS + 10:
        time.sleep(0.2)
    assert not path.exists() and client.app_state.staging.get(uid) is None


def test_a_reused_patient_id_never_gets_the_removed_patients_photos(client):
    _add(client, "Q3")
    uid, path = _staged(client, "Q3")
    with open_store(client.store_dir) as store:  # removed and added again, in the same second
        store.remove_patient("Q3")
        store.add_patient("Q3")
    form = {"csrf": client.secret.csrf, "date": "2026-01-05", "photo": uid}
    r = client.post("/patients/Q3/sessions", data=form)
    assert r.status_code == 400 and "add at least one photo" in r.text
    with open_store(client.store_dir) as store:
        assert store.sessions("Q3") == []
    assert not path.exists()


def test_an_upload_of_another_patient_is_not_filed(client):
    _add(client, "A1")
    _add(client, "B1")
    uid, path = _staged(client, "A1")
    form = {"csrf": client.secret.csrf, "date": "2026-01-05", "photo": uid}
    r = client.post("/patients/B1/sessions", data=form)
    assert r.status_code == 400 and "add at least one photo" in r.text
    with open_store(client.store_dir) as store:
        assert store.sessions("B1") == [] and store.sessions("A1") == []
    assert path.exists()  # still A1's


# --- 6. uploads spooled in the store only --------------------------------------------------------


def test_a_large_upload_is_spooled_in_the_store_not_the_temporary_folder(client, monkeypatch):
    _add(client, "P1")
    data = BEFORE.read_bytes() + b"\0" * (3 << 20)  # over the 1 MB kept in memory
    monkeypatch.setattr(tempfile, "tempdir", str(client.store_dir.parent / "no-such-tmp"))
    r = _upload(client, data, name="big.jpg", patient="P1")
    assert r.status_code == 200 and "upload" in r.json(), r.text
    assert client.app_state.staging.get(r.json()["upload"]).path.read_bytes() == data
    assert not (client.store_dir.parent / "no-such-tmp").exists()


# --- 9. a store that refuses every write ---------------------------------------------------------


def test_a_store_refusing_writes_refuses_the_upload_and_names_the_entry(client, tmp_path):
    _add(client, "P1")
    (tmp_path / "elsewhere").mkdir()
    (client.store_dir / "photos").symlink_to(tmp_path / "elsewhere")
    r = _upload(client, BEFORE.read_bytes(), patient="P1")
    assert r.status_code == 400
    assert r.json()["error"].startswith("photos: not written by mesovision: ")
    assert not client.app_state.staging.base.exists()  # refused before anything was staged
    r = client.post("/patients/P1/remove", data={"csrf": client.secret.csrf, "confirm": "P1"})
    assert r.status_code == 400
    assert _alert(r.text).startswith("photos: not written by mesovision: the store deletes only")
    assert "elsewhere" not in r.text  # a path outside the store is never shown


# --- 10. serve --host 0.0.0.0 --------------------------------------------------------------------


def test_serve_on_every_address_prints_addresses_other_machines_can_open(monkeypatch):
    urls, note = serve_command.app_urls("0.0.0.0", 8801, "T")
    assert urls and note and "0.0.0.0 listens on every address of this computer" in note
    assert all(re.fullmatch(r"http://[0-9.]+:8801/\?token=T", u) for u in urls)
    assert not any(u.startswith(("http://0.0.0.0", "http://127.")) for u in urls)
    monkeypatch.setattr(serve_command, "machine_addresses", lambda family: [])
    urls, note = serve_command.app_urls("0.0.0.0", 8801, "T")
    assert urls == ["http://0.0.0.0:8801/?token=T"]
    assert note.startswith("(replace 0.0.0.0 with this computer's address on the network")
    assert serve_command.app_urls("127.0.0.1", 8801, "T") == (
        ["http://127.0.0.1:8801/?token=T"],
        None,
    )


def test_serve_on_every_address_answers_at_the_printed_address(tmp_path):
    import httpx

    proc, url, base, port, token = _serve(tmp_path, "--host", "0.0.0.0")
    try:
        assert not base.startswith("http://0.0.0.0")
        assert httpx.get(url).status_code == 303  # the printed address reaches the app
    finally:
        _stop(proc)
