"""Where the skin moved between two photos: dense optical flow, and its outward part along contours.

A landmark fit follows a local bulge only part of the way (the mesh keeps the face's shape), so
swelling is also measured on the pixels: :func:`skin_flow` is the dense optical flow (DIS,
Kroeger et al. 2016, OpenCV's ``DISOpticalFlow``) from the before photo, carried onto the after
photo's pixels by the alignment, to the after photo. Both are first reduced to their local
contrast (lightness minus its Gaussian mean, over its Gaussian standard deviation, at
``NORM_SIGMA_IOD`` x the interocular distance), so that a change of light between the captures
does not read as motion, and resampled so that the interocular distance spans ``FLOW_IOD_PX``
pixels (DIS works on 8-pixel patches: a face 50 px across would otherwise be a few patches
wide; a face 400 px across costs seconds and gains nothing at that scale): upsampled at most
``FLOW_MAX_UPSAMPLE`` times, reduced at most ``1 / FLOW_MIN_SCALE`` times.

:func:`outward_motion` reads the flow where it means swelling: along each contour sample's
outward normal, over a band across the contour (``band``, in interocular distances: inside the
face and a little outside for the outline, the skin below the lid for a lower eyelid), the
flow's outward component, its median weighted by the lightness gradient across the contour.
The face outline against the background is a strong edge, whose motion across it is well
determined even where the skin has no texture (there the flow is a guess, and weighs little). What
the stable landmarks (forehead, nose, brows, upper lids) moved is not swelling: the affine map
fitted to the flow at those points (the registration left over by the alignment, whose
refinement is affine and can be pulled by a bulge on one side) is taken off first; fitted
without the points at the image's edge, where DIS's flow is a guess (a tight crop puts the
forehead there), and without the points the first fit misses by far.
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = [
    "FLOW_BORDER_IOD",
    "FLOW_IOD_PX",
    "FLOW_MAX_UPSAMPLE",
    "FLOW_MIN_SCALE",
    "MIN_STABLE_POINTS",
    "NORM_SIGMA_IOD",
    "STABLE_MIN_RESIDUAL_PX",
    "STABLE_OUTLIER_K",
    "edge_gradient",
    "local_contrast",
    "outward_motion",
    "sample",
    "similarity",
    "skin_flow",
    "stable_motion",
    "weighted_median",
]

#: Resample both photos so that the interocular distance spans this many pixels (upsampled at
#: most by ``FLOW_MAX_UPSAMPLE``, reduced at most to ``FLOW_MIN_SCALE``).
FLOW_IOD_PX = 120.0
FLOW_MAX_UPSAMPLE = 3.0
FLOW_MIN_SCALE = 0.25
#: Gaussian scale of the local-contrast normalization, in interocular distances.
NORM_SIGMA_IOD = 0.15
#: Stable points closer to the image's border than this (in interocular distances) are left
#: out of the stable motion (:func:`stable_motion`): the flow there is a guess.
FLOW_BORDER_IOD = 0.15
#: Fewest stable points the stable motion is fitted on (else all of them are kept).
MIN_STABLE_POINTS = 6
#: Stable points whose flow misses the fitted map by more than this many robust standard
#: deviations of the misses (and by at least ``STABLE_MIN_RESIDUAL_PX``) are left out.
STABLE_OUTLIER_K = 3.0
STABLE_MIN_RESIDUAL_PX = 0.25


def local_contrast(lightness: np.ndarray, sigma_px: float) -> np.ndarray:
    """``(L - G*L) / sqrt(G*(L - G*L)^2)`` as 8-bit (128 + 40 x, clipped): the lightness
    relative to its neighbourhood, insensitive to a smooth change of light."""
    x = np.asarray(lightness, np.float32)
    mean = cv2.GaussianBlur(x, (0, 0), sigma_px)
    d = x - mean
    sd = np.sqrt(cv2.GaussianBlur(d * d, (0, 0), sigma_px)) + 1.0
    return np.clip(128.0 + 40.0 * d / sd, 0, 255).astype(np.uint8)


def skin_flow(before_l: np.ndarray, after_l: np.ndarray, iod_px: float) -> np.ndarray:
    """The dense flow ``(H, W, 2)`` (px, x then y) from ``before_l`` to ``after_l`` (lightness
    of the same size, the before photo carried onto the after photo's pixels): the skin at
    pixel ``p`` of the before photo is at ``p + flow[p]`` in the after photo."""
    h, w = after_l.shape
    up = float(np.clip(FLOW_IOD_PX / max(iod_px, 1e-6), FLOW_MIN_SCALE, FLOW_MAX_UPSAMPLE))
    size = (max(8, int(round(w * up))), max(8, int(round(h * up))))
    sigma = max(1.0, NORM_SIGMA_IOD * iod_px * up)
    pair = []
    for img in (before_l, after_l):
        x = np.asarray(img, np.float32)
        if up != 1.0:
            how = cv2.INTER_CUBIC if up > 1.0 else cv2.INTER_AREA
            x = cv2.resize(x, size, interpolation=how)
        pair.append(local_contrast(x, sigma))
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    flow = dis.calc(pair[0], pair[1], None)
    if up != 1.0:
        flow = cv2.resize(flow, (w, h), interpolation=cv2.INTER_LINEAR) / up
    return flow.astype(np.float32)


def similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The 2 x 3 similarity (rotation, scale, shift; no reflection) taking ``src`` onto
    ``dst`` in the least-squares sense (Umeyama 1991)."""
    ms, md = src.mean(axis=0), dst.mean(axis=0)
    a, b = src - ms, dst - md
    u, sv, vt = np.linalg.svd(b.T @ a / len(a))
    d = np.array([1.0, np.sign(np.linalg.det(u @ vt))])
    rot = u @ np.diag(d) @ vt
    scale = float((sv * d).sum() / max((a**2).sum() / len(a), 1e-12))
    return np.hstack([scale * rot, (md - scale * rot @ ms)[:, None]])


def sample(flow: np.ndarray, points: np.ndarray) -> np.ndarray:
    """The flow at ``points`` (n, 2) (bilinear; the border's value outside)."""
    pts = np.asarray(points, np.float32).reshape(-1, 1, 2)
    out = cv2.remap(
        flow, pts[..., 0], pts[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    return out.reshape(-1, 2).astype(np.float64)


def stable_motion(flow: np.ndarray, stable: np.ndarray, margin_px: float = 0.0) -> np.ndarray:
    """The affine map ``(2, 3)`` fitted to the flow at the ``stable`` points: ``stable ->
    stable + flow``; what the alignment left of the registration there (an affine map, as the
    alignment's refinement is: a bulge on one side can pull it).

    The flow is a guess at the image's edge (DIS's patches run off it), where a tight crop puts
    the forehead: points closer than ``margin_px`` to the border are left out (all are kept
    when fewer than :data:`MIN_STABLE_POINTS` would remain). The fit is least squares, then
    again without the points whose residual is beyond ``STABLE_OUTLIER_K`` robust standard
    deviations (at least :data:`STABLE_MIN_RESIDUAL_PX`): a few wrong flow vectors at the
    stable points would otherwise move the whole contour."""
    stable = np.asarray(stable, np.float64)
    h, w = flow.shape[:2]
    inside = (
        (stable[:, 0] >= margin_px)
        & (stable[:, 1] >= margin_px)
        & (stable[:, 0] <= w - 1 - margin_px)
        & (stable[:, 1] <= h - 1 - margin_px)
    )
    if inside.sum() >= MIN_STABLE_POINTS:
        stable = stable[inside]
    design = np.hstack([stable, np.ones((len(stable), 1))])
    target = stable + sample(flow, stable)
    m = np.linalg.lstsq(design, target, rcond=None)[0]
    res = np.linalg.norm(design @ m - target, axis=1)
    limit = max(STABLE_OUTLIER_K * 1.4826 * float(np.median(res)), STABLE_MIN_RESIDUAL_PX)
    keep = res <= limit
    if MIN_STABLE_POINTS <= keep.sum() < len(keep):
        m = np.linalg.lstsq(design[keep], target[keep], rcond=None)[0]
    return m.T


def outward_motion(
    flow: np.ndarray,
    points: np.ndarray,
    normals: np.ndarray,
    band: tuple[float, float],
    iod_px: float,
    stable: np.ndarray,
    *,
    steps: int = 9,
    edges: np.ndarray | None = None,
) -> np.ndarray:
    """Each contour sample's outward motion (px): over ``steps`` points from ``band[0]`` to
    ``band[1]`` interocular distances along its unit ``normals``, the flow's component along
    the normal, less the motion of the ``stable`` points' affine map (:func:`stable_motion`);
    their median, or with ``edges`` (the before photo's :func:`edge_gradient`) their median
    weighted by the gradient across the contour, so that the edge, whose motion across it is
    well determined, outweighs skin without texture."""
    t = np.linspace(band[0], band[1], steps) * iod_px
    pts = points[:, None, :] + t[None, :, None] * normals[:, None, :]
    flat = pts.reshape(-1, 2)
    m = stable_motion(flow, stable, FLOW_BORDER_IOD * iod_px)
    moved = sample(flow, flat) - (flat @ m[:, :2].T + m[:, 2] - flat)
    along = np.einsum("ijk,ik->ij", moved.reshape(pts.shape), normals)
    if edges is None:
        return np.median(along, axis=1)
    grad = sample(edges, flat).reshape(pts.shape)  # the edge across the normal weighs most
    weight = np.abs(np.einsum("ijk,ik->ij", grad, normals)) + 1e-6
    return weighted_median(along, weight)


def weighted_median(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Per row of ``values`` (n, k), the value at which the cumulative ``weights`` (sorted by
    value) reach half their total."""
    order = np.argsort(values, axis=1)
    v = np.take_along_axis(values, order, axis=1)
    cw = np.cumsum(np.take_along_axis(weights, order, axis=1), axis=1)
    k = (cw < 0.5 * cw[:, -1:]).sum(axis=1)
    return v[np.arange(len(v)), np.minimum(k, v.shape[1] - 1)]


def edge_gradient(lightness: np.ndarray, sigma_px: float = 1.0) -> np.ndarray:
    """The gradient ``(H, W, 2)`` (x then y) of the lightness smoothed by ``sigma_px``."""
    x = cv2.GaussianBlur(np.asarray(lightness, np.float32), (0, 0), sigma_px)
    gx = cv2.Sobel(x, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(x, cv2.CV_32F, 0, 1, ksize=3)
    return np.dstack([gx, gy])
