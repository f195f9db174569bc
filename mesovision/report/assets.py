"""The report page's inline style sheet, script and Content Security Policy.

The layout is one column below 760 px (a phone or a tablet held upright) and two columns for the
photos above it; wide tables scroll inside their own box (focusable, so the keyboard reaches
them). Colours meet WCAG AA contrast on white. Print styles drop the interactive viewers and the
hidden rows' toggle. The script needs no library: the slider (a range input, keyboard-operable,
plus dragging on the photo), the flicker button, the heatmap toggles (checkboxes, one family at a
time) and the "every measure" switch of the region table.
"""

from __future__ import annotations

__all__ = ["CSP", "CSS", "JS"]

CSP = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
    "base-uri 'none'; form-action 'none'"
)

CSS = """
:root { --fg:#1d232a; --muted:#4f5a64; --line:#d5dbe0; --better:#1b6e36; --worse:#a4231b;
        --bg2:#f1f4f7; --accent:#0b5fa5; }
* { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
       sans-serif; color: var(--fg); margin: 0 auto; max-width: 1180px; padding: 12px 16px 48px;
       line-height: 1.45; font-size: 16px; }
h1 { font-size: 24px; margin: 8px 0 4px; }
h2 { font-size: 20px; margin: 32px 0 8px; border-bottom: 2px solid var(--line);
     padding-bottom: 4px; }
h3 { font-size: 17px; margin: 16px 0 6px; }
p { margin: 6px 0; max-width: 72ch; overflow-wrap: break-word; }
li, dd, figcaption { overflow-wrap: break-word; }
.muted { color: var(--muted); }
.meta { color: var(--muted); font-size: 15px; margin: 0 0 8px; }
ul.sentences { padding-left: 20px; margin: 6px 0; max-width: 80ch; }
ul.sentences li { margin: 6px 0; }
li.not_comparable, li.limited { color: #7a4d00; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 8px 0; }
dl.facts dt { color: var(--muted); } dl.facts dd { margin: 0; overflow-wrap: anywhere; }
.scroll { overflow-x: auto; max-width: 100%; }
.scroll:focus { outline: 2px solid var(--accent); }
table { border-collapse: collapse; width: 100%; font-size: 14px; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 6px; text-align: left;
         vertical-align: top; }
th { background: var(--bg2); }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.sig td { font-weight: 600; }
.better { color: var(--better); } .worse { color: var(--worse); }
.side { display: grid; grid-template-columns: repeat(3, 1fr); gap: 12px; }
.viewers { display: grid; grid-template-columns: 1fr 1fr; gap: 12px; }
#change-figure .toolbar { margin: 2px 0; }
.viewers { margin-top: 16px; }
figure { margin: 0; } figure img { width: 100%; height: auto; display: block; }
figcaption { color: var(--muted); font-size: 14px; margin-top: 2px; }
.toolbar { display: flex; flex-wrap: wrap; gap: 8px 16px; align-items: center; margin: 8px 0; }
.toolbar label { display: inline-flex; gap: 6px; align-items: center; cursor: pointer;
                 min-height: 32px; }
.legend img { width: 96px; height: 10px; vertical-align: middle; }
.compare { position: relative; overflow: hidden; user-select: none; touch-action: none;
           cursor: ew-resize; }
.compare img { width: 100%; height: auto; display: block; pointer-events: none; }
#slider-after { position: absolute; left: 0; top: 0; }
#slider-line { position: absolute; top: 0; bottom: 0; width: 2px; margin-left: -1px;
               background: #fff; box-shadow: 0 0 3px #000; pointer-events: none; }
#slider { width: 100%; min-height: 32px; }
button { font: inherit; padding: 6px 14px; border: 1px solid #8a96a0; border-radius: 4px;
         background: var(--bg2); color: var(--fg); cursor: pointer; min-height: 36px; }
:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
.box { border: 1px solid var(--line); border-radius: 6px; padding: 8px 14px; background: #fbfcfd; }
.ok { color: var(--better); } .fail { color: var(--worse); } .warn { color: #7a5200; }
img.plot { max-width: 100%; height: auto; display: block; margin: 8px 0; }
pre { white-space: pre-wrap; margin: 4px 0 0; font-size: 13px; }
.hidden { display: none; }
@media (max-width: 760px) {
  body { padding: 8px 10px 32px; font-size: 15px; }
  .side, .viewers { grid-template-columns: 1fr; }
  dl.facts { grid-template-columns: 1fr; } dl.facts dd { margin-bottom: 4px; }
}
@media print { .toolbar, .viewers, #all-rows-box { display: none; } h2 { break-after: avoid; }
  tr, figure, img.plot { break-inside: avoid; } .scroll { overflow: visible; } }
"""

JS = """
(function () {
  "use strict";
  function $(id) { return document.getElementById(id); }
  var allRows = $("all-rows");
  if (allRows) {
    allRows.addEventListener("change", function () {
      document.querySelectorAll("tr.region-row.extra").forEach(function (r) {
        r.classList.toggle("hidden", !allRows.checked);
      });
    });
  }
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
    fl.setAttribute("alt", showingAfter ? sideA.getAttribute("alt") : sideB.getAttribute("alt"));
    $("flicker-label").textContent = showingAfter ? "after" : "before";
    flick.setAttribute("aria-pressed", showingAfter ? "true" : "false");
  });
  var changeImg = $("change-img");
  document.querySelectorAll(".change-toggle").forEach(function (t) {
    t.addEventListener("change", function () {
      var name = t.getAttribute("data-map");
      changeImg.src = data[name];
      changeImg.setAttribute("data-map", name);
      changeImg.setAttribute("alt", "Where the " + t.parentNode.textContent.trim() + " changed");
    });
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
})();
"""
