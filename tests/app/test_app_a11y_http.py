"""The clinic app's refusals over plain HTTP: every blocking problem of every photo in one
refusal (the already-in-store check run at upload), a refused edit shown on its form beside
the date, the 401 page a minimal HTML page with a language and a title."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
from conftest import SAMPLES
from PIL import Image
from test_app_http import _client, _upload, _wait

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")

BEFORE = SAMPLES / "astronaut" / "before.jpg"
AFTER = SAMPLES / "astronaut" / "after_treated.jpg"
JSON = {"Accept": "application/json"}


@pytest.fixture
def client(tmp_path):
    c, secret, app = _client(tmp_path / "store")
    assert c.get(f"/patients?token={secret.token}").status_code == 303
    c.secret = secret
    c.post("/patients", data={"id": "P001", "csrf": secret.csrf})
    yield c
    app.state.jobs.shutdown()
    app.state.staging.close()


def _staged(client, data: bytes, name: str, view: str = "front") -> dict:
    up = _upload(client, data, name=name, view=view).json()
    assert _wait(client, up["job"])["state"] == "done"
    return client.get(f"/uploads/{up['upload']}").json()


def _file(client, uids: list[str], date: str) -> dict:
    form = {"csrf": client.secret.csrf, "date": date, "photo": uids}
    return client.post("/patients/P001/sessions", data=form, headers=JSON).json()


def _shiny() -> bytes:
    """The treated sample with a glare highlight (fails the glare check)."""
    from mesovision.io import load_photo
    from mesovision.testing.capture import glare_photo

    rgb = glare_photo(load_photo(AFTER).rgb)
    buf = io.BytesIO()
    Image.fromarray(np.round(rgb * 255).astype(np.uint8)).save(buf, format="JPEG", quality=95)
    return buf.getvalue()


def test_every_blocking_problem_comes_in_one_refusal(client):
    first = _staged(client, BEFORE.read_bytes(), "before.jpg")
    assert first["report"]["duplicate"] is None
    assert "location" in _file(client, [first["upload"]], "2026-01-05")
    # the same file again: said at upload, before any reason is written
    again = _staged(client, BEFORE.read_bytes(), "again.jpg")
    assert re.fullmatch(
        r"this photo is already in the store \(photo 1, patient P001, session 1 of 2026-01-05\)",
        again["report"]["duplicate"],
    )
    shiny = _staged(client, _shiny(), "shiny.jpg")
    glare = next(c["message"] for c in shiny["report"]["checks"] if c["name"] == "glare")
    answer = _file(client, [again["upload"], shiny["upload"]], "2026-02-02")
    assert answer["error"] == (
        f"again.jpg: {again['report']['duplicate']}; "
        f"shiny.jpg: glare: {glare}; "
        "again.jpg and shiny.jpg have the same view front: one photo per view (choose another "
        "view for one of them, or remove one); "
        "nothing imported (retake the photo, or accept it with a reason)"
    )


def test_a_refused_edit_is_shown_beside_the_date(client):
    up = _staged(client, BEFORE.read_bytes(), "before.jpg")
    assert "location" in _file(client, [up["upload"]], "2026-01-05")
    form = {"csrf": client.secret.csrf, "date": "2026-13-45", "notes": "kept <b>note</b>"}
    r = client.post("/sessions/1/edit", data=form)
    assert r.status_code == 400 and "<title>Not saved · Edit session 1 · mesovision" in r.text
    assert re.search(r'<input id="date"[^>]*value="2026-13-45" aria-invalid="true"', r.text)
    assert re.search(r'id="edit-error" role="alert">Not saved: [^<]*2026-13-45', r.text)
    assert "kept &lt;b&gt;note&lt;/b&gt;</textarea>" in r.text  # the values typed are kept


def test_the_401_page_is_a_titled_html_page(tmp_path):
    c, secret, app = _client(tmp_path / "store")
    try:
        r = c.get("/patients")
        assert r.status_code == 401 and r.headers["content-type"].startswith("text/html")
        assert r.text.startswith('<!DOCTYPE html>\n<html lang="en">')
        assert "<title>Access token needed · mesovision</title>" in r.text
        assert "<h1>Access token needed</h1>" in r.text and secret.token not in r.text
    finally:
        app.state.jobs.shutdown()
        app.state.staging.close()
