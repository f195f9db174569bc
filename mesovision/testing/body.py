"""Rendered body photos (thigh, buttock, abdomen) with known cellulite dimples and stretch marks.

A :class:`BodyField` is the skin itself, in millimetres: its relief (a height map: Gaussian pits
of known depth and radius, the dimples, and shallow streaks, the stretch marks), its colour (a
skin tone, mottling, fine pores, freckles, and each streak's colour stage: red-purple recent or
white mature) and a fine micro-relief. Rendering (:func:`render`) samples the field through a
camera: ``px_per_mm``, a small rotation and shift (so that a before and an after photo need
aligning); shades it with a lamp of known direction (Lambertian shading of the height map's
normals, plus the fall-off of a lamp at a finite distance: the skin nearer the lamp is
brighter); then blur, exposure and sensor noise.

The truth of every render (:class:`BodyTruth`) is computed from the field in the rendered
frame, never from the image:

* ``dimple_count``: dimples whose centre lies in the frame;
* ``dimple_area_mm2`` / ``dimple_share_pct``: the area (and share of the frame) where a dimple
  is at least half its own depth deep (the disk of radius ``sigma * sqrt(2 ln 2)`` around each
  centre, their union);
* ``streak_count``: streaks whose midpoint lies in the frame; ``streak_length_mm``: their summed
  length end to end (a streak is a segment with round caps: its length plus its width);
  ``streak_area_mm2``: the area a streak covers by half or more; ``streak_red_share_pct``: the
  share of that area in red-purple streaks;
* ``light_azimuth_deg``: the direction toward the lamp in the image, counter-clockwise on
  screen from the image's +x axis (0 the lamp on the right, 90 above).

:func:`body_field` draws a field; :func:`treat` makes a treated after field (dimples removed
or made shallower), :func:`add_dimples` a worse one; re-rendering the same field under another
light, blur, noise and camera placement is an unchanged after photo. Every random draw takes a
seed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

from ..color import lab_to_rgb, linear_to_srgb, rgb_to_lab, srgb_to_linear

__all__ = [
    "HALF_DEPTH_RADIUS",
    "SKIN_TONES",
    "STREAK_LAB_SHIFT",
    "BodyField",
    "BodyRender",
    "BodyTruth",
    "add_dimples",
    "body_field",
    "render",
    "treat",
]

#: sRGB colour of the skin: light, medium and dark.
SKIN_TONES = {"light": (0.87, 0.71, 0.62), "medium": (0.72, 0.53, 0.42), "dark": (0.45, 0.31, 0.24)}
#: CIELAB shift (L*, a*, b*) of a streak's full colour over the skin, per stage.
STREAK_LAB_SHIFT = {"red": (-7.0, 11.0, -5.0), "white": (9.0, -6.0, -4.0)}
#: A dimple of sigma ``s`` is at least half its depth deep within ``HALF_DEPTH_RADIUS * s``.
HALF_DEPTH_RADIUS = float(np.sqrt(2.0 * np.log(2.0)))
#: Texture sampling of the field (px per mm).
_TEX_PPM = 10.0


@dataclass(frozen=True)
class BodyField:
    """A patch of skin ``size_mm`` square (x right, y down, mm).

    Dimples: centres ``dimple_xy`` ((n, 2) mm), ``dimple_sigma_mm`` and ``dimple_depth_mm``
    (n,). Streaks: ends ``streak_p0`` / ``streak_p1`` ((m, 2) mm), ``streak_width_mm`` (m,),
    ``streak_red`` (m,) bool (red-purple recent when true, white mature else) and a depth
    ``streak_depth_mm``. ``tone`` names :data:`SKIN_TONES`; ``albedo`` and ``micro`` are the
    mottling (multiplicative) and micro-relief (mm) sampled at 10 px per mm.
    """

    size_mm: float
    dimple_xy: np.ndarray
    dimple_sigma_mm: np.ndarray
    dimple_depth_mm: np.ndarray
    streak_p0: np.ndarray
    streak_p1: np.ndarray
    streak_width_mm: np.ndarray
    streak_red: np.ndarray
    streak_depth_mm: float
    tone: str
    albedo: np.ndarray
    micro: np.ndarray


@dataclass(frozen=True)
class BodyTruth:
    """What a render shows (see the module docstring)."""

    dimple_count: int
    dimple_area_mm2: float
    dimple_share_pct: float
    streak_count: int
    streak_length_mm: float
    streak_area_mm2: float
    streak_red_share_pct: float
    light_azimuth_deg: float
    light_elevation_deg: float
    px_per_mm: float
    area_mm2: float

    def as_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass(frozen=True)
class BodyRender:
    """A rendered photo (float32 sRGB in [0, 1]), its truth, and the half-depth dimple mask and
    the half-coverage streak mask in the rendered frame (bool)."""

    rgb: np.ndarray
    truth: BodyTruth
    dimple_mask: np.ndarray
    streak_mask: np.ndarray


def _noise(rng: np.random.Generator, n: int, sigma_px: float) -> np.ndarray:
    g = cv2.GaussianBlur(rng.normal(0, 1, (n, n)).astype(np.float32), (0, 0), sigma_px)
    return g / (g.std() + 1e-9)


def body_field(
    seed: int,
    *,
    size_mm: float = 110.0,
    dimples_per_cm2: float = 0.35,
    depth_mm: tuple[float, float] = (0.6, 1.6),
    sigma_mm: tuple[float, float] = (2.5, 4.5),
    streaks: int = 3,
    red_share: float = 0.5,
    tone: str = "light",
) -> BodyField:
    """A field of skin with dimples and streaks drawn with seed ``seed``.

    Dimples: ``dimples_per_cm2`` (Poisson count), centres uniform but at least 2.2 sigma apart
    (the larger one's), Gaussian sigma uniform in ``sigma_mm`` and depth in ``depth_mm``.
    Streaks: ``streaks`` of them, 20-45 mm long, 1.5-3.5 mm wide, roughly parallel (one
    direction +/- 15 degrees, as striae follow the skin's tension lines), each red-purple with
    probability ``red_share``; 0.15 mm deep.
    """
    rng = np.random.default_rng(seed)
    n_target = rng.poisson(dimples_per_cm2 * size_mm**2 / 100.0)
    xy, sig = [], []
    for _ in range(50 * max(1, n_target)):
        if len(xy) >= n_target:
            break
        p, s = rng.uniform(0, size_mm, 2), rng.uniform(*sigma_mm)
        if all(np.hypot(*(p - q)) > 2.2 * max(s, t) for q, t in zip(xy, sig, strict=True)):
            xy.append(p)
            sig.append(s)
    n = len(xy)
    base = rng.uniform(0, np.pi)
    ang = base + np.deg2rad(rng.uniform(-15, 15, streaks))
    length = rng.uniform(20.0, 45.0, streaks)
    mid = rng.uniform(0.15 * size_mm, 0.85 * size_mm, (streaks, 2))
    d = np.stack([np.cos(ang), np.sin(ang)], 1) * (length / 2.0)[:, None]
    m = int(np.ceil(size_mm * _TEX_PPM)) + 1
    albedo = 1.0 + 0.03 * _noise(rng, m, 3.0 * _TEX_PPM) + 0.015 * _noise(rng, m, 0.3 * _TEX_PPM)
    for _ in range(int(0.6 * size_mm**2 / 100.0)):  # freckles and small naevi: light-fast marks
        x, y = rng.uniform(0, m, 2)
        r = int(rng.uniform(0.3, 0.9) * _TEX_PPM)
        cv2.circle(albedo, (int(x), int(y)), r, float(rng.uniform(0.55, 0.8)), -1, cv2.LINE_AA)
    micro = 0.02 * _noise(rng, m, 0.25 * _TEX_PPM) + 0.05 * _noise(rng, m, 1.0 * _TEX_PPM)
    return BodyField(
        size_mm=float(size_mm),
        dimple_xy=np.asarray(xy, np.float64).reshape(n, 2),
        dimple_sigma_mm=np.asarray(sig, np.float64),
        dimple_depth_mm=rng.uniform(*depth_mm, n),
        streak_p0=mid - d,
        streak_p1=mid + d,
        streak_width_mm=rng.uniform(1.5, 3.5, streaks),
        streak_red=rng.random(streaks) < red_share,
        streak_depth_mm=0.15,
        tone=tone,
        albedo=albedo.astype(np.float32),
        micro=micro.astype(np.float32),
    )


def treat(field: BodyField, *, removed: float = 0.4, shallower: float = 0.5, seed: int = 0):
    """The field after a treatment: a share ``removed`` of the dimples gone and the others
    ``shallower`` times as deep (both at random with ``seed``)."""
    rng = np.random.default_rng(seed)
    keep = rng.random(len(field.dimple_depth_mm)) >= removed
    return replace(
        field,
        dimple_xy=field.dimple_xy[keep],
        dimple_sigma_mm=field.dimple_sigma_mm[keep],
        dimple_depth_mm=field.dimple_depth_mm[keep] * shallower,
    )


def add_dimples(field: BodyField, share: float, seed: int) -> BodyField:
    """The field with ``share`` x its dimple count more dimples (drawn like
    :func:`body_field`'s, in the free space between the others)."""
    rng = np.random.default_rng(seed)
    xy, sig = list(field.dimple_xy), list(field.dimple_sigma_mm)
    n0, want = len(xy), int(round(share * len(xy)))
    lo, hi = float(np.min(sig, initial=3.0)), float(np.max(sig, initial=3.0))
    for _ in range(200 * max(1, want)):
        if len(xy) >= n0 + want:
            break
        p, s = rng.uniform(0, field.size_mm, 2), rng.uniform(lo, hi)
        if all(np.hypot(*(p - q)) > 2.2 * max(s, t) for q, t in zip(xy, sig, strict=True)):
            xy.append(p)
            sig.append(s)
    depth = field.dimple_depth_mm
    new = rng.uniform(float(depth.min(initial=0.6)), float(depth.max(initial=1.6)), len(xy) - n0)
    return replace(
        field,
        dimple_xy=np.asarray(xy, np.float64).reshape(-1, 2),
        dimple_sigma_mm=np.asarray(sig, np.float64),
        dimple_depth_mm=np.concatenate([depth, new]),
    )


def _segment_distance(gx, gy, a, b) -> np.ndarray:
    """Distance (px) of every grid point to the segment ``a``-``b`` (px)."""
    d = b - a
    t = ((gx - a[0]) * d[0] + (gy - a[1]) * d[1]) / max(float(d @ d), 1e-9)
    t = np.clip(t, 0.0, 1.0)
    return np.hypot(gx - (a[0] + t * d[0]), gy - (a[1] + t * d[1]))


def _sample(tex: np.ndarray, inv: np.ndarray, size: int) -> np.ndarray:
    """``tex`` (10 px per mm field texture) sampled on the image grid through ``inv`` (2 x 3,
    image px -> field mm)."""
    m = inv * _TEX_PPM
    return cv2.warpAffine(
        tex, m, (size, size), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REFLECT,
    )  # fmt: skip


def _relief(field: BodyField, gx, gy, to_px, ppm: float):
    """``(height_mm, dimple_mask, streak_cov, streak_red_cov, n_dimples_in, lengths)`` on the
    image grid: dimples and streaks placed through ``to_px`` (field mm -> image px)."""
    size = gx.shape[0]
    h = np.zeros(gx.shape, np.float32)
    dimple = np.zeros(gx.shape, bool)
    centres = to_px(field.dimple_xy) if len(field.dimple_xy) else np.zeros((0, 2))
    for (cx, cy), s, dep in zip(centres, field.dimple_sigma_mm, field.dimple_depth_mm, strict=True):
        sp = s * ppm
        r = int(np.ceil(4 * sp))
        x0, x1 = max(0, int(cx) - r), min(size, int(cx) + r + 1)
        y0, y1 = max(0, int(cy) - r), min(size, int(cy) + r + 1)
        if x1 <= x0 or y1 <= y0:
            continue
        d2 = (gx[y0:y1, x0:x1] - cx) ** 2 + (gy[y0:y1, x0:x1] - cy) ** 2
        h[y0:y1, x0:x1] -= dep * np.exp(-d2 / (2 * sp * sp))
        dimple[y0:y1, x0:x1] |= d2 <= (HALF_DEPTH_RADIUS * sp) ** 2
    inside = (centres[:, 0] >= 0) & (centres[:, 0] < size) & (centres[:, 1] >= 0)
    inside &= centres[:, 1] < size
    cov = np.zeros(gx.shape, np.float32)
    red = np.zeros(gx.shape, np.float32)
    a, b = to_px(field.streak_p0), to_px(field.streak_p1)
    lengths = []
    for k in range(len(field.streak_width_mm)):
        w = field.streak_width_mm[k] * ppm
        c = np.clip(w / 2.0 - _segment_distance(gx, gy, a[k], b[k]) + 0.5, 0.0, 1.0)
        c = c.astype(np.float32)
        cov = np.maximum(cov, c)
        if field.streak_red[k]:
            red = np.maximum(red, c)
        mid = 0.5 * (a[k] + b[k])
        if 0 <= mid[0] < size and 0 <= mid[1] < size:
            # end to end, as seen: the segment and its two round caps
            seg = float(np.hypot(*(field.streak_p1[k] - field.streak_p0[k])))
            lengths.append(seg + float(field.streak_width_mm[k]))
    h -= field.streak_depth_mm * cv2.GaussianBlur(cov, (0, 0), 0.3 * ppm)
    return h, dimple, cov, red, int(inside.sum()), lengths


def _skin_colour(field: BodyField, albedo, cov, red) -> np.ndarray:
    """Linear RGB albedo: the tone times the mottling, each streak's Lab shift blended in."""
    tone = np.asarray(SKIN_TONES[field.tone], np.float32)
    lab = rgb_to_lab(tone[None, None, :])[0, 0]
    out = np.empty(cov.shape + (3,), np.float32)
    out[:] = tone
    if cov.any():
        white = np.clip(cov - red, 0.0, 1.0)
        shift = red[..., None] * np.asarray(STREAK_LAB_SHIFT["red"], np.float32)
        shift += white[..., None] * np.asarray(STREAK_LAB_SHIFT["white"], np.float32)
        out = np.clip(lab_to_rgb(lab[None, None, :] + shift), 0.0, 1.0)
    return srgb_to_linear(out) * albedo[..., None]


def render(
    field: BodyField,
    *,
    px_per_mm: float = 5.0,
    size_px: int = 512,
    seed: int = 0,
    light_azimuth_deg: float = 150.0,
    light_elevation_deg: float = 30.0,
    falloff: float = 0.15,
    ambient: float = 0.2,
    angle_deg: float = 0.0,
    shift_mm: tuple[float, float] = (0.0, 0.0),
    blur_px: float = 0.0,
    noise_sd: float = 0.0,
    gain: float = 1.0,
) -> BodyRender:
    """The field seen by a camera at ``px_per_mm``: a ``size_px`` square centred on the field,
    rotated by ``angle_deg`` (counter-clockwise on screen) and moved by ``shift_mm``; lit by a
    lamp toward ``light_azimuth_deg`` (in the image, counter-clockwise from +x) at
    ``light_elevation_deg`` above the skin (Lambertian, plus ``ambient`` light and a linear
    fall-off of ``falloff`` across the frame away from the lamp); blurred (Gaussian sigma
    ``blur_px``), exposed by ``gain`` and with sensor noise (``noise_sd``, sRGB, seeded by
    ``seed``)."""
    rng = np.random.default_rng(seed)
    c = field.size_mm / 2.0
    th = np.deg2rad(angle_deg)
    # counter-clockwise on screen (y down): the image is the field turned by -angle
    rot = np.array([[np.cos(th), np.sin(th)], [-np.sin(th), np.cos(th)]])
    half = size_px / 2.0

    def to_px(p_mm):  # field mm -> image px
        return ((np.asarray(p_mm) - c - np.asarray(shift_mm)) @ rot.T) * px_per_mm + half

    inv = np.zeros((2, 3))  # image px -> field mm
    inv[:, :2] = rot.T / px_per_mm
    inv[:, 2] = c + np.asarray(shift_mm) - inv[:, :2] @ np.array([half, half])
    g = np.arange(size_px, dtype=np.float32) + 0.0
    gx, gy = np.meshgrid(g, g)
    h, dimple, cov, red, n_in, lengths = _relief(field, gx, gy, to_px, px_per_mm)
    h = h + _sample(field.micro, inv, size_px)
    albedo = _sample(field.albedo, inv, size_px)
    # normals from the height map (slopes in mm per mm)
    hx = cv2.Sobel(h, cv2.CV_32F, 1, 0, ksize=3) / 8.0 * px_per_mm
    hy = cv2.Sobel(h, cv2.CV_32F, 0, 1, ksize=3) / 8.0 * px_per_mm
    az, el = np.deg2rad(light_azimuth_deg), np.deg2rad(light_elevation_deg)
    lx, ly, lz = np.cos(el) * np.cos(az), -np.cos(el) * np.sin(az), np.sin(el)  # y down
    # surface z = h: normal (-hx, -hy, 1) / norm
    shade = (-hx * lx - hy * ly + lz) / np.sqrt(1.0 + hx * hx + hy * hy)
    shade = ambient + (1.0 - ambient) * np.clip(shade, 0.0, None) / lz
    ramp = (gx - half) * np.cos(az) - (gy - half) * np.sin(az)
    shade = shade * (1.0 + falloff * ramp / half)
    lin = _skin_colour(field, albedo, cov, red) * (gain * shade)[..., None]
    rgb = linear_to_srgb(np.clip(lin, 0.0, 1.0))
    if blur_px > 0:
        rgb = cv2.GaussianBlur(rgb, (0, 0), blur_px)
    if noise_sd > 0:
        rgb = rgb + rng.normal(0, noise_sd, rgb.shape).astype(np.float32)
    rgb = np.clip(rgb, 0.0, 1.0).astype(np.float32)
    px_area = 1.0 / px_per_mm**2
    streak = cov >= 0.5
    n_streak = int(streak.sum())
    truth = BodyTruth(
        dimple_count=n_in,
        dimple_area_mm2=float(dimple.sum() * px_area),
        dimple_share_pct=float(100.0 * dimple.mean()),
        streak_count=len(lengths),
        streak_length_mm=float(sum(lengths)),
        streak_area_mm2=float(n_streak * px_area),
        streak_red_share_pct=float(100.0 * (red >= 0.5).sum() / n_streak) if n_streak else 0.0,
        light_azimuth_deg=float(light_azimuth_deg % 360.0),
        light_elevation_deg=float(light_elevation_deg),
        px_per_mm=float(px_per_mm),
        area_mm2=float(size_px * size_px * px_area),
    )
    return BodyRender(rgb, truth, dimple, streak)
