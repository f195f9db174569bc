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
import re
import sys
import types
from collections import Counter
from html import escape as esc
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, require
from report_course import course_from_pairs

from mesovision.errors import OutputExists, UsageError
from mesovision.report import _doc, render_html, write_report
from mesovision.report._side_effects import bruise_timeline

SAMPLES = REPO / "sample_images" / "astronaut"
NAME = "Jane Testpatient"
TREATED = ["left_cheek", "right_cheek", "forehead", "chin"]


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
    # icon, heatmap colour bars, photos, change map and its colour bar, course figure, bruises,
    # side effects
    assert len(srcs) == 1 + 4 + 2 + 2 + 1 + 1 + 1
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
    # File names only with show_name (folders and file names often carry the patient's name),
    # never with deidentify; never a folder.
    assert "after_treated.jpg" in named and "after_treated.jpg" not in html
    assert "after_treated.jpg" not in html_deid
    assert str(SAMPLES) not in html + named + html_deid


@pytest.mark.slow
def test_default_session_is_the_latest(course):
    html = render_html(course)
    assert "the session of 2025-02-03 against the first session" in html
    # Session 3 is also compared with session 2; session 2's "previous" is the baseline itself.
    assert "Since the previous session (2025-01-20)" in html
    assert [c["against"] for c in course["comparisons"] if c["session_id"] == 2] == [
        "baseline",
        "previous",
    ]
    assert "Since the previous session" not in render_html(course, session=2)
    with pytest.raises(UsageError, match=r"unknown session 7; sessions of this course: 1, 2, 3"):
        render_html(course, session=7)
    with pytest.raises(UsageError, match=r"session 1 is the first session: the later sessions"):
        render_html(course, session=1)


def test_region_table_rows_and_readings(course, html_s2):
    from mesovision.report.sections import TABLE_HEAD

    html = html_s2.read_text(encoding="utf-8")
    record = _comp(course, 2)["record"]
    expected = [
        (r, m)
        for r, ms in record["changes"].items()
        for m, c in ms.items()
        if c["before"] is not None or c["after"] is not None
    ]
    rows = re.findall(
        r'<tr class="region-row (sig|nosig)( extra hidden)?" data-region="([^"]+)" '
        r'data-metric="([^"]+)">(.*?)</tr>',
        html,
        re.S,
    )
    assert [(r, m) for _, _, r, m, _ in rows] == expected
    assert 150 < len(rows) < 10 * 24
    assert sum(s == "sig" for s, *_ in rows) == len(record["significant"])
    # Shown by default: the treated regions' rows and every significant change; the rest hidden.
    treated = set(record["settings"]["treated"])
    for sig, hidden, region, _, _ in rows:
        assert bool(hidden) == (sig == "nosig" and region not in treated)
    assert f"show every measure ({sum(bool(h) for _, h, *_ in rows)} more rows)" in html
    cells = {(r, m): re.findall(r"<td[^>]*>(.*?)</td>", body) for _, _, r, m, body in rows}
    assert len(TABLE_HEAD) == 9 and all(len(c) == 9 for c in cells.values())
    # Known truth of the sample: a* lowered by 5 on the left cheek, forehead smoothed, a bruise
    # on the chin; each reading follows the metric's registered direction.
    a = cells[("left_cheek", "redness.mean_a")]
    assert a[1] == _doc.metric_specs()["redness.mean_a"].get("display", "redness.mean_a")
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
    quiet = {**base, "delta": 0.6, "significant": False, "direction": "neutral"}
    assert _doc.reading(quiet) == "within noise"
    # Past its noise floor (what one retake changes for this measure alone) but not significant
    # once the false discovery rate is controlled over the measures of its stratum.
    past = {**base, "significant": False, "endpoint": "secondary"}
    assert _doc.reading(past, tested={"primary": 16, "secondary": 201}) == (
        "beyond one retake; not significant among the 201 other measures tested"
    )
    assert _doc.reading({**past, "endpoint": "primary"}, tested={"primary": 16}) == (
        "beyond one retake; not significant among the 16 headline measures of the treated areas"
    )
    assert _doc.reading({**past, "delta": -2.0}) == (
        "beyond one retake; not significant among all the measures tested"
    )
    assert _doc.reading({**base, "noise_floor": None}) == "no noise floor"
    assert _doc.reading({**base, "delta": None}) == "not measured"


def test_trends_and_bruise_timeline(course, html_s2):
    html = html_s2.read_text(encoding="utf-8")
    # The course figure: one panel per treated region and headline metric, drawn at its natural
    # size (fonts of 10 pt stay >= 10 px at 100 %).
    m = re.search(
        r'<img class="plot" id="course-plot" width="(\d+)" height="(\d+)"[^>]*src="([^"]+)"', html
    )
    assert m is not None
    px = _rgb(m.group(3))
    assert px.shape[1] == int(m.group(1)) >= 800 and px.shape[0] == int(m.group(2))
    assert px.std() > 0.05
    series = _doc.course_series(course)
    assert [(x.region, x.family) for x in series[:4]] == [
        ("left_cheek", "colour"),
        ("left_cheek", "pigmentation"),
        ("left_cheek", "texture"),
        ("left_cheek", "bruise"),
    ]
    assert {x.region for x in series} == set(TREATED)
    # Values are the comparisons' changes (0 at the first session).
    tr = next(x for x in series if x.region == "left_cheek" and x.metric == "redness.mean_a")
    deltas = [
        _comp(course, s)["record"]["changes"]["left_cheek"]["redness.mean_a"]["delta"]
        for s in (2, 3)
    ]
    assert tr.delta == [0.0, *deltas]
    assert tr.significant == [False, True, False]
    # The chin bruise appears at session 2 and is gone at session 3.
    tl = bruise_timeline(course)
    assert [e.status for e in tl] == ["no bruise", "bruise present", "resolved"]
    after = _comp(course, 2)["record"]["bruises"]["after"]
    assert tl[1].area_pct == pytest.approx(after["total_area_pct"]) and tl[1].area_pct > 1.0
    assert tl[1].regions == {"chin": pytest.approx(tl[1].area_pct)}
    assert set(tl[1].by_stage) == {"blue-green"}
    rows = re.findall(r'<tr class="bruise-row">(.*?)</tr>', html, re.S)
    assert len(rows) == 3 and "resolved" in rows[2] and "blue-green" in rows[1]
    # The side effects (tests/report/test_side_effects.py for their values): sessions 2 and 3
    # both treated, so one episode runs from session 2 (day 0) to session 3 (day 14).
    from mesovision.report._side_effects import side_effects

    fx = side_effects(course)
    assert [[p.days for p in e.points] for e in fx.episodes] == [[0, 14], [0]]
    assert html.index('id="bruises"') < html.index('id="side-effect-plot"')


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
    assert methods == sorted(_doc.measured_specs(rec))
    assert not any(m.startswith("hair.") for m in methods)  # a face report: no scalp measures
    heatmaps = html[html.index("<h3>Heatmaps</h3>") : html.index("<h3>Measures</h3>")]
    assert re.findall(r"<li>(\w+):", heatmaps) == ["bruise", "pigmentation", "redness", "texture"]
    formula = (
        "sqrt(se_paired^2 + sd_registration^2 + sd_recapture^2 + sd_counting^2 + sd_capture^2 "
        "+ sd_detail^2 + sd_field^2 + sd_pose^2)"
    )
    assert formula in html and "Benjamini-Hochberg" in html


def test_change_map_and_outlines_show_the_known_change(html_s2):
    """The sample's known truth on the page: a* lowered by 5 on the left cheek (the image's
    right), nothing on the forehead's colour. The redness change map colours the left cheek
    purple (lower) and leaves the forehead grey; the treated regions are outlined on the photo."""
    from mesovision.landmarks import detect_landmarks
    from mesovision.regions import region_masks

    html = html_s2.read_text(encoding="utf-8")
    photo = _rgb(_img_src(html, "side-before"))
    change = _rgb(_img_src(html, "change-img"))
    assert change.shape == photo.shape
    masks = region_masks(detect_landmarks(photo), photo.shape)
    chroma = change.max(axis=2) - change.min(axis=2)
    cheek, forehead = masks["left_cheek"], masks["forehead"]
    assert chroma[cheek].mean() > 0.08 and chroma[forehead].mean() < 0.03
    coloured = cheek & (chroma > 0.1)
    assert coloured.mean() > 0.3 * cheek.mean()
    r, g, b = (change[coloured][:, k].mean() for k in range(3))
    assert b > g and r > g  # purple: PuOr's lower end


def test_treated_regions_are_outlined_and_nothing_else_changes(course):
    """The photos with the treated regions outlined differ from the plain ones only in a thin
    band along those regions' borders."""
    import cv2

    from mesovision.landmarks import detect_landmarks
    from mesovision.regions import region_masks
    from mesovision.report._images import comparison_images

    comp = _comp(course, 2)
    treated = ["left_cheek", "chin"]
    plain = comparison_images(comp["images"], deidentify=False, names=["before"])["before"]
    lined = comparison_images(comp["images"], deidentify=False, names=["before"], treated=treated)
    diff = np.abs(lined["before"] - plain).max(axis=2) > 0.05
    assert 0.002 < diff.mean() < 0.05
    masks = region_masks(detect_landmarks(plain), plain.shape)
    kernel = np.ones((13, 13), np.uint8)
    band = np.zeros(diff.shape, bool)
    for r in treated:
        m = masks[r].astype(np.uint8)
        band |= (cv2.dilate(m, kernel) > 0) & ~(cv2.erode(m, kernel) > 0)
    assert (diff & band).sum() > 0.85 * diff.sum()
    assert not (diff & masks["forehead"] & ~band).any()


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

    record = _comp(course, 2)["record"]
    treated = set(record["settings"]["treated"])
    shown = sum(
        1
        for r, ms in record["changes"].items()
        for m, c in ms.items()
        if (c["before"] is not None or c["after"] is not None)
        and (c["significant"] or r in treated)
    )
    visible = "[...document.querySelectorAll('tr.region-row')].filter(r => r.offsetParent).length"
    assert page.evaluate(visible) == shown < 150
    page.check("#all-rows")
    assert page.evaluate(visible) > 150
    page.uncheck("#all-rows")
    assert page.evaluate(visible) == shown
    shot = np.asarray(Image.open(io.BytesIO(page.screenshot())).convert("L"), dtype=np.float32)
    assert shot.shape == (900, 1200)
    assert shot.std() > 20  # not blank
    assert page.inner_text("#header").count("P001") == 1
    assert NAME not in page.inner_text("body")


#: axe-core, the accessibility engine, fetched from the npm registry into a cache once.
AXE_VERSION = "4.14.1"


@pytest.fixture(scope="module")
def axe_source() -> str:
    import os
    import shutil
    import subprocess

    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    prefix = cache / "mesovision-tests" / f"axe-core-{AXE_VERSION}"
    js = prefix / "node_modules" / "axe-core" / "axe.min.js"
    if not js.is_file():
        npm = shutil.which("npm")
        require(npm is not None, "npm is missing: axe-core comes from the npm registry")
        r = subprocess.run(
            [
                npm,
                "install",
                "--prefix",
                str(prefix),
                "--no-save",
                "--no-audit",
                "--no-fund",
                "--silent",
                f"axe-core@{AXE_VERSION}",
            ],
            capture_output=True,
            text=True,
            timeout=600,
        )
        require(
            r.returncode == 0 and js.is_file(), f"npm install axe-core failed: {r.stderr[-300:]}"
        )
    return js.read_text(encoding="utf-8")


@pytest.mark.parametrize("width", [390, 1400])
def test_layout_and_accessibility_at_phone_and_desktop_width(browser, html_s2, axe_source, width):
    """Readable from a phone held upright to a desktop: nothing wider than the window (wide
    tables scroll inside their own box), every text at least 12 px, and axe-core (WCAG 2 A/AA
    rules) finds no serious or critical violation."""
    ctx = browser.new_context(viewport={"width": width, "height": 900})
    pg = ctx.new_page()
    pg.goto(html_s2.as_uri())
    assert pg.evaluate("document.scrollingElement.scrollWidth") <= width
    smallest = pg.evaluate(
        "Math.min(...[...document.querySelectorAll('body *')].filter(e => e.offsetParent &&"
        " [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim()))"
        ".map(e => parseFloat(getComputedStyle(e).fontSize)))"
    )
    assert smallest >= 12
    pg.add_script_tag(content=axe_source)
    result = pg.evaluate(
        "async () => await axe.run(document, {runOnly: {type: 'tag', values:"
        " ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})"
    )
    serious = [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert serious == []
    assert len(result["passes"]) > 10  # the engine ran
    ctx.close()


# ------------------------------------------------------------------------------------------------
# PDF and files
# ------------------------------------------------------------------------------------------------


def _pdf_text(path: Path) -> tuple[object, list[str]]:
    from pypdf import PdfReader

    reader = PdfReader(str(path))
    return reader, [p.extract_text() for p in reader.pages]


def _layout_faults(path: Path) -> list[str]:
    """Words outside their page, or overlapping another word, from the PDF's own text positions
    (pdfplumber); fonts not embedded."""
    import pdfplumber
    from pypdf import PdfReader

    faults = []
    with pdfplumber.open(str(path)) as pdf:
        for n, page in enumerate(pdf.pages, start=1):
            words = sorted(page.extract_words(), key=lambda w: w["top"])
            for k, a in enumerate(words):
                if a["x0"] < 0 or a["x1"] > page.width or a["top"] < 0 or a["bottom"] > page.height:
                    faults.append(f"page {n}: {a['text']!r} outside the page")
                for b in words[k + 1 :]:
                    if b["top"] >= a["bottom"] - 0.5:
                        break
                    ix = min(a["x1"], b["x1"]) - max(a["x0"], b["x0"])
                    iy = min(a["bottom"], b["bottom"]) - max(a["top"], b["top"])
                    if ix > 0.5 and iy > 0.5:
                        faults.append(f"page {n}: {a['text']!r} overlaps {b['text']!r}")
    for n, page in enumerate(PdfReader(str(path)).pages, start=1):
        for font in (page["/Resources"].get("/Font") or {}).values():
            font = font.get_object()
            desc = font.get("/FontDescriptor")
            if desc is None and "/DescendantFonts" in font:
                desc = font["/DescendantFonts"][0].get_object().get("/FontDescriptor")
            if desc is None or "/FontFile2" not in desc.get_object():
                faults.append(f"page {n}: font {font.get('/BaseFont')} not embedded")
    return faults


@pytest.mark.slow
def test_write_report_html_and_pdf(course, tmp_path):
    from mesovision.report.pdf import SUMMARY_MAX_PAGES

    out = tmp_path / "report.html"
    written = write_report(course, out, pdf=True, session=2)
    assert written == [out, tmp_path / "report.pdf"]
    assert "<!DOCTYPE html>" in out.read_text(encoding="utf-8")
    reader, pages = _pdf_text(tmp_path / "report.pdf")
    # The patient summary: two pages, plain sentences first, the photos, the course figure.
    assert len(pages) == SUMMARY_MAX_PAGES
    assert "P001" in pages[0] and "Summary" in pages[0]
    assert re.search(
        r"of the left cheek went down by about half since the first\s+session", pages[0]
    )
    assert "more than a retake of the photo would change" in pages[0]
    assert "first session, 2025-01-06" in pages[0]
    assert "The course" in pages[1] and "What the measures mean" in pages[1]
    assert all(f"page {k} of {len(pages)}" in p for k, p in enumerate(pages, start=1))
    assert _layout_faults(tmp_path / "report.pdf") == []
    text = "\n".join(pages)
    assert NAME not in text
    meta = {k: str(v) for k, v in (reader.metadata or {}).items()}
    assert meta["/Title"] == "mesovision report P001"
    assert meta.get("/CreationDate", "D:20000101").startswith("D:20000101")  # fixed, no real time
    assert not any(NAME in v or "Jane" in v for v in meta.values())
    # Nothing is overwritten without force (checked before rendering).
    mtime = out.stat().st_mtime_ns
    with pytest.raises(OutputExists):
        write_report(course, out, pdf=True, session=2)
    assert out.stat().st_mtime_ns == mtime
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html", "report.pdf"]


@pytest.mark.slow
def test_full_pdf_appendix_paginates(course, tmp_path):
    out = tmp_path / "full.pdf"
    write_report(course, out, session=2, full=True)
    reader, pages = _pdf_text(out)
    text = "\n".join(pages)
    assert len(pages) > 2 and "Appendix" in pages[2]
    rows, _ = _doc.table_rows(_comp(course, 2)["record"])
    flat = " ".join(text.split())  # a long reading wraps in its cell
    for reading, n in Counter(r.reading for r in rows).items():  # every row of the table
        assert flat.count(reading) >= n, reading
    assert "Bruise timeline" in text and "resolved" in text
    for name in _doc.measured_specs(_comp(course, 2)["record"]):
        assert name in text.replace("\n", "")
    assert "sd_registration" in text
    assert ":func:" not in text and "``" not in text
    assert _layout_faults(out) == []
    # The same document gives the same bytes.
    again = tmp_path / "again.pdf"
    write_report(course, again, session=2, full=True)
    assert again.read_bytes() == out.read_bytes()


@pytest.mark.slow
def test_baseline_only_course_and_named_pdf(baseline_only, tmp_path):
    html = render_html(baseline_only, show_name=True)
    assert "nothing to compare yet" in html and NAME in html
    # One session: "1 session", not "1 sessions".
    assert "front view · 1 session, 2025-01-06" in html and "1 sessions" not in html
    # The course's notes are listed; without show_name (and de-identified) the photo is named
    # by its view and date (de-identified: its day), never by its path or file name; with
    # show_name by its file name.
    path = baseline_only["sessions"][0]["photo"]["path"]
    doc = {**baseline_only, "notes": [f"session 2 not compared: {path}: no face found"]}
    for html, when in (
        (render_html(doc), "2025-01-06"),
        (render_html(doc, deidentify=True, show_name=True), "day 0"),
    ):
        assert f"session 2 not compared: the front photo of {when}: no face found" in html
        assert "before.jpg" not in html and path not in html
    named = render_html(doc, show_name=True)
    assert "session 2 not compared: before.jpg: no face found" in named and path not in named
    # a note naming the file filed (a copy's original, with its folders): no folder is left
    filed = "/clinic/Jane Doe 2026/IMG_0042.jpg"
    photo = {**baseline_only["sessions"][0]["photo"], "original_path": filed}
    sessions = [{**baseline_only["sessions"][0], "photo": photo}, *baseline_only["sessions"][1:]]
    doc = {**doc, "sessions": sessions, "notes": [f"session 2 not compared: {filed}: no face"]}
    for html, when in (
        (render_html(doc), "2025-01-06"),
        (render_html(doc, deidentify=True), "day 0"),
    ):
        assert f"session 2 not compared: the front photo of {when}: no face" in html
        assert "Jane Doe" not in html and "IMG_0042" not in html
    out = tmp_path / "r.pdf"
    assert write_report(baseline_only, out, show_name=True) == [out]
    reader, pages = _pdf_text(out)
    assert len(pages) == 1 and "nothing to compare yet" in pages[0]
    assert NAME in pages[0]  # shown on request ...
    assert not any(
        NAME in str(v) for v in (reader.metadata or {}).values()
    )  # ... never in metadata
    first = out.read_bytes()
    write_report(baseline_only, out, force=True)  # without the name now; same page count
    assert out.read_bytes() != first
    assert NAME not in "\n".join(_pdf_text(out)[1])


def test_control_characters_of_user_text_are_shown_not_passed_on(baseline_only, tmp_path):
    """A file name holding an escape sequence or a right-to-left override, or notes with one,
    reach the HTML and the PDF as visible escapes (line breaks of the notes kept)."""
    s0 = baseline_only["sessions"][0]
    photo = {**s0["photo"], "file_name": "IMG\x1b[31m_1\u202egpj.jpg"}
    notes = "first line\nsecond\x07 line"
    doc = {**baseline_only, "sessions": [{**s0, "photo": photo, "notes": notes}]}
    html = render_html(doc, show_name=True)
    assert "\x1b" not in html and "\u202e" not in html and "\x07" not in html
    assert "IMG\\x1b[31m_1\\u202egpj.jpg" in html and "second\\x07 line" in html
    assert "first line\nsecond" in html
    out = tmp_path / "r.pdf"
    write_report(doc, out, show_name=True, full=True)
    text = "\n".join(_pdf_text(out)[1])
    assert "\x1b" not in text and "\u202e" not in text and "\\x1b[31" in text


def test_chinese_japanese_and_korean_text_reaches_the_pdf_as_text(baseline_only, tmp_path):
    """DejaVu has no CJK glyphs: such a name or note is set in the PDF standard's Asian fonts
    (not embedded), so the PDF's text is the name, not empty boxes (U+0000 in the text)."""
    s0 = baseline_only["sessions"][0]
    patient = {**baseline_only["patient"], "name": "Zoë Müller 山田"}
    doc = {
        **baseline_only,
        "patient": patient,
        "sessions": [{**s0, "notes": "やまだ様 김민수"}],
    }
    out = tmp_path / "r.pdf"
    write_report(doc, out, show_name=True, full=True)
    reader, pages = _pdf_text(out)
    text = "\n".join(pages)
    assert "Zoë Müller 山田" in text and "やまだ様 김민수" in text and "\x00" not in text
    fonts = {
        str(f["/BaseFont"])
        for page in reader.pages
        for f in (page["/Resources"].get("/Font") or {}).values()
        for f in [f.get_object()]
    }
    assert {"/STSong-Light", "/HeiseiKakuGo-W5", "/HYGothic-Medium"} <= fonts


def test_a_face_report_without_comparison_lists_only_face_measures(baseline_only):
    """No comparison yet: the methods list the measures and heatmaps of the course's capture
    mode (a face course: no body or hair measure, no body or hair heatmap)."""
    from mesovision.metrics import metrics_for_mode

    html = render_html(baseline_only)
    methods = re.findall(r'<tr class="method-row"><td>([^<]+)</td>', html)
    assert methods and set(methods) == set(metrics_for_mode("face"))
    assert not any(m.startswith(("body.", "hair.")) for m in methods)
    heatmaps = html[html.index("<h3>Heatmaps</h3>") : html.index("<h3>Measures</h3>")]
    assert re.findall(r"<li>(\w+):", heatmaps) == ["bruise", "pigmentation", "redness", "texture"]


#: A course note as mesovision.course.course_document writes it for a refused comparison.
YAW_NOTE = (
    "session {sid} ({date}) against baseline (session 1): not compared: {path}: head turned +18 "
    "deg (yaw) from the before photo; limit 15; not comparable as taken (mesovision compare "
    "--force compares the files anyway)"
)


def yaw_refused(sid: int, date: str, path: str) -> dict:
    """The document's ``notes`` and ``refusals`` of session ``sid``'s photo (``path``) refused
    against the first session by a head turned 18 degrees (limit 15), as
    :func:`mesovision.course.course_document` writes them."""
    note = YAW_NOTE.format(sid=sid, date=date, path=path)
    refusal = {
        "session_id": sid,
        "date": date,
        "against": "baseline",
        "against_session_id": 1,
        "photo_session_id": sid,
        "error": "AlignmentError",
        "check": "yaw",
        "value": 17.9,
        "limit": 15.0,
        "message": "head turned +18 deg (yaw) from the before photo; limit 15",
        "note": note,
    }
    return {"notes": [note], "refusals": [refusal]}


YAW_WORDS = (
    "head turned 18° from the pose in the first session's photo (limit 15°); retake facing the "
    "camera, as in that photo"
)


def test_a_course_whose_sessions_could_not_be_compared(baseline_only, tmp_path):
    """Two sessions, no comparison (the second refused): the summary says so, not "only the
    first session", and both the HTML and the PDF say why, in the clinic's words (no command
    line advice, no path)."""
    first = baseline_only["sessions"][0]
    path = "/photos/Jane_Doe_1971-03-14/Jane_Doe_visit2.jpg"  # not the course's: a cached refusal
    refused = yaw_refused(2, "2026-02-01", path)
    doc = {**baseline_only, "sessions": [first, {**first, "id": 2}], **refused}
    html = render_html(doc)
    assert "No later session could be compared with the first session or with the session " in html
    line = f"Session 2 (2026-02-01), not compared with the first session: {YAW_WORDS}."
    assert "nothing to compare yet" not in html and esc(line) in html
    out = tmp_path / "r.pdf"
    write_report(doc, out)
    page = " ".join(_pdf_text(out)[1][0].split())
    assert "No later session could be compared" in page and line in page
    assert "nothing to compare yet" not in page
    for text in (_text(html), page):
        assert "--force" not in text and "mesovision compare" not in text
        assert "Jane_Doe" not in text and "1971-03-14" not in text and ".jpg" not in text


def test_the_summary_says_when_the_latest_session_could_not_be_compared(course, tmp_path):
    """A later session the photos refused: the summary of the latest compared session says so
    first, with the reason (HTML and PDF, 2 pages and full); a course whose latest session was
    compared says nothing of it."""
    last = course["sessions"][-1]
    late = {**last, "id": 99, "date": "2027-01-01"}
    refused = yaw_refused(99, "2027-01-01", last["photo"]["path"])
    doc = {**course, "sessions": [*course["sessions"], late], **refused}
    html = render_html(doc)
    shown = _doc.session_by_id(course)[_doc.baseline_comparisons(course)[-1]["session_id"]]
    text = (
        f"The latest session (2027-01-01) could not be compared with the first session: "
        f"{YAW_WORDS}. This summary is of the session of {shown['date']}."
    )
    assert f'<p id="latest-not-compared">{esc(text)}</p>' in html
    assert 'id="latest-not-compared"' not in render_html(course)
    line = f"Session 99 (2027-01-01), not compared with the first session: {YAW_WORDS}."
    for full in (False, True):
        out = tmp_path / f"r{full}.pdf"
        write_report(doc, out, full=full)
        text = " ".join(" ".join(_pdf_text(out)[1]).split())
        assert text.count(f"with the first session: {YAW_WORDS}. This summary") == 1
        assert line in text and "--force" not in text and "notes on the sessions" not in text


def test_report_command(baseline_only, tmp_path, monkeypatch, capsys):
    """The command with a stand-in for ``mesovision.course`` (the store is tested elsewhere)."""
    from mesovision import cli

    calls = []

    def course_document(store_dir, patient_id, *, view="front", session=None, on_step=None):
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


def test_compare_writes_a_report_without_a_patient_record(tmp_path, capsys):
    """``compare BEFORE AFTER -o OUT --report --pdf``: the same report for one comparison."""
    from mesovision import cli

    out = tmp_path / "out"
    before, after = SAMPLES / "before.jpg", SAMPLES / "after_treated.jpg"
    assert cli.main(["compare", str(before), str(after), "-o", str(out), "--pdf"]) == 2
    assert "--pdf needs --report" in capsys.readouterr().err and not out.exists()
    args = ["compare", str(before), str(after), "-o", str(out), "--treated", "left_cheek,chin"]
    assert cli.main([*args, "--report", "--pdf"]) == 0
    assert f"report written: {out / 'report.html'}" in capsys.readouterr().out
    html = (out / "report.html").read_text(encoding="utf-8")
    assert (
        "<h1>Before and after comparison</h1>" in html and "Two photos, no patient record" in html
    )
    assert "of the left cheek went down by about half since the before photo" in html
    assert 'id="slider"' in html and 'class="overlay-toggle"' in html
    # The photos carry no capture date: the files' dates are shown, and said so.
    assert "no capture date in the photo; the file&#x27;s date is shown" in html
    reader, pages = _pdf_text(out / "report.pdf")
    assert len(pages) <= 2 and "Before and after comparison" in pages[0]
    assert _layout_faults(out / "report.pdf") == []


def test_quality_items_say_whether_a_limited_family_is_widened():
    from mesovision.report._quality import quality_items

    def verdict(status, inflation, reason):
        return {"status": status, "inflation": inflation, "reason": reason}

    rec = {
        "alignment": {},
        "comparability": {
            "colour": verdict("limited", 1.5, "colour: light differs by dE00 2.2"),
            "geometry": verdict("limited", 1.0, "geometry: the face is only 48 px"),
            "texture": verdict("not_comparable", 1.0, "texture: the face is only 48 px"),
        },
    }
    comp = {"record": rec, "session_id": 2, "against_session_id": 1}
    items = dict(quality_items({"sessions": []}, comp)[0])
    assert items["Comparable: colour"] == (
        "limited (noise widened x1.5): colour: light differs by dE00 2.2"
    )
    assert items["Comparable: geometry"] == (
        "limited (noise floor not widened): geometry: the face is only 48 px"
    )
    assert items["Comparable: texture"].startswith("not comparable (values shown, not tested)")


def _previous_only(course) -> dict:
    """The course with both later sessions refused by the first session's photo (as
    course_document notes them): session 3 keeps its comparison with session 2."""
    refused = [yaw_refused(s["id"], s["date"], s["photo"]["path"]) for s in course["sessions"][1:]]
    comps = [
        c for c in course["comparisons"] if c["against"] == "previous" and c["session_id"] == 3
    ]
    notes = [n for r in refused for n in r["notes"]]
    return {
        **course,
        "comparisons": comps,
        "notes": notes,
        "refusals": [x for r in refused for x in r["refusals"]],
    }


@pytest.mark.slow
def test_a_session_compared_only_with_the_previous_one_is_shown(course, tmp_path):
    """No later session compared with the first, session 3 compared with session 2: the report
    shows that comparison (its summary, photos and measures, against the previous session),
    says so first, and ``--session 3`` shows it too; ``--session 2`` says why it cannot."""
    doc = _previous_only(course)
    html = render_html(doc)
    assert html == render_html(doc, session=3)
    assert (
        "this report: the session of 2025-02-03 against the previous session (2025-01-20)" in html
    )
    assert "Since the previous session (2025-01-20)</h3>" in html
    assert (
        "Compared with the session before them: 2025-02-03. This report shows the session " in html
    )
    assert "No later session could be compared with the first session (the list" in html
    assert 'id="slider"' in html and 'id="region-table"' in html
    assert "previous session, 2025-01-20</figcaption>" in html
    prev = next(c for c in doc["comparisons"] if c["session_id"] == 3)["record"]
    rows = re.findall(r'<tr class="region-row (?:sig|nosig)', html)
    assert len(rows) == len(_doc.table_rows(prev)[0])
    with pytest.raises(UsageError) as err:
        render_html(doc, session=2)
    assert str(err.value) == (
        f"session 2 (2025-01-20) could not be compared: with the first session: "
        f"{YAW_WORDS.split(';')[0]} (sessions compared: 3)"
    )
    out = tmp_path / "r.pdf"
    write_report(doc, out)
    text = " ".join(" ".join(_pdf_text(out)[1]).split())
    assert "session of 2025-02-03 against the previous session (2025-01-20)" in text
    assert (
        "Since the previous session (2025-01-20)" in text and "previous session, 2025-01-20" in text
    )
    assert _layout_faults(out) == []


def test_a_change_beyond_one_retake_but_not_significant_says_so(course, html_s2):
    """A change past its retake range (noise floor) that the false discovery rate control does
    not keep reads "beyond one retake; not significant among the N measures tested", N the
    measures tested in its stratum, never "within noise"."""
    html = html_s2.read_text(encoding="utf-8")
    record = _comp(course, 2)["record"]
    tested = _doc.tested_counts(record)
    past = [
        (r, m, c)
        for r, ms in record["changes"].items()
        for m, c in ms.items()
        if not c["significant"] and c["noise_floor"] and abs(c["delta"]) > c["noise_floor"]
    ]
    assert past  # the sample has such changes
    for region, metric, c in past:
        row = re.search(
            rf'data-region="{region}" data-metric="{re.escape(metric)}">(.*?)</tr>', html, re.S
        )
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row.group(1))
        n = tested[c["endpoint"]]
        group = (
            "headline measures of the treated areas"
            if c["endpoint"] == "primary"
            else ("other measures tested")
        )
        assert cells[7:] == ["no", f"beyond one retake; not significant among the {n} {group}"]
    assert tested["secondary"] > 150 and tested["primary"] > 0
    assert (
        f"(the {tested['primary']} headline measures of the treated areas, tested apart from "
        f"the {tested['secondary']} others; a false discovery rate of 5 % in each group)"
    ) in html
