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
