"""The PDF's building blocks (ReportLab): embedded DejaVu fonts, paragraph styles, images and
figures as flowables, and the table style shared by the summary and the appendix."""

from __future__ import annotations

import io
import os
import re

import numpy as np

from . import _doc, _images, _plots

__all__ = [
    "HEATMAP_PX",
    "PHOTO_PX",
    "esc",
    "figure_flowable",
    "labels",
    "photo",
    "register_fonts",
    "renderable",
    "styles",
    "table",
]

PHOTO_PX = 900


HEATMAP_PX = 500


_FONTS = {
    "DejaVuSans": "DejaVuSans.ttf",
    "DejaVuSans-Bold": "DejaVuSans-Bold.ttf",
    "DejaVuSans-Oblique": "DejaVuSans-Oblique.ttf",
    "DejaVuSansMono": "DejaVuSansMono.ttf",
}


#: The PDF standard's Asian fonts for the scripts DejaVu lacks (names, notes and file names in
#: Chinese, Japanese or Korean): named, not embedded (ReportLab ships no glyphs for them), so a
#: viewer with Asian fonts (Acrobat, macOS, Windows) shows them and every viewer copies and
#: searches the text right; a viewer without shows blanks where DejaVu showed empty boxes.
_CJK_FONTS = {"han": "STSong-Light", "kana": "HeiseiKakuGo-W5", "hangul": "HYGothic-Medium"}
#: A run of Chinese, Japanese or Korean characters (ideographs, kana, Hangul, their punctuation
#: and full-width forms).
_CJK_RUN = re.compile(
    "[\u1100-\u11ff\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef]+"
)


def _cjk_font(run: str) -> str:
    """The font of a run of :data:`_CJK_RUN`: Japanese when it holds kana, Korean when it holds
    Hangul, else Chinese."""
    if re.search("[\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f]", run):
        return _CJK_FONTS["kana"]
    if re.search("[\u1100-\u11ff\u3130-\u318f\uac00-\ud7af]", run):
        return _CJK_FONTS["hangul"]
    return _CJK_FONTS["han"]


def register_fonts() -> None:
    import matplotlib
    from reportlab.lib.fonts import addMapping
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfbase.ttfonts import TTFont

    if "DejaVuSans" in pdfmetrics.getRegisteredFontNames():
        return
    folder = os.path.join(matplotlib.get_data_path(), "fonts", "ttf")
    for name, file in _FONTS.items():
        pdfmetrics.registerFont(TTFont(name, os.path.join(folder, file)))
    for name in _CJK_FONTS.values():
        pdfmetrics.registerFont(UnicodeCIDFont(name))
    addMapping("DejaVuSans", 0, 0, "DejaVuSans")
    addMapping("DejaVuSans", 1, 0, "DejaVuSans-Bold")
    addMapping("DejaVuSans", 0, 1, "DejaVuSans-Oblique")
    addMapping("DejaVuSans", 1, 1, "DejaVuSans-Bold")


def styles() -> dict:
    from reportlab.lib.colors import HexColor
    from reportlab.lib.styles import ParagraphStyle

    base = ParagraphStyle(
        "body", fontName="DejaVuSans", bulletFontName="DejaVuSans", fontSize=10, leading=13.5
    )
    return {
        "title": ParagraphStyle(
            "title", base, fontName="DejaVuSans-Bold", fontSize=17, leading=21, spaceAfter=4
        ),
        "meta": ParagraphStyle("meta", base, fontSize=9, leading=12, textColor=HexColor("#4a545e")),
        "h2": ParagraphStyle(
            "h2",
            base,
            fontName="DejaVuSans-Bold",
            fontSize=12.5,
            leading=16,
            spaceBefore=10,
            spaceAfter=4,
        ),
        "h3": ParagraphStyle(
            "h3",
            base,
            fontName="DejaVuSans-Bold",
            fontSize=10.5,
            leading=14,
            spaceBefore=6,
            spaceAfter=2,
        ),
        "body": base,
        "bullet": ParagraphStyle("bullet", base, leftIndent=12, bulletIndent=2, spaceAfter=3),
        "small": ParagraphStyle("small", base, fontSize=8.5, leading=11),
        "small_bullet": ParagraphStyle(
            "small_bullet",
            base,
            fontSize=8.5,
            leading=11,
            leftIndent=12,
            bulletIndent=2,
            spaceAfter=2,
        ),
        "cell": ParagraphStyle("cell", base, fontSize=7.5, leading=9),
        "caption": ParagraphStyle(
            "caption", base, fontSize=8.5, leading=11, alignment=1, textColor=HexColor("#4a545e")
        ),
    }


def _glyph(ch: str, has) -> str:
    """``ch`` as the PDF shows it: as it is when the font has it (``has``) or it is Chinese,
    Japanese or Korean; else an emoji or symbol by its name in brackets (``[slightly smiling
    face]``), a joiner, variation selector or skin-tone modifier dropped, and any other
    character as U+FFFD (the replacement character, "�")."""
    import unicodedata

    if has(ord(ch)) or _CJK_RUN.fullmatch(ch):
        return ch
    category = unicodedata.category(ch)
    if category in ("Mn", "Cf", "Sk"):
        return ""
    if category == "So":
        return f"[{unicodedata.name(ch, 'symbol').lower()}]"
    return "\ufffd"


def renderable(text: str) -> str:
    """``text`` with every character the embedded font (DejaVu Sans) lacks replaced as
    :func:`_glyph` says, so that no character prints as an empty box: the same in the page
    header, the tables and the notes."""
    from reportlab.pdfbase import pdfmetrics

    register_fonts()
    glyphs = pdfmetrics.getFont("DejaVuSans").face.charToGlyph
    if all(ord(ch) in glyphs for ch in text):
        return text
    return "".join(_glyph(ch, glyphs.__contains__) for ch in text)


def esc(text) -> str:
    """``text`` for a reportlab paragraph: XML-escaped, control characters but line breaks and
    tabs shown as escapes (:func:`mesovision.text.printable`), characters the font lacks
    replaced (:func:`renderable`), Chinese, Japanese and Korean in the fonts of
    :data:`_CJK_FONTS`."""
    from xml.sax.saxutils import escape

    from ..text import printable

    text = escape(renderable(printable(text, keep="\n\t")))
    return _CJK_RUN.sub(lambda m: f'<font name="{_cjk_font(m[0])}">{m[0]}</font>', text)


def _image(data: bytes, width: float, height: float | None = None, *, aspect: float | None = None):
    from reportlab.platypus import Image

    if height is None:
        height = width * (aspect or 1.0)
    return Image(io.BytesIO(data), width=width, height=height)


def photo(rgb: np.ndarray, width: float):
    h, w = rgb.shape[:2]
    return _image(_images.encode(rgb, fmt="jpeg"), width, aspect=h / w)


def figure_flowable(fig, width: float, *, dpi: int = 150):
    w_in, h_in = fig.get_size_inches()
    return _image(_plots.png_bytes(fig, dpi=dpi), width, aspect=h_in / w_in)


def labels() -> dict[str, str]:
    return {m: s.get("display") or m for m, s in _doc.metric_specs().items()}


def table(data, widths, *, header_rows: int = 1, bold_rows=(), split_in_row: bool = False):
    """A table in the report's style, its header rows repeated on every page; with
    ``split_in_row`` a row taller than the page (a long note) is split across pages."""
    from reportlab.lib.colors import HexColor
    from reportlab.platypus import Table, TableStyle

    t = Table(data, colWidths=widths, repeatRows=header_rows, splitInRow=int(split_in_row))
    style = [
        ("FONT", (0, 0), (-1, -1), "DejaVuSans", 7.5),
        ("FONT", (0, 0), (-1, header_rows - 1), "DejaVuSans-Bold", 7.5),
        ("BACKGROUND", (0, 0), (-1, header_rows - 1), HexColor("#eef1f4")),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, HexColor("#cfd6dc")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
    ]
    style += [("FONT", (0, r), (-1, r), "DejaVuSans-Bold", 7.5) for r in bold_rows]
    t.setStyle(TableStyle(style))
    return t
