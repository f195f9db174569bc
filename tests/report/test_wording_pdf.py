"""The PDF's appendix with what clinics write in notes: a long consultation note splits across
pages (it used to stop ``report --full`` with a LayoutError), and a character the embedded font
lacks (an emoji) is never drawn as an empty box, the same in the header and in the notes."""

from __future__ import annotations

import io
import random

import pytest

pytest.importorskip("reportlab")
pypdf = pytest.importorskip("pypdf")

from mesovision.report._pdfkit import esc, renderable  # noqa: E402
from mesovision.report.pdf import render_pdf  # noqa: E402

WORDS = (
    "patient tolerated the injections well slight erythema at the injection points advised to "
    "avoid sun and make-up for 24 hours follow up in four weeks"
).split()


def _note(n_chars: int) -> str:
    rng = random.Random(1)
    words = []
    while sum(len(w) + 1 for w in words) < n_chars:
        words.append(rng.choice(WORDS))
    return " ".join(words)


def _doc(note: str, name: str = "Jane") -> dict:
    sessions = [
        {
            "id": k,
            "date": d,
            "treated": ["left_cheek", "chin"],
            "notes": note if k == 1 else "",
            "product": "HA",
            "photo": {"file_name": f"p{k}.jpg", "checks": []},
        }
        for k, d in ((1, "2026-01-05"), (2, "2026-02-05"))
    ]
    return {
        "schema_version": "1.1",
        "patient": {"id": "P002", "name": name},
        "view": "front",
        "sessions": sessions,
        "comparisons": [],
        "notes": [],
        "refusals": [],
    }


def _words(pdf: bytes) -> list[str]:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return " ".join(p.extract_text() for p in reader.pages).split()


@pytest.mark.parametrize("n_chars", [2400, 10_000])
def test_a_long_note_splits_across_pages(n_chars):
    note = _note(n_chars)
    pdf = render_pdf(_doc(note), full=True)
    words = _words(pdf)
    # every word of the note is printed, in order (the table's header repeats between pages)
    text = " ".join(w for w in words if w in WORDS)
    assert " ".join(note.split()) in text
    assert len(pypdf.PdfReader(io.BytesIO(pdf)).pages) >= 2 + n_chars // 4000


def test_characters_the_font_lacks_are_named_or_replaced_never_boxes():
    assert renderable("ok 😀") == "ok 😀"  # DejaVu Sans has it: kept, as in the page header
    assert renderable("thanks 🙂👍🏽") == "thanks [slightly smiling face][thumbs up sign]"
    assert renderable("नमस्ते") == "\ufffd" * 4  # a script the font lacks: U+FFFD, marks dropped
    assert esc("王小明 🙂") == '<font name="STSong-Light">王小明</font> [slightly smiling face]'
    pdf = render_pdf(_doc("Patient Jane Doe فيتامين 🙂", name="Zoë 🙂"), full=True, show_name=True)
    text = " ".join(_words(pdf))
    assert "\x00" not in text and "🙂" not in text
    assert text.count("[slightly smiling face]") == 2  # the header and the note alike
