"""``benchmarks/_bruise_pairs``: the bruise detector read as a comparison reads it."""

from __future__ import annotations

import sys
from types import SimpleNamespace

import numpy as np
import pytest
from conftest import REPO, load_benchmark

from mesovision.comparability import BRUISE_MIN_SCORING_IOD_PX as LIMIT

sys.path.insert(0, str(REPO / "benchmarks"))

from _bruise_pairs import (  # noqa: E402
    PairReading,
    injected_pairs,
    new_bruise_iou,
    null_pairs,
    summarize_pairs,
)


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


def test_injected_pairs_read_the_painted_bruise_in_the_comparison():
    # On the astronaut sample (clean skin): a fresh and a yellow-brown bruise of 16-23 % of
    # their regions (seed 7: the chin and the perioral region), painted with the benchmark's
    # injector and recaptured, are found over their extent and significant.
    sys.path.insert(0, str(REPO / "benchmarks"))
    import bruise

    stages = {k: bruise.INJECTED_STAGES[k] for k in ("fresh", "yellow-brown")}
    recs = injected_pairs(
        REPO / "sample_images" / "astronaut" / "before.jpg",
        1,
        7,
        bruise._irregular_bruise,
        stages,
        bruise.INJECT_REGIONS,
    )
    assert [(r["stage"], r["region"]) for r in recs] == [
        ("fresh", "chin"),
        ("yellow-brown", "perioral"),
    ]
    for r in recs:
        assert r["iou"] >= 0.7 and r["detected"] and r["significant"], r


def test_new_bruise_iou_counts_the_new_components_touching_the_truth(monkeypatch):
    import mesovision.record as record

    def photo(mask):
        return SimpleNamespace(bruises=SimpleNamespace(mask=mask))

    truth = np.zeros((20, 20), bool)
    truth[2:8, 2:8] = True  # 36 px
    after = np.zeros((20, 20), bool)
    after[4:8, 2:8] = True  # 24 px on the truth
    after[14:18, 14:18] = True  # elsewhere: not counted
    before = np.zeros((20, 20), bool)
    before[6:8, 2:8] = True  # already in the before photo: not new
    # Both photos already in the before photo's frame.
    monkeypatch.setattr(record, "_to_before_frame", lambda mask, cmp, after, nearest: mask)
    iou, cover = new_bruise_iou(SimpleNamespace(before=photo(before), after=photo(after)), truth)
    assert iou == pytest.approx(12 / 36) and cover == pytest.approx(12 / 36)


def test_injected_bruises_split_by_the_face_size_limit():
    # ``bruise.py`` reads its comparison figures on each side of the face size under which
    # ``compare`` limits the bruise family: a face exactly at the limit counts above it.
    bench = load_benchmark("bruise")

    def face(iod, ious, detected):
        rows = [{"iou": v, "detected": d} for v, d in zip(ious, detected, strict=True)]
        return bench.FaceResult("f", "p", "dev", iod, pair_injections=rows)

    split = bench._by_face_size(
        [
            face(LIMIT - 20, [0.9, 0.5, 0.1], [True, True, False]),
            face(LIMIT, [0.8, 0.7], [True, True]),
            face(LIMIT + 50, [0.2, 0.95], [False, True]),
            face(LIMIT + 10, [], []),  # no comparison (the alignment refused): left out
        ]
    )
    assert split["under"] == (1, 3, pytest.approx(1 / 3), pytest.approx(2 / 3))
    assert split["at or above"] == (2, 4, pytest.approx(3 / 4), pytest.approx(3 / 4))
