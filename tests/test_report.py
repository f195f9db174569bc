"""The course report as a person uses it: the HTML opened in a real headless Chromium (Debian's
/usr/bin/chromium through Playwright), the PDF read back with pypdf.

One 3-session course of the astronaut samples is built once for the module (baseline
``before.jpg``; session 2 ``after_treated.jpg``: a* -5 on the left cheek, forehead smoothed, a
blue-green bruise on the chin; session 3 ``after_no_change.jpg``: the bruise gone), with
:func:`report_course.course_from_pairs` (no store).
"""

from __future__ import annotations

import base64
import io
import math
import re
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, require
from report_course import course_from_pairs

from mesovision.errors import OutputExists, UsageError
from mesovision.report import _doc, page_plan, render_html, write_report

SAMPLES = REPO / "sample_images" / "astronaut"
CHROMIUM = Path("/usr/bin/chromium")
NAME = "Jane Testpatient"
TREATED = ["left_cheek", "right_cheek", "forehead", "chin"]
BROWSER_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("course")
    return course_from_pairs(
        [SAMPLES / "before.jpg", SAMPLES / "after_treated.jpg", SAMPLES / "after_no_change.jpg"],
        out,
        name=NAME,
        birth_year=1971,
        treated=[[], TREATED, TREATED],
        products=[None, "HA 1% + vitamin C", "HA 1% + vitamin C"],
        notes=["baseline <b>photo</b>", "3 ml, nappage", None],
    )


@pytest.fixture(scope="module")
def baseline_only(tmp_path_factory) -> dict:
    return course_from_pairs(
        [SAMPLES / "before.jpg"], tmp_path_factory.mktemp("baseline"), name=NAME, birth_year=1971
    )


@pytest.fixture(scope="module")
def html_s2(course, tmp_path_factory) -> Path:
    """The report of session 2 (the treated one) against the baseline, written to a file."""
    path = tmp_path_factory.mktemp("html") / "report.html"
    path.write_text(render_html(course, session=2), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def html_deid(course) -> str:
    return render_html(course, session=2, deidentify=True, show_name=True)


def _img_src(html: str, element_id: str) -> str:
    m = re.search(rf'<img id="{element_id}"[^>]*?src="([^"]+)"', html, re.S)
    assert m, element_id
    return m.group(1)


def _decode(uri: str):
    from PIL import Image

    head, b64 = uri.split(",", 1)
    assert head.startswith("data:image/") and head.endswith(";base64")
    im = Image.open(io.BytesIO(base64.b64decode(b64)))
    im.load()
    return im


def _rgb(uri: str) -> np.ndarray:
    return np.asarray(_decode(uri).convert("RGB"), dtype=np.float32) / 255.0


def _comp(course, session):
    return next(
        c
        for c in course["comparisons"]
        if c["session_id"] == session and c["against"] == "baseline"
    )


# ------------------------------------------------------------------------------------------------
# The HTML as a file
# ------------------------------------------------------------------------------------------------


def test_html_is_self_contained(html_s2):
    html = html_s2.read_text(encoding="utf-8")
    srcs = re.findall(r'\b(?:src|href)="([^"]*)"', html)
    assert len(srcs) == 1 + 4 + 2 + 4 + 1  # icon, colour bars, photos, trends, bruises
    assert all(s.startswith("data:") for s in srcs), [s[:40] for s in srcs if "data:" not in s]
    assert '<link rel="stylesheet"' not in html and "@import" not in html
    assert not re.search(r"https?://", html)
    assert "<script src" not in html
    assert "default-src 'none'" in html  # the CSP forbids any request
    # The sample's EXIF (camera make) never reaches the report, and every embedded image is
    # re-encoded pixels: no EXIF, no ICC profile, no text chunks.
    assert b"mesovision-synthetic" in (SAMPLES / "before.jpg").read_bytes()
    assert "mesovision-synthetic" not in html
    uris = re.findall(r'"(data:image/(?:jpeg|png);base64,[^"]+)"', html)
    assert len(uris) >= 2 + 8 + 4  # photos, heatmaps (in the JSON block), plots
    for uri in uris:
        im = _decode(uri)
        assert not im.getexif(), uri[:30]
        assert not {"exif", "icc_profile", "xmp", "Software"} & set(im.info), im.info.keys()


def test_html_escapes_document_text(html_s2):
    html = html_s2.read_text(encoding="utf-8")
    assert "baseline &lt;b&gt;photo&lt;/b&gt;" in html
    assert "<b>photo</b>" not in html


def _text(html: str) -> str:
    """The page without its embedded images (base64 data can spell any short string)."""
    return re.sub(r"data:[a-z/+]+;base64,[A-Za-z0-9+/=]+", "data:", html)


def test_name_only_when_asked(course, html_s2, html_deid):
    html = html_s2.read_text(encoding="utf-8")
    assert "P001" in html
    assert NAME not in html and "1971" not in _text(html)
    named = render_html(course, session=2, show_name=True)
    assert NAME in named and "1971" in _text(named)
    # de-identified: no name even with show_name, no file names
    assert NAME not in html_deid and "1971" not in _text(html_deid)
    assert "after_treated.jpg" in html and "after_treated.jpg" not in html_deid


@pytest.mark.slow
def test_default_session_is_the_latest(course):
    html = render_html(course)
    assert "session 3 of 2025-02-03 against the baseline" in html
    # Session 3 is also compared with session 2; session 2's "previous" is the baseline itself.
    assert "Since the previous session (2025-01-20)" in html
    assert [c["against"] for c in course["comparisons"] if c["session_id"] == 2] == [
        "baseline",
        "previous",
    ]
    assert "Since the previous session" not in render_html(course, session=2)
    with pytest.raises(UsageError, match=r"unknown session 7; sessions of this course: 1, 2, 3"):
        render_html(course, session=7)
    with pytest.raises(UsageError, match="session 1 has no comparison with the baseline"):
        render_html(course, session=1)


def test_region_table_rows_and_readings(course, html_s2):
    html = html_s2.read_text(encoding="utf-8")
    record = _comp(course, 2)["record"]
    expected = [
        (r, m)
        for r, ms in record["changes"].items()
        for m, c in ms.items()
        if c["before"] is not None or c["after"] is not None
    ]
    rows = re.findall(
        r'<tr class="region-row (sig|nosig)" data-region="([^"]+)" '
        r'data-metric="([^"]+)">(.*?)</tr>',
        html,
        re.S,
    )
    assert [(r, m) for _, r, m, _ in rows] == expected
    assert 150 < len(rows) < 10 * 24
    assert sum(s == "sig" for s, *_ in rows) == len(record["significant"])
    cells = {(r, m): re.findall(r"<td[^>]*>(.*?)</td>", body) for _, r, m, body in rows}
    assert len(_doc.TABLE_COLUMNS) == 9 and all(len(c) == 9 for c in cells.values())
    # Known truth of the sample: a* lowered by 5 on the left cheek, forehead smoothed, a bruise
    # on the chin; each reading follows the metric's registered direction.
    a = cells[("left_cheek", "redness.mean_a")]
    assert a[2] == "a*" and a[7] == "yes" and a[8] == "better"
    delta = record["changes"]["left_cheek"]["redness.mean_a"]["delta"]
    assert -5.5 < delta < -3.5 and a[5].startswith(f"{delta:.3g}")
    assert cells[("forehead", "texture.roughness_ra")][7:] == ["yes", "better"]
    assert cells[("chin", "bruise.area_pct")][7:] == ["yes", "worse"]
    assert cells[("nose", "redness.mean_a")][8] == "within noise"


def test_reading_wording():
    base = {"delta": 2.0, "noise_floor": 1.0, "significant": True}
    assert _doc.reading({**base, "direction": "higher_is_better"}) == "better"
    assert _doc.reading({**base, "direction": "higher_is_worse"}) == "worse"
    assert _doc.reading({**base, "delta": -2.0, "direction": "higher_is_worse"}) == "better"
    assert _doc.reading({**base, "direction": "neutral"}) == "higher (neutral)"
    assert _doc.reading({**base, "significant": False, "direction": "neutral"}) == "within noise"
    assert _doc.reading({**base, "noise_floor": None}) == "no noise floor"
    assert _doc.reading({**base, "delta": None}) == "not measured"


def test_trends_and_bruise_timeline(course, html_s2):
    html = html_s2.read_text(encoding="utf-8")
    families = sorted({m["family"] for m in _doc.metric_specs().values()})
    plots = re.findall(
        r'<img class="plot trend-plot" data-family="([^"]+)"[^>]*src="([^"]+)"', html
    )
    assert [f for f, _ in plots] == families
    for _, uri in plots:
        px = _rgb(uri)
        assert px.shape[1] >= 1000 and px.std() > 0.05
    # Trend values are the comparisons' changes (0 at the baseline).
    tr = {t.metric: t for t in _doc.trends(course, "redness")}["redness.mean_a"]
    deltas = [
        _comp(course, s)["record"]["changes"]["left_cheek"]["redness.mean_a"]["delta"]
        for s in (2, 3)
    ]
    assert tr.delta["left_cheek"] == [0.0, *deltas]
    assert tr.significant["left_cheek"] == [False, True, False]
    # The chin bruise appears at session 2 and is gone at session 3.
    tl = _doc.bruise_timeline(course)
    assert [e.status for e in tl] == ["no bruise", "bruise present", "resolved"]
    after = _comp(course, 2)["record"]["bruises"]["after"]
    assert tl[1].area_pct == pytest.approx(after["total_area_pct"]) and tl[1].area_pct > 1.0
    assert tl[1].regions == {"chin": pytest.approx(tl[1].area_pct)}
    assert set(tl[1].by_stage) == {"blue-green"}
    rows = re.findall(r'<tr class="bruise-row">(.*?)</tr>', html, re.S)
    assert len(rows) == 3 and "resolved" in rows[2] and "blue-green" in rows[1]


def test_quality_box_and_methods(course, html_s2):
    html = html_s2.read_text(encoding="utf-8")
    rec = _comp(course, 2)["record"]
    quality = html[html.index('<section id="quality">') : html.index('<section id="methods">')]
    assert f"{rec['alignment']['residual_px']:.3g} px" in quality
    assert f"{100 * rec['alignment']['coverage']:.3g} %" in quality
    de_b, de_a = rec["lighting"]["delta_e_before"], rec["lighting"]["delta_e_after"]
    assert f"median {de_b['median']:.3g}" in quality and f"median {de_a['median']:.3g}" in quality
    checks = re.findall(r'<tr class="check-row">(.*?)</tr>', quality, re.S)
    assert len(checks) == 2 and all("px between the eyes" in c for c in checks)
    methods = re.findall(r'<tr class="method-row"><td>([^<]+)</td>', html)
    assert methods == sorted(_doc.metric_specs())
    formula = (
        "sqrt(se_paired^2 + sd_registration^2 + sd_recapture^2 + sd_counting^2 + sd_capture^2)"
    )
    assert formula in html and "Benjamini-Hochberg" in html


def test_deidentify_blurs_the_eyes_only(html_s2, html_deid):
    from mesovision.landmarks import detect_landmarks
    from mesovision.report._images import eye_boxes

    html = html_s2.read_text(encoding="utf-8")
    for element in ("side-before", "side-after"):
        plain, blurred = _rgb(_img_src(html, element)), _rgb(_img_src(html_deid, element))
        assert plain.shape == blurred.shape
        boxes = eye_boxes(detect_landmarks(plain), plain.shape)
        near = np.zeros(plain.shape[:2], bool)
        for x0, y0, x1, y1 in boxes:
            near[y0:y1, x0:x1] = True
        diff = np.abs(plain - blurred).max(axis=2)
        assert diff[near].mean() > 0.05
        # Detail in the eye boxes is gone: the mean gradient drops by more than 80 %.
        for x0, y0, x1, y1 in boxes:
            for img, limit in ((plain, 0.03), (blurred, None)):
                eye = img[y0:y1, x0:x1].mean(axis=2)
                g = np.abs(np.diff(eye, axis=0)).mean() + np.abs(np.diff(eye, axis=1)).mean()
                if limit is not None:
                    assert g > limit
                    g_plain = g
                else:
                    assert g < 0.2 * g_plain
        # Far from the eyes (40 px beyond the boxes) the pixels are those of the plain report.
        import cv2

        far = cv2.dilate(near.astype(np.uint8), np.ones((81, 81), np.uint8)) == 0
        assert far.mean() > 0.6
        assert diff[far].max() <= 2 / 255


# ------------------------------------------------------------------------------------------------
# The HTML in Chromium
# ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    require(CHROMIUM.exists(), "/usr/bin/chromium is missing (Debian package 'chromium')")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=BROWSER_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, html_s2):
    """The session-2 report open in a fresh offline context, with every request, console
    message and page error recorded (``page.log``)."""
    ctx = browser.new_context(offline=True, viewport={"width": 1200, "height": 900})
    log = {"requests": [], "console": [], "errors": []}

    def refuse(route):
        log["requests"].append(route.request.url)
        if route.request.url.startswith(("file://", "data:")):
            route.continue_()
        else:
            route.abort()

    ctx.route("**/*", refuse)
    pg = ctx.new_page()
    pg.on("request", lambda r: log["requests"].append(r.url))
    pg.on("console", lambda m: log["console"].append((m.type, m.text)))
    pg.on("pageerror", lambda e: log["errors"].append(str(e)))
    pg.goto(html_s2.as_uri())
    pg.wait_for_load_state("load")
    pg.log = log
    yield pg
    ctx.close()


def test_page_loads_offline_without_errors_or_requests(page, html_s2):
    assert page.title() == "mesovision report P001"
    # every image decoded
    broken = page.evaluate(
        "[...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.id)"
    )
    assert broken == []
    assert page.evaluate("document.images.length") >= 2 + 3 + 4 + 1
    page.click("#flicker")
    page.click(".overlay-toggle[data-family=texture]")
    assert page.log["errors"] == []
    assert [m for m in page.log["console"] if m[0] in ("error", "warning")] == []
    assert {u for u in page.log["requests"] if not u.startswith("data:")} == {html_s2.as_uri()}


def _box_shot(page) -> np.ndarray:
    from PIL import Image

    png = page.locator("#slider-box").screenshot()
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.float32) / 255


def _set_slider(page, value: int) -> None:
    page.evaluate(
        "v => { const s = document.getElementById('slider'); s.value = String(v);"
        " s.dispatchEvent(new Event('input', {bubbles: true})); }",
        value,
    )


def test_slider_moves_the_split(page):
    assert page.eval_on_selector("#slider-after", "e => getComputedStyle(e).clipPath") == (
        "inset(0px 0px 0px 50%)"
    )
    page.locator("#slider-box").scroll_into_view_if_needed()
    _set_slider(page, 100)
    only_before = _box_shot(page)
    _set_slider(page, 0)
    only_after = _box_shot(page)
    _set_slider(page, 25)
    assert page.eval_on_selector("#slider-after", "e => getComputedStyle(e).clipPath") == (
        "inset(0px 0px 0px 25%)"
    )
    split = _box_shot(page)
    w = split.shape[1]
    left, right = slice(0, int(0.22 * w)), slice(int(0.28 * w), w)
    for part, shown, hidden in ((left, only_before, only_after), (right, only_after, only_before)):
        # the part shows the expected photo, which differs from the other one there
        assert np.abs(split[:, part] - shown[:, part]).mean() < 0.002
        assert np.abs(split[:, part] - hidden[:, part]).mean() > 0.008
    # Dragging on the photo moves the split to the pointer.
    box = page.locator("#slider-box").bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + 0.2 * box["width"], y)
    page.mouse.down()
    page.mouse.move(box["x"] + 0.8 * box["width"], y, steps=5)
    page.mouse.up()
    value = int(page.eval_on_selector("#slider", "e => e.value"))
    assert 78 <= value <= 82
    clip = page.eval_on_selector("#slider-after", "e => getComputedStyle(e).clipPath")
    assert clip == f"inset(0px 0px 0px {value}%)"


def test_flicker_swaps_the_image(page):
    src = lambda sel: page.eval_on_selector(sel, "e => e.src")  # noqa: E731
    before, after = src("#side-before"), src("#side-after")
    assert before != after
    assert src("#flicker-img") == before
    page.click("#flicker")
    assert src("#flicker-img") == after
    assert page.eval_on_selector("#flicker-img", "e => e.dataset.showing") == "after"
    assert page.inner_text("#flicker-label") == "after"
    page.click("#flicker")
    assert src("#flicker-img") == before


def test_overlay_toggles_switch_the_heatmap(page, html_s2):
    html = html_s2.read_text(encoding="utf-8")
    src = lambda sel: page.eval_on_selector(sel, "e => e.src")  # noqa: E731
    photo_b, photo_a = src("#side-before"), src("#side-after")
    toggles = page.locator(".overlay-toggle")
    assert toggles.count() == 4
    page.check(".overlay-toggle[data-family=redness]")
    red_a = src("#side-after")
    assert red_a != photo_a and src("#side-before") != photo_b
    assert red_a in html  # one of the embedded heatmaps
    assert page.eval_on_selector("#side-after", "e => e.dataset.family") == "redness"
    page.check(".overlay-toggle[data-family=bruise]")
    assert src("#side-after") not in (red_a, photo_a)
    assert not page.is_checked(".overlay-toggle[data-family=redness]")
    page.uncheck(".overlay-toggle[data-family=bruise]")
    assert (src("#side-before"), src("#side-after")) == (photo_b, photo_a)


def test_table_filter_and_screenshot(page, course):
    from PIL import Image

    n_sig = len(_comp(course, 2)["record"]["significant"])
    visible = "[...document.querySelectorAll('tr.region-row')].filter(r => r.offsetParent).length"
    assert page.evaluate(visible) > 150
    page.check("#sig-only")
    assert page.evaluate(visible) == n_sig
    page.uncheck("#sig-only")
    assert page.evaluate(visible) > 150
    shot = np.asarray(Image.open(io.BytesIO(page.screenshot())).convert("L"), dtype=np.float32)
    assert shot.shape == (900, 1200)
    assert shot.std() > 20  # not blank
    assert page.inner_text("#header").count("P001") == 1
    assert NAME not in page.inner_text("body")


# ------------------------------------------------------------------------------------------------
# PDF and files
# ------------------------------------------------------------------------------------------------


def _pdf_text(path: Path) -> tuple[object, list[str]]:
    from pypdf import PdfReader

    reader = PdfReader(str(path))
    return reader, [p.extract_text() for p in reader.pages]


@pytest.mark.slow
def test_write_report_html_and_pdf(course, tmp_path):
    from mesovision.report.pdf import METRICS_PER_PAGE, TABLE_ROWS_PER_PAGE

    out = tmp_path / "report.html"
    written = write_report(course, out, pdf=True, session=2)
    assert written == [out, tmp_path / "report.pdf"]
    assert "<!DOCTYPE html>" in out.read_text(encoding="utf-8")
    reader, pages = _pdf_text(tmp_path / "report.pdf")
    rows, _ = _doc.table_rows(_comp(course, 2)["record"])
    n_metrics = len(_doc.metric_specs())
    # summary, images, heatmaps, the table, 4 trend pages, bruises, methods, noise floor
    expected = (
        1
        + 2
        + math.ceil(len(rows) / TABLE_ROWS_PER_PAGE)
        + 4
        + 1
        + math.ceil(n_metrics / METRICS_PER_PAGE)
        + 1
    )
    assert len(pages) == expected == len(page_plan(course, session=2))
    text = "\n".join(pages)
    assert "P001" in pages[0] and "Quality" in pages[0] and "Residual" in pages[0]
    assert "left_cheek: redness.mean_a" in pages[0]
    table = "\n".join(p for p in pages if "Regions (" in p)
    for heading in _doc.TABLE_COLUMNS:
        assert heading in table
    assert table.count("left_cheek") >= 20
    assert "Bruise timeline" in text and "resolved" in text
    assert "Methods: metrics" in text
    for name in _doc.metric_specs():
        assert name in text
    assert "sd_registration" in text
    assert NAME not in text
    meta = {k: str(v) for k, v in (reader.metadata or {}).items()}
    assert meta["/Title"] == "mesovision report P001"
    assert "/CreationDate" not in meta
    assert not any(NAME in v or "Jane" in v for v in meta.values())
    # Nothing is overwritten without force (checked before rendering).
    mtime = out.stat().st_mtime_ns
    with pytest.raises(OutputExists):
        write_report(course, out, pdf=True, session=2)
    assert out.stat().st_mtime_ns == mtime
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html", "report.pdf"]


@pytest.mark.slow
def test_baseline_only_course_and_named_pdf(baseline_only, tmp_path):
    html = render_html(baseline_only, show_name=True)
    assert "nothing to compare yet" in html and NAME in html
    # The course's notes are listed; de-identified, without the photo's path or file name.
    path = baseline_only["sessions"][0]["photo"]["path"]
    doc = {**baseline_only, "notes": [f"session 2 not compared: {path}: no face found"]}
    assert f"session 2 not compared: {path}: no face found" in render_html(doc)
    deid = render_html(doc, deidentify=True)
    assert "session 2 not compared: [photo]: no face found" in deid
    assert "before.jpg" not in deid
    out = tmp_path / "r.pdf"
    assert write_report(baseline_only, out, show_name=True) == [out]
    reader, pages = _pdf_text(out)
    assert len(pages) == len(page_plan(baseline_only, show_name=True))
    assert NAME in pages[0]  # shown on request ...
    assert not any(
        NAME in str(v) for v in (reader.metadata or {}).values()
    )  # ... never in metadata
    first = out.read_bytes()
    write_report(baseline_only, out, force=True)  # without the name now; same page count
    assert out.read_bytes() != first
    assert NAME not in "\n".join(_pdf_text(out)[1])


def test_report_command(baseline_only, tmp_path, monkeypatch, capsys):
    """The command with a stand-in for ``mesovision.course`` (the store is tested elsewhere)."""
    from mesovision import cli

    calls = []

    def course_document(store_dir, patient_id, *, view="front", session=None):
        calls.append((str(store_dir), patient_id, view, session))
        return baseline_only

    fake = types.ModuleType("mesovision.course")
    fake.course_document = course_document
    monkeypatch.setitem(sys.modules, "mesovision.course", fake)
    monkeypatch.delenv("MESOVISION_STORE", raising=False)
    out = tmp_path / "report.html"
    assert cli.main(["report", "P001", "-o", str(out)]) == 2
    assert "no store folder" in capsys.readouterr().err
    monkeypatch.setenv("MESOVISION_STORE", str(tmp_path / "store"))
    assert cli.main(["report", "P001", "-o", str(out), "--pdf"]) == 0
    assert calls == [(str(tmp_path / "store"), "P001", "front", None)]
    assert out.is_file() and out.with_suffix(".pdf").is_file()
    assert f"report written: {out}" in capsys.readouterr().out
    assert cli.main(["report", "P001", "-o", str(out)]) == 9
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"mesovision: error: {out}: exists; use --force to overwrite"]
    assert len(calls) == 1  # refused before building the course document
    code = cli.main(["report", "P001", "-o", str(out), "--force", "--session", "4"])
    assert code == 2
    assert "unknown session 4" in capsys.readouterr().err
