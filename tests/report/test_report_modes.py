"""Body and scalp course reports in their own words (:mod:`mesovision.report._modes`).

Two courses built from the shipped samples with :func:`report_course.course_from_pairs`, each
compared in its view's capture mode as a stored course is:

* ``body:thigh``: the rendered thigh (``sample_images/thigh``: before, after_treated with 43 ->
  28 dimples, after_no_change); its report names the thigh, not the face or "the area", says
  how body photos are aligned and tested, draws the cellulite and stretch-mark panels, and says
  the measures were validated only on rendered skin;
* ``scalp:front``: Grace Hopper's sample photo, then the same photo with the hairline moved up
  by 8 % of the interocular distance (:func:`mesovision.testing.hairline.move_hairline`) and
  taken again; its summary speaks of the hairline's sites (all five measured on it), not of the
  whole photo's scalp share or part width, and a course figure shows the five sites.
"""

from __future__ import annotations

import io
import re
from html import unescape

import numpy as np
import pytest
from conftest import REPO
from report_course import course_from_pairs

from mesovision.report import _doc, _modes, render_html, render_pdf

THIGH = REPO / "sample_images" / "thigh"
FACE = REPO / "sample_images" / "grace_hopper"
#: Face wording that says nothing true of a thigh.
FACE_WORDS = ("interocular", "facial", "of the face", "over the face", "face scale", "IOD")


@pytest.fixture(scope="module")
def body_course(tmp_path_factory) -> dict:
    photos = [THIGH / "before.jpg", THIGH / "after_treated.jpg", THIGH / "after_no_change.jpg"]
    out = tmp_path_factory.mktemp("thigh")
    return course_from_pairs(photos, out, patient_id="B1", view="body:thigh")


@pytest.fixture(scope="module")
def hairline_course(tmp_path_factory) -> dict:
    from PIL import Image

    from mesovision.io import load_photo
    from mesovision.landmarks import detect_landmarks
    from mesovision.testing.hairline import move_hairline, recapture

    out = tmp_path_factory.mktemp("hairline")
    rgb = load_photo(FACE / "before.jpg", max_side=1024).rgb
    moved = recapture(move_hairline(rgb, detect_landmarks(rgb), 8.0), seed=11)
    paths = []
    for name, img in (("before.png", rgb), ("receded.png", moved)):
        Image.fromarray((np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)).save(out / name)
        paths.append(out / name)
    return course_from_pairs(paths, out / "course", patient_id="H1", view="scalp:front")


def _text(html: str) -> str:
    """The page's visible text: no images, scripts or tags."""
    html = re.sub(r"<script.*?</script>", " ", html, flags=re.S)
    html = re.sub(r"<img[^>]*>", " ", html)
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def _section(html: str, ident: str) -> str:
    m = re.search(rf'<section id="{ident}">(.*?)</section>', html, re.S)
    assert m, ident
    return _text(m.group(1))


def _own_words(html: str) -> str:
    """The report's own text: the page without the metric registry's formulas and references
    (the methods table, written once for all modes) and the software's versions."""
    html = re.sub(r'<table id="methods-table">.*?</table>', " ", html, flags=re.S)
    return _text(re.sub(r"<p class=\"muted\">Software:.*?</p>", " ", html, flags=re.S))


def _pdf_text(doc: dict, **kw) -> str:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(render_pdf(doc, **kw)))
    return " ".join(" ".join(p.extract_text().split()) for p in reader.pages)


def test_a_body_course_report_names_the_thigh_and_its_own_measures(body_course):
    html = render_html(body_course, session=2)  # the treated thigh against the first session
    summary = _section(html, "summary")
    assert "Cellulite dimples of the thigh went down" in summary
    assert "This is an improvement." in summary
    assert "of the area" not in summary and "?" not in summary
    assert "validated only on rendered skin" in summary and "not yet on real body photos" in summary
    own = _own_words(html)
    for words in FACE_WORDS:
        assert words not in own, words
    quality = _section(html, "quality")
    assert "?" not in quality
    assert re.search(r"Residual\s*[0-9.]+ px \(root mean square distance of the matched", quality)
    assert re.search(r"Coverage\s*[0-9.]+ % of the measured area \(minimum 90 %\)", quality)
    images = _section(html, "images")
    assert "over the thigh" in images and "treated areas are outlined" not in images
    assert "area (% of the measured area)" in _section(html, "bruises")


def test_a_body_course_report_says_how_body_photos_are_compared(body_course):
    methods = _section(render_html(body_course, session=2), "methods")
    assert "image features (SIFT" in methods and "at least 12 matches" in methods
    assert "square tiles of 0.125 x the before photo's shorter side" in methods
    assert "6 unchanged pairs of rendered skin" in methods
    assert "assumed 4 px per mm" in methods
    assert "common face scale" not in methods and "0.25 x the interocular" not in methods
    assert "body: cellulite dimples (1: inside one)" in methods  # the heatmap's own legend


def test_a_body_course_figure_shows_dimples_irregularity_and_stretch_marks(body_course):
    series = _modes.course_series(body_course)
    assert [s.metric for s in series] == [
        "body.dimple_count",
        "body.irregularity_l",
        "body.streak_count",
    ]
    assert {s.region for s in series} == {"thigh"}
    dimples = series[0]
    assert dimples.delta[0] == 0.0 and dimples.delta[1] < -8  # 43 -> 28 dimples rendered
    assert dimples.significant[1] and not dimples.significant[2]
    html = render_html(body_course, session=2)
    assert "Change since the first session for the thigh" in _section(html, "trends")
    alt = "Course of the headline measures for thigh; their values are in the table below"
    assert f'alt="{alt}"' in html


def test_a_body_course_pdf_defines_the_measures_it_draws(body_course):
    text = _pdf_text(body_course, session=2)
    summary = text.split("Before and after")[0].split("The course")[0]
    assert "Cellulite dimples of the thigh went down" in text
    glossary = text.split("What the measures mean", 1)[1]
    for name in ("Cellulite dimples:", "Skin surface irregularity:", "Stretch marks:"):
        assert name in glossary
    for name in ("Brown spots:", "Redness:", "Roughness:"):
        assert name not in glossary
    assert "validated only on rendered skin" in text and "of the area" not in summary


def test_a_frontal_hairline_report_speaks_of_the_hairline(hairline_course):
    html = render_html(hairline_course)
    summary = _section(html, "summary")
    m = re.search(
        r"The hairline receded since the first session by about ([0-9.]+) % of the distance "
        r"between the pupils at the midline, and by ([0-9.]+) to ([0-9.]+) % left of the "
        r"midline, right of the midline, at the left temple and at the right temple; that is "
        r"more than a retake of the photo would change\. This is a worsening\.",
        summary,
    )
    assert m, summary
    assert [float(x) == pytest.approx(8.0, abs=2.0) for x in m.groups()] == [True] * 3
    # the whole photo's scalp share and part width (face and background) are not headlined
    assert "part width" not in summary and "visible scalp" not in summary
    assert "validated on real frontal photos" in summary
    trends = _section(html, "trends")
    assert "at each site of the hairline" in trends
    assert 'id="course-plot"' in html
    assert 'id="bruises"' not in html and 'id="side-effects"' not in html  # not on a scalp


def test_a_frontal_hairline_course_figure_has_one_panel_per_site(hairline_course):
    from mesovision.hairline import SITES

    series = _modes.course_series(hairline_course)
    assert [s.family for s in series] == list(SITES)
    assert {s.region for s in series} == {"hairline"}
    assert [s.title for s in series][:3] == ["midline", "left of midline", "right of midline"]
    for s in series:
        assert s.metric == "hair.hairline_iod_pct" and s.unit == "% IOD"
        assert s.delta[1] == pytest.approx(8.0, abs=2.0) and s.significant[1]
    # the registered headline measures give no series for a scalp: the face's course has none
    assert _doc.course_series(hairline_course) == []
    text = _pdf_text(hairline_course)
    assert "The hairline receded since the first session" in text
    assert "Hairline height:" in text.split("What the measures mean", 1)[1]


def test_a_body_courses_side_effects_speak_of_bruising_only(tmp_path):
    """A thigh treated at its first session: the side effects say nothing of swelling (not
    measured on body photos) but that it is not measured, the figure has the bruising panel
    only, its alt text names the thigh, and the methods name the treated area in words."""
    photos = [THIGH / "before.jpg", THIGH / "after_no_change.jpg"]
    doc = course_from_pairs(
        photos, tmp_path, patient_id="B2", view="body:thigh", treated=[["area"], []]
    )
    html = render_html(doc, session=2)
    text = _section(html, "side-effects")
    assert "No swelling" not in text and "face outline" not in text
    assert "Swelling is measured on face photos only." in text
    alt = re.search(r'id="side-effect-plot" alt="([^"]*)"', html).group(1)
    assert alt.startswith("Bruising (change of the bruised area, % of the region) over the days")
    assert "thigh: bruising" in alt and "swelling" not in alt
    assert "treated regions: the measured area;" in _text(html)
