"""The ``"card"`` lighting method on a small rendered ColorChecker under a known cast: fast.

A 150 x 200 textured photo holds a ColorChecker drawn at given corners (so that ``cv2.mcc`` is
not needed); the after photo is the before photo under a known per-channel gain in linear light
(and, where said, a known shading ramp or flare). The card's affine correction in linear RGB is
then known exactly: the inverse gain. The method is checked for the recovered matrices, the
report's figures and words, the card's pixels left out of the reference, the relative and
absolute shading, the warnings and the errors. The sample-face counterparts (``cv2.mcc``, real
texture) are in ``test_lighting.py``.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from mesovision import colorchecker as cc
from mesovision.color import delta_e_ciede2000, linear_to_srgb, rgb_to_lab, srgb_to_linear
from mesovision.errors import LightingError, UsageError
from mesovision.lighting import correct_image, normalize_lighting
from mesovision.lighting.fit import norm_coords
from mesovision.lighting.method_card import MAX_CARD_DE, method_card
from mesovision.lighting.pixels import CLIP_HI

SHAPE = (150, 200)
CORNERS = np.array([[110.0, 15.0], [170.0, 15.0], [170.0, 55.0], [110.0, 55.0]])
GAIN = np.array([0.9 * 1.15, 0.9, 0.9 * 0.8])  # linear: a warm cast, 10 % darker
SLOPE = 0.15  # relative shading exp(0.15 u), u in [-1, 1] across the image


def _base(seed=21):
    rng = np.random.default_rng(seed)
    tex = np.stack([gaussian_filter(rng.normal(size=SHAPE), 3) for _ in range(3)], axis=-1)
    return np.clip(np.array([0.7, 0.52, 0.43]) + 0.5 * tex, 0.05, 0.9).astype(np.float32)


def _cast(rgb, gain=GAIN, slope=0.0, offset=0.0):
    """``rgb`` under a linear gain, a shading ``exp(slope * u)`` and a flare ``offset``."""
    yy, xx = np.mgrid[: SHAPE[0], : SHAPE[1]]
    u, _ = norm_coords(xx, yy, SHAPE)
    lin = srgb_to_linear(rgb).astype(np.float64) * gain * np.exp(slope * u)[..., None] + offset
    return linear_to_srgb(np.clip(lin, 0, 1).astype(np.float32))


def _lit(gain=GAIN, slope=0.0):
    """The textured photo under ``gain`` and the shading ``exp(slope * u)``, holding the card
    lit as at its centre (``u_card``): its correction is then exactly the inverse of that light."""
    u_card = norm_coords(np.array([140.0]), np.array([35.0]), SHAPE)[0][0]
    patches = srgb_to_linear(cc.reference_srgb()).astype(np.float64)
    patches = linear_to_srgb((patches * gain * np.exp(slope * u_card)).astype(np.float32))
    photo = _cast(_base(), gain=gain, slope=slope)
    return cc.render_colorchecker(photo, corners_xy=CORNERS, patch_srgb=patches)[0], u_card


@pytest.fixture(scope="module")
def photos():
    before, _ = cc.render_colorchecker(_base(), corners_xy=CORNERS)
    card = np.zeros(SHAPE, bool)
    card[10:61, 105:176] = True  # the card with a margin for its blurred edge
    return before, card


def _de(x, y):
    return delta_e_ciede2000(rgb_to_lab(x), rgb_to_lab(y))


def test_a_known_cast_is_undone_by_the_card(photos):
    before, card = photos
    after = _cast(before)
    res = normalize_lighting(
        before, after, method="card", card_corners=(CORNERS, CORNERS), shading=False
    )
    rep = res.report
    assert rep.method == "card" and rep.model == "card:affine"
    assert rep.reference == "all valid pixels (card excluded)"
    # every pixel is unclipped in both photos; the card's own pixels are left out
    card_px = cc.detect_colorchecker(before, corners_xy=CORNERS).mask(before.shape)
    assert rep.n_reference_px == SHAPE[0] * SHAPE[1] - int(card_px.sum())
    # the before photo is already in the card's colours: its correction is the identity
    m_b, m_a = np.asarray(rep.params["before"]), np.asarray(rep.params["after"])
    assert m_b == pytest.approx(np.hstack([np.eye(3), np.zeros((3, 1))]), abs=2e-3)
    # the after photo's is the inverse gain, no offset, no cross-talk
    assert m_a == pytest.approx(np.hstack([np.diag(1 / GAIN), np.zeros((3, 1))]), abs=2e-3)
    for side, expected_before in (("before", (0.0, 0.1)), ("after", (4.0, 6.0))):
        c = rep.card[side]
        assert c["found"] and c["method"] == "corners" and c["model"] == "affine"
        assert expected_before[0] <= c["delta_e_before"]["mean"] <= expected_before[1]
        assert c["delta_e_after"]["mean"] < 0.05
        assert c["n_patches_clipped"] == 0
        assert "matrix" not in c  # moved to params
    # both photos are the before photo now, on the reference and on the card alike
    assert 3.0 < rep.delta_e_before["median"] < 5.0
    assert rep.delta_e_after["median"] < 0.05
    assert np.median(_de(res.after, before)) < 0.05
    assert np.abs(res.after - before).max() < 0.01
    assert np.array_equal(res.before, cc.correct_with_card(before, corners_xy=CORNERS)[0])
    assert rep.shading is None and res.relative_field is None and res.absolute_field is None
    assert rep.warnings == ()
    # the after photo's correction carried to the same frame gives the same photo
    assert np.abs(correct_image(res, after, np.eye(3)) - res.after).max() < 1e-5


def test_the_reference_mask_and_the_card_pixels(photos):
    before, card = photos
    after = _cast(before)
    ref = np.zeros(SHAPE, bool)
    ref[:, 60:] = True  # holds the card
    res = normalize_lighting(
        before, after, method="card", card_corners=(CORNERS, CORNERS), reference_mask=ref,
        shading=False,
    )  # fmt: skip
    card_px = cc.detect_colorchecker(before, corners_xy=CORNERS).mask(before.shape)
    assert res.report.reference == "reference_mask (card excluded)"
    assert res.report.n_reference_px == int((ref & ~card_px).sum())


def test_relative_shading_is_removed_and_the_card_keeps_the_exposure(photos):
    # The reference: the left 60 % of the photo (mean u = -0.4), the card outside it.
    before, card = photos
    after, u_card = _lit(slope=SLOPE)
    yy, xx = np.mgrid[: SHAPE[0], : SHAPE[1]]
    u, _ = norm_coords(xx, yy, SHAPE)
    ref = xx < 120
    kw = dict(method="card", card_corners=(CORNERS, CORNERS), reference_mask=ref)
    flat = normalize_lighting(before, after, shading=False, **kw)
    res = normalize_lighting(before, after, shading_degree=1, **kw)
    lb = srgb_to_linear(before).astype(np.float64)
    la = srgb_to_linear(res.after).astype(np.float64)
    lf = srgb_to_linear(flat.after).astype(np.float64)
    left, right = (slice(None), slice(0, 40)), (slice(None), slice(160, 200))
    # without shading the ramp stays: exp(0.15 * 2 * 0.8) between these strips
    assert (lf[right].mean() / lb[right].mean()) / (lf[left].mean() / lb[left].mean()) > 1.2
    ratio = la / lb
    assert ratio[right].mean() / ratio[left].mean() == pytest.approx(1.0, abs=0.01)
    # the level: the card fixed exp(slope * u) at the card (u = 0.4) to 1; the field removed
    # is divided by its geometric mean over the reference pixels, exp(slope * mean u)
    gm = np.exp(SLOPE * (u[ref].mean() - u_card))
    assert np.median(ratio[~card]) == pytest.approx(gm, rel=0.005)
    rel = res.report.shading["relative"]
    assert rel["degree"] == 1
    # the field fitted has no constant: its geometric mean is exp(slope * mean u)
    assert rel["geometric_mean_removed"] == pytest.approx(np.exp(SLOPE * u[ref].mean()), rel=0.005)
    span = SLOPE * (u[ref].max() - u[ref].min())
    assert rel["max"] / rel["min"] == pytest.approx(np.exp(span), rel=0.01)
    assert res.relative_field is not None and res.relative_field.shape == SHAPE
    assert res.absolute_field is None and "absolute" not in res.report.shading
    # the after photo's correction with its field, carried to the same frame
    assert np.abs(correct_image(res, after, np.eye(3)) - res.after).max() < 2e-3


def test_shading_common_to_both_photos_is_removed_over_the_shading_mask(photos):
    # Two pairs, the same but for a ramp exp(slope * u) common to both photos of one of them:
    # the absolute field of the ramped pair is the other's times the ramp, scaled to a geometric
    # mean of 1 over the shading mask's pixels; the photos come out the same up to the exposure
    # that the card fixed, exp(slope * (mean u - u_card)).
    _, card = photos
    pairs = [(_lit(gain=np.ones(3), slope=s)[0], _lit(slope=s)[0]) for s in (0.0, SLOPE)]
    u_card = _lit()[1]
    card_px = cc.detect_colorchecker(pairs[0][0], corners_xy=CORNERS).mask(SHAPE)
    yy, xx = np.mgrid[: SHAPE[0], : SHAPE[1]]
    u, _ = norm_coords(xx, yy, SHAPE)
    left_half = xx < 90
    for mask in (None, left_half):
        flat, ramp = (
            normalize_lighting(
                b,
                a,
                method="card",
                card_corners=(CORNERS, CORNERS),
                shading_degree=1,
                absolute_shading_degree=1,
                shading_mask=mask,
            )  # fmt: skip
            for b, a in pairs
        )
        over = ~card_px if mask is None else mask
        log_ratio = np.log(ramp.absolute_field / flat.absolute_field)
        expected = SLOPE * (u - u[over].mean())
        assert np.abs(log_ratio - expected).max() < 0.01
        level = np.exp(SLOPE * (u[over].mean() - u_card))
        for side in ("before", "after"):
            lin_r = srgb_to_linear(getattr(ramp, side)[~card]).astype(np.float64)
            lin_f = srgb_to_linear(getattr(flat, side)[~card]).astype(np.float64)
            assert np.abs(lin_r / lin_f - level).max() < 0.01, side
        info = ramp.report.shading["absolute"]
        assert info["degree"] == 1 and info["estimated_on"] == "before"
        # its range over (a sample of) the mask's pixels: the whole width, or the left half
        assert info["max"] == pytest.approx(ramp.absolute_field[over].max(), rel=0.005)
        assert info["min"] == pytest.approx(ramp.absolute_field[over].min(), rel=0.005)
        assert np.median(_de(ramp.after[~card], ramp.before[~card])) < 0.3
        # the after photo's correction, both fields with it, carried to the same frame
        assert np.abs(correct_image(ramp, pairs[1][1], np.eye(3)) - ramp.after).max() < 2e-3


def test_the_matrix_model_has_no_offset(photos):
    before, _ = photos
    flare = _cast(before, offset=0.02)
    aff = normalize_lighting(
        before, flare, method="card", card_corners=(CORNERS, CORNERS), shading=False
    )
    mat = normalize_lighting(
        before, flare, method="card", card_corners=(CORNERS, CORNERS), shading=False,
        card_model="matrix",
    )  # fmt: skip
    assert aff.report.model == "card:affine" and mat.report.model == "card:matrix"
    m_aff, m_mat = np.asarray(aff.report.params["after"]), np.asarray(mat.report.params["after"])
    # the affine model removes the flare: offset -0.02 / gain
    assert m_aff[:, 3] == pytest.approx(-0.02 / GAIN, abs=2e-3)
    assert m_mat[:, 3].tolist() == [0.0, 0.0, 0.0]
    assert aff.report.card["after"]["delta_e_after"]["mean"] < 0.1
    assert mat.report.card["after"]["delta_e_after"]["mean"] > 0.5
    assert aff.report.delta_e_after["median"] < mat.report.delta_e_after["median"]


def test_a_card_that_does_not_fit_is_reported(photos):
    before, _ = photos
    # the after photo's card printed with its patches in reverse order: no colour model fits
    wrong, _ = cc.render_colorchecker(
        _base(), corners_xy=CORNERS, patch_srgb=cc.reference_srgb()[::-1]
    )
    res = normalize_lighting(
        before, wrong, method="card", card_corners=(CORNERS, CORNERS), shading=False
    )
    de = res.report.card["after"]["delta_e_after"]["mean"]
    assert de > MAX_CARD_DE
    assert res.report.card["before"]["delta_e_after"]["mean"] < MAX_CARD_DE
    assert res.report.warnings[0] == (
        f"colour card in the after photo corrected to a mean CIEDE2000 of {de:.2f} "
        f"(> {MAX_CARD_DE}): check glare, clipping, card age"
    )
    assert not any("before photo" in w for w in res.report.warnings)


def test_too_few_unclipped_pixels_after_the_card_leave_the_shading_alone(photos):
    before, _ = photos
    # a bright wall (0.985, clipped) seen 10 % darker in both photos: unclipped as taken,
    # clipped again once the card has restored the exposure
    wall = before.copy()
    wall[70:, :100] = 0.985
    ref = np.zeros(SHAPE, bool)
    ref[70:, :100] = True
    b = _cast(wall, gain=np.full(3, 0.9))
    a = _cast(wall, gain=np.array([0.92, 0.9, 0.85]))
    assert b[ref].max() < CLIP_HI and a[ref].max() < CLIP_HI
    res = normalize_lighting(b, a, method="card", card_corners=(CORNERS, CORNERS),
                             reference_mask=ref)  # fmt: skip
    assert res.report.n_reference_px == int(ref.sum())
    assert res.report.warnings == ("too few reference pixels to estimate shading: not corrected",)
    assert res.report.shading is None and res.relative_field is None
    assert np.abs(res.after - res.before)[ref].max() < 0.01
    # the wall clipped in the corrected after photo only (0.96 in the before photo): still too
    # few pixels unclipped in both
    wall_b = before.copy()
    wall_b[70:, :100] = 0.96
    b = _cast(wall_b, gain=np.full(3, 0.9))
    res = normalize_lighting(b, a, method="card", card_corners=(CORNERS, CORNERS),
                             reference_mask=ref)  # fmt: skip
    assert res.report.n_reference_px == int(ref.sum())
    assert res.report.card["before"]["delta_e_after"]["mean"] < 0.1
    assert np.abs(res.before[ref] - 0.96).max() < 0.005  # unclipped
    assert res.report.warnings == ("too few reference pixels to estimate shading: not corrected",)


def test_a_missing_card_and_an_unknown_model(photos):
    before, _ = photos
    plain = _base()
    with pytest.raises(
        LightingError, match="in the after photo; photograph the card beside the face"
    ):
        normalize_lighting(before, plain, method="card", card_corners=(CORNERS, None))
    with pytest.raises(LightingError, match="found in the before and after photo"):
        normalize_lighting(plain, plain, method="card")
    with pytest.raises(UsageError, match="unknown model 'gamma'; valid: auto, gain"):
        method_card(
            before, before, reference_mask=None, valid_mask=None, shading=False, model="gamma",
            card_corners=(CORNERS, CORNERS),
        )  # fmt: skip
    # a model name is accepted (the card's correction does not use it); the relative shading's
    # default degree is 2
    b, a, parts = method_card(
        before, before, reference_mask=None, valid_mask=None, shading=True, model="gain",
        card_corners=(CORNERS, CORNERS),
    )  # fmt: skip
    assert parts["model"] == "card:affine" and np.abs(a - b).max() < 1e-3
    assert parts["shading"]["relative"]["degree"] == 2


def test_the_figures_before_correction_are_those_of_method_none(photos):
    # The same reference pixels (the card left out by the mask already), more than the 20 000 of
    # the report's sample: the card method's "before" figures are the "none" method's, from the
    # same seeded sample; the default relative shading is of degree 2.
    before, card = photos
    after = _cast(before)
    ref = ~card
    assert ref.sum() > 20_000
    kw = dict(reference_mask=ref, card_corners=(CORNERS, CORNERS))
    res = normalize_lighting(before, after, method="card", **kw)
    none = normalize_lighting(before, after, method="none", **kw)
    assert res.report.n_reference_px == none.report.n_reference_px
    assert res.report.delta_e_before == none.report.delta_e_before
    assert res.report.shading["relative"]["degree"] == 2
