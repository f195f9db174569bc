"""The course report's side-effect timeline: bruising and swelling over the days after each
session, on a synthetic course of known side effects (mesovision.testing.course)."""

from __future__ import annotations

import base64
import io
import math
import re

import numpy as np
import pytest

from mesovision.report import _plots, sections
from mesovision.report._side_effects import bruise_timeline, side_effects
from mesovision.testing.course import SWELLING_FLOOR, side_effect_course

TREATED = ["left_cheek", "chin"]

#: Two treating sessions (day 0 and day 14). After the first: the left cheek swells 3.0 % IOD
#: on day 2 and 1.2 on day 7, back within the floor (0.5) by day 14; the chin bruises (1.5 %
#: of its area on day 2, 0.4 on day 7, none by day 14). After the second (day 14):
#: the left cheek swells 2.0 on day 16 and is still 0.9 on day 30; no bruise.
SESSIONS = [
    (0, TREATED, {}, {}),
    (2, [], {"left_cheek": 3.0, "chin": 0.2}, {"chin": 1.5}),
    (7, [], {"left_cheek": 1.2}, {"chin": 0.4}),
    (14, TREATED, {"left_cheek": 0.3}, {}),
    (16, [], {"left_cheek": 2.0}, {}),
    (30, [], {"left_cheek": 0.9}, {}),
]


@pytest.fixture(scope="module")
def course() -> dict:
    return side_effect_course(SESSIONS)


def test_episodes_days_and_values(course):
    fx = side_effects(course)
    assert fx.regions == TREATED
    assert [(e.session_id, e.date) for e in fx.episodes] == [(1, "2025-01-06"), (4, "2025-01-20")]
    first, second = fx.episodes
    # The first episode runs to the next treating session's photo (day 14), the second to the
    # end of the course; days are counted from the episode's session.
    assert [p.days for p in first.points] == [0, 2, 7, 14]
    assert [p.session_id for p in first.points] == [1, 2, 3, 4]
    assert [p.days for p in second.points] == [0, 2, 16]
    assert [p.swelling["left_cheek"] for p in first.points] == [0.0, 3.0, 1.2, 0.3]
    assert [p.swelling_significant["left_cheek"] for p in first.points] == [
        False,
        True,
        True,
        False,
    ]
    assert [p.bruise_pct["chin"] for p in first.points] == [0.0, 1.5, 0.4, 0.0]
    assert [p.bruise_pct["left_cheek"] for p in first.points] == [0.0] * 4
    assert first.points[1].swelling_floor["chin"] == SWELLING_FLOOR
    assert math.isnan(first.points[0].swelling_floor["chin"])  # the baseline has none
    assert [p.swelling["left_cheek"] for p in second.points] == [0.3, 2.0, 0.9]


def test_sentences_say_what_resolved(course):
    assert side_effects(course).sentences == [
        "Bruising of the chin after the session of 2025-01-06: +1.5 % of the region's area on "
        "day 2, resolved by day 14.",
        "Swelling of the left cheek after the session of 2025-01-06: +3 % of the eye distance "
        "on day 2, resolved by day 14.",
        "Swelling of the left cheek after the session of 2025-01-20: +2 % of the eye distance "
        "on day 2, still present on day 16 (+0.9 % of the eye distance).",
    ]


def test_a_course_with_the_patient_s_ipd_says_the_swelling_in_mm_too(course):
    """At an interpupillary distance of 63 mm the course's comparisons carry the swelling in mm
    (``swelling.contour_mm``): each swelling sentence gives it beside the % of the eye
    distance; the report's header names the scale. Without it nothing is added."""
    scaled = side_effect_course(SESSIONS, ipd_mm=63.0)
    first, second = side_effects(scaled).episodes
    assert first.points[0].swelling_mm == {}  # the baseline photo: no change to say
    mm = [p.swelling_mm["left_cheek"] for p in first.points[1:]]
    assert mm == pytest.approx([3.0 * 0.63, 1.2 * 0.63, 0.3 * 0.63])
    assert math.isnan(side_effects(course).episodes[0].points[1].swelling_mm["left_cheek"])
    assert [s for s in side_effects(scaled).sentences if s.startswith("Swelling")] == [
        "Swelling of the left cheek after the session of 2025-01-06: +3 % of the eye distance "
        "or +1.9 mm on day 2, resolved by day 14.",
        "Swelling of the left cheek after the session of 2025-01-20: +2 % of the eye distance "
        "or +1.3 mm on day 2, still present on day 16 (+0.9 % of the eye distance or +0.57 mm).",
    ]
    head = sections.header(scaled, None, show_name=True, deidentify=False)
    assert "interpupillary distance 63 mm (the scale of the measures in mm)" in head
    assert "interpupillary distance" not in sections.header(
        course, None, show_name=True, deidentify=False
    )
    assert all("mm" not in s for s in side_effects(course).sentences)


@pytest.mark.parametrize(("melanin", "caveat"), [(0.71, True), (0.5, False), (None, False)])
def test_skin_that_reads_dark_adds_the_late_bruise_caveat(melanin, caveat):
    import copy

    from mesovision.report import _doc

    dark = copy.deepcopy(side_effect_course(SESSIONS))
    for c in _doc.baseline_comparisons(dark):
        c["record"]["mismatch"] = {"skin_melanin": melanin}
    sentences = side_effects(dark).sentences
    assert sentences[:3] == side_effects(side_effect_course(SESSIONS)).sentences
    expected = [
        "The skin reads dark or yellowish in the baseline photo (melanin density 0.71): green "
        "and yellow-brown bruises may go unseen, so a bruise read as resolved may still show; "
        "judge late bruises by eye."
    ]
    assert sentences[3:] == (expected if caveat else [])


def test_a_comparison_not_comparable_for_bruises_is_no_bruise_reading():
    """Day 7's comparison not comparable for bruises (the light differs): its bruise area is not
    read (NaN, a dash in the table, the status "not comparable"), and the chin's bruise of day 2
    is then resolved by day 14, the next photo that was measured; its swelling still reads. Not
    comparable for geometry too: its swelling is NaN and the left cheek's resolves by day 14."""
    import copy

    from mesovision.report import _doc

    doc = copy.deepcopy(side_effect_course(SESSIONS))
    day7 = next(c for c in _doc.baseline_comparisons(doc) if c["session_id"] == 3)
    day7["record"]["comparability"] = {
        "bruise": {"status": "not_comparable", "reason": "bruise: light differs"}
    }
    first = side_effects(doc).episodes[0]
    assert math.isnan(first.points[2].bruise_pct["chin"])
    assert first.points[2].swelling["left_cheek"] == 1.2
    assert side_effects(doc).sentences[0] == (
        "Bruising of the chin after the session of 2025-01-06: +1.5 % of the region's area on "
        "day 2, resolved by day 14."
    )
    row = next(e for e in bruise_timeline(doc) if e.session_id == 3)
    assert math.isnan(row.area_pct) and row.status == "not comparable"
    assert [e.status for e in bruise_timeline(doc)][2:4] == ["not comparable", "resolved"]
    html = sections.bruises(doc)
    assert "<td>not comparable</td>" in html and "nan" not in html
    day7["record"]["comparability"]["geometry"] = {"status": "not_comparable", "reason": "g"}
    first = side_effects(doc).episodes[0]
    assert math.isnan(first.points[2].swelling["left_cheek"])
    assert not first.points[2].swelling_significant["left_cheek"]
    # a bruise seen only in comparisons that are not comparable is no side effect
    doc2 = copy.deepcopy(side_effect_course([(0, TREATED, {}, {}), (2, [], {}, {"chin": 1.5})]))
    for c in _doc.baseline_comparisons(doc2):
        c["record"]["comparability"] = {"bruise": {"status": "not_comparable", "reason": "x"}}
    assert side_effects(doc2).sentences[0] == (
        "Bruising was not assessed: the 1 later session (2025-01-08) could not be compared with "
        "the first session for it."
    )


def test_no_side_effect_and_no_treatment():
    calm = side_effect_course([(0, TREATED, {}, {}), (3, [], {"chin": 0.3}, {})])
    fx = side_effects(calm)
    assert [p.days for p in fx.episodes[0].points] == [0, 3]
    assert fx.sentences == [
        "No bruising in the treated regions after any session.",
        "No swelling beyond the retake range in the treated regions after any session.",
    ]
    untreated = side_effect_course([(0, [], {}, {}), (3, [], {"chin": 2.0}, {})])
    fx = side_effects(untreated)
    assert fx.episodes == [] and fx.empty
    assert 'id="side-effect-plot"' not in sections.side_effects(untreated)
    assert "No photo after a treating session yet." in sections.side_effects(untreated)


def test_figure_draws_both_side_effects(course):
    fx = side_effects(course)
    fig = _plots.side_effect_figure(fx)
    bruise_ax, swell_ax = fig.axes
    assert bruise_ax.get_title() == "Bruising" and swell_ax.get_title() == "Swelling"
    assert bruise_ax.get_xlabel() == "days since the session"
    # one bruise line per episode and region (regions in the order treated), the known values
    chin = next(ln for ln in bruise_ax.lines if ln.get_gid() == "chin@1")
    assert list(chin.get_xdata()) == [0, 2, 7, 14]
    assert list(chin.get_ydata()) == [0.0, 1.5, 0.4, 0.0]
    # swelling: filled markers only where beyond the floor (days 2 and 7, then 2 and 16)
    filled = [
        ln for ln in swell_ax.lines if ln.get_linestyle() == "None" and ln.get_mfc() != "white"
    ]
    points = sorted((float(x), float(y)) for ln in filled for x, y in ln.get_xydata())
    assert points == [(2.0, 2.0), (2.0, 3.0), (7.0, 1.2), (16.0, 0.9)]
    png = _plots.png_bytes(fig)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_html_section_shows_the_timeline(course):
    html = sections.side_effects(course)
    assert '<section id="side-effects">' in html
    m = re.search(r'<img class="plot" id="side-effect-plot"[^>]*src="([^"]+)"', html)
    assert m is not None
    from PIL import Image

    head, b64 = m.group(1).split(",", 1)
    assert head == "data:image/png;base64"
    im = np.asarray(Image.open(io.BytesIO(base64.b64decode(b64))).convert("L"), float)
    assert im.shape[1] >= 600 and im.std() > 5
    items = re.findall(r"<li>(.*?)</li>", html.split('id="side-effect-summary"')[1])
    assert len(items) == 3 and items[0].startswith("Bruising of the chin")
    assert "resolved by day 14" in items[1]


def test_sessions_that_were_not_compared_are_no_negative_finding():
    """Four later sessions, three of them not compared with the first session (the photos
    refused them): "no bruising / no swelling" is said of the one compared, naming the three
    not assessed; without any comparison, neither is assessed; a side effect seen in one session
    does not hide that others were not assessed."""
    import copy

    from mesovision.report import _doc

    calm = side_effect_course([(0, TREATED, {}, {}), (3, [], {}, {}), (7, [], {}, {}),
                               (14, [], {}, {}), (28, [], {}, {})])  # fmt: skip
    assert side_effects(calm).sentences == [
        "No bruising in the treated regions after any session.",
        "No swelling beyond the retake range in the treated regions after any session.",
    ]
    one = copy.deepcopy(calm)
    one["comparisons"] = [c for c in one["comparisons"] if c["session_id"] == 2]
    assert side_effects(one).sentences == [
        "No bruising in the treated regions in the photo of the 1 of 4 later sessions that "
        "could be compared (2025-01-09).",
        "Bruising was not assessed on days 7, 14 and 28 after the session of 2025-01-06: the "
        "photos of 2025-01-13, 2025-01-20 and 2025-02-03 could not be compared with the first "
        "session for it.",
        "No swelling beyond the retake range in the treated regions in the photo of the 1 of 4 "
        "later sessions that could be compared (2025-01-09).",
        "Swelling was not assessed on days 7, 14 and 28 after the session of 2025-01-06: the "
        "photos of 2025-01-13, 2025-01-20 and 2025-02-03 could not be compared with the first "
        "session for it.",
    ]
    none = {**calm, "comparisons": []}
    fx = side_effects(none)
    assert fx.empty and fx.sentences == [
        "Bruising was not assessed: none of the 4 later sessions (2025-01-09 to 2025-02-03) "
        "could be compared with the first session for it.",
        "Swelling was not assessed: none of the 4 later sessions (2025-01-09 to 2025-02-03) "
        "could be compared with the first session for it.",
    ]
    html = sections.side_effects(none)
    assert "No photo after a treating session yet." not in html and fx.sentences[0] in html
    # a bruise on day 2, the photos of days 7 and 14 not compared
    seen = copy.deepcopy(side_effect_course(SESSIONS[:4]))
    seen["comparisons"] = [c for c in seen["comparisons"] if c["session_id"] == 2]
    sentences = side_effects(seen).sentences
    assert sentences[0] == (
        "Bruising of the chin after the session of 2025-01-06: +1.5 % of the region's area on "
        "day 2, the last photo assessed after that session (resolution not seen)."
    )
    assert (
        "Bruising was not assessed on days 7 and 14 after the session of 2025-01-06: the photos "
        "of 2025-01-13 and 2025-01-20 could not be compared with the first session for it."
    ) in sentences
    assert not any(s.startswith("No bruising") for s in sentences)
    assert _doc.baseline_comparisons(seen)  # the day-2 comparison is still there


def test_an_episode_speaks_of_the_regions_its_session_treated_and_its_same_day_photo():
    """The chin, treated only at the second session, has no sentence or line after the first;
    a photo taken on the day of the injections (day 0, after them) is the episode's first
    reading."""
    course = side_effect_course(
        [
            (0, ["left_cheek"], {}, {}),
            (0, [], {"left_cheek": 3.7}, {}),  # the same day, after the injections
            (1, [], {"left_cheek": 2.4, "chin": 1.1}, {}),
            (7, [], {"left_cheek": 0.2}, {}),
            (14, ["left_cheek", "chin"], {"chin": 0.1}, {}),
            (16, [], {"chin": 1.4}, {}),
        ]
    )
    fx = side_effects(course)
    assert [e.regions for e in fx.episodes] == [("left_cheek",), ("left_cheek", "chin")]
    assert fx.sentences == [
        "Swelling of the left cheek after the session of 2025-01-06: +3.7 % of the eye distance "
        "on day 0, resolved by day 7.",
        "Swelling of the chin after the session of 2025-01-20: +1.4 % of the eye distance "
        "on day 2, the last photo after that session (resolution not seen).",
        "No bruising in the treated regions after any session.",
    ]
    fig = _plots.side_effect_figure(fx)
    swell_ax = fig.axes[1]
    lines = sorted(ln.get_gid() for ln in swell_ax.get_lines() if ln.get_gid())
    assert lines == ["chin@5", "left_cheek@1", "left_cheek@5"]  # the first episode's cheek only


def test_a_bruise_outside_the_treated_regions_is_said():
    """The left cheek treated; a bruise beyond the retake range appears on the perioral region
    (bruising spreads past the injected area): a sentence names it, beside "no bruising in the
    treated regions"."""
    doc = side_effect_course([(0, ["left_cheek"], {}, {}), (2, [], {}, {"perioral": 1.5})])
    sentences = side_effects(doc).sentences
    assert "No bruising in the treated regions after any session." in sentences
    assert (
        "Bruising outside the treated regions in the photo of 2025-01-08: the perioral (+1.5 % "
        "of its area)."
    ) in sentences
