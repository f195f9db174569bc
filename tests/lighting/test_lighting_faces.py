"""Lighting normalization over the people of ``../shared/faces`` (or ``$MESOVISION_FACES``;
skipped with the reason where the folder is absent, a failure under ``CI=true``).

The sample-face claims of ``test_lighting.py`` (``test_light_change_is_undone_on_unchanged_skin``
and ``test_redness_on_treated_cheek_survives``), run on one photo of each of the 20 people (the
first of each in file order), each under one of the four light changes in turn. Nothing here was
tuned on these photos: the limits are the sample tests' own. Measured (2026-12, 20 photos): the
median CIEDE2000 on the face after normalization is below 2.0 on 20 of 20 (largest 1.86; before:
1.4 to 12.7); the injected a* + 8 kept within 0.8 to 1.2 of its size on 18 of 20 (0.78 on
``fr_alex-lacamoire.png``, whose measurable cheek is 748 px; 1.30 on ``fp_kate_siegel_1.jpg``).
The limits 2.0 and 0.8-1.2 are the sample tests'; the share (18 of 20) and the caps no photo may
pass (0.7-1.4) were set from this measurement, so they guard it rather than validate it. A
bruise inside the reference moves the normalized face away from it by a 99th-percentile
CIEDE2000 under the sample test's 1.0 on 19 of 20 (1.05 on one enlarged 150-px crop).
About 80 s on a busy machine.
"""

from __future__ import annotations

import functools
import sys

import cv2
import numpy as np
import pytest
from conftest import REPO, require

from mesovision import lighting
from mesovision.color import rgb_to_lab
from mesovision.io import load_photo
from mesovision.landmarks import detect_landmarks
from mesovision.regions import region_masks
from mesovision.testing import synthetic

sys.path.insert(0, str(REPO / "benchmarks"))
sys.path.insert(0, str(REPO / "tests" / "lighting"))
from _faces import faces_dir, labelled_faces  # noqa: E402
from test_lighting import LIGHTS, TREATED, _de, _measurable  # noqa: E402

FOLDER = faces_dir()
MISSING = (
    "the shared face photos are not here: put them beside the repository as ../shared/faces "
    "or set MESOVISION_FACES"
)
#: Small crops are enlarged to this long side (as the other shared-face tests do).
SMALL_SIDE, UPSCALE_SIDE = 300, 600


def _one_photo_per_person() -> list[str]:
    if FOLDER is None:
        return []
    first: dict[str, str] = {}
    for path, person in labelled_faces(FOLDER):
        first.setdefault(person, path.name)
    return [first[p] for p in sorted(first)]


PHOTOS = _one_photo_per_person()


@functools.cache
def _measure(name: str, light: str) -> dict[str, float]:
    rgb = load_photo(str(FOLDER / name), max_side=2048).rgb
    if max(rgb.shape[:2]) < SMALL_SIDE:
        s = UPSCALE_SIDE / max(rgb.shape[:2])
        rgb = np.clip(cv2.resize(rgb, None, fx=s, fy=s, interpolation=cv2.INTER_CUBIC), 0, 1)
    masks = region_masks(detect_landmarks(rgb), rgb.shape, rgb=rgb)
    ref = lighting.reference_mask(masks, treated=TREATED, image=rgb)
    after = synthetic.apply_lighting(rgb, **LIGHTS[light])
    res = lighting.normalize_lighting(rgb, after, reference_mask=ref)
    skin = masks["face"] & _measurable(rgb, after)
    cheek = masks["left_cheek"]
    red = synthetic.inject_redness(rgb, cheek, delta_a=8.0)
    after_red = synthetic.apply_lighting(red, **LIGHTS[light])
    ok = cheek & _measurable(rgb, after_red)
    injected = (rgb_to_lab(red)[..., 1] - rgb_to_lab(rgb)[..., 1])[ok].mean()
    res_red = lighting.normalize_lighting(rgb, after_red, reference_mask=ref)
    kept = (rgb_to_lab(res_red.after)[..., 1] - rgb_to_lab(res_red.before)[..., 1])[ok].mean()
    return {
        "de_before": float(np.median(_de(rgb, after)[skin])),
        "de_after": float(np.median(_de(res.before, res.after)[skin])),
        "kept": float(kept / injected),
        "warnings": len(res.report.warnings),
    }


@pytest.fixture(scope="module")
def measured():
    require(FOLDER is not None, MISSING)
    lights = list(LIGHTS)
    return {n: _measure(n, lights[k % len(lights)]) for k, n in enumerate(PHOTOS)}


@pytest.mark.slow
def test_light_change_is_undone_on_every_persons_face(measured):
    assert len(measured) == 20
    worse = {n: round(m["de_after"], 2) for n, m in measured.items() if m["de_after"] >= 2.0}
    assert not worse, f"median CIEDE2000 >= 2.0 after normalization on {len(worse)} of 20: {worse}"
    for name, m in measured.items():
        assert m["de_after"] < m["de_before"], name
        assert m["warnings"] == 0, name


@pytest.mark.slow
def test_redness_on_the_cheek_survives_on_most_faces(measured):
    kept = {n: round(m["kept"], 2) for n, m in measured.items()}
    within = [n for n, k in kept.items() if 0.8 <= k <= 1.2]
    assert len(within) >= 18, f"a* change kept within 0.8-1.2 on {len(within)} of 20: {kept}"
    assert all(0.7 <= k <= 1.4 for k in kept.values()), kept


@pytest.mark.slow
def test_a_bruise_inside_the_reference_does_not_move_the_fit_on_any_face():
    """``test_lighting.py``'s bruise claim on each person's photo: a red-purple bruise on the
    right cheek inside the reference (nothing declared treated) leaves the normalized face away
    from it within CIEDE2000 1.0 (99th percentile) of the normalization without it."""
    require(FOLDER is not None, MISSING)
    lights = list(LIGHTS)
    moved = {}
    for k, name in enumerate(PHOTOS):
        rgb = load_photo(str(FOLDER / name), max_side=2048).rgb
        if max(rgb.shape[:2]) < SMALL_SIDE:
            s = UPSCALE_SIDE / max(rgb.shape[:2])
            rgb = np.clip(cv2.resize(rgb, None, fx=s, fy=s, interpolation=cv2.INTER_CUBIC), 0, 1)
        lm = detect_landmarks(rgb)
        masks = region_masks(lm, rgb.shape, rgb=rgb)
        ref = lighting.reference_mask(masks, image=rgb)
        ys, xs = np.nonzero(masks["right_cheek"])
        iod = lm.interocular_px
        bruised, truth = synthetic.inject_bruise(
            rgb, (xs.mean(), ys.mean()), (0.22 * iod, 0.16 * iod), stage="red-purple"
        )
        light = LIGHTS[lights[k % len(lights)]]
        clean = lighting.normalize_lighting(
            rgb, synthetic.apply_lighting(rgb, **light), reference_mask=ref
        )
        hit = lighting.normalize_lighting(
            rgb, synthetic.apply_lighting(bruised, **light), reference_mask=ref
        )
        grow = np.ones((31, 31), np.uint8)
        far = ref & ~cv2.dilate(truth.astype(np.uint8), grow).astype(bool)
        moved[name] = round(float(np.percentile(_de(clean.after, hit.after)[far], 99)), 3)
    print(moved)
    assert len(moved) == 20
    # measured: 0.17-0.81 on 19 of 20, 1.05 on one 150-px crop enlarged (the share and the cap
    # no photo may pass were set from this measurement)
    assert sum(v < 1.0 for v in moved.values()) >= 19, moved
    assert all(v < 1.5 for v in moved.values()), moved
