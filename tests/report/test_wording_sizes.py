"""The sizes of changes in words and figures: the nearest fraction that is right ("two thirds"
for +66 %), ratios as "to about 3 times its value", grammatical small changes, whole counts, no
signed zero, and pixels named as such."""

from __future__ import annotations

import pytest

from mesovision.report import _doc
from mesovision.report._wording import relative_percent
from mesovision.report.summary import everyday_size, summarize

SPECS = _doc.metric_specs()


def _c(before, after, family, direction="higher_is_worse", unit=""):
    return {
        "before": before,
        "after": after,
        "delta": after - before,
        "relative": (after - before) / before if before else None,
        "significant": True,
        "family": family,
        "direction": direction,
        "noise_floor": 0.1,
        "unit": unit,
        "z": 9.0,
    }


def _sentence(region: str, metric: str, change: dict, *, mode: str = "face") -> str:
    record = {
        "settings": {"treated": [region], "mode": mode},
        "changes": {region: {metric: change}},
    }
    (s,) = [x for x in summarize(record, SPECS, area="the crown") if x.kind == "change"]
    return s.text


@pytest.mark.parametrize(
    ("before", "after", "words"),
    [
        (8.58, 14.22, "by about two thirds"),  # +66 %: not "about half"
        (10.0, 17.4, "by about three quarters"),  # +74 %: not "about half"
        (10.0, 15.4, "by about half"),
        (10.0, 14.0, "by about a third"),
        (10.0, 18.0, "by about four fifths"),
        (10.0, 4.2, "by about half"),  # -58 %
        (10.0, 3.4, "by about two thirds"),  # -66 %
        (4.5, 14.2, "to about 3 times its value"),  # not "by about 3 times" (+300 %)
        (10.0, 19.0, "to about twice its value"),
        (10.0, 24.0, "to about twice its value"),
        (10.0, 10.3, "slightly"),
        (10.0, 0.9, "almost completely"),
    ],
)
def test_a_size_is_the_nearest_fraction_or_a_multiple_that_reads_right(before, after, words):
    assert everyday_size(before, after) == words


def test_a_ratio_reads_as_a_multiple_of_the_value():
    text = _sentence("left_cheek", "redness.mean_a", _c(4.5, 14.2, "colour"))
    assert text.startswith(
        "Redness of the left cheek went up to about 3 times its value since the first session "
        "(9.7 a* units); that is more than a retake"
    )


def test_a_slight_change_is_grammatical_and_says_its_relative_size_apart_from_the_unit():
    text = _sentence("left_cheek", "redness.mean_a", _c(10.0, 9.7, "colour"))
    assert "by slightly" not in text
    assert text.startswith(
        "Redness of the left cheek went down slightly since the first session (0.30 a* units; 3 % "
        "of its value);"
    )


def test_counts_are_whole_numbers():
    spots = _sentence("right_cheek", "pigmentation.spot_count", _c(0.0, 4.0, "pigmentation"))
    assert "(from 0 to 4 spots)" in spots
    assert "4.0" not in spots
    one = _sentence("right_cheek", "pigmentation.spot_count", _c(6.0, 7.0, "pigmentation"))
    assert "(1 spot)" in one
    dimples = _sentence("area", "body.dimple_count", _c(39.0, 19.0, "body_texture"), mode="body")
    assert dimples.startswith("Cellulite dimples of the crown went down by about half")
    assert "(20 dimples)" in dimples


@pytest.mark.parametrize(
    ("relative", "text"),
    [
        (0.66, "+66 %"),
        (-0.0434 / 14.5, "-0.3 %"),
        (0.004, "+0.4 %"),
        (-0.0004, "0 %"),
        (0.0, "0 %"),
        (-0.005, "-0.5 %"),
        (-0.03, "-3 %"),
    ],
)
def test_a_relative_change_has_no_signed_zero(relative, text):
    assert relative_percent(relative) == text


def test_the_measures_table_prints_no_signed_zero_and_pixels_in_words():
    record = {
        "settings": {"mode": "body", "treated": ["area"]},
        "changes": {
            "area": {
                "body.streak_length_px": _c(405.0, 433.0, "body", unit="px (length)"),
                "body.streak_area_pct": _c(14.5, 14.4566, "body", unit="%"),
            }
        },
    }
    rows, _ = _doc.table_rows(record)
    cells = {r.metric: r.cells() for r in rows}
    assert cells["body.streak_length_px"][2] == "pixels"
    assert cells["body.streak_area_pct"][5] == "-0.0434 (-0.3 %)"
    assert all("-0 %" not in c[5] and "+0 %" not in c[5] for c in cells.values())
