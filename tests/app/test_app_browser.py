"""The clinic app in a real browser: Playwright drives Debian's Chromium through the workflow of
issue #18 against a ``mesovision serve`` the test starts and stops itself (a temporary store, a
free port): add a patient, add two sessions with the sample photos (a photo dropped on the page
and removed for a retake; the second session's photo with a glare highlight that fails a
capture check, accepted with a reason), open the course, move the
slider, flicker, download the report and the export, edit and remove a session with a
confirmation; with no console error, no request leaving 127.0.0.1, requests without the token
refused and a CSRF attempt refused."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, SAMPLES
from PIL import Image

pytestmark = pytest.mark.slow

BEFORE = SAMPLES / "astronaut" / "before.jpg"
AFTER = SAMPLES / "astronaut" / "after_treated.jpg"
NAME = "Jane <b>Testpatient</b>"


@pytest.fixture(scope="module")
def glare_after(tmp_path_factory) -> Path:
    """The treated sample with a glare highlight on the left cheek (fails the glare check)."""
    from mesovision.io import load_photo
    from mesovision.testing.capture import glare_photo

    out = tmp_path_factory.mktemp("photos") / "after_shiny.jpg"
    rgb = glare_photo(load_photo(AFTER).rgb)
    Image.fromarray(np.round(rgb * 255).astype(np.uint8)).save(out, quality=95)
    return out


def running_server(tmp_path_factory):
    """``mesovision serve --port 0`` on a new store: ``(url with token, base address)``,
    stopped with Ctrl-C after (exit 0, no traceback)."""
    store = tmp_path_factory.mktemp("app") / "store"
    proc = subprocess.Popen(
        [sys.executable, "-m", "mesovision", "serve", "--store", str(store), "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
    )  # fmt: skip
    m = None
    for _ in range(20):
        m = re.search(r"(http://127\.0\.0\.1:\d+)/\?token=\S+", proc.stdout.readline())
        if m:
            break
    if m is None:
        proc.kill()
        raise AssertionError(proc.communicate()[1])
    yield m.group(0), m.group(1)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0 and "Traceback" not in err, err


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from running_server(tmp_path_factory)


@pytest.fixture
def page(browser, server):
    """A page of a fresh context (downloads on), with every request, console message and page
    error recorded (``page.log``)."""
    ctx = browser.new_context(accept_downloads=True, viewport={"width": 1200, "height": 900})
    log = {"requests": [], "console": [], "errors": []}
    ctx.on("request", lambda r: log["requests"].append(r.url))
    pg = ctx.new_page()
    pg.on("console", lambda m: log["console"].append((m.type, m.text)))
    pg.on("pageerror", lambda e: log["errors"].append(str(e)))
    pg.set_default_timeout(120_000)  # a loaded CI machine, not a speed target
    pg.log = log
    yield pg
    ctx.close()


def _drop(page, photo: Path) -> None:
    """Drop ``photo`` on the page's drop zone, as a file dragged from the desktop."""
    import base64

    page.evaluate(
        """([name, b64]) => {
            const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
            const dt = new DataTransfer();
            dt.items.add(new File([bytes], name, {type: "image/jpeg"}));
            document.getElementById("drop").dispatchEvent(
                new DragEvent("drop", {dataTransfer: dt, bubbles: true, cancelable: true}));
        }""",
        [photo.name, base64.b64encode(photo.read_bytes()).decode()],
    )


def _retake(page, photo: Path) -> None:
    """Drop ``photo`` on the page, wait for its checks, then remove it (retake): the server
    forgets it."""
    _drop(page, photo)
    card = page.locator(".photo-card.passed, .photo-card.failed, .photo-card.refused")
    card.wait_for(timeout=120_000)
    assert "refused" not in card.get_attribute("class"), card.locator(".state").inner_text()
    uid = card.get_attribute("data-upload")
    assert card.locator(".name").inner_text() == photo.name
    assert page.evaluate(f"fetch('/uploads/{uid}').then(r => r.status)") == 200
    with page.expect_response(f"**/uploads/{uid}/discard") as resp:
        card.locator(".discard").click()
    assert resp.value.status == 200
    assert page.locator(".photo-card").count() == 0
    n = len(page.log["console"])
    assert card.count() == 0
    assert page.evaluate(f"fetch('/uploads/{uid}').then(r => r.status)") == 404
    page.wait_for_timeout(200)  # the browser logs the 404 of this probe: expected, dropped
    assert [m[1] for m in page.log["console"][n:]] == [
        "Failed to load resource: the server responded with a status of 404 (Not Found)"
    ]
    del page.log["console"][n:]


def _add_session(
    page, date: str, photo: Path, regions: list[str], *, reason: str | None, retake=None
):
    page.click("#new-session")
    # the page's script listens for dropped files once it has run: a drop before is lost (a
    # person cannot drop that fast; a test can)
    page.wait_for_load_state("load")
    page.fill("#date", date)
    if retake is not None:
        _retake(page, retake)
    for r in regions:  # picked on the face diagram
        page.click(f'#diagram .region[data-region="{r}"]')
        assert page.is_checked(f"#treated-{r}")
        assert "picked" in page.get_attribute(f'#diagram .region[data-region="{r}"]', "class")
    page.set_input_files("#file-input", str(photo))
    card = page.locator(".photo-card.passed, .photo-card.failed, .photo-card.refused")
    card.wait_for(timeout=120_000)
    assert "refused" not in card.get_attribute("class"), card.locator(".state").inner_text()
    assert page.eval_on_selector(".photo-card .thumb", "i => i.complete && i.naturalWidth") > 0
    if reason is None:
        assert card.get_attribute("class") == "photo-card passed"
        assert card.locator(".accept").is_hidden()
    else:
        assert card.get_attribute("class") == "photo-card failed"
        assert "fails: glare: avoid glare" in card.locator(".checks").inner_text()
        # filed without a reason: refused on the page, the photo stays
        page.click("#file-session")
        page.locator("#form-error").wait_for(timeout=120_000)
        assert page.inner_text("#form-error").startswith(f"{photo.name}: glare: avoid glare")
        assert page.inner_text("#form-error").endswith(
            "nothing imported (retake the photo, or accept it with a reason)"
        )
        assert page.locator(".photo-card.failed").count() == 1
        card.locator(".accept-reason").fill(reason)
    page.click("#file-session")
    page.wait_for_url(re.compile(r"/patients/P001\?session=\d+$"))


def test_the_whole_workflow(page, server, glare_after):
    url, base = server
    page.goto(url)
    assert page.url == f"{base}/patients"  # the token went into a cookie, out of the address
    page.fill("#new-id", "P001")
    page.fill("#new-name", NAME)
    page.click("#add-patient button")
    page.wait_for_url(f"{base}/patients/P001")
    assert NAME in page.inner_text("h1")  # shown as text, not as markup
    _add_session(page, "2026-01-05", BEFORE, ["left_cheek", "right_cheek"], reason=None)
    _add_session(
        page,
        "2026-02-02",
        glare_after,
        ["left_cheek", "right_cheek"],
        reason="lamp broken",
        retake=AFTER,
    )
    assert page.locator("#timeline .session").count() == 2
    assert "accepted: after_shiny.jpg: glare: lamp broken" in page.inner_text("#timeline")
    # the comparisons run in the background; the page shows the report's sections when done
    page.locator("#course-view").wait_for(timeout=300_000)
    assert "left cheek" in page.inner_text("#course-view").lower()
    # every image loaded or failed (a loaded machine may still be fetching them), none failed;
    # the slider's and the flicker's images get their source from report.js, which runs
    # before the page's load event: an image without a source is "complete" and 0 px wide
    page.wait_for_load_state("load", timeout=60_000)
    page.wait_for_function("[...document.images].every(i => i.complete)", timeout=60_000)
    broken = page.evaluate(
        "[...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.id)"
    )
    assert broken == []
    # the slider, by keyboard as a user moves it
    page.focus("#slider")
    page.keyboard.press("Home")
    for _ in range(25):
        page.keyboard.press("ArrowRight")
    clip = page.eval_on_selector("#slider-after", "e => getComputedStyle(e).clipPath")
    assert clip == "inset(0px 0px 0px 25%)"
    assert page.get_attribute("#flicker", "aria-pressed") == "false"
    page.click("#flicker")
    assert page.get_attribute("#flicker-img", "data-showing") == "after"
    assert page.get_attribute("#flicker", "aria-pressed") == "true"
    assert page.get_attribute("#flicker-state", "aria-live") == "polite"
    with page.expect_download() as d:
        page.click("#download-html")
    html = Path(d.value.path()).read_text(encoding="utf-8")
    assert d.value.suggested_filename == "P001-report.html"
    assert "<title>mesovision report P001" in html and "lamp broken" in html
    with page.expect_download() as d:
        page.click("#download-csv")
    rows = Path(d.value.path()).read_text(encoding="utf-8").splitlines()
    assert rows[0].startswith("patient,session,date,against,region,metric")
    assert len(rows) > 10
    # a forged form post from the page's own context, without the CSRF token (the browser logs
    # the refusal: the one console error expected)
    n = len(page.log["console"])
    status = page.evaluate(
        "fetch('/patients', {method: 'POST', body: new URLSearchParams({id: 'EVIL'})})"
        ".then(r => r.status)"
    )
    assert status == 403
    page.wait_for_timeout(200)  # the console message of the refusal, if it comes late
    refused = page.log["console"][n:]
    assert [m[1] for m in refused] == [
        "Failed to load resource: the server responded with a status of 403 (Forbidden)"
    ]
    del page.log["console"][n:]
    _edit_and_remove(page, base)
    assert page.log["errors"] == []
    assert [m for m in page.log["console"] if m[0] in ("error", "warning")] == []
    assert {u for u in page.log["requests"] if not u.startswith((base + "/", "data:"))} == set()


def _edit_and_remove(page, base: str) -> None:
    """Edit the second session's notes, then remove it after the confirmation page."""
    page.locator("#timeline .session").nth(1).locator(".edit-session").click()
    page.fill("#notes", "corrected <i>note</i>")
    page.click("#edit-session button")
    page.wait_for_url(f"{base}/patients/P001")
    assert "corrected <i>note</i>" in page.inner_text("#timeline")
    page.locator("#timeline .session").nth(1).locator(".remove-session").click()
    assert page.inner_text("h1") == "Remove the session of 2026-02-02?"
    page.click("#confirm-remove")
    page.wait_for_url(f"{base}/patients/P001")
    assert page.locator("#timeline .session").count() == 1
    assert page.locator("#course-view").count() == 0


def test_without_the_token_nothing_is_served(browser, server):
    _, base = server
    ctx = browser.new_context()
    pg = ctx.new_page()
    for path in ("/", "/patients", "/static/app.js"):
        r = pg.goto(base + path)
        assert r.status == 401 and "access token" in pg.inner_text("body")
    ctx.close()


def _new_patient(page, server, pid: str, name: str) -> str:
    """Add a patient from the patients page; on its page now. Returns the base address."""
    url, base = server
    page.goto(url)
    page.fill("#new-id", pid)
    page.fill("#new-name", name)
    page.click("#add-patient button")
    page.wait_for_url(f"{base}/patients/{pid}")
    return base


def _checked_cleanly(card) -> None:
    """The card's photo passed its capture checks (the sample may be filed already for
    another patient by an earlier test: then the card says so, as its only failure)."""
    assert card.get_attribute("data-state") in ("passed", "failed")
    assert card.locator(".checks li.fail:not(.duplicate)").count() == 0
    if card.get_attribute("data-state") == "failed":
        assert "this photo is already in the store" in card.locator(".checks").inner_text()


def test_a_failed_status_request_is_asked_again(page, server):
    """The page asks for a photo's checks until they come: a busy server's error answer to one
    status request does not leave the card waiting forever."""
    _new_patient(page, server, "P002", "Retry Testpatient")
    page.click("#new-session")
    failed = []

    def busy_once(route):
        if failed:
            route.continue_()
        else:
            failed.append(route.request.url)
            route.fulfill(status=503, body="busy")

    page.route("**/jobs/*", busy_once)
    page.set_input_files("#file-input", str(BEFORE))
    card = page.locator(".photo-card.passed, .photo-card.failed, .photo-card.refused")
    card.wait_for(timeout=120_000)
    said = (card.locator(".state").inner_text(), page.log["requests"][-6:])
    assert len(failed) == 1 and "/jobs/" in failed[0], said
    _checked_cleanly(card)
    page.wait_for_timeout(200)  # the browser logs the 503: expected, dropped
    assert [m[1] for m in page.log["console"]] == [
        "Failed to load resource: the server responded with a status of 503 (Service Unavailable)"
    ]


def test_a_photo_chosen_before_the_script_ran_is_uploaded(page, server):
    """A photo chosen while the page's script is still loading is uploaded when it runs (the
    script's request is held until the file is chosen)."""
    base = _new_patient(page, server, "P003", "Slow Testpatient")
    held = []
    page.route("**/static/app.js", lambda route: held.append(route))
    page.click("#new-session")
    page.wait_for_url(f"{base}/patients/P003/sessions/new", wait_until="commit")
    page.set_input_files("#file-input", str(BEFORE))
    assert len(held) == 1 and page.locator(".photo-card").count() == 0
    held[0].continue_()
    card = page.locator(".photo-card.passed, .photo-card.failed, .photo-card.refused")
    card.wait_for(timeout=120_000)
    _checked_cleanly(card)
    assert page.eval_on_selector("#file-input", "i => i.files.length") == 0


def test_the_date_is_today_s_and_a_later_one_is_said_at_once(page, server):
    """The new-session form opens with today's date (the server's); typing a later date shows
    the hint of a date in the future before filing, the date of today or before hides it."""
    import datetime

    base = _new_patient(page, server, "P004", "Date Testpatient")
    page.click("#new-session")
    page.wait_for_url(f"{base}/patients/P004/sessions/new")
    today = datetime.date.today()
    assert page.input_value("#date") == today.isoformat()
    assert page.locator("#date-future").is_hidden()
    page.fill("#date", (today + datetime.timedelta(days=1)).isoformat())
    assert page.locator("#date-future").is_visible()
    assert today.isoformat() in page.inner_text("#date-future")
    page.fill("#date", (today - datetime.timedelta(days=30)).isoformat())
    assert page.locator("#date-future").is_hidden()
    assert page.log["errors"] == []


def test_the_edit_form_says_a_later_date_at_once_as_the_new_session_form(page, server, tmp_path):
    """The session edit form shows the hint of a date in the future as the date is typed, as
    the new-session form does (the same field and script); a session saved with a later date
    opens with the hint shown."""
    import datetime

    base = _new_patient(page, server, "P005", "Edit Date Testpatient")
    photo = tmp_path / "edit_date.jpg"  # not the sample's bytes, which other tests file
    Image.open(BEFORE).save(photo, quality=90)
    today = datetime.date.today()
    past, later = today - datetime.timedelta(days=30), today + datetime.timedelta(days=1)
    page.click("#new-session")
    page.wait_for_load_state("load")
    page.fill("#date", past.isoformat())
    page.set_input_files("#file-input", str(photo))
    card = page.locator(".photo-card.passed, .photo-card.failed, .photo-card.refused")
    card.wait_for(timeout=120_000)
    assert card.get_attribute("data-state") == "passed", card.locator(".checks").inner_text()
    page.click("#file-session")
    page.wait_for_url(re.compile(r"/patients/P005\?session=\d+$"))
    edit = f"{base}/sessions/{page.url.rsplit('=', 1)[1]}/edit"
    page.goto(edit)
    assert page.input_value("#date") == past.isoformat()
    assert page.locator("#date-future").is_hidden()
    page.fill("#date", later.isoformat())
    assert page.locator("#date-future").is_visible()
    assert today.isoformat() in page.inner_text("#date-future")
    page.fill("#date", today.isoformat())
    assert page.locator("#date-future").is_hidden()
    page.fill("#date", later.isoformat())
    page.click("#edit-session button")
    page.wait_for_url(f"{base}/patients/P005")
    page.goto(edit)
    assert page.input_value("#date") == later.isoformat()
    assert page.locator("#date-future").is_visible()
    assert page.log["errors"] == []


def test_the_search_filters_the_list_on_the_page(page, server):
    """Typed in the search box (found by its label), the words filter the list in the page,
    with case and accents ignored; no request carries them and the address stays the same."""
    for pid, name in (("S1", "Zoé Dupont-Léger"), ("S2", "Ñuño Çelik"), ("S3", "Anna Straße")):
        base = _new_patient(page, server, pid, name)
    page.goto(f"{base}/patients")
    n_requests = len(page.log["requests"])
    box = page.get_by_label("Search by id or name")

    def shown(words: str) -> list[str]:
        box.fill(words)
        return page.evaluate(
            "[...document.querySelectorAll('#patients-table .patient-row')]"
            ".filter(r => !r.hidden && r.offsetParent !== null)"
            ".map(r => r.querySelector('a').textContent).filter(t => t.startsWith('S'))"
        )

    assert shown("zoe") == shown("ZOÉ") == shown("leger") == ["S1"]
    assert shown("celik") == shown("ÑUÑO") == ["S2"]
    assert shown("strasse") == shown("straße") == ["S3"]
    assert shown("s") == ["S1", "S2", "S3"]
    assert shown("nobody") == []
    assert page.inner_text("#search-status").startswith("No patient matches \u201cnobody\u201d (")
    box.fill("")
    assert page.inner_text("#search-status") == ""
    box.press("Enter")  # no form: Enter goes nowhere
    assert page.url == f"{base}/patients"
    assert page.log["requests"][n_requests:] == []
    assert page.log["errors"] == []


def test_the_page_serve_open_gives_the_browser_leads_to_the_app(browser, server):
    """``serve --open`` gives the browser a local file that forwards it to the address with the
    token: a browser without the cookie lands on the patients, not on a 401."""
    from mesovision.commands.serve import open_page

    url, base = server
    opener = open_page(url)
    ctx = browser.new_context()
    try:
        pg = ctx.new_page()
        pg.goto(opener.as_uri())
        pg.wait_for_url(f"{base}/patients")
        assert pg.inner_text("h1") == "Patients"
    finally:
        ctx.close()
        import shutil

        shutil.rmtree(opener.parent)
