"""A bruise on stubble, found against the before photo (``mesovision.metrics._bruise_pair``).

A real photo of ``../shared/faces`` (Eric Clapton, ``of_clapton-1.jpg``, a development face of
``benchmarks/_faces``: shaved stubble over the chin) and the same photo with a bruise painted
on the chin (:func:`mesovision.testing.synthetic.inject_bruise`, the stages' Lab shifts of
``benchmarks/bruise.py``), saved as a JPEG. On the stubble the bruise is darker than a bruise may
be against the photo's own skin, so the after photo's own tests miss it; against the before
photo the stubble cancels and the bruise is found over its extent.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest
from conftest import REPO, shared_faces

import mesovision.metrics._bruise_pair as bp
from mesovision.compare import compare_pair
from mesovision.io import load_photo
from mesovision.landmarks import detect_landmarks
from mesovision.pipeline import align_pair
from mesovision.regions import region_masks
from mesovision.testing.synthetic import inject_bruise

sys.path.insert(0, str(REPO / "benchmarks"))
from _bruise_pairs import new_bruise_iou  # noqa: E402
from bruise import INJECTED_STAGES  # noqa: E402

#: The stages painted (``benchmarks/bruise.py``'s Lab shifts), at this strength.
STAGES = ("blue-green", "green")
STRENGTH = 0.9


def _no_difference(own_y, x, y, x_to_y):
    return bp.Carried(np.zeros(y.skin.shape, bool), np.zeros(y.skin.shape, np.float32))


@pytest.fixture(scope="module")
def clapton(tmp_path_factory):
    """``(path, rgb, chin mask, interocular px)`` of the photo."""
    faces = dict((p.name, p) for p, _ in shared_faces())
    path = faces["of_clapton-1.jpg"]
    rgb = load_photo(path).rgb
    lm = detect_landmarks(rgb, path=str(path))
    return path, rgb, region_masks(lm, rgb.shape[:2])["chin"], lm.interocular_px


@pytest.mark.parametrize("stage", STAGES)
def test_a_bruise_on_stubble_is_found_against_the_before_photo(
    clapton, stage, tmp_path, monkeypatch
):
    from PIL import Image

    path, rgb, chin, iod = clapton
    ys, xs = np.nonzero(chin)
    img, truth = inject_bruise(
        rgb,
        (xs.mean(), ys.mean()),
        (0.2 * iod, 0.15 * iod),
        shift_lab=INJECTED_STAGES[stage][1],
        strength=STRENGTH,
    )
    after = tmp_path / "after.jpg"
    Image.fromarray(np.round(img * 255).astype(np.uint8)).save(after, quality=92)
    pair = align_pair(str(path), str(after))
    cmp = compare_pair(pair, metrics=["bruise.area_pct"])
    found = [b for b in cmp.after.bruises.bruises if b.region == "chin"]
    assert [b.difference for b in found] == [True]
    assert new_bruise_iou(cmp, truth & chin)[0] >= 0.65
    assert cmp.changes["chin"]["bruise.area_pct"].delta > 5.0
    # The after photo's own tests (and the other photo's bruises carried in) find none of it.
    monkeypatch.setattr(bp, "difference_components", _no_difference)
    alone = compare_pair(pair, metrics=["bruise.area_pct"])
    assert new_bruise_iou(alone, truth & chin)[0] == 0.0
