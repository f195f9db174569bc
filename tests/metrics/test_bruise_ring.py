"""The tests of a bruise against the skin around it (:mod:`mesovision.metrics._bruise_ring`).

Each rule on hand-built departures where every number is known (both sides of each limit), then
end to end on rendered skin (``skimage.color.lab2rgb``, independent of the code under test): the
same bruise-coloured patch is kept on plain skin and dropped as the core of a broad warm shade;
a lighter blue patch (sheen) is dropped where a darker one of the same blue is kept; a thin arch
(a spectacle bridge) is dropped where a disc of the same area and colour is kept; the skin's own
colour deepened (light through the skin twice) is dropped where a yellowing of the same L* and
b* is kept.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage.color import lab2rgb, rgb2lab

from mesovision.metrics import _bruise_ring
from mesovision.metrics._bruise_colour import BRUISE_GREEN_WEIGHT
from mesovision.metrics._bruise_ring import (
    BRUISE_EDGE_SHARE,
    BRUISE_GAP_PX,
    BRUISE_LOCAL_SHARE,
    BRUISE_MAX_OPENING_SHARE,
    BRUISE_MAX_OUTLINE_SHARE,
    BRUISE_MIN_THICKNESS,
    BRUISE_RING_PX,
    BRUISE_YELLOW_SHADOW,
    BRUISE_YELLOWING_DEG,
    Departures,
    inner_skin,
    outline_share,
    ring_components,
    skin_chroma,
    yellowing_deg,
)
from mesovision.metrics._shapes import elongation
from mesovision.metrics.bruise import segment_bruises

SHAPE = (120, 160)
SKIN_LAB = (65.0, 12.0, 16.0)


def _disc(cy, cx, r, shape=SHAPE):
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    return (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r


def _departures(patches, shape=SHAPE):
    """Departures zero on skin, ``(d_l, r_a, r_b)`` on each ``(mask, value)`` of ``patches``."""
    maps = [np.zeros(shape, np.float32) for _ in range(3)]
    for mask, value in patches:
        for m, v in zip(maps, value, strict=True):
            m[mask] = v
    skin = np.ones(shape, bool)
    return Departures(*maps, skin)


@pytest.mark.parametrize(
    ("d_l", "r_b", "kept"),
    [
        # yellow side: darkening over the hue departure from the ring, limit 1.5
        (-15.0, 11.0, True),  # 1.36: a yellow-green bruise darkens about as much as it yellows
        (-15.0, 9.0, False),  # 1.67: a warm shadow
        (-3.0, 12.0, True),  # 0.25: a yellow-brown bruise
        (6.0, 12.0, True),  # lighter and yellower: not a shadow (the colour test bounds it)
        # blue side: darker than the ring, or dropped
        (-0.5, -12.0, True),
        (0.5, -12.0, False),  # lighter and bluer: sheen
        (-12.0, -12.0, True),
    ],
)
def test_ring_rules_on_known_departures(d_l, r_b, kept):
    disc = _disc(60, 80, 15)
    dep = _departures([(disc, (d_l, 0.0, r_b))])
    out = ring_components(disc, dep)
    assert out.any() == kept
    if kept:
        assert (out == disc).all()


def test_yellow_rule_counts_the_green_term_and_measures_against_the_ring():
    disc = _disc(60, 80, 15)
    zone = _disc(60, 80, 40)
    # r_b 8 and r_a -4 (greener): hue 8 + 0.5 * 4 = 10 against dL -14: 1.4, kept...
    green = _departures([(disc, (-14.0, -4.0, 8.0))])
    assert ring_components(disc, green).any()
    assert -14.0 / (8.0 + BRUISE_GREEN_WEIGHT * 4.0) <= BRUISE_YELLOW_SHADOW
    # ... and r_a +4 (redder) leaves hue 8: 1.75, dropped.
    assert not ring_components(disc, _departures([(disc, (-14.0, 4.0, 8.0))])).any()
    # The same patch inside a zone already yellower by 4 (and 2 darker): against its ring it
    # darkens by 12 and yellows by 6 (ratio 2): dropped, though the patch itself is unchanged.
    shade = _departures([(zone, (-2.0, 0.0, 4.0)), (disc, (-14.0, 0.0, 10.0))])
    assert ring_components(disc, _departures([(disc, (-14.0, 0.0, 10.0))])).any()
    assert not ring_components(disc, shade).any()


def test_a_component_must_depart_from_its_ring_not_only_from_the_background():
    disc = _disc(60, 80, 15)
    zone = _disc(60, 80, 40)
    # r_b 14 against the background, 4.5 against a ring already at 9.5: 0.32 of it, kept;
    # against a ring at 10: 0.29, dropped (the deepest part of a broader tint)
    for ring_b, kept in ((9.5, True), (10.0, False)):
        dep = _departures([(zone, (0.0, 0.0, ring_b)), (disc, (-2.0, 0.0, 14.0))])
        assert ring_components(disc, dep).any() == kept, ring_b
    assert (14.0 - 9.5) / 14.0 >= BRUISE_LOCAL_SHARE > (14.0 - 10.0) / 14.0


def test_a_component_without_skin_around_it_is_judged_by_its_shape():
    disc = _disc(60, 80, 15)
    dep = _departures([(disc, (5.0, 0.0, -12.0))])  # lighter and bluer: dropped with a ring
    alone = dep._replace(skin=disc.copy())
    assert not ring_components(disc, dep).any()
    assert (ring_components(disc, alone) == disc).all()


def _arch(cy, cx, r_out, width):
    """The upper half of an annulus: a spectacle bridge."""
    yy, _ = np.mgrid[: SHAPE[0], : SHAPE[1]]
    return _disc(cy, cx, r_out) & ~_disc(cy, cx, r_out - width) & (yy <= cy)


def test_thin_arch_dropped_disc_of_its_area_kept():
    arch = _arch(80, 80, 30, 5)
    n, labels = 2, arch.astype(np.int32)
    # compact by its second moments: the elongation test alone would keep it
    assert elongation(labels, n)[1] < 3.5
    area = int(arch.sum())
    disc = _disc(60, 80, np.sqrt(area / np.pi))
    assert abs(int(disc.sum()) - area) < 0.05 * area
    for mask, kept in ((arch, False), (disc, True)):
        dep = _departures([(mask, (-3.0, 0.0, 12.0))])  # a yellow-brown bruise's colour
        assert ring_components(mask, dep).any() == kept
    # The limit: an inscribed radius of 2.5 px over an equal-area radius of about 11.9 px.
    assert 2.5 / np.sqrt(area / np.pi) < BRUISE_MIN_THICKNESS


def test_clipped_holes_inside_a_bruise_do_not_thin_it():
    disc = _disc(60, 80, 15)
    holes = np.zeros(SHAPE, bool)  # 2 x 2 px of clipped (not skin) pixels every 6 px
    for y in range(48, 73, 6):
        for x in range(68, 93, 6):
            holes[y : y + 2, x : x + 2] = True
    sel = disc & ~holes
    # without the holes counted in, its largest inscribed disc is about 3 px of its 14.6
    dist = cv2.distanceTransform(np.pad(sel, 1).view(np.uint8), cv2.DIST_L2, 5)
    assert float(dist.max()) / np.sqrt(sel.sum() / np.pi) < 0.3 < BRUISE_MIN_THICKNESS
    assert 2 * BRUISE_GAP_PX >= 4  # the 4-px gaps between holes and their 2-px size close
    dep = _departures([(sel, (-3.0, 0.0, 12.0))])._replace(skin=~holes)
    assert (ring_components(sel, dep) == sel).all()
    # the same gaps in skin (not clipped) are not counted in: a sieve, not a blob
    assert not ring_components(sel, dep._replace(skin=np.ones(SHAPE, bool))).any()


def test_inner_skin_leaves_out_the_outline_not_the_holes():
    skin = np.zeros((200, 200), bool)
    skin[20:180, 20:180] = True
    skin[90:110, 60:80] = False  # an eye: a hole
    n = int(skin.sum())
    margin = round(BRUISE_EDGE_SHARE * np.sqrt(n))
    assert margin == 3
    inner = inner_skin(skin)
    assert not (inner & ~skin).any()
    # the outline loses its margin (distance to the outside > 3 px: row 20 is 1 px from it),
    # the hole's border does not
    assert not inner[20:23, 100].any() and inner[23, 100]
    assert inner[89, 70] and inner[110, 70] and inner[100, 59] and inner[100, 80]
    assert int(inner.sum()) == int((skin[23:177, 23:177]).sum())
    assert not inner_skin(np.zeros((10, 10), bool)).any()


def test_outline_share_of_known_shapes():
    outside = np.zeros(SHAPE, bool)
    outside[:, :20] = True  # the skin's outline: column 20 is the first skin column
    square = np.zeros(SHAPE, bool)
    square[40:60, 20:40] = True  # 20 x 20 px against the outline: 76 boundary pixels, 20 on it
    assert outline_share(square, outside) == pytest.approx(20 / 76)
    # one column further in, no boundary pixel touches the outside (8-neighbours)
    assert outline_share(np.roll(square, 1, axis=1), outside) == 0.0
    assert outline_share(np.zeros(SHAPE, bool), outside) == 0.0
    # pixels on the edge of the array are boundary pixels
    whole = np.zeros((10, 10), bool)
    whole[:, :5] = True
    assert outline_share(whole, ~whole) == pytest.approx(10 / 26)  # 26 boundary pixels


def test_a_band_along_the_skins_outline_is_dropped_a_half_disc_kept():
    yy, xx = np.mgrid[: SHAPE[0], : SHAPE[1]]
    skin = (yy >= 20) & (xx >= 30)  # the skin's outline: row 20 and column 30, a corner
    colour = (-3.0, 0.0, 12.0)  # a yellow-brown bruise's departures
    # a half-disc cut by the straight outline (2 / (pi + 2) = 0.39 of its boundary on it)
    half = _disc(20, 100, 14) & skin
    # a quarter-disc in the corner: two straight sides on the outline (2 / (2 + pi / 2) = 0.56)
    quarter = _disc(20, 30, 20) & skin
    shares = {}
    for mask, kept in ((half, True), (quarter, False)):
        dep = _departures([(mask, colour)])._replace(skin=skin)
        shares[kept] = outline_share(mask, ~skin)
        # compact and thick: the other shape tests keep both
        assert elongation(mask.astype(np.int32), 2)[1] < 2.0
        assert ring_components(mask, dep).any() == kept
    assert shares[True] == pytest.approx(0.39, abs=0.05)
    assert shares[False] == pytest.approx(0.56, abs=0.05)
    assert shares[True] <= BRUISE_MAX_OUTLINE_SHARE < shares[False]
    # holes (an eye, the mouth) are not the outline: the same quarter-disc against a hole's
    # corner is kept
    holed = np.ones(SHAPE, bool)
    holed[:20, :30] = False
    holed[0, :] = holed[:, 0] = True  # the hole is closed: skin all round it
    hole_dep = _departures([(quarter, colour)])._replace(skin=holed)
    assert (ring_components(quarter, hole_dep) == quarter).all()


def test_a_blue_band_along_an_opening_is_dropped_a_half_disc_kept_a_yellow_band_kept():
    # an opening (an eye, the mouth): an L-shaped hole in the skin, closed by skin all round,
    # that leaves the skin a corner at row 60, column 90 (the opening above it and right of it)
    skin = np.ones(SHAPE, bool)
    skin[40:60, 50:110] = skin[60:100, 90:110] = False
    blue, yellow = (-12.0, 0.0, -12.0), (-3.0, 0.0, 12.0)  # blue-green, yellow-brown
    # a half-disc cut by the opening's lower edge: 0.39 of its boundary on it
    half = _disc(60, 65, 12) & skin
    # a quarter-disc in the skin's corner: two straight sides on the opening, 0.56
    quarter = _disc(60, 90, 18) & skin
    shares = {k: outline_share(m, ~skin) for k, m in (("half", half), ("quarter", quarter))}
    assert shares["half"] == pytest.approx(0.39, abs=0.05)
    assert shares["quarter"] == pytest.approx(0.56, abs=0.05)
    assert shares["half"] <= BRUISE_MAX_OPENING_SHARE < shares["quarter"]
    # the opening is no part of the skin's outline: the outline test keeps all three
    assert outline_share(quarter, ~_bruise_ring._filled(skin)) == 0.0
    for mask, colour, kept in ((half, blue, True), (quarter, blue, False), (quarter, yellow, True)):
        dep = _departures([(mask, colour)])._replace(skin=skin)
        assert elongation(mask.astype(np.int32), 2)[1] < 2.0
        assert ring_components(mask, dep).any() == kept, (colour, kept)


def test_specks_clipped_at_capture_beside_a_blue_bruise_are_no_opening():
    disc = _disc(60, 60, 12)
    skin = np.ones(SHAPE, bool)
    yy, xx = np.mgrid[: SHAPE[0], : SHAPE[1]]
    around = cv2.dilate(disc.view(np.uint8), np.ones((5, 5), np.uint8)).view(bool) & ~disc
    # specks of at most 4 px all round it (2 x 2 blocks between lines of skin)
    skin[around & (yy % 4 != 0) & (xx % 4 != 0)] = False
    assert outline_share(disc, ~skin) > BRUISE_MAX_OPENING_SHARE
    assert not (_bruise_ring.openings(skin) & ~_bruise_ring.openings(np.ones(SHAPE, bool))).any()
    dep = _departures([(disc, (-12.0, 0.0, -12.0))])._replace(skin=skin)
    assert (ring_components(disc, dep) == disc).all()


def _render(patches, shape=SHAPE):
    """Skin with ``(mask, Lab)`` patches and independent noise (sd 1 per Lab channel), so that
    the photo's b* shading slope is fitted on noise (0 here) rather than on rounding."""
    lab = np.empty((*shape, 3))
    lab[:] = SKIN_LAB
    for mask, value in patches:
        lab[mask] = value
    lab += np.random.default_rng(7).normal(0.0, 1.0, lab.shape)
    return lab2rgb(lab).astype(np.float32)


def _lab(d_l, d_b, base=SKIN_LAB):
    return (base[0] + d_l, base[1], base[2] + d_b)


def test_end_to_end_shade_core_dropped_same_patch_on_plain_skin_kept():
    skin = np.ones(SHAPE, bool)
    left, right = _disc(60, 40, 12), _disc(60, 120, 12)
    zone = _disc(60, 120, 12 + BRUISE_RING_PX + 6)
    patch = _lab(-17.0, 14.0)  # darker and yellower than the skin: a bruise's core colour
    # against its ring the right patch darkens by 13 and yellows by 8 (ratio 1.6): a shade
    rgb = _render([(zone, _lab(-4.0, 6.0)), (left, patch), (right, patch)])
    res = segment_bruises(rgb, skin)
    assert len(res.bruises) == 1
    (b,) = res.bruises
    assert b.centroid_xy == pytest.approx((40.0, 60.0), abs=1.0)
    assert b.stage == "yellow-brown"
    assert not (res.mask & zone).any()


def test_end_to_end_sheen_dropped_bruise_of_the_same_blue_kept():
    skin = np.ones(SHAPE, bool)
    sheen, bruise = _disc(60, 40, 12), _disc(60, 120, 12)
    rgb = _render([(sheen, _lab(4.0, -14.0)), (bruise, _lab(-4.0, -14.0))])
    res = segment_bruises(rgb, skin)
    assert len(res.bruises) == 1
    assert res.bruises[0].centroid_xy == pytest.approx((120.0, 60.0), abs=1.0)
    assert not (res.mask & sheen).any()


def test_end_to_end_bridge_dropped_disc_kept():
    shape = (120, 200)
    skin = np.ones(shape, bool)
    yy, _ = np.mgrid[: shape[0], : shape[1]]
    arch = _disc(80, 50, 30, shape) & ~_disc(80, 50, 25, shape) & (yy <= 80)
    disc = _disc(60, 150, np.sqrt(arch.sum() / np.pi), shape)
    colour = _lab(-3.0, 16.0)
    res = segment_bruises(_render([(arch, colour), (disc, colour)], shape), skin)
    assert len(res.bruises) == 1
    assert res.bruises[0].centroid_xy == pytest.approx((150.0, 60.0), abs=1.0)


def _linear(lab):
    """Linear sRGB of a CIELAB colour (skimage and the IEC 61966-2-1 formula)."""
    c = lab2rgb(np.asarray(lab, float)[None, None])[0, 0]
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _lab_of(lin):
    """CIELAB of a linear sRGB colour (the inverse of :func:`_linear`)."""
    lin = np.clip(lin, 0.0, 1.0)
    c = np.where(lin <= 0.0031308, 12.92 * lin, 1.055 * lin ** (1 / 2.4) - 0.055)
    return rgb2lab(c[None, None])[0, 0]


def test_yellowing_is_measured_from_the_skins_own_chroma():
    lin = _linear(SKIN_LAB)
    ln = np.log(lin)
    skin_deg = np.degrees(np.arctan2(ln[1] - ln[2], ln[0] - ln[1]))  # about 30
    # the skin's colour deepened: light that crossed the skin twice (linear RGB squared, and
    # more), whatever the gain: along its own chroma
    for power, gain in ((2.0, 2.0), (2.2, 2.5)):
        assert yellowing_deg(_lab_of(gain * lin**power), SKIN_LAB) == pytest.approx(0.0, abs=0.1)
    # blue absorbed (bilirubin): the departure points along ln G/B, 90 degrees
    blue = _lab_of(lin * np.array([1.0, 1.0, 0.7]))
    assert blue[2] > SKIN_LAB[2] + 8.0  # yellower in CIELAB
    assert yellowing_deg(blue, SKIN_LAB) == pytest.approx(90.0 - skin_deg, abs=0.5)
    assert yellowing_deg(blue, SKIN_LAB) >= BRUISE_YELLOWING_DEG
    # red raised alone: the departure points along ln R/G, below the skin's chroma
    red = _lab_of(lin * np.array([1.2, 1.0, 1.0]))
    assert yellowing_deg(red, SKIN_LAB) == pytest.approx(-skin_deg, abs=0.5)


def test_end_to_end_skin_colour_deepened_dropped_yellowing_of_the_same_b_kept(monkeypatch):
    skin = np.ones(SHAPE, bool)
    fold, bruise = _disc(60, 40, 12), _disc(60, 120, 12)
    deeper = _lab_of(2.5 * _linear(SKIN_LAB) ** 2.2)  # a fold's bounced light
    d = deeper - np.asarray(SKIN_LAB)
    # darker, redder and yellower: about (-7.4, +16.4, +15.2), within the yellow-side
    # darkening limit (0.5 of its yellowing)
    assert d[0] < -5.0 and d[1] > 14.0 and d[2] > 14.0 and -d[0] < 0.5 * d[2]
    yellow = (deeper[0], SKIN_LAB[1] + 2.0, deeper[2])  # the same L* and b*, a* +2
    rgb = _render([(fold, tuple(deeper)), (bruise, yellow)])
    res = segment_bruises(rgb, skin)
    assert len(res.bruises) == 1
    assert res.bruises[0].centroid_xy == pytest.approx((120.0, 60.0), abs=1.0)
    assert res.bruises[0].stage == "yellow-brown"
    # without the yellowing test the fold is a bruise too
    monkeypatch.setattr(_bruise_ring, "BRUISE_YELLOWING_DEG", -180.0)
    assert len(segment_bruises(rgb, skin).bruises) == 2


@pytest.mark.parametrize(
    ("own_ab", "ring_ab", "kept"),
    [
        # the face's skin: chroma 20 (a* 12, b* 16); the limit 0.6 of it, 12
        ((3.0, -4.0), (12.0, 16.0), True),  # a blue-green bruise: greyed, its ring is skin
        ((3.0, -4.0), (6.0, 8.0), False),  # grey (chroma 5) in grey (chroma 10): an object
        ((3.0, -4.0), (7.8, 10.4), True),  # ... in a ring of chroma 13
        ((7.5, 10.0), (6.0, 8.0), True),  # the component itself of chroma 12.5
        ((6.9, 9.2), (6.0, 8.0), False),  # ... of chroma 11.5
    ],
)
def test_grey_rule_on_known_colours(own_ab, ring_ab, kept):
    disc = _disc(60, 80, 15)
    ring = _disc(60, 80, 15 + BRUISE_RING_PX) & ~disc
    lab = np.empty((*SHAPE, 3), np.float32)
    lab[:] = SKIN_LAB
    lab[ring] = (55.0, *ring_ab)
    lab[disc] = (45.0, *own_ab)
    # blue-side departures that pass every other test: darker and bluer than the ring
    dep = _departures([(ring, (-10.0, 0.0, -2.0)), (disc, (-20.0, 0.0, -14.0))])._replace(lab=lab)
    assert skin_chroma(dep) == pytest.approx(20.0)
    assert ring_components(disc, dep).any() == kept
    # without the skin's colour (the search against the other photo) no grey test is made
    assert ring_components(disc, dep._replace(lab=None)).any()


def test_end_to_end_grey_object_dropped_bruise_of_the_same_colour_on_skin_kept(monkeypatch):
    skin = np.ones(SHAPE, bool)
    # a grey object held before the face (a microphone): a darker, bluish grey core (chroma
    # 4.5) inside a grey body (chroma 10.8), neither with 0.6 of the skin's chroma (20)
    body = _disc(60, 40, 12 + BRUISE_RING_PX + 6)
    core, bruise = _disc(60, 40, 12), _disc(60, 120, 12)
    grey = (58.0, 2.0, -4.0)
    # a blue-green bruise of the same colour on plain skin (it greys the skin it covers)
    rgb = _render([(body, (62.0, 4.0, 10.0)), (core, grey), (bruise, grey)])
    res = segment_bruises(rgb, skin)
    assert len(res.bruises) == 1
    assert res.bruises[0].centroid_xy == pytest.approx((120.0, 60.0), abs=1.0)
    assert res.bruises[0].stage == "blue-green"
    assert not (res.mask & body).any()
    # without the grey test the object's core is a bruise too
    monkeypatch.setattr(_bruise_ring, "BRUISE_MIN_SKIN_CHROMA", 0.0)
    assert len(segment_bruises(rgb, skin).bruises) == 2
