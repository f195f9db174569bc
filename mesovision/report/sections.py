"""The sections of the HTML report, each a function from the course document to an HTML string
(every document text escaped). Order on the page: the summary in sentences, the photos with the
viewers and heatmaps, the course figure, the measures, then the technical sections (sessions,
bruises, side effects, quality, methods)."""

from __future__ import annotations

from . import _doc, _images, _modes, _plots, _sessions
from ._deid import LEFT_OUT
from ._markup import esc, facts
from ._tech_sections import bruises, methods, quality, sessions_table, side_effects
from ._wording import tested_words
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


def _labels() -> dict[str, str]:
    return {m: s.get("display") or m for m, s in _doc.metric_specs().items()}


def header(doc: dict, comp: dict | None, *, show_name: bool, deidentify: bool) -> str:
    p = doc["patient"]
    sessions = doc["sessions"]
    who = _doc.patient_label(doc, show_name=show_name, deidentify=deidentify)
    first = f"Patient {who}" if p.get("id") is not None else "Two photos, no patient record"
    parts = [] if deidentify else [first]
    if show_name and not deidentify and p.get("birth_year"):
        parts.append(f"born {p['birth_year']}")
    parts.append(f"{doc.get('view', 'front')} view")
    ipd = p.get("ipd_mm")
    if ipd is not None and doc.get("view", "front") == "front":  # the scale of its comparisons
        parts.append(f"interpupillary distance {ipd:g} mm (the scale of the measures in mm)")
    n = len(sessions)
    span = f"{sessions[0]['date']} to {sessions[-1]['date']}" if n > 1 else sessions[0]["date"]
    parts.append(f"{n} session{'s' if n != 1 else ''}, {span}")
    if comp is not None:
        s = _doc.session_by_id(doc)[comp["session_id"]]
        parts.append(
            f"this report: the session of {s['date']} against {_sessions.against_words(doc, comp)}"
        )
    shared = f'<p class="meta" id="shared-version">{esc(LEFT_OUT)}</p>' if deidentify else ""
    return (
        f'<header id="header"><h1>{esc(_doc.wording(doc)["title"])}</h1>'
        f'<p class="meta">{esc(" · ".join(parts))}</p>{shared}'
        '<p class="muted">Measured on this computer; nothing in this file was sent anywhere.</p>'
        "</header>"
    )


def _sentence_list(record: dict, since: str, *, area: str, only_changes: bool = False) -> str:
    items = [
        f'<li class="{esc(s.kind)}">{esc(s.text)}</li>'
        for s in summarize(record, _doc.metric_specs(), since=since, area=area)
        if not (only_changes and s.kind == "no_change")
    ]
    if not items:
        return "<p>Nothing changed beyond what retaking the photo changes.</p>"
    return '<ul class="sentences">' + "".join(items) + "</ul>"


def summary(
    doc: dict, comp: dict | None, *, show_name: bool = False, deidentify: bool = False
) -> str:
    """The summary in sentences: since the first session (or, for a session compared only with
    the previous one, since that one), then since the previous session; first a paragraph when
    the report does not show the latest session against the first, saying why."""
    names = _sessions.photo_names(doc, show_name=show_name, deidentify=deidentify)
    intro = _sessions.intro_text(doc, comp, names)
    out = ['<section id="summary"><h2>Summary</h2>']
    if comp is None:
        out.append(f"<p>{esc(intro)}</p></section>")
        return "".join(out)
    if intro:
        out.append(f'<p id="latest-not-compared">{esc(intro)}</p>')
    ref = _doc.session_by_id(doc)[comp["against_session_id"]]["date"]
    area = _modes.area_words(doc, comp).area
    if comp.get("against") == "previous":
        out.append(f"<h3>Since the previous session ({esc(ref)})</h3>")
        out.append(_sentence_list(comp["record"], "since the previous session", area=area))
    else:
        first = _doc.wording(doc)["first"]
        out.append(f"<h3>Since {esc(first)} ({esc(ref)})</h3>")
        out.append(_sentence_list(comp["record"], f"since {first}", area=area))
        prev = _doc.previous_comparison(doc, comp["session_id"])
        if prev is not None:
            d = _doc.session_by_id(doc)[prev["against_session_id"]]["date"]
            out.append(f"<h3>Since the previous session ({esc(d)})</h3>")
            since = "since the previous session"
            out.append(_sentence_list(prev["record"], since, area=area, only_changes=True))
        refused = _sessions.previous_refused(doc, comp, names)
        if refused:
            out.append(f'<p id="previous-not-compared">{esc(refused)}</p>')
    validated = _modes.validation_note(doc, comp)
    out.append(
        '<p class="muted">"Beyond what retaking the photo changes" means larger than the '
        "difference two photos of unchanged skin show (the noise model), after allowing for the "
        "many measures tested at once. Details under Measures and Methods.</p>"
        + (f'<p class="muted" id="validation">{esc(validated)}</p>' if validated else "")
        + "</section>"
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
        # named by the measure only; the colour bar's scale is its description
        toggles.append(
            f'<label title="{esc(legend[fam])}"><input type="checkbox" class="overlay-toggle" '
            f'id="overlay-{esc(fam)}" data-family="{esc(fam)}" '
            f'aria-describedby="overlay-{esc(fam)}-scale"> {esc(fam)} '
            f'<span class="legend muted" aria-hidden="true">{lo:g}<img alt="" src="{bar}">'
            f'{hi:g}</span><span id="overlay-{esc(fam)}-scale" hidden>scale {lo:g} to {hi:g}'
            "</span></label>"
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
    after_name = "normalized_after" if "normalized_after" in imgs else "aligned_after"
    ref = "previous" if comp.get("against") == "previous" else "first"
    after_note = f"light evened out to the {ref} photo" if after_name == "normalized_after" else ""
    cap_after = f"{d_after}" + (f" ({after_note})" if after_note else "")
    cap_before = _sessions.reference_caption(doc, comp)
    words = _modes.area_words(doc, comp)
    skin = "skin" if words.mode in ("face", "body") else "scalp"
    outlined = "; the treated areas are outlined." if words.mode == "face" else "."
    departs = f" where it departs from the {ref} photo's skin" if skin == "skin" else ""
    return f"""<section id="images"><h2>Before and after</h2>
<p class="muted">Both photos are turned and scaled onto the {ref} one, so the same {skin} is at
the same place{outlined} A heatmap shows one measure over {esc(words.area)}{departs}, on one
fixed colour scale; the change map shows where the colour moved between the photos.</p>
<div class="toolbar" id="overlays"><strong>Heatmap:</strong>{"".join(_toggles(imgs))}</div>
<div class="side">
<figure><img id="side-before" data-family="none" alt="{esc(cap_before)} photo"
 src="{imgs["before"]}"><figcaption>{esc(cap_before)}</figcaption></figure>
<figure><img id="side-after" data-family="none" alt="Photo of {esc(d_after)}"
 src="{imgs[after_name]}"><figcaption>{esc(cap_after)}</figcaption></figure>
{_change_figure(imgs)}
</div>
<div class="viewers">
<div><h3>Slider</h3><div class="compare" id="slider-box">
<img id="slider-before" alt="{ref} photo (left of the line)">
<img id="slider-after" alt="later photo (right of the line)">
<div id="slider-line"></div></div>
<label for="slider" class="muted">Left of the line: before; right: after. Drag on the photo,
or move the slider (arrow keys work).</label>
<input type="range" id="slider" min="0" max="100" value="50" step="1">
</div>
<div><h3>Flicker</h3><div class="toolbar"><button type="button" id="flicker" aria-pressed="false"
aria-describedby="flicker-state">Flicker</button>
<span id="flicker-state" aria-live="polite">showing
<strong id="flicker-label">before</strong></span></div>
<figure><img id="flicker-img" data-showing="before" alt="The {ref} photo"></figure></div>
</div></section>"""


def course_figure(doc: dict) -> str:
    series = _modes.course_series(doc)
    if not series:
        return ""
    fig = _plots.course_figure(series, _labels(), width_in=9.0)
    w_in, h_in = fig.get_size_inches()
    dpi = 100
    uri = _images.data_uri(_plots.png_bytes(fig, dpi=dpi), "image/png")
    regions = ", ".join(dict.fromkeys(s.region.replace("_", " ") for s in series))
    return (
        '<section id="trends"><h2>The course</h2><p class="muted">Change since the first session '
        f"{esc(_modes.course_words(doc))}; the grey band is what one retake of the photo "
        "changes; filled dots are significant changes (beyond it once the many measures "
        "tested at once are allowed for), open dots are not; a grey cross is a value that was "
        "not tested, the photos being not comparable for that measure.</p>"
        f'<img class="plot" id="course-plot" width="{round(w_in * dpi)}" '
        f'height="{round(h_in * dpi)}" alt="Course of the headline measures for {esc(regions)}; '
        f'their values are in the table below" src="{uri}">{course_values(series, _labels())}'
        "</section>"
    )


def course_values(series: list, labels: dict[str, str]) -> str:
    """The course figure's values as a table, folded under it: each measure's change since the
    first session at every later session, with what one retake changes and whether it is
    significant (for a screen reader, and to read the values exactly)."""
    dates = series[0].dates[1:]
    head = "".join(f'<th scope="col">{esc(d)}</th>' for d in dates)
    rows = []
    for s in series:
        name = s.title or labels.get(s.metric, s.metric)
        tested = (s.tested or [True] * len(s.delta))[1:]
        cells = []
        for d, f, sig, t in zip(s.delta[1:], s.floor[1:], s.significant[1:], tested, strict=True):
            if not _doc.finite(d):
                cells.append("not measured")
            elif not t:
                cells.append(f"{_doc.fmt_signed(d)} (not tested)")
            else:
                retake = f", retake ±{_doc.fmt(f)}" if _doc.finite(f) else ""
                cells.append(f"{_doc.fmt_signed(d)}{retake}{'; significant' if sig else ''}")
        unit = f" ({esc(s.unit)})" if s.unit else ""
        rows.append(
            f'<tr><th scope="row">{esc(s.region.replace("_", " "))}</th><td>{esc(name)}{unit}'
            "</td>" + "".join(f"<td>{esc(c)}</td>" for c in cells) + "</tr>"
        )
    return (
        "<details><summary>The values of the figure</summary>"
        '<div class="scroll" tabindex="0" role="region" aria-label="Values of the course figure">'
        '<table><caption class="muted">Change since the first session</caption><thead><tr>'
        f'<th scope="col">region</th><th scope="col">measure</th>{head}</tr></thead><tbody>'
        + "".join(rows)
        + "</tbody></table></div></details>"
    )


def region_table(record: dict, treated: list[str], *, area: str = "area") -> str:
    """The Measures table; a body or scalp record's one region, ``area``, is named ``area``
    (the view's area, ``thigh``)."""
    rows, skipped = _doc.table_rows(record)
    labels = _labels()
    body, extra = [], 0
    for r in rows:
        cells = r.cells()
        cells[0] = area if r.region == "area" else r.region
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
    counts = _doc.tested_counts(record)
    each = " in each group" if len([n for n in counts.values() if n]) > 1 else ""
    return (
        '<section id="regions"><h2>Measures</h2><p class="muted">Shown: every measure of the '
        "treated areas and every significant change elsewhere. Change = after − before. Retake "
        "range: what one retake of the photo changes for this measure alone (a change beyond "
        "it has p &lt; 0.05 on its own). Significant: beyond it once the measures tested are "
        f"allowed for ({esc(tested_words(counts))}; a false discovery rate of 5 %{each}); "
        "only then does the reading say better or worse for the skin. A change beyond the "
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
