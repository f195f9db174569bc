"""The per-pixel maps' building blocks: the at-risk band of a thresholded map, the crop window,
region views, the skin baseline's bookkeeping, optical density and the Tsumura matrix.

Values come from analytic inputs: linear ramps (whose gradient is known exactly, and on which
the 3 x 3 Sobel is exact), uniform patches, and reflectances whose logarithm is known.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

import mesovision.metrics as M
from mesovision.errors import UsageError
from mesovision.metrics._maps import (
    CROP_MARGIN_PX,
    HAEMOGLOBIN_OD_VECTOR,
    MELANIN_OD_VECTOR,
    REFLECTANCE_FLOOR,
    DeferredMaps,
    crop_window,
    optical_density,
    tsumura_matrix,
)
from mesovision.metrics._shapes import nonzero_rc

# -- near_threshold ------------------------------------------------------------------------------


def _ramp(gx: float, gy: float, shape=(40, 50)) -> np.ndarray:
    yy, xx = np.mgrid[: shape[0], : shape[1]].astype(np.float64)
    return (gx * xx + gy * yy).astype(np.float32)


@pytest.mark.parametrize(
    ("gx", "gy", "threshold"),
    [(0.5, 0.0, 10.2), (2.0, 0.0, 21.0), (0.0, 1.5, 30.0), (1.2, -0.9, 5.0), (-0.7, 0.4, -6.3)],
)
def test_near_threshold_of_a_linear_ramp_is_the_band_below_the_threshold(gx, gy, threshold):
    v = _ramp(gx, gy)
    g = math.hypot(gx, gy) * M.FLIP_BAND_PX
    gap = threshold - v.astype(np.float64)
    expected = (gap >= 0) & (gap < g)
    got = M.near_threshold(v, threshold)
    inner = (slice(2, -2), slice(2, -2))  # the Sobel is exact on a ramp away from the border
    assert np.array_equal(got[inner], expected[inner])
    assert got[inner].any()
    assert not (got & (v > threshold)).any()  # a flagged pixel is not "at risk"


def test_near_threshold_on_a_ramp_is_one_column():
    v = _ramp(2.0, 0.0)
    got = M.near_threshold(v, 21.0)  # 0 <= 21 - 2 x < 2: x = 10 (v = 20) and nothing else
    assert np.flatnonzero(got.any(axis=0)).tolist() == [10]
    assert got[:, 10].all()
    at = M.near_threshold(v, 20.0)  # v == threshold exactly: not flagged, at risk
    assert np.flatnonzero(at.any(axis=0)).tolist() == [10]


def test_near_threshold_of_a_flat_field_and_of_a_bump_top():
    assert not M.near_threshold(np.full((20, 20), 3.0, np.float32), 3.5).any()
    assert not M.near_threshold(np.full((20, 20), 3.0, np.float32), 3.0).any()
    # A cone just under the threshold: its top pixel has no gradient of its own but its
    # neighbours' slope (1 per px) reaches it: at risk. Pixels two steps down are not.
    yy, xx = np.mgrid[:21, :21]
    cone = (10.0 - np.hypot(yy - 10, xx - 10)).astype(np.float32)
    got = M.near_threshold(cone, 10.3)
    assert got[10, 10]
    assert not got[10, 8] and not got[8, 10]


# -- crop window, region views -------------------------------------------------------------------


def test_crop_window_adds_the_margin_within_the_frame():
    shape = (200, 300)
    roi = np.zeros(shape, bool)
    roi[50:60, 100:140] = True
    m = CROP_MARGIN_PX
    assert crop_window(roi, shape) == (50 - m, 60 + m, 100 - m, 140 + m)
    roi2 = np.zeros(shape, bool)
    roi2[5:190, 280:300] = True
    assert crop_window(roi2, shape) == (0, 200, 280 - m, 300)
    assert crop_window(None, shape) == (0, 200, 0, 300)
    with pytest.raises(UsageError, match="roi_mask is empty"):
        crop_window(np.zeros(shape, bool), shape)


@pytest.fixture(scope="module")
def maps():
    rng = np.random.default_rng(3)
    rgb = np.clip(0.6 + 0.05 * rng.normal(size=(120, 160, 3)), 0, 1).astype(np.float32)
    roi = np.zeros((120, 160), bool)
    roi[50:80, 60:110] = True
    return M.prepare(rgb, roi_mask=roi), rgb


def test_region_view_box_origin_and_means(maps):
    mp, _ = maps
    r0, r1, c0, c1 = mp.window
    assert (r0, r1, c0, c1) == (50 - 32, 80 + 32, 60 - 32, 110 + 32)
    mask = np.zeros(mp.shape, bool)
    mask[55:60, 70:78] = True
    mask[62, 90] = True
    view = M.RegionView.from_mask(mp, mask)
    assert view.n == 41
    assert view.box == (slice(55 - r0, 63 - r0), slice(70 - c0, 91 - c0))
    assert view.mask.shape == (8, 21) and view.mask.sum() == 41
    assert view.origin_rc == (55, 70)
    full_a = mp.full_frame("a")
    assert view.mean("a") == pytest.approx(full_a[mask].astype(np.float64).mean(), rel=1e-6)
    assert np.array_equal(np.sort(view.values("L")), np.sort(mp.full_frame("L")[mask]))
    assert view.crop("L").shape == (8, 21)
    assert view.px_per_mm is None and view.baseline is mp.baseline
    view.set_mean("a", 7.5)
    assert view.mean("a") == 7.5


def test_region_view_of_an_empty_mask_and_outside_the_window(maps):
    mp, _ = maps
    empty = M.RegionView.from_mask(mp, np.zeros(mp.shape, bool))
    assert empty.n == 0 and empty.box == (slice(0, 0), slice(0, 0))
    assert math.isnan(empty.mean("L"))
    outside = np.zeros(mp.shape, bool)
    outside[55:60, 70:78] = True  # 40 inside
    outside[2, 3] = outside[119, 159] = True  # 2 outside the window
    with pytest.raises(UsageError, match=r"region mask has 2 of 42 pixels outside"):
        M.RegionView.from_mask(mp, outside)
    with pytest.raises(ValueError):
        M.RegionView.from_mask(mp, np.zeros((5, 5), bool))


def test_region_view_components(maps):
    mp, _ = maps
    mp.maps["test_cc"] = np.zeros_like(mp.maps["L"], bool)
    r0, _, c0, _ = mp.window
    blobs = mp.maps["test_cc"]
    blobs[60 - r0 : 63 - r0, 70 - c0 : 73 - c0] = True  # 9 px
    blobs[70 - r0, 80 - c0 : 84 - c0] = True  # 4 px
    blobs[71 - r0, 84 - c0] = True  # diagonal neighbour: 8-connected, 5 px
    mask = np.zeros(mp.shape, bool)
    mask[55:78, 65:100] = True
    view = M.RegionView.from_mask(mp, mask)
    labels, areas, ids = view.components("test_cc", min_area=5)
    assert sorted(areas.tolist()) == [5, 9]
    assert len(ids) == 2 and all((labels == i).sum() == a for i, a in zip(ids, areas, strict=True))
    _, areas6, _ = view.components("test_cc", min_area=6)
    assert areas6.tolist() == [9]
    del mp.maps["test_cc"]


def test_region_view_on_other_maps_keeps_the_means_of_the_same_arrays(maps):
    mp, _ = maps
    mask = np.zeros(mp.shape, bool)
    mask[55:60, 70:78] = True
    view = M.RegionView.from_mask(mp, mask)
    b = view.mean("b")
    view.set_mean("a", 123.0)  # a mean the view holds (taking it again would give another)
    swapped = dataclasses.replace(mp, maps=dict(mp.maps, b=mp.maps["b"] + np.float32(1.0)))
    moved = view.on_maps(swapped)
    assert moved.image is swapped and moved.box == view.box and moved.n == view.n
    assert moved.mean("a") == 123.0  # the same array: its mean kept
    assert moved.mean("b") == pytest.approx(b + 1.0, rel=1e-6)  # a new array: taken again


def test_nonzero_rc_is_numpy_nonzero():
    rng = np.random.default_rng(3)
    for shape in [(0, 4), (4, 0), (1, 1), (37, 91)]:
        for share in (0.0, 0.01, 0.5, 1.0):
            a = rng.random(shape) < share
            for x in (a, a.astype(np.int32) * 7, a[:, ::2]):
                (gr, gc), (wr, wc) = nonzero_rc(x), np.nonzero(x)
                assert np.array_equal(gr, wr) and np.array_equal(gc, wc)
                assert gr.dtype == wr.dtype and gc.dtype == wc.dtype


def test_full_frame_and_deferred_maps(maps):
    mp, _ = maps
    r0, r1, c0, c1 = mp.window
    ff = mp.full_frame("L", fill=-1.0)
    assert ff.shape == mp.shape and ff.dtype == np.float32
    assert (ff[:r0] == -1).all() and (ff[:, c1:] == -1).all()
    assert np.array_equal(ff[r0:r1, c0:c1], mp.maps["L"])
    assert np.isnan(mp.full_frame("L")[0, 0])
    calls = []
    d = DeferredMaps()
    d.defer("x", lambda k: calls.append(k) or k * 2, 21)
    assert d["x"] == 42 and d["x"] == 42 and calls == [21]
    with pytest.raises(KeyError):
        d["missing"]


def test_prepare_refuses_bad_scales_and_masks(maps):
    _, rgb = maps
    for bad in (0.0, -2.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="px_per_mm must be a positive number"):
            M.prepare(rgb, px_per_mm=bad)
    with pytest.raises(ValueError):
        M.prepare(rgb, roi_mask=np.ones((3, 3), bool))
    whole = M.prepare(rgb[:40, :50], px_per_mm=2)
    assert whole.window == (0, 40, 0, 50) and whole.px_per_mm == 2.0
    assert isinstance(whole.px_per_mm, float)


# -- baseline, optical density, Tsumura ----------------------------------------------------------


def test_skin_baseline_of_a_uniform_patch_and_its_margins():
    from skimage.color import rgb2lab

    rgb = np.empty((10, 12, 3), np.float32)
    rgb[:] = (0.7, 0.5, 0.4)
    rgb[:2] = (0.1, 0.9, 0.1)  # outside the mask
    mask = np.zeros((10, 12), bool)
    mask[2:] = True
    base = M.SkinBaseline.from_image(rgb, mask)
    lab = rgb2lab(np.array([[[0.7, 0.5, 0.4]]]))[0, 0]
    assert base.lab_median == pytest.approx(tuple(lab), abs=0.3)  # OpenCV's float Lab
    assert base.lab_mad == pytest.approx((0.0, 0.0, 0.0), abs=1e-4)
    assert base.n_pixels == 96
    assert base.margin(1, k=3.0, minimum=2.5) == 2.5
    d = base.as_dict()
    assert d["n_pixels"] == 96 and d["lab_median"] == list(base.lab_median)
    assert d.keys() == {
        "lab_median",
        "lab_mad",
        "erythema_index_median",
        "erythema_index_mad",
        "melanin_index_median",
        "melanin_index_mad",
        "melanin_density_median",
        "haemoglobin_density_median",
        "n_pixels",
    }
    assert all(d[k] == getattr(base, k) for k in d if k not in ("lab_median", "lab_mad"))
    assert d["lab_mad"] == list(base.lab_mad)
    whole = M.SkinBaseline.from_image(rgb)
    assert whole.n_pixels == 120
    with pytest.raises(ValueError, match="empty mask"):
        M.SkinBaseline.from_image(rgb, np.zeros((10, 12), bool))


def test_skin_baseline_margin_scales_the_mad():
    base = M.SkinBaseline(
        lab_median=(60.0, 10.0, 15.0),
        lab_mad=(2.0, 1.0, 0.5),
        erythema_index_median=0.0,
        erythema_index_mad=0.0,
        melanin_index_median=0.0,
        melanin_index_mad=0.0,
        melanin_density_median=0.0,
        haemoglobin_density_median=0.0,
        n_pixels=1,
    )
    assert base.margin(0, k=2.0, minimum=1.0) == pytest.approx(2.0 * 1.4826 * 2.0)
    assert base.margin(2, k=2.0, minimum=1.0) == pytest.approx(1.4826)
    assert base.margin(2, k=1.0, minimum=1.0) == 1.0


def test_skin_baseline_medians_and_mads_of_two_reflectances():
    # Half the pixels with red reflectance 0.3, half with 0.5 (green 0.2, blue 0.15): the
    # median melanin index 100 (-log10 r) is the mean of the two, its MAD half their gap; the
    # erythema index 100 (log10 r - log10 g) likewise.
    def encode(lin):
        lin = np.asarray(lin, np.float64)
        return np.where(lin <= 0.0031308, 12.92 * lin, 1.055 * lin ** (1 / 2.4) - 0.055)

    lin = np.empty((10, 10, 3))
    lin[:] = (0.3, 0.2, 0.15)
    lin[5:, :, 0] = 0.5
    base = M.SkinBaseline.from_image(encode(lin).astype(np.float32))
    mi = 100 * -np.log10([0.3, 0.5])
    ei = 100 * (np.log10([0.3, 0.5]) - np.log10(0.2))
    assert base.melanin_index_median == pytest.approx(mi.mean(), abs=0.05)
    assert base.melanin_index_mad == pytest.approx(abs(mi[0] - mi[1]) / 2, abs=0.05)
    assert base.erythema_index_median == pytest.approx(ei.mean(), abs=0.05)
    assert base.erythema_index_mad == pytest.approx(abs(ei[0] - ei[1]) / 2, abs=0.05)


def test_optical_density_of_known_reflectances():
    def encode(lin):
        lin = np.asarray(lin, np.float64)
        return np.where(lin <= 0.0031308, 12.92 * lin, 1.055 * lin ** (1 / 2.4) - 0.055)

    lin = np.array([[[0.5, 0.1, 0.01], [1.0, 0.25, 0.0]]])
    od = optical_density(encode(lin).astype(np.float32))
    expected = -np.log10(np.maximum(lin, REFLECTANCE_FLOOR))
    assert od.dtype == np.float32
    assert od == pytest.approx(expected, abs=2e-4)
    assert od[0, 1, 2] == pytest.approx(3.0, abs=1e-5)  # black: the floor
    assert optical_density(np.full((1, 1, 3), 1.7, np.float32)) == pytest.approx(0.0, abs=1e-6)


def test_tsumura_matrix_inverts_the_published_vectors():
    t = tsumura_matrix()
    basis = np.array([MELANIN_OD_VECTOR, HAEMOGLOBIN_OD_VECTOR, (1.0, 1.0, 1.0)]).T
    assert t.dtype == np.float32
    assert t @ basis == pytest.approx(np.eye(3), abs=1e-5)
    mix = 0.3 * np.array(MELANIN_OD_VECTOR) + 0.2 * np.array(HAEMOGLOBIN_OD_VECTOR) + 0.1
    assert t @ mix == pytest.approx([0.3, 0.2, 0.1], abs=1e-5)
