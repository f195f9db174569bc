"""The course report as a PDF for the patient record, made with matplotlib's ``PdfPages`` (no
browser needed).

Pages, in order (A4 portrait): the summary (patient, course, significant changes, quality box
with the capture checks; continued on further pages when long), before / after, heatmaps, the
region table (:data:`TABLE_ROWS_PER_PAGE` rows a page), one trend page per metric family, the
bruise timeline, the methods appendix (:data:`METRICS_PER_PAGE` metrics a page) and the
noise-floor method. The page count depends on the document only (:func:`page_plan`). Text is
embedded as TrueType (extractable); the PDF metadata carry the pseudonymous id, never the name;
no creation date, so the same document gives the same bytes.
"""

from __future__ import annotations

import io
import math
import textwrap

import numpy as np

from . import _doc, _images, _plots

A4_IN = (8.27, 11.69)
TABLE_ROWS_PER_PAGE = 48
METRICS_PER_PAGE = 5
#: Lines of text on a summary page (font size 8).
SUMMARY_LINES_PER_PAGE = 66
#: Long side (px) of the photos on the images page and of each heatmap.
PDF_PHOTO_PX = 700
PDF_HEATMAP_PX = 420

_TOP = 0.95
_LEFT = 0.06
_RC = {"pdf.fonttype": 42, "font.family": "DejaVu Sans"}


def _page(title: str | None = None):
    from matplotlib.figure import Figure

    fig = Figure(figsize=A4_IN, dpi=100)
    if title:
        fig.text(_LEFT, 0.975, title, fontsize=13, weight="bold", va="top", parse_math=False)
    return fig


def _footer(fig, label: str, n: int) -> None:
    fig.text(
        0.5,
        0.015,
        f"mesovision report {label} \u2013 page {n}",
        fontsize=7,
        color="0.4",
        ha="center",
        parse_math=False,
    )


def _wrap(text: str, width: int, indent: str = "") -> list[str]:
    out = []
    for para in str(text).splitlines() or [""]:
        out += textwrap.wrap(para, width, subsequent_indent=indent) or [""]
    return out


# ----------------------------------------------------------------------------------------------
# Summary
# ----------------------------------------------------------------------------------------------


def summary_lines(doc: dict, comp: dict | None, *, show_name: bool, deidentify: bool):
    """``(style, text)`` lines of the summary pages: style ``h`` heading, ``t`` text,
    ``m`` monospace."""
    from .html import quality_items

    p = doc["patient"]
    sessions = doc["sessions"]
    lines: list[tuple[str, str]] = [("h", "Patient")]
    lines.append(
        ("t", f"Patient: {_doc.patient_label(doc, show_name=show_name, deidentify=deidentify)}")
    )
    if show_name and not deidentify and p.get("birth_year"):
        lines.append(("t", f"Born: {p['birth_year']}"))
    lines.append(("t", f"View: {doc.get('view', '')}"))
    lines.append(
        ("t", f"Sessions: {len(sessions)} ({sessions[0]['date']} to {sessions[-1]['date']})")
    )
    if comp is not None:
        s = _doc.session_by_id(doc)[comp["session_id"]]
        lines.append(("t", f"This report: session {s['id']} of {s['date']} against the baseline"))
    if deidentify:
        lines.append(("t", "De-identified: name, birth year and file names removed; eyes blurred"))
    lines.append(("t", f"Made by: {doc.get('generated_by', 'mesovision')}"))
    lines.append(("h", "Course"))
    lines.append(("m", f"{'#':<4}{'date':<12}{'treated areas':<34}{'product':<22}notes"))
    for k, s in enumerate(sessions):
        sid = f"{s['id']}{'*' if k == 0 else ''}"
        treated = _wrap(", ".join(s.get("treated") or []) or "-", 32)
        product = _wrap(s.get("product") or "-", 20)
        notes = _wrap(s.get("notes") or "", 40)
        for j in range(max(len(treated), len(product), len(notes))):
            cells = [
                (sid if j == 0 else "", 4),
                (s["date"] if j == 0 else "", 12),
                (treated[j] if j < len(treated) else "", 34),
                (product[j] if j < len(product) else "", 22),
                (notes[j] if j < len(notes) else "", 0),
            ]
            lines.append(("m", "".join(c.ljust(w) for c, w in cells).rstrip()))
    lines.append(("t", "* baseline"))
    for note in _doc.course_notes(doc, deidentify=deidentify):
        lines += [("t", w) for w in _wrap(f"Note: {note}", 110, "    ")]
    if comp is None:
        lines.append(("h", "Summary"))
        lines.append(("t", "Only the baseline so far: nothing to compare yet."))
        return lines
    lines.append(("h", "Significant changes against the baseline"))
    sig = _doc.significant_lines(comp["record"])
    for li in sig or ["No change beyond the noise floor in any region."]:
        lines += [("t", w) for w in _wrap(li, 110, "    ")]
    prev = _doc.previous_comparison(doc, comp["session_id"])
    if prev is not None:
        lines.append(("h", "Significant changes since the previous session"))
        sig = _doc.significant_lines(prev["record"])
        for li in sig or ["No change beyond the noise floor since the previous session."]:
            lines += [("t", w) for w in _wrap(li, 110, "    ")]
    lines.append(("h", "Quality"))
    items, checks = quality_items(doc, comp)
    for k, v in items:
        lines += [("t", w) for w in _wrap(f"{k}: {v}", 110, "    ")]
    lines.append(("h", "Capture checks"))
    if not checks:
        lines.append(("t", "No capture check recorded."))
    for c in checks:
        word = "ok" if c.get("ok") else "FAILED" if c.get("severity") == "fail" else "warning"
        text = (
            f"{c['photo']}: {c.get('name')} {word} (value {_doc.fmt(c.get('value'))}, threshold "
            f"{_doc.fmt(c.get('threshold'))} {c.get('unit') or ''}): {c.get('message') or ''}"
        )
        lines += [("t", w) for w in _wrap(text, 110, "    ")]
    return lines


def _summary_pages(lines) -> list[list[tuple[str, str]]]:
    pages, cur = [], []
    for ln in lines:
        if len(cur) >= SUMMARY_LINES_PER_PAGE:
            pages.append(cur)
            cur = []
        cur.append(ln)
    pages.append(cur)
    return pages


def _draw_lines(fig, lines, *, top: float = 0.93, step: float = 0.0135) -> None:
    y = top
    for style, text in lines:
        if style == "h":
            y -= step * 0.5
            fig.text(_LEFT, y, text, fontsize=10, weight="bold", va="top", parse_math=False)
        elif style == "m":
            fig.text(
                _LEFT, y, text, fontsize=7, family="DejaVu Sans Mono", va="top", parse_math=False
            )
        else:
            fig.text(_LEFT, y, text, fontsize=8, va="top", parse_math=False)
        y -= step


# ----------------------------------------------------------------------------------------------
# Images
# ----------------------------------------------------------------------------------------------


def _resize(rgb: np.ndarray, side: int) -> np.ndarray:
    import cv2

    h, w = rgb.shape[:2]
    k = min(1.0, side / max(h, w))
    if k >= 1.0:
        return rgb
    return cv2.resize(rgb, (round(w * k), round(h * k)), interpolation=cv2.INTER_AREA)


def _show(fig, rect, rgb, caption: str) -> None:
    ax = fig.add_axes(rect)
    ax.imshow(rgb, interpolation="none")
    ax.set_axis_off()
    ax.set_title(caption, fontsize=8, parse_math=False)


def _images_page(doc, comp, arrays):
    sessions = _doc.session_by_id(doc)
    d_after = sessions[comp["session_id"]]["date"]
    d_before = sessions[comp["against_session_id"]]["date"]
    fig = _page("Before and after")
    after = arrays.get("normalized_after", arrays.get("aligned_after"))
    note = "lighting normalized" if "normalized_after" in arrays else "aligned"
    _show(
        fig,
        [0.04, 0.45, 0.44, 0.48],
        _resize(arrays["before"], PDF_PHOTO_PX),
        f"before ({d_before})",
    )
    if after is not None:
        _show(
            fig,
            [0.52, 0.45, 0.44, 0.48],
            _resize(after, PDF_PHOTO_PX),
            f"after ({d_after}, {note})",
        )
    fig.text(
        _LEFT,
        0.42,
        "Both photos in the before photo's frame. The HTML report has a slider and a flicker view.",
        fontsize=8,
        parse_math=False,
    )
    return fig


def _heatmap_page(arrays):
    from ..metrics.heatmaps import FAMILIES

    legend = _doc.heatmap_legend()
    fig = _page("Heatmaps (one fixed colour scale per family)")
    fams = list(FAMILIES)
    h = 0.9 / len(fams)
    for k, fam in enumerate(fams):
        y = 0.93 - (k + 1) * h
        for j, which in enumerate(("before", "after")):
            img = arrays.get(f"heatmap_{fam}_{which}")
            if img is None:
                continue
            _show(
                fig,
                [0.17 + 0.41 * j, y + 0.01, 0.39, h - 0.03],
                _resize(img, PDF_HEATMAP_PX),
                f"{fam} {which}",
            )
        fig.text(
            0.02,
            y + h / 2,
            "\n".join(_wrap(legend[fam], 22)),
            fontsize=6.5,
            va="center",
            parse_math=False,
        )
    return fig


# ----------------------------------------------------------------------------------------------
# Tables
# ----------------------------------------------------------------------------------------------

#: Characters per column of the region table (in :data:`_doc.TABLE_COLUMNS` order).
_COL_WIDTHS = (18, 35, 8, 9, 9, 16, 12, 12, 16)


def _row_text(cells) -> str:
    return "".join(
        (c if len(c) <= w - 1 else c[: w - 2] + "\u2026").ljust(w)
        for c, w in zip(cells, _COL_WIDTHS, strict=True)
    )


def _table_page(rows: list[_doc.Row], k: int, n_pages: int, skipped: int):
    fig = _page(f"Regions ({k + 1}/{n_pages})")
    fig.text(
        _LEFT,
        0.955,
        "change = after - before; significant = beyond the noise floor; reading from each "
        "metric's direction" + (f"; {skipped} unmeasured pairs not listed" if skipped else ""),
        fontsize=7,
        va="top",
        parse_math=False,
    )
    y = 0.93
    fig.text(
        0.03,
        y,
        _row_text(list(_doc.TABLE_COLUMNS)),
        fontsize=6.1,
        family="DejaVu Sans Mono",
        weight="bold",
        va="top",
        parse_math=False,
    )
    for r in rows:
        y -= 0.0185
        cells = r.cells()
        fig.text(
            0.03,
            y,
            _row_text(cells),
            fontsize=6.1,
            family="DejaVu Sans Mono",
            va="top",
            weight="bold" if r.significant else "normal",
            color={"better": "#1b7a3a", "worse": "#b3261e"}.get(r.reading, "black"),
            parse_math=False,
        )
    return fig


def _bruise_page(doc):
    entries = _doc.bruise_timeline(doc)
    fig = _page("Bruise timeline")
    ax = fig.add_axes([0.1, 0.62, 0.85, 0.3])
    _plots.draw_bruises(ax, entries)
    lines = [("m", f"{'session':<9}{'date':<12}{'n':>3} {'area %':>8} {'mm2':>8}  stages / status")]
    for e in entries:
        stages = ", ".join(f"{k} {v:.2g} %" for k, v in e.by_stage.items()) or "-"
        lines.append(
            (
                "m",
                f"{e.session_id!s:<9}{e.date:<12}{e.n_bruises:>3} {_doc.fmt(e.area_pct):>8} "
                f"{_doc.fmt(e.area_mm2):>8}  {stages} / {e.status}",
            )
        )
    lines.append(("t", "Area and colour stage per session; no bruise age is claimed."))
    _draw_lines(fig, lines, top=0.52)
    return fig


def _methods_page(specs: list[dict], k: int, n_pages: int):
    fig = _page(f"Methods: metrics ({k + 1}/{n_pages})")
    lines = []
    for m in specs:
        lines.append(("h", f"{m['name']}  [{m['unit']}, {str(m['direction']).replace('_', ' ')}]"))
        lines += [("t", w) for w in _wrap(m["summary"], 115)]
        lines += [("m", w) for w in _wrap("Formula: " + " ".join(m["formula"].split()), 125, "  ")]
        lines += [
            ("t", w) for w in _wrap("Reference: " + " ".join(m["reference"].split()), 115, "  ")
        ]
    _draw_lines(fig, lines, top=0.94, step=0.0128)
    return fig


def _noise_page(comp):
    fig = _page("Methods: noise floor, heatmaps, software")
    lines = []
    for p in _doc.noise_floor_method(comp["record"] if comp else None):
        lines += [("t", w) for w in _wrap(p, 115)] + [("t", "")]
    lines.append(("h", "Heatmaps"))
    for fam, text in _doc.heatmap_legend().items():
        lines += [("t", w) for w in _wrap(f"{fam}: {text}", 115)]
    prov = (comp or {}).get("record", {}).get("provenance") or {}
    items = [f"{k} {v}" for k, v in prov.items() if isinstance(v, (str, int, float))]
    if items:
        lines.append(("h", "Software"))
        lines += [("t", w) for w in _wrap(", ".join(items), 115)]
    _draw_lines(fig, lines, top=0.94)
    return fig


# ----------------------------------------------------------------------------------------------


def page_plan(
    doc: dict, *, session: int | None = None, show_name: bool = False, deidentify: bool = False
) -> list[str]:
    """The titles of the PDF's pages, in order (their number is the page count)."""
    _doc.check_document(doc)
    comp = _doc.choose_comparison(doc, session)
    n_sum = len(
        _summary_pages(summary_lines(doc, comp, show_name=show_name, deidentify=deidentify))
    )
    plan = [f"summary {k + 1}" for k in range(n_sum)]
    if comp is not None:
        rows, _ = _doc.table_rows(comp["record"])
        n_tab = max(1, math.ceil(len(rows) / TABLE_ROWS_PER_PAGE))
        families = sorted({s["family"] for s in _doc.metric_specs().values()})
        plan += ["images", "heatmaps"]
        plan += [f"regions {k + 1}" for k in range(n_tab)]
        plan += [f"trends {f}" for f in families]
        plan.append("bruises")
    n_met = math.ceil(len(_doc.metric_specs()) / METRICS_PER_PAGE)
    plan += [f"methods {k + 1}" for k in range(n_met)]
    plan.append("noise floor")
    return plan


def render_pdf(
    doc: dict, *, session: int | None = None, show_name: bool = False, deidentify: bool = False
) -> bytes:
    """The course report as PDF bytes (options as :func:`mesovision.report.render_html`)."""
    import matplotlib
    from matplotlib.backends.backend_pdf import PdfPages

    figures = pdf_figures(doc, session=session, show_name=show_name, deidentify=deidentify)
    label = _doc.patient_label(doc, show_name=False, deidentify=True)
    metadata = {
        "Title": f"mesovision report {label}",
        "Subject": "treatment course report",
        "Creator": str(doc.get("generated_by", "mesovision")),
        "Author": None,
        "CreationDate": None,
        "ModDate": None,
    }
    buf = io.BytesIO()
    with matplotlib.rc_context(_RC), PdfPages(buf, metadata=metadata) as pdf:
        for fig in figures:
            pdf.savefig(fig)
    return buf.getvalue()


def pdf_figures(
    doc: dict, *, session: int | None = None, show_name: bool = False, deidentify: bool = False
) -> list:
    """The PDF's pages as matplotlib figures (A4), footers included."""
    from .html import PHOTO_NAMES

    _doc.check_document(doc)
    comp = _doc.choose_comparison(doc, session)
    label = _doc.patient_label(doc, show_name=False, deidentify=True)
    figures = []
    lines = summary_lines(doc, comp, show_name=show_name, deidentify=deidentify)
    pages = _summary_pages(lines)
    for k, chunk in enumerate(pages):
        fig = _page("Treatment course report" + (f" (continued {k + 1})" if k else ""))
        _draw_lines(fig, chunk)
        figures.append(fig)
    if comp is not None:
        from ..metrics.heatmaps import FAMILIES

        names = list(PHOTO_NAMES) + [
            f"heatmap_{f}_{w}" for f in FAMILIES for w in ("before", "after")
        ]
        arrays = _images.comparison_images(comp["images"], deidentify=deidentify, names=names)
        figures.append(_images_page(doc, comp, arrays))
        figures.append(_heatmap_page(arrays))
        rows, skipped = _doc.table_rows(comp["record"])
        n_tab = max(1, math.ceil(len(rows) / TABLE_ROWS_PER_PAGE))
        for k in range(n_tab):
            chunk = rows[k * TABLE_ROWS_PER_PAGE : (k + 1) * TABLE_ROWS_PER_PAGE]
            figures.append(_table_page(chunk, k, n_tab, skipped))
        for fam in sorted({s["family"] for s in _doc.metric_specs().values()}):
            fig = _plots.trend_figure(
                fam, _doc.trends(doc, fam), width_in=A4_IN[0], height_in=A4_IN[1], min_rows=4
            )
            figures.append(fig)
        figures.append(_bruise_page(doc))
    specs = list(_doc.metric_specs().values())
    n_met = math.ceil(len(specs) / METRICS_PER_PAGE)
    for k in range(n_met):
        chunk = specs[k * METRICS_PER_PAGE : (k + 1) * METRICS_PER_PAGE]
        figures.append(_methods_page(chunk, k, n_met))
    figures.append(_noise_page(comp))
    for n, fig in enumerate(figures, start=1):
        _footer(fig, label, n)
    return figures
