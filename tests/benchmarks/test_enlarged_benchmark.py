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


def test_a_3x_bilinear_copy_has_the_pattern_and_reads_as_enlarged():
    bench = load_benchmark("enlarged")
    rng = np.random.default_rng(4)
    rgb8 = rng.integers(0, 256, (301, 400, 3), dtype=np.uint8)
    pts = np.array([[0.0, 0.0], [399.0, 300.0]])
    assert not bench.pattern(rgb8.astype(np.float32) / 255, pts)
    for kernel in ("cv2 bilinear", "PIL bilinear"):
        copy, truth = bench.enlarged_copy(rgb8, 3, kernel, 85)
        copy = copy.astype(np.float32) / 255
        assert bench.pattern(copy, pts)
        assert enlargement_factor(copy, pts, 100.0) == pytest.approx(truth, abs=0.1)


def test_the_report_counts_false_alarms_and_detections(capsys):
    bench = load_benchmark("enlarged")
    originals = [("a.jpg", 1.0, False), ("b.jpg", 2.6, False), ("c.jpg", 1.3, True)]
    copies = {(3, "cv2 bicubic"): [(3.1, 3.0, True), (2.4, 3.0, False)]}
    bench.report(originals, copies, [(0.001, 0.0002), (0.002, 0.0004), (0.003, 0.0006)])
    out = capsys.readouterr().out
    assert "originals: 1 of 3 said enlarged (false alarms)" in out
    assert "  b.jpg: 2.60" in out
    assert "originals with the pixel-grid pattern: 1\n  c.jpg: 1.30" in out
    assert "3x     cv2 bicubic    2    50%      50%    2.75" in out
    assert "cost per original: median 2.0 ms, max 3.0" in out
    assert "the pattern alone: median 0.4 ms, max 0.6" in out
