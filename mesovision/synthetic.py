"""Known-magnitude changes for samples, tests and the validation benchmark.

Every function takes and returns an sRGB float32 image in [0, 1] (see :mod:`mesovision.types`) and
is deterministic (random draws take a ``seed``). Changes are made where the physics puts them:
light in linear RGB, skin colour in CIELAB, geometry with OpenCV warps; each returns the ground
truth needed to score a detector against it.
"""

from __future__ import annotations

import cv2
import numpy as np

from .color import lab_to_rgb, linear_to_srgb, rgb_to_lab, srgb_to_linear
from .types import Landmarks

__all__ = [
    "apply_lighting",
    "apply_similarity",
    "similarity_matrix",
    "soft_mask",
    "inject_redness",
    "inject_spots",
    "smooth_texture",
    "inject_bruise",
    "BRUISE_STAGE_LAB_SHIFT",
    "turn_head",
    "TURN_BLEND_FACE_WIDTHS",
]


def apply_lighting(
    rgb: np.ndarray,
    *,
    gain: float = 1.0,
    white_balance: tuple[float, float, float] = (1.0, 1.0, 1.0),
    gamma: float = 1.0,
    ramp: float = 0.0,
) -> np.ndarray:
    """Simulate another lamp / exposure / white balance / tone curve.

    In linear RGB: ``lin' = (lin * gain * wb * r(x)) ** gamma`` where
    ``r(x) = 1 + ramp * (2x/W - 1)`` is a left-to-right illumination
    ramp (``ramp=0.2`` is +/-20 %). Result clipped to [0, 1].
    """
    lin = srgb_to_linear(rgb)
    w = rgb.shape[1]
    r = 1.0 + ramp * (2.0 * (np.arange(w, dtype=np.float32) + 0.5) / w - 1.0)
    lin = lin * (gain * np.asarray(white_balance, np.float32))[None, None, :] * r[None, :, None]
    lin = np.clip(lin, 0.0, 1.0) ** np.float32(gamma)
    return linear_to_srgb(lin)


def similarity_matrix(
    *, angle_deg: float = 0.0, scale: float = 1.0, shift_xy=(0.0, 0.0), center_xy=(0.0, 0.0)
) -> np.ndarray:
    """3x3 matrix: rotate by ``angle_deg`` (counter-clockwise on screen) and scale about
    ``center_xy``, then translate by ``shift_xy`` (pixels)."""
    m = cv2.getRotationMatrix2D((float(center_xy[0]), float(center_xy[1])), angle_deg, scale)
    m = np.vstack([m, [0.0, 0.0, 1.0]])
    m[0, 2] += shift_xy[0]
    m[1, 2] += shift_xy[1]
    return m


def apply_similarity(
    rgb: np.ndarray,
    *,
    angle_deg: float = 0.0,
    scale: float = 1.0,
    shift_xy=(0.0, 0.0),
    center_xy=None,
    out_size: tuple[int, int] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Warp ``rgb`` by a similarity transform (bicubic, edges replicated).

    Returns ``(warped, matrix)`` where ``matrix`` (3x3) maps input pixels ``(x, y)`` to output
    pixels: the ground truth an aligner must invert. ``center_xy`` defaults to the image centre.
    """
    h, w = rgb.shape[:2]
    if center_xy is None:
        center_xy = ((w - 1) / 2, (h - 1) / 2)
    m = similarity_matrix(angle_deg=angle_deg, scale=scale, shift_xy=shift_xy, center_xy=center_xy)
    ow, oh = out_size or (w, h)
    out = cv2.warpAffine(
        rgb, m[:2], (ow, oh), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE
    )
    return np.clip(out, 0.0, 1.0).astype(np.float32), m


def soft_mask(mask: np.ndarray, feather_px: float) -> np.ndarray:
    """A float32 weight in [0, 1]: ``mask`` blurred by a Gaussian of ``feather_px`` then
    re-limited to the mask (so the change never leaks outside it)."""
    m = mask.astype(np.float32)
    if feather_px > 0:
        m = cv2.GaussianBlur(m, (0, 0), feather_px) * m
        m /= max(float(m.max()), 1e-6)
    return m


def _shift_lab(rgb: np.ndarray, weight: np.ndarray, shift_lab) -> np.ndarray:
    lab = rgb_to_lab(rgb)
    lab = lab + weight[..., None] * np.asarray(shift_lab, np.float32)[None, None, :]
    return lab_to_rgb(lab)


def inject_redness(
    rgb: np.ndarray, mask: np.ndarray, *, delta_a: float, feather_px: float = 0.0
) -> np.ndarray:
    """Raise CIELAB a* by ``delta_a`` inside ``mask`` (feathered), L* and b* unchanged.

    The mean injected a* change inside the mask is ``delta_a * soft_mask(mask).mean()`` before
    gamut clipping.
    """
    return _shift_lab(rgb, soft_mask(mask, feather_px), (0.0, delta_a, 0.0))


def inject_spots(
    rgb: np.ndarray,
    mask: np.ndarray,
    *,
    n: int,
    radius_px: float,
    delta_L: float = -12.0,
    delta_b: float = 6.0,
    seed: int = 0,
    min_gap_px: float | None = None,
) -> tuple[np.ndarray, np.ndarray, list[tuple[float, float]]]:
    """Add ``n`` round pigmented spots (darker, browner) with centres inside ``mask``.

    Spots have a flat core of ``radius_px`` and a 1-px soft edge, do not overlap (centres at least
    ``min_gap_px`` apart, default ``3 * radius_px``) and lie fully inside the mask.
    Returns ``(image, spot_mask, centres_xy)``; ``spot_mask`` is the union of the cores (ground
    truth for count and area).
    """
    rng = np.random.default_rng(seed)
    gap = 3.0 * radius_px if min_gap_px is None else min_gap_px
    dist = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, 5)
    ys, xs = np.nonzero(dist > radius_px + 2)
    if len(xs) == 0:
        raise ValueError("mask too small for spots of this radius")
    centres: list[tuple[float, float]] = []
    for idx in rng.permutation(len(xs)):
        c = (float(xs[idx]), float(ys[idx]))
        if all(np.hypot(c[0] - p[0], c[1] - p[1]) >= gap for p in centres):
            centres.append(c)
            if len(centres) == n:
                break
    if len(centres) < n:
        raise ValueError(f"only {len(centres)} of {n} spots fit in the mask")
    yy, xx = np.mgrid[0 : rgb.shape[0], 0 : rgb.shape[1]]
    weight = np.zeros(rgb.shape[:2], np.float32)
    core = np.zeros(rgb.shape[:2], bool)
    for cx, cy in centres:
        d = np.hypot(xx - cx, yy - cy)
        weight = np.maximum(weight, np.clip(radius_px + 1.0 - d, 0.0, 1.0))
        core |= d <= radius_px
    return _shift_lab(rgb, weight, (delta_L, 0.0, delta_b)), core, centres


def smooth_texture(
    rgb: np.ndarray, mask: np.ndarray, *, sigma_px: float, feather_px: float = 2.0
) -> np.ndarray:
    """Blend a Gaussian-blurred copy (``sigma_px``) into ``mask``: finer texture disappears while
    the region's mean colour is kept."""
    blurred = cv2.GaussianBlur(rgb, (0, 0), sigma_px)
    w = soft_mask(mask, feather_px)[..., None]
    return (rgb * (1 - w) + blurred * w).astype(np.float32)


#: CIELAB shift at the centre of a synthetic bruise, per colour stage (from the bruise colour
#: literature: fresh bruises are dark red-purple, then blue-green, then yellow-brown).
BRUISE_STAGE_LAB_SHIFT: dict[str, tuple[float, float, float]] = {
    "red-purple": (-18.0, 14.0, -14.0),
    "blue-green": (-20.0, -6.0, -16.0),
    "yellow-brown": (-6.0, 3.0, 22.0),
}


def inject_bruise(
    rgb: np.ndarray,
    center_xy: tuple[float, float],
    axes_px: tuple[float, float],
    *,
    angle_deg: float = 0.0,
    stage: str = "blue-green",
    strength: float = 1.0,
    shift_lab: tuple[float, float, float] | None = None,
    irregularity: float = 0.0,
    seed: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Paint an elliptical bruise: a smooth (raised-cosine) profile of the stage's Lab shift.

    The profile is 1 inside half the ellipse radius and falls to 0 at the ellipse border. Returns
    ``(image, truth_mask)`` with ``truth_mask`` where the profile is >= 0.5 (ground truth for IoU).

    ``shift_lab`` (L*, a*, b* at the centre, before ``strength``) replaces the ``stage``'s shift
    of :data:`BRUISE_STAGE_LAB_SHIFT`. ``irregularity`` > 0 makes the outline irregular: the
    ellipse's radius is divided by ``1 + sum_k c_k cos(k theta + phi_k)`` over the harmonics
    ``k = 2..4``, with random ``c_k >= 0`` summing to ``irregularity`` and random phases
    (``seed``); the outline stays star-shaped around the centre for ``irregularity < 1``.
    """
    if shift_lab is None:
        if stage not in BRUISE_STAGE_LAB_SHIFT:
            valid = sorted(BRUISE_STAGE_LAB_SHIFT)
            raise ValueError(f"unknown bruise stage {stage!r}; valid: {valid}")
        shift_lab = BRUISE_STAGE_LAB_SHIFT[stage]
    if not 0.0 <= irregularity < 1.0:
        raise ValueError(f"irregularity must be in [0, 1), got {irregularity!r}")
    h, w = rgb.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    t = np.radians(angle_deg)
    dx, dy = xx - center_xy[0], yy - center_xy[1]
    u = (dx * np.cos(t) + dy * np.sin(t)) / axes_px[0]
    v = (-dx * np.sin(t) + dy * np.cos(t)) / axes_px[1]
    r = np.sqrt(u * u + v * v)
    if irregularity > 0:
        rng = np.random.default_rng(seed)
        c = rng.dirichlet(np.ones(3)) * irregularity
        phi = rng.uniform(0, 2 * np.pi, 3)
        theta = np.arctan2(v, u)
        wobble = sum(
            ck * np.cos(k * theta + pk) for k, ck, pk in zip((2, 3, 4), c, phi, strict=True)
        )
        r = r * (1.0 + wobble)
    prof = np.where(
        r <= 0.5, 1.0, np.where(r >= 1.0, 0.0, 0.5 + 0.5 * np.cos(np.pi * (r - 0.5) / 0.5))
    )
    prof = prof.astype(np.float32)
    shift = np.asarray(shift_lab, np.float32) * strength
    return _shift_lab(rgb, prof, shift), prof >= 0.5


#: Width of the band around the face mesh over which :func:`turn_head`'s displacement fades to
#: zero, as a share of the mesh's width.
TURN_BLEND_FACE_WIDTHS = 0.3


def _head_rotation(yaw_deg: float, pitch_deg: float) -> np.ndarray:
    """3 x 3 rotation in the image frame (x right, y down, z away from the camera): pitch about
    the x axis (chin up for ``pitch_deg > 0``), then yaw about the vertical axis (the face turns
    toward the image's right for ``yaw_deg > 0``), signs as :class:`~mesovision.types.HeadPose`."""
    y, p = np.radians(yaw_deg), np.radians(pitch_deg)
    ry = np.array([[np.cos(y), 0.0, -np.sin(y)], [0.0, 1.0, 0.0], [np.sin(y), 0.0, np.cos(y)]])
    rx = np.array([[1.0, 0.0, 0.0], [0.0, np.cos(p), np.sin(p)], [0.0, -np.sin(p), np.cos(p)]])
    return ry @ rx


def turn_head(
    rgb: np.ndarray, landmarks: Landmarks, *, yaw_deg: float = 0.0, pitch_deg: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Re-render ``rgb`` with the head turned in 3-D by ``yaw_deg`` and ``pitch_deg``.

    The face mesh (``landmarks.points`` and ``landmarks.z``, all in pixels, triangles of
    :func:`~mesovision.landmarks.mesh_triangles`) is a textured surface. Its 3-D points are rotated
    about their centroid, pitch first (about the image's horizontal axis, chin up for
    ``pitch_deg > 0``) then yaw (about the image's vertical axis, toward the image's right for
    ``yaw_deg > 0``), signs as :class:`~mesovision.types.HeadPose`, and projected orthographically
    (drop z). Each output pixel inside the projected mesh takes the texture of the nearest-drawn
    triangle (painter's order: triangles drawn far to near by mean depth, so the nose hides the
    cheek behind it) at the same barycentric position in the input. Outside the mesh the
    displacement of the nearest mesh pixel fades to zero over a band of
    :data:`TURN_BLEND_FACE_WIDTHS` of the face's width (raised cosine), so the face edge has no
    seam; beyond the band the input is unchanged. One bicubic resampling of the input.

    Returns ``(image, points)``: the float32 RGB image in [0, 1] and the true projected
    ``(478, 2)`` pixel positions of the landmarks (the rotated mesh).

    Limits: orthographic (no perspective change); the depth is MediaPipe's own estimate, so a
    detector that reads pose from the same kind of depth meets its own geometry; no new surface
    appears where the turn would reveal it (the side of the nose, the far cheek are stretched
    from what the photo shows); hair, ears, neck and background are not rotated (only stretched
    in the band around the face); lighting and shading do not change. Deterministic.
    """
    from .landmarks import mesh_triangles

    h, w = rgb.shape[:2]
    src = np.asarray(landmarks.points, np.float64)
    p3 = np.c_[src, np.asarray(landmarks.z, np.float64)]
    c = p3.mean(axis=0)
    q = (p3 - c) @ _head_rotation(yaw_deg, pitch_deg).T + c
    dst = q[:, :2]

    # Everything happens in a window around the turned mesh and its blending band.
    band = TURN_BLEND_FACE_WIDTHS * max(float(np.ptp(dst[:, 0])), 1.0)
    rx0, ry0 = np.clip(np.floor(dst.min(axis=0) - band - 2).astype(int), 0, [w, h])
    rx1, ry1 = np.clip(np.ceil(dst.max(axis=0) + band + 3).astype(int), 0, [w, h])
    out = np.array(rgb, dtype=np.float32)  # a copy
    if rx1 <= rx0 or ry1 <= ry0:
        return out, dst
    rw, rh = int(rx1 - rx0), int(ry1 - ry0)

    tris = np.asarray(mesh_triangles(), np.int64)
    d = dst[tris] - [rx0, ry0]  # (T, 3, 2) output triangles, window pixels
    # Barycentric coordinates from output pixels: l = inv([[x1 x2 x3], [y1 y2 y3], [1 1 1]]) @ p.
    m = np.concatenate([d.transpose(0, 2, 1), np.ones((len(tris), 1, 3))], axis=1)
    usable = np.abs(np.linalg.det(m)) > 1e-6  # a triangle seen exactly edge-on covers no pixel
    inv = np.zeros_like(m)
    inv[usable] = np.linalg.inv(m[usable])
    lo = np.clip(np.floor(d.min(axis=1)).astype(np.int64), 0, [rw, rh])
    hi = np.clip(np.ceil(d.max(axis=1)).astype(np.int64) + 1, 0, [rw, rh])
    # Painter's order: far (large z) first, so nearer triangles overwrite them. A pixel belongs to
    # a triangle when its centre lies inside it.
    order = np.argsort(-q[tris, 2].mean(axis=1), kind="stable")
    ids = np.full((rh, rw), -1, np.int32)
    lam = np.zeros((rh, rw, 3), np.float64)
    for t in order:
        (x0, y0), (x1, y1) = lo[t], hi[t]
        if not usable[t] or x1 <= x0 or y1 <= y0:
            continue
        gx = np.arange(x0, x1, dtype=np.float64)[None, :, None]
        gy = np.arange(y0, y1, dtype=np.float64)[:, None, None]
        bary = inv[t, :, 0] * gx + inv[t, :, 1] * gy + inv[t, :, 2]
        hit = (bary >= -1e-9).all(axis=2)
        ids[y0:y1, x0:x1][hit] = t
        lam[y0:y1, x0:x1][hit] = bary[hit]

    yy, xx = np.mgrid[0:rh, 0:rw].astype(np.float64)
    inside = ids >= 0
    s_xy = np.einsum("ni,nij->nj", lam[inside], src[tris[ids[inside]]])
    disp = np.zeros((rh, rw, 2), np.float64)
    disp[inside] = s_xy - np.stack([xx[inside] + rx0, yy[inside] + ry0], axis=1)

    if inside.any() and not inside.all():
        # Outside the mesh: the nearest mesh pixel's displacement, faded with the distance.
        dist, labels = cv2.distanceTransformWithLabels(
            (~inside).astype(np.uint8), cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_PIXEL
        )
        lut = np.zeros((int(labels.max()) + 1, 2), np.float64)
        lut[labels[inside]] = disp[inside]
        fade = np.where(dist < band, 0.5 + 0.5 * np.cos(np.pi * dist / band), 0.0)
        out_disp = lut[labels] * fade[..., None]
        disp[~inside] = out_disp[~inside]

    map_x = (xx + rx0 + disp[..., 0]).astype(np.float32)
    map_y = (yy + ry0 + disp[..., 1]).astype(np.float32)
    img = np.ascontiguousarray(rgb, dtype=np.float32)
    win = cv2.remap(img, map_x, map_y, cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
    out[ry0:ry1, rx0:rx1] = np.clip(win, 0.0, 1.0)
    return out, dst
