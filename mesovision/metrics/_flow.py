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

A head turned in depth between the photos moves the outline too, one cheek out and the other
in (about 1.5 % of the IOD per degree of yaw): a small turn moves a point by an affine map of
its position plus its depth times the turn (orthographic projection), so the stable points,
whose depths differ (the nose tip in front of the eyes), show it. :func:`turned_motion` fits the
stable map with the landmarks' depth and takes the turn off the contours as far as the flow
shows it clearly; :func:`turn_motion` is what it moved each contour sample, whose size over a
region is the change's pose term (:func:`turn_sd`). :func:`contour_maps` writes the samples'
values on their rays, whose means over a region are the swelling metrics.
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = [
    "contour_maps",
    "FLOW_BORDER_IOD",
    "FLOW_IOD_PX",
    "FLOW_MAX_UPSAMPLE",
    "FLOW_MIN_SCALE",
    "MIN_STABLE_POINTS",
    "NORM_SIGMA_IOD",
    "STABLE_MIN_RESIDUAL_PX",
    "STABLE_OUTLIER_K",
    "TURN_GAIN",
    "TURN_K",
    "TURN_SD_SHARE",
    "edge_gradient",
    "local_contrast",
    "outward_motion",
    "sample",
    "similarity",
    "skin_flow",
    "stable_motion",
    "stable_turn",
    "turned_motion",
    "turn_motion",
    "turn_sd",
    "turn_terms",
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
#: The share of the turn in depth fitted at the stable points that the contours' flow reads,
#: (x, y) (:func:`turned_motion`): on 61 development 3-D turn pairs (``benchmarks/swelling.py``)
#: the cheeks' outline moved by 1.37-1.52 % IOD per degree of yaw and the depth's prediction
#: by 1.84-1.89, 0.72-0.83 of it (the face's sides against a background that does not turn);
#: the chin's by 0.96 per degree of pitch, as predicted.
TURN_GAIN = (0.77, 1.0)
#: How many standard errors clear of 0 the turn must be to be taken off by half
#: (:func:`turned_motion`): on development pairs without a turn ``t^2`` had a median of 5 and
#: at most 21 (the turn's standard errors, from the flow's residuals at the stable points,
#: are about half its scatter: the flow's errors are correlated), on 3-D turns of 0.1-3.4 deg
#: 55 at the tenth percentile and a median of 370.
TURN_K = 6.0
#: The pose term of the contour metrics (:func:`turn_sd`): this share of what the turn in
#: depth moved a region's contour samples (taken off their shift) is its standard deviation.
#: The smallest share that leaves p < 0.05 on at most 5 % of the contour changes of the
#: development 3-D turn pairs (``python benchmarks/swelling.py pose``: 0.29 from 793 changes of
#: 119 pairs), rounded up.
TURN_SD_SHARE = 0.3


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


def _design(points: np.ndarray, depth: np.ndarray | None) -> np.ndarray:
    """The rows ``(x, y, 1)`` of an affine map, and ``z`` (the points' depth) when given."""
    cols = [points, np.ones((len(points), 1))]
    if depth is not None:
        cols.append(np.asarray(depth, np.float64).reshape(-1, 1))
    return np.hstack(cols)


def stable_motion(
    flow: np.ndarray, stable: np.ndarray, margin_px: float = 0.0, depth: np.ndarray | None = None
) -> np.ndarray:
    """The map fitted to the flow at the ``stable`` points: ``stable -> stable + flow``; what
    the alignment left of the registration there. Without ``depth`` an affine map ``(2, 3)``
    (the alignment's refinement is affine and a bulge on one side can pull it); with the
    points' ``depth`` (MediaPipe's z, in pixels) a ``(2, 4)`` map, the affine map and a motion
    proportional to the depth: a head turned in depth by a small yaw and pitch moves a point by
    an affine map of its image position plus its depth times the turn's sines (orthographic
    projection), so that the nose tip, nearer the camera than the eyes, moves against them
    (:func:`stable_turn`, which also gives the turn's standard errors)."""
    return stable_turn(flow, stable, margin_px, depth)[0]


def stable_turn(
    flow: np.ndarray, stable: np.ndarray, margin_px: float = 0.0, depth: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`stable_motion`'s map and the standard errors ``(2,)`` of its depth column (the
    turn's x and y parts; zeros without ``depth``), from the kept points' residuals
    (least squares: ``s^2 (X'X)^-1``, ``s^2`` each axis's residual variance).

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
        depth = None if depth is None else np.asarray(depth)[inside]
    design = _design(stable, depth)
    target = stable + sample(flow, stable)
    m = np.linalg.lstsq(design, target, rcond=None)[0]
    res = np.linalg.norm(design @ m - target, axis=1)
    limit = max(STABLE_OUTLIER_K * 1.4826 * float(np.median(res)), STABLE_MIN_RESIDUAL_PX)
    keep = res <= limit
    if MIN_STABLE_POINTS <= keep.sum() < len(keep):
        design, target = design[keep], target[keep]
        m = np.linalg.lstsq(design, target, rcond=None)[0]
    se = np.zeros(2)
    dof = len(design) - design.shape[1]
    if depth is not None and dof > 0:
        s2 = ((design @ m - target) ** 2).sum(axis=0) / dof
        se = np.sqrt(s2 * np.linalg.pinv(design.T @ design)[-1, -1])
    return m.T, se


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
    motion: np.ndarray | None = None,
    depth: np.ndarray | None = None,
) -> np.ndarray:
    """Each contour sample's outward motion (px): over ``steps`` points from ``band[0]`` to
    ``band[1]`` interocular distances along its unit ``normals``, the flow's component along
    the normal, less the motion of the ``stable`` points' map (``motion``, by default
    :func:`stable_motion` of ``stable``; a map with a turn in depth takes the samples'
    ``depth``, each band point its sample's); their median, or with ``edges`` (the before
    photo's :func:`edge_gradient`) their median weighted by the gradient across the contour, so
    that the edge, whose motion across it is well determined, outweighs skin without
    texture."""
    t = np.linspace(band[0], band[1], steps) * iod_px
    pts = points[:, None, :] + t[None, :, None] * normals[:, None, :]
    flat = pts.reshape(-1, 2)
    m = stable_motion(flow, stable, FLOW_BORDER_IOD * iod_px) if motion is None else motion
    z_flat = None if m.shape[1] == 3 else np.repeat(np.asarray(depth, np.float64), steps)
    moved = sample(flow, flat) - (_design(flat, z_flat) @ m.T - flat)
    along = np.einsum("ijk,ik->ij", moved.reshape(pts.shape), normals)
    if edges is None:
        return np.median(along, axis=1)
    grad = sample(edges, flat).reshape(pts.shape)  # the edge across the normal weighs most
    weight = np.abs(np.einsum("ijk,ik->ij", grad, normals)) + 1e-6
    return weighted_median(along, weight)


def turned_motion(
    flow: np.ndarray,
    stable: np.ndarray,
    margin_px: float,
    depth: np.ndarray,
    gain=TURN_GAIN,
    k: float = TURN_K,
) -> tuple[np.ndarray, np.ndarray, float]:
    """The stable points' map with the turn in depth taken in as far as the flow shows it:
    ``(motion, turn, w)``, ``turn`` the ``(2, 4)`` difference of the map with the turn
    (:func:`stable_turn`, its depth column scaled by ``gain``) from the affine map of
    :func:`stable_motion` (zeros in the depth column), ``w`` the share of it taken, and
    ``motion = affine + w x turn``.

    ``w = t^2 / (t^2 + k^2)``, ``t^2`` the sum over the turn's x and y parts of (part over its
    standard error)^2: on two captures without a turn the fitted turn is noise, and taking it
    off would move the outline by what the depth's extrapolation from the stable points to
    the outline makes of it; a turn many standard errors clear of 0 is taken off whole. The
    depth column is scaled by ``gain`` (x, y): what the outline's flow reads of the mesh's
    motion at the face's sides, against a background that does not turn, and at the chin."""
    affine = np.hstack([stable_motion(flow, stable, margin_px), np.zeros((2, 1))])
    m, se = stable_turn(flow, stable, margin_px, depth)
    t2 = float(np.sum((m[:, 3] / np.maximum(se, 1e-12)) ** 2))
    w = t2 / (t2 + k * k)
    m[:, 3] *= np.asarray(gain, np.float64)
    return affine + w * (m - affine), m - affine, w


def turn_motion(taken: np.ndarray, points: np.ndarray, depth, normals: np.ndarray) -> np.ndarray:
    """The outward part (px) of what the map ``taken`` (``(2, 4)``, :func:`turned_motion`)
    moves contour samples at ``points`` of ``depth`` with unit ``normals``:
    ``normal . taken (x, y, 1, z)``."""
    moved = _design(np.asarray(points, np.float64), np.asarray(depth, np.float64)) @ taken.T
    return np.einsum("ij,ij->i", moved, normals)


def turn_terms(maps, mask: np.ndarray) -> tuple[float, float]:
    """``(taken, left)`` over ``mask`` (% IOD): the mean size of what the turn in depth moved
    the region's contour samples and was taken off their shift (``contour_turn``), and of
    what it moved them and was not taken off, the flow showing it less clearly
    (``contour_turn_left``), over ``contour_n``; zeros without them."""
    if "contour_turn" not in maps.maps:
        return 0.0, 0.0
    n = maps.total("contour_n", mask)
    if not n > 0:
        return 0.0, 0.0
    return (
        100.0 * maps.total("contour_turn", mask) / n,
        100.0 * maps.total("contour_turn_left", mask) / n,
    )


def turn_sd(metric: str, maps, mask: np.ndarray) -> float:
    """The pose term of a contour metric over ``mask`` (:func:`mesovision.noise.pose_sd`):
    ``hypot(TURN_SD_SHARE x taken, left)`` of :func:`turn_terms` (what the turn taken off
    may leave, and the part of the turn not taken off, whole), in the metric's unit (in mm at
    the region's ratio of ``contour_sum_mm`` to ``contour_sum``); 0 for the other metrics."""
    if metric not in ("swelling.contour_pct_iod", "swelling.contour_mm"):
        return 0.0
    taken, left = turn_terms(maps, mask)
    sd = float(np.hypot(TURN_SD_SHARE * taken, left))
    if metric == "swelling.contour_mm" and sd > 0:
        r0, r1, c0, c1 = maps.window
        crop = mask[r0:r1, c0:c1]
        per_iod = np.abs(maps.maps["contour_sum"][crop]).sum(dtype=np.float64)
        per_mm = np.abs(maps.maps["contour_sum_mm"][crop]).sum(dtype=np.float64)
        return float(sd / 100.0 * per_mm / per_iod) if per_iod > 0 else 0.0
    return sd


def contour_maps(shape, points: np.ndarray, rays: np.ndarray, values: np.ndarray, iod_px):
    """``(sum, count)`` maps of ``shape``: each sample's value written on the pixels of its
    ray (from ``points`` along ``rays``, whose lengths are in interocular distances of
    ``iod_px``; each pixel once per ray); a region's mean value is ``sum / count`` over it.
    ``values`` ``(k, n)`` (several values per sample) gives ``k`` sum maps ``(k, *shape)``,
    the rays' pixels found once."""
    length = np.linalg.norm(rays, axis=1) * iod_px
    unit = rays / np.maximum(np.linalg.norm(rays, axis=1, keepdims=True), 1e-12)
    t = np.arange(0.5, max(float(length.max(initial=0.0)), 0.5), 0.5)
    xs = np.rint(points[:, 0:1] + t[None, :] * unit[:, 0:1]).astype(np.int64)
    ys = np.rint(points[:, 1:2] + t[None, :] * unit[:, 1:2]).astype(np.int64)
    sample = np.repeat(np.arange(len(points)), t.size)
    flat = (ys * shape[1] + xs).ravel()
    ok = (xs >= 0) & (ys >= 0) & (xs < shape[1]) & (ys < shape[0])
    ok = (ok & (t[None, :] <= length[:, None])).ravel()
    # Each (pixel, sample) once, sorted by pixel then sample: one integer key per pair.
    n = max(1, len(points))
    key = np.unique(flat[ok] * n + sample[ok])
    flat, sample = key // n, key % n
    size = shape[0] * shape[1]
    # (bincount adds in the order of the pairs, in float64)
    values = np.asarray(values, np.float64)
    total = np.stack(
        [np.bincount(flat, weights=v[sample], minlength=size) for v in np.atleast_2d(values)]
    ).reshape(*values.shape[:-1], *shape)
    count = np.bincount(flat, minlength=size).astype(np.float64)
    return total, count.reshape(shape)


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
