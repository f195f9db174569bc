"""More melanin in the skin (mesovision.testing.synthetic.add_melanin): a filter in linear light."""

from __future__ import annotations

import numpy as np
import pytest

from mesovision.color import rgb_to_lab, srgb_to_linear
from mesovision.testing.synthetic import MELANIN_OD_RGB, add_melanin


def test_melanin_absorbs_as_the_wavelength_to_the_minus_3_48():
    # 650, 550 and 450 nm against 650 nm: (550 / 650) ** -3.48 and (450 / 650) ** -3.48.
    assert MELANIN_OD_RGB == pytest.approx((1.0, 1.788, 3.596), abs=1e-3)


def test_inside_the_mask_each_channel_is_filtered_and_outside_nothing_moves():
    rng = np.random.default_rng(3)
    skin = np.clip(rng.normal([0.78, 0.58, 0.48], 0.03, (60, 80, 3)), 0, 1).astype(np.float32)
    mask = np.zeros((60, 80), bool)
    mask[10:50, 15:65] = True
    out = add_melanin(skin, mask, 0.4, feather_px=2.0)
    assert out.dtype == np.float32 and out.shape == skin.shape
    assert np.array_equal(out[~mask], skin[~mask])
    core = np.zeros_like(mask)
    core[20:40, 25:55] = True  # beyond the feather: the whole filter
    ratio = srgb_to_linear(out)[core] / srgb_to_linear(skin)[core]
    expect = np.exp(-0.4 * np.asarray(MELANIN_OD_RGB))
    assert np.allclose(ratio, expect, rtol=2e-3)
    # Darker and, as blue is absorbed most, yellower: the skin's L* falls, b* rises.
    lab0, lab1 = rgb_to_lab(skin)[core].mean(axis=0), rgb_to_lab(out)[core].mean(axis=0)
    assert lab1[0] < lab0[0] - 8.0 and lab1[2] > lab0[2]
    # The skin's own variations keep their ratios.
    lin0, lin1 = srgb_to_linear(skin)[core], srgb_to_linear(out)[core]
    assert np.allclose(np.log(lin1) - np.log(lin0), np.log(expect), atol=2e-3)


def test_an_absorbing_bruise_paints_its_shift_on_the_reference_skin_and_less_on_darker_skin():
    from mesovision.color import lab_to_rgb
    from mesovision.testing.synthetic import REFERENCE_SKIN_LAB, absorbing_od, inject_bruise

    skin = np.clip(lab_to_rgb(np.full((80, 80, 3), REFERENCE_SKIN_LAB, np.float32)), 0, 1)
    dark = add_melanin(skin, np.ones((80, 80), bool), 0.6)
    yellow = (-6.0, 3.0, 22.0)  # the bruise benchmark's yellow-brown stage
    centre = np.zeros((80, 80), bool)
    centre[35:45, 35:45] = True  # inside half the radius: the whole profile

    def painted(rgb):
        img, _ = inject_bruise(rgb, (40, 40), (30, 30), shift_lab=yellow, absorbing=True)
        assert 0.0 <= img.min() and img.max() <= 1.0
        return (rgb_to_lab(img)[centre] - rgb_to_lab(rgb)[centre]).mean(axis=0)

    assert painted(skin) == pytest.approx(yellow, abs=0.2)  # float32 CIELAB round trips
    # On skin 20 L* darker the same pigment yellows it by under half as much, inside the gamut
    # (a CIELAB shift there would leave it).
    d_l, _, d_b = painted(dark)
    assert -6.0 < d_l < -2.0 and 4.0 < d_b < 9.0
    # Blue absorbed most: a yellowing pigment's density is largest in the blue channel.
    od = absorbing_od(yellow)
    assert od[2] > od[1] > od[0] > 0.0
    with pytest.raises(ValueError, match="gamut"):
        absorbing_od((0.0, 0.0, 80.0))
