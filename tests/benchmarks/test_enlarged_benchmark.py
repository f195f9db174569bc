"""``benchmarks/enlarged.py``: its copies keep the photo's size, are enlarged by the factor they
report, and read as enlarged; the report counts what reaches the limit."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import load_benchmark

from mesovision.enlargement import ENLARGED_FACTOR, enlargement_factor


@pytest.mark.parametrize("kernel", ["cv2 bicubic", "PIL bilinear", "PIL lanczos"])
def test_copies_keep_the_size_and_report_their_factor(kernel):
    bench = load_benchmark("enlarged")
    rng = np.random.default_rng(3)
    rgb8 = rng.integers(0, 256, (301, 400, 3), dtype=np.uint8)  # detail up to the pixel grid
    copy, truth = bench.enlarged_copy(rgb8, 4, kernel, 85)
    assert copy.shape == rgb8.shape and copy.dtype == np.uint8
    assert truth == 400 / 100
    pts = np.array([[0.0, 0.0], [399.0, 300.0]])
    assert enlargement_factor(rgb8.astype(np.float32) / 255, pts, 100.0) == 1.0
    assert enlargement_factor(copy.astype(np.float32) / 255, pts, 100.0) >= ENLARGED_FACTOR


def test_the_report_counts_false_alarms_and_detections(capsys):
    bench = load_benchmark("enlarged")
    originals = [("a.jpg", 1.0), ("b.jpg", 2.6)]
    copies = {(3, "cv2 bicubic"): [(3.1, 3.0), (2.4, 3.0)]}
    bench.report(originals, copies, [0.001, 0.002])
    out = capsys.readouterr().out
    assert "originals: 1 of 2 said enlarged (false alarms)" in out
    assert "  b.jpg: 2.60" in out
    assert "3x     cv2 bicubic    2    50%    2.75" in out
