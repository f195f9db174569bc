"""A frontal-hairline retake from a little closer is compared, not refused.

In the scalp mode the measured area is the whole photo, and an after photo taken from a little
closer covers less of it than ``min_coverage``. Where both photos show a face (a frontal-hairline
view), the hairline is measured in each photo's own frame, so the pair is compared over the
part both photos show (:func:`mesovision.pipeline.frontal_overlap`), with a warning giving the
share covered. A real face of ``../shared/faces`` (Barack Obama, ``fr_obama.jpg``) taken again by
:func:`mesovision.testing.hairline.recapture` (seeds 11 and 21: the second 1.15 times closer).
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from conftest import shared_faces

import mesovision as mv
from mesovision.errors import AlignmentError
from mesovision.frontal_hairline import NO_HAIRLINE_NOTE
from mesovision.pipeline import FRONTAL_MIN_COVERAGE
from mesovision.testing.hairline import recapture


@pytest.fixture(scope="module")
def retakes():
    path = next(p for p, _ in shared_faces() if p.name == "fr_obama.jpg")
    rgb = mv.load_photo(path).rgb
    return recapture(rgb, 11), recapture(rgb, 21)


def test_a_closer_frontal_retake_is_compared_over_the_overlap(retakes):
    r = mv.compare(*retakes, mode="scalp")
    pair = r.pair
    # the coverage recorded is the share of the before photo covered, against the lower limit
    assert pair.alignment.coverage == pytest.approx(0.75, abs=0.02)
    assert pair.alignment.thresholds["min_coverage"] == FRONTAL_MIN_COVERAGE == 0.5
    # the measured area is the part of the before photo the after photo shows: 75 % of it
    assert pair.measured.mean() == pytest.approx(0.75, abs=0.02)
    assert any("covers 75 % of the before photo" in w for w in pair.warnings)
    sites = pair.settings["hairline"]["changes"]
    deltas = [c["hair.hairline_iod_pct"]["delta"] for c in sites.values()]
    assert sum(np.isfinite(d) for d in deltas) >= 3


def test_without_a_face_the_coverage_limit_still_refuses():
    """A crown view (no face) keeps the limit: its area measures need the framing. The shipped
    crown photo against its unchanged retake, cropped to the middle 85 % and enlarged back (a
    retake 1.18 times closer)."""
    before, after = (mv.load_photo(p).rgb for p in mv.sample_pair("scalp", "no_change"))
    h, w = after.shape[:2]
    dy, dx = int(0.075 * h), int(0.075 * w)
    closer = cv2.resize(after[dy : h - dy, dx : w - dx], (w, h), interpolation=cv2.INTER_CUBIC)
    with pytest.raises(AlignmentError, match="of the measured area; limit 90 %"):
        mv.compare(before, np.clip(closer, 0, 1), mode="scalp")


def test_a_retake_that_cuts_off_the_hairline_says_so():
    """The shipped Grace Hopper photo against itself with its top fifth cut off (its hairline
    gone): compared (78 % covered), the hairline not measured, and the note says which photo
    shows none."""
    before = mv.load_photo(mv.sample_pair("grace_hopper")[0]).rgb
    cut = np.ascontiguousarray(before[int(0.22 * before.shape[0]) :])
    r = mv.compare(before, cut, mode="scalp")
    hairline = r.pair.settings["hairline"]
    assert hairline["note"] == f"after: {NO_HAIRLINE_NOTE} (retake showing it, as before does)"
    assert hairline["note"] in r.pair.warnings
    assert all(not np.isfinite(v) for v in hairline["after"]["sites_iod_pct"].values())


def test_a_frontal_retake_covering_under_half_is_refused():
    before = mv.load_photo(mv.sample_pair("grace_hopper")[0]).rgb
    h, w = before.shape[:2]
    crop = before[int(0.35 * h) : int(0.95 * h), int(0.15 * w) : int(0.85 * w)]
    closer = cv2.resize(crop, (w, round(w * crop.shape[0] / crop.shape[1])))
    with pytest.raises(AlignmentError, match="covers 42 % of the measured area; limit 90 %"):
        mv.compare(before, closer, mode="scalp")
