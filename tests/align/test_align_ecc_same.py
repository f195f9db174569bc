"""A refinement that changes nothing (a perfect landmark fit: the same photo twice) is kept
silently; one that moves the map, or lowers the correlation, still warns. With ``refine_ecc``
stubbed (``test_align_ecc``'s stub: the landmark fit followed by a known translation), and on
the shipped sample photo compared with itself."""

from __future__ import annotations

import pytest
from conftest import SAMPLES
from test_align_ecc import _faces, _stub, pair  # noqa: F401  (pair: the fixture)

from mesovision.align.face import ECC_SAME_CC, ECC_SAME_PX


def test_a_refinement_that_changes_nothing_is_not_warned_about(pair, monkeypatch):  # noqa: F811
    base = _faces(pair, refine="none")
    # the correlation of a perfect fit, a rounding error lower after ECC (measured on the
    # astronaut's before.jpg with itself: 0.99999999522 -> 0.99999998987)
    _stub(monkeypatch, (0.0, 0.0), 0.99999999522, 0.99999998987)
    al = _faces(pair)
    assert al.warnings == () and al.method == "landmarks-similarity"
    assert al.residual_px == base.residual_px
    _stub(monkeypatch, (0.5 * ECC_SAME_PX, 0.0), 0.9, 0.9 - 0.5 * ECC_SAME_CC)
    assert _faces(pair).warnings == ()


@pytest.mark.parametrize(
    ("shift", "cc1"),
    [((2 * ECC_SAME_PX, 0.0), 0.9), ((0.0, 0.0), 0.9 - 2 * ECC_SAME_CC)],
)
def test_a_refinement_that_moves_or_lowers_the_correlation_still_warns(
    pair,  # noqa: F811
    monkeypatch,
    shift,
    cc1,
):
    _stub(monkeypatch, shift, 0.9, cc1)
    [w] = _faces(pair).warnings
    assert w.startswith("ECC refinement rejected (correlation 0.900 -> ")


def test_the_same_photo_twice_gives_no_alignment_warning():
    from mesovision import compare

    photo = str(SAMPLES / "astronaut" / "before.jpg")
    aligned = compare(photo, photo).pair
    assert aligned.alignment.residual_px == pytest.approx(0.0, abs=1e-6)
    assert aligned.alignment.method == "landmarks-similarity"
    assert not [w for w in aligned.warnings if "ECC" in w]
