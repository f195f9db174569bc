"""The checks of the images and masks the metrics are given (:mod:`mesovision.metrics.inputs`).

An integer image (8-bit as read from a file, not converted) and a 4-channel image (RGBA) are
refused with the documented ``ValueError`` naming what was seen; a float RGB image is returned
as it is, and a mask of the image's shape as bool (no copy when it is bool already).
"""

from __future__ import annotations

import numpy as np
import pytest

from mesovision.metrics.inputs import check_mask, check_rgb


def test_check_rgb_refuses_integer_images():
    for dtype in (np.uint8, np.uint16, np.int64, bool):
        with pytest.raises(ValueError) as e:
            check_rgb(np.zeros((4, 5, 3), dtype))
        assert str(e.value) == (
            f"expected float sRGB in [0, 1] (see mesovision.types), got {np.dtype(dtype).name}"
        )


@pytest.mark.parametrize("shape", [(4, 5, 4), (4, 5, 1), (4, 5), (4, 5, 3, 1), (3,)])
def test_check_rgb_refuses_other_shapes(shape):
    with pytest.raises(ValueError) as e:
        check_rgb(np.zeros(shape, np.float32))
    assert str(e.value) == f"expected an RGB image shaped (row, col, 3), got shape {shape}"


def test_check_rgb_returns_float_rgb_as_given():
    for dtype in (np.float32, np.float64, np.float16):
        rgb = np.full((4, 5, 3), 0.25, dtype)
        out = check_rgb(rgb)
        assert out is rgb
    listed = check_rgb([[[0.1, 0.2, 0.3]]])  # any array-like
    assert isinstance(listed, np.ndarray) and listed.shape == (1, 1, 3)
    assert listed.dtype == np.float64 and listed.tolist() == [[[0.1, 0.2, 0.3]]]


def test_check_mask_shape_and_bool_view():
    mask = np.zeros((4, 5), bool)
    mask[1, 2] = True
    assert check_mask(mask, (4, 5), "region 'chin'") is mask  # bool: no copy
    ints = np.zeros((4, 5), np.uint8)
    ints[0, 0] = 7
    out = check_mask(ints, [4, 5], "m")  # a list shape compares as a tuple
    assert out.dtype == bool and out.sum() == 1 and out[0, 0]
    assert check_mask(mask.tolist(), (4, 5), "m").dtype == bool
    with pytest.raises(ValueError) as e:
        check_mask(np.zeros((5, 4), bool), (4, 5), "region 'chin'")
    assert str(e.value) == "region 'chin' has shape (5, 4), the image (4, 5)"
    with pytest.raises(ValueError, match=r"^m has shape \(4, 5, 1\), the image \(4, 5\)$"):
        check_mask(np.zeros((4, 5, 1), bool), (4, 5), "m")
