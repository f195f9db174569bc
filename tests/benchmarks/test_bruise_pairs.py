"""``benchmarks/_bruise_pairs``: the bruise detector read as a comparison reads it."""

from __future__ import annotations

import sys

import pytest
from conftest import REPO

sys.path.insert(0, str(REPO / "benchmarks"))

from _bruise_pairs import PairReading, null_pairs, summarize_pairs  # noqa: E402


def test_summary_counts_photos_pairs_and_changes():
    clean = [PairReading(0.0, 0), PairReading(0.99, 0)]
    one_bad = [PairReading(0.2, 0), PairReading(1.0, 1)]
    s = summarize_pairs([clean, one_bad, []])  # a photo the alignment refused twice: left out
    assert s["n_photos"] == 2 and s["n_pairs"] == 4
    assert s["clean_share"] == pytest.approx(0.5)
    assert s["false_pairs"] == 1 and s["significant"] == 1


@pytest.mark.parametrize(("sample", "bruised"), [("astronaut", False), ("grace_hopper", True)])
def test_null_pairs_of_the_samples(sample, bruised):
    # Grace Hopper's sample reads bruise-coloured skin at her spectacles and painted spots in
    # both photos of a comparison (docs/validation.md); the astronaut's reads none. Neither
    # pair has a significant bruise change: nothing changed.
    (reading,) = null_pairs(REPO / "sample_images" / sample / "before.jpg", 1, seed=7)
    assert (reading.worst_pct >= 1.0) == bruised, reading
    assert reading.significant == 0
