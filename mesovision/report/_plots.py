"""Plots of the report (matplotlib :class:`~matplotlib.figure.Figure` objects, no pyplot, so no
global backend): trends per metric family, the bruise timeline and the side-effect timeline."""

from __future__ import annotations

import io

import numpy as np

from ._deid import short_date
from ._doc import Series, and_list, fmt_signed
from ._side_effects import BruiseEntry, SideEffects

__all__ = [
    "COURSE_LEGEND",
    "EPISODE_MARKERS",
    "REGION_COLOURS",
    "REGION_DASHES",
    "STAGE_COLOURS",
    "FONT_PT",
    "course_figure",
    "bruise_figure",
    "draw_bruises",
    "side_effect_alt",
    "side_effect_figure",
    "colourbar_png",
    "png_bytes",
]

#: Colours of the bruise stages (in :data:`mesovision.metrics.bruise.STAGES` order).
STAGE_COLOURS = {"red-purple": "#8e2c6e", "blue-green": "#2c7f8e", "yellow-brown": "#c2a23a"}


def _figure(width_in: float, height_in: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width_in, height_in), dpi=100)


#: Smallest font (pt) of the course figure: 10 pt is 13 px at 96 dpi and 100 % zoom.
FONT_PT = 10


#: The course figure's legend in words (its caption, and the PDF summary's glossary).
COURSE_LEGEND = (
    "The course figure shows the change since the first session. The grey band is what one "
    "retake of the photo changes for that measure; a filled dot is a significant change "
    "(beyond the band once the many measures tested at once are allowed for), an open dot one "
    "that is not significant, and a grey cross a value that was not tested, because the photos "
    "were not comparable for that measure (no band is drawn for it)."
)
#: Average width of a character of DejaVu Sans, as a share of the font size (for wrapping).
_CHAR_EM = 0.56
#: Colour of the values that were not tested.
_UNTESTED = "0.45"


def _wrap(text: str, width_in: float, pt: float) -> str:
    """``text`` wrapped to lines that fit ``width_in`` inches at ``pt`` points."""
    return _fill(text, max(8, int(width_in * 72 / (_CHAR_EM * pt))))


def _fill(text: str, chars: int) -> str:
    import textwrap

    longest = max((len(w) for w in text.split()), default=0)
    return textwrap.fill(
        text, chars, break_long_words=chars < min(longest, 8), break_on_hyphens=False
    )


def _fit_titles(fig, axes: list, titles: list[str]) -> None:
    """Wrap each column's title (``titles``, unwrapped) until it fits above its panel: within
    the panel's width and half the gap to each neighbour, inside the canvas. The layout engine
    sizes the panels but, by design, lets a title wider than its panel run over (matplotlib
    trims titles to their axes for the layout), so the fit is checked on the drawn layout."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)  # text extents need a renderer; nothing is rasterized here
    for _ in range(3):  # re-wrapping a title changes its height, and so the layout
        fig.draw_without_rendering()  # runs the layout engine and sets the tick labels
        boxes = [ax.get_window_extent() for ax in axes]
        changed = False
        for k, (ax, text) in enumerate(zip(axes, titles, strict=True)):
            left = boxes[k - 1].x1 if k else 0.0
            right = boxes[k + 1].x0 if k + 1 < len(boxes) else fig.bbox.width
            mid = (boxes[k].x0 + boxes[k].x1) / 2
            room = 2 * min(mid - (boxes[k].x0 + left) / 2, (boxes[k].x1 + right) / 2 - mid) - 4
            chars = max(len(line) for line in ax.get_title().splitlines())
            while ax.title.get_window_extent().width > room and chars > 4:
                chars -= 1
                ax.set_title(_fill(text, chars), fontsize=FONT_PT + 1)
                changed = True
        if not changed:
            break
    fig.set_layout_engine("none")  # the layout found holds: drawing again need not redo it


def _caption(untested: bool) -> str:
    text = "Change since the first session; grey band: what one retake of the photo changes; "
    text += "filled dots: significant; open dots: not significant"
    return text + ("; grey crosses: not tested (photos not comparable for it)" if untested else "")


def _panel(ax, s: Series) -> None:
    """One panel: the band where tested, the tested values joined by a line (filled where
    significant), the untested ones as grey crosses, and "not tested" under it when none
    was."""
    x = np.arange(len(s.dates))
    d, f = np.asarray(s.delta, float), np.asarray(s.floor, float)
    tested = np.asarray(s.tested if s.tested is not None else [True] * len(x), bool)
    f = np.where(tested, f, np.nan)  # no retake band where nothing was tested
    if np.isfinite(f).any():
        ax.fill_between(x, -f, f, color="0.85", lw=0, label="retake range")
    ax.axhline(0.0, color="0.5", lw=0.8)
    ok = tested & np.isfinite(d)
    ax.plot(x[ok], d[ok], color="#0b5fa5", lw=1.6)
    sig = np.asarray(s.significant, bool) & ok
    ax.plot(x[sig], d[sig], "o", color="#0b5fa5", ms=5, zorder=3)
    ax.plot(x[ok & ~sig], d[ok & ~sig], "o", mfc="white", mec="#0b5fa5", ms=4.5, zorder=3)
    ax.plot(x[~tested], d[~tested], "x", color=_UNTESTED, ms=6, mew=1.6, zorder=3)
    if not tested[1:].any():  # said under the panel, where no value can hide it
        ax.set_xlabel("not tested", fontsize=FONT_PT, color=_UNTESTED)
    ax.set_xticks(x)
    shown = {0, len(x) - 1}  # first and last date: more do not fit at 10 pt
    ax.set_xticklabels(
        [short_date(t) if k in shown else "" for k, t in enumerate(s.dates)],
        fontsize=FONT_PT,
    )
    ax.tick_params(axis="y", labelsize=FONT_PT)
    ax.yaxis.set_major_locator(_locator())
    ax.set_xlim(-0.3, len(x) - 0.7)


def _locator():
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(nbins=4)


def course_figure(series: list[Series], labels: dict[str, str], *, width_in: float = 8.0):
    """Small multiples of the course: one row per region, one column per metric family (its
    headline metric, named by ``labels``: metric -> display name); each panel the change since
    the baseline, the band of +/- the noise floor (what a retake of the photo changes) in grey
    where the value was tested, filled markers where the change is significant, grey crosses
    where it was not tested (its family not comparable for that comparison). Fonts at least
    :data:`FONT_PT`; titles are wrapped to their column and matplotlib's constrained layout
    keeps the titles, tick labels and axis labels of the panels apart."""
    regions = list(dict.fromkeys(s.region for s in series))
    families = list(dict.fromkeys(s.family for s in series))
    rows, cols = max(1, len(regions)), max(1, len(families))
    by_key = {(s.region, s.family): s for s in series}
    col_in = (width_in - 0.5) / cols - 0.15  # a title may use its column's width, less a gap
    titles = []
    for family in families:
        s = next((by_key[(r, family)] for r in regions if (r, family) in by_key), None)
        name = (s.title or labels.get(s.metric, family)) if s else family
        kept = s.unit.replace(" ", "\N{NO-BREAK SPACE}") if s and s.unit != "1" else ""
        unit = f" ({kept})" if kept else ""  # the unit is not broken across lines
        titles.append(_wrap(name[:1].upper() + name[1:] + unit, col_in, FONT_PT + 1))
    untested = any(s.tested is not None and not all(s.tested) for s in series)
    caption = _wrap(_caption(untested), width_in - 0.3, FONT_PT)
    lines = max((t.count("\n") + 1 for t in titles), default=1) + caption.count("\n") + 1
    height = 0.55 + 0.2 * lines + 1.35 * rows
    fig = _figure(width_in, height)
    fig.set_layout_engine("constrained", w_pad=0.04, h_pad=0.04, wspace=0.04, hspace=0.06)
    if not series:
        ax = fig.add_subplot(1, 1, 1)
        ax.axis("off")
        ax.text(0.5, 0.5, "nothing measured yet", ha="center", va="center", fontsize=FONT_PT)
        return fig
    for i, region in enumerate(regions):
        for j, family in enumerate(families):
            s = by_key.get((region, family))
            ax = fig.add_subplot(rows, cols, i * cols + j + 1)
            if i == 0:
                ax.set_title(titles[j], fontsize=FONT_PT + 1)
            if j == 0:
                ax.set_ylabel(region.replace("_", " "), fontsize=FONT_PT)
            if s is None:
                ax.axis("off")
                continue
            _panel(ax, s)
    fig.suptitle(caption, fontsize=FONT_PT, parse_math=False)
    _fit_titles(fig, fig.axes[:cols], [t.replace("\n", " ") for t in titles])
    return fig


def bruise_figure(entries: list[BruiseEntry], *, width_in: float = 8.0, skin: str = "facial skin"):
    """Bruise area (% of ``skin``: facial skin, the measured area) per session, stacked by
    colour stage."""
    fig = _figure(width_in, 3.2)
    fig.subplots_adjust(left=0.1, right=0.97, top=0.88, bottom=0.22)
    draw_bruises(fig.add_subplot(1, 1, 1), entries, skin=skin)
    return fig


def draw_bruises(ax, entries: list[BruiseEntry], *, skin: str = "facial skin") -> None:
    """Draw the bruise timeline on ``ax`` (its area in % of ``skin``)."""
    from ..metrics.bruise import STAGES

    labels = [f"{e.date}\n({e.status})" for e in entries]
    x = np.arange(len(entries))
    bottom = np.zeros(len(entries))
    stages = list(STAGES) + sorted({s for e in entries for s in e.by_stage} - set(STAGES))
    for stage in stages:
        v = np.array([e.by_stage.get(stage, 0.0) for e in entries])
        if not v.any():
            continue
        ax.bar(x, v, bottom=bottom, color=STAGE_COLOURS.get(stage, "0.4"), label=stage, width=0.6)
        bottom += v
    for xi, e in zip(x, entries, strict=True):
        text = f"{e.area_pct:.2g} %" if np.isfinite(e.area_pct) else "\u2013"
        ax.text(xi, bottom[xi], text, ha="center", va="bottom", fontsize=8)
    ax.set_xticks(x)
    ax.set_xticklabels(labels, fontsize=8)
    ax.set_ylabel(f"bruise area (% of {skin})", fontsize=8)
    ax.set_ylim(0, max(1.0, float(bottom.max()) * 1.25))
    ax.set_title("Bruise timeline", fontsize=10)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7)


#: Marker of each episode drawn (the latest sessions, at most as many as there are markers, so
#: that each marker means one session), in order, and its name in the figure's caption.
EPISODE_MARKERS = ("o", "s", "^", "D", "v", "P")
_MARKER_NAMES = ("circles", "squares", "triangles", "diamonds", "down-triangles", "crosses")
#: Colour of each treated region (Okabe-Ito, told apart with the common colour-vision
#: deficiencies) and its line style, so that a region is told by its line as well as by its
#: colour (WCAG 1.4.1); each panel's legend names them.
REGION_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#000000", "#E69F00", "#56B4E9")
REGION_DASHES = (
    "-",
    (0, (6, 2)),
    (0, (1, 1.5)),
    (0, (6, 2, 1, 2)),
    (0, (3, 3)),
    (0, (10, 2, 2, 2, 2, 2)),
    (0, (1, 3)),
)
#: The panels of the side-effect figure: title, axis label and the values of a point.
_EFFECT_PANELS = (
    ("Bruising", "bruised area change (% of region)", "bruise"),
    ("Swelling", "outward shift (% of eye distance)", "swelling"),
)


def _region_style(j: int) -> dict:
    return {
        "color": REGION_COLOURS[j % len(REGION_COLOURS)],
        "linestyle": REGION_DASHES[j % len(REGION_DASHES)],
    }


def _effect_values(ep, region: str, what: str):
    """Days, values, noise floors and significance of ``region``'s ``what`` (``bruise`` or
    ``swelling``) over episode ``ep``."""
    pts = ep.points
    x = np.array([p.days for p in pts], float)
    if what == "bruise":
        v = [p.bruise_pct[region] for p in pts]
        f = [p.bruise_floor.get(region, np.nan) for p in pts]
        sig = [p.bruise_significant.get(region, False) for p in pts]
    else:
        v = [p.swelling[region] for p in pts]
        f = [p.swelling_floor[region] for p in pts]
        sig = [p.swelling_significant[region] for p in pts]
    return x, np.array(v, float), np.array(f, float), np.array(sig, bool)


def _effect_lines(ax, ep, region: str, what: str, style: dict, marker: str) -> bool:
    """One region's ``what`` over one episode on ``ax``: the grey retake range of each photo,
    the values joined by the region's line (broken where not measured), filled markers beyond
    the range, and a grey cross at the panel's foot where the photo was not measured; whether
    any was not."""
    x, v, f, sig = _effect_values(ep, region, what)
    ok = np.isfinite(v)
    band = ok & np.isfinite(f)
    ax.errorbar(x[band], v[band], yerr=f[band], fmt="none", ecolor="0.8", lw=3)
    ax.plot(x, v, lw=1.4, gid=f"{region}@{ep.session_id}", **style)
    c = style["color"]
    ax.plot(x[ok & sig], v[ok & sig], marker, color=c, ms=6, zorder=3)
    ax.plot(x[ok & ~sig], v[ok & ~sig], marker, mfc="white", mec=c, ms=5, zorder=3)
    if (~ok).any():  # at the panel's foot, where no value can hide it
        foot = ax.get_xaxis_transform()
        ax.plot(x[~ok], [0.04] * int((~ok).sum()), "x", color=_UNTESTED, ms=7, mew=1.8,
                transform=foot, zorder=4, gid="not compared")  # fmt: skip
    return bool((~ok).any())


def _effect_caption(shown: list, total: int, untested: bool) -> str:
    sessions = ", ".join(f"{_MARKER_NAMES[k]} {short_date(e.date)}" for k, e in enumerate(shown))
    which = "each session" if len(shown) == total else f"the last {len(shown)} of {total} sessions"
    text = f"Days after {which} ({sessions}); filled markers: beyond what retaking the photo "
    text += "changes (grey bars)"
    return text + ("; grey crosses at the foot: photo not measured" if untested else "")


def side_effect_figure(effects: SideEffects, *, width_in: float = 8.0):
    """Bruising and swelling side by side over the days after each of the latest sessions (as
    many as :data:`EPISODE_MARKERS`, one marker each): the change of the bruised area (% of the
    region) and the swelling (change of the contour since the baseline, % IOD), each with the
    grey retake range of each photo, per treated region (a colour and a line style each, named
    in each panel's legend) against the days since the session; filled markers are beyond the
    retake range, grey crosses photos not compared. The caption is wrapped inside the figure.
    Fonts at least :data:`FONT_PT`."""
    from matplotlib.lines import Line2D

    shown = effects.episodes[-len(EPISODE_MARKERS) :]
    axes_h, line_h = 2.2, FONT_PT * 1.25 / 72
    probe = _effect_caption(shown, len(effects.episodes), True)
    caption_h = line_h * _wrap(probe, width_in - 0.3, FONT_PT).count("\n") + line_h
    height = 0.55 + axes_h + 0.35 + caption_h + 0.15
    fig = _figure(width_in, height)
    fig.subplots_adjust(
        left=0.12, right=0.98, top=(0.55 + axes_h) / height, bottom=0.55 / height, wspace=0.38
    )
    panels = _EFFECT_PANELS if effects.swelling else _EFFECT_PANELS[:1]  # swelling: faces
    axes = [fig.add_subplot(1, len(panels), i + 1) for i in range(len(panels))]
    untested = False
    for k, ep in enumerate(shown):
        for j, region in enumerate(effects.regions):
            if region in ep.regions:  # treated that session
                for ax, (_, _, what) in zip(axes, panels, strict=True):
                    style = _region_style(j)
                    untested |= _effect_lines(ax, ep, region, what, style, EPISODE_MARKERS[k])
    drawn = [r for r in effects.regions if any(r in e.regions for e in shown)]
    handles = [
        Line2D([], [], lw=1.4, label=effects.label(r), **_region_style(j))
        for j, r in enumerate(effects.regions)
        if r in drawn
    ]
    for ax, (title, unit, _) in zip(axes, panels, strict=True):
        ax.set_title(title, fontsize=FONT_PT + 1)
        ax.set_xlabel("days since the session", fontsize=FONT_PT)
        ax.set_ylabel(unit, fontsize=FONT_PT)
        ax.axhline(0.0, color="0.5", lw=0.8)
        ax.tick_params(labelsize=FONT_PT)
        if handles:
            ax.legend(handles=handles, fontsize=FONT_PT, loc="best", handlelength=3)
    caption = _effect_caption(shown, len(effects.episodes), untested)
    fig.text(
        0.5,
        1 - 0.15 / height,
        _wrap(caption, width_in - 0.3, FONT_PT),
        ha="center",
        va="top",
        fontsize=FONT_PT,
        parse_math=False,
    )
    return fig


def _values_text(values: list[float], sig: list[bool]) -> str:
    return ", ".join(
        "not measured"
        if not np.isfinite(v)
        else f"{fmt_signed(v, 2)} %" + (" (beyond the retake range)" if s else "")
        for v, s in zip(values, sig, strict=True)
    )


def side_effect_alt(effects: SideEffects) -> str:
    """The side-effect figure in words (its alt text): per session drawn, the days of its
    photos and, per region it treated, the bruised area's change and the swelling at each."""
    shown = effects.episodes[-len(EPISODE_MARKERS) :]
    total = len(effects.episodes)
    which = "each session" if len(shown) == total else f"the last {len(shown)} of {total} sessions"
    swelling = " and swelling (% of the eye distance)" if effects.swelling else ""
    out = [
        f"Bruising (change of the bruised area, % of the region){swelling} over the days after "
        f"{which}."
    ]
    measures = (("bruising", "bruise"), ("swelling", "swelling"))[: 2 if effects.swelling else 1]
    for ep in shown:
        days = [str(p.days) for p in ep.points]
        parts = []
        for r in ep.regions:
            words = []
            for name, what in measures:
                _, v, _, sig = _effect_values(ep, r, what)
                words.append(f"{name} {_values_text(list(v), list(sig))}")
            parts.append(f"{effects.label(r)}: {'; '.join(words)}")
        when = "day" if len(days) == 1 else "days"
        out.append(f"After the session of {ep.date} ({when} {and_list(days)}): {'. '.join(parts)}.")
    return " ".join(out)


def colourbar_png(cmap: str, *, width_px: int = 256, height_px: int = 12) -> bytes:
    """A horizontal gradient of the colour map, as PNG bytes."""
    import matplotlib

    from ._images import encode

    lut = matplotlib.colormaps[cmap](np.linspace(0.0, 1.0, width_px))[:, :3]
    return encode(np.repeat(lut[None, :, :], height_px, axis=0).astype(np.float32), fmt="png")


def png_bytes(fig, *, dpi: int = 80) -> bytes:
    """The figure rendered by the Agg canvas to PNG bytes (no metadata beyond the Software key,
    which is removed)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    return buf.getvalue()
