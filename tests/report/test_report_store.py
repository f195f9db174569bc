"""The report of a course filed in a store, whose photos sit in a folder named after the patient
(as clinics often name them): without ``show_name`` no file name or folder reaches the HTML or
the PDF; the comparisons the photos refused are explained in the clinic's words in the HTML, the
2-page PDF and the full PDF; the side effects are not claimed for sessions never compared.

Four sessions of grace_hopper's samples: the first photo; the same face reduced to 28 px between
the eyes (too small: refused); a photo of unchanged skin (compared with the first; refused
against the small one); a photo without a face (refused).
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from conftest import SAMPLES

from mesovision.course import course_document
from mesovision.errors import UsageError
from mesovision.report import render_html, write_report

pytestmark = pytest.mark.slow

FACE = SAMPLES / "grace_hopper"
FOLDER = "Jane_Doe_1971-03-14"
DATES = ("2026-01-05", "2026-01-19", "2026-02-02", "2026-03-02")


@pytest.fixture(scope="module")
def doc(tmp_path_factory) -> dict:
    from PIL import Image

    from mesovision.io import write_png
    from mesovision.store import PhotoImport, Store

    root = tmp_path_factory.mktemp("clinic")
    folder = root / "photos" / FOLDER
    folder.mkdir(parents=True)
    files = [folder / f"Jane_Doe_visit{k}.png" for k in range(1, 5)]
    with Image.open(FACE / "before.jpg") as im:
        im.save(files[0])
        im.resize((im.width // 6, im.height // 6)).save(files[1])
    with Image.open(FACE / "after_no_change.jpg") as im:
        im.save(files[2])
    write_png(files[3], np.full((300, 300, 3), 0.6, np.float32))
    with Store(root / "store") as st:
        st.add_patient("P900", name="Jane Doe", birth_year=1971)
        for date, f in zip(DATES, files, strict=True):
            st.import_session("P900", date=date, photos=[PhotoImport(str(f))], treated=["chin"])
        return course_document(st, "P900", warn=False)


def _text(html: str) -> str:
    html = re.sub(r"data:[a-z/+]+;base64,[A-Za-z0-9+/=]+", "data:", html)
    return re.sub(r"<script.*?</script>", "", html, flags=re.S)


def _pdf(path) -> str:
    from pypdf import PdfReader

    return " ".join(" ".join(p.extract_text() for p in PdfReader(str(path)).pages).split())


#: The reasons, in the clinic's words, of the three refused comparisons with the first session
#: and of the one against the previous session.
REASONS = (
    "Session {s2} (2026-01-19), not compared with the first session: the face in the front "
    "photo of 2026-01-19 is too small to measure (28 px between the eyes, at least 30); retake "
    "closer, or use the camera's full-resolution file.",
    "Session {s3} (2026-02-02), not compared with the previous session: the face in the front "
    "photo of 2026-01-19 is too small to measure (28 px between the eyes, at least 30); retake "
    "closer, or use the camera's full-resolution file.",
    "Session {s4} (2026-03-02), not compared with the first session: no face was found in the "
    "front photo of 2026-03-02; crop the photo around the face, or retake it closer.",
)


def test_the_report_names_photos_by_session_and_says_why_not_compared(doc, tmp_path):
    ids = {f"s{k}": s["id"] for k, s in enumerate(doc["sessions"], start=1)}
    assert [c["session_id"] for c in doc["comparisons"]] == [ids["s3"]]  # against the first
    reasons = [r.format(**ids) for r in REASONS]
    html = _text(render_html(doc))
    for r in reasons:
        assert r.replace("'", "&#x27;") in html
    latest = (
        "The latest session (2026-03-02) could not be compared with the first session: no face "
        "was found in the front photo of 2026-03-02; crop the photo around the face, or retake it "
        "closer. This summary is of the session of 2026-02-02."
    )
    assert latest.replace("'", "&#x27;") in html
    out = tmp_path / "r.html"
    write_report(doc, out, pdf=True)
    write_report(doc, tmp_path / "full.pdf", full=True)
    short, full = _pdf(out.with_suffix(".pdf")), _pdf(tmp_path / "full.pdf")
    assert latest in short and latest in full
    assert reasons[0] in short and reasons[2] in short  # those with the first session
    assert all(r in full for r in reasons)
    for text in (html, short, full):
        assert "Jane" not in text and "1971" not in text and "visit" not in text
        assert "--force" not in text and "mesovision compare" not in text
        assert "notes on the sessions" not in text and "/" + FOLDER not in text
    # side effects: one of the three later sessions compared
    assert (
        "No bruising in the treated regions in the photo of the 1 of 3 later sessions that could "
        "be compared (2026-02-02).</li><li>Bruising was not assessed on day 14 after the session "
        "of 2026-01-05: the photo of 2026-01-19 could not be compared with the first session for "
        "it.</li><li>Bruising was not assessed on day 28 after the session of 2026-02-02: the "
        "photo of 2026-03-02 could not be compared with the first session for it."
    ) in html


def test_show_name_shows_file_names_but_no_folder_and_deidentify_neither(doc):
    named = _text(render_html(doc, show_name=True))
    assert "Jane Doe" in named and "Jane_Doe_visit2.png" in named
    assert "the face in Jane_Doe_visit2.png is too small to measure" in named
    assert FOLDER not in named
    deid = _text(render_html(doc, show_name=True, deidentify=True))
    assert "Jane" not in deid and "visit" not in deid
    # dated by the days since the first session, in the refusals too
    assert not any(d in deid for d in DATES) and "P900" not in deid
    s2, s4 = doc["sessions"][1]["id"], doc["sessions"][3]["id"]
    assert (
        f"Session {s2} (day 14), not compared with the first session: the face in the front "
        "photo of day 14 is too small to measure"
    ) in deid
    assert (
        "The latest session (day 56) could not be compared with the first session: no face "
        "was found in the front photo of day 56"
    ) in deid
    assert f"Session {s4} (day 56), not compared with the first session" in deid


def test_a_session_that_could_not_be_compared_is_refused_with_its_reasons(doc):
    s2, s4 = doc["sessions"][1]["id"], doc["sessions"][3]["id"]
    with pytest.raises(UsageError) as err:
        render_html(doc, session=s4)
    assert str(err.value) == (
        f"session {s4} (2026-03-02) could not be compared: with the first session: no face was "
        "found in the front photo of 2026-03-02; with the previous session: no face was found "
        f"in the front photo of 2026-03-02 (sessions compared: {doc['sessions'][2]['id']})"
    )
    with pytest.raises(UsageError, match=f"session {s2} .*too small to measure"):
        render_html(doc, session=s2)
