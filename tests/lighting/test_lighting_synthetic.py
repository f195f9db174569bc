"""Lighting normalization on synthetic pairs of known light change, and its parts.

Each colour model is fitted on samples made by that model with known parameters (recovered to
rounding, and despite a share of outliers), the fast whole-photo path is compared with the
direct formula, and ``normalize_lighting`` is run on a textured synthetic pair whose after photo
is the before photo under a known gain and a known shading ramp, with a treated patch left out
of the reference: the light change is undone on the reference and the treatment kept. Fast
counterparts of the sample-face tests in ``test_lighting.py``.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from mesovision.color import delta_e_ciede2000, linear_to_srgb, rgb_to_lab, srgb_to_linear
from mesovision.errors import LightingError, UsageError
from mesovision.lighting import (
    correct_image,
    correct_in_own_frame,
    detect_background,
    normalize_lighting,
    reference_mask,
)
from mesovision.lighting.fit import eval_surface, norm_coords, poly_terms, robust_lstsq
from mesovision.lighting.models import MODELS, apply_full, apply_model, fit_model, select_model
from mesovision.lighting.pixels import (
    MIN_REFERENCE_PX,
    luminance,
    prepare_pair,
    residual_report,
    sample_pixels,
    unclipped,
)
from mesovision.types import Alignment

# -- colour models -------------------------------------------------------------------------------

TRUE = {
    "gain": {"gain": np.array([1.2, 0.9, 0.8])},
    "gain_offset": {"gain": np.array([1.1, 0.95, 0.85]), "offset": np.array([0.02, -0.01, 0.03])},
    "curve": {"scale": np.array([1.05, 0.9, 1.1]), "power": np.array([0.9, 1.1, 1.0])},
    "matrix": {"matrix": np.array([[1.1, 0.05, 0.0], [0.02, 0.9, 0.03], [0.0, 0.04, 0.85]])},
}


def _samples(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(0.05, 0.8, size=(n, 3))


def _true_apply(name, x):
    p = TRUE[name]
    if name == "gain":
        return x * p["gain"]
    if name == "gain_offset":
        return x * p["gain"] + p["offset"]
    if name == "curve":
        return p["scale"] * x ** p["power"]
    return x @ p["matrix"].T


@pytest.mark.parametrize("name", list(MODELS))
def test_fit_model_recovers_known_parameters(name):
    x = _samples()
    y = _true_apply(name, x)
    params, _ = fit_model(name, x, y)
    assert set(params) == set(TRUE[name])  # each model its own parameters, no more
    for k, v in TRUE[name].items():
        # the log fits (gain, curve) work on log(x + 1e-4): their parameters carry that shift
        tol = {"gain": 2e-4, "curve": 3e-3}.get(name, 1e-6)
        assert params[k] == pytest.approx(v, abs=tol), k
    pred = apply_model(name, params, x.astype(np.float32))
    assert pred.dtype == np.float32
    assert pred == pytest.approx(y, abs={"gain": 1e-4, "curve": 2e-3}.get(name, 1e-5))
    # as an image (the matrix model goes through cv2.transform there)
    img = apply_model(name, params, x[:100].reshape(10, 10, 3).astype(np.float32))
    assert img.reshape(-1, 3) == pytest.approx(pred[:100], abs=1e-5)


@pytest.mark.parametrize("name", list(MODELS))
def test_fit_model_ignores_outliers(name):
    rng = np.random.default_rng(1)
    x = _samples(seed=2)
    y = _true_apply(name, x)
    bad = rng.random(len(x)) < 0.15
    y[bad] = rng.uniform(0.05, 0.9, size=(bad.sum(), 3))
    params, inl = fit_model(name, x, y)
    for k, v in TRUE[name].items():
        assert params[k] == pytest.approx(v, abs=5e-3), k
    assert inl[~bad].mean() > 0.9
    assert inl[bad].mean() < 0.2


@pytest.mark.parametrize("name", ["gain_offset", "matrix"])
def test_the_linear_fits_are_weighted_by_the_target_luminance(name):
    # Samples off the model by 3 % (relative) noise: the fit is the weighted least-squares
    # solution over its inliers with weights 1 / (Y + 0.02)^2, computed here by numpy's lstsq,
    # and not the unweighted one.
    rng = np.random.default_rng(14)
    x = _samples(2000, seed=6)
    y = _true_apply(name, x) * (1 + 0.03 * rng.standard_normal((2000, 3)))
    params, inl = fit_model(name, x, y)
    assert 0.97 < inl.mean() < 1.0
    xi, yi = x[inl], y[inl]
    lum = yi @ np.array([0.2126, 0.7152, 0.0722])

    def solve(w):
        sw = np.sqrt(w)[:, None]
        if name == "matrix":
            return np.linalg.lstsq(xi * sw, yi * sw, rcond=None)[0].T
        out = []
        for c in range(3):
            d = np.stack([xi[:, c], np.ones(len(xi))], axis=1)
            out.append(np.linalg.lstsq(d * sw, yi[:, c] * sw[:, 0], rcond=None)[0])
        return np.array(out).T  # rows: gain, offset

    ref = solve(1.0 / (lum + 0.02) ** 2)
    got = params["matrix"] if name == "matrix" else np.stack([params["gain"], params["offset"]])
    assert got == pytest.approx(ref, abs=1e-9)
    for other in (np.ones(len(xi)), 2.0 / (lum + 0.02)):
        assert np.abs(solve(other) - ref).max() > 2e-4


def test_unknown_model_names():
    with pytest.raises(UsageError, match="unknown model 'gamma'; valid: auto, gain"):
        fit_model("gamma", _samples(10), _samples(10))
    with pytest.raises(UsageError, match="unknown model 'gamma'"):
        apply_model("gamma", {}, _samples(10))


@pytest.mark.parametrize("name", list(MODELS))
@pytest.mark.parametrize("with_field", [False, True])
def test_apply_full_is_the_direct_formula(name, with_field):
    rng = np.random.default_rng(3)
    rgb = rng.uniform(0.05, 0.95, size=(24, 32, 3)).astype(np.float32)
    field = None
    if with_field:
        field = (0.8 + 0.4 * rng.random((24, 32))).astype(np.float32)
    lin = srgb_to_linear(rgb).astype(np.float64)
    if field is not None:
        lin = lin / field[..., None]
    expected = linear_to_srgb(apply_model(name, TRUE[name], lin.astype(np.float32)))
    got = apply_full(name, TRUE[name], rgb, field)
    assert got.shape == rgb.shape
    assert got == pytest.approx(expected, abs=2e-4)


@pytest.mark.parametrize(("made_by", "chosen"), [("gain", "gain"), ("matrix", "matrix")])
def test_auto_picks_the_simplest_model_that_fits(made_by, chosen):
    x = _samples(2000, seed=4)
    y = _true_apply(made_by, x)
    name, scores = select_model(x, y)
    assert name == chosen
    assert set(scores) == set(MODELS)
    assert scores[made_by] < 0.05
    if made_by == "matrix":
        assert scores["gain"] > 0.5  # the cross-talk is visible to a per-channel model


# -- least squares and surfaces ------------------------------------------------------------------


def test_robust_lstsq_ignores_outliers_and_handles_rank_deficiency():
    rng = np.random.default_rng(5)
    u = rng.uniform(-1, 1, 500)
    design = np.stack([np.ones_like(u), u], axis=1)
    t = 0.3 + 2.0 * u + rng.normal(0, 0.01, 500)
    t[:40] += 5.0
    coef, inl = robust_lstsq(design, t)
    assert coef.shape == (2,)
    assert coef == pytest.approx([0.3, 2.0], abs=0.01)
    assert not inl[:40].any() and inl[40:].mean() > 0.95
    two = np.stack([t, -t], axis=1)
    coef2, _ = robust_lstsq(design, two)
    assert coef2.shape == (2, 2) and coef2[:, 1] == pytest.approx(-coef2[:, 0])
    dup = np.stack([u, u], axis=1)  # singular normal equations
    c3, _ = robust_lstsq(dup, 2.0 * u)
    assert c3.sum() == pytest.approx(2.0, abs=1e-9)
    zero = np.stack([u, np.zeros_like(u)], axis=1)  # exactly singular: the lstsq fallback
    c5, _ = robust_lstsq(zero, 2.0 * u)
    assert c5 == pytest.approx([2.0, 0.0], abs=1e-12)
    w = np.where(np.arange(500) < 40, 0.0, 1.0)
    c4, _ = robust_lstsq(design, t, weights=w, iters=1)
    assert c4 == pytest.approx([0.3, 2.0], abs=0.01)


def test_poly_terms_norm_coords_and_surface():
    u, v = np.array([0.5, -1.0]), np.array([2.0, 3.0])
    terms = poly_terms(u, v, 2, constant=True)
    assert terms.tolist() == [[1, 0.5, 2.0, 0.25, 1.0, 4.0], [1, -1.0, 3.0, 1.0, -3.0, 9.0]]
    assert poly_terms(u, v, 1, constant=False).tolist() == [[0.5, 2.0], [-1.0, 3.0]]
    assert poly_terms(u, v, 0, constant=False).shape == (2, 0)
    xs, ys = norm_coords(np.array([0, 99]), np.array([0, 49]), (50, 100))
    assert xs.tolist() == pytest.approx([-0.99, 0.99]) and ys.tolist() == pytest.approx(
        [-0.98, 0.98]
    )
    # exp(0.3 u - 0.2 v) on a 40 x 60 image: the grid is the image itself (< 128 wide)
    s = eval_surface(np.array([0.3, -0.2]), 1, (40, 60))
    yy, xx = np.mgrid[:40, :60]
    uu, vv = norm_coords(xx, yy, (40, 60))
    assert s.shape == (40, 60) and s.dtype == np.float32
    assert s == pytest.approx(np.exp(0.3 * uu - 0.2 * vv), rel=1e-5)
    # wider than the grid: evaluated coarsely, resized: still the surface to 1 %
    s2 = eval_surface(np.array([0.3, -0.2]), 1, (100, 300))
    yy, xx = np.mgrid[:100, :300]
    uu, vv = norm_coords(xx, yy, (100, 300))
    assert s2 == pytest.approx(np.exp(0.3 * uu - 0.2 * vv), rel=1e-2)
    # clamped to [e^-2, e^2]
    big = eval_surface(np.array([10.0, 0.0]), 1, (10, 20))
    assert big.max() == pytest.approx(np.exp(2.0), rel=1e-6)
    assert big.min() == pytest.approx(np.exp(-2.0), rel=1e-6)


def test_pixel_helpers():
    lin = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 1.0, 1.0]])
    assert luminance(lin) == pytest.approx([0.2126, 0.7152, 0.0722, 1.0])
    assert luminance(lin.astype(np.float32)).dtype == np.float32  # no float64 copy
    px = np.array([[0.5, 0.5, 0.5], [0.02, 0.5, 0.5], [0.5, 0.98, 0.5], [0.021, 0.979, 0.5]])
    assert unclipped(px).tolist() == [True, False, False, True]
    mask = np.zeros((30, 40), bool)
    mask[5:25, 10:30] = True
    ys, xs = sample_pixels(mask, 50, seed=1)
    assert len(ys) == 50 and mask[ys, xs].all()
    assert np.all(np.diff(ys * 40 + xs) > 0)  # in raster order, no repeats
    ys2, xs2 = sample_pixels(mask, 1000)
    assert len(ys2) == 400
    same = residual_report(np.full((5, 3), 0.5), np.full((5, 3), 0.5))
    assert same == {"median": 0.0, "p95": 0.0}
    b = np.tile([[0.6, 0.4, 0.3]], (20, 1))
    a = b.copy()
    a[:, 0] += np.linspace(0, 0.05, 20)
    ref = delta_e_ciede2000(rgb_to_lab(b), rgb_to_lab(a))
    rep = residual_report(b, a)
    assert rep["median"] == pytest.approx(np.median(ref))
    assert rep["p95"] == pytest.approx(np.percentile(ref, 95))


def test_prepare_pair_checks_and_cleans():
    b = np.full((20, 20, 3), 0.5, np.float32)
    with pytest.raises(UsageError, match="after photo must be"):
        prepare_pair(b, b[..., 0], None, None)
    with pytest.raises(UsageError, match="differ: align the photos first"):
        prepare_pair(b, b[:10], None, None)
    with pytest.raises(UsageError, match="valid_mask shape"):
        prepare_pair(b, b, None, np.ones((3, 3), bool))
    with pytest.raises(UsageError, match="reference_mask shape"):
        prepare_pair(b, b, np.ones((3, 3), bool), None)
    a = b.copy()
    a[0, 0] = np.nan
    a[0, 1] = 1.5
    a[1, :5] = 0.99  # clipped: not usable
    bb, aa, usable, name, n = prepare_pair(b, a, None, None)
    assert name == "all valid pixels" and n == 400 - 7
    assert aa[0, 0].tolist() == [0, 0, 0] and aa[0, 1].tolist() == [1, 1, 1]
    ref = np.zeros((20, 20), bool)
    ref[5:] = True
    valid = np.ones((20, 20), bool)
    valid[17:] = False
    _, _, usable, name, n = prepare_pair(b, b, ref, valid)
    assert name == "reference_mask" and n == 240 and usable[0].min() == 5
    # a mask of labels (uint8 values 0 and 2) reads as bool: the same pixels
    labels = np.where(ref, np.uint8(2), np.uint8(0))
    assert prepare_pair(b, b, labels, valid)[4] == 240
    small = np.zeros((20, 20), bool)
    small[: MIN_REFERENCE_PX // 20 - 1] = True  # 180 px
    with pytest.raises(LightingError, match="180 usable reference pixels"):
        prepare_pair(b, b, small, None)


# -- normalize_lighting on a synthetic pair ------------------------------------------------------

SHAPE = (120, 160)
GAIN = np.array([1.15, 0.95, 0.85])
SLOPE = 0.2  # relative shading exp(0.2 u), u in [-1, 1] across the image


@pytest.fixture(scope="module")
def pair():
    rng = np.random.default_rng(9)
    base = np.array([0.75, 0.55, 0.45])
    tex = np.stack([gaussian_filter(rng.normal(size=SHAPE), 3) for _ in range(3)], axis=-1)
    before = np.clip(base + 0.6 * tex, 0.05, 0.95).astype(np.float32)
    yy, xx = np.mgrid[: SHAPE[0], : SHAPE[1]]
    u, _ = norm_coords(xx, yy, SHAPE)
    lin = srgb_to_linear(before).astype(np.float64) * GAIN * np.exp(SLOPE * u)[..., None]
    treated = np.zeros(SHAPE, bool)
    treated[40:80, 60:100] = True
    lin[treated, 1] *= 0.85  # redder (less green) after the treatment
    after = linear_to_srgb(np.clip(lin, 0, 1).astype(np.float32))
    return before, after, ~treated, treated


@pytest.mark.parametrize("model", ["gain", "auto"])
def test_a_known_gain_and_shading_are_undone_on_the_reference(pair, model):
    before, after, ref, treated = pair
    res = normalize_lighting(before, after, reference_mask=ref, model=model, shading_degree=1)
    rep = res.report
    assert rep.method == "reference" and rep.reference == "reference_mask"
    assert rep.model == "gain" or model == "auto"
    assert rep.n_reference_px == pytest.approx(ref.sum(), rel=0.02)
    assert rep.delta_e_before["median"] > 3.0
    assert rep.delta_e_after["median"] < 0.3
    out = res.after
    de = delta_e_ciede2000(rgb_to_lab(before[ref]), rgb_to_lab(out[ref]))
    assert np.median(de) < 0.3
    if model == "gain":
        g = np.asarray(rep.params["gain"])
        # after -> before: the inverse gain, up to the shading's share of the mean level
        assert g / g.mean() == pytest.approx((1 / GAIN) / (1 / GAIN).mean(), rel=0.01)
    # the treatment stays: the treated patch is still less green after normalization
    lin_b = srgb_to_linear(before[treated]).astype(np.float64)
    lin_a = srgb_to_linear(out[treated]).astype(np.float64)
    ratio = np.median(lin_a[:, 1] / lin_b[:, 1]) / np.median(lin_a[:, 0] / lin_b[:, 0])
    assert ratio == pytest.approx(0.85, abs=0.02)
    assert not rep.warnings
    np.testing.assert_array_equal(res.before, before)  # the before photo is the reference


def test_the_correction_carried_to_another_frame(pair):
    # The after photo at half size, sampled through the map from its pixels to the fitting
    # frame's, is corrected as the half-size corrected photo; "none" leaves it as it is.
    before, after, ref, _ = pair
    res = normalize_lighting(before, after, reference_mask=ref, model="gain", shading_degree=1)
    out = res.after
    half = cv2.resize(after, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    to_fit = np.array([[2.0, 0.0, 0.5], [0.0, 2.0, 0.5], [0.0, 0.0, 1.0]])
    small = correct_image(res, half, to_fit)
    ref_small = cv2.resize(out, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    assert small.shape == half.shape and small.dtype == np.float32
    assert np.median(np.abs(small - ref_small)) < 2e-3
    assert np.abs(correct_image(res, after, np.eye(3)) - out).max() < 1e-3
    none = normalize_lighting(before, after, method="none", reference_mask=ref)
    kept = correct_image(none, after.astype(np.float64), np.eye(3))
    assert kept.dtype == np.float32 and np.array_equal(kept, after.astype(np.float32))


def test_method_none_and_the_residual_warning(pair):
    before, after, ref, _ = pair
    res = normalize_lighting(before, after, method="none", reference_mask=ref)
    rep = res.report
    assert rep.model is None and rep.params == {}
    assert rep.delta_e_before == rep.delta_e_after
    assert rep.delta_e_after["median"] > 3.0
    assert any("above the limit 3.00" in w for w in rep.warnings)
    assert np.array_equal(res.after, np.ascontiguousarray(after, np.float32))
    assert np.array_equal(res.before, before)
    quiet = normalize_lighting(
        before, after, method="none", reference_mask=ref, max_residual_de=50.0
    )
    assert not quiet.report.warnings
    d = rep.as_dict()
    assert d["method"] == "none" and isinstance(d["delta_e_after"]["median"], float)


def test_no_reference_mask_warns(pair):
    before, after, _, _ = pair
    res = normalize_lighting(before, after, model="gain", shading_degree=1)
    assert res.report.reference == "all valid pixels"
    assert any("no reference mask given" in w for w in res.report.warnings)


def test_unknown_method_and_model(pair):
    before, after, ref, _ = pair
    with pytest.raises(UsageError, match="unknown lighting method 'flash'; valid: card"):
        normalize_lighting(before, after, method="flash")
    with pytest.raises(UsageError, match="unknown lighting model 'gamma'; valid: auto, gain"):
        normalize_lighting(before, after, model="gamma")


# -- reference pixels: the uniform background ----------------------------------------------------


def _portrait():
    """A 200 x 256 'photo': a uniform grey wall, a textured face (an ellipse) and a textured
    shirt below the chin."""
    rng = np.random.default_rng(11)
    img = np.empty((200, 256, 3), np.float32)
    img[:] = (0.55, 0.55, 0.6)  # the wall: uniform
    yy, xx = np.mgrid[:200, :256]
    face = ((yy - 80) / 50.0) ** 2 + ((xx - 128) / 40.0) ** 2 <= 1
    tex = gaussian_filter(rng.normal(size=(200, 256)), 1.0)
    img[face] = (np.array([0.75, 0.55, 0.45]) * (1 + 0.3 * tex[face, None])).clip(0, 1)
    shirt = yy >= 140
    img[shirt] = (np.array([0.2, 0.3, 0.6]) * (1 + 0.5 * tex[shirt, None])).clip(0, 1)
    return img, face, shirt


def test_detect_background_keeps_the_far_uniform_wall_above_the_chin():
    img, face, shirt = _portrait()
    bg = detect_background(img, face)
    assert bg.dtype == bool and bg.shape == face.shape
    assert not (bg & face).any() and not (bg & shirt).any()
    yy, xx = np.mgrid[:200, :256]
    dist = np.hypot((yy - 80) / 50.0, (xx - 128) / 40.0)
    # far from the face (0.35 x sqrt(face area) = 22 px) and above the chin (row 130)
    assert bg[(yy <= 125) & (np.abs(xx - 128) > 100)].all()
    assert not bg[(dist < 1.2) & (yy < 130)].any()
    assert not bg[131:].any()
    assert not detect_background(img, np.zeros_like(face)).any()
    # a textured wall is not uniform: nothing kept
    rng = np.random.default_rng(12)
    noisy = img + rng.normal(0, 0.05, img.shape).astype(np.float32)
    assert not detect_background(np.clip(noisy, 0, 1), face).any()
    # a wall clipped to white is not kept either
    white = img.copy()
    white[~face & ~shirt] = 1.0
    assert not detect_background(white, face).any()


def test_reference_mask_is_the_face_without_the_treated_regions_plus_the_wall():
    img, face, _ = _portrait()
    cheek = np.zeros_like(face)
    cheek[70:100, 100:125] = True
    masks = {
        "face": face,
        "left_cheek": cheek & face,
        "forehead": face & (np.arange(200) < 60)[:, None],
    }
    ref = reference_mask(masks, treated=("left_cheek",), image=img)
    bg = detect_background(img, face)
    assert np.array_equal(ref, (face & ~masks["left_cheek"]) | bg)
    only = reference_mask(masks, treated=("left_cheek",), image=img, include_background=False)
    assert np.array_equal(only, face & ~masks["left_cheek"])
    fore = reference_mask(masks, reference=("forehead",))
    assert np.array_equal(fore, masks["forehead"])
    both = reference_mask(masks, reference=("forehead", "left_cheek"))
    assert np.array_equal(both, masks["forehead"] | masks["left_cheek"])
    with pytest.raises(UsageError, match="unknown region 'elbow'; valid: .*forehead"):
        reference_mask(masks, reference=("elbow",))
    with pytest.raises(UsageError, match="region 'chin' is not available; available: face, fo"):
        reference_mask(masks, reference=("chin",))
    with pytest.raises(UsageError, match="no region masks given"):
        reference_mask({}, reference=())
    # without a face mask the background keeps its distance from the union of the regions
    parts = {k: v for k, v in masks.items() if k != "face"}
    ref = reference_mask(parts, reference=("forehead",), image=img)
    union = parts["forehead"] | parts["left_cheek"]
    assert np.array_equal(ref, parts["forehead"] | detect_background(img, union))
    for one in parts.values():  # not the background of one of them
        assert not np.array_equal(detect_background(img, union), detect_background(img, one))


def test_pixels_of_the_corrected_photo_and_the_correction_in_its_own_frame(pair):
    before, after, ref, _ = pair
    res = normalize_lighting(before, after, reference_mask=ref, model="gain", shading_degree=1)
    ys, xs = np.array([3, 50, 119]), np.array([7, 80, 159])
    at = res.after_at(ys, xs)  # computed for these pixels only
    assert at == pytest.approx(res.after[ys, xs], abs=2e-4)
    assert res.after_at(ys, xs) == pytest.approx(res.after[ys, xs], abs=1e-7)  # once made
    identity = Alignment("t", np.eye(3), np.eye(3), 0.0, None, 1.0)
    own = correct_in_own_frame(res, after, identity)
    assert np.abs(own - correct_image(res, after, np.eye(3))).max() < 1e-6


def test_shading_common_to_both_photos_is_removed():
    # Both photos lit by the same left-to-right ramp (x 0.8 .. 1.25), the after photo also
    # 10 % darker: the absolute shading removes the ramp from both, the model the gain.
    rng = np.random.default_rng(13)
    tex = gaussian_filter(rng.normal(size=SHAPE), 2.0)
    base = np.clip(np.array([0.6, 0.45, 0.38]) * (1 + 0.1 * tex[..., None]), 0, 1)
    yy, xx = np.mgrid[: SHAPE[0], : SHAPE[1]]
    u, _ = norm_coords(xx, yy, SHAPE)
    ramp = np.exp(0.22 * u)[..., None]
    lin = srgb_to_linear(base.astype(np.float32)).astype(np.float64)
    before = linear_to_srgb((lin * ramp).astype(np.float32))
    after = linear_to_srgb((lin * ramp * 0.9).astype(np.float32))
    res = normalize_lighting(
        before, after, model="gain", shading_degree=1, absolute_shading_degree=1
    )
    flat = srgb_to_linear(res.before).astype(np.float64)
    left, right = flat[:, :40].mean(), flat[:, -40:].mean()
    assert right / left == pytest.approx(1.0, abs=0.02)  # 1.4 between these strips before
    assert srgb_to_linear(before)[:, -40:].mean() / srgb_to_linear(before)[:, :40].mean() > 1.3
    assert np.abs(res.after - res.before).max() < 0.01
    info = res.report.shading["absolute"]
    assert info["degree"] == 1 and info["estimated_on"] == "before"
    assert info["min"] == pytest.approx(np.exp(-0.22), rel=0.05)
    assert info["max"] == pytest.approx(np.exp(0.22), rel=0.05)
    assert res.absolute_field is not None and res.absolute_field.shape == SHAPE
    # the absolute field carried with the correction: to the same frame, and to some pixels
    # (computed for those pixels only, before the whole photo is made)
    lazy = normalize_lighting(
        before, after, model="gain", shading_degree=1, absolute_shading_degree=1
    )
    ys, xs = np.array([0, 60, 119]), np.array([0, 80, 159])
    at = lazy.after_at(ys, xs)
    assert at == pytest.approx(res.after[ys, xs], abs=2e-4)
    assert np.abs(correct_image(res, after, np.eye(3)) - res.after).max() < 2e-3
    assert np.abs(correct_image(res, after, np.eye(3)) - res.before).max() < 0.01
    # the fit's own figures
    params = res.report.params
    assert params["n_fit_px"] == res.report.n_reference_px == SHAPE[0] * SHAPE[1]
    assert 0.9 < params["inlier_fraction"] <= 1.0
