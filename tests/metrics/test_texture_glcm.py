"""The texture family's GLCM statistics on small and odd-shaped regions, and its Hessian.

``texture.glcm_contrast`` and ``texture.glcm_homogeneity`` are checked here against a plain
pixel-pair loop (an independent implementation of the documented formula: pairs at distance 1
in the directions 0, 45, 90 and 135 degrees with both pixels in the region, each direction's
mean, averaged over the directions that have a pair) on regions of one row, one column, a few
pixels and random shapes, where the sliced implementation's guards matter. The Hessian that the
ridge and pore maps use is checked on quadratic surfaces, whose Hessian is known exactly.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

import mesovision.metrics as M
from mesovision.metrics import texture

#: The four GLCM directions as (row, column) steps: 0, 45, 90 and 135 degrees.
DIRECTIONS = ((0, 1), (-1, 1), (1, 0), (1, 1))


def _view(q: np.ndarray, mask: np.ndarray) -> M.RegionView:
    """A view of ``mask`` on maps holding only the quantized L* ``q`` (window = whole frame)."""
    shape = q.shape
    rgb = np.full((4, 4, 3), 0.6, np.float32)
    maps = M.ImageMaps(
        shape=shape,
        window=(0, shape[0], 0, shape[1]),
        maps={"glcm_q": q.astype(np.int16)},
        baseline=M.SkinBaseline.from_image(rgb),
    )
    return M.RegionView.from_mask(maps, mask)


def _reference(q: np.ndarray, mask: np.ndarray) -> tuple[float, float]:
    """Contrast and homogeneity by a loop over every pixel pair (both orders are the same
    squared difference, so each unordered pair is counted once)."""
    h, w = q.shape
    con, hom = [], []
    for dr, dc in DIRECTIONS:
        d2 = []
        for r in range(h):
            for c in range(w):
                r2, c2 = r + dr, c + dc
                if 0 <= r2 < h and 0 <= c2 < w and mask[r, c] and mask[r2, c2]:
                    d2.append(float(q[r2, c2] - q[r, c]) ** 2)
        if d2:
            d2 = np.asarray(d2)
            con.append(d2.mean())
            hom.append((1.0 / (1.0 + d2)).mean())
    return (float(np.mean(con)), float(np.mean(hom))) if con else (np.nan, np.nan)


def _glcm(q, mask):
    view = _view(q, mask)
    contrast = M.get_metric("texture.glcm_contrast").func(view)
    homogeneity = M.get_metric("texture.glcm_homogeneity").func(view)
    return contrast, homogeneity


def test_glcm_of_one_row_uses_the_horizontal_pairs_only():
    q = np.zeros((5, 8), np.int16)
    q[2] = [0, 3, 3, 1, 5, 5, 5, 2]
    mask = np.zeros(q.shape, bool)
    mask[2] = True
    d2 = np.diff(q[2].astype(float)) ** 2  # 9, 0, 4, 16, 0, 0, 9
    contrast, homogeneity = _glcm(q, mask)
    assert contrast == pytest.approx(d2.mean(), rel=1e-12)  # 38 / 7
    assert homogeneity == pytest.approx((1 / (1 + d2)).mean(), rel=1e-12)


def test_glcm_of_one_column_uses_the_vertical_pairs_only():
    q = np.zeros((6, 3), np.int16)
    q[:, 1] = [4, 0, 0, 2, 7, 7]
    mask = np.zeros(q.shape, bool)
    mask[:, 1] = True
    d2 = np.diff(q[:, 1].astype(float)) ** 2  # 16, 0, 4, 25, 0
    contrast, homogeneity = _glcm(q, mask)
    assert contrast == pytest.approx(d2.mean(), rel=1e-12)
    assert homogeneity == pytest.approx((1 / (1 + d2)).mean(), rel=1e-12)


def test_glcm_of_a_diagonal_pair():
    # Two pixels touching by a corner: only the 135-degree direction (down and right) has a
    # pair; the other direction's diagonal has none.
    q = np.zeros((3, 3), np.int16)
    q[0, 0], q[1, 1] = 1, 4
    mask = np.zeros(q.shape, bool)
    mask[0, 0] = mask[1, 1] = True
    assert _glcm(q, mask) == (pytest.approx(9.0), pytest.approx(0.1))
    # mirrored: the 45-degree direction (up and right)
    q2, m2 = np.fliplr(q).copy(), np.fliplr(mask).copy()
    assert _glcm(q2, m2) == (pytest.approx(9.0), pytest.approx(0.1))


@pytest.mark.parametrize("where", [(0, 0), (2, 4), (4, 7)])
def test_glcm_of_a_single_pixel_is_nan(where):
    q = np.arange(40, dtype=np.int16).reshape(5, 8)
    mask = np.zeros(q.shape, bool)
    mask[where] = True
    contrast, homogeneity = _glcm(q, mask)
    assert np.isnan(contrast) and np.isnan(homogeneity)


def test_glcm_of_pixels_without_any_neighbour_is_nan():
    q = np.arange(36, dtype=np.int16).reshape(6, 6)
    mask = np.zeros(q.shape, bool)
    mask[0, 0] = mask[0, 2] = mask[2, 0] = mask[4, 4] = True  # two steps apart
    assert all(np.isnan(v) for v in _glcm(q, mask))


@pytest.mark.parametrize("seed", range(6))
def test_glcm_matches_the_pair_loop_on_random_regions(seed):
    rng = np.random.default_rng(seed)
    h, w = rng.integers(1, 9, size=2)
    q = rng.integers(0, 12, size=(h, w)).astype(np.int16)
    mask = rng.random((h, w)) < 0.6
    if not mask.any():
        mask[0, 0] = True
    ref = _reference(q, mask)
    got = _glcm(q, mask)
    for g, r in zip(got, ref, strict=True):
        if np.isnan(r):
            assert np.isnan(g)
        else:
            assert g == pytest.approx(r, rel=1e-12)


def test_glcm_is_memoized_per_view():
    q = np.zeros((4, 4), np.int16)
    q[:, 2:] = 3
    view = _view(q, np.ones(q.shape, bool))
    first = M.get_metric("texture.glcm_contrast").func(view)
    view.image.maps["glcm_q"][:] = 0  # the cached statistics are kept for this view
    assert M.get_metric("texture.glcm_contrast").func(view) == first
    assert first == pytest.approx(
        _reference(np.where(np.arange(4) >= 2, 3, 0)[None].repeat(4, 0), np.ones((4, 4), bool))[0]
    )


# -- the Hessian of the ridge and pore maps ------------------------------------------------------


@pytest.mark.parametrize("sigma", [1.0, 2.0, 3.0])
@pytest.mark.parametrize(("axx", "ayy", "axy"), [(0.3, -0.1, 0.0), (-0.2, -0.2, 0.15)])
def test_hessian_eigenvalues_of_a_quadratic_surface(sigma, axx, ayy, axy):
    # f = axx x^2 / 2 + ayy y^2 / 2 + axy x y has the constant Hessian [[axx, axy], [axy, ayy]]
    # (Gaussian smoothing adds only a constant to a quadratic, and the Sobel second differences
    # are exact on it). The eigenvalues, times sigma^2, are read away from the border.
    n = 61
    y, x = np.mgrid[:n, :n].astype(np.float64) - n // 2
    f = (axx * x * x / 2 + ayy * y * y / 2 + axy * x * y).astype(np.float32)
    big, small = texture._hessian_eigen(f, sigma)
    hess = np.array([[axx, axy], [axy, ayy]])
    lo, hi = np.linalg.eigvalsh(hess)
    inner = (slice(20, 41), slice(20, 41))
    assert big[inner] == pytest.approx(hi * sigma**2, abs=2e-3 * sigma**2)
    assert small[inner] == pytest.approx(lo * sigma**2, abs=2e-3 * sigma**2)


def test_hessian_border_is_reflected():
    # A ramp in x has no curvature; with reflected borders the border columns see a fold (a
    # kink at the reflection) and nothing else: the response there is that of a mirrored ramp.
    f = np.tile(np.arange(40, dtype=np.float32), (40, 1))
    big, small = texture._hessian_eigen(f, 1.0)
    assert np.abs(big[:, 10:30]).max() < 1e-4 and np.abs(small[:, 10:30]).max() < 1e-4
    mirrored = cv2.copyMakeBorder(f, 0, 0, 20, 20, cv2.BORDER_REFLECT)
    mb, ms = texture._hessian_eigen(mirrored, 1.0)
    # the mirrored image's own border lies 20 px away; at the original border its values are
    # those of an extended picture, which the reflected border of f reproduces
    assert big[:, :3] == pytest.approx(mb[:, 20:23], abs=1e-3)
    assert small[:, -3:] == pytest.approx(ms[:, -23:-20], abs=1e-3)
    # the same down the rows (the second derivative across rows has its own border)
    bt, st = texture._hessian_eigen(f.T.copy(), 1.0)
    mbt, mst = texture._hessian_eigen(mirrored.T.copy(), 1.0)
    assert bt[:3] == pytest.approx(mbt[20:23], abs=1e-3)
    assert st[-3:] == pytest.approx(mst[-23:-20], abs=1e-3)
