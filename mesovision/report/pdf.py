"""The course report as a PDF: a patient summary of at most two pages, and an optional appendix.

Laid out with ReportLab's Platypus, a page-layout engine: paragraphs, tables and figures are
flowed into frames, tables split across pages with their header repeated, and a figure that
does not fit moves to the next page — nothing is placed by hand, so nothing overlaps or runs off
the page. ReportLab is a pure-Python wheel with no system library (WeasyPrint would need Pango
and friends on every clinic's machine), and with ``invariant`` it writes the same bytes for the
same document. Fonts are the DejaVu TrueType files matplotlib ships, embedded as subsets.

The summary (always): who and when, the plain-language sentences of
:mod:`mesovision.report.summary` against the first and the previous session, the two photos side
by side, one course figure (small multiples of the treated regions' headline metrics with the
retake band), a short glossary and any comparability warning, and the sessions not compared
with the first one (why, and what to do). The appendix (``full=True``): the sessions and every
comparison the photos refused, heatmaps, the region table, the course figure of every treated
region, the bruise timeline, quality and capture checks, the metrics' formulas and references,
and the noise model.

The footer (document label, page n of N) sits in the bottom margin, outside the text frame.
The PDF metadata carry the pseudonymous id (none with ``deidentify``: the title is then the
report's, as in the footer), never the name, and a fixed creation date (ReportLab's invariant
mode: the same document gives the same bytes).
"""

from __future__ import annotations

import io

import numpy as np

from . import _doc, _images, _modes, _plots, _sessions
from ._deid import LEFT_OUT, deidentified
from ._pdf_appendix import appendix_story
from ._pdfkit import (
    PHOTO_PX,
    esc,
    figure_flowable,
    labels,
    photo,
    register_fonts,
    styles,
)
from .summary import summarize

__all__ = ["SUMMARY_MAX_PAGES", "SUMMARY_REGIONS", "render_pdf"]

#: The patient summary's page budget (tested).
SUMMARY_MAX_PAGES = 2
#: Treated regions drawn in the summary's course figure (all of them in the appendix).
SUMMARY_REGIONS = 4
#: Long side (px) of the embedded photos and heatmaps.

_MARGIN_CM = 1.8
_FOOTER_CM = 1.0


# ----------------------------------------------------------------------------------------------
# The patient summary
# ----------------------------------------------------------------------------------------------


def _header(doc, comp, st, *, show_name: bool, deidentify: bool) -> list:
    from reportlab.platypus import Paragraph

    sessions = doc["sessions"]
    who = _doc.patient_label(doc, show_name=show_name, deidentify=deidentify)
    first = f"Patient {who}" if doc["patient"].get("id") is not None else "Two photos"
    parts = [] if deidentify else [first]
    parts.append(f"view: {doc.get('view', 'front')}")
    parts.append(
        f"{len(sessions)} session{'s' if len(sessions) != 1 else ''}, "
        f"{sessions[0]['date']} to {sessions[-1]['date']}"
    )
    if comp is not None:
        s = _doc.session_by_id(doc)[comp["session_id"]]
        ref = _sessions.against_words(doc, comp)
        parts.append(f"this report: session of {s['date']} against {ref}")
    out = [
        Paragraph(_doc.wording(doc)["title"], st["title"]),
        Paragraph(esc(" · ".join(parts)), st["meta"]),
    ]
    return out + [Paragraph(esc(LEFT_OUT), st["meta"])] * deidentify


def _sentences(record: dict, since: str, st, *, area: str, only_changes: bool = False) -> list:
    from reportlab.platypus import Paragraph

    specs = _doc.metric_specs()
    out = []
    for s in summarize(record, specs, since=since, area=area):
        if only_changes and s.kind == "no_change":
            continue
        out.append(Paragraph(esc(s.text), st["bullet"], bulletText="•"))
    return out


def _photos(doc, comp, arrays, width, st) -> list:
    from reportlab.platypus import Paragraph, Table, TableStyle

    sessions = _doc.session_by_id(doc)
    after = arrays.get("normalized_after", arrays.get("aligned_after"))
    if "before" not in arrays or after is None:
        return []
    col = (width - 8) / 2
    note = " (light evened out)" if "normalized_after" in arrays else ""
    t = Table(
        [
            [photo(arrays["before"], col), photo(after, col)],
            [
                Paragraph(esc(_sessions.reference_caption(doc, comp)), st["caption"]),
                Paragraph(f"{sessions[comp['session_id']]['date']}{note}", st["caption"]),
            ],
        ],
        colWidths=[col + 4, col + 4],
    )
    t.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("FONT", (0, 0), (-1, -1), "DejaVuSans"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
            ]
        )
    )
    return [t]


def _glossary(series, st) -> list:
    from reportlab.platypus import Paragraph

    specs = _doc.metric_specs()
    out = [Paragraph("What the measures mean", st["h3"])]
    for metric in dict.fromkeys(s.metric for s in series):
        spec = specs.get(metric, {})
        name = spec.get("display") or metric
        plain = spec.get("plain") or spec.get("summary", "")
        out.append(
            Paragraph(f"<b>{esc(name[:1].upper() + name[1:])}</b>: {esc(plain)}", st["small"])
        )
    out.append(Paragraph(esc(_plots.COURSE_LEGEND), st["small"]))
    return out


def _not_compared(doc, names, st) -> list:
    """The sessions not compared with the first one, each with why and what to do."""
    from reportlab.platypus import Paragraph

    lines = _sessions.not_compared_lines(doc, names, previous=False)
    other = _sessions.other_notes(doc, names)
    if not lines and not other:
        return []
    out = [Paragraph(f"Not compared with {esc(_doc.wording(doc)['first'])}", st["h3"])]
    return out + [Paragraph(esc(n), st["small_bullet"], bulletText="•") for n in lines + other]


def _since(doc, comp, st) -> list:
    """The summary's sentences: since the reference of the comparison shown, then (against the
    first session) since the previous session."""
    from reportlab.platypus import Paragraph

    area = _modes.area_words(doc, comp).area
    validated = _modes.validation_note(doc, comp)
    note = [Paragraph(esc(validated), st["small"])] if validated else []
    if comp.get("against") == "previous":
        ref = _doc.session_by_id(doc)[comp["against_session_id"]]["date"]
        story = [Paragraph(f"Since the previous session ({esc(ref)})", st["h3"])]
        return (
            story + _sentences(comp["record"], "since the previous session", st, area=area) + note
        )
    story = _sentences(comp["record"], f"since {_doc.wording(doc)['first']}", st, area=area)
    prev = _doc.previous_comparison(doc, comp["session_id"])
    if prev is not None:
        story.append(Paragraph("Since the previous session", st["h3"]))
        since = "since the previous session"
        lines = _sentences(prev["record"], since, st, area=area, only_changes=True)
        story += lines or [
            Paragraph("Nothing changed beyond what retaking the photo changes.", st["body"])
        ]
    names = _sessions.photo_names(doc, show_name=False, deidentify=True)
    refused = _sessions.previous_refused(doc, comp, names)
    if refused:
        story.append(Paragraph(esc(refused), st["body"]))
    return story + note


def _summary_story(doc, comp, arrays, width, st, *, show_name, deidentify) -> list:
    from reportlab.platypus import KeepTogether, Paragraph

    names = _sessions.photo_names(doc, show_name=show_name, deidentify=deidentify)
    story = _header(doc, comp, st, show_name=show_name, deidentify=deidentify)
    story.append(Paragraph("Summary", st["h2"]))
    intro = _sessions.intro_text(doc, comp, names)
    if intro:
        story.append(Paragraph(esc(intro), st["body"]))
    if comp is None:
        return story + _not_compared(doc, names, st)
    story += _since(doc, comp, st)
    story += _photos(doc, comp, arrays, width, st)
    series = _modes.course_series(doc)
    shown = [
        s
        for s in series
        if s.region in list(dict.fromkeys(x.region for x in series))[:SUMMARY_REGIONS]
    ]
    if shown:
        fig = _plots.course_figure(shown, labels(), width_in=7.2)
        story.append(KeepTogether([Paragraph("The course", st["h2"]), figure_flowable(fig, width)]))
        story += _glossary(shown, st)
    return story + _not_compared(doc, names, st)


# ----------------------------------------------------------------------------------------------
# The appendix
# ----------------------------------------------------------------------------------------------


# ----------------------------------------------------------------------------------------------


def _canvas_maker(label: str):
    """A canvas that writes "page n of N" in the bottom margin once N is known."""
    from reportlab.pdfgen.canvas import Canvas

    class NumberedCanvas(Canvas):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._saved = []

        def showPage(self):  # noqa: N802 (ReportLab's name)
            self._saved.append(dict(self.__dict__))
            self._startPage()

        def save(self):
            from reportlab.lib.units import cm

            total = len(self._saved)
            for state in self._saved:
                self.__dict__.update(state)
                self.setFont("DejaVuSans", 8)
                self.setFillGray(0.35)
                self.drawCentredString(
                    self._pagesize[0] / 2,
                    _FOOTER_CM * cm,
                    f"{label} – page {self._pageNumber} of {total}",
                )
                super().showPage()
            super().save()

    return NumberedCanvas


def render_pdf(
    doc: dict,
    *,
    session: int | None = None,
    show_name: bool = False,
    deidentify: bool = False,
    full: bool = False,
) -> bytes:
    """The course report as PDF bytes: the patient summary (at most
    :data:`SUMMARY_MAX_PAGES` pages), and with ``full`` the technical appendix. Other options
    as :func:`mesovision.report.render_html`."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import cm
    from reportlab.platypus import SimpleDocTemplate

    from ..metrics.heatmaps import FAMILIES
    from .html import PHOTO_NAMES

    _doc.check_document(doc)
    register_fonts()
    comp = _sessions.choose_comparison(doc, session)
    if deidentify:
        doc = deidentified(doc)
    label = _doc.report_title(doc, show_name=False, deidentify=deidentify)
    arrays: dict[str, np.ndarray] = {}
    if comp is not None:
        names = list(PHOTO_NAMES)
        if full:
            names += [f"heatmap_{f}_{w}" for f in FAMILIES for w in ("before", "after")]
        treated = list((comp["record"].get("settings") or {}).get("treated") or [])
        arrays = _images.comparison_images(
            comp["images"], deidentify=deidentify, names=names, max_side=PHOTO_PX, treated=treated
        )
    buf = io.BytesIO()
    m = _MARGIN_CM * cm
    pdf = SimpleDocTemplate(
        buf,
        pagesize=A4,
        leftMargin=m,
        rightMargin=m,
        topMargin=m,
        bottomMargin=m,
        title=label,
        author="",
        subject="treatment course report",
        creator=str(doc.get("generated_by", "mesovision")),
        initialFontName="DejaVuSans",  # else an unembedded Helvetica on every page
        invariant=1,
    )
    st = styles()
    story = _summary_story(
        doc, comp, arrays, pdf.width, st, show_name=show_name, deidentify=deidentify
    )
    if full:
        who = {"show_name": show_name, "deidentify": deidentify}
        story += appendix_story(doc, comp, arrays, pdf.width, st, **who)
    pdf.build(story, canvasmaker=_canvas_maker(label))
    return buf.getvalue()
