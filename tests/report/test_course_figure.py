"""The course figure (small multiples of the treated regions' headline measures): no text
overlaps another or leaves the canvas, at the PDF's width and at the HTML's, with long measure
names; values that were not tested (their family not comparable for that comparison) are drawn
apart, without a retake band."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest

from mesovision.report import _doc, _plots
from mesovision.report._doc import Series
from mesovision.testing.course import side_effect_course

#: Long display names, as a clinic's own metric names could be.
LABELS = {
    "redness.mean_a": "redness of the skin, the average a* over the area",
    "pigmentation.spot_count": "brown spots counted in the region",
    "texture.roughness_ra": "roughness of the skin surface (arithmetic mean)",
    "bruise.area_pct": "bruised area of the treated region",
    "swelling.contour_pct_iod": "contour shift (outward) of the face outline",
}
UNITS = {"redness.mean_a": "a*", "pigmentation.spot_count": "count", "texture.roughness_ra": "L*",
         "bruise.area_pct": "%", "swelling.contour_pct_iod": "% IOD"}  # fmt: skip
FAMILIES = ("colour", "pigmentation", "texture", "bruise", "geometry")


def _series(regions=("left_periorbital", "right_nasolabial", "forehead", "left_cheek")):
    dates = ["2026-01-05", "2026-02-02", "2026-03-02", "2026-04-27"]
    out = []
    for region in regions:
        for k, (family, metric) in enumerate(zip(FAMILIES, LABELS, strict=True)):
            delta = [0.0, -0.05 * (k + 1), 0.0125, -0.497]
            floor = [0.03, 0.03, 0.025, 0.433]
            sig = [False, True, False, False]
            out.append(Series(region, metric, family, UNITS[metric], dates, delta, floor, sig))
    return out


def _texts(fig) -> list:
    """Every text drawn: the figure's (its caption), and per axes shown its title, axis labels,
    texts and the tick labels of the ticks inside its view."""
    out = list(fig.texts)
    for ax in fig.axes:
        out += [ax.title, ax.xaxis.label, ax.yaxis.label, *ax.texts]
        if not ax.axison:
            continue
        for axis, limits in ((ax.xaxis, ax.get_xlim()), (ax.yaxis, ax.get_ylim())):
            lo, hi = min(limits), max(limits)
            out += [t.label1 for t in axis.get_major_ticks() if lo <= t.get_loc() <= hi]
    return [t for t in out if t.get_visible() and t.get_text().strip()]


def _layout_faults(fig) -> list[str]:
    """Texts (their bounding boxes, as matplotlib draws them) that overlap another or leave the
    canvas."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig).draw()
    renderer = fig.canvas.get_renderer()
    boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in _texts(fig)]
    faults = []
    for k, (a, box) in enumerate(boxes):
        if box.x0 < 0 or box.y0 < 0 or box.x1 > fig.bbox.width or box.y1 > fig.bbox.height:
            faults.append(f"{a!r} leaves the canvas")
        for b, other in boxes[k + 1 :]:
            dx = min(box.x1, other.x1) - max(box.x0, other.x0)
            dy = min(box.y1, other.y1) - max(box.y0, other.y0)
            if dx > 0.5 and dy > 0.5:
                faults.append(f"{a!r} overlaps {b!r}")
    return faults


def test_the_registered_names_fit_the_pdf_figure():
    """The measures' own display names at the PDF's width (the audit's "Brown spots
    (count)Roughness (L*)" ran together there)."""
    from mesovision.report._pdfkit import labels

    fig = _plots.course_figure(_series(), labels(), width_in=7.2)
    assert _layout_faults(fig) == []
    assert fig.axes[1].get_title().startswith("Brown spots")


@pytest.mark.parametrize("width_in", [7.2, 9.0])  # the PDF's figure, the HTML's
@pytest.mark.parametrize("n_regions", [1, 4])
def test_no_text_overlaps_or_leaves_the_figure(width_in, n_regions):
    fig = _plots.course_figure(_series()[: 5 * n_regions], LABELS, width_in=width_in)
    assert _layout_faults(fig) == []  # drawn: the tick labels have their text now
    texts = _texts(fig)
    assert len(texts) > 5 * 5 * n_regions  # titles, tick labels, region names, the caption
    # every title is whole (wrapped, not cut), at the figure's smallest font or larger
    titles = [ax.get_title().replace("\n", " ").replace("\N{NO-BREAK SPACE}", " ")
              for ax in fig.axes[:5]]  # fmt: skip
    assert titles[0] == "Redness of the skin, the average a* over the area (a*)"
    assert titles[4] == "Contour shift (outward) of the face outline (% IOD)"
    assert min(t.get_fontsize() for t in texts) >= _plots.FONT_PT


def test_values_not_tested_have_no_band_and_are_marked():
    """The third session's comparison is not comparable for geometry: its swelling is shown as
    a grey cross without a retake band, the caption says what the crosses are; a measure never
    tested says so in its panel."""
    doc = copy.deepcopy(side_effect_course([(0, ["left_cheek"], {}, {}),
                                            (3, [], {"left_cheek": 3.0}, {}),
                                            (7, [], {"left_cheek": -2.0}, {}),
                                            (14, [], {"left_cheek": 0.2}, {})]))  # fmt: skip
    comps = _doc.baseline_comparisons(doc)
    comps[1]["record"]["comparability"] = {
        "geometry": {"status": "not_comparable", "reason": "geometry: head turned"}
    }
    (s,) = [x for x in _doc.course_series(doc) if x.family == "geometry"]
    assert s.tested == [True, True, False, True]
    assert s.delta == [0.0, 3.0, -2.0, 0.2]
    assert math.isnan(s.floor[2]) and s.floor[3] == 0.5
    fig = _plots.course_figure([s], LABELS)
    ax = fig.axes[0]
    (band,) = ax.collections
    covered = {round(float(x), 6) for p in band.get_paths() for x in p.vertices[:, 0]}
    assert 2.0 not in covered and {0.0, 1.0, 3.0} <= covered
    crosses = [ln for ln in ax.lines if ln.get_marker() == "x"]
    assert [tuple(p) for ln in crosses for p in ln.get_xydata()] == [(2.0, -2.0)]
    joined = [ln for ln in ax.lines if ln.get_linestyle() == "-" and len(ln.get_xdata()) > 2]
    assert [list(ln.get_xdata()) for ln in joined] == [[0, 1, 3]]  # the line skips it
    assert "grey crosses: not tested" in fig.texts[0].get_text().replace("\n", " ")
    assert ax.get_xlabel() == ""
    for c in comps:  # never tested
        c["record"]["comparability"] = {"geometry": {"status": "not_comparable", "reason": "x"}}
    (s,) = [x for x in _doc.course_series(doc) if x.family == "geometry"]
    fig = _plots.course_figure([s], LABELS)
    assert fig.axes[0].get_xlabel() == "not tested"
    assert not fig.axes[0].collections  # no band at all
    tested = _plots.course_figure([Series(*[getattr(s, f) for f in (
        "region", "metric", "family", "unit", "dates", "delta", "floor", "significant")])],
        LABELS)  # fmt: skip
    assert "not tested" not in tested.texts[0].get_text()
    assert np.isfinite(s.delta).all()
