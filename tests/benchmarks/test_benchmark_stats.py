"""The benchmarks' interval of a share over people resampled (``benchmarks/_stats.py``)."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from conftest import REPO

sys.path.insert(0, str(REPO / "benchmarks"))

from _stats import cluster_interval  # noqa: E402


def test_people_alike_give_a_narrow_interval_around_their_share():
    # 10 people, each with 5 hits in 100 rows: every resample has the share 5 %.
    hits = np.tile(np.r_[np.ones(5), np.zeros(95)], 10)
    people = np.repeat([f"p{i}" for i in range(10)], 100)
    assert cluster_interval(hits, people) == pytest.approx((0.05, 0.05))


def test_people_unlike_widen_it_beyond_the_binomial():
    # The same 5 % over 1000 rows, all from one person of 10: a binomial interval over the
    # rows would be about +-1.4 points; resampling the people gives 0 to 15 %.
    hits = np.r_[np.ones(50), np.zeros(950)]
    people = np.repeat([f"p{i}" for i in range(10)], 100)
    low, high = cluster_interval(hits, people)
    assert low == 0.0
    assert 0.10 <= high <= 0.30
    # Seeded: the same interval again.
    assert cluster_interval(hits, people) == (low, high)


def test_unequal_people_are_weighted_by_their_rows():
    # Person a: 1 hit in 10 rows; person b: 9 in 90. Any resample has the share 10 %.
    hits = np.r_[np.ones(1), np.zeros(9), np.ones(9), np.zeros(81)]
    people = ["a"] * 10 + ["b"] * 90
    assert cluster_interval(hits, people) == pytest.approx((0.1, 0.1))
    assert all(np.isnan(cluster_interval([], [])))
