"""A photo compared with itself: every change exactly 0, nothing significant (the after photo
is scored as the before photo is when it is the before photo, mesovision.scoring_frame.same_photo);
any other pair goes the ordinary way."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from conftest import REPO, shared_faces

from mesovision.scoring_frame import IDENTITY_TOL, same_photo

GRACE = REPO / "sample_images" / "grace_hopper" / "before.jpg"


def _self_comparison(path):
    import mesovision as mv

    return mv.compare(str(path), str(path))


def _assert_all_zero(cmp):
    deltas = [c.delta for per in cmp.changes.values() for c in per.values()]
    finite = [d for d in deltas if math.isfinite(d)]
    assert len(finite) > 200
    assert all(d == 0.0 for d in finite), [d for d in finite if d != 0.0][:5]
    assert cmp.significant() == []
    assert all(c.z in (None, 0.0) for per in cmp.changes.values() for c in per.values())
    spots = cmp.changes["left_cheek"]["pigmentation.spot_count"]
    assert spots.before == spots.after


def test_the_grace_hopper_sample_compared_with_itself_changes_nothing():
    _assert_all_zero(_self_comparison(GRACE))


def test_a_shared_face_compared_with_itself_changes_nothing():
    path = next((p for p, _ in shared_faces() if p.name == "fr_obama.jpg"), None)
    if path is None:
        pytest.skip("fr_obama.jpg not in the shared faces")
    _assert_all_zero(_self_comparison(path))


def test_only_the_same_pixels_aligned_by_the_identity_are_the_same_photo():
    from mesovision.pipeline import align_pair

    pair = align_pair(str(GRACE), str(GRACE))
    assert same_photo(pair)
    al = pair.alignment
    off = al.matrix.copy()
    off[0, 2] += 10 * IDENTITY_TOL
    assert not same_photo(dataclasses.replace(pair, alignment=dataclasses.replace(al, matrix=off)))
    rgb = pair.after.rgb.copy()
    rgb[0, 0, 0] = np.float32(0.5) if rgb[0, 0, 0] != 0.5 else np.float32(0.25)
    after = dataclasses.replace(pair.after, rgb=rgb)
    assert not same_photo(dataclasses.replace(pair, after=after))
