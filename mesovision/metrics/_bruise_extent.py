"""A bruise's extent: the half maximum of its own departure, below the colour threshold too.

The colour test (:func:`~mesovision.metrics._bruise_colour.candidates_of`) marks the pixels that
depart from the skin's background beyond a threshold ``db`` (``BRUISE_DB``, 7, in a photo;
``BRUISE_DIFF_DB``, 5, in the difference of a pair's two photos); a bruise is a component of
them with a core, cut to its pixels at ``BRUISE_EXTENT_SHARE`` (half) of its robust peak
departure. A weak bruise -- a green or blue-green one, whose peak is often under twice the
threshold -- has half its peak under the threshold, and the candidates stop short of it: its
extent is then where the threshold cuts its profile, a ring of the bruise inside its half
maximum. :func:`grow_to_half_maximum` grows each bruise that passed every test into the
connected skin whose departure on the bruise's hue side
(:func:`~mesovision.metrics._bruise_ring.hue_departure`) reaches half its peak, within the
side's lightness window (``BRUISE_BLUE_DL``, ``BRUISE_YELLOW_DL``): the threshold says where
a bruise is, half its maximum how far it reaches (the convention of the injected bruises'
truth in ``benchmarks/bruise.py``). ``BRUISE_EXTENT_FLOOR`` bounds the growth from below.

Measured on the development faces (``python benchmarks/bruise.py --split dev``; 43 faces of 13
people; ``docs/validation.md``): of the injected bruises found but under IoU 0.7 against the
truth in single photos most are too small (the colour threshold and the lightness window cut
them; 35 of 45 with the growth). Grown, the green bruises at IoU 0.7 rise from 31.0 to 34.9 %
in single photos (129 bruises) and from 61.9 to 66.7 % in comparisons (42), every stage
together from 61.2 to 62.2 % and 72.6 to 73.8 %; no injected bruise is lost, and the false
bruise area of the faces as they are and of their comparisons with recaptures of themselves is
unchanged.
"""

from __future__ import annotations

import cv2
import numpy as np

from ._bruise_ring import Departures, hue_departure
from ._shapes import component_areas, component_quantile

__all__ = ["BRUISE_EXTENT_FLOOR", "BRUISE_EXTENT_MAX_GROWTH", "grow_to_half_maximum"]

#: The lowest departure (in colour thresholds) a bruise's extent reaches down to when half its
#: robust peak lies lower. 0: the extent is the bruise's half maximum whatever the threshold;
#: 1 would stop it at the threshold (the candidates' extent).
BRUISE_EXTENT_FLOOR = 0.0
#: Most a bruise's area may grow to its half maximum (a multiple of its area at the threshold):
#: beyond it the growth is a leak into the skin around it, and the bruise keeps its extent at the
#: threshold. The profile of a bruise falls from the threshold to half its peak over a band of
#: its edge: on the development faces (``benchmarks/bruise.py --split dev``) the injected bruises
#: grow by at most 1.46 times in single photos and 1.23 in comparisons; in the comparisons of
#: the photos with recaptures of themselves four false components grew 5.8-7.8 times (one, in
#: Barack Obama's perioral region, from 117 to 918 px: a significant bruise change), the next
#: 1.48 times.
BRUISE_EXTENT_MAX_GROWTH = 2.0
#: The share of a component's departure values its robust peak is taken at (as the cut's).
_PEAK_QUANTILE = 0.9


def grow_to_half_maximum(
    mask: np.ndarray,
    score: np.ndarray,
    dep: Departures,
    db: float,
    windows: tuple[tuple[float, float], tuple[float, float]],
    share: float,
) -> np.ndarray:
    """``mask``'s bruises grown to the half maximum of their own departure.

    Parameters
    ----------
    mask : (row, col) bool
        The bruises (8-connected components) that passed the tests, on ``dep``'s crop.
    score : (row, col) float32
        The colour test's score (departure beyond ``db``, in units of ``db``); its robust peak
        (90th percentile) over each component sets that component's level.
    dep : Departures
        The departures the score was computed from.
    db : float
        The colour threshold the score is in units of.
    windows : ((lo, hi), (lo, hi))
        The L* departures a bluer and a yellower bruise may have (``BRUISE_BLUE_DL``,
        ``BRUISE_YELLOW_DL``).
    share : float
        The extent's share of the peak departure (``BRUISE_EXTENT_SHARE``).

    Returns
    -------
    (row, col) bool
        ``mask`` with, for each component ``i`` (on the yellow side when its mean ``r_b`` > 0),
        the skin pixels connected to it whose hue departure on its side is at least
        ``max(share (peak_i + 1), BRUISE_EXTENT_FLOOR) db`` and whose L* departure lies
        within its side's window; a component whose area would grow more than
        ``BRUISE_EXTENT_MAX_GROWTH`` times keeps its own pixels.
    """
    if not mask.any():
        return mask
    n, labels, _ = component_areas(mask)
    lab = labels[mask]
    peak = component_quantile(lab, score[mask], n, _PEAK_QUANTILE).astype(np.float64)
    level = np.maximum(share * (peak + 1.0), BRUISE_EXTENT_FLOOR) * db
    yellow = np.bincount(lab, weights=dep.r_b[mask], minlength=n) > 0
    out = mask.copy()
    for side in (False, True):
        ids = [i for i in range(1, n) if yellow[i] == side]
        if not ids:
            continue
        d = hue_departure(dep.r_a, dep.r_b, side, dep.d_l)
        lo, hi = windows[int(side)]
        ok = (dep.d_l > lo) & (dep.d_l < hi) & dep.skin
        for i in ids:
            own = labels == i
            reach = (ok & (d >= np.float32(level[i]))) | own
            _, grown = cv2.connectedComponents(reach.view(np.uint8), connectivity=8)
            hit = np.unique(grown[own])
            new = np.isin(grown, hit[hit > 0])
            if np.count_nonzero(new) <= BRUISE_EXTENT_MAX_GROWTH * np.count_nonzero(own):
                out |= new
    return out
