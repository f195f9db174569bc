"""The fine-line and pore densities' flip variance: detections another capture would find or miss.

Known values: a line far past both limits adds only its split term; one whose peak response
is at the threshold adds ``~0.25``; a pore at the lower area limit adds ``P (1 - P)`` of its
area margin (the limit half a pixel under the smallest counted area); a density's variance is
the count's over the area squared; and a real skin crop captured again changes its count by
about what the term says (far less than the Poisson term's).
"""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from PIL import Image
from scipy.special import ndtr

import mesovision.metrics as M
from mesovision.metrics._shapes import component_areas
from mesovision.metrics._texture_flip import (
    LINE_FLIP_LOG_AREA,
    LINE_FLIP_REL_PEAK,
    LINE_SPLIT_PER_PX,
    PORE_FLIP_LOG_AREA,
    PORE_FLIP_REL_PEAK,
    candidate_stats,
    flip_map,
)
from mesovision.metrics.texture import (
    FINE_LINE_MIN_PX,
    LINE_LIMITS,
    PORE_AREA_RANGE_PX,
    PORE_LIMITS,
    PORE_THRESHOLD_L,
    RIDGE_THRESHOLD_L,
)

LINE = {"area_range": LINE_LIMITS["area_range"], "rel_peak": LINE_FLIP_REL_PEAK}
LINE.update(log_area=LINE_FLIP_LOG_AREA, split_per_px=LINE_SPLIT_PER_PX)
PORE = {
    "area_range": PORE_LIMITS["area_range"],
    "rel_peak": PORE_FLIP_REL_PEAK,
    "log_area": PORE_FLIP_LOG_AREA,
}


def _maps(name, var, *, px_per_mm=None):
    return M.ImageMaps(
        shape=var.shape,
        window=(0, var.shape[0], 0, var.shape[1]),
        maps={name: var},
        baseline=M.SkinBaseline.from_image(np.full((4, 4, 3), 0.6, np.float32)),
        px_per_mm=px_per_mm,
    )


def _variance(metric, maps, mask):
    return M.FAMILIES["texture"].flip_variance[f"texture.{metric}"](maps, mask)


def test_a_strong_line_adds_its_split_term_and_one_at_the_threshold_a_quarter():
    ridge = np.zeros((40, 60), np.float32)
    ridge[10, 5:45] = 10.0  # 40 px at 5 x the threshold: both margins > 6 spreads
    var = flip_map(ridge, RIDGE_THRESHOLD_L, **LINE)
    assert var.sum(dtype=np.float64) == pytest.approx(40 * LINE_SPLIT_PER_PX, rel=1e-5)
    # A second line of 50 px whose peak is 1e-4 over the threshold: margin 1e-4 / (0.075 x 2)
    # spreads, P = Phi(margin) x Phi(area margin ~ 8.7) ~ 0.5, P (1 - P) ~ 0.25.
    ridge[30, 5:55] = RIDGE_THRESHOLD_L + 1e-4
    var = flip_map(ridge, RIDGE_THRESHOLD_L, **LINE)
    peak = np.float64(np.float32(RIDGE_THRESHOLD_L + 1e-4))
    area_margin = np.log(50 / (FINE_LINE_MIN_PX - 0.5)) * np.sqrt(50) / LINE_FLIP_LOG_AREA
    p = ndtr((peak - RIDGE_THRESHOLD_L) / (LINE_FLIP_REL_PEAK * peak)) * ndtr(area_margin)
    lower = np.zeros(ridge.shape, bool)
    lower[20:, :] = True
    got = float(var[lower].sum(dtype=np.float64))
    assert got == pytest.approx(p * (1 - p) + p * 50 * LINE_SPLIT_PER_PX, rel=1e-5)
    assert p * (1 - p) == pytest.approx(0.25, abs=1e-5)
    # A density: the count's variance over the area (in kpx, in cm^2) squared.
    maps = _maps("line_flip", var, px_per_mm=10.0)
    n = int(lower.sum())  # 1200 px = 1.2 kpx = 12 mm^2 = 0.12 cm^2
    assert _variance("fine_line_density_per_kpx", maps, lower) == pytest.approx(got / 1.2**2)
    assert _variance("fine_line_density_per_cm2", maps, lower) == pytest.approx(got / 0.12**2)
    assert n == 1200
    assert _variance("fine_line_density_per_cm2", _maps("line_flip", var), lower) == 0.0
    assert _variance("fine_line_density_per_kpx", maps, np.zeros_like(lower)) == 0.0


def test_pores_at_and_past_the_area_limits():
    blob = np.zeros((30, 30), np.float32)
    strong = 20 * PORE_THRESHOLD_L  # the peak margin is 9.5 spreads: only the area counts
    blob[2, 2:5] = strong  # 3 px: the smallest counted pore
    blob[10, 2:4] = strong  # 2 px: one short
    stats = candidate_stats(blob, PORE_THRESHOLD_L)
    assert sorted(stats["area"][1:].tolist()) == [2.0, 3.0]
    lo, hi = PORE_AREA_RANGE_PX
    var = flip_map(blob, PORE_THRESHOLD_L, **PORE)
    for row, area in ((2, 3), (10, 2)):
        p = ndtr(np.log(area / (lo - 0.5)) * np.sqrt(area) / PORE_FLIP_LOG_AREA)
        got = float(var[row].sum(dtype=np.float64))
        assert got == pytest.approx(p * (1 - p), rel=1e-5), area
    # 3 px: P = Phi(0.486) = 0.69; 2 px: P = Phi(-0.485) = 0.31: about the same, 0.215.
    assert float(var[2].sum()) == pytest.approx(float(var[10].sum()), rel=1e-3)
    assert float(var[2].sum()) == pytest.approx(0.2152, abs=2e-3)
    # 90 px (past the 80 px limit) is counted again with P = Phi(log(80.5 / 90) sqrt(90) / s)
    blob[:] = 0
    blob[15:24, 5:15] = strong
    p = ndtr(np.log((hi + 0.5) / 90) * np.sqrt(90) / PORE_FLIP_LOG_AREA)
    var = flip_map(blob, PORE_THRESHOLD_L, **PORE)
    assert float(var.sum(dtype=np.float64)) == pytest.approx(p * (1 - p), rel=1e-5)
    assert not flip_map(np.zeros((5, 5), np.float32), PORE_THRESHOLD_L, **PORE).any()


def test_the_family_maps_are_the_flip_maps_of_its_responses(faces):
    crop = np.ascontiguousarray(faces["grace_hopper"][200:360, 280:440])
    maps = M.prepare(crop)
    want = flip_map(maps.maps["ridge"], RIDGE_THRESHOLD_L, **LINE)
    np.testing.assert_array_equal(maps.maps["line_flip"], want)
    want = flip_map(maps.maps["pore_response"], PORE_THRESHOLD_L, **PORE)
    np.testing.assert_array_equal(maps.maps["pore_flip"], want)
    assert np.array_equal(maps.maps["pore"], maps.maps["pore_response"] > PORE_THRESHOLD_L)


def _lines(rgb, inner):
    """The fine-line count of ``inner`` (as the metric counts) and its flip variance."""
    maps = M.prepare(rgb)
    _, _, areas = component_areas(maps.maps["ridge_bin"] & inner)
    return int(np.sum(areas[1:] >= FINE_LINE_MIN_PX)), maps.total("line_flip", inner)


def _recapture(rgb, rng):
    """The crop captured again: moved by a sub-pixel step, refocused, lit and compressed."""
    m = np.float32([[1, 0, rng.uniform(-0.5, 0.5)], [0, 1, rng.uniform(-0.5, 0.5)]])
    out = cv2.warpAffine(rgb, m, rgb.shape[1::-1], flags=cv2.INTER_LINEAR, borderMode=1)
    out = cv2.GaussianBlur(out, (0, 0), rng.uniform(0.1, 0.5))
    out = np.clip(out * rng.uniform(0.97, 1.03), 0, 1)
    buf = io.BytesIO()
    Image.fromarray((out * 255 + 0.5).astype(np.uint8)).save(buf, "JPEG", quality=90)
    return np.asarray(Image.open(buf).convert("RGB"), np.float32) / 255


def test_a_recaptured_skin_crop_changes_its_line_count_by_about_the_flip_term(faces):
    crop = np.ascontiguousarray(faces["grace_hopper"][180:420, 260:460])
    inner = np.zeros(crop.shape[:2], bool)
    inner[20:-20, 20:-20] = True  # the counted skin, away from the crop's edges
    n0, v0 = _lines(crop, inner)
    rng = np.random.default_rng(3)
    change, predicted = [], []
    for _ in range(12):
        n1, v1 = _lines(_recapture(crop, rng), inner)
        change.append(n1 - n0)
        predicted.append(v0 + v1)
    rms_observed = float(np.sqrt(np.mean(np.square(change))))
    rms_predicted = float(np.sqrt(np.mean(predicted)))
    poisson = float(np.sqrt(2 * n0))
    assert n0 >= 20  # a crop with lines to count
    assert 0.5 <= rms_observed / rms_predicted <= 2.0, (change, rms_predicted)
    assert poisson > 2 * rms_predicted
