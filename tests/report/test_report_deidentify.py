"""The shared version of the report (``deidentify``, the app's "PDF to share"): what a clinician
typed (notes, product), the patient's id, name and birth year, the photos' file names and the
calendar dates reach neither the HTML nor the PDF (two pages, and with the appendix), its text
and its metadata; the sessions are dated by the days since the first one, in the tables, the
sentences, the photo labels and the figures' axes.

Three sessions of the astronaut samples, 28 days apart, filed under names that carry the
patient's name, with a name and a phone number typed in the notes and the product.
"""

from __future__ import annotations

import re
import shutil

import pytest
from conftest import SAMPLES
from report_course import course_from_pairs

from mesovision.report import _doc, _plots, render_html, write_report
from mesovision.report._deid import deidentified
from mesovision.report._side_effects import side_effects

pytestmark = pytest.mark.slow

PID = "SECRETP42"
DATES = ("2026-01-05", "2026-02-02", "2026-03-02")
DAYS = ("day 0", "day 28", "day 56")
NOTES = (
    "Mme Jane Dupont, born 1970, tel 0612345678; photo Dupont_Jane_visit1.jpg",
    "Dupont ok",
    None,
)
PRODUCT = "Dupont cocktail"
#: What must not reach a shared report: name, birth year, phone, id, file and folder names,
#: the product, and any calendar date.
SECRETS = ("Dupont", "Jane", "1970", "0612345678", PID, "visit", PRODUCT, *DATES)
ISO_DATE = re.compile(r"\b20\d\d-\d\d-\d\d\b")
TITLE = "Treatment course report"


@pytest.fixture(scope="module")
def doc(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("photos") / "Dupont Jane 1970"
    folder.mkdir()
    photos = []
    for k, name in enumerate(("before", "after_treated", "after_no_change"), start=1):
        photos.append(folder / f"Dupont_Jane_visit{k}.jpg")
        shutil.copy(SAMPLES / "astronaut" / f"{name}.jpg", photos[-1])
    doc = course_from_pairs(
        photos,
        tmp_path_factory.mktemp("course"),
        patient_id=PID,
        name="Jane Dupont",
        birth_year=1970,
        dates=DATES,
        treated=[["left_cheek"]] * 3,
        products=[None, PRODUCT, PRODUCT],
        notes=NOTES,
    )
    # a session skipped for want of a front photo, as course_document notes it
    return {**doc, "notes": ["session 9 (2026-02-16) has no front photo: skipped"]}


def _text(html: str) -> str:
    html = re.sub(r"data:[a-z/+]+;base64,[A-Za-z0-9+/=]+", "data:", html)
    return re.sub(r"<script.*?</script>", "", html, flags=re.S)


def _pdf(path):
    from pypdf import PdfReader

    reader = PdfReader(str(path))
    pages = [p.extract_text() for p in reader.pages]
    return reader, pages, " ".join(" ".join(pages).split())


def test_the_plain_report_carries_what_the_shared_one_leaves_out(doc):
    """The control: without ``deidentify`` the notes, product, id and dates are there."""
    html = _text(render_html(doc, show_name=True))
    for word in ("Mme Jane Dupont, born 1970, tel 0612345678", PRODUCT, "Dupont ok", PID):
        assert word in html
    assert all(d in html for d in DATES) and f"<title>mesovision report {PID}" in html


def test_shared_html_leaves_out_free_text_id_and_dates(doc):
    html = _text(render_html(doc, show_name=True, deidentify=True))
    assert [s for s in SECRETS if s in html] == []
    assert ISO_DATE.findall(html) == []
    assert re.findall(r"<title>(.*?)</title>", html) == [TITLE]
    assert re.findall(r"<h1>(.*?)</h1>", html) == [TITLE]
    assert "left out (days since the first session instead)" in html
    assert "still personal health data" in html
    # the sessions by day, without the notes and product columns
    table = re.search(r'<table id="session-table">.*?</table>', html, re.S).group()
    assert re.findall(r'<th scope="col">(.*?)</th>', table) == [
        "#",
        "date",
        "treated areas",
        "capture checks",
    ]
    rows = re.findall(r'<tr class="session-row".*?</tr>', table, re.S)
    assert [re.findall(r"<td>(.*?)</td>", r)[1] for r in rows] == list(DAYS)
    assert "3 sessions, day 0 to day 56 · this report: the session of day 56" in html
    assert "<figcaption>first session, day 0</figcaption>" in html
    assert "session 9 (day 42) has no front photo: skipped" in html


def test_shared_pdf_short_and_full_leave_out_free_text_id_and_dates(doc, tmp_path):
    out = tmp_path / "shared.html"
    write_report(doc, out, pdf=True, show_name=True, deidentify=True)
    write_report(doc, tmp_path / "full.pdf", full=True, show_name=True, deidentify=True)
    for path in (out.with_suffix(".pdf"), tmp_path / "full.pdf"):
        reader, pages, text = _pdf(path)
        assert [s for s in SECRETS if s in text] == []
        assert ISO_DATE.findall(text) == []
        meta = {k: str(v) for k, v in (reader.metadata or {}).items()}
        assert meta["/Title"] == TITLE
        assert [s for s in SECRETS if any(s in v for v in meta.values())] == []
        for n, page in enumerate(pages, start=1):
            assert f"{TITLE} – page {n} of {len(pages)}" in " ".join(page.split())
        assert "view: front · 3 sessions, day 0 to day 56" in text
        assert "still personal health data" in text
    text = _pdf(tmp_path / "full.pdf")[2]
    assert "# date treated areas checks" in text  # no product or notes column
    assert "session 9 (day 42) has no front photo: skipped" in text


def test_figures_and_side_effects_count_days_since_the_first_session(doc):
    shared = deidentified(doc)
    assert [s["date"] for s in shared["sessions"]] == list(DAYS)
    series = _doc.course_series(shared)
    assert series and all(s.dates == list(DAYS) for s in series)
    fig = _plots.course_figure(series, {})
    fig.draw_without_rendering()
    ticks = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert ticks == ["day 0", "", "day 56"]
    plain = _plots.course_figure(_doc.course_series(doc), {})
    plain.draw_without_rendering()
    assert [t.get_text() for t in plain.axes[0].get_xticklabels()] == ["5 Jan", "", "2 Mar"]
    # the days after each session are the same whether counted from dates or from day numbers
    days = [[p.days for p in e.points] for e in side_effects(doc).episodes]
    assert days == [[p.days for p in e.points] for e in side_effects(shared).episodes]
    assert days[0] == [0, 28]
    caption = [t.get_text() for t in _plots.side_effect_figure(side_effects(shared)).texts]
    assert any("circles day 0, squares day 28" in t for t in caption)
