"""The clinic app for the keyboard, screen readers and a small screen, in a real browser
(Playwright drives Debian's Chromium against a ``mesovision serve`` on a temporary store):
filing refused while a photo is uploading, checking, refused or unsent, with the reason
focused; each card's state in a live region; a failed connection said as such, with a retry;
controls named by their photo; the views of several photos chosen at once; the already-in-store
check at upload; Cancel deleting the staged photos; the confirmation of a session filed; the
comparisons' progress announced at start and end only, the focus kept when they finish; no
sideways scrolling at 320 CSS px."""

from __future__ import annotations

import re

import pytest
from conftest import SAMPLES
from test_app_browser import running_server

pytestmark = pytest.mark.slow

BEFORE = SAMPLES / "astronaut" / "before.jpg"
AFTER = SAMPLES / "astronaut" / "after_treated.jpg"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from running_server(tmp_path_factory)


@pytest.fixture
def page(browser, server):
    ctx = browser.new_context(viewport={"width": 1200, "height": 900})
    pg = ctx.new_page()
    errors = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.set_default_timeout(120_000)
    yield pg
    ctx.close()
    assert errors == []


def _overflow(page) -> int:
    """How far the page scrolls sideways at 320 CSS px (400 % zoom of 1280 px)."""
    page.set_viewport_size({"width": 320, "height": 700})
    try:
        return page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
    finally:
        page.set_viewport_size({"width": 1200, "height": 900})


def _wide(page) -> list[str]:
    """The elements past the right edge at 320 CSS px (outside a scroll box), for a message."""
    page.set_viewport_size({"width": 320, "height": 700})
    try:
        return page.evaluate(
            "[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect()"
            ".right > document.documentElement.clientWidth + 1).slice(0, 8)"
            ".map(e => e.tagName + '#' + e.id + '.' + e.className)"
        )
    finally:
        page.set_viewport_size({"width": 1200, "height": 900})


def _focused(page) -> str:
    return page.evaluate(
        "document.activeElement.id || document.activeElement.getAttribute('aria-label') || ''"
    )


def _state(page, n: int, states: str) -> None:
    """Wait until the ``n``-th card's state is one of ``states`` (space-separated)."""
    page.wait_for_function(
        "([n, s]) => { const c = document.querySelectorAll('.photo-card')[n];"
        " return c && s.split(' ').includes(c.dataset.state); }",
        arg=[n, states],
    )


def _new_patient(page, server, pid: str) -> str:
    url, base = server
    page.goto(url)
    page.fill("#new-id", pid)
    page.click("#add-patient button")
    page.wait_for_url(f"{base}/patients/{pid}")
    return base


def test_filing_waits_for_every_photo_and_says_why(page, server, tmp_path):
    base = _new_patient(page, server, "A1")
    assert _overflow(page) == 0
    page.click("#new-session")
    page.wait_for_load_state("load")
    # the view of the next photo comes before the picker, and may stay empty (front)
    assert page.evaluate(
        "document.getElementById('next-view').compareDocumentPosition("
        "document.getElementById('file-input')) & Node.DOCUMENT_POSITION_FOLLOWING"
    )
    assert page.get_attribute("#next-view", "required") is None
    page.fill("#date", "2026-01-05")
    held, posts = [], []
    page.on("request", lambda r: posts.append(r.url) if r.url.endswith("/sessions") else None)
    page.route("**/uploads", lambda route: held.append(route))  # a slow network: still sent
    page.set_input_files("#file-input", str(BEFORE))
    card = page.locator(".photo-card").first
    _state(page, 0, "uploading")
    assert page.inner_text("#photos-status").startswith("before.jpg: uploading")
    page.click("#file-session")
    assert page.inner_text("#form-error") == "Not filed: wait for the checks of before.jpg."
    assert _focused(page) == "form-error" and posts == []
    # the connection fails: said so, with a retry that keeps the card and its view
    held.pop().abort()
    _state(page, 0, "unsent")
    assert card.locator(".state").inner_text() == (
        "before.jpg was not uploaded (the connection to the app failed): try again"
    )
    assert card.locator(".thumb").is_hidden() and card.locator(".retry").is_visible()
    page.unroute("**/uploads")
    page.get_by_role("button", name="Try again to upload before.jpg").click()
    _state(page, 0, "passed failed refused")
    assert card.get_attribute("data-state") == "passed"
    assert card.locator(".retry").is_hidden() and card.locator(".upload-progress").is_hidden()
    said = page.inner_text("#photos-status")  # the result, then each warning of the card
    warned = card.locator(".checks li.warn").all_inner_texts()
    assert said == ". ".join(["before.jpg: capture checks passed", *warned]) and warned
    assert card.locator(".thumb").get_attribute("alt") == (
        "before.jpg with the measured regions drawn"
    )
    # a file the app refuses: no image, no scale field; filing names it
    bad = tmp_path / "notaphoto.jpg"
    bad.write_text("not a photo")
    page.set_input_files("#file-input", str(bad))
    _state(page, 1, "refused")
    refused = page.locator(".photo-card").nth(1)
    assert refused.locator(".view-input").input_value() == "left-45"  # front is taken
    assert refused.locator(".thumb").is_hidden() and refused.locator(".scale").is_hidden()
    assert page.inner_text("#photos-status").startswith("notaphoto.jpg: refused: notaphoto.jpg")
    page.click("#file-session")
    assert page.inner_text("#form-error") == (
        "Not filed: notaphoto.jpg is not uploaded or refused: remove it (or try again)."
    )
    assert _focused(page) == "form-error" and posts == []
    # each control is named by its photo; after a removal the focus goes to the card left
    page.get_by_role("button", name="Remove notaphoto.jpg").click()
    assert _focused(page) == "View of before.jpg"
    assert page.get_by_role("spinbutton", name=re.compile("^Scale of before.jpg")).count() == 1
    # several photos chosen at once: the next free face views, each one changeable
    page.route("**/uploads", lambda route: held.append(route))  # not sent: views only
    page.set_input_files("#file-input", [str(AFTER), str(bad)])
    views = page.eval_on_selector_all(".view-input", "es => es.map(e => e.value)")
    assert views == ["front", "left-45", "right-45"]
    page.get_by_label("View of notaphoto.jpg").fill("left-45")
    assert (
        page.locator(".same-view:visible")
        .inner_text()
        .startswith("another photo of this session (after_treated.jpg) has the view left-45")
    )
    assert _overflow(page) == 0
    page.get_by_role("button", name="Remove after_treated.jpg").click()
    page.get_by_role("button", name="Remove notaphoto.jpg").click()
    assert _focused(page) == "View of before.jpg"
    for r in held:
        r.abort()
    page.unroute("**/uploads")
    page.click("#file-session")
    page.wait_for_url(re.compile(rf"{base}/patients/A1\?session=\d+$"))
    status = page.locator("#filed-status")
    assert re.fullmatch(r"Session \d+ of 2026-01-05 filed with 1 photo\(s\)\.", status.inner_text())
    assert status.get_attribute("role") == "status" and _focused(page) == "filed-status"
    assert _overflow(page) == 0


def test_duplicates_cancel_and_the_comparisons(page, server):
    """Run after the test above (same server): its before.jpg is in the store."""
    url, base = server
    page.goto(url)
    if "A1" not in page.inner_text("#patients-table"):
        pytest.skip("needs test_filing_waits_for_every_photo_and_says_why first")
    _new_patient(page, server, "A2")
    page.click("#new-session")
    page.wait_for_load_state("load")
    page.set_input_files("#file-input", str(BEFORE))
    _state(page, 0, "passed failed refused")
    card = page.locator(".photo-card").first
    assert card.get_attribute("data-state") == "failed"
    assert (
        card.locator(".checks li.duplicate")
        .inner_text()
        .startswith(
            "not filed again: this photo is already in the store (photo 1, patient A1, "
            "session 1 of "
        )
    )
    uid = card.get_attribute("data-upload")
    assert page.evaluate(f"fetch('/uploads/{uid}').then(r => r.status)") == 200
    with page.expect_response(f"**/uploads/{uid}/discard"):
        page.click("#cancel-session")
    page.wait_for_url(f"{base}/patients/A2")
    assert page.evaluate(f"fetch('/uploads/{uid}').then(r => r.status)") == 404
    # a second session for A1: the comparisons are announced at start and end, not each step
    page.goto(f"{base}/patients/A1/sessions/new")
    page.fill("#date", "2026-02-02")
    page.set_input_files("#file-input", str(AFTER))
    _state(page, 0, "passed failed")
    if page.locator(".photo-card").first.get_attribute("data-state") == "failed":
        page.get_by_label("Reason to accept after_treated.jpg", exact=False).fill("lamp broken")
    polls = {"fake": True, "n": 0}

    def running(route):
        if not polls["fake"]:
            return route.continue_()
        polls["n"] += 1
        route.fulfill(
            status=200,
            content_type="application/json",
            body=f'{{"state": "running", "done": {polls["n"]}, "total": 10, '
            f'"label": "comparing session {polls["n"]} of 10"}}',
        )

    page.route("**/jobs/*", running)
    page.click("#file-session")
    page.wait_for_url(re.compile(rf"{base}/patients/A1\?session=\d+$"))
    page.wait_for_function(
        "() => document.getElementById('job-label').textContent.endsWith('3 of 10')"
    )
    assert page.get_attribute("#job", "aria-live") is None
    assert page.inner_text("#job-status") == "Comparing the sessions: started."
    assert page.evaluate("!document.getElementById('job-label').closest('[aria-live],[role]')")
    page.locator(".remove-session").first.focus()
    polls["fake"] = False
    page.locator("#course-view").wait_for(timeout=300_000)
    page.wait_for_function("() => document.getElementById('page-status').textContent !== ''")
    assert page.inner_text("#page-status") == (
        "The comparisons are done: the course is shown below the sessions."
    )
    assert page.evaluate("document.activeElement.className") == "remove-session"
    for path in (
        "/patients/A1",
        "/patients",
        "/sessions/1/edit",
        "/sessions/1/remove",
        "/patients/A1/remove",
    ):
        page.goto(base + path)
        assert _overflow(page) == 0, (path, _wide(page))
