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


def _astronaut_injected(stage_names, seed: int, melanin: float = 0.0) -> list[dict]:
    """One bruise of each of ``stage_names`` painted on the astronaut sample with the bruise
    benchmark's injector and read in a comparison (``injected_pairs``)."""
    bench = load_benchmark("bruise")
    return injected_pairs(
        REPO / "sample_images" / "astronaut" / "before.jpg",
        1,
        seed,
        bench._irregular_bruise,
        {k: bench.INJECTED_STAGES[k] for k in stage_names},
        bench.INJECT_REGIONS,
        melanin=melanin,
    )


def test_injected_pairs_read_the_painted_bruise_in_the_comparison():
    # On the astronaut sample (clean skin): a fresh and a yellow-brown bruise of 16-23 % of
    # their regions (seed 7: the chin and the perioral region), painted with the benchmark's
    # injector and recaptured, are found over their extent and significant.
    recs = _astronaut_injected(("fresh", "yellow-brown"), 7)
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


def test_found_bruises_under_the_target_are_told_too_small_or_too_large():
    # Truth 100 px. Found over 60 of its pixels with 80 px in all (IoU 60 / 120 = 0.5,
    # covered 0.6, its own pixels 0.75 inside): too small. Found over 90 of its pixels with
    # 160 px in all (IoU 90 / 170, covered 0.9, 0.56 inside): too large. At IoU 0.7 or over,
    # or not found (under half the truth covered), neither.
    bench = load_benchmark("bruise")
    rows = [
        {"stage": "green", "iou": 0.5, "cover": 0.6},
        {"stage": "green", "iou": 90 / 170, "cover": 0.9},
        {"stage": "fresh", "iou": 0.75, "cover": 0.8},
        {"stage": "fresh", "iou": 0.3, "cover": 0.4},
        {"stage": "yellow-brown", "iou": 0.0, "cover": 0.0},
    ]
    counts = bench.outline_counts(rows)
    assert counts == {
        "fresh": (0, 0),
        "blue-green": (0, 0),
        "green": (1, 1),
        "yellow-brown": (0, 0),
    }


def test_darker_skin_darkens_the_whole_face_and_fades_out_beyond_it():
    from _melanin import MELANIN_GROW_IOD, darker_skin

    from mesovision.color import srgb_to_linear
    from mesovision.testing.synthetic import MELANIN_OD_RGB

    rgb = np.full((120, 120, 3), (0.8, 0.6, 0.5), np.float32)
    face = np.zeros((120, 120), bool)
    face[30:90, 30:90] = True
    iod = 100.0  # the skin region grows by 10 px
    out = darker_skin(rgb, face, iod, 0.6)
    full = np.exp(-0.6 * np.asarray(MELANIN_OD_RGB))
    od = -np.log(srgb_to_linear(out) / srgb_to_linear(rgb))
    # Every pixel of the face's skin takes the whole filter, corners too (the fade lies
    # beyond it) ...
    assert np.allclose(od[face], -np.log(full), rtol=0.01)
    # ... and nothing moves beyond the grown region.
    grow = int(round(MELANIN_GROW_IOD * iod))
    assert np.array_equal(out[:, : 30 - grow - 1], rgb[:, : 30 - grow - 1])
    assert np.array_equal(out[90 + grow + 1 :], rgb[90 + grow + 1 :])


def test_the_painted_shift_is_what_the_gamut_lets_through():
    from mesovision.color import lab_to_rgb

    bench = load_benchmark("bruise")
    truth = np.zeros((8, 8), bool)
    truth[2:6, 2:6] = True

    def painted(base, shift):
        lab = np.full((8, 8, 3), base, np.float32)
        rgb = np.clip(lab_to_rgb(lab), 0, 1).astype(np.float32)
        lab[truth] += np.asarray(shift, np.float32)
        img = np.clip(lab_to_rgb(lab), 0, 1).astype(np.float32)
        return bench._delivered(rgb, img, truth)

    # Light skin: a yellow-brown bruise's shift is painted whole.
    assert painted((64.0, 25.5, 31.9), (-6.0, 3.0, 22.0)) == pytest.approx((-6, 3, 22), abs=0.3)
    # Dark, warm skin: the sRGB gamut holds its yellowing to about a third.
    d_l, _, d_b = painted((44.9, 29.7, 42.3), (-6.0, 3.0, 22.0))
    assert d_l == pytest.approx(-6.0, abs=0.3) and 5.0 < d_b < 9.0
    # No truth (a bruise outside the skin): nothing to read.
    zero = np.zeros((8, 8, 3), np.float32)
    assert np.isnan(bench._delivered(zero, zero, np.zeros((8, 8), bool))).all()


def test_injected_pairs_on_darker_skin_find_the_blue_side_bruises():
    # The astronaut sample with melanin of optical density 0.6 in her skin (about 20 L*
    # darker): a fresh bruise below her left eye and a blue-green one on her left cheek (seed
    # 8), each painted at about 12-18 L* darker, are found in the comparison over their extent
    # and significant (docs/validation.md: on darker skin the photo's own segmentation misses
    # most blue-side bruises; the search against the other photo finds them).
    recs = _astronaut_injected(("fresh", "blue-green"), 8, melanin=0.6)
    assert [(r["stage"], r["region"]) for r in recs] == [
        ("fresh", "left_periorbital"),
        ("blue-green", "left_cheek"),
    ]
    for r in recs:
        assert r["delivered_lab"][0] < -12.0, r  # painted whole: the blue side stays in gamut
        assert r["iou"] >= 0.8 and r["detected"] and r["significant"], r


def test_the_csv_gives_each_face_its_skin_lightness_and_melanin(tmp_path):
    import csv

    bench = load_benchmark("bruise")
    face = bench.FaceResult("f.jpg", "p", "dev", 60.0, false_pct={"chin": 0.5})
    face.skin_lightness, face.skin_melanin = 41.237, 0.61234
    bench.write_csv([face], str(tmp_path / "out.csv"))
    with open(tmp_path / "out.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["kind"], r["key"], r["value"]) for r in rows] == [
        ("skin_lightness", "face", "41.24"),
        ("skin_melanin", "face", "0.6123"),
        ("false_pct", "chin", "0.5000"),
    ]


def test_injected_bruises_are_split_at_the_bruise_familys_skin_limit():
    bench = load_benchmark("bruise")

    def face(name, melanin, detected):
        r = bench.FaceResult(name, name, "dev", 80.0)
        r.skin_melanin = melanin
        r.pair_injections = [
            {"stage": st, "iou": 0.8, "detected": d}
            for st, d in zip(bench.INJECTED_STAGES, detected, strict=False)
        ]
        return r

    faces = [
        face("light", 0.2, [True, True, True, True]),
        face("limit", 0.5, [True, True, False, True]),  # at the limit: comparable
        face("dark", 0.9, [True, False, False, True]),
        face("none", 0.9, []),  # no injected pair: not counted
    ]
    out = bench._by_skin(faces)
    n, stages = out["at most"]
    assert n == 2 and stages["green"] == (2, 0.5) and stages["fresh"] == (2, 1.0)
    n, stages = out["over"]
    assert n == 1 and stages["green"] == (1, 0.0) and stages["yellow-brown"] == (1, 1.0)
