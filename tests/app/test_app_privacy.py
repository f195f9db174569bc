"""The clinic app leaves no patient photo behind: the staging folder of uploads in the store
(private modes, removed when the server stops on Ctrl-C, SIGTERM or SIGHUP, and after a
``kill -9`` by the next server of the store, never another running server's), a removed
patient's uploads and course forgotten, ``serve --open`` without the token on the browser's
command line, and the token from another site or a local file."""

from __future__ import annotations

import os
import re
import signal
import stat
import subprocess
import sys
import time

import pytest
from conftest import REPO
from test_app_http import AFTER, BEFORE, _client, _file, _serve, _stop, _upload, _wait

from mesovision.app.uploads import UPLOADS_DIR, Staging
from mesovision.store import open_store

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")


def store_client(tmp_path):
    """A client of a new app on ``tmp_path/store`` holding the token's cookie, with the app's
    ``secret``, ``app_state`` and ``store_dir``; the app's jobs and staging closed after."""
    c, secret, app = _client(tmp_path / "store")
    assert c.get(f"/patients?token={secret.token}").status_code == 303
    c.secret, c.app_state, c.store_dir = secret, app.state, tmp_path / "store"
    yield c
    app.state.jobs.shutdown()
    app.state.staging.close()


@pytest.fixture
def client(tmp_path):
    yield from store_client(tmp_path)


def _mode(path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


# --- the staging folder ------------------------------------------------------------------------


def test_uploads_are_staged_in_the_store_readable_by_their_owner_only(client):
    old = os.umask(0o022)
    try:
        client.post("/patients", data={"id": "P001", "csrf": client.secret.csrf})
        up = _upload(client, BEFORE.read_bytes(), name="before.jpg").json()
    finally:
        os.umask(old)
    root = client.app_state.staging.root
    assert root.parent == client.store_dir / UPLOADS_DIR
    assert re.fullmatch(r"run-[0-9a-f]{16}", root.name)
    (staged,) = root.glob("*/*")
    assert staged.name == "before.jpg" and staged.parent.name == up["upload"]
    assert staged.read_bytes() == BEFORE.read_bytes()  # the bytes sent (their SHA-256 is filed)
    assert (_mode(root.parent), _mode(root), _mode(staged.parent)) == (0o700, 0o700, 0o700)
    assert _mode(staged) == 0o600
    assert _wait(client, up["job"])["state"] == "done"
    client.app_state.staging.close()  # as the server stops: nothing left in the store folder
    assert not (client.store_dir / UPLOADS_DIR).exists()


def test_stale_staging_folders_are_removed_never_a_running_servers_or_anything_else(tmp_path):
    store = tmp_path / "store"
    with open_store(store):
        pass
    live = Staging(store)  # a running server with an upload
    live_root = live.root
    live_root.joinpath("a" * 24).mkdir()
    base = store / UPLOADS_DIR
    stale = base / "run-0123456789abcdef"  # left by a server killed outright: no lock held
    (stale / ("b" * 24)).mkdir(parents=True)
    (stale / ("b" * 24) / "photo.jpg").write_bytes(b"staged")
    other = tmp_path / "elsewhere"
    other.mkdir()
    (other / "keep.jpg").write_bytes(b"not ours")
    (base / "run-fedcba9876543210").symlink_to(other, target_is_directory=True)
    (base / "notes").mkdir()  # not named like ours
    (base / "run-0123").mkdir()  # not named like ours either
    (base / "run-aaaaaaaaaaaaaaaa").write_text("a file")
    assert Staging(store).remove_stale() == 1
    assert not stale.exists()
    assert sorted(p.name for p in base.iterdir()) == sorted(
        [live_root.name, "run-fedcba9876543210", "notes", "run-0123", "run-aaaaaaaaaaaaaaaa"]
    )
    assert (other / "keep.jpg").read_bytes() == b"not ours"
    assert (live_root / ("a" * 24)).is_dir()
    live.close()
    assert not live_root.exists() and (base / "notes").is_dir()  # ours only


def test_a_server_killed_outright_leaves_its_uploads_until_the_next_server_starts(tmp_path):
    import httpx

    def upload(base, port, token):
        c = httpx.Client(base_url=base, cookies={f"mesovision_token_{port}": token})
        c.secret = type("S", (), {"csrf": re.search(
            r'name="csrf" value="([^"]+)"', c.get("/patients").text).group(1)})  # fmt: skip
        c.post("/patients", data={"id": "P001", "csrf": c.secret.csrf})
        assert _upload(c, BEFORE.read_bytes(), name="before.jpg").status_code == 200

    uploads = tmp_path / "s" / UPLOADS_DIR
    proc, url, base, port, token = _serve(tmp_path)
    try:
        upload(base, port, token)
    finally:
        proc.kill()  # SIGKILL: nothing runs
        proc.communicate(timeout=30)
    (left,) = uploads.glob("run-*/*/before.jpg")
    proc, url, base, port, token = _serve(tmp_path)  # the next server of the store
    try:
        assert not left.exists() and not uploads.exists()
        upload(base, port, token)  # its own staging folder is made and kept while it runs
        (mine,) = uploads.glob("run-*/*/before.jpg")
        assert mine.parent.parent != left.parent.parent
        third, _, _, _, _ = _serve(tmp_path)  # a second server of the store meanwhile
        _stop(third)
        assert mine.is_file()  # not removed by the other server: it runs
    finally:
        _stop(proc)
    assert not uploads.exists()


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGHUP"])
def test_serve_stopped_by_a_signal_deletes_the_staged_uploads(tmp_path, sig):
    """A service manager stops the server with SIGTERM, closing the terminal window sends
    SIGHUP: it stops as on Ctrl-C (exit 0) and deletes the uploads staged meanwhile."""
    import httpx

    if not hasattr(signal, sig):
        pytest.skip(f"no {sig} on this system")
    tmp = tmp_path / "tmp"  # the server's temporary folder: nothing of the uploads goes there
    tmp.mkdir()
    proc, url, base, port, token = _serve(tmp_path, env={**os.environ, "TMPDIR": str(tmp)})
    try:
        c = httpx.Client(base_url=base, cookies={f"mesovision_token_{port}": token})
        c.secret = type("S", (), {"csrf": re.search(
            r'name="csrf" value="([^"]+)"', c.get("/patients").text).group(1)})  # fmt: skip
        c.post("/patients", data={"id": "P001", "csrf": c.secret.csrf})
        r = _upload(c, BEFORE.read_bytes(), name="before.jpg")
        assert r.status_code == 200, r.text
        assert [p.name for p in (tmp_path / "s").glob(".uploads/run-*/*/*")] == ["before.jpg"]
    finally:
        proc.send_signal(getattr(signal, sig))
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert not (tmp_path / "s" / UPLOADS_DIR).exists() and list(tmp.iterdir()) == []


# --- removing a patient -------------------------------------------------------------------------


def test_removing_a_patient_discards_their_uploads_and_forgets_their_course(client):
    st = client.app_state
    for pid in ("P001", "P002"):
        client.post("/patients", data={"id": pid, "csrf": client.secret.csrf})
    assert _file(client, BEFORE, "2026-01-05")[0].status_code == 303  # P001's course
    assert _file(client, AFTER, "2026-02-02")[0].status_code == 303
    (job,) = re.findall(r'data-job="(\d+)"', client.get("/patients/P001").text)
    assert _wait(client, int(job), timeout=300)["state"] == "done"
    assert 'id="slider"' in client.get("/patients/P001").text  # rendered: kept in memory
    assert st.cache and st.jobs.get(int(job)) is not None
    mine = _upload(client, BEFORE.read_bytes(), name="P001_next.jpg").json()  # not filed yet
    other = _upload(client, BEFORE.read_bytes(), name="P002.jpg", patient="P002").json()
    for up in (mine, other):
        assert _wait(client, up["job"])["state"] == "done"
        assert client.get(f"/uploads/{up['upload']}/thumb.jpg").status_code == 200
    (staged,) = st.staging.root.glob("*/P001_next.jpg")
    r = client.post("/patients/P001/remove", data={"csrf": client.secret.csrf, "confirm": "P001"})
    assert r.status_code == 303
    assert not staged.exists() and not staged.parent.exists()
    assert client.get(f"/uploads/{mine['upload']}").status_code == 404
    assert client.get(f"/uploads/{mine['upload']}/thumb.jpg").status_code == 404
    assert client.get(f"/jobs/{job}").status_code == 404  # the course document is forgotten
    assert st.jobs.get(int(job)) is None and st.cache == {}
    # another patient's upload stays
    assert client.get(f"/uploads/{other['upload']}/thumb.jpg").status_code == 200
    assert [p.name for p in st.staging.root.glob("*/*")] == ["P002.jpg"]


# --- the access token ----------------------------------------------------------------------------


def test_the_token_from_another_site_is_forwarded_by_a_page_of_this_site(tmp_path):
    """A browser sends a ``SameSite=Strict`` cookie along a redirect only when this site
    started the request: opened from a local file (``serve --open``) or another site, the
    token is answered with a page of this site forwarding the browser."""
    c, secret, app = _client(tmp_path / "store")
    r = c.get(f"/patients?token={secret.token}", headers={"Sec-Fetch-Site": "cross-site"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert r.headers["set-cookie"].startswith(f"mesovision_token={secret.token};")
    assert '<meta http-equiv="refresh" content="0;url=/patients">' in r.text
    assert secret.token not in r.text
    assert c.get("/patients").status_code == 200  # the cookie was set
    r = c.get(f"/patients?token={secret.token}", headers={"Sec-Fetch-Site": "none"})
    assert r.status_code == 303 and r.headers["location"] == "/patients"  # typed: redirected
    app.state.jobs.shutdown()


def test_serve_open_gives_the_browser_a_private_page_not_the_token(tmp_path):
    seen = tmp_path / "seen"
    browser = tmp_path / "browser.sh"  # records what a browser would be started with
    browser.write_text(
        "#!/bin/sh\n"
        f'echo "$@" > "{seen}.argv"\n'
        f'f="${{1#file://}}"; stat -c %a "$f" > "{seen}.mode"; '
        f'stat -c %a "$(dirname "$f")" >> "{seen}.mode"; cp "$f" "{seen}.html"\n'
    )
    browser.chmod(0o700)
    env = {**os.environ, "BROWSER": str(browser)}
    proc, url, base, port, token = _serve(tmp_path, "--open", env=env)
    try:
        for _ in range(100):  # the browser is started once the server listens
            if (tmp_path / "seen.html").exists() or proc.poll() is not None:
                break
            time.sleep(0.1)
        argv = (tmp_path / "seen.argv").read_text().strip()
        assert token not in argv and re.fullmatch(r"file:///\S+/open\.html", argv), argv
        assert (tmp_path / "seen.mode").read_text().split() == ["600", "700"]
        page = (tmp_path / "seen.html").read_text()
        assert f'content="0;url={url}"' in page and f'href="{url}"' in page
        opened = argv.removeprefix("file://")
        assert os.path.exists(opened)
    finally:
        _stop(proc)
    assert not os.path.exists(opened) and not os.path.exists(os.path.dirname(opened))


def test_serve_says_the_printed_address_is_secret(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-m", "mesovision", "serve", "--store", str(tmp_path / "s"), "--port",
         "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
    )  # fmt: skip
    try:
        assert proc.stdout.readline().startswith("mesovision serve: store ")
        assert proc.stdout.readline() == "open the app at (the token is needed; keep it secret):\n"
    finally:
        _stop(proc)
