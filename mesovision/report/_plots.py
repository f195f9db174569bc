"""Plots of the report (matplotlib :class:`~matplotlib.figure.Figure` objects, no pyplot, so no
global backend): trends per metric family and the bruise timeline."""

from __future__ import annotations

import datetime
import io

import numpy as np

from ._doc import BruiseEntry, Series

__all__ = [
    "STAGE_COLOURS",
    "FONT_PT",
    "course_figure",
    "bruise_figure",
    "draw_bruises",
    "colourbar_png",
    "png_bytes",
]

#: Colours of the bruise stages (in :data:`mesovision.metrics.bruise.STAGES` order).
STAGE_COLOURS = {"red-purple": "#8e2c6e", "blue-green": "#2c7f8e", "yellow-brown": "#c2a23a"}


def _dates(dates: list[str]) -> list[datetime.date]:
    return [datetime.date.fromisoformat(d) for d in dates]


def _figure(width_in: float, height_in: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width_in, height_in), dpi=100)


#: Smallest font (pt) of the course figure: 10 pt is 13 px at 96 dpi and 100 % zoom.
FONT_PT = 10


def _short(d: datetime.date) -> str:
    return f"{d.day} {d.strftime('%b')}"


def course_figure(series: list[Series], labels: dict[str, str], *, width_in: float = 8.0):
    """Small multiples of the course: one row per region, one column per metric family (its
    headline metric, named by ``labels``: metric -> display name); each panel the change since
    the baseline, the band of +/- the noise floor (what a retake of the photo changes) in grey,
    filled markers where the change is beyond it. Fonts at least :data:`FONT_PT`."""
    regions = list(dict.fromkeys(s.region for s in series))
    families = list(dict.fromkeys(s.family for s in series))
    rows, cols = max(1, len(regions)), max(1, len(families))
    panel_h = 1.35
    height = 0.9 + panel_h * rows
    fig = _figure(width_in, height)
    fig.subplots_adjust(
        left=0.95 / width_in,
        right=1 - 0.15 / width_in,
        top=1 - 0.55 / height,
        bottom=0.55 / height,
        wspace=0.45,
        hspace=0.55,
    )
    if not series:
        ax = fig.add_subplot(1, 1, 1)
        ax.axis("off")
        ax.text(0.5, 0.5, "nothing measured yet", ha="center", va="center", fontsize=FONT_PT)
        return fig
    by_key = {(s.region, s.family): s for s in series}
    for i, region in enumerate(regions):
        for j, family in enumerate(families):
            s = by_key.get((region, family))
            ax = fig.add_subplot(rows, cols, i * cols + j + 1)
            if i == 0:
                name = labels.get(s.metric, family) if s else family
                unit = f" ({s.unit})" if s and s.unit and s.unit != "1" else ""
                ax.set_title(name[:1].upper() + name[1:] + unit, fontsize=FONT_PT + 1)
            if j == 0:
                ax.set_ylabel(region.replace("_", " "), fontsize=FONT_PT)
            if s is None:
                ax.axis("off")
                continue
            x = np.arange(len(s.dates))
            d, f = np.asarray(s.delta, float), np.asarray(s.floor, float)
            if np.isfinite(f).any():
                ax.fill_between(x, -f, f, color="0.85", lw=0, label="retake range")
            ax.axhline(0.0, color="0.5", lw=0.8)
            ax.plot(x, d, color="#0b5fa5", lw=1.6)
            sig = np.asarray(s.significant, bool)
            ax.plot(x[sig], d[sig], "o", color="#0b5fa5", ms=5, zorder=3)
            ax.plot(x[~sig], d[~sig], "o", mfc="white", mec="#0b5fa5", ms=4.5, zorder=3)
            ax.set_xticks(x)
            shown = {0, len(x) - 1}  # first and last date: more do not fit at 10 pt
            ax.set_xticklabels(
                [_short(t) if k in shown else "" for k, t in enumerate(_dates(s.dates))],
                fontsize=FONT_PT,
            )
            ax.tick_params(axis="y", labelsize=FONT_PT)
            ax.set_xlim(-0.3, len(x) - 0.7)
    fig.text(
        0.5,
        1 - 0.12 / height,
        "Change since the first session; grey band: what retaking the photo changes; "
        "filled dots: beyond it",
        ha="center",
        va="top",
        fontsize=FONT_PT,
        parse_math=False,
    )
    return fig


def bruise_figure(entries: list[BruiseEntry], *, width_in: float = 8.0):
    """Bruise area (% of facial skin) per session, stacked by colour stage."""
    fig = _figure(width_in, 3.2)
    fig.subplots_adjust(left=0.1, right=0.97, top=0.88, bottom=0.22)
    draw_bruises(fig.add_subplot(1, 1, 1), entries)
    return fig


def draw_bruises(ax, entries: list[BruiseEntry]) -> None:
    """Draw the bruise timeline on ``ax``."""
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
        ax.text(xi, bottom[xi], f"{e.area_pct:.2g} %", ha="center", va="bottom", fontsize=8)
    ax.set_xticks(x)
    ax.set_xticklabels(labels, fontsize=8)
    ax.set_ylabel("bruise area (% of facial skin)", fontsize=8)
    ax.set_ylim(0, max(1.0, float(bottom.max()) * 1.25))
    ax.set_title("Bruise timeline", fontsize=10)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7)


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
