"""Randomized skin changes of known magnitude for the validation benchmark (``validation.py``).

Each generator takes an sRGB float32 image in [0, 1] (``(row, col, 3)``), the boolean mask of the
region to change and a :class:`numpy.random.Generator`, and returns the changed image with the
ground truth it was built to: location, shape and size are drawn at random inside the region; the
*magnitude* is the graded level the caller asks for.

* :func:`inject_redness_patch`: CIELAB a* raised over a soft irregular patch covering part or all
  of the region (L* and b* unchanged), scaled so that the **region-mean** Δa* is the requested
  level after gamut clipping (measured, then corrected);
* :func:`inject_smoothing`: a Gaussian of the requested sigma blended into an irregular patch of
  the region (:func:`mesovision.testing.synthetic.smooth_texture` on the patch);
* :func:`inject_spot_set`: round pigmented spots of the requested count, radius and contrast
  (:func:`mesovision.testing.synthetic.inject_spots`);
* :func:`inject_bruise_area`: an ellipse of random centre, orientation and elongation whose
  truth mask covers the requested share of the region, painted by
  :func:`mesovision.testing.synthetic.inject_bruise` (unchanged);
* :func:`recapture`: another photo of the same skin (pose, scale, shift, exposure, white
  balance, a lamp ramp; the caller saves it as a JPEG of the returned quality).

Work is done on a crop around the region (plus a margin), so the cost follows the region, not
the photo. Deterministic for a given generator state.
"""

from __future__ import annotations

import re

import cv2
import numpy as np

from mesovision.color import lab_to_rgb, rgb_to_lab
from mesovision.testing.synthetic import (
    apply_lighting,
    apply_similarity,
    inject_bruise,
    inject_spots,
    smooth_texture,
)

#: Feather of a redness or smoothing patch's edge, share of the interocular distance (IOD).
PATCH_FEATHER_IOD = 0.04
#: Spatial scale of the random field a patch's outline is cut from, share of the IOD.
PATCH_SCALE_IOD = 0.12
#: Most of a bruise ellipse's truth mask allowed outside its region.
BRUISE_MAX_OUTSIDE = 0.15
#: Bruise ellipses: ratio of the long to the short axis.
BRUISE_ASPECT = (1.0, 2.0)
#: Recapture ranges: rotation (deg), scale, shift (share of the width), gain, white balance per
#: channel, left-right ramp, JPEG quality (inclusive).
RECAPTURE = {
    "angle_deg": 3.0,
    "scale": 0.05,
    "shift": 0.02,
    "gain": 0.10,
    "white_balance": 0.04,
    "ramp": 0.10,
    "jpeg_quality": (80, 95),
}


def crop_box(mask: np.ndarray, margin_px: float) -> tuple[slice, slice]:
    """Rows and columns of ``mask``'s bounding box grown by ``margin_px`` (clipped to the image)."""
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        raise ValueError("empty region mask")
    m = int(np.ceil(margin_px))
    h, w = mask.shape
    return (
        slice(max(0, ys.min() - m), min(h, ys.max() + m + 1)),
        slice(max(0, xs.min() - m), min(w, xs.max() + m + 1)),
    )


def random_patch(
    mask: np.ndarray, rng: np.random.Generator, *, coverage: float, scale_px: float
) -> np.ndarray:
    """A random irregular blob inside ``mask`` covering ``coverage`` (0-1] of its pixels.

    A smooth random field (white noise blurred by ``scale_px``, unit variance) minus a bowl
    centred on a random pixel of the mask is cut at the quantile that keeps ``coverage`` of the
    mask: one main lobe with an irregular outline, sometimes a satellite.
    """
    if coverage >= 1.0:
        return mask.copy()
    ys, xs = np.nonzero(mask)
    noise = rng.standard_normal(mask.shape).astype(np.float32)
    field = cv2.GaussianBlur(noise, (0, 0), max(scale_px, 0.5))
    field /= max(float(field[mask].std()), 1e-6)
    i = int(rng.integers(len(xs)))
    yy, xx = np.mgrid[0 : mask.shape[0], 0 : mask.shape[1]].astype(np.float32)
    radius = np.sqrt(coverage * len(xs) / np.pi)
    bowl = ((xx - xs[i]) ** 2 + (yy - ys[i]) ** 2) / max(radius, 1.0) ** 2
    field = field - 1.5 * bowl
    thr = np.quantile(field[mask], 1.0 - coverage)
    return mask & (field >= thr)


def _feathered(patch: np.ndarray, region: np.ndarray, feather_px: float) -> np.ndarray:
    """``patch`` blurred by ``feather_px``, limited to ``region``, peak 1 (float32)."""
    w = patch.astype(np.float32)
    if feather_px > 0:
        w = cv2.GaussianBlur(w, (0, 0), feather_px)
    w *= region
    return w / max(float(w.max()), 1e-6)


def mean_delta_a(before: np.ndarray, after: np.ndarray, mask: np.ndarray) -> float:
    """Mean CIELAB a* of ``after`` minus ``before`` over ``mask``."""
    return float((rgb_to_lab(after)[..., 1] - rgb_to_lab(before)[..., 1])[mask].mean())


def inject_redness_patch(
    rgb: np.ndarray,
    region: np.ndarray,
    rng: np.random.Generator,
    *,
    delta_a: float,
    coverage: float,
    iod_px: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Raise a* over a soft random patch of ``region`` so that its **region-mean** Δa* is
    ``delta_a`` (after gamut clipping and the float CIELAB round trip, whose error is a few
    hundredths: the shift is measured and rescaled up to five times, the closest kept).

    Returns ``(image, weight)``: the weight (float32 in [0, 1], peak 1) of the a* shift, whose
    peak is ``delta_a`` / (the region-mean weight) before the correction.
    """
    feather = PATCH_FEATHER_IOD * iod_px
    rows, cols = crop_box(region, 3 * feather + 2)
    crop, reg = rgb[rows, cols], region[rows, cols]
    patch = random_patch(reg, rng, coverage=coverage, scale_px=PATCH_SCALE_IOD * iod_px)
    w = _feathered(patch, reg, feather)
    lab = rgb_to_lab(crop)
    peak = delta_a / max(float(w[reg].mean()), 1e-6)
    best = (np.inf, crop)
    for _ in range(6):
        shifted = lab.copy()
        shifted[..., 1] += peak * w
        out = np.where(w[..., None] > 0, lab_to_rgb(shifted), crop)  # no round trip elsewhere
        got = float((rgb_to_lab(out)[..., 1] - lab[..., 1])[reg].mean())
        if abs(got - delta_a) < best[0]:
            best = (abs(got - delta_a), out)
        if best[0] < 0.005 * max(delta_a, 1.0) or got <= 0:
            break
        peak *= delta_a / got
    out = best[1]
    img = rgb.copy()
    img[rows, cols] = out
    weight = np.zeros(region.shape, np.float32)
    weight[rows, cols] = w
    return img, weight


def inject_smoothing(
    rgb: np.ndarray,
    region: np.ndarray,
    rng: np.random.Generator,
    *,
    sigma_px: float,
    coverage: float,
    iod_px: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Smooth a random patch of ``region`` (``coverage`` of it) with a Gaussian of ``sigma_px``
    (:func:`~mesovision.testing.synthetic.smooth_texture`, feathered). Returns
    ``(image, patch)``."""
    feather = PATCH_FEATHER_IOD * iod_px
    rows, cols = crop_box(region, 4 * max(sigma_px, feather) + 2)
    reg = region[rows, cols]
    patch = random_patch(reg, rng, coverage=coverage, scale_px=PATCH_SCALE_IOD * iod_px)
    img = rgb.copy()
    img[rows, cols] = smooth_texture(rgb[rows, cols], patch, sigma_px=sigma_px, feather_px=feather)
    full = np.zeros(region.shape, bool)
    full[rows, cols] = patch
    return img, full


def inject_spot_set(
    rgb: np.ndarray,
    region: np.ndarray,
    rng: np.random.Generator,
    *,
    n: int,
    radius_px: float,
    delta_L: float,
    delta_b: float,
) -> tuple[np.ndarray, np.ndarray, int]:
    """``n`` round spots of ``radius_px`` and contrast ``delta_L`` (and ``delta_b``) at random
    places in ``region`` (:func:`~mesovision.testing.synthetic.inject_spots`). When they do not fit
    with the default gap of 3 radii, the gap shrinks to 2.2 radii, then fewer spots are placed.

    Returns ``(image, core_mask, n_placed)``.
    """
    rows, cols = crop_box(region, 2)
    crop, reg = rgb[rows, cols], region[rows, cols]
    seed = int(rng.integers(2**31))
    out, core, k = crop, np.zeros(reg.shape, bool), 0
    m, gaps = n, [3.0, 2.2]
    while m > 0 and not k:
        try:
            out, core, centres = inject_spots(
                crop,
                reg,
                n=m,
                radius_px=radius_px,
                delta_L=delta_L,
                delta_b=delta_b,
                seed=seed,
                min_gap_px=gaps[0] * radius_px,
            )
            k = len(centres)
        except ValueError as exc:
            if len(gaps) > 1:
                gaps.pop(0)
                continue
            # "only K of N spots fit": place the K that fit (one fewer if it says nothing).
            fit = re.match(r"only (\d+) of", str(exc))
            m = min(m - 1, int(fit.group(1))) if fit else m - 1
    img = rgb.copy()
    img[rows, cols] = out
    full = np.zeros(region.shape, bool)
    full[rows, cols] = core
    return img, full, k


def _ellipse(grid, centre, axes, angle_deg) -> np.ndarray:
    """Pixels of ``grid`` (``(xx, yy)``) with the ellipse radius ``r <= 0.75``: where
    :func:`inject_bruise`'s profile is at least 0.5, i.e. its truth mask."""
    xx, yy = grid
    t = np.radians(angle_deg)
    dx, dy = xx - centre[0], yy - centre[1]
    u = (dx * np.cos(t) + dy * np.sin(t)) / axes[0]
    v = (-dx * np.sin(t) + dy * np.cos(t)) / axes[1]
    return u * u + v * v <= 0.75**2


def inject_bruise_area(
    rgb: np.ndarray,
    region: np.ndarray,
    rng: np.random.Generator,
    *,
    area_pct: float,
    stage: str,
    tries: int = 12,
) -> tuple[np.ndarray, np.ndarray, float]:
    """A bruise (:func:`~mesovision.testing.synthetic.inject_bruise`, unchanged) whose truth
    mask covers ``area_pct`` % of ``region``: random orientation and elongation
    (:data:`BRUISE_ASPECT`), its centre a random pixel well inside the region, its size found by
    bisection. Of ``tries`` draws, the first with at most :data:`BRUISE_MAX_OUTSIDE` of the truth
    outside the region is kept (else the draw with the least outside).

    Returns ``(image, truth_mask, achieved_area_pct)`` (truth over the whole image; the area is
    the share of the region it covers).
    """
    area = float(region.sum())
    need = area_pct / 100.0 * area
    rho = np.sqrt(need / np.pi) / 0.75  # the ellipse radius of a circle of that truth area
    rows, cols = crop_box(region, 2.5 * rho + 2)
    reg = region[rows, cols]
    dist = cv2.distanceTransform(reg.astype(np.uint8), cv2.DIST_L2, 5)
    ys, xs = np.nonzero(dist >= min(0.6 * rho * 0.75, 0.8 * float(dist.max())))
    yy, xx = np.mgrid[0 : reg.shape[0], 0 : reg.shape[1]].astype(np.float32)
    inside = (xx[reg], yy[reg])  # the bisection only needs the region's pixels
    best = None
    for _ in range(tries):
        i = int(rng.integers(len(xs)))
        centre = (float(xs[i]), float(ys[i]))
        aspect = float(rng.uniform(*BRUISE_ASPECT))
        angle = float(rng.uniform(0.0, 180.0))
        lo, hi = 0.2 * rho, 4.0 * rho
        for _ in range(24):
            a = 0.5 * (lo + hi)
            got = _ellipse(inside, centre, (a, a / aspect), angle).sum()
            lo, hi = (a, hi) if got < need else (lo, a)
        axes = (hi, hi / aspect)
        truth = _ellipse((xx, yy), centre, axes, angle)
        outside = float((truth & ~reg).sum()) / max(float(truth.sum()), 1.0)
        if best is None or outside < best[0]:
            best = (outside, centre, axes, angle)
        if outside <= BRUISE_MAX_OUTSIDE:
            break
    _, centre, axes, angle = best
    out, truth = inject_bruise(rgb[rows, cols], centre, axes, angle_deg=angle, stage=stage)
    img = rgb.copy()
    img[rows, cols] = out
    full = np.zeros(region.shape, bool)
    full[rows, cols] = truth
    return img, full, 100.0 * float((full & region).sum()) / area


def recapture(rgb: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, int]:
    """Another capture of ``rgb`` (ranges :data:`RECAPTURE`): a random similarity about the
    centre, gain, white balance and a left-right lamp ramp. Returns ``(image, matrix,
    jpeg_quality)`` with ``matrix`` (3 x 3) mapping input pixels to output pixels."""
    r = RECAPTURE
    w = rgb.shape[1]
    out, m = apply_similarity(
        rgb,
        angle_deg=rng.uniform(-r["angle_deg"], r["angle_deg"]),
        scale=1.0 + rng.uniform(-r["scale"], r["scale"]),
        shift_xy=tuple(rng.uniform(-r["shift"], r["shift"], 2) * w),
    )
    out = apply_lighting(
        out,
        gain=1.0 + rng.uniform(-r["gain"], r["gain"]),
        white_balance=tuple(1.0 + rng.uniform(-r["white_balance"], r["white_balance"], 3)),
        ramp=rng.uniform(-r["ramp"], r["ramp"]),
    )
    q = int(rng.integers(r["jpeg_quality"][0], r["jpeg_quality"][1] + 1))
    return out, m, q
