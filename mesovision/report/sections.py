"""The sections of the HTML report, each a function from the course document to an HTML string
(every document text escaped). Order on the page: the summary in sentences, the photos with the
viewers and heatmaps, the course figure, the measures, then the technical sections (sessions,
bruises, side effects, quality, methods)."""

from __future__ import annotations

import html

from . import _doc, _images, _plots, _side_effects
from ._quality import quality_items
from .summary import summarize

__all__ = [
    "TABLE_HEAD",
    "bruises",
    "course_figure",
    "esc",
    "facts",
    "header",
    "images_section",
    "methods",
    "quality",
    "region_table",
    "sessions_table",
    "side_effects",
    "summary",
]

#: Region-table header (the cells of :meth:`mesovision.report._doc.Row.cells`, named for a reader).
TABLE_HEAD = (
    "region",
    "measure",
    "unit",
    "before",
    "after",
    "change",
    "retake range",
    "significant",
    "reading",
)


def esc(x) -> str:
    return html.escape("" if x is None else str(x), quote=True)


def facts(items: list[tuple[str, str]]) -> str:
    return (
        '<dl class="facts">'
        + "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in items)
        + "</dl>"
    )


def _labels() -> dict[str, str]:
    return {m: s.get("display") or m for m, s in _doc.metric_specs().items()}


def header(doc: dict, comp: dict | None, *, show_name: bool, deidentify: bool) -> str:
    p = doc["patient"]
    sessions = doc["sessions"]
    who = _doc.patient_label(doc, show_name=show_name, deidentify=deidentify)
    parts = [f"Patient {who}" if p.get("id") is not None else "Two photos, no patient record"]
    if show_name and not deidentify and p.get("birth_year"):
        parts.append(f"born {p['birth_year']}")
    parts.append(f"{doc.get('view', 'front')} view")
    parts.append(f"{len(sessions)} sessions, {sessions[0]['date']} to {sessions[-1]['date']}")
    if comp is not None:
        s = _doc.session_by_id(doc)[comp["session_id"]]
        parts.append(
            f"this report: the session of {s['date']} against {_doc.wording(doc)['first']}"
        )
    if deidentify:
        parts.append("de-identified: name, birth year and file names removed, eyes blurred")
    return (
        f'<header id="header"><h1>{esc(_doc.wording(doc)["title"])}</h1>'
        f'<p class="meta">{esc(" · ".join(parts))}</p>'
        '<p class="muted">Measured on this computer; nothing in this file was sent anywhere.</p>'
        "</header>"
    )


def _sentence_list(record: dict, since: str, *, only_changes: bool = False) -> str:
    items = [
        f'<li class="{esc(s.kind)}">{esc(s.text)}</li>'
        for s in summarize(record, _doc.metric_specs(), since=since)
        if not (only_changes and s.kind == "no_change")
    ]
    if not items:
        return "<p>Nothing changed beyond what retaking the photo changes.</p>"
    return '<ul class="sentences">' + "".join(items) + "</ul>"


def summary(doc: dict, comp: dict | None) -> str:
    out = ['<section id="summary"><h2>Summary</h2>']
    if comp is None:
        out.append(f"<p>{esc(_doc.no_comparison_text(doc))}</p></section>")
        return "".join(out)
    base = _doc.baseline(doc)["date"]
    first = _doc.wording(doc)["first"]
    latest = _doc.latest_not_compared_text(doc, comp)
    if latest:
        out.append(f'<p id="latest-not-compared">{esc(latest)}</p>')
    out.append(f"<h3>Since {esc(first)} ({esc(base)})</h3>")
    out.append(_sentence_list(comp["record"], f"since {first}"))
    prev = _doc.previous_comparison(doc, comp["session_id"])
    if prev is not None:
        d = _doc.session_by_id(doc)[prev["against_session_id"]]["date"]
        out.append(f"<h3>Since the previous session ({esc(d)})</h3>")
        out.append(_sentence_list(prev["record"], "since the previous session", only_changes=True))
    out.append(
        '<p class="muted">"Beyond what retaking the photo changes" means larger than the '
        "difference two photos of unchanged skin show (the noise model), after allowing for the "
        "many measures tested at once. Details under Measures and Methods.</p></section>"
    )
    return "".join(out)


def _toggles(imgs: dict[str, str]) -> list[str]:
    from ..metrics.heatmaps import FAMILIES

    legend = _doc.heatmap_legend()
    toggles = []
    for fam, (_m, _r, lo, hi, cmap) in FAMILIES.items():
        if f"heatmap_{fam}_before" not in imgs:
            continue
        bar = _images.data_uri(_plots.colourbar_png(cmap), "image/png")
        toggles.append(
            f'<label title="{esc(legend[fam])}"><input type="checkbox" class="overlay-toggle" '
            f'id="overlay-{esc(fam)}" data-family="{esc(fam)}"> {esc(fam)} '
            f'<span class="legend muted">{lo:g}<img alt="" src="{bar}">{hi:g}</span></label>'
        )
    return toggles


def _change_figure(imgs: dict[str, str]) -> str:
    """The change map (after - before) with its switch between the channels and a colour bar."""
    from ._overlays import CHANGE_CMAP, CHANGE_MAPS

    names = [n for n in CHANGE_MAPS if n in imgs]
    if not names:
        return ""
    first = CHANGE_MAPS[names[0]]
    switches = "".join(
        f'<label><input type="radio" name="change" class="change-toggle" data-map="{esc(n)}"'
        f"{' checked' if k == 0 else ''}> {esc(CHANGE_MAPS[n].label)}</label>"
        for k, n in enumerate(names)
    )
    bar = _images.data_uri(_plots.colourbar_png(CHANGE_CMAP), "image/png")
    limits = " or ".join(
        f"{CHANGE_MAPS[n].threshold:g} {CHANGE_MAPS[n].unit} ({CHANGE_MAPS[n].label})"
        for n in names
    )
    return (
        f'<figure id="change-figure"><img id="change-img" data-map="{esc(names[0])}" '
        f'alt="Where the {esc(first.label)} changed" src="{imgs[names[0]]}">'
        f"<figcaption>What changed (after − before):"
        f'<span class="toolbar">{switches}</span>'
        f'<span class="legend">lower <img alt="" src="{bar}"> higher</span><br>'
        f"grey: a change smaller than {esc(limits)}</figcaption></figure>"
    )


def images_section(doc: dict, comp: dict, imgs: dict[str, str]) -> str:
    sessions = _doc.session_by_id(doc)
    d_after = sessions[comp["session_id"]]["date"]
    d_before = sessions[comp["against_session_id"]]["date"]
    after_name = "normalized_after" if "normalized_after" in imgs else "aligned_after"
    after_note = "light evened out to the first photo" if after_name == "normalized_after" else ""
    cap_after = f"{d_after}" + (f" ({after_note})" if after_note else "")
    cap_before = f"{_doc.wording(doc)['first_caption']}, {d_before}"
    return f"""<section id="images"><h2>Before and after</h2>
<p class="muted">Both photos are turned and scaled onto the first one, so the same skin is at the
same place; the treated areas are outlined. A heatmap shows one measure over the face where it
departs from the first photo's skin, on one fixed colour scale; the change map shows where the
colour moved between the photos.</p>
<div class="toolbar" id="overlays"><strong>Heatmap:</strong>{"".join(_toggles(imgs))}</div>
<div class="side">
<figure><img id="side-before" data-family="none" alt="First session photo, {esc(d_before)}"
 src="{imgs["before"]}"><figcaption>{esc(cap_before)}</figcaption></figure>
<figure><img id="side-after" data-family="none" alt="Photo of {esc(d_after)}"
 src="{imgs[after_name]}"><figcaption>{esc(cap_after)}</figcaption></figure>
{_change_figure(imgs)}
</div>
<div class="viewers">
<div><h3>Slider</h3><div class="compare" id="slider-box">
<img id="slider-before" alt="first session photo (left of the line)">
<img id="slider-after" alt="later photo (right of the line)">
<div id="slider-line"></div></div>
<label for="slider" class="muted">Left of the line: before; right: after. Drag on the photo,
or move the slider (arrow keys work).</label>
<input type="range" id="slider" min="0" max="100" value="50" step="1">
</div>
<div><h3>Flicker</h3><div class="toolbar"><button type="button" id="flicker">Flicker</button>
<span>showing <strong id="flicker-label">before</strong></span></div>
<figure><img id="flicker-img" data-showing="before" alt="First session photo"></figure></div>
</div></section>"""


def course_figure(doc: dict) -> str:
    series = _doc.course_series(doc)
    if not series:
        return ""
    fig = _plots.course_figure(series, _labels(), width_in=9.0)
    w_in, h_in = fig.get_size_inches()
    dpi = 100
    uri = _images.data_uri(_plots.png_bytes(fig, dpi=dpi), "image/png")
    regions = ", ".join(dict.fromkeys(s.region.replace("_", " ") for s in series))
    return (
        '<section id="trends"><h2>The course</h2><p class="muted">Change since the first session '
        "for each treated area; the grey band is what one retake of the photo changes; filled "
        "dots are significant changes (beyond it once the many measures tested at once are "
        "allowed for), open dots are not; a grey cross is a value that was not tested, the "
        "photos being not comparable for that measure.</p>"
        f'<img class="plot" id="course-plot" width="{round(w_in * dpi)}" '
        f'height="{round(h_in * dpi)}" alt="Course of the headline measures for {esc(regions)}" '
        f'src="{uri}"></section>'
    )


def region_table(record: dict, treated: list[str]) -> str:
    rows, skipped = _doc.table_rows(record)
    labels = _labels()
    body, extra = [], 0
    for r in rows:
        cells = r.cells()
        cells[1] = labels.get(r.metric, r.metric)
        word_cls = "better" if r.reading == "better" else "worse" if r.reading == "worse" else ""
        shown = r.significant or r.region in treated
        extra += not shown
        tds = []
        for k, c in enumerate(cells):
            col = TABLE_HEAD[k]
            if col == "measure":
                tds.append(f'<td title="{esc(r.summary)}">{esc(c)}</td>')
            elif col in ("before", "after", "change", "retake range"):
                tds.append(f'<td class="num">{esc(c)}</td>')
            elif col == "reading":
                tds.append(f'<td class="{word_cls}">{esc(c)}</td>')
            else:
                tds.append(f"<td>{esc(c)}</td>")
        cls = f"region-row {'sig' if r.significant else 'nosig'}" + (
            "" if shown else " extra hidden"
        )
        body.append(
            f'<tr class="{cls}" data-region="{esc(r.region)}" data-metric="{esc(r.metric)}">'
            + "".join(tds)
            + "</tr>"
        )
    note = f" {skipped} measures without a value (they need a scale, or the area is too small)."
    n = sum(_doc.tested_counts(record).values())
    return (
        '<section id="regions"><h2>Measures</h2><p class="muted">Shown: every measure of the '
        "treated areas and every significant change elsewhere. Change = after − before. Retake "
        "range: what one retake of the photo changes for this measure alone (a change beyond "
        "it has p &lt; 0.05 on its own). Significant: beyond it once the "
        f"{n or 'many'} measures tested at once are allowed for (a false discovery rate of "
        "5 %); only then does the reading say better or worse for the skin. A change beyond the "
        "retake range that is not significant reads “beyond one retake; not significant”."
        f"{esc(note) if skipped else ''}</p>"
        '<div class="toolbar" id="all-rows-box"><label><input type="checkbox" id="all-rows"> '
        f"show every measure ({extra} more rows)</label></div>"
        '<div class="scroll" tabindex="0" role="region" aria-label="Measures table">'
        '<table id="region-table"><thead><tr>'
        + "".join(f'<th scope="col">{esc(h)}</th>' for h in TABLE_HEAD)
        + "</tr></thead><tbody>"
        + "".join(body)
        + "</tbody></table></div></section>"
    )


def _checks_summary(checks: list[dict]) -> str:
    if not checks:
        return "\u2013"
    fails = sum(1 for c in checks if not c.get("ok") and c.get("severity") == "fail")
    warns = sum(1 for c in checks if not c.get("ok") and c.get("severity") != "fail")
    oks = sum(1 for c in checks if c.get("ok"))
    parts = [f"{oks} ok"] + ([f"{fails} failed"] if fails else [])
    return ", ".join(parts + ([f"{warns} warning(s)"] if warns else []))


def sessions_table(doc: dict, *, deidentify: bool) -> str:
    head = ["#", "date", "treated areas", "product", "notes", "capture checks"]
    if not deidentify:
        head.insert(5, "photo")
    rows = []
    for k, s in enumerate(doc["sessions"]):
        photo = s.get("photo") or {}
        cells = [
            f"{s['id']}" + (" (first)" if k == 0 else ""),
            s["date"],
            ", ".join(s.get("treated") or []) or "\u2013",
            s.get("product") or "\u2013",
            s.get("notes") or "",
        ]
        if not deidentify:
            cells.append(photo.get("file_name") or "\u2013")
        cells.append(_checks_summary(photo.get("checks") or []))
        rows.append(
            f'<tr class="session-row" data-session="{esc(s["id"])}">'
            + "".join(f"<td>{esc(c)}</td>" for c in cells)
            + "</tr>"
        )
    notes = _doc.course_notes(doc, deidentify=deidentify)
    notes_html = (
        '<ul id="course-notes">' + "".join(f"<li>{esc(n)}</li>" for n in notes) + "</ul>"
        if notes
        else ""
    )
    return (
        '<section id="course"><h2>Sessions</h2><div class="scroll" tabindex="0" role="region" '
        'aria-label="Sessions table"><table id="session-table"><thead><tr>'
        + "".join(f'<th scope="col">{esc(h)}</th>' for h in head)
        + "</tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table></div>"
        + notes_html
        + "</section>"
    )


def bruises(doc: dict) -> str:
    entries = _side_effects.bruise_timeline(doc)
    out = ['<section id="bruises"><h2>Bruise timeline</h2>']
    if not entries:
        out.append("<p>No comparison yet.</p></section>")
        return "".join(out)
    uri = _images.data_uri(_plots.png_bytes(_plots.bruise_figure(entries)), "image/png")
    out.append(
        '<img class="plot" id="bruise-plot" alt="Bruised area per session, by colour stage" '
        f'src="{uri}">'
    )
    out.append(
        '<div class="scroll" tabindex="0" role="region" aria-label="Bruise table">'
        '<table id="bruise-table"><thead><tr><th scope="col">session</th><th scope="col">date'
        '</th><th scope="col">bruises</th><th scope="col">area (% of facial skin)</th>'
        '<th scope="col">area (mm²)</th><th scope="col">stages</th><th scope="col">regions</th>'
        '<th scope="col">status</th></tr></thead><tbody>'
    )
    for e in entries:
        stages = ", ".join(f"{k} {v:.2g} %" for k, v in e.by_stage.items()) or "\u2013"
        regions = ", ".join(f"{k} {v:.2g} %" for k, v in e.regions.items()) or "\u2013"
        n = e.n_bruises if _doc.finite(e.area_pct) else "\u2013"  # not measured
        out.append(
            f'<tr class="bruise-row"><td>{esc(e.session_id)}</td><td>{esc(e.date)}</td>'
            f'<td class="num">{n}</td>'
            f'<td class="num">{esc(_doc.fmt(e.area_pct))}</td>'
            f'<td class="num">{esc(_doc.fmt(e.area_mm2))}</td><td>{esc(stages)}</td>'
            f"<td>{esc(regions)}</td><td>{esc(e.status)}</td></tr>"
        )
    out.append(
        '</tbody></table></div><p class="muted">Area and colour stage per session; no bruise age '
        "is claimed. Static areas at the face's edge (hair, spectacle frames) can be flagged in "
        "every photo, the first one included.</p></section>"
    )
    return "".join(out)


def side_effects(doc: dict) -> str:
    """Bruising and swelling over the days after each session, side by side, and whether they
    resolved (:func:`mesovision.report._side_effects.side_effects`)."""
    from ._side_effects import side_effects as timeline

    fx = timeline(doc)
    out = ['<section id="side-effects"><h2>Side effects after the sessions</h2>']
    if fx.empty and not fx.sentences:
        out.append("<p>No photo after a treating session yet.</p></section>")
        return "".join(out)
    if not fx.empty:
        uri = _images.data_uri(_plots.png_bytes(_plots.side_effect_figure(fx)), "image/png")
        out.append(
            '<img class="plot" id="side-effect-plot" alt="Bruise area and swelling per treated '
            f'region over the days after each session" src="{uri}">'
        )
    out.append(
        '<ul id="side-effect-summary">'
        + "".join(f"<li>{esc(s)}</li>" for s in fx.sentences)
        + "</ul>"
    )
    out.append(
        '<p class="muted">Swelling: the outward shift of the face outline and the lower eyelids '
        "since the first photo, followed on the skin between the photos; resolved means no "
        "longer beyond what retaking the photo changes. Bruising: the bruise area in the "
        "region.</p></section>"
    )
    return "".join(out)


def quality(doc: dict, comp: dict) -> str:
    items, checks = quality_items(doc, comp)
    rows = []
    for c in checks:
        cls, word = (
            ("ok", "ok")
            if c.get("ok")
            else (("fail", "failed") if c.get("severity") == "fail" else ("warn", "warning"))
        )
        rows.append(
            f'<tr class="check-row"><td>{esc(c["photo"])}</td><td>{esc(c.get("name"))}</td>'
            f'<td class="{cls}">{esc(word)}</td><td class="num">{esc(_doc.fmt(c.get("value")))}'
            f'</td><td class="num">{esc(_doc.fmt(c.get("threshold")))}</td>'
            f"<td>{esc(c.get('unit'))}</td><td>{esc(c.get('message'))}</td></tr>"
        )
    head = ("photo", "check", "result", "value", "threshold", "unit", "message")
    table = (
        '<div class="scroll" tabindex="0" role="region" aria-label="Capture checks">'
        '<table id="checks-table"><thead><tr>'
        + "".join(f'<th scope="col">{h}</th>' for h in head)
        + "</tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table></div>"
        if rows
        else "<p>No capture check recorded.</p>"
    )
    return (
        '<section id="quality"><h2>Photo quality and alignment</h2><div class="box">'
        + facts(items)
        + "<h3>Capture checks</h3>"
        + table
        + "</div></section>"
    )


def methods(comp: dict | None) -> str:
    rows = []
    for m in _doc.measured_specs(comp["record"] if comp else None).values():
        display = m.get("display") or m["name"]
        plain = m.get("plain") or ""
        rows.append(
            f'<tr class="method-row"><td>{esc(m["name"])}</td><td>{esc(display)}'
            f"{'<br>' + esc(plain) if plain else ''}</td><td>{esc(m['unit'])}</td>"
            f"<td>{esc(str(m['direction']).replace('_', ' '))}</td>"
            f"<td>{esc(_doc.plain_text(m['summary']))}"
            f"<pre>{esc(_doc.plain_text(m['formula']))}</pre></td>"
            f"<td>{esc(_doc.plain_text(m['reference']))}</td></tr>"
        )
    paras = _doc.noise_floor_method(comp["record"] if comp else None)
    legend = _doc.heatmap_legend()
    prov = (comp or {}).get("record", {}).get("provenance") or {}
    prov_text = ", ".join(
        f"{k} {v}" for k, v in prov.items() if isinstance(v, (str, int, float)) and v is not None
    )
    head = ("metric", "measure", "unit", "direction", "definition and formula", "reference")
    return (
        '<section id="methods"><h2>Methods</h2><h3>Noise model and significance</h3>'
        + "".join(f"<p>{esc(_doc.plain_text(p))}</p>" for p in paras)
        + "<h3>Heatmaps</h3><ul>"
        + "".join(f"<li>{esc(k)}: {esc(v)}</li>" for k, v in legend.items())
        + '</ul><h3>Measures</h3><div class="scroll" tabindex="0" role="region" '
        'aria-label="Measures and their definitions"><table id="methods-table"><thead><tr>'
        + "".join(f'<th scope="col">{h}</th>' for h in head)
        + "</tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table></div>"
        + (f'<p class="muted">Software: {esc(prov_text)}</p>' if prov_text else "")
        + "</section>"
    )
