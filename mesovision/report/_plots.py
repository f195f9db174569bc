"""Plots of the report (matplotlib :class:`~matplotlib.figure.Figure` objects, no pyplot, so no
global backend): trends per metric family, the bruise timeline and the side-effect timeline."""

from __future__ import annotations

import io

import numpy as np

from ._deid import short_date
from ._doc import Series
from ._side_effects import BruiseEntry, SideEffects

__all__ = [
    "COURSE_LEGEND",
    "EPISODE_MARKERS",
    "STAGE_COLOURS",
    "FONT_PT",
    "course_figure",
    "bruise_figure",
    "draw_bruises",
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


#: Marker of each episode (the sessions after which side effects are drawn), in order, and
#: its name in the figure's caption.
EPISODE_MARKERS = ("o", "s", "^", "D", "v", "P")
_MARKER_NAMES = ("circles", "squares", "triangles", "diamonds", "down-triangles", "crosses")


def side_effect_figure(effects: SideEffects, *, width_in: float = 8.0):
    """Bruising and swelling side by side over the days after each session: bruise area (% of
    the facial skin) and swelling (change of the contour since the baseline, % IOD, with the
    grey retake range of each photo) per treated region (one colour each) against the days
    since the session (one marker per session); filled swelling markers are beyond the
    retake range. Fonts at least :data:`FONT_PT`."""
    import matplotlib

    height = 3.4
    fig = _figure(width_in, height)
    fig.subplots_adjust(left=0.09, right=0.98, top=0.8, bottom=0.16, wspace=0.3)
    bruise_ax, swell_ax = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    colours = matplotlib.colormaps["tab10"].colors
    for k, ep in enumerate(effects.episodes):
        mk = EPISODE_MARKERS[k % len(EPISODE_MARKERS)]
        x = np.array([p.days for p in ep.points], float)
        for j, region in enumerate(effects.regions):
            if region not in ep.regions:  # not treated that session
                continue
            c = colours[j % len(colours)]
            first = next(e for e in effects.episodes if region in e.regions)
            label = region.replace("_", " ") if first is ep else None
            b = np.array([p.bruise_pct[region] for p in ep.points])
            bruise_ax.plot(x, b, "-", marker=mk, color=c, ms=5, lw=1.4, label=label)
            d = np.array([p.swelling[region] for p in ep.points])
            f = np.array([p.swelling_floor[region] for p in ep.points])
            sig = np.array([p.swelling_significant[region] for p in ep.points])
            ok = np.isfinite(f)
            swell_ax.errorbar(x[ok], d[ok], yerr=f[ok], fmt="none", ecolor="0.75", lw=3)
            swell_ax.plot(x, d, "-", color=c, lw=1.4)
            swell_ax.plot(x[sig], d[sig], mk, color=c, ms=6, zorder=3)
            swell_ax.plot(x[~sig], d[~sig], mk, mfc="white", mec=c, ms=5, zorder=3)
    for ax, title, unit in (
        (bruise_ax, "Bruising", "bruise area (% of facial skin)"),
        (swell_ax, "Swelling", "outward shift (% of eye distance)"),
    ):
        ax.set_title(title, fontsize=FONT_PT + 1)
        ax.set_xlabel("days since the session", fontsize=FONT_PT)
        ax.set_ylabel(unit, fontsize=FONT_PT)
        ax.axhline(0.0, color="0.5", lw=0.8)
        ax.tick_params(labelsize=FONT_PT)
    if effects.regions and effects.episodes:
        bruise_ax.legend(fontsize=FONT_PT - 1, loc="upper right")
    sessions = ", ".join(
        f"{_MARKER_NAMES[k % len(_MARKER_NAMES)]} {short_date(e.date)}"
        for k, e in enumerate(effects.episodes)
    )
    fig.text(
        0.5,
        1 - 0.1 / height,
        f"After each session ({sessions}); grey: what retaking the photo changes",
        ha="center",
        va="top",
        fontsize=FONT_PT,
        parse_math=False,
    )
    return fig


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
