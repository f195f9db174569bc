"""A working copy carried onto its scoring frame (mesovision.scoring_frame.to_scoring)."""

from __future__ import annotations

import tracemalloc

import cv2
import numpy as np

from mesovision.scoring_frame import to_scoring


def _working_copy(h=900, w=1200):
    rng = np.random.default_rng(3)
    return rng.random((h, w, 3), dtype=np.float32)


def test_to_scoring_resamples_the_crop_by_area_averaging():
    img = _working_copy()
    box, k = (101, 753, 250, 1077), 0.9
    out = to_scoring(img, k, box)
    crop = np.ascontiguousarray(img[101:753, 250:1077])
    size = (round(827 * k), round(652 * k))
    assert out.shape == (size[1], size[0], 3) and out.dtype == np.float32
    # the same values as resampling a contiguous copy of the crop, bit for bit
    assert out.tobytes() == cv2.resize(crop, size, interpolation=cv2.INTER_AREA).tobytes()
    # a constant image stays constant (to float32 rounding of the area weights)
    grey = np.full_like(img, 0.25)
    assert np.abs(to_scoring(grey, 0.5, box) - 0.25).max() < 1e-6


def test_to_scoring_reads_the_crop_in_place():
    img = _working_copy()
    box = (50, 850, 100, 1100)  # an 800 x 1000 crop: 9.6 MB of float32
    tracemalloc.start()
    try:
        out = to_scoring(img, 0.5, box)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # the result (400 x 500 x 3, 2.4 MB) is the only pixel buffer made (tracemalloc sees
    # numpy's allocations, and OpenCV's outputs are numpy arrays)
    assert out.nbytes == 2_400_000
    assert peak < out.nbytes + 1_000_000
