"""The side-effect section against the audit's cases: a bruise of a treated region whose blob is
assigned to an untreated neighbour, a treated session whose photo was refused (its episode
and the bruise timeline's gap), and the figure's caption, markers, regions and alt text, on
synthetic courses of known truth (mesovision.testing.course)."""

from __future__ import annotations

import copy
import html as html_lib
import math
import re

import pytest

from mesovision.report import _doc, _plots, sections
from mesovision.report._side_effects import bruise_timeline, side_effects
from mesovision.testing.course import side_effect_course

TREATED = ["left_cheek", "chin"]


def _refuse(doc: dict, session_id: int, *, check: str = "yaw", value: float = 17.06) -> dict:
    """``doc`` with session ``session_id``'s comparisons removed and its refusal against the
    baseline recorded (as :func:`mesovision.course.course_document` records one)."""
    doc = copy.deepcopy(doc)
    doc["comparisons"] = [c for c in doc["comparisons"] if c["session_id"] != session_id]
    date = next(s["date"] for s in doc["sessions"] if s["id"] == session_id)
    doc["refusals"] = [
        {
            "session_id": session_id,
            "date": date,
            "against": "baseline",
            "against_session_id": 1,
            "photo_session_id": session_id,
            "error": "AlignmentError",
            "check": check,
            "value": value,
            "limit": 15.0,
            "message": f"head turned +{value:.0f} deg (yaw) from the before photo; limit 15",
            "note": "not compared",
        }
    ]
    return doc


def test_a_treated_regions_bruise_counts_whatever_region_its_blob_is_assigned_to():
    """The audit's 20-session course: a bruise painted on the chin (treated) at session 6 is
    assigned, as one blob, to the untreated perioral region, while the chin's bruised area
    reads +5.5 % beyond its retake range. The side effects follow the treated region's measure:
    the chin's bruise is reported after the session before it (day 14) and resolved by the
    next photo; the bruise timeline still lists the blob where it lies."""
    sessions = [(14 * k, TREATED, {}, {"chin": 5.5} if k == 5 else {}) for k in range(8)]
    doc = copy.deepcopy(side_effect_course(sessions, patient="P020"))
    comp = next(c for c in doc["comparisons"] if c["session_id"] == 6)
    for item in comp["record"]["bruises"]["after"]["bruises"]:
        item["region"] = "perioral"  # the blob's largest overlap: the untreated neighbour
    fx = side_effects(doc)
    assert [p.bruise_pct["chin"] for p in fx.episodes[4].points] == [0.0, 5.5]
    assert fx.episodes[4].points[1].bruise_significant["chin"]
    assert fx.sentences[0] == (
        "Bruising of the chin after the session of 2025-03-03: +5.5 % of the region's area on "
        "day 14, the last photo after that session (resolution not seen)."
    )
    assert not any(s.startswith("No bruising") for s in fx.sentences)
    row = next(e for e in bruise_timeline(doc) if e.session_id == 6)
    assert row.regions == {"perioral": 5.5} and row.status == "bruise present"
    # the figure draws the same values
    chin = next(
        ln for ln in _plots.side_effect_figure(fx).axes[0].lines if ln.get_gid() == "chin@5"
    )
    assert list(chin.get_ydata()) == [0.0, 5.5]


def test_a_change_within_the_retake_range_is_no_bruise():
    """A bruised-area change not beyond its noise floor (0.2 % of the region) is not reported,
    as the course figure draws it as an open dot."""
    doc = side_effect_course([(0, TREATED, {}, {}), (7, [], {}, {"chin": 0.15})])
    assert side_effects(doc).sentences[0] == (
        "No bruising in the treated regions after any session."
    )


#: Five sessions four weeks apart, all treated (the audit's course P001): a bruise of the left
#: cheek on 2025-02-03 (day 28 after the session of 2025-01-06) and 2025-03-03, the photo of
#: 2025-03-31 refused (head turned 17°), none on 2025-04-28.
REFUSED = [
    (0, TREATED, {}, {}),
    (28, TREATED, {}, {"left_cheek": 2.0}),
    (56, TREATED, {}, {"left_cheek": 1.9}),
    (84, TREATED, {}, {}),
    (112, TREATED, {}, {}),
]


@pytest.fixture(scope="module")
def refused() -> dict:
    return _refuse(side_effect_course(REFUSED), 4)


def test_an_episode_ends_at_the_next_treating_session_even_if_its_photo_was_refused(refused):
    fx = side_effects(refused)
    assert [e.date for e in fx.episodes] == [
        "2025-01-06", "2025-02-03", "2025-03-03", "2025-03-31", "2025-04-28"
    ]  # fmt: skip
    third, fourth = fx.episodes[2], fx.episodes[3]
    # the session of 2025-03-03 is followed by the refused photo of 2025-03-31 (day 28), not by
    # the photo of 2025-04-28 across the injections of 2025-03-31
    assert [(p.session_id, p.days, p.compared) for p in third.points] == [
        (3, 0, True),
        (4, 28, False),
    ]
    assert third.points[0].bruise_pct["left_cheek"] == 1.9
    assert math.isnan(third.points[1].bruise_pct["left_cheek"])
    assert math.isnan(third.points[1].swelling["chin"])
    assert [(p.session_id, p.days, p.compared) for p in fourth.points] == [
        (4, 0, False),
        (5, 28, True),
    ]
    assert fx.sentences[:2] == [
        "Bruising of the left cheek after the session of 2025-01-06: +2 % of the region's area "
        "on day 28, the last photo after that session (resolution not seen).",
        "Bruising of the left cheek after the session of 2025-02-03: +1.9 % of the region's "
        "area on day 28, the last photo after that session (resolution not seen).",
    ]
    # what was not assessed is the follow-up of the injections of 2025-03-03, one photo
    assert (
        "Bruising was not assessed on day 28 after the session of 2025-03-03: the photo of "
        "2025-03-31 could not be compared with the first session for it."
    ) in fx.sentences
    assert not any("sessions of" in s for s in fx.sentences)
    assert (
        "Swelling was not assessed on day 28 after the session of 2025-03-03: the photo of "
        "2025-03-31 could not be compared with the first session for it."
    ) in fx.sentences
    # the figure: the episode of 2025-03-03 (triangles) stops at day 28, a grey cross there
    fig = _plots.side_effect_figure(fx)
    (line,) = [ln for ln in fig.axes[0].lines if ln.get_gid() == "left_cheek@3"]
    assert list(line.get_xdata()) == [0, 28]
    crosses = [ln for ln in fig.axes[0].lines if ln.get_gid() == "not compared"]
    assert sorted({float(x) for ln in crosses for x in ln.get_xdata()}) == [0.0, 28.0]


def test_the_bruise_timeline_shows_the_refused_session_as_a_gap(refused):
    entries = bruise_timeline(refused)
    assert [e.session_id for e in entries] == [1, 2, 3, 4, 5]
    gap = entries[3]
    assert gap.status == "not compared:\nhead turned 17°"
    assert math.isnan(gap.area_pct) and gap.by_stage == {} and gap.n_bruises == 0
    assert [e.status for e in entries][4] == "resolved"
    html = sections.bruises(refused)
    rows = re.findall(r'<tr class="bruise-row">(.*?)</tr>', html, re.S)
    assert len(rows) == 5
    assert "<td>2025-03-31</td>" in rows[3] and "head turned 17°" in rows[3]
    assert '<td class="num">–</td>' in rows[3]  # no area, not 0
    fig = _plots.bruise_figure(entries)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels[3] == "2025-03-31\n(not compared:\nhead turned 17°)"
    heights = {round(float(p.get_x() + p.get_width() / 2)): p.get_height() for p in ax.patches}
    assert heights[3] == 0 and heights[2] == pytest.approx(1.9)  # a gap, no bar
    assert [t.get_text() for t in ax.texts][2:4] == ["1.9 %", "\u2013"]  # no value, not 0 %
    # a session with no refusal recorded and no comparison
    bare = copy.deepcopy(refused)
    bare["refusals"] = []
    assert bruise_timeline(bare)[3].status == "not compared"
    other = _refuse(side_effect_course(REFUSED), 4, check="no_face")
    assert bruise_timeline(other)[3].status == "not compared:\nno face found"


def _caption_inside(fig) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    box = fig.bbox
    titles = [ax.title.get_window_extent(renderer) for ax in fig.axes]
    for text in fig.texts:
        ext = text.get_window_extent(renderer)
        assert ext.x0 >= box.x0 and ext.x1 <= box.x1, text.get_text()
        assert ext.y0 >= box.y0 and ext.y1 <= box.y1, text.get_text()
        assert all(ext.y0 > t.y1 for t in titles)  # above the panels' titles
        assert text.get_fontsize() >= _plots.FONT_PT


def test_the_figure_caption_fits_and_each_marker_is_one_session(refused):
    """Five sessions: the caption is wrapped inside the figure, above the panels. Twenty: only
    the last six episodes are drawn, one marker each, and the caption says so."""
    fx = side_effects(refused)
    fig = _plots.side_effect_figure(fx)
    _caption_inside(fig)
    caption = fig.texts[0].get_text().replace("\n", " ")
    assert caption.startswith(
        "Days after each session (circles 6 Jan, squares 3 Feb, triangles 3 Mar, diamonds 31 "
        "Mar, down-triangles 28 Apr)"
    )
    assert "grey crosses at the foot: photo not measured" in caption
    long = side_effect_course([(14 * k, TREATED, {}, {"chin": 3.0} if k == 5 else {})
                               for k in range(20)])  # fmt: skip
    fx = side_effects(long)
    assert len(fx.episodes) == 20
    fig = _plots.side_effect_figure(fx, width_in=7.2)
    _caption_inside(fig)
    caption = fig.texts[0].get_text().replace("\n", " ")
    assert caption.startswith("Days after the last 6 of 20 sessions (circles 21 Jul, squares 4 Aug")
    for ax in fig.axes:
        drawn = {
            ln.get_gid().split("@")[1] for ln in ax.lines if ln.get_gid() and "@" in ln.get_gid()
        }
        assert drawn == {str(k) for k in range(15, 21)}
        markers = {}
        for ln in ax.lines:
            if ln.get_marker() not in ("None", "x", None) and ln.get_linestyle() == "None":
                x = tuple(ln.get_xdata())
                markers.setdefault(ln.get_marker(), set()).add(x)
        assert set(markers) == set(_plots.EPISODE_MARKERS)  # six shapes, one episode each


def test_regions_differ_by_line_style_and_each_panel_names_them():
    doc = side_effect_course(
        [
            (0, ["left_cheek", "right_cheek", "forehead", "chin"], {}, {}),
            (7, [], {"left_cheek": 1.0}, {"chin": 1.0}),
        ]
    )
    fig = _plots.side_effect_figure(side_effects(doc))
    for ax in fig.axes:
        legend = ax.get_legend()
        assert legend is not None
        assert [t.get_text() for t in legend.get_texts()] == [
            "left cheek", "right cheek", "forehead", "chin"
        ]  # fmt: skip
        assert min(t.get_fontsize() for t in legend.get_texts()) >= _plots.FONT_PT
        # the drawn lines and the legend's keys: four dash patterns, four colours
        lines = {ln.get_gid(): ln for ln in ax.lines if ln.get_gid() and "@" in ln.get_gid()}
        drawn = [lines[f"{r}@1"] for r in ("left_cheek", "right_cheek", "forehead", "chin")]
        for group in (drawn, legend.legend_handles):
            assert len({str(ln._dash_pattern) for ln in group}) == 4  # not by colour alone
            assert len({ln.get_color() for ln in group}) == 4


def test_the_alt_text_gives_the_values_drawn(refused):
    fx = side_effects(refused)
    alt = _plots.side_effect_alt(fx)
    assert alt.startswith(
        "Bruising (change of the bruised area, % of the region) and swelling (% of the eye "
        "distance) over the days after each session."
    )
    assert (
        "After the session of 2025-03-03 (days 0 and 28): left cheek: bruising +1.9 % (beyond "
        "the retake range), not measured; swelling 0 %, not measured." in alt
    )
    html = sections.side_effects(refused)
    m = re.search(r'<img class="plot" id="side-effect-plot" alt="([^"]*)"', html)
    assert m is not None and html_lib.unescape(m.group(1)) == alt
    assert _doc.baseline(refused)["id"] == 1
