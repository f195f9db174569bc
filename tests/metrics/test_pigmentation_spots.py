"""Pigmented spots: the candidate test on rendered spots of known size, and the extent and
contrast of each spot on hand-made contrast maps.

``spot_candidates`` is checked on discs of known size and darkness on uniform skin (which are
kept, and which are not: too small, too large, elongated, not browner, too faint a core); the
spot metrics' own step -- each spot's extent at half of its 90th-percentile contrast, the
smallest spot kept, the area-weighted mean contrast -- on contrast maps written by hand, where
every number is known.
"""

from __future__ import annotations

import numpy as np
import pytest

import mesovision.metrics as M
from mesovision.metrics._shapes import compact_components, elongation
from mesovision.metrics.pigmentation import (
    SPOT_MIN_AREA_PX,
    spot_candidates,
)


def _view(spot: np.ndarray, contrast: np.ndarray, mask=None, *, px_per_mm=None):
    shape = spot.shape
    maps = M.ImageMaps(
        shape=shape,
        window=(0, shape[0], 0, shape[1]),
        maps={"spot": spot.astype(bool), "spot_contrast": contrast.astype(np.float32)},
        baseline=M.SkinBaseline.from_image(np.full((4, 4, 3), 0.6, np.float32)),
        px_per_mm=px_per_mm,
    )
    return M.RegionView.from_mask(maps, np.ones(shape, bool) if mask is None else mask)


def _metric(name, view):
    return M.get_metric(f"pigmentation.{name}").func(view)


def _spot(shape, r0, c0, values):
    """A spot whose pixels (row by row from (r0, c0), 5 per row) carry ``values``."""
    spot = np.zeros(shape, bool)
    contrast = np.zeros(shape, np.float32)
    for k, v in enumerate(values):
        r, c = r0 + k // 5, c0 + k % 5
        spot[r, c] = True
        contrast[r, c] = v
    return spot, contrast


def test_spot_extent_is_half_of_the_90th_percentile_contrast():
    # 20 pixels: 10 at 10 L*, 6 at 6 L*, 4 at 4 L*. Sorted, the 90th percentile is element
    # int(0.9 * 19) = 17: 10 L*. Half of it is 5: the 16 pixels at 6 and 10 are the extent
    # (the 4 at 4 are not), contrast (10 * 10 + 6 * 6) / 16 = 8.5.
    spot, contrast = _spot((10, 10), 2, 2, [10] * 10 + [6] * 6 + [4] * 4)
    view = _view(spot, contrast, px_per_mm=2.0)
    assert _metric("spot_count", view) == 1
    assert _metric("spot_area_px", view) == 16
    assert _metric("spot_area_mm2", view) == pytest.approx(16 / 4.0)
    assert _metric("spot_area_pct", view) == pytest.approx(16.0)  # of 100 px
    assert _metric("spot_contrast", view) == pytest.approx(8.5)


def test_a_pixel_at_exactly_half_the_peak_is_in_the_extent():
    # 10 pixels at 10 L*, 6 at exactly 5: half of the peak is 5, and ">= half" keeps them.
    spot, contrast = _spot((10, 10), 2, 2, [10] * 10 + [5] * 6)
    view = _view(spot, contrast)
    assert _metric("spot_area_px", view) == 16
    assert _metric("spot_contrast", view) == pytest.approx((100 + 30) / 16)


def test_one_extreme_pixel_does_not_set_the_spot_extent():
    # 20 pixels at 10 L* and one at 100: the 90th percentile (element 18 of 21) is still 10,
    # so all 21 pixels are the extent; a peak taken at the maximum would keep only one.
    spot, contrast = _spot((10, 10), 1, 1, [10] * 10 + [100] + [10] * 10)
    view = _view(spot, contrast)
    assert _metric("spot_area_px", view) == 21
    assert _metric("spot_contrast", view) == pytest.approx((20 * 10 + 100) / 21)


def test_the_peak_is_taken_near_the_top_not_at_the_median():
    # 20 pixels: 10 at 2, 10 at 12. The 90th percentile (element 17 of 20) is 12, half of it 6:
    # the 10 at 12. (A peak at the median, element 9 = 2, would keep all 20.)
    spot, contrast = _spot((8, 8), 1, 1, [2, 12] * 10)
    view = _view(spot, contrast)
    assert _metric("spot_area_px", view) == 10
    assert _metric("spot_contrast", view) == pytest.approx(12.0)


def test_smallest_spot_kept_is_spot_min_area():
    assert SPOT_MIN_AREA_PX == 8
    for n, kept in ((SPOT_MIN_AREA_PX - 1, 0), (SPOT_MIN_AREA_PX, 1), (SPOT_MIN_AREA_PX + 1, 1)):
        spot, contrast = _spot((8, 8), 1, 1, [9.0] * n)
        view = _view(spot, contrast)
        assert _metric("spot_count", view) == kept, n
        assert _metric("spot_area_px", view) == (n if kept else 0)
    # the half-maximum extent is what must reach the minimum, not the candidate area: 12
    # candidates of which 7 reach half of the peak
    spot, contrast = _spot((8, 8), 1, 1, [10.0] * 7 + [1.0] * 5)
    assert _metric("spot_count", _view(spot, contrast)) == 0


def test_two_spots_each_get_their_own_extent_and_the_contrast_is_area_weighted():
    shape = (12, 14)
    s1, c1 = _spot(shape, 1, 1, [20.0] * 10)  # 10 px at 20
    s2, c2 = _spot(shape, 6, 8, [8.0] * 12 + [3.0] * 3)  # peak 8: 12 px at 8 (3 < 4 left out)
    spot, contrast = s1 | s2, c1 + c2
    view = _view(spot, contrast, px_per_mm=4.0)
    assert _metric("spot_count", view) == 2
    assert _metric("spot_area_px", view) == 22
    assert _metric("spot_area_mm2", view) == pytest.approx(22 / 16.0)
    assert _metric("spot_area_pct", view) == pytest.approx(100 * 22 / (12 * 14))
    assert _metric("spot_contrast", view) == pytest.approx((10 * 20 + 12 * 8) / 22)


def test_spots_outside_the_region_and_no_spot():
    shape = (12, 14)
    spot, contrast = _spot(shape, 6, 8, [9.0] * 10)
    mask = np.zeros(shape, bool)
    mask[:, :7] = True  # the spot lies in columns 8..12
    view = _view(spot, contrast, mask, px_per_mm=4.0)
    assert _metric("spot_count", view) == 0
    assert _metric("spot_area_px", view) == 0
    assert _metric("spot_area_mm2", view) == 0
    assert np.isnan(_metric("spot_contrast", view))
    assert np.isnan(_metric("spot_area_mm2", _view(spot, contrast)))  # no scale


# -- the candidate test on rendered spots ------------------------------------------------------


def _skin(shape=(64, 64)):
    L = np.full(shape, 65.0, np.float32)
    b = np.full(shape, 16.0, np.float32)
    return L, b


def _disc(shape, cy, cx, r):
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    return (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r


def test_a_dark_brown_disc_is_a_spot_and_its_contrast_is_its_darkness():
    L, b = _skin()
    disc = _disc(L.shape, 32, 32, 3.2)  # 37 px
    L[disc] -= 12.0
    b[disc] += 4.0
    contrast, spots = spot_candidates(L, b)
    assert spots[32, 32]
    # the candidates are the disc up to its blurred edge
    assert abs(int(spots.sum()) - int(disc.sum())) <= 0.35 * disc.sum()
    assert not spots[~_disc(L.shape, 32, 32, 5)].any()
    # darkness against the median of the 21 x 21 square (the skin's 65): 12 L* at the centre,
    # less the G(0.8) blur's loss there (< 1 %); quantized to 0.4 L*
    assert contrast[32, 32] == pytest.approx(12.0, abs=0.45)
    assert contrast[5, 5] == pytest.approx(0.0, abs=0.25)


@pytest.mark.parametrize(
    ("dL", "db", "radius", "expected"),
    [
        (12.0, 4.0, 3.2, True),  # the reference spot
        (12.0, 0.0, 3.2, False),  # darker but not browner: a shadow
        (12.0, -4.0, 3.2, False),  # darker and bluer
        (7.0, 4.0, 3.2, False),  # never reaches the 8 L* core
        (12.0, 4.0, 1.0, False),  # 5 px: below 6
        (12.0, 4.0, 1.5, True),  # 9 px
    ],
)
def test_spot_candidate_rules(dL, db, radius, expected):
    L, b = _skin()
    disc = _disc(L.shape, 32, 32, radius)
    L[disc] -= dL
    b[disc] += db
    _, spots = spot_candidates(L, b)
    assert bool(spots.any()) is expected


def test_an_elongated_dark_brown_line_is_not_a_spot():
    L, b = _skin((80, 80))
    line = np.zeros(L.shape, bool)
    line[20:23, 10:40] = True  # 3 x 30: elongation 10
    L[line] -= 12.0
    b[line] += 4.0
    _, spots = spot_candidates(L, b)
    assert not spots.any()


def test_passing_the_smoothed_L_gives_the_same_candidates():
    import cv2

    L, b = _skin()
    L[_disc(L.shape, 30, 34, 3.0)] -= 12.0
    b[_disc(L.shape, 30, 34, 3.0)] += 4.0
    L[0, :10] -= 6.0  # a dark edge on the border: the smoothing reflects the border pixels
    fine = cv2.GaussianBlur(L, (0, 0), 0.8, borderType=cv2.BORDER_REFLECT)
    c1, s1 = spot_candidates(L, b)
    c2, s2 = spot_candidates(L, b, L_smooth=fine)
    assert np.array_equal(s1, s2) and np.array_equal(c1, c2)
    other = cv2.GaussianBlur(L, (0, 0), 0.8, borderType=cv2.BORDER_REFLECT_101)
    assert np.abs(spot_candidates(L, b, L_smooth=other)[0] - c1)[0, :12].max() > 0.1
    assert s1.sum() > 20


def test_elongation_of_lines_rectangles_and_discs():
    # sqrt(l1 / l2) of the pixels' second moments, each pixel a unit square (variance 1/12
    # added): a 1 x 10 line gives sqrt((99/12 + 1/12) / (1/12)) = 10, a 3 x 6 rectangle
    # sqrt((35/12 + 1/12) / (8/12 + 1/12)) = 2, a square 1; labels 1, 2, 3 in one image.
    labels = np.zeros((20, 30), np.int32)
    labels[2, 3:13] = 1
    labels[6:9, 3:9] = 2
    labels[12:17, 20:25] = 3
    e = elongation(labels, 4)
    assert e[1:] == pytest.approx([10.0, 2.0, 1.0], rel=1e-9)
    # a diagonal line is as elongated as a straight one of its extent
    diag = np.zeros((12, 12), np.int32)
    diag[np.arange(10), np.arange(10)] = 1
    assert elongation(diag, 2)[1] > 8
    keep = compact_components(labels > 0, 2.0)  # the rectangle is kept at exactly 2.0
    assert np.array_equal(keep, labels >= 2)


@pytest.mark.parametrize("level", [0.0, 0.1, 37.3, 99.9])
def test_uniform_skin_has_no_contrast_at_any_lightness(level):
    # The local median goes through 8-bit levels of 0.4 L*: on uniform skin it is the level
    # itself to within a step, also at the ends of the range (black: level 0, not 1).
    L = np.full((40, 40), level, np.float32)
    b = np.full((40, 40), 12.0, np.float32)
    contrast, spots = spot_candidates(L, b)
    assert contrast.dtype == np.float32 and contrast.shape == (40, 40)
    assert 0.0 <= contrast.min() and contrast.max() <= 0.2
    assert not spots.any()
