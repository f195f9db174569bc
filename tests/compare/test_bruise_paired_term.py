"""The bruised area has no paired tile term (``bruise.area_pct`` registered ``untiled``).

A real photo (the astronaut sample, 86 px between the eyes) and the same photo with a blue-green
bruise painted over a sixth of its chin (:func:`mesovision.testing.synthetic.inject_bruise`),
saved as a JPEG, compared without treated regions. The chin has 5 tiles; the bruise fills some
of them and not others, so the spread of the per-tile changes is the bruise's own layout (a
paired term of 6.9 % of the chin, z 2.0: not significant), not what another capture of it
moves. What does move it -- the bruise found or missed as a whole, its edge under the
registration residual and a recapture -- keeps the standard error near 1 %.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import SAMPLES
from PIL import Image

from mesovision.compare import compare_pair
from mesovision.io import load_photo
from mesovision.landmarks import detect_landmarks
from mesovision.pipeline import align_pair
from mesovision.regions import region_masks
from mesovision.testing.synthetic import inject_bruise


@pytest.fixture(scope="module")
def bruised_chin(tmp_path_factory):
    """``(comparison, truth share of the chin in %)``."""
    path = SAMPLES / "astronaut" / "before.jpg"
    rgb = load_photo(path).rgb
    chin = region_masks(detect_landmarks(rgb), rgb.shape[:2])["chin"]
    ys, xs = np.nonzero(chin)
    r = np.sqrt(0.25 * chin.sum() / np.pi) / 0.75
    img, truth = inject_bruise(rgb, (xs.mean(), ys.mean()), (1.3 * r, r / 1.3), stage="blue-green")
    after = tmp_path_factory.mktemp("bruise") / "after.jpg"
    Image.fromarray(np.round(img * 255).astype(np.uint8)).save(after, quality=90)
    cmp = compare_pair(align_pair(str(path), str(after)), metrics=["bruise.area_pct"])
    return cmp, 100.0 * (truth & chin).sum() / chin.sum()


def test_a_large_bruise_is_significant_with_the_terms_of_a_capture(bruised_chin):
    cmp, truth_pct = bruised_chin
    c = cmp.changes["chin"]["bruise.area_pct"]
    assert truth_pct == pytest.approx(14.8, abs=0.5)
    assert c.delta == pytest.approx(truth_pct, abs=1.5)
    assert c.noise.n_tiles == 5
    # The chin's own tile spread (0 / bimodal per tile) read 6.9 % here.
    assert c.noise.se_paired == 0.0
    assert c.se < 2.0
    terms = (c.noise.sd_registration, c.noise.sd_recapture, c.noise.sd_counting)
    assert c.se == pytest.approx(float(np.sqrt(sum(t * t for t in terms))), rel=1e-6)
    assert c.significant and c.z > 8
