"""The PDF's technical appendix (``render_pdf(..., full=True)``): the sessions (and why a
session was not compared), heatmaps, every measure of every region, the course of every treated
region, the bruise timeline, the side effects (bruising and swelling over the days after each
session), photo quality and capture checks, and the methods (formulas, references, the noise
model, software)."""

from __future__ import annotations

from . import _doc, _modes, _plots, _sessions
from ._pdfkit import esc, figure_flowable, labels, photo, table

__all__ = ["appendix_story"]


def _heatmaps(arrays, width, st) -> list:
    from reportlab.platypus import KeepTogether, Paragraph

    from ..metrics.heatmaps import FAMILIES

    legend = _doc.heatmap_legend()
    out = []
    col = (width - 8) / 2
    for fam in FAMILIES:
        pair = [arrays.get(f"heatmap_{fam}_{w}") for w in ("before", "after")]
        if any(p is None for p in pair):
            continue
        t = table([[photo(pair[0], col), photo(pair[1], col)]], [col + 4, col + 4], header_rows=0)
        head = [] if out else [Paragraph("Heatmaps", st["h2"])]  # kept with the first one
        title = Paragraph(f"{esc(fam)}: {esc(legend.get(fam, ''))}", st["h3"])
        out.append(KeepTogether([*head, title, t]))
    return out


def _region_table(record, width, st, *, area: str = "area") -> list:
    from reportlab.platypus import Paragraph

    from ._wording import tested_counts, tested_words

    rows, skipped = _doc.table_rows(record)
    names = labels()
    head = ["region", "measure", "unit", "before", "after", "change", "retake range", "reading"]
    data = [head]
    bold = []
    for k, r in enumerate(rows, start=1):
        c = r.cells()
        data.append(
            [
                area if r.region == "area" else r.region.replace("_", " "),
                Paragraph(esc(names.get(r.metric, r.metric)), st["cell"]),
                r.unit,
                c[3],
                c[4],
                c[5],
                c[6],
                Paragraph(esc(r.reading), st["cell"]),
            ]
        )
        if r.significant:
            bold.append(k)
    frac = [0.13, 0.2, 0.09, 0.1, 0.1, 0.15, 0.1, 0.13]
    out = [
        Paragraph("All measures", st["h2"]),
        Paragraph(
            "change = after − before; retake range = what one retake of the photo changes for "
            "this measure alone; bold: significant, beyond it once the measures tested are "
            f"allowed for ({esc(tested_words(tested_counts(record)))})"
            + (f"; {skipped} unmeasured pairs not listed" if skipped else ""),
            st["small"],
        ),
    ]
    out.append(table(data, [f * width for f in frac], bold_rows=bold))
    return out


def _bruises(doc, width, st) -> list:
    from reportlab.platypus import Paragraph

    from ._side_effects import bruise_timeline

    entries = bruise_timeline(doc)
    if not entries:
        return []
    out = [
        Paragraph("Bruise timeline", st["h2"]),
        figure_flowable(
            _plots.bruise_figure(entries, width_in=7.2, skin=_modes.area_words(doc).skin), width
        ),
    ]
    data = [["session date", "bruises", "area %", "mm²", "stages", "status"]]
    for e in entries:
        stages = ", ".join(f"{k} {v:.2g} %" for k, v in e.by_stage.items()) or "–"
        data.append(
            [
                e.date,
                str(e.n_bruises) if _doc.finite(e.area_pct) else "–",
                _doc.fmt(e.area_pct),
                _doc.fmt(e.area_mm2),
                Paragraph(esc(stages), st["cell"]),
                e.status,
            ]
        )
    out.append(table(data, [w * width for w in (0.15, 0.1, 0.1, 0.1, 0.4, 0.15)]))
    out.append(
        Paragraph("Area and colour stage per session; no bruise age is claimed.", st["small"])
    )
    return out


def _side_effects(doc, width, st) -> list:
    from reportlab.platypus import Paragraph

    from ._side_effects import side_effects

    fx = side_effects(doc)
    if fx.empty and not fx.sentences:
        return []
    out = [Paragraph("Side effects after the sessions", st["h2"])]
    if not fx.empty:
        out.append(figure_flowable(_plots.side_effect_figure(fx, width_in=7.2), width))
    out += [Paragraph(esc(s), st["small"]) for s in fx.sentences]
    return out


def _quality(doc, comp, width, st) -> list:
    from reportlab.platypus import Paragraph

    from ._quality import quality_items

    items, checks = quality_items(doc, comp)
    out = [Paragraph("Photo quality and alignment", st["h2"])]
    data = [["item", "value"]] + [[k, Paragraph(esc(v), st["cell"])] for k, v in items]
    out.append(table(data, [0.3 * width, 0.7 * width]))
    if checks:
        out.append(Paragraph("Capture checks", st["h3"]))
        data = [["photo", "check", "result", "message"]]
        for c in checks:
            word = "ok" if c.get("ok") else "failed" if c.get("severity") == "fail" else "warning"
            data.append(
                [
                    c["photo"],
                    str(c.get("name")),
                    word,
                    Paragraph(esc(c.get("message") or ""), st["cell"]),
                ]
            )
        out.append(table(data, [w * width for w in (0.2, 0.18, 0.1, 0.52)]))
    return out


def _sessions_part(doc, width, st, *, show_name, deidentify) -> list:
    """The sessions table (the photo's file name only with ``show_name``; no notes or products
    with ``deidentify``), then every
    comparison the photos refused, with why and what to do, and the course's other notes."""
    from reportlab.platypus import Paragraph

    names = _sessions.photo_names(doc, show_name=show_name, deidentify=deidentify)
    named, free_text = show_name and not deidentify, not deidentify
    head = _sessions.session_head(named=named, free_text=free_text)
    head[-1] = "checks"
    data = [head] + [
        cells[:2] + [Paragraph(esc(c), st["cell"]) for c in cells[2:]]
        for cells in _sessions.session_cells(doc, names, named=named, free_text=free_text)
    ]
    frac = [0.08, 0.12] + ([0.18, 0.14, 0.24] if free_text else [0.4])
    frac += [0.12] * named + [0.24 - 0.12 * named + 0.16 * (not free_text)]
    sessions = table(data, [f * width for f in frac], split_in_row=True)  # a long note
    out = [Paragraph("Sessions", st["h2"]), sessions]
    for title, _, lines in _sessions.note_lists(doc, names):
        out.append(Paragraph(title, st["h3"]))
        out += [Paragraph(esc(n), st["small_bullet"], bulletText="•") for n in lines]
    return out


def _methods(comp, mode, width, st) -> list:
    from reportlab.platypus import Paragraph

    out = [Paragraph("Methods", st["h2"]), Paragraph("The measures", st["h3"])]
    data = [["measure", "unit", "what and how", "reference"]]
    for name, m in _doc.measured_specs(comp["record"] if comp else None, mode).items():
        what = f"{m['summary']} Formula: {' '.join(str(m['formula']).split())}"
        data.append(
            [
                Paragraph(f"<b>{esc(m.get('display') or name)}</b><br/>{esc(name)}", st["cell"]),
                Paragraph(esc(m["unit"]), st["cell"]),
                Paragraph(esc(_doc.plain_text(what)), st["cell"]),
                Paragraph(esc(_doc.plain_text(" ".join(str(m["reference"]).split()))), st["cell"]),
            ]
        )
    out.append(table(data, [w * width for w in (0.2, 0.1, 0.45, 0.25)]))
    out.append(Paragraph("The noise model", st["h3"]))
    for p in _doc.noise_floor_method(comp["record"] if comp else None, mode):
        out.append(Paragraph(esc(_doc.plain_text(p)), st["small"]))
    prov = (comp or {}).get("record", {}).get("provenance") or {}
    items = [f"{k} {v}" for k, v in prov.items() if isinstance(v, (str, int, float))]
    if items:
        out.append(Paragraph("Software", st["h3"]))
        out.append(Paragraph(esc(", ".join(items)), st["small"]))
    return out


def appendix_story(doc, comp, arrays, width, st, *, show_name=False, deidentify=False) -> list:
    from reportlab.platypus import KeepTogether, PageBreak, Paragraph

    story = [PageBreak(), Paragraph("Appendix: the technical detail", st["title"])]
    story += _sessions_part(doc, width, st, show_name=show_name, deidentify=deidentify)
    if comp is not None:
        story += _heatmaps(arrays, width, st)
        area = _modes.area_words(doc, comp).row
        story += _region_table(comp["record"], width, st, area=area)
        series = _modes.course_series(doc)
        if series:
            fig = _plots.course_figure(series, labels(), width_in=7.2)
            face = _doc.course_mode(doc, comp) == "face"
            heading = Paragraph(
                "The course, every treated region" if face else "The course", st["h2"]
            )
            story.append(KeepTogether([heading, figure_flowable(fig, width)]))
        if _modes.has_bruises(doc, comp):
            story += _bruises(doc, width, st)
            story += _side_effects(doc, width, st)
        story += _quality(doc, comp, width, st)
    story += _methods(comp, _doc.course_mode(doc, comp), width, st)
    return story
