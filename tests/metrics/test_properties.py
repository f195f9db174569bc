"""Properties checked on many generated inputs (hypothesis, deterministic: ``derandomize=True``).

* metrics do not move when the image and its masks are translated by whole pixels;
* lighting normalization of an already normalized pair changes it by almost nothing;
* colour conversions round-trip; CIEDE2000 is symmetric and zero on equal colours;
* aligning a face (or a point set) onto itself gives the identity with no residual, and a known
  similarity of a point set is recovered.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import mesovision.metrics as M
from mesovision.align import align_faces, fit_landmarks
from mesovision.color import (
    delta_e_ciede2000,
    lab_to_rgb,
    linear_to_srgb,
    rgb_to_lab,
    srgb_to_linear,
)
from mesovision.lighting import normalize_lighting
from mesovision.testing.synthetic import apply_lighting, similarity_matrix

settings.register_profile(
    "mesovision",
    derandomize=True,
    deadline=None,
    max_examples=25,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
FAST = settings(settings.get_profile("mesovision"))
SLOW = settings(settings.get_profile("mesovision"), max_examples=8)

# --- metrics: integer translation ----------------------------------------------------------

SIZE = 112


def skin_image(seed: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """A skin-like patch: a smooth colour field, fine texture, a few dark spots, a red blotch;
    masks for three regions (one ellipse) and their union as ``face``."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)
    lab = np.empty((SIZE, SIZE, 3), np.float32)
    lab[..., 0] = rng.uniform(55, 72) + 4 * np.sin(xx / rng.uniform(15, 40))
    lab[..., 1] = rng.uniform(10, 18) + 3 * np.cos(yy / rng.uniform(15, 40))
    lab[..., 2] = rng.uniform(12, 22)
    fine = cv2.GaussianBlur(rng.normal(0, 1, (SIZE, SIZE)).astype(np.float32), (0, 0), 1.2)
    lab[..., 0] += 6 * fine
    for _ in range(int(rng.integers(2, 6))):
        cx, cy, r = rng.uniform(25, SIZE - 25), rng.uniform(25, SIZE - 25), rng.uniform(1.5, 3.5)
        spot = np.hypot(xx - cx, yy - cy) <= r
        lab[spot, 0] -= 14
        lab[spot, 2] += 6
    cx, cy = rng.uniform(40, 70), rng.uniform(40, 70)
    lab[..., 1] += 8 * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / 200)
    rgb = lab_to_rgb(lab)
    masks = {
        "a": np.zeros((SIZE, SIZE), bool),
        "b": np.zeros((SIZE, SIZE), bool),
        "c": np.zeros((SIZE, SIZE), np.uint8),
    }
    masks["a"][24:60, 24:88] = True
    masks["b"][62:92, 30:70] = True
    cv2.ellipse(masks["c"], (74, 76), (14, 10), 20, 0, 360, 1, -1)
    masks["c"] = masks["c"].astype(bool)
    masks["face"] = masks["a"] | masks["b"] | masks["c"]
    return rgb, masks


def _shift(rgb, masks, dy, dx):
    """Translate by (dx, dy) whole pixels: pad top/left with the edge (masks with False)."""
    pads = ((dy, 0), (dx, 0))
    return (
        np.pad(rgb, (*pads, (0, 0)), mode="edge"),
        {k: np.pad(v, pads) for k, v in masks.items()},
    )


@FAST
@given(seed=st.integers(0, 10_000), dy=st.integers(0, 16), dx=st.integers(0, 16))
def test_metrics_invariant_to_integer_translation(seed, dy, dx):
    rgb, masks = skin_image(seed)
    base = M.SkinBaseline.from_image(rgb, masks["face"])
    a = M.score_regions(rgb, masks, px_per_mm=5.0, baseline=base)
    t_rgb, t_masks = _shift(rgb, masks, dy, dx)
    b = M.score_regions(t_rgb, t_masks, px_per_mm=5.0, baseline=base)
    # The face mode's metrics: the body family's 8 mm band-pass (sigma 40 px at 5 px/mm) is
    # wider than this 128-px image, whose padded border then enters it.
    face = set(M.metrics_for_mode("face"))
    for region, values in a.items():
        for name, v in values.items():
            if name not in face:
                continue
            assert b[region][name] == pytest.approx(v, rel=1e-5, abs=1e-8, nan_ok=True), (
                region,
                name,
            )


# --- lighting: normalizing a normalized pair -------------------------------------------------


@pytest.fixture(scope="module")
def face_pair():
    from mesovision.metrics._samples import sample_face

    rgb, masks = sample_face("grace_hopper", scale=1.0)
    return rgb, masks["face"]


@SLOW
@given(
    gain=st.floats(0.75, 1.25),
    wb_r=st.floats(0.9, 1.1),
    wb_b=st.floats(0.9, 1.1),
    ramp=st.floats(-0.15, 0.15),
)
def test_normalization_is_idempotent(face_pair, gain, wb_r, wb_b, ramp):
    before, face = face_pair
    after = apply_lighting(before, gain=gain, white_balance=(wb_r, 1.0, wb_b), ramp=ramp)
    once = normalize_lighting(before, after, reference_mask=face).after
    twice = normalize_lighting(before, once, reference_mask=face).after
    de = delta_e_ciede2000(rgb_to_lab(once[face]), rgb_to_lab(twice[face]))
    assert np.median(de) < 0.2 and np.percentile(de, 95) < 0.5, (
        np.median(de),
        np.percentile(de, 95),
    )


# --- colour ----------------------------------------------------------------------------------

unit_rgb = arrays(np.float32, (16, 3), elements=st.floats(0.0, 1.0, width=32))


@FAST
@given(rgb=unit_rgb)
def test_srgb_linear_round_trip(rgb):
    back = linear_to_srgb(srgb_to_linear(rgb))
    np.testing.assert_allclose(back, rgb, atol=2e-6)
    lin = srgb_to_linear(rgb)
    assert lin.min() >= 0.0 and lin.max() <= 1.0


@FAST
@given(rgb=unit_rgb)
def test_rgb_lab_round_trip(rgb):
    lab = rgb_to_lab(rgb)
    assert (lab[:, 0] >= -1e-3).all() and (lab[:, 0] <= 100 + 1e-3).all()
    back = lab_to_rgb(lab)
    # OpenCV's float32 Lab conversions (see test_rgb_to_lab_is_continuous): measured over 200 000
    # random colours, the round trip is within 0.005 in RGB and 0.75 CIEDE2000.
    np.testing.assert_allclose(back, rgb, atol=0.006)
    assert delta_e_ciede2000(lab, rgb_to_lab(back)).max() < 0.8


@pytest.mark.xfail(
    strict=True,
    reason="OpenCV's float32 RGB->Lab (mesovision.color.rgb_to_lab) is not continuous: a change "
    "of 3e-5 in RGB (0.01 code value) can move L* by 0.13 and a* by 0.28 (CIEDE2000 0.45)",
)
@FAST
@given(
    rgb=arrays(np.float32, (1, 3), elements=st.floats(0.05, 0.95, width=32)),
    delta=arrays(np.float32, (1, 3), elements=st.floats(-1e-4, 1e-4, width=32)),
)
@example(
    rgb=np.array([[0.625, 0.59375, 0.5625]], np.float32),
    delta=np.array([[1.657e-5, -3.105e-5, -1.62e-5]], np.float32),
)
def test_rgb_to_lab_is_continuous(rgb, delta):
    de = delta_e_ciede2000(rgb_to_lab(rgb), rgb_to_lab(rgb + delta))
    assert de.max() < 0.05


lab_values = arrays(
    np.float64,
    (12, 3),
    elements=st.floats(0.0, 100.0),
).map(lambda x: x * [1.0, 2.55, 2.55] - [0.0, 128.0, 128.0])


@FAST
@given(lab1=lab_values, lab2=lab_values)
def test_ciede2000_symmetric_and_zero_on_equal(lab1, lab2):
    d12 = delta_e_ciede2000(lab1, lab2)
    d21 = delta_e_ciede2000(lab2, lab1)
    np.testing.assert_allclose(d12, d21, rtol=1e-9, atol=1e-9)
    assert np.all(d12 >= 0) and np.all(np.isfinite(d12))
    np.testing.assert_array_equal(delta_e_ciede2000(lab1, lab1), 0.0)


# --- alignment -------------------------------------------------------------------------------

point_sets = arrays(np.float64, (40, 2), elements=st.floats(0.0, 1000.0), unique=True).filter(
    lambda p: np.linalg.matrix_rank(p - p.mean(axis=0)) == 2 and np.ptp(p, axis=0).min() > 50
)


@FAST
@given(pts=point_sets, model=st.sampled_from(["similarity", "affine"]))
def test_fit_of_points_onto_themselves_is_identity(pts, model):
    m = fit_landmarks(pts.astype(np.float32), pts.astype(np.float32), model=model)
    np.testing.assert_allclose(m, np.eye(3), atol=1e-3)


@FAST
@given(
    pts=point_sets,
    angle=st.floats(-20, 20),
    scale=st.floats(0.7, 1.4),
    shift=st.tuples(st.floats(-60, 60), st.floats(-60, 60)),
)
def test_fit_recovers_a_known_similarity(pts, angle, scale, shift):
    t = similarity_matrix(angle_deg=angle, scale=scale, shift_xy=shift, center_xy=(500, 500))
    moved = (np.c_[pts, np.ones(len(pts))] @ t.T)[:, :2]
    m = fit_landmarks(pts.astype(np.float32), moved.astype(np.float32))
    np.testing.assert_allclose(m[:2, :2], t[:2, :2], atol=2e-4)
    np.testing.assert_allclose(m[:2, 2], t[:2, 2], atol=0.05)


@SLOW
@given(
    name=st.sampled_from(["grace_hopper", "astronaut"]),
    refine=st.sampled_from(["none", "ecc"]),
    model=st.sampled_from(["similarity", "affine"]),
)
def test_face_aligned_onto_itself_is_identity(
    faces, face_landmarks, face_regions, name, refine, model
):
    rgb, lm = faces[name], face_landmarks[name]
    al = align_faces(
        rgb, rgb, lm, lm, face_mask=face_regions[name]["face"], refine=refine, model=model
    )
    np.testing.assert_allclose(al.matrix, np.eye(3), atol=1e-3)
    assert al.residual_px < 1e-3 and al.coverage == pytest.approx(1.0)
