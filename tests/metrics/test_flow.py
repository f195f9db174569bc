"""The skin's motion between two photos (mesovision.metrics._flow): known shifts and affine maps
recovered from textured images, the band's weighted median, and light changes ignored."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from mesovision.metrics._flow import (
    edge_gradient,
    local_contrast,
    outward_motion,
    skin_flow,
    stable_motion,
    stable_turn,
    turn_motion,
    turned_motion,
    weighted_median,
)


def _texture(shape=(200, 200), seed=0) -> np.ndarray:
    """Smooth random texture, L* 40-80 (as skin at a few pixels' scale)."""
    rng = np.random.default_rng(seed)
    x = cv2.GaussianBlur(rng.normal(0.0, 1.0, shape).astype(np.float32), (0, 0), 2.0)
    return (60.0 + 20.0 * x / np.abs(x).max()).astype(np.float32)


def _moved(img: np.ndarray, m: np.ndarray) -> np.ndarray:
    """``img`` carried by the 2 x 3 map ``m`` (source -> target pixels)."""
    h, w = img.shape
    return cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)


@pytest.mark.parametrize("iod_px", [40.0, 150.0])
def test_flow_recovers_a_subpixel_shift(iod_px):
    # A shift of (1.3, -0.7) px: the flow in the middle reads it within 0.1 px, for a small
    # face (upsampled 3x) and a large one (not upsampled).
    a = _texture()
    b = _moved(a, np.array([[1.0, 0.0, 1.3], [0.0, 1.0, -0.7]]))
    f = skin_flow(a, b, iod_px)
    mid = f[50:150, 50:150].reshape(-1, 2)
    assert np.median(mid[:, 0]) == pytest.approx(1.3, abs=0.1)
    assert np.median(mid[:, 1]) == pytest.approx(-0.7, abs=0.1)


def test_flow_ignores_a_smooth_change_of_light():
    # The after photo 15 % brighter with a left-right gradient: no motion (under 0.1 px).
    a = _texture()
    gain = np.linspace(1.0, 1.3, a.shape[1], dtype=np.float32)[None, :]
    f = skin_flow(a, a * gain, 100.0)
    assert np.abs(f[30:170, 30:170]).max() < 0.1
    # local contrast: the same image under a gain and an offset reads nearly the same (the
    # regularizing 1 L* in the denominator: at most 5 of 256 levels, 99 % within 3; the
    # lightness itself moves by 17 L*)
    c0 = local_contrast(a, 10.0).astype(int)
    c1 = local_contrast(1.2 * a + 5.0, 10.0).astype(int)
    diff = np.abs(c0 - c1)[20:-20, 20:-20]
    assert diff.max() <= 5 and np.percentile(diff, 99) <= 3


def test_stable_motion_recovers_an_affine_map():
    # A known affine map (a stretch along x, a shear, a shift): fitted at 40 scattered points
    # of the flow, it is recovered within 0.01 (linear part) and 0.3 px (shift).
    a = _texture(seed=1)
    m = np.array([[1.02, 0.01, -0.8], [0.005, 0.99, 0.6]])
    f = skin_flow(a, _moved(a, m), 100.0)
    pts = np.random.default_rng(2).uniform(50, 150, (40, 2))
    fit = stable_motion(f, pts)
    assert np.abs(fit[:, :2] - m[:, :2]).max() < 0.01
    centre = np.array([100.0, 100.0])
    assert fit[:, :2] @ centre + fit[:, 2] == pytest.approx(m[:, :2] @ centre + m[:, 2], abs=0.3)


def test_stable_motion_ignores_the_border_and_wrong_flow_vectors():
    # An exact flow field of a known affine map, wrong (12 px sideways) along the top 5 rows
    # (DIS at the image's edge under a tightly cropped forehead) and at 3 inner points: the map
    # is recovered from the others. A least-squares fit over all the points misses it by 0.7
    # px at the image's centre (more on a jaw, further from the stable points).
    h = w = 120
    m = np.array([[1.01, 0.0, 0.5], [0.0, 0.99, -0.4]])
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    flow = np.dstack(
        [m[0, 0] * xs + m[0, 1] * ys + m[0, 2] - xs, m[1, 0] * xs + m[1, 1] * ys + m[1, 2] - ys]
    ).astype(np.float32)
    wrong = flow.copy()
    wrong[:5, :, 0] -= 12.0
    rng = np.random.default_rng(5)
    inner = rng.uniform(20, 100, (30, 2))
    edge = np.column_stack([rng.uniform(20, 100, 8), rng.uniform(0, 4, 8)])
    for x, y in np.rint(inner[:3]).astype(int):
        wrong[y - 1 : y + 2, x - 1 : x + 2, 0] += 6.0
    pts = np.vstack([inner, edge])
    centre = np.array([60.0, 60.0])

    def at_centre(fit):
        return fit[:, :2] @ centre + fit[:, 2]

    truth = m[:, :2] @ centre + m[:, 2]
    design = np.hstack([pts, np.ones((len(pts), 1))])
    target = pts + wrong[np.rint(pts[:, 1]).astype(int), np.rint(pts[:, 0]).astype(int)]
    plain = np.linalg.lstsq(design, target, rcond=None)[0].T
    assert np.abs(at_centre(plain) - truth).max() > 0.5
    # The edge points left out, the three wrong inner ones rejected by the second fit.
    fit = stable_motion(wrong, pts, margin_px=6.0)
    assert at_centre(fit) == pytest.approx(truth, abs=0.01)
    assert np.abs(fit[:, :2] - m[:, :2]).max() < 1e-3
    # Fewer than MIN_STABLE_POINTS inside the margin: all points are kept (no empty fit).
    assert np.isfinite(stable_motion(flow, pts[-8:], margin_px=60.0)).all()


def test_outward_motion_is_the_band_motion_less_the_stable_motion():
    # A whole-image shift of 1 px down is the stable points' motion, not swelling: 0 for a
    # sample with a downward normal; the same sample with the stable points kept still (their
    # texture unmoved) and the band below moved 2 px down reads 2 px.
    a = _texture(seed=3)
    b = _moved(a, np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]]))
    f = skin_flow(a, b, 100.0)
    stable = np.random.default_rng(4).uniform(40, 160, (30, 2))
    p, n = np.array([[100.0, 100.0]]), np.array([[0.0, 1.0]])
    assert outward_motion(f, p, n, (-0.1, 0.1), 100.0, stable)[0] == pytest.approx(0.0, abs=0.1)
    lower = _moved(a, np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 2.0]]))
    c = a.copy()
    c[80:] = lower[80:]
    f = skin_flow(a, c, 100.0)
    top = stable[:, 1] < 60
    moved = outward_motion(f, p + (0, 15), n, (-0.05, 0.05), 100.0, stable[top] * (1, 0.5))
    assert moved[0] == pytest.approx(2.0, abs=0.2)


def test_stable_motion_with_depth_recovers_a_turn_and_predicts_the_outline():
    # A flow field of an affine map plus a turn in depth (x moves by 0.03 z, y by -0.02 z: a
    # small yaw and pitch under orthographic projection), sampled at 40 stable points whose
    # depth runs over 60 px (the nose tip in front of the eyes): the fit with depth recovers
    # both (the depth column within 1e-4, its standard errors near 0 for a noiseless field);
    # the affine fit alone cannot, and misses an outline sample behind the points by what
    # turn_motion predicts.
    rng = np.random.default_rng(5)
    stable = rng.uniform(60, 140, (40, 2))
    depth = rng.uniform(-40, 20, 40)
    a = np.array([[0.01, -0.005, 0.4], [0.004, -0.008, -0.3]])
    turn = np.array([0.03, -0.02])
    h = w = 200
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    flow = np.zeros((h, w, 2), np.float32)
    # the field at the stable points carries their depth; elsewhere the affine part only
    for k in range(2):
        flow[..., k] = a[k, 0] * xx + a[k, 1] * yy + a[k, 2]
    ij = np.rint(stable).astype(int)
    stable = ij.astype(np.float64)  # on pixel centres: the bilinear sample is exact there
    for k in range(2):
        flow[ij[:, 1], ij[:, 0], k] += turn[k] * depth
    m, se = stable_turn(flow, stable, 0.0, depth)
    assert m.shape == (2, 4)
    assert m[:, 3] == pytest.approx(turn, abs=1e-4)
    assert m[:, :2] - np.eye(2) == pytest.approx(a[:, :2], abs=1e-4)
    assert np.all(se < 1e-4)
    assert stable_motion(flow, stable, 0.0, depth) == pytest.approx(m)
    plain = stable_motion(flow, stable)
    assert plain.shape == (2, 3)
    # An outline sample at (100, 170), 80 px behind the stable points' mean depth, normal
    # along x: the flow there is the affine map's plus 0.03 x its depth; what the turn adds to
    # the affine fit's prediction there is that less the affine fit's own.
    pt, z_out, normal = np.array([[100.0, 170.0]]), depth.mean() + 80.0, np.array([[1.0, 0.0]])
    truth = a[0, 0] * pt[0, 0] + a[0, 1] * pt[0, 1] + a[0, 2] + turn[0] * z_out
    missed = truth - (plain[0, 0] * pt[0, 0] + plain[0, 1] * pt[0, 1] + plain[0, 2] - pt[0, 0])
    full = m - np.hstack([plain, np.zeros((2, 1))])
    assert turn_motion(full, pt, [z_out], normal)[0] == pytest.approx(missed, abs=1e-3)
    assert abs(missed) > 1.0  # the affine fit alone leaves it on the outline
    # A noiseless turn is many standard errors clear of 0: taken whole, its depth column
    # scaled by the gain; no depth column where the gain is 0.
    motion, full2, w = turned_motion(flow, stable, 0.0, depth, gain=(1.0, 1.0))
    assert w == pytest.approx(1.0) and motion == pytest.approx(m, abs=1e-6)
    assert full2 == pytest.approx(full, abs=1e-6)
    motion, _, _ = turned_motion(flow, stable, 0.0, depth, gain=(0.5, 0.0))
    assert motion[:, 3] == pytest.approx([0.5 * turn[0], 0.0], abs=1e-4)


def test_weighted_median_and_edge_weights():
    v = np.array([[0.0, 1.0, 2.0, 3.0, 10.0], [5.0, 4.0, 3.0, 2.0, 1.0]])
    assert list(weighted_median(v, np.ones_like(v))) == [2.0, 3.0]
    w = np.array([[1.0, 1.0, 1.0, 1.0, 10.0], [0.0, 0.0, 0.0, 0.0, 1.0]])
    assert list(weighted_median(v, w)) == [10.0, 1.0]
    # the gradient of a vertical step is across it (x), of the step's height over the kernel
    step = np.zeros((40, 40), np.float32)
    step[:, 20:] = 10.0
    g = edge_gradient(step, sigma_px=1.0)
    assert np.abs(g[..., 1]).max() < 1e-4
    assert g[20, 19:21, 0].max() > 10.0 and g[20, :10, 0].max() == 0.0
