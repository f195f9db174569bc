"""mesovision.color: CIEDE2000 against the published test data; the sRGB transfer curves
against the IEC 61966-2-1 formula in float64."""

from __future__ import annotations

import numpy as np
import pytest

from mesovision.color import delta_e_ciede2000, linear_to_srgb, rgb_to_lab, srgb_to_linear

# Sharma G., Wu W., Dalal E. N., "The CIEDE2000 color-difference formula: implementation notes,
# supplementary test data, and mathematical observations", Color Res. Appl. 30 (2005) 21-30,
# Table 1: L1 a1 b1, L2 a2 b2, Delta E00 (rounded to 4 decimals). The pairs probe the hue
# wrap-around at 0/360 degrees, the mean hue of opposite hues, and the neutral axis.
SHARMA = np.array(
    [
        [50.0000, 2.6772, -79.7751, 50.0000, 0.0000, -82.7485, 2.0425],
        [50.0000, 3.1571, -77.2803, 50.0000, 0.0000, -82.7485, 2.8615],
        [50.0000, 2.8361, -74.0200, 50.0000, 0.0000, -82.7485, 3.4412],
        [50.0000, -1.3802, -84.2814, 50.0000, 0.0000, -82.7485, 1.0000],
        [50.0000, -1.1848, -84.8006, 50.0000, 0.0000, -82.7485, 1.0000],
        [50.0000, -0.9009, -85.5211, 50.0000, 0.0000, -82.7485, 1.0000],
        [50.0000, 0.0000, 0.0000, 50.0000, -1.0000, 2.0000, 2.3669],
        [50.0000, -1.0000, 2.0000, 50.0000, 0.0000, 0.0000, 2.3669],
        [50.0000, 2.4900, -0.0010, 50.0000, -2.4900, 0.0009, 7.1792],
        [50.0000, 2.4900, -0.0010, 50.0000, -2.4900, 0.0010, 7.1792],
        [50.0000, 2.4900, -0.0010, 50.0000, -2.4900, 0.0011, 7.2195],
        [50.0000, 2.4900, -0.0010, 50.0000, -2.4900, 0.0012, 7.2195],
        [50.0000, -0.0010, 2.4900, 50.0000, 0.0009, -2.4900, 4.8045],
        [50.0000, -0.0010, 2.4900, 50.0000, 0.0010, -2.4900, 4.8045],
        [50.0000, -0.0010, 2.4900, 50.0000, 0.0011, -2.4900, 4.7461],
        [50.0000, 2.5000, 0.0000, 50.0000, 0.0000, -2.5000, 4.3065],
        [50.0000, 2.5000, 0.0000, 73.0000, 25.0000, -18.0000, 27.1492],
        [50.0000, 2.5000, 0.0000, 61.0000, -5.0000, 29.0000, 22.8977],
        [50.0000, 2.5000, 0.0000, 56.0000, -27.0000, -3.0000, 31.9030],
        [50.0000, 2.5000, 0.0000, 58.0000, 24.0000, 15.0000, 19.4535],
        [50.0000, 2.5000, 0.0000, 50.0000, 3.1736, 0.5854, 1.0000],
        [50.0000, 2.5000, 0.0000, 50.0000, 3.2972, 0.0000, 1.0000],
        [50.0000, 2.5000, 0.0000, 50.0000, 1.8634, 0.5757, 1.0000],
        [50.0000, 2.5000, 0.0000, 50.0000, 3.2592, 0.3350, 1.0000],
        [60.2574, -34.0099, 36.2677, 60.4626, -34.1751, 39.4387, 1.2644],
        [63.0109, -31.0961, -5.8663, 62.8187, -29.7946, -4.0864, 1.2630],
        [61.2901, 3.7196, -5.3901, 61.4292, 2.2480, -4.9620, 1.8731],
        [35.0831, -44.1164, 3.7933, 35.0232, -40.0716, 1.5901, 1.8645],
        [22.7233, 20.0904, -46.6940, 23.0331, 14.9730, -42.5619, 2.0373],
        [36.4612, 47.8580, 18.3852, 36.2715, 50.5065, 21.2231, 1.4146],
        [90.8027, -2.0831, 1.4410, 91.1528, -1.6435, 0.0447, 1.4441],
        [90.9257, -0.5406, -0.9208, 88.6381, -0.8985, -0.7239, 1.5381],
        [6.7747, -0.2908, -2.4247, 5.8714, -0.0985, -2.2286, 0.6377],
        [2.0776, 0.0795, -1.1350, 0.9033, -0.0636, -0.5514, 0.9082],
    ]
)


def test_ciede2000_matches_sharma_test_data():
    got = delta_e_ciede2000(SHARMA[:, 0:3], SHARMA[:, 3:6])
    np.testing.assert_allclose(got, SHARMA[:, 6], rtol=0, atol=5e-5)
    # Either order, and any array shape (..., 3).
    np.testing.assert_allclose(delta_e_ciede2000(SHARMA[:, 3:6], SHARMA[:, 0:3]), got, atol=1e-12)
    grid = delta_e_ciede2000(SHARMA[:, 0:3].reshape(2, 17, 3), SHARMA[:, 3:6].reshape(2, 17, 3))
    np.testing.assert_array_equal(grid.ravel(), got)
    # float32 input (what rgb_to_lab returns) is computed in float64.
    f32 = delta_e_ciede2000(SHARMA[:, 0:3].astype(np.float32), SHARMA[:, 3:6].astype(np.float32))
    assert f32.dtype == np.float64
    np.testing.assert_allclose(f32, SHARMA[:, 6], atol=2e-4)


def test_ciede2000_hue_tie_does_not_depend_on_rounding():
    """Hues 180 degrees apart take the formula's '<= 180' branches whatever the rounding of the
    angles: Sharma's tie pairs 10 and 14, with the second colour's b* nudged so that the hues
    differ by 180 -/+ about 1e-12 degrees, read as published (7.1792, 4.8045), not as the pairs
    beyond the tie (7.2195, 4.7461)."""
    for k in (9, 13):
        lab1, lab2, expected = SHARMA[k, :3], SHARMA[k, 3:6].copy(), SHARMA[k, 6]
        for nudge in (-1e-10, 0.0, 1e-10):
            lab2[2] = SHARMA[k, 5] * (1 + nudge)
            assert delta_e_ciede2000(lab1, lab2) == pytest.approx(expected, abs=5e-5), (k, nudge)
            assert delta_e_ciede2000(lab2, lab1) == pytest.approx(expected, abs=5e-5), (k, nudge)


def _decode64(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float64)
    return np.where(x <= 0.04045, x / 12.92, ((np.maximum(x, 0.0) + 0.055) / 1.055) ** 2.4)


def _encode64(x: np.ndarray) -> np.ndarray:
    x = np.clip(np.asarray(x, np.float64), 0.0, 1.0)
    return np.where(x <= 0.0031308, x * 12.92, 1.055 * x ** (1 / 2.4) - 0.055)


def test_srgb_curves_match_the_formula_within_float32_rounding():
    x = np.linspace(0.0, 1.0, 2**20, dtype=np.float32)  # every region of both curves
    lin = srgb_to_linear(x)
    assert lin.dtype == np.float32
    assert np.abs(lin - _decode64(x)).max() < 3e-7  # measured 2.3e-7 (ulp at 1.0: 6e-8)
    enc = linear_to_srgb(x)
    assert enc.dtype == np.float32
    assert np.abs(enc - _encode64(x)).max() < 3e-7  # measured 1.5e-7
    assert srgb_to_linear(1.0) == 1.0 and srgb_to_linear(0.0) == 0.0
    # Outside [0, 1] decoding continues each branch; encoding clips.
    np.testing.assert_allclose(srgb_to_linear([-0.1, 1.1]), _decode64([-0.1, 1.1]), rtol=1e-6)
    np.testing.assert_allclose(linear_to_srgb([-0.1, 1.1]), [0.0, 1.0], atol=1e-7)


@pytest.mark.parametrize("shape", [(), (5,), (4, 3), (6, 5, 3), (2, 3, 4, 3)])
def test_srgb_curves_keep_shape_and_leave_the_input_alone(shape):
    x = np.random.default_rng(0).random(shape)  # float64 in
    kept = x.copy()
    for fn, ref in ((srgb_to_linear, _decode64), (linear_to_srgb, _encode64)):
        out = fn(x)
        assert out.shape == shape and out.dtype == np.float32
        np.testing.assert_allclose(out, ref(x), atol=3e-7)
        np.testing.assert_array_equal(x, kept)


def test_srgb_curves_accept_strided_and_fortran_arrays():
    x = np.random.default_rng(1).random((40, 30, 3)).astype(np.float32)
    for view in (x[:, ::2], np.asfortranarray(x), x[::-1]):
        np.testing.assert_array_equal(srgb_to_linear(view), srgb_to_linear(view.copy()))
        np.testing.assert_array_equal(linear_to_srgb(view), linear_to_srgb(view.copy()))
    assert np.isnan(srgb_to_linear(np.nan)) and np.isnan(linear_to_srgb(np.nan))


def test_lighting_decodes_with_the_color_functions():
    from mesovision import lighting

    # One sRGB decoder in the package: lighting's names are color's functions.
    assert lighting.to_linear is srgb_to_linear
    assert lighting.to_srgb is linear_to_srgb


def test_kept_lab_holds_each_windows_own_conversion():
    # Within a comparison (sharing_lab), keep_lab converts a whole image once for the later
    # readers of its windows: a window of it holds what converting that window alone gives
    # (OpenCV converts each pixel alone, whatever its place in a row), only for that very image,
    # and nothing is kept outside it (an image the caller may write to).
    from mesovision import color
    from mesovision.testing.samples import sample_faces

    face = np.ascontiguousarray(sample_faces()["grace_hopper"], np.float32)
    noise = (np.random.default_rng(2).random((97, 131, 3)) * 1.2 - 0.1).astype(np.float32)
    assert color.keep_lab(face) is None and color.kept_lab(face) is None
    with color.sharing_lab():
        for img in (face, noise):
            h, w = img.shape[:2]
            lab = color.keep_lab(img)
            assert not lab.flags.writeable
            for win in ((0, h, 0, w), (3, 40, 5, 78), (10, 11, 1, w - 2), (h - 7, h, w - 9, w)):
                r0, r1, c0, c1 = win
                window = rgb_to_lab(img[r0:r1, c0:c1])
                np.testing.assert_array_equal(color.kept_lab(img, win), window)
            assert color.kept_lab(img.copy()) is None and color.kept_lab(None) is None
    assert color.kept_lab(face) is None
