"""The results' reprs are one short line of their key numbers, not their arrays (a notebook, a
logger or a debugger shows them)."""

from __future__ import annotations

import numpy as np
from conftest import SAMPLES

import mesovision as mv


def test_pair_photo_landmarks_and_alignment_reprs_are_short():
    folder = SAMPLES / "astronaut"
    pair = mv.align(folder / "before.jpg", folder / "after_treated.jpg", max_side=512)
    al = pair.alignment
    assert repr(pair) == (
        f"<AlignedPair face: 512x512 px, {al.method}, residual {al.residual_px:.2f} px, coverage "
        f"{100 * al.coverage:.1f} %, 10 regions, {len(pair.warnings)} warnings, 0 forced>"
    )
    assert repr(al).startswith(f"<Alignment {al.method}: residual {al.residual_px:.2f} px")
    b = pair.before
    assert repr(b) == (
        f"<Photo {b.path!r}: 512x512 px float32, original 1024x1024, scale 0.5, "
        f"sha256 {b.sha256[:12]}>"
    )
    lm = pair.before_landmarks
    assert repr(lm).startswith(
        f"<Landmarks: 478 points in 512x512 px, 1 face(s), interocular {lm.interocular_px:.1f} px"
    )
    for obj in (pair, al, b, lm):
        assert len(repr(obj)) < 200 and "\n" not in repr(obj)


def test_an_array_photo_says_so():
    p = mv.as_photo(np.zeros((48, 64, 3), np.uint8), name="before")
    assert p.path is None
    assert repr(p).startswith("<Photo array: 64x48 px float32, original 64x48, scale 1, sha256 ")
    assert repr(p.turned(1)).startswith(
        "<Photo array: 48x64 px float32, original 48x64, scale 1, 1 quarter turns"
    )


def test_a_scored_photo_shows_its_size_and_counts_not_its_arrays():
    folder = SAMPLES / "astronaut"
    r = mv.compare(folder / "before.jpg", folder / "after_treated.jpg", max_side=512)
    for scored in (r.before, r.after):
        (h, w), n = scored.rgb.shape[:2], sum(len(per) for per in scored.scores.values())
        assert n == 290 and len(scored.regions) == 10
        assert repr(scored) == (
            f"<ScoredPhoto: {w}x{h} px, scale {scored.scale:.4g}, 10 regions, 290 scores>"
        )


def test_the_lighting_result_shows_its_method_and_residuals_not_its_pixels():
    folder = SAMPLES / "astronaut"
    r = mv.compare(folder / "before.jpg", folder / "after_treated.jpg", max_side=512)
    rep = r.lighting.report
    h, w = r.lighting.before.shape[:2]
    assert repr(r.lighting) == (
        f"<LightingResult reference ({rep.model}): {w}x{h} px, {rep.n_reference_px} reference px, "
        f"dE00 median {rep.delta_e_before['median']:.2f} -> {rep.delta_e_after['median']:.2f}, "
        f"{len(rep.warnings)} warnings>"
    )
    # the sample pair's lamp is corrected: the residual falls (docs/validation.md's demo figures)
    assert rep.delta_e_after["median"] < rep.delta_e_before["median"] - 2
