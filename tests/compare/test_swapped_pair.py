"""A change's standard error is a property of the pair, not of its order: the grace_hopper
sample pair compared before -> after and after -> before (treated regions declared)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import SAMPLES

from mesovision.compare import compare_pair
from mesovision.demo import SAMPLE_TREATED
from mesovision.noise import two_sided_metrics
from mesovision.pipeline import align_pair

BRUISE = "bruise.area_pct"


@pytest.fixture(scope="module")
def orders():
    g = SAMPLES / "grace_hopper"
    paths = (str(g / "before.jpg"), str(g / "after_treated.jpg"))
    return [
        compare_pair(align_pair(*p), treated=SAMPLE_TREATED).changes for p in (paths, paths[::-1])
    ]


@pytest.mark.parametrize("region", ["right_cheek", "chin", "perioral"])
def test_the_bruised_area_reads_the_same_change_and_se_in_both_orders(orders, region):
    """The right cheek's bruise (the before photo's false bruise on a painted spot, a known
    limit) read se 0.149 forward and 6.145 reversed, from the between-region term of the
    reversed order's untreated parts; the chin's and the perioral region's (the treated bruise,
    in the after photo) 1.9 forward and 0.5 reversed, from the registration term of the after
    photo's masks alone. Measured with both terms two-sided: se ratios 1.03, 1.07, 1.06."""
    fwd, rev = orders[0][region][BRUISE], orders[1][region][BRUISE]
    assert fwd.delta == pytest.approx(-rev.delta, rel=0.1)
    assert max(fwd.se, rev.se) / min(fwd.se, rev.se) < 1.5
    assert fwd.noise.sd_field == rev.noise.sd_field == 0.0


def test_the_treated_bruise_is_significant_in_both_orders(orders):
    fwd, rev = orders[0]["chin"][BRUISE], orders[1]["chin"][BRUISE]
    assert fwd.delta > 10 and rev.delta < -10
    assert fwd.significant and rev.significant


def _ratio(a: float, b: float) -> float:
    """``max / min`` of two non-negative terms (inf when only one of them is 0)."""
    return max(a, b) / min(a, b) if min(a, b) > 0 else np.inf


def _pairs(orders, family: str):
    """``(forward, reversed)`` changes of ``family``'s metrics whose registration term moves
    both photos' masks (its ``two_sided_registration``), both with a finite se."""
    fwd, rev = orders
    return [
        (c, rev[region][metric])
        for region, per in fwd.items()
        for metric, c in per.items()
        if metric.split(".")[0] == family
        and metric in two_sided_metrics()
        and np.isfinite(c.se)
        and np.isfinite(rev[region][metric].se)
    ]


#: The swelling family's shaded area is darker than the before photo's skin by a margin (so that
#: a darkening of the whole face shows): the threshold changes with the order. Where neither
#: photo has shade (the left cheek, the perioral region, the glabella) the moved masks take in
#: the neighbours' shade against another threshold in each order: registration terms 0.72 and
#: 0.41 on the left cheek.
SHADE_BOUND = 1.9


@pytest.mark.parametrize(
    ("family", "bound"), [("pigmentation", 1.25), ("swelling", SHADE_BOUND), ("texture", 1.25)]
)
def test_the_registration_term_reads_both_photos(orders, family, bound):
    """The registration term of every change the term weighs in (at least 10 % of its se in an
    order) within ``bound`` between the orders in 90 % of them. With the after photo's masks
    alone the 90th percentiles of the ratio were 2.38 (pigmentation, 50 changes), 2e7 (the
    shaded area, 10: a term 0 in one order) and 1.86 (texture, 50); with both photos' masks
    moved by the residual at the before photo's scale (5 px in both orders) 1.15, 1.76 and
    1.18. Moved by it at the after photo's scale (4 px forward, 5 reversed) texture read 1.49."""
    ratios = [
        _ratio(f.noise.sd_registration, r.noise.sd_registration)
        for f, r in _pairs(orders, family)
        if max(f.noise.sd_registration, r.noise.sd_registration) >= 0.1 * max(f.se, r.se)
    ]
    assert len(ratios) >= 10
    assert np.percentile(ratios, 90) < bound


@pytest.mark.parametrize(
    ("family", "bound"), [("pigmentation", 1.3), ("swelling", SHADE_BOUND), ("texture", 1.3)]
)
def test_no_standard_error_depends_on_the_order_by_more_than_bound(orders, family, bound):
    """The largest se ratio between the orders: pigmentation 1.72, the shaded area 4.75 and
    texture 4.89 (the forehead's wrinkled area, the wrinkled photo's moved masks 4.51 against
    the smoothed one's 0.10) with the after photo's masks alone; 1.16, 1.77 (the left cheek's
    shaded area, ``SHADE_BOUND``) and 1.25 with both photos'. Texture read 1.52 with the
    residual at the after photo's scale."""
    ratios = [_ratio(f.se, r.se) for f, r in _pairs(orders, family)]
    assert max(ratios) < bound


@pytest.mark.parametrize(
    ("metric", "significant"),
    [("texture.ridge_strength_mean", True), ("texture.wrinkle_area_pct", False)],
)
def test_the_forehead_texture_changes_are_significant_in_both_orders_or_neither(
    orders, metric, significant
):
    """The treated forehead's ridge strength (0.37 both ways; se 0.130 both ways) is
    significant in both orders, its wrinkled area (-2.2 and +2.3 %; se 3.2 and 3.3) in
    neither: with the after photo's masks alone both were significant forward only (se 0.07
    and 0.94 forward against 0.17 and 4.6 reversed)."""
    fwd, rev = orders[0]["forehead"][metric], orders[1]["forehead"][metric]
    assert fwd.delta == pytest.approx(-rev.delta, rel=0.1)
    assert fwd.significant is rev.significant is significant
