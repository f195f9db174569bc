"""The two photos of a pair agree on standing features (mesovision.metrics._bruise_pair).

Synthetic pairs on flat skin, rendered independently of the code under test
(``skimage.color.lab2rgb``): a bruise-coloured feature that stands in both photos, just above
the core level in one and just below it in the other, is segmented in one photo only by the
per-photo segmentation and counted in both after :func:`pair_maps`; a bruise that appears or
fades between the photos is still a change.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import ndtr
from skimage.color import lab2rgb

import mesovision.metrics as M
import mesovision.metrics._bruise_pair as bp
from mesovision.metrics._bruise_colour import (
    BRUISE_BLUE_DL,
    BRUISE_CORE_SCORE,
    BRUISE_DB,
    BRUISE_FLIP_SD,
)
from mesovision.metrics._bruise_pair import BRUISE_SEEN_SHARE, pair_flip_variance
from mesovision.metrics.bruise import pair_maps, paired_after, segment_bruises

SKIN_LAB = (65.0, 12.0, 16.0)
SHAPE = (220, 260)
SKIN_BOX = (30, 200, 30, 240)
#: The after photo is the before photo moved by this (x, y) in pixels.
SHIFT_XY = (6, -4)
#: The standing feature: a yellower disc (b* above the skin's), centre (row, col) and radius.
FEATURE = (90, 90, 14)
#: A bruise that appears in the after photo only: blue-purple, centre and semi-axes.
NEW_BRUISE = (140, 180, 16, 22)


def _disc(cy, cx, ry, rx=None):
    yy, xx = np.mgrid[: SHAPE[0], : SHAPE[1]]
    return ((yy - cy) / ry) ** 2 + ((xx - cx) / (rx or ry)) ** 2 <= 1


#: A blue-purple bruise's departure from the skin (L*, a*, b*).
PURPLE = (-13.0, 4.0, -22.0)
#: A bruise that fades: less dark, its opposite (lighter, yellower) within the lightness window
#: of a yellow one.
FADED = (-8.0, 4.0, -22.0)
#: A shadow (the skin's hue, darker): centre (row, col) and radius.
SHADOW = (140, 180, 20)


def _photo(feature_db: float, *, shift=(0, 0), new_bruise=False, shadow=0.0, purple=None):
    """``(rgb, skin)``: the skin with the feature ``feature_db`` b* yellower than it (0: none)
    and, with ``new_bruise``, a blue-purple bruise; with ``shadow``, a shadow that many L*
    darker than the skin; with
    ``purple`` (a Lab shift), a blue-purple bruise inside the shadow's disc; everything moved
    by ``shift`` (x, y)."""
    lab = np.empty((*SHAPE, 3))
    lab[:] = SKIN_LAB
    if feature_db:
        lab[_disc(*FEATURE)] = (SKIN_LAB[0], SKIN_LAB[1], SKIN_LAB[2] + feature_db)
    if new_bruise:
        lab[_disc(*NEW_BRUISE)] = (52.0, 16.0, -6.0)
    if shadow:
        lab[_disc(*SHADOW), 0] = SKIN_LAB[0] - shadow
    if purple is not None:
        cy, cx, r = SHADOW
        lab[_disc(cy, cx, r - 6)] += purple
    skin = np.zeros(SHAPE, bool)
    r0, r1, c0, c1 = SKIN_BOX
    skin[r0:r1, c0:c1] = True
    dx, dy = shift
    lab = np.roll(lab, (dy, dx), axis=(0, 1))
    skin = np.roll(skin, (dy, dx), axis=(0, 1))
    return lab2rgb(lab).astype(np.float32), skin


def _a_to_b():
    dx, dy = SHIFT_XY
    return np.array([[1.0, 0.0, -dx], [0.0, 1.0, -dy], [0.0, 0.0, 1.0]])


def _b_to_a():
    return np.linalg.inv(_a_to_b())


def _pair(db_before: float, db_after: float, *, new_bruise=False, before=None, after=None):
    """Both photos' maps (the after photo moved by ``SHIFT_XY``) and skins; ``before`` and
    ``after``: more options of :func:`_photo` for each."""
    rgb_b, skin_b = _photo(db_before, **(before or {}))
    rgb_a, skin_a = _photo(db_after, shift=SHIFT_XY, new_bruise=new_bruise, **(after or {}))
    maps_b = M.prepare(rgb_b, roi_mask=skin_b)
    maps_a = M.prepare(rgb_a, roi_mask=skin_a, baseline=maps_b.baseline)
    return (rgb_b, skin_b, maps_b), (rgb_a, skin_a, maps_a)


def _area(maps) -> float:
    return float(maps.maps["bruise_px"].sum())


# The feature's departure in thresholds (BRUISE_DB): just above the core level in the before
# photo, just below it in the after photo (1.8 and 1.6 of the threshold; ratio 0.89).
ABOVE = (1.0 + BRUISE_CORE_SCORE + 0.15) * BRUISE_DB
BELOW = (1.0 + BRUISE_CORE_SCORE - 0.2) * BRUISE_DB


def test_standing_feature_flips_per_photo_and_is_counted_in_both_after_the_rule():
    (rgb_b, skin_b, maps_b), (rgb_a, skin_a, maps_a) = _pair(ABOVE, BELOW)
    feature = _disc(*FEATURE)
    # Per photo: found in the before photo only -- the area jumps by the whole feature.
    assert _area(maps_b) == pytest.approx(feature.sum(), rel=0.25)
    assert _area(maps_a) == 0
    new_b, carried_b, new_a, carried_a = pair_maps(maps_b, skin_b, maps_a, skin_a, _a_to_b())
    assert not carried_b.any()  # nothing of the after photo's to carry back
    # Carried into the after photo, at the feature's place there (moved by SHIFT_XY).
    moved = np.roll(maps_b.full_frame("bruise_px", fill=0) > 0, SHIFT_XY[::-1], axis=(0, 1))
    assert (carried_a == moved).all()
    assert _area(new_a) == _area(new_b) == _area(maps_b)
    # The per-photo result counts it and says where it came from.
    res = segment_bruises(rgb_a, skin_a, maps=new_a, carried=carried_a)
    assert [b.carried for b in res.bruises] == [True]
    assert res.total_area_px == int(moved.sum())
    own = segment_bruises(rgb_b, skin_b, maps=new_b, carried=carried_b)
    assert [b.carried for b in own.bruises] == [False]


def test_paired_after_is_the_after_photos_maps_of_pair_maps():
    (_, skin_b, maps_b), (_, skin_a, maps_a) = _pair(ABOVE, BELOW, new_bruise=True)
    want = pair_maps(maps_b, skin_b, maps_a, skin_a, _a_to_b())[2]
    got = paired_after(maps_b, skin_b, maps_a, skin_a, _a_to_b())
    assert got.window == want.window and _area(got) > 0
    for name in ("bruise_px", "bruise_flip", "L"):
        assert np.array_equal(got.maps[name], want.maps[name])


def test_flip_variance_after_the_rule_is_what_can_still_be_lost():
    (_, skin_b, maps_b), (_, skin_a, maps_a) = _pair(ABOVE, BELOW)
    new_b, _, new_a, _ = pair_maps(maps_b, skin_b, maps_a, skin_a, _a_to_b())
    area = _area(maps_b)
    old = float(maps_b.maps["bruise_flip"].sum())
    paired = float(new_b.maps["bruise_flip"].sum())
    # The feature's core lies 0.15-0.25 threshold above the core level: the per-photo term
    # has it flip with p = Phi(-0.6..-1) ~ 0.16-0.27, a variance of 0.13-0.2 A^2; after the rule
    # the pair loses it only below BRUISE_SEEN_SHARE of its departure, 0.4 x 1.95 ~ 0.78
    # threshold away: p ~ 0.001.
    assert 0.12 * area**2 < old < 0.2 * area**2
    assert 0 < paired < 0.01 * old
    # The carried copy: the after photo departs ~1.63 thresholds there, 0.44 above the level
    # (0.6 x ~1.99): p = Phi(-1.76) ~ 0.04, a variance of ~0.038 A^2.
    assert 0.03 * area**2 < float(new_a.maps["bruise_flip"].sum()) < 0.045 * area**2


def test_a_bruise_that_appears_is_still_a_change():
    (_, skin_b, maps_b), (_, skin_a, maps_a) = _pair(ABOVE, ABOVE, new_bruise=True)
    new_b, carried_b, new_a, carried_a = pair_maps(maps_b, skin_b, maps_a, skin_a, _a_to_b())
    assert not carried_a.any() and not carried_b.any()  # the feature: found in both
    new = _disc(*NEW_BRUISE)
    # The appearing bruise is not carried back into the before photo: its area is the change.
    assert _area(new_a) - _area(new_b) == pytest.approx(new.sum(), rel=0.25)
    assert _area(new_a) - _area(new_b) == _area(maps_a) - _area(maps_b)


@pytest.mark.parametrize("ratio", [0.2, BRUISE_SEEN_SHARE - 0.1])
def test_a_bruise_that_fades_below_the_seen_share_is_still_a_change(ratio):
    strong = 2.5 * BRUISE_DB
    (_, skin_b, maps_b), (_, skin_a, maps_a) = _pair(strong, ratio * strong)
    assert _area(maps_b) > 0 and _area(maps_a) == 0
    new_b, _, new_a, carried_a = pair_maps(maps_b, skin_b, maps_a, skin_a, _a_to_b())
    assert not carried_a.any()
    assert _area(new_a) == 0 and _area(new_b) == _area(maps_b)


def test_a_bruise_that_fades_to_above_the_seen_share_is_carried():
    strong = 2.3 * BRUISE_DB
    ratio = BRUISE_SEEN_SHARE + 0.1  # 1.6 thresholds: below the core level, seen
    (_, skin_b, maps_b), (_, skin_a, maps_a) = _pair(strong, ratio * strong)
    assert _area(maps_a) == 0
    _, _, new_a, carried_a = pair_maps(maps_b, skin_b, maps_a, skin_a, _a_to_b())
    assert carried_a.any() and _area(new_a) == _area(maps_b)


def test_pair_flip_variance_values():
    mask = np.zeros((20, 30), bool)
    mask[2:8, 2:12] = True  # 60 px
    mask[12:17, 20:25] = True  # 25 px
    margin = np.zeros(mask.shape, np.float32)
    margin[2:8, 2:12] = 0.0  # at the level: p = 0.5
    margin[12:17, 20:25] = BRUISE_FLIP_SD  # one SD above: p = Phi(-1)
    var = pair_flip_variance(mask, margin)
    assert (var[~mask] == 0).all()
    assert var[2:8, 2:12].sum() == pytest.approx(0.25 * 60**2, rel=1e-5)
    p = 0.15865525393145707
    assert var[12:17, 20:25].sum() == pytest.approx(p * (1 - p) * 25**2, rel=1e-5)
    assert not pair_flip_variance(np.zeros((4, 4), bool), np.zeros((4, 4))).any()


@pytest.mark.parametrize(
    "before, after",
    [
        ({"feature_db": ABOVE}, {"feature_db": BELOW}),  # a standing feature, carried
        ({"feature_db": ABOVE}, {"feature_db": ABOVE, "new_bruise": True}),  # one appears
        ({"feature_db": 2.5 * BRUISE_DB}, {"feature_db": 0.3 * BRUISE_DB}),  # one fades
        ({"feature_db": 0, "shadow": -BRUISE_BLUE_DL[0] - 8.0},
         {"feature_db": 0, "shadow": -BRUISE_BLUE_DL[0] - 8.0, "purple": PURPLE}),  # difference
    ],
)  # fmt: skip
def test_each_photos_paired_bruises_and_flip_term_do_not_depend_on_which_is_before(before, after):
    """Swapping the photos of a pair swaps their paired maps: each photo's bruises and its
    share of the flip variance are the same whether it is the before or the after photo, so
    the bruised area's counting term (the two photos' flip variances summed) is too."""
    rgb_b, skin_b = _photo(**before)
    rgb_a, skin_a = _photo(shift=SHIFT_XY, **after)
    maps_b = M.prepare(rgb_b, roi_mask=skin_b)
    maps_a = M.prepare(rgb_a, roi_mask=skin_a, baseline=maps_b.baseline)
    fwd = pair_maps(maps_b, skin_b, maps_a, skin_a, _a_to_b())
    rev = pair_maps(maps_a, skin_a, maps_b, skin_b, _b_to_a())
    flips = []
    for new_x, carried_x, new_y, carried_y in ((fwd[0], fwd[1], rev[2], rev[3]),
                                               (fwd[2], fwd[3], rev[0], rev[1])):  # fmt: skip
        assert np.array_equal(carried_x, carried_y)
        for name in ("bruise_px", "bruise_flip", "bruise_diff"):
            assert np.array_equal(new_x.maps[name], new_y.maps[name]), name
        flips.append(float(new_x.maps["bruise_flip"].sum()))
    assert _area(fwd[0]) + _area(fwd[2]) > 0 and sum(flips) > 0


#: A shadow 8 L* short of the darkest a bluer bruise may depart from its skin: with the bruise
#: (13 L* darker) inside it, darker than that.
SHADOW_DL = -BRUISE_BLUE_DL[0] - 8.0


def test_a_bruise_the_photo_misses_on_a_shadow_is_found_against_the_other_photo():
    """A bruise inside a shadow both photos show: darker than a bruise can be against the
    photo's own skin, so its own tests miss it; against the other photo the shadow cancels and
    the bruise is found, flagged ``difference``, and its area is the change."""
    shadow = {"shadow": SHADOW_DL}
    (rgb_b, skin_b, maps_b), (rgb_a, skin_a, maps_a) = _pair(
        0, 0, before=shadow, after=shadow | {"purple": PURPLE}
    )
    assert _area(maps_b) == _area(maps_a) == 0  # the photos' own tests: nothing
    new_b, carried_b, new_a, carried_a = pair_maps(maps_b, skin_b, maps_a, skin_a, _a_to_b())
    assert not carried_b.any() and _area(new_b) == 0  # not gained back by the before photo
    cy, cx, r = SHADOW
    bruise = np.roll(_disc(cy, cx, r - 6), SHIFT_XY[::-1], axis=(0, 1))
    found = new_a.full_frame("bruise_px", fill=0) > 0
    assert (found == carried_a).all()
    assert (found & bruise).sum() / (found | bruise).sum() >= 0.8  # IoU
    res = segment_bruises(rgb_a, skin_a, maps=new_a, carried=carried_a)
    assert [(b.carried, b.difference) for b in res.bruises] == [(False, True)]
    assert res.bruises[0].stage == "red-purple"
    # Its flip term: lost when the difference's peak score falls below the core level.
    fb, fa = bp._crop_frame(maps_b, skin_b), bp._crop_frame(maps_a, skin_a)
    gained = bp.difference_components(maps_a.maps["bruise_px"] > 0, fb, fa, _b_to_a())
    m, n = float(gained.margin.max()), int(gained.mask.sum())
    p = ndtr(-m / BRUISE_FLIP_SD)
    assert m > 0 and n == _area(new_a)
    assert float(new_a.maps["bruise_flip"].sum()) == pytest.approx(p * (1 - p) * n**2, rel=1e-4)


def test_no_bruise_is_looked_for_where_the_other_photo_is_darker_than_a_bruise_can_be():
    """Where the other photo is darker than its skin by more than a bruise can be (a moustache,
    brows, a deep shadow), the difference is not searched: a bruise cannot be seen there, and
    two photos' light fitted on the skin differs most on such dark pixels (a real pair of the
    calibration read ten false yellow bruises on a moustache). The bruise of the test above,
    in a shadow 6 L* beyond that limit, is not found."""
    shadow = {"shadow": 6.0 - BRUISE_BLUE_DL[0]}
    (_, skin_b, maps_b), (_, skin_a, maps_a) = _pair(
        0, 0, before=shadow, after=shadow | {"purple": PURPLE}
    )
    assert _area(maps_b) == _area(maps_a) == 0
    _, carried_b, new_a, carried_a = pair_maps(maps_b, skin_b, maps_a, skin_a, _a_to_b())
    assert not carried_b.any() and not carried_a.any() and _area(new_a) == 0


def test_a_faded_bruise_is_not_the_other_photos_bruise_of_the_opposite_hue():
    """A blue-purple bruise in the before photo, gone in the after photo: the after photo
    differs from the before photo there toward yellow, but lighter: a bruise never lightens the
    skin, so the difference is the before photo's bruise fading, not a yellow one of the after
    photo's."""
    (_, skin_b, maps_b), (_, skin_a, maps_a) = _pair(0, 0, before={"purple": FADED})
    assert _area(maps_b) > 0 and _area(maps_a) == 0
    _, _, new_a, carried_a = pair_maps(maps_b, skin_b, maps_a, skin_a, _a_to_b())
    assert not carried_a.any() and _area(new_a) == 0
    # The difference passes the colour and shape tests as a yellow-side bruise: only its
    # lightness rules it out.
    fb, fa = bp._crop_frame(maps_b, skin_b), bp._crop_frame(maps_a, skin_a)
    dep = bp.Departures(*bp.colour_difference(fb, fa, _b_to_a(), fa.skin), fa.skin)
    cand, score = bp.candidates_of(dep)
    passed = bp.filter_components(cand, 15, score, dep)
    assert passed.sum() > 0.5 * _area(maps_b)
    assert (dep.r_b[passed] > 0).all() and (dep.d_l[passed] > 0).all()


def test_the_difference_search_bound_holds():
    # difference_components stops when |r_a| + |r_b| stays below a core's departure: the bound
    # must hold for every colour and lightness departure, on both hue sides.
    from mesovision.metrics._bruise_ring import hue_departure

    rng = np.random.default_rng(5)
    r_a, r_b = rng.normal(0, 15, (2, 100_000)).astype(np.float32)
    d_l = rng.normal(0, 20, 100_000).astype(np.float32)
    hue = hue_departure(r_a, r_b, r_b > 0, d_l)
    assert (hue <= np.abs(r_a) + np.abs(r_b) + 1e-4).all()
    assert (hue >= 0.9 * (np.abs(r_a) + np.abs(r_b))).any()  # and it is reached


def _faint_bruise_pair(axes):
    """Both photos' maps and skins: flat skin, the after photo (moved by ``SHIFT_XY``) with a
    faint bluish bruise (4 L* darker, b* 10 lower, a* 2 higher: below the single photo's core
    level, above the difference's) of semi-axes ``axes`` (rows, cols); and its truth."""
    ry, rx = axes
    rgb_b, skin_b = _photo(0)
    lab = np.empty((*SHAPE, 3))
    lab[:] = SKIN_LAB
    bruise = _disc(115, 135, ry, rx)
    lab[bruise] = (SKIN_LAB[0] - 4.0, SKIN_LAB[1] + 2.0, SKIN_LAB[2] - 10.0)
    rgb_a = lab2rgb(np.roll(lab, SHIFT_XY[::-1], axis=(0, 1))).astype(np.float32)
    skin_a = np.roll(skin_b, SHIFT_XY[::-1], axis=(0, 1))
    maps_b = M.prepare(rgb_b, roi_mask=skin_b)
    maps_a = M.prepare(rgb_a, roi_mask=skin_a, baseline=maps_b.baseline)
    truth = np.roll(bruise, SHIFT_XY[::-1], axis=(0, 1)) & skin_a
    return (skin_b, maps_b), (skin_a, maps_a), truth


@pytest.mark.parametrize(
    ("scale", "low", "high"), [(bp.BRUISE_DIFF_BG_SCALE, 0.95, 1.0), (1.0, 0.1, 0.3)]
)
def test_a_large_bruise_is_found_over_its_extent_against_the_other_photo(
    scale, low, high, monkeypatch
):
    """A faint bruise over 31 % of the skin, which the photo's own tests miss: against the
    other photo, whose colours cancel the face's, the difference's background is taken over
    windows twice the single photo's (``BRUISE_DIFF_BG_SCALE``) and the bruise is found over
    its extent (IoU 0.99); over the single photo's windows the bruise pulls its background and
    only a fifth of it is found."""
    monkeypatch.setattr(bp, "BRUISE_DIFF_BG_SCALE", scale)
    (skin_b, maps_b), (skin_a, maps_a), truth = _faint_bruise_pair((50, 70))
    assert truth.sum() == pytest.approx(0.31 * skin_a.sum(), rel=0.02)
    assert _area(maps_a) == 0
    _, _, new_a, carried_a = pair_maps(maps_b, skin_b, maps_a, skin_a, _a_to_b())
    found = new_a.full_frame("bruise_px", fill=0) > 0
    assert low <= (found & truth).sum() / (found | truth).sum() <= high
