"""ColorChecker: reference values, rendering, detection (cv2.mcc and given corners), correction."""

from __future__ import annotations

import numpy as np
import pytest

from mesovision import colorchecker as cc
from mesovision.color import linear_to_srgb, srgb_to_linear
from mesovision.errors import UsageError
from mesovision.testing import synthetic
from mesovision.testing.samples import sample_faces


@pytest.fixture(scope="module")
def faces():
    return sample_faces()


def test_reference_tables_shape_and_range():
    ref = cc.reference_srgb()
    assert ref.shape == (24, 3) and ref.dtype == np.float32
    assert len(cc.CLASSIC_NAMES) == 24
    # The six greys are neutral and get darker along the bottom row.
    greys = ref[18:]
    assert np.ptp(greys, axis=1).max() <= 1 / 255 + 1e-6
    assert np.all(np.diff(greys[:, 1]) < 0)


def test_babelcolor_and_xrite_2014_agree():
    """Two published sources for the same card: X-Rite's post-2014 Lab (D50), adapted to D65 by
    Bradford, against BabelColor's average sRGB. They are different batches and measurements;
    they agree to about 1.6 CIEDE2000 on average (measured), never more than 3.5."""
    de = cc.patch_delta_e(cc.lab_d50_to_srgb(cc.XRITE_2014_LAB_D50))
    assert de.mean() < 2.0
    assert de.max() < 4.0


def test_lab_d50_white_maps_to_srgb_white():
    out = cc.lab_d50_to_srgb(np.array([100.0, 0.0, 0.0]))
    np.testing.assert_allclose(out, [1.0, 1.0, 1.0], atol=1e-4)


def test_render_then_sample_recovers_patch_values(faces):
    img, corners = cc.render_colorchecker(
        faces["astronaut"], center_xy=(380, 400), width_px=200, angle_deg=10
    )
    vals, centres = cc.sample_patches(img, corners)
    np.testing.assert_allclose(vals, cc.reference_srgb(), atol=1.5 / 255)
    assert centres.shape == (24, 2)
    # Dark-skin patch is near the top-left corner, black near the bottom-right one.
    assert np.linalg.norm(centres[0] - corners[0]) < np.linalg.norm(centres[0] - corners[2])
    assert np.linalg.norm(centres[23] - corners[2]) < np.linalg.norm(centres[23] - corners[0])


@pytest.mark.parametrize(
    ("center", "width", "angle"),
    [((400, 420), 180, 0.0), ((400, 420), 180, 15.0), ((400, 420), 180, 180.0),
     ((256, 256), 300, -30.0), ((420, 430), 120, 0.0)],
)  # fmt: skip
def test_mcc_finds_the_rendered_card(faces, center, width, angle):
    img, corners = cc.render_colorchecker(
        faces["astronaut"], center_xy=center, width_px=width, angle_deg=angle
    )
    img = synthetic.apply_lighting(img, gain=0.8, white_balance=(1.1, 1.0, 0.9))
    det = cc.detect_colorchecker(img)
    assert det is not None and det.method == "mcc"
    truth, centres = cc.sample_patches(img, corners)
    # Patch order is reading order even for an upside-down card.
    assert np.abs(det.centres_xy - centres).max() < 0.06 * width
    np.testing.assert_allclose(det.patch_srgb, truth, atol=2 / 255)
    mask = det.mask(img.shape)
    cx, cy = np.round(corners.mean(axis=0)).astype(int)
    assert mask[cy, cx]
    assert 0.8 < mask.sum() / _quad_area(corners) < 1.3


def _quad_area(c):
    x, y = c[:, 0], c[:, 1]
    return 0.5 * abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1)))


def test_no_card_is_a_value_not_an_exception(faces):
    assert cc.detect_colorchecker(faces["grace_hopper"]) is None
    out, rep, det = cc.correct_with_card(faces["grace_hopper"])
    assert out is None and det is None and rep == {"found": False}


@pytest.mark.parametrize(
    "light",
    [
        {"gain": 0.8, "white_balance": (1.15, 1.0, 0.85)},
        {"gain": 1.1, "white_balance": (0.9, 1.0, 1.1)},
        {"gain": 0.9, "white_balance": (1.1, 0.95, 0.9), "gamma": 1.1},
    ],
)
def test_card_under_colour_cast_is_corrected(faces, light):
    img, _ = cc.render_colorchecker(faces["grace_hopper"], center_xy=(420, 520), width_px=150)
    lit = synthetic.apply_lighting(img, **light)
    out, rep, det = cc.correct_with_card(lit)
    assert det is not None
    assert rep["delta_e_before"]["mean"] > 3.0  # the cast is real ...
    assert rep["delta_e_after"]["mean"] < 3.0  # ... and undone (issue: below 3.0)
    assert rep["delta_e_after_loo_mean"] < 3.0
    # The corrected photo's card, sampled again at the patch centres, matches the reference.
    xy = np.round(det.centres_xy).astype(int)
    assert cc.patch_delta_e(out[xy[:, 1], xy[:, 0]]).mean() < 3.0


def test_given_corners_work_where_the_detector_is_not_asked(faces):
    img, corners = cc.render_colorchecker(faces["astronaut"], center_xy=(430, 450), width_px=90)
    lit = synthetic.apply_lighting(img, gain=0.85, white_balance=(1.1, 1.0, 0.9))
    out, rep, det = cc.correct_with_card(lit, corners_xy=corners)
    assert det.method == "corners"
    assert rep["delta_e_after"]["mean"] < 1.0 < rep["delta_e_before"]["mean"]


def test_fit_ccm_identity_and_unknown_model():
    corr = cc.fit_ccm(cc.reference_srgb(), model="matrix")
    np.testing.assert_allclose(corr.matrix[:, :3], np.eye(3), atol=1e-6)
    assert corr.residual_lin_rms < 1e-6
    with pytest.raises(UsageError, match="affine, matrix"):
        cc.fit_ccm(cc.reference_srgb(), model="polynomial")


def test_fit_ccm_leaves_clipped_patches_out():
    meas = linear_to_srgb(srgb_to_linear(cc.reference_srgb()) * 0.6)
    meas[18] = 1.0  # white clipped: it would pull the fit if it were used
    corr = cc.fit_ccm(meas, model="matrix")
    np.testing.assert_allclose(corr.matrix[:, :3], np.eye(3) / 0.6, atol=1e-3)
