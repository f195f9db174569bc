"""The course report as one self-contained HTML file.

Images are embedded as ``data:`` URIs, CSS and JavaScript are inline, and a Content Security
Policy (``default-src 'none'``) forbids the page any request: it opens from a USB stick, offline.
Element ids the tests drive: ``#slider`` (range input moving the before/after split, which clips
``#slider-after``), ``#flicker`` (button swapping ``#flicker-img`` between before and after),
``.overlay-toggle`` (one checkbox per heatmap family, switching ``#side-before`` and
``#side-after`` to that family's heatmap), ``#region-table`` (rows ``tr.region-row``),
``#sig-only`` (show significant rows only), ``#bruise-table``, ``#quality``, ``#methods-table``.
"""

from __future__ import annotations

import html
import json

from . import _doc, _images, _plots

#: Images of the chosen comparison embedded in the report (names of the course document).
PHOTO_NAMES = ("before", "normalized_after", "aligned_after")

_CSP = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
    "base-uri 'none'; form-action 'none'"
)

_CSS = """
:root { --fg:#1d232a; --muted:#5b6670; --line:#d5dbe0; --better:#1b7a3a; --worse:#b3261e;
        --bg2:#f4f6f8; }
* { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
       sans-serif; color: var(--fg); margin: 0 auto; max-width: 1180px; padding: 16px 24px 48px;
       line-height: 1.4; font-size: 14px; }
h1 { font-size: 22px; margin: 8px 0 4px; } h2 { font-size: 18px; margin: 28px 0 8px;
  border-bottom: 2px solid var(--line); padding-bottom: 4px; } h3 { font-size: 15px; }
.muted { color: var(--muted); }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 8px 0; }
dl.facts dt { color: var(--muted); } dl.facts dd { margin: 0; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { border-bottom: 1px solid var(--line); padding: 3px 6px; text-align: left;
         vertical-align: top; }
th { background: var(--bg2); position: sticky; top: 0; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.sig td { font-weight: 600; }
.better { color: var(--better); } .worse { color: var(--worse); }
.side { display: grid; grid-template-columns: 1fr 1fr; gap: 12px; }
figure { margin: 0; } figure img { width: 100%; height: auto; display: block; }
figcaption { color: var(--muted); font-size: 12px; margin-top: 2px; }
.toolbar { display: flex; flex-wrap: wrap; gap: 14px; align-items: center; margin: 8px 0; }
.toolbar label { display: inline-flex; gap: 5px; align-items: center; cursor: pointer; }
.legend img { width: 120px; height: 10px; vertical-align: middle; }
.viewers { display: grid; grid-template-columns: 1fr 1fr; gap: 12px; margin-top: 16px; }
.compare { position: relative; overflow: hidden; user-select: none; touch-action: none;
           cursor: ew-resize; }
.compare img { width: 100%; height: auto; display: block; pointer-events: none; }
#slider-after { position: absolute; left: 0; top: 0; }
#slider-line { position: absolute; top: 0; bottom: 0; width: 2px; margin-left: -1px;
               background: #fff; box-shadow: 0 0 3px #000; pointer-events: none; }
#slider { width: 100%; }
button { font: inherit; padding: 4px 12px; border: 1px solid var(--line); border-radius: 4px;
         background: var(--bg2); cursor: pointer; }
.box { border: 1px solid var(--line); border-radius: 6px; padding: 8px 14px; background: #fbfcfd; }
.ok { color: var(--better); } .fail { color: var(--worse); } .warn { color: #9a6700; }
img.plot { width: 100%; max-width: 1100px; height: auto; display: block; margin: 8px 0; }
pre { white-space: pre-wrap; margin: 0; font-size: 12px; }
.hidden { display: none; }
@media print { .toolbar, .viewers, #sig-only-box { display: none; } th { position: static; }
  h2 { break-after: avoid; } tr { break-inside: avoid; } }
"""

_JS = """
(function () {
  "use strict";
  function $(id) { return document.getElementById(id); }
  var data = JSON.parse($("image-data").textContent);
  var sideB = $("side-before"), sideA = $("side-after");
  if (!sideB || !sideA) { return; }
  data.before = sideB.getAttribute("src");
  data.after = sideA.getAttribute("src");
  var sb = $("slider-before"), sa = $("slider-after"), fl = $("flicker-img");
  sb.src = data.before; sa.src = data.after; fl.src = data.before;
  var slider = $("slider"), box = $("slider-box");
  function split() {
    var v = Math.max(0, Math.min(100, Number(slider.value)));
    sa.style.clipPath = "inset(0 0 0 " + v + "%)";
    $("slider-line").style.left = v + "%";
  }
  slider.addEventListener("input", split);
  split();
  var dragging = false;
  function dragTo(ev) {
    var r = box.getBoundingClientRect();
    slider.value = String(Math.round(100 * (ev.clientX - r.left) / r.width));
    split();
  }
  box.addEventListener("pointerdown", function (ev) { dragging = true; dragTo(ev); });
  window.addEventListener("pointermove", function (ev) { if (dragging) { dragTo(ev); } });
  window.addEventListener("pointerup", function () { dragging = false; });
  var flick = $("flicker"), showingAfter = false;
  flick.addEventListener("click", function () {
    showingAfter = !showingAfter;
    fl.src = showingAfter ? data.after : data.before;
    fl.setAttribute("data-showing", showingAfter ? "after" : "before");
    $("flicker-label").textContent = showingAfter ? "after" : "before";
  });
  var toggles = document.querySelectorAll(".overlay-toggle");
  function overlay(fam) {
    sideB.src = fam ? data["heatmap_" + fam + "_before"] : data.before;
    sideA.src = fam ? data["heatmap_" + fam + "_after"] : data.after;
    sideB.setAttribute("data-family", fam || "none");
    sideA.setAttribute("data-family", fam || "none");
  }
  toggles.forEach(function (t) {
    t.addEventListener("change", function () {
      if (t.checked) {
        toggles.forEach(function (o) { if (o !== t) { o.checked = false; } });
        overlay(t.getAttribute("data-family"));
      } else { overlay(null); }
    });
  });
  var sigOnly = $("sig-only");
  sigOnly.addEventListener("change", function () {
    document.querySelectorAll("tr.region-row").forEach(function (r) {
      r.classList.toggle("hidden", sigOnly.checked && !r.classList.contains("sig"));
    });
  });
})();
"""


def esc(x) -> str:
    return html.escape("" if x is None else str(x), quote=True)


def _facts(items: list[tuple[str, str]]) -> str:
    return (
        '<dl class="facts">'
        + "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in items)
        + "</dl>"
    )


def _header(doc: dict, comp: dict | None, *, show_name: bool, deidentify: bool) -> str:
    p = doc["patient"]
    sessions = doc["sessions"]
    items = [("Patient", _doc.patient_label(doc, show_name=show_name, deidentify=deidentify))]
    if show_name and not deidentify and p.get("birth_year"):
        items.append(("Born", str(p["birth_year"])))
    items += [
        ("View", str(doc.get("view", ""))),
        ("Sessions", f"{len(sessions)} ({sessions[0]['date']} to {sessions[-1]['date']})"),
        ("Baseline", sessions[0]["date"]),
    ]
    if comp is not None:
        s = _doc.session_by_id(doc)[comp["session_id"]]
        items.append(("This report", f"session {s['id']} of {s['date']} against the baseline"))
    if deidentify:
        items.append(("De-identified", "name, birth year and file names removed; eyes blurred"))
    items.append(("Made by", str(doc.get("generated_by", "mesovision"))))
    return (
        '<header id="header"><h1>Treatment course report</h1>'
        + _facts(items)
        + '<p class="muted">Measured on this computer; nothing in this file was sent anywhere. '
        "Changes are reported against a noise floor (see Methods).</p></header>"
    )


def _checks_summary(checks: list[dict]) -> str:
    if not checks:
        return "\u2013"
    fails = sum(1 for c in checks if not c.get("ok") and c.get("severity") == "fail")
    warns = sum(1 for c in checks if not c.get("ok") and c.get("severity") != "fail")
    oks = sum(1 for c in checks if c.get("ok"))
    parts = (
        [f"{oks} ok"]
        + ([f"{fails} failed"] if fails else [])
        + ([f"{warns} warning(s)"] if warns else [])
    )
    return ", ".join(parts)


def _course(doc: dict, *, deidentify: bool) -> str:
    head = ["#", "date", "treated areas", "product", "notes", "capture checks"]
    if not deidentify:
        head.insert(5, "photo")
    rows = []
    for k, s in enumerate(doc["sessions"]):
        photo = s.get("photo") or {}
        cells = [
            f"{s['id']}" + (" (baseline)" if k == 0 else ""),
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
        '<section id="course"><h2>Course</h2><table id="session-table"><thead><tr>'
        + "".join(f"<th>{esc(h)}</th>" for h in head)
        + "</tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
        + notes_html
        + "</section>"
    )


def _summary(doc: dict, comp: dict) -> str:
    lines = _doc.significant_lines(comp["record"])
    out = ['<section id="summary"><h2>Summary</h2>']
    base = _doc.baseline(doc)["date"]
    out.append(f"<h3>Against the baseline ({esc(base)})</h3>")
    out.append(_line_list(lines, "No change beyond the noise floor in any region."))
    prev = _doc.previous_comparison(doc, comp["session_id"])
    if prev is not None:
        d = _doc.session_by_id(doc)[prev["against_session_id"]]["date"]
        out.append(f"<h3>Since the previous session ({esc(d)})</h3>")
        out.append(
            _line_list(
                _doc.significant_lines(prev["record"]),
                "No change beyond the noise floor since the previous session.",
            )
        )
    out.append("</section>")
    return "".join(out)


def _line_list(lines: list[str], empty: str) -> str:
    if not lines:
        return f"<p>{esc(empty)}</p>"

    def cls(line: str) -> str:
        return "better" if line.endswith("better") else "worse" if line.endswith("worse") else ""

    return (
        '<ul class="changes">'
        + "".join(f'<li class="{cls(li)}">{esc(li)}</li>' for li in lines)
        + "</ul>"
    )


def _images_section(doc: dict, comp: dict, imgs: dict[str, str]) -> str:
    from ..metrics.heatmaps import FAMILIES

    sessions = _doc.session_by_id(doc)
    d_after = sessions[comp["session_id"]]["date"]
    d_before = sessions[comp["against_session_id"]]["date"]
    after_name = "normalized_after" if "normalized_after" in imgs else "aligned_after"
    after_note = (
        "lighting normalized onto the before photo"
        if after_name == "normalized_after"
        else "aligned"
    )
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
    return f"""<section id="images"><h2>Before and after</h2>
<p class="muted">Both photos in the before photo's frame: before {esc(d_before)}, after
{esc(d_after)} ({esc(after_note)}). Heatmaps share one fixed colour scale per family.</p>
<div class="toolbar" id="overlays"><strong>Heatmap:</strong>{"".join(toggles)}</div>
<div class="side">
<figure><img id="side-before" data-family="none" alt="before, {esc(d_before)}"
 src="{imgs["before"]}"><figcaption>before ({esc(d_before)})</figcaption></figure>
<figure><img id="side-after" data-family="none" alt="after, {esc(d_after)}"
 src="{imgs[after_name]}"><figcaption>after ({esc(d_after)})</figcaption></figure>
</div>
<div class="viewers">
<div><h3>Slider</h3><div class="compare" id="slider-box">
<img id="slider-before" alt="before"><img id="slider-after" alt="after">
<div id="slider-line"></div></div>
<input type="range" id="slider" min="0" max="100" value="50" step="1"
 aria-label="before/after split (percent of the width showing before)">
<p class="muted">Left of the line: before; right: after. Drag on the photo or the slider.</p>
</div>
<div><h3>Flicker</h3><div class="toolbar"><button type="button" id="flicker">Flicker</button>
showing <strong id="flicker-label">before</strong></div>
<figure><img id="flicker-img" data-showing="before" alt="flicker view"></figure></div>
</div></section>"""


def _region_table(record: dict) -> str:
    rows, skipped = _doc.table_rows(record)
    body = []
    for r in rows:
        cells = r.cells()
        word_cls = "better" if r.reading == "better" else "worse" if r.reading == "worse" else ""
        tds = []
        for k, c in enumerate(cells):
            col = _doc.TABLE_COLUMNS[k]
            if col == "metric":
                tds.append(f'<td title="{esc(r.summary)}">{esc(c)}</td>')
            elif col in ("before", "after", "change", "noise floor"):
                tds.append(f'<td class="num">{esc(c)}</td>')
            elif col == "reading":
                tds.append(f'<td class="{word_cls}">{esc(c)}</td>')
            else:
                tds.append(f"<td>{esc(c)}</td>")
        body.append(
            f'<tr class="region-row {"sig" if r.significant else "nosig"}" '
            f'data-region="{esc(r.region)}" data-metric="{esc(r.metric)}">' + "".join(tds) + "</tr>"
        )
    note = (
        f" {skipped} region/metric pairs without a value (metrics that need a physical scale, "
        "or regions too small) are not listed."
        if skipped
        else ""
    )
    return (
        '<section id="regions"><h2>Regions</h2><p class="muted">Change = after - before; a change '
        "is significant when it exceeds its noise floor; the reading says whether it is better or "
        f"worse for the skin (from each metric's registered direction).{esc(note)}</p>"
        '<div class="toolbar" id="sig-only-box"><label><input type="checkbox" id="sig-only"> '
        "significant changes only</label></div>"
        '<table id="region-table"><thead><tr>'
        + "".join(f"<th>{esc(h)}</th>" for h in _doc.TABLE_COLUMNS)
        + "</tr></thead><tbody>"
        + "".join(body)
        + "</tbody></table></section>"
    )


def _trends(doc: dict) -> str:
    families = sorted({s["family"] for s in _doc.metric_specs().values()})
    out = [
        '<section id="trends"><h2>Trends over the course</h2><p class="muted">Change since the '
        "baseline per region; the shaded band is each region's noise floor; filled markers are "
        "significant changes.</p>"
    ]
    for fam in families:
        tr = _doc.trends(doc, fam)
        fig = _plots.trend_figure(fam, tr)
        uri = _images.data_uri(_plots.png_bytes(fig, dpi=100), "image/png")
        out.append(
            f'<h3>{esc(fam)}</h3><img class="plot trend-plot" data-family="{esc(fam)}" '
            f'alt="{esc(fam)} trends" src="{uri}">'
        )
    out.append("</section>")
    return "".join(out)


def _bruises(doc: dict) -> str:
    entries = _doc.bruise_timeline(doc)
    out = ['<section id="bruises"><h2>Bruise timeline</h2>']
    if not entries:
        out.append("<p>No comparison yet.</p></section>")
        return "".join(out)
    uri = _images.data_uri(_plots.png_bytes(_plots.bruise_figure(entries)), "image/png")
    out.append(f'<img class="plot" id="bruise-plot" alt="bruise timeline" src="{uri}">')
    out.append(
        '<table id="bruise-table"><thead><tr><th>session</th><th>date</th><th>bruises</th>'
        "<th>area (% of facial skin)</th><th>area (mm²)</th><th>stages</th><th>regions</th>"
        "<th>status</th></tr></thead><tbody>"
    )
    for e in entries:
        stages = ", ".join(f"{k} {v:.2g} %" for k, v in e.by_stage.items()) or "\u2013"
        regions = ", ".join(f"{k} {v:.2g} %" for k, v in e.regions.items()) or "\u2013"
        out.append(
            f'<tr class="bruise-row"><td>{esc(e.session_id)}</td><td>{esc(e.date)}</td>'
            f'<td class="num">{e.n_bruises}</td><td class="num">{esc(_doc.fmt(e.area_pct))}</td>'
            f'<td class="num">{esc(_doc.fmt(e.area_mm2))}</td><td>{esc(stages)}</td>'
            f"<td>{esc(regions)}</td><td>{esc(e.status)}</td></tr>"
        )
    out.append(
        '</tbody></table><p class="muted">Area and colour stage per session; no bruise age is '
        "claimed. Static areas at the face's edge (hair, spectacle frames) can be flagged in "
        "every photo, the baseline included.</p></section>"
    )
    return "".join(out)


def quality_items(doc: dict, comp: dict) -> tuple[list[tuple[str, str]], list[dict]]:
    """Quality figures ``(label, text)`` and the capture checks (with the photo's role)."""
    rec = comp["record"]
    al = rec.get("alignment") or {}
    th = al.get("thresholds") or {}
    items = [
        ("Alignment", str(al.get("method", "\u2013"))),
        (
            "Residual",
            f"{_doc.fmt(al.get('residual_px'))} px = "
            f"{_doc.fmt(100 * al['residual_iod'] if _doc.finite(al.get('residual_iod')) else None)}"
            f" % of the interocular distance (limit "
            f"{_doc.fmt(100 * th['max_residual_iod']) if 'max_residual_iod' in th else '?'} %)",
        ),
        (
            "Coverage",
            f"{_doc.fmt(100 * al['coverage'] if _doc.finite(al.get('coverage')) else None)} % of "
            f"the face (minimum "
            f"{_doc.fmt(100 * th['min_coverage']) if 'min_coverage' in th else '?'} %)",
        ),
    ]
    pd = al.get("pose_difference")
    if pd:
        items.append(
            (
                "Pose difference",
                ", ".join(f"{k.removesuffix('_deg')} {_doc.fmt(v, 2)}°" for k, v in pd.items()),
            )
        )
    lt = rec.get("lighting")
    if lt:
        b, a = lt.get("delta_e_before") or {}, lt.get("delta_e_after") or {}
        items.append(("Lighting", f"{lt.get('method')} ({lt.get('model')})"))
        items.append(
            (
                "Lighting ΔE00 before normalization",
                f"median {_doc.fmt(b.get('median'))}, p95 {_doc.fmt(b.get('p95'))}",
            )
        )
        items.append(
            (
                "Lighting ΔE00 after normalization",
                f"median {_doc.fmt(a.get('median'))}, p95 {_doc.fmt(a.get('p95'))} "
                "(warning above 3.0)",
            )
        )
    else:
        items.append(("Lighting", "not normalized"))
    for fam, v in (rec.get("comparability") or {}).items():
        status = v.get("status", "?").replace("_", " ")
        if v.get("status") == "limited":
            status += f" (noise widened x{_doc.fmt(v.get('inflation'), 2)})"
        if v.get("status") == "not_comparable":
            status += " (values shown, not tested)"
        text = f"{status}: {v['reason']}" if v.get("reason") else status
        items.append((f"Comparable: {fam}", text))
    warnings = list(al.get("warnings") or []) + list((lt or {}).get("warnings") or [])
    for w in warnings:
        items.append(("Warning", str(w)))
    sessions = _doc.session_by_id(doc)
    checks = []
    for role, sid in (("before", comp["against_session_id"]), ("after", comp["session_id"])):
        s = sessions.get(sid, {})
        for c in (s.get("photo") or {}).get("checks") or []:
            checks.append({**c, "photo": f"{role} ({s.get('date', '?')})"})
    return items, checks


def _check_status(c: dict) -> tuple[str, str]:
    if c.get("ok"):
        return "ok", "ok"
    return ("fail", "failed") if c.get("severity") == "fail" else ("warn", "warning")


def _quality(doc: dict, comp: dict) -> str:
    items, checks = quality_items(doc, comp)
    rows = []
    for c in checks:
        cls, word = _check_status(c)
        rows.append(
            f'<tr class="check-row"><td>{esc(c["photo"])}</td><td>{esc(c.get("name"))}</td>'
            f'<td class="{cls}">{esc(word)}</td><td class="num">{esc(_doc.fmt(c.get("value")))}'
            f'</td><td class="num">{esc(_doc.fmt(c.get("threshold")))}</td>'
            f"<td>{esc(c.get('unit'))}</td><td>{esc(c.get('message'))}</td></tr>"
        )
    table = (
        '<table id="checks-table"><thead><tr><th>photo</th><th>check</th><th>result</th>'
        "<th>value</th><th>threshold</th><th>unit</th><th>message</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
        if rows
        else "<p>No capture check recorded.</p>"
    )
    return (
        '<section id="quality"><h2>Quality</h2><div class="box">'
        + _facts(items)
        + "<h3>Capture checks</h3>"
        + table
        + "</div></section>"
    )


def _one_line(text: str) -> str:
    """Docstring text with its line wrapping undone (blank lines kept as paragraph breaks)."""
    return "\n".join(" ".join(p.split()) for p in str(text).split("\n\n"))


def _methods(comp: dict | None) -> str:
    rows = []
    for m in _doc.metric_specs().values():
        rows.append(
            f'<tr class="method-row"><td>{esc(m["name"])}</td><td>{esc(m["unit"])}</td>'
            f"<td>{esc(str(m['direction']).replace('_', ' '))}</td><td>{esc(m['summary'])}"
            f"<pre>{esc(_one_line(m['formula']))}</pre></td><td>{esc(m['reference'])}</td></tr>"
        )
    paras = _doc.noise_floor_method(comp["record"] if comp else None)
    legend = _doc.heatmap_legend()
    prov = (comp or {}).get("record", {}).get("provenance") or {}
    prov_text = ", ".join(
        f"{k} {v}" for k, v in prov.items() if isinstance(v, (str, int, float)) and v is not None
    )
    return (
        '<section id="methods"><h2>Methods</h2><h3>Noise floor and significance</h3>'
        + "".join(f"<p>{esc(p)}</p>" for p in paras)
        + "<h3>Heatmaps</h3><ul>"
        + "".join(f"<li>{esc(k)}: {esc(v)}</li>" for k, v in legend.items())
        + "</ul><h3>Metrics</h3>"
        '<table id="methods-table"><thead><tr><th>metric</th><th>unit</th><th>direction</th>'
        "<th>definition and formula</th><th>reference</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
        + (f'<p class="muted">Software: {esc(prov_text)}</p>' if prov_text else "")
        + "</section>"
    )


def embedded_images(comp: dict, *, deidentify: bool) -> dict[str, str]:
    """The chosen comparison's photos and heatmaps as JPEG ``data:`` URIs, by document name."""
    from ..metrics.heatmaps import FAMILIES

    names = list(PHOTO_NAMES) + [f"heatmap_{f}_{w}" for f in FAMILIES for w in ("before", "after")]
    arrays = _images.comparison_images(comp["images"], deidentify=deidentify, names=names)
    return {
        k: _images.data_uri(_images.encode(v, fmt="jpeg"), "image/jpeg") for k, v in arrays.items()
    }


def render_html(
    doc: dict, *, session: int | None = None, show_name: bool = False, deidentify: bool = False
) -> str:
    """The course report as one self-contained HTML page (see the module docstring).

    Parameters
    ----------
    doc : dict
        A course document (``mesovision.course.course_document``; contract in
        :mod:`mesovision.report`).
    session : int, optional
        Session id shown against the baseline (default: the latest compared session).
    show_name : bool
        Show the patient's name (and birth year) next to the pseudonymous id.
    deidentify : bool
        Blur the eyes in every embedded photo; drop name, birth year and file names even with
        ``show_name``.

    Returns
    -------
    str
        The HTML text.

    Raises
    ------
    UsageError
        Unknown ``session``, or one without a comparison with the baseline.
    NoFace
        ``deidentify`` and no face found in the photos to locate the eyes.
    """
    _doc.check_document(doc)
    comp = _doc.choose_comparison(doc, session)
    title = (
        f"mesovision report {_doc.patient_label(doc, show_name=show_name, deidentify=deidentify)}"
    )
    parts = [
        _header(doc, comp, show_name=show_name, deidentify=deidentify),
        _course(doc, deidentify=deidentify),
    ]
    heat: dict[str, str] = {}
    if comp is None:
        parts.append(
            '<section id="summary"><h2>Summary</h2><p>Only the baseline so far: nothing to '
            "compare yet.</p></section>"
        )
    else:
        imgs = embedded_images(comp, deidentify=deidentify)
        heat = {k: v for k, v in imgs.items() if k.startswith("heatmap_")}
        parts += [
            _summary(doc, comp),
            _images_section(doc, comp, imgs),
            _region_table(comp["record"]),
            _trends(doc),
            _bruises(doc),
            _quality(doc, comp),
        ]
    parts.append(_methods(comp))
    data = json.dumps(heat).replace("</", "<\\/")
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
        '<meta name="referrer" content="no-referrer">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="icon" href="data:,">'
        f"<title>{esc(title)}</title><style>{_CSS}</style></head><body>\n"
        + "\n".join(parts)
        + f'\n<script type="application/json" id="image-data">{data}</script>'
        + (f"<script>{_JS}</script>" if comp is not None else "")
        + "\n</body></html>\n"
    )
