"""A bruise's extent reaches its half maximum below the colour threshold
(:mod:`mesovision.metrics._bruise_extent`)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from conftest import load_benchmark, shared_faces

import mesovision.metrics._bruise_extent as extent
from mesovision.metrics._bruise_colour import BRUISE_BLUE_DL, BRUISE_DB, BRUISE_YELLOW_DL
from mesovision.metrics._bruise_ring import Departures

WINDOWS = (BRUISE_BLUE_DL, BRUISE_YELLOW_DL)


def _profile(shape=(80, 80), centre=(40.0, 40.0), radius=20.0) -> np.ndarray:
    """The injected bruises' raised-cosine profile (1 inside half the radius, 0 beyond it)."""
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float32)
    r = np.hypot(xx - centre[0], yy - centre[1]) / radius
    return np.where(
        r <= 0.5, 1.0, np.where(r >= 1.0, 0.0, 0.5 + 0.5 * np.cos(2 * np.pi * (r - 0.5)))
    )


def _is_half_maximum(mask: np.ndarray, prof: np.ndarray) -> bool:
    """``mask`` is where ``prof`` >= 0.5, up to float rounding at that level."""
    return bool(np.all(mask[prof >= 0.5 + 1e-4]) and not np.any(mask[prof < 0.5 - 1e-4]))


def _weak_blue_bruise(peak: float):
    """Departures of a blue bruise of ``peak`` (hue departure at its centre) on flat skin, and
    the colour test's candidates and score on them."""
    prof = _profile().astype(np.float32)
    r_b = (-peak * prof).astype(np.float32)
    zero = np.zeros_like(r_b)
    dep = Departures((-5.0 * prof).astype(np.float32), zero, r_b, np.ones(r_b.shape, bool))
    score = -r_b / np.float32(BRUISE_DB) - np.float32(1.0)
    cand = score > 0
    return prof, dep, cand, np.where(cand, score, 0).astype(np.float32)


def test_a_weak_bruise_grows_to_its_half_maximum():
    """Peak 12, under twice the threshold (7): the candidates stop where the profile is 7/12 =
    0.58, inside the half maximum; grown, the extent is the profile's half maximum."""
    prof, dep, cand, score = _weak_blue_bruise(12.0)
    assert np.count_nonzero(cand) < np.count_nonzero(prof >= 0.5)  # (665 px of 697)
    grown = extent.grow_to_half_maximum(cand, score, dep, BRUISE_DB, WINDOWS, 0.5)
    assert _is_half_maximum(grown, prof)


def test_the_floor_stops_the_extent_at_the_threshold(monkeypatch):
    prof, dep, cand, score = _weak_blue_bruise(12.0)
    monkeypatch.setattr(extent, "BRUISE_EXTENT_FLOOR", 1.0)
    grown = extent.grow_to_half_maximum(cand, score, dep, BRUISE_DB, WINDOWS, 0.5)
    assert np.array_equal(grown, cand)


def test_a_strong_bruise_keeps_its_half_maximum_cut():
    """Peak 30: half of it (15) lies above the threshold; nothing below half the peak joins."""
    prof, dep, cand, score = _weak_blue_bruise(30.0)
    cut = cand & (score + 1.0 >= 0.5 * 30.0 / BRUISE_DB)  # (its 90th percentile: the plateau)
    grown = extent.grow_to_half_maximum(cut, score, dep, BRUISE_DB, WINDOWS, 0.5)
    assert _is_half_maximum(grown, prof)


def test_the_extent_stays_inside_the_lightness_window():
    """Skin darker than a bruise can be (beyond ``BRUISE_BLUE_DL``) never joins the extent."""
    prof, dep, cand, score = _weak_blue_bruise(12.0)
    d_l = dep.d_l.copy()
    d_l[:, 45:] = BRUISE_BLUE_DL[0] - 1.0
    dep = dep._replace(d_l=d_l)
    grown = extent.grow_to_half_maximum(
        cand & (d_l > BRUISE_BLUE_DL[0]), score, dep, 7.0, WINDOWS, 0.5
    )
    assert not grown[:, 45:].any()
    assert _is_half_maximum(grown[:, :45], prof[:, :45])


def _bruise_beside_a_band():
    """A blue bruise of peak 13 and, from 15 px right of its centre to the edge, skin departing
    by 6.8 (blue): just over half the bruise's peak, under the threshold."""
    prof, dep, _, score = _weak_blue_bruise(13.0)
    r_b = dep.r_b.copy()
    r_b[:, 55:] = np.minimum(r_b[:, 55:], -6.8)
    dep = dep._replace(r_b=r_b)
    cand = -r_b >= BRUISE_DB
    return dep, cand, score


def test_a_leak_into_the_skin_around_keeps_the_bruise_at_its_threshold():
    """The band holds more than ``BRUISE_EXTENT_MAX_GROWTH`` times the bruise's area: a leak
    (stubble, a shadow beside it), not its edge; the bruise keeps its pixels."""
    dep, cand, score = _bruise_beside_a_band()
    grown = extent.grow_to_half_maximum(cand, score, dep, BRUISE_DB, WINDOWS, 0.5)
    assert np.array_equal(grown, cand)


def test_without_the_growth_limit_the_bruise_leaks_into_the_band(monkeypatch):
    dep, cand, score = _bruise_beside_a_band()
    monkeypatch.setattr(extent, "BRUISE_EXTENT_MAX_GROWTH", 100.0)
    grown = extent.grow_to_half_maximum(cand, score, dep, BRUISE_DB, WINDOWS, 0.5)
    assert grown[:, 55:].all()
    assert np.count_nonzero(grown) > 2 * np.count_nonzero(cand)


def test_no_bruise_no_extent():
    _, dep, cand, score = _weak_blue_bruise(12.0)
    empty = np.zeros_like(cand)
    assert not extent.grow_to_half_maximum(empty, score, dep, BRUISE_DB, WINDOWS, 0.5).any()


@pytest.fixture(scope="module")
def chin_bruise():
    """A weak green bruise (the benchmark's green stage at 0.8 of its shift) at the deepest
    point of the chin of a development face of ``../shared/faces``, on the scoring frame as
    ``benchmarks/bruise.py`` puts it: ``(image, skin, truth)``."""
    from mesovision.testing.synthetic import inject_bruise

    bench = load_benchmark("bruise")
    name = "fr_alex_lacamoire1.jpg"  # a development person (benchmarks/_faces.py)
    path = next(p for p, _ in shared_faces() if p.name == name)
    rgb, reg, _ = bench.scoring_face(path)
    chin = reg["chin"].astype(np.uint8)
    dist = cv2.distanceTransform(chin, cv2.DIST_L2, 5)
    y, x = np.unravel_index(np.argmax(dist), dist.shape)
    radius = 0.8 * float(dist.max())
    shift = bench.INJECTED_STAGES["green"][1]
    img, truth = inject_bruise(
        rgb,
        (float(x), float(y)),
        (radius, 0.8 * radius),
        angle_deg=30,
        shift_lab=shift,
        strength=0.8,
    )
    return img, reg["face"], truth & reg["face"]


def _chin_iou(chin_bruise) -> float:
    from mesovision.metrics.bruise import segment_bruises

    sys_iou = load_benchmark("bruise")
    img, skin, truth = chin_bruise
    found = segment_bruises(img, skin).mask
    iou, cover, _ = sys_iou.touching_iou(found, truth)
    assert cover >= 0.5  # found at all
    return iou


def test_a_weak_green_bruise_on_a_real_chin_is_outlined_at_its_half_maximum(chin_bruise):
    """Its peak under twice the threshold, the candidates alone cover a ring inside its half
    maximum (IoU 0.67 against the truth with ``BRUISE_EXTENT_FLOOR`` at 1); grown, 0.86."""
    assert _chin_iou(chin_bruise) >= 0.8


def test_without_growth_the_weak_green_bruise_is_too_small(chin_bruise, monkeypatch):
    monkeypatch.setattr(extent, "BRUISE_EXTENT_FLOOR", 1.0)
    assert _chin_iou(chin_bruise) < 0.7


def test_the_difference_search_grows_at_its_own_threshold():
    """In the difference of two photos the threshold is ``BRUISE_DIFF_DB`` (5): a bruise of
    peak 9.5 there reaches its half maximum (4.75) under it, once ``filter_components`` is
    told the threshold its score is in units of."""
    from mesovision.metrics._bruise_colour import candidates_of, filter_components
    from mesovision.metrics._bruise_pair import BRUISE_DIFF_DB

    prof = _profile((120, 120), (60.0, 60.0), 25.0).astype(np.float32)
    r_b = (-9.5 * prof).astype(np.float32)
    dep = Departures(
        (-5.0 * prof).astype(np.float32), np.zeros_like(r_b), r_b, np.ones(r_b.shape, bool)
    )
    cand, score = candidates_of(dep, BRUISE_DIFF_DB)
    found = filter_components(cand, 15, score, dep, db=BRUISE_DIFF_DB)
    assert _is_half_maximum(found, prof)
    assert np.count_nonzero(cand) < np.count_nonzero(found)
