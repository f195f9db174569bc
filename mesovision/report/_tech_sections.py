"""The technical sections of the HTML report, after the measures: the sessions (with why a
session was not compared), the bruise timeline, the side effects, photo quality and alignment,
and the methods. Each is a function from the course document to an HTML string (every document
text escaped)."""

from __future__ import annotations

from . import _doc, _images, _modes, _plots, _sessions, _side_effects
from ._markup import esc, facts
from ._quality import quality_items

__all__ = ["bruises", "methods", "quality", "sessions_table", "side_effects"]


def sessions_table(doc: dict, *, show_name: bool = False, deidentify: bool = False) -> str:
    """The sessions (the photo's file name only with ``show_name``; never with ``deidentify``,
    which also leaves out the notes and products) and, below, why a session was not compared,
    in the clinic's words, and the course's other notes; photos are named by view and session
    date unless ``show_name`` (:func:`mesovision.report._sessions.photo_names`)."""
    names = _sessions.photo_names(doc, show_name=show_name, deidentify=deidentify)
    cols = {"named": show_name and not deidentify, "free_text": not deidentify}
    head = _sessions.session_head(**cols)
    rows = [
        f'<tr class="session-row" data-session="{esc(s["id"])}">'
        + "".join(f"<td>{esc(c)}</td>" for c in cells)
        + "</tr>"
        for s, cells in zip(
            doc["sessions"], _sessions.session_cells(doc, names, **cols), strict=True
        )
    ]
    notes = "".join(
        f'<h3>{title}</h3><ul id="{ident}">'
        + "".join(f"<li>{esc(n)}</li>" for n in items)
        + "</ul>"
        for title, ident, items in _sessions.note_lists(doc, names)
    )
    return (
        '<section id="course"><h2>Sessions</h2><div class="scroll" tabindex="0" role="region" '
        'aria-label="Sessions table"><table id="session-table"><thead><tr>'
        + "".join(f'<th scope="col">{esc(h)}</th>' for h in head)
        + "</tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table></div>"
        + notes
        + "</section>"
    )


def bruises(doc: dict) -> str:
    entries = _side_effects.bruise_timeline(doc)
    out = ['<section id="bruises"><h2>Bruise timeline</h2>']
    if not entries:
        text = (
            "No later session could be compared with the first session: no bruise timeline."
            if len(doc["sessions"]) > 1
            else "No comparison yet."
        )
        out.append(f"<p>{esc(text)}</p></section>")
        return "".join(out)
    words = _modes.area_words(doc)
    figure = _plots.bruise_figure(entries, skin=words.skin)
    uri = _images.data_uri(_plots.png_bytes(figure), "image/png")
    out.append(
        '<img class="plot" id="bruise-plot" alt="Bruised area per session, by colour stage" '
        f'src="{uri}">'
    )
    out.append(
        '<div class="scroll" tabindex="0" role="region" aria-label="Bruise table">'
        '<table id="bruise-table"><thead><tr><th scope="col">session</th><th scope="col">date'
        '</th><th scope="col">bruises</th>'
        f'<th scope="col">area (% of {esc(words.skin)})</th><th scope="col">area (mm²)</th>'
        '<th scope="col">stages</th><th scope="col">regions</th>'
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
        "is claimed."
        + (
            " Static areas at the face's edge (hair, spectacle frames) can be flagged in every "
            "photo, the first one included."
            if words.mode == "face"
            else ""
        )
        + "</p></section>"
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
        alt = esc(_plots.side_effect_alt(fx))  # the values drawn, in words
        out.append(f'<img class="plot" id="side-effect-plot" alt="{alt}" src="{uri}">')
    out.append(
        '<ul id="side-effect-summary">'
        + "".join(f"<li>{esc(s)}</li>" for s in fx.sentences)
        + "</ul>"
    )
    swelling = (
        "Swelling: the outward shift of the face outline and the lower eyelids since the first "
        "photo, followed on the skin between the photos; resolved means no longer beyond what "
        "retaking the photo changes."
        if fx.swelling
        else "Swelling is measured on face photos only."
    )
    out.append(
        f'<p class="muted">{swelling} Bruising: the change of the region\'s bruised area since '
        "the first photo, as in the course figure.</p></section>"
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


def methods(comp: dict | None, mode: str | None = None) -> str:
    """The noise model, the heatmaps and the measures of the report's capture ``mode`` (a face
    report lists no body or hair measure or heatmap): the measures the comparison named, or
    without one those the mode scores."""
    rows = []
    for m in _doc.measured_specs(comp["record"] if comp else None, mode).values():
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
    paras = _doc.noise_floor_method(comp["record"] if comp else None, mode)
    legend = _doc.heatmap_legend(mode)
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
