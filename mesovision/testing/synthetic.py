"""Known-magnitude 2-D changes of a photo for samples, tests and the validation benchmark.

Every function takes and returns an sRGB float32 image in [0, 1] (see :mod:`mesovision.types`) and
is deterministic (random draws take a ``seed``). Changes are made where the physics puts them:
light and melanin in linear RGB, skin colour in CIELAB, geometry with OpenCV warps; each returns
the ground truth needed to score a detector against it. Head turns in 3-D are in
:mod:`mesovision.testing.head_turn`.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..color import lab_to_rgb, linear_to_srgb, rgb_to_lab, srgb_to_linear

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
    "MELANIN_OD_RGB",
    "REFERENCE_SKIN_LAB",
    "absorbing_od",
    "add_melanin",
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


#: Melanin's optical density in the red, green and blue channels per unit at the red one: its
#: absorption falls as the wavelength to the power -3.48 (Jacques S. L., "Optical properties of
#: biological tissues: a review", Phys. Med. Biol. 58 (2013) R37-R61), taken at 650, 550 and
#: 450 nm.
MELANIN_OD_RGB = tuple(float((w / 650.0) ** -3.48) for w in (650.0, 550.0, 450.0))


def add_melanin(
    rgb: np.ndarray, mask: np.ndarray, optical_density: float, *, feather_px: float = 0.0
) -> np.ndarray:
    """Darker skin of the same face: inside ``mask`` (feathered by ``feather_px``) the linear
    RGB is multiplied by ``exp(-optical_density * weight * MELANIN_OD_RGB)``, as more melanin in
    the epidermis absorbs (``optical_density`` in natural-log units at the red channel). The
    skin's own variations (pores, shading, pigment) keep their ratios, as under a filter;
    outside the mask nothing moves."""
    od = np.float32(optical_density) * np.asarray(MELANIN_OD_RGB, np.float32)
    return _absorb(rgb, soft_mask(mask, feather_px), od)


def _absorb(rgb: np.ndarray, weight: np.ndarray, od_rgb: np.ndarray) -> np.ndarray:
    """``rgb`` with its linear RGB multiplied by ``exp(-weight * od_rgb)`` (an absorber of
    optical density ``od_rgb`` per channel, in the amount ``weight`` per pixel); the pixels of
    weight 0 are left as they are."""
    sel = weight > 0
    out = np.array(rgb, np.float32, copy=True)
    od = np.asarray(od_rgb, np.float32)[None, :]
    out[sel] = linear_to_srgb(srgb_to_linear(out[sel]) * np.exp(-weight[sel][:, None] * od))
    return out


#: The skin colour (CIELAB) on which :func:`absorbing_od` matches an absorption to a CIELAB
#: shift: the median skin of the 85 faces of ``benchmarks/bruise.py`` (``../shared/faces`` and
#: the samples, on ``compare``'s scoring frame).
REFERENCE_SKIN_LAB = (59.3, 16.8, 17.8)


def absorbing_od(shift_lab, skin_lab=REFERENCE_SKIN_LAB) -> tuple[float, float, float]:
    """The optical density per linear-RGB channel (natural log) that turns the colour
    ``skin_lab`` into ``skin_lab + shift_lab``: a pigment that absorbs, painted on other skin,
    changes it by what that skin lets it (less on darker skin, never out of gamut). Raises
    ``ValueError`` when the shifted colour lies outside the sRGB gamut."""
    ref = np.asarray(skin_lab, np.float32)[None, None]
    want = ref + np.asarray(shift_lab, np.float32)[None, None]
    target = lab_to_rgb(want)  # clipped to the gamut: the colour it reaches
    if np.abs(rgb_to_lab(target) - want).max() > 0.5 or target.min() <= 0.0:
        raise ValueError(f"{tuple(shift_lab)} from {tuple(skin_lab)} leaves the sRGB gamut")
    od = -np.log(srgb_to_linear(target) / srgb_to_linear(lab_to_rgb(ref)))
    return tuple(float(v) for v in od.ravel())


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
    absorbing: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Paint an elliptical bruise: a smooth (raised-cosine) profile of the stage's Lab shift.

    The profile is 1 inside half the ellipse radius and falls to 0 at the ellipse border. Returns
    ``(image, truth_mask)`` with ``truth_mask`` where the profile is >= 0.5 (ground truth for IoU).

    ``shift_lab`` (L*, a*, b* at the centre, before ``strength``) replaces the ``stage``'s shift
    of :data:`BRUISE_STAGE_LAB_SHIFT`. ``irregularity`` > 0 makes the outline irregular: the
    ellipse's radius is divided by ``1 + sum_k c_k cos(k theta + phi_k)`` over the harmonics
    ``k = 2..4``, with random ``c_k >= 0`` summing to ``irregularity`` and random phases
    (``seed``); the outline stays star-shaped around the centre for ``irregularity < 1``.
    ``absorbing``: painted as an absorbing pigment instead, in linear RGB, the optical density
    (times the profile and ``strength``) that gives the shift on :data:`REFERENCE_SKIN_LAB`
    (:func:`absorbing_od`): on other skin it changes the colour by what that skin lets it.
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
    if absorbing:
        od = np.asarray(absorbing_od(shift_lab), np.float32) * np.float32(strength)
        return _absorb(rgb, prof, od), prof >= 0.5
    shift = np.asarray(shift_lab, np.float32) * strength
    return _shift_lab(rgb, prof, shift), prof >= 0.5
