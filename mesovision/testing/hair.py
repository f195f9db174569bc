"""Rendered scalp photos with known hair: phototrichogram close-ups and crown / part-line views.

A :class:`HairField` is the scalp itself, in millimetres: its skin texture, its hairs (straight
shafts, each a segment with a width in µm) and, for a part-line view, the part. Rendering
(:func:`render`) samples the field through a camera: ``px_per_mm``, a small rotation and shift
(so that a before and an after photo need aligning), then blur, sensor noise and a change of
light (:func:`mesovision.testing.synthetic.apply_lighting`). The truth of every render
(:class:`HairTruth`) is computed from the field in the rendered frame, never from the image:

* ``count``: hairs whose midpoint lies in the frame (a hair cut by the frame edge counts when its
  midpoint is inside, the unbiased rule for a density over an area);
* ``density_per_cm2``: that count over the frame's area in cm²;
* ``widths_um``: the shaft widths of those hairs; ``thin_share_pct``: the share below
  ``THIN_HAIR_UM`` (the threshold :mod:`mesovision.metrics.hair` uses);
* ``scalp_share_pct``: the share of pixels that no hair covers by half or more (coverage is
  rendered exactly, the area of a pixel inside a shaft);
* ``part_width_mm``: the width of the part (a strip with no hair) of a part-line view.

Close-ups (:func:`trichogram_field`) are clipped hair, as a phototrichogram is taken two or three
days after shaving: shafts 0.4-1.2 mm long lying in one stream. Crown views
(:func:`crown_field`) are long hairs combed away from a part. :func:`add_hairs` grows a field's
hairs by a share (a denser after photo); re-rendering the same field under another light, blur,
noise and camera placement is an unchanged after photo. Hair colours and scalp tones are sRGB
(:data:`HAIR_COLOURS`, :data:`SCALP_TONES`); every random draw takes a seed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

from .synthetic import apply_lighting

__all__ = [
    "HAIR_COLOURS",
    "SCALP_TONES",
    "THIN_HAIR_UM",
    "HairField",
    "HairRender",
    "HairTruth",
    "add_hairs",
    "crown_field",
    "render",
    "ruler_coverage",
    "trichogram_field",
]

#: sRGB colour of the hair: dark (brown-black) and light (blond).
HAIR_COLOURS = {"dark": (0.12, 0.08, 0.06), "light": (0.80, 0.64, 0.36)}
#: sRGB colour of the scalp: light and dark skin.
SCALP_TONES = {"light": (0.86, 0.70, 0.62), "dark": (0.40, 0.27, 0.20)}
#: A hair thinner than this (µm) is thin (vellus-like); the metric family uses the same value.
THIN_HAIR_UM = 40.0


@dataclass(frozen=True)
class HairField:
    """A patch of scalp in mm: ``size_mm`` square, hairs from ``p0`` to ``p1`` ((n, 2) mm,
    x right, y down), ``width_um`` (n,), the hair and scalp colours, the skin texture (an
    array sampled at ``texture_px_per_mm``) and the part (``part_x_mm``, ``part_width_mm``;
    width 0 without a part)."""

    size_mm: float
    p0: np.ndarray
    p1: np.ndarray
    width_um: np.ndarray
    hair: str
    scalp: str
    texture: np.ndarray
    texture_px_per_mm: float
    part_x_mm: float = 0.0
    part_width_mm: float = 0.0

    @property
    def n(self) -> int:
        return int(self.width_um.size)


@dataclass(frozen=True)
class HairTruth:
    """What a render shows, from the field (see the module docstring)."""

    count: int
    density_per_cm2: float
    widths_um: tuple[float, ...]
    median_width_um: float
    thin_share_pct: float
    scalp_share_pct: float
    part_width_mm: float
    px_per_mm: float
    area_cm2: float

    def as_dict(self) -> dict:
        out = dict(self.__dict__)
        out["widths_um"] = [round(w, 2) for w in self.widths_um]
        return out


@dataclass(frozen=True)
class HairRender:
    """A rendered photo (float32 sRGB in [0, 1]) and its truth."""

    rgb: np.ndarray
    truth: HairTruth


def _texture(rng: np.random.Generator, size_mm: float, ppm: float) -> np.ndarray:
    """Scalp skin texture: smooth mottling and a few small darker follicle-like dots,
    multiplicative (around 1), sampled at ``ppm``."""
    n = int(np.ceil(size_mm * ppm)) + 1
    coarse = cv2.GaussianBlur(rng.normal(0, 1, (n, n)).astype(np.float32), (0, 0), 0.8 * ppm)
    fine = cv2.GaussianBlur(rng.normal(0, 1, (n, n)).astype(np.float32), (0, 0), 0.08 * ppm)
    tex = 1.0 + 0.9 * coarse / (coarse.std() + 1e-6) * 0.03
    tex += 0.012 * fine / (fine.std() + 1e-6)
    for _ in range(int(size_mm**2 * 0.3)):  # follicle openings and small marks
        x, y = rng.uniform(0, n, 2)
        cv2.circle(
            tex, (int(x), int(y)), max(1, int(0.05 * ppm)), float(rng.uniform(0.9, 0.96)), -1
        )
    return tex.astype(np.float32)


def _widths(rng, n: int, thin_share: float) -> np.ndarray:
    """Shaft widths (µm): a share ``thin_share`` of thin hairs (20-38 µm), the rest terminal
    hairs (normal, mean 75 µm, sd 12 µm, 45-110 µm)."""
    thin = rng.random(n) < thin_share
    w = np.clip(rng.normal(75.0, 12.0, n), 45.0, 110.0)
    w[thin] = rng.uniform(20.0, 38.0, int(thin.sum()))
    return w


def trichogram_field(
    seed: int,
    *,
    size_mm: float = 10.0,
    density_per_cm2: float = 200.0,
    thin_share: float = 0.2,
    hair: str = "dark",
    scalp: str = "light",
) -> HairField:
    """A clipped-hair close-up: hairs at ``density_per_cm2`` (Poisson count, uniform midpoints
    over a margin of 1 mm around the ``size_mm`` square), 0.4-1.2 mm long, in one stream
    (direction drawn per field, each hair within +/-25 degrees of it)."""
    rng = np.random.default_rng(seed)
    lo, hi = -1.0, size_mm + 1.0
    n = int(rng.poisson(density_per_cm2 * ((hi - lo) / 10.0) ** 2))
    mid = rng.uniform(lo, hi, (n, 2))
    stream = rng.uniform(0, np.pi)
    ang = stream + np.deg2rad(rng.uniform(-25, 25, n))
    half = 0.5 * rng.uniform(0.4, 1.2, n)
    d = np.stack([np.cos(ang), np.sin(ang)], axis=1) * half[:, None]
    tex = _texture(rng, size_mm, 20.0)
    return HairField(size_mm, mid - d, mid + d, _widths(rng, n, thin_share), hair, scalp, tex, 20.0)


def crown_field(
    seed: int,
    *,
    size_mm: float = 60.0,
    density_per_cm2: float = 100.0,
    part_width_mm: float = 4.0,
    hair: str = "dark",
    scalp: str = "light",
) -> HairField:
    """A part-line view: a vertical part ``part_width_mm`` wide through the middle, follicles
    at ``density_per_cm2`` elsewhere (the visible density of a thinning crown is far below
    the 150-250 / cm² of a full scalp), hairs 6-20 mm long within +/-35 degrees of the
    horizontal, combed back at the part's edge (:func:`_comb_from_part`), 50-90 µm wide."""
    rng = np.random.default_rng(seed)
    cx = size_mm / 2.0
    area = size_mm * size_mm - part_width_mm * size_mm
    n = int(rng.poisson(density_per_cm2 * area / 100.0))
    x = rng.uniform(0, size_mm - part_width_mm, n)
    x = np.where(x < cx - part_width_mm / 2, x, x + part_width_mm)
    y = rng.uniform(-5.0, size_mm + 5.0, n)
    ang = np.deg2rad(rng.uniform(-35, 35, n)) + np.pi * (rng.random(n) < 0.5)
    length = rng.uniform(6.0, 20.0, n)
    p0 = np.stack([x, y], axis=1)
    p1 = p0 + np.stack([np.cos(ang), np.sin(ang)], axis=1) * length[:, None]
    w = rng.uniform(50.0, 90.0, n)
    p0, p1, w = _comb_from_part(p0, p1, w, cx, part_width_mm)
    tex = _texture(rng, size_mm, 4.0)
    return HairField(size_mm, p0, p1, w, hair, scalp, tex, 4.0, cx, part_width_mm)


def _comb_from_part(p0, p1, w, cx: float, part_width_mm: float):
    """Shafts that would cross into the part are combed back at its edge: the part beyond the
    edge is mirrored, as two segments (the visible scalp is then the follicle-free strip)."""
    side = np.sign(p0[:, 0] - cx)
    wall = cx + side * part_width_mm / 2.0
    cross = (p1[:, 0] - wall) * side < 0
    if not cross.any():
        return p0, p1, w
    a, b, s, wl = p0[cross], p1[cross], side[cross], wall[cross]
    t = (wl - a[:, 0]) / (b[:, 0] - a[:, 0])
    q = a + (b - a) * t[:, None]
    b2 = b.copy()
    b2[:, 0] = 2 * wl - b[:, 0] + s * 1e-3
    keep = ~cross
    return (
        np.concatenate([p0[keep], a, q]),
        np.concatenate([p1[keep], q, b2]),
        np.concatenate([w[keep], w[cross], w[cross]]),
    )


def add_hairs(field: HairField, share: float, seed: int) -> HairField:
    """The field with ``share`` x its hair count more hairs, drawn like the field's own (a
    denser after photo: the existing hairs stay where they are)."""
    rng = np.random.default_rng(seed)
    k = int(round(share * field.n))
    idx = rng.integers(0, field.n, k)
    if field.part_width_mm > 0:  # new follicles along other hairs' rows, away from the part
        shift = np.stack([rng.uniform(-1.5, 1.5, k), rng.uniform(-4, 4, k)], axis=1)
        start = field.p0[idx] + shift
        keep = np.abs(start[:, 0] - field.part_x_mm) > field.part_width_mm / 2 + 0.05
        keep &= np.sign(start[:, 0] - field.part_x_mm) == np.sign(
            field.p0[idx, 0] - field.part_x_mm
        )
        idx, start = idx[keep], start[keep]
        d = field.p1[idx] - field.p0[idx]
        p0, p1 = start, start + d
    else:
        lo, hi = -1.0, field.size_mm + 1.0
        mid = rng.uniform(lo, hi, (idx.size, 2))
        d = 0.5 * (field.p1[idx] - field.p0[idx])
        p0, p1 = mid - d, mid + d
    w = rng.permutation(field.width_um)[: idx.size] if idx.size <= field.n else field.width_um[idx]
    return replace(
        field,
        p0=np.concatenate([field.p0, p0]),
        p1=np.concatenate([field.p1, p1]),
        width_um=np.concatenate([field.width_um, w]),
    )


def _coverage(p0: np.ndarray, p1: np.ndarray, w_px: np.ndarray, shape) -> np.ndarray:
    """Per-pixel coverage (0-1) of the shafts, combined as ``1 - prod(1 - c)``; each shaft's
    profile across it integrates to its width in px."""
    h, w = shape
    free = np.ones((h, w), np.float32)
    for a, b, wd in zip(p0, p1, w_px, strict=True):
        r = 0.5 * wd + 1.5
        x0, x1 = (
            int(max(0, np.floor(min(a[0], b[0]) - r))),
            int(min(w, np.ceil(max(a[0], b[0]) + r))),
        )
        y0, y1 = (
            int(max(0, np.floor(min(a[1], b[1]) - r))),
            int(min(h, np.ceil(max(a[1], b[1]) + r))),
        )
        if x1 <= x0 or y1 <= y0:
            continue
        yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32) + 0.5
        d = b - a
        t = np.clip(((xx - a[0]) * d[0] + (yy - a[1]) * d[1]) / max(float(d @ d), 1e-9), 0, 1)
        dist = np.hypot(xx - (a[0] + t * d[0]), yy - (a[1] + t * d[1]))
        if wd >= 1.0:  # a 1-px ramp at the edges: the profile integrates to the width
            c = np.clip(0.5 * wd - dist + 0.5, 0.0, 1.0)
        else:  # thinner than a pixel: a triangle of area ``wd`` across the shaft
            c = wd * np.clip(1.0 - dist, 0.0, 1.0)
        free[y0:y1, x0:x1] *= 1.0 - c
    return 1.0 - free


def ruler_coverage(
    size_px: int, px_per_mm: float, angle_deg: float = 0.0, *, supersample: int = 4
) -> tuple[np.ndarray, np.ndarray]:
    """``(body, ticks)``: the coverage (0-1, float32, ``size_px`` square) of a ruler over the
    bottom of the frame and of its ticks, each pixel's area inside them (``supersample`` x
    ``supersample`` samples). The ruler's top edge passes through the point ``size_px / 10``
    above the bottom centre, tilted by ``angle_deg`` (counter-clockwise as displayed); a tick
    every mm (``px_per_mm`` apart along the edge, one at the centre), ``max(1, 0.1 mm)`` wide,
    from ``size_px / 40`` below the edge, ``size_px / 40`` long, twice that every 5 mm."""
    n = size_px * supersample
    g = (np.arange(n, dtype=np.float64) + 0.5) / supersample
    xx, yy = np.meshgrid(g, g)
    th = np.deg2rad(angle_deg)
    cx, cy = size_px / 2.0, size_px - size_px // 10
    u = (xx - cx) * np.cos(th) - (yy - cy) * np.sin(th)  # along the edge
    v = (xx - cx) * np.sin(th) + (yy - cy) * np.cos(th)  # below the edge
    body = v >= 0
    k = np.round(u / px_per_mm)
    length = np.where(k % 5 == 0, size_px / 20, size_px / 40)
    tw = max(1.0, 0.1 * px_per_mm)
    on = (np.abs(u - k * px_per_mm) < tw / 2) & (v >= size_px / 40) & (v < size_px / 40 + length)

    def area(mask):
        m = mask.reshape(size_px, supersample, size_px, supersample).mean(axis=(1, 3))
        return m.astype(np.float32)

    return area(body), area(on)


def render(
    field: HairField,
    *,
    px_per_mm: float,
    size_px: int = 512,
    seed: int = 0,
    angle_deg: float = 0.0,
    shift_mm: tuple[float, float] = (0.0, 0.0),
    blur_px: float = 0.0,
    noise_sd: float = 0.0,
    gain: float = 1.0,
    ramp: float = 0.0,
    white_balance: tuple[float, float, float] = (1.0, 1.0, 1.0),
    ruler: bool = False,
    ruler_angle_deg: float = 0.0,
) -> HairRender:
    """The field seen by a camera at ``px_per_mm``: a ``size_px`` square centred on the field,
    rotated by ``angle_deg`` and moved by ``shift_mm``; blurred (Gaussian, sigma ``blur_px``),
    lit (``gain``, ``ramp``, ``white_balance``) and with sensor noise (``noise_sd``, sRGB,
    seeded by ``seed``). ``ruler``: a white ruler over the bottom of the frame (its top edge
    ``size_px / 10`` above the bottom at the centre, tilted by ``ruler_angle_deg``) with a dark
    tick every mm, longer every 5 mm (:func:`ruler_coverage`); the truth is then of the area the
    ruler does not cover."""
    rng = np.random.default_rng(seed)
    c = field.size_mm / 2.0
    th = np.deg2rad(angle_deg)
    rot = np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
    half = size_px / 2.0

    def to_px(p_mm):  # field mm -> image px
        return ((p_mm - c - np.asarray(shift_mm)) @ rot.T) * px_per_mm + half

    # skin: the texture sampled through the inverse map (image px -> texture px)
    m = np.zeros((2, 3))
    m[:, :2] = rot.T / px_per_mm * field.texture_px_per_mm
    centre = (c + np.asarray(shift_mm)) * field.texture_px_per_mm
    m[:, 2] = centre - m[:, :2] @ np.array([half, half])
    tex = cv2.warpAffine(
        field.texture,
        m,
        (size_px, size_px),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REFLECT,
    )
    a, b = to_px(field.p0), to_px(field.p1)
    w_px = field.width_um / 1000.0 * px_per_mm
    cov = _coverage(a, b, w_px, (size_px, size_px))
    skin = np.asarray(SCALP_TONES[field.scalp], np.float32)[None, None, :] * tex[..., None]
    hair = np.asarray(HAIR_COLOURS[field.hair], np.float32)
    rgb = skin * (1.0 - cov[..., None]) + hair * cov[..., None]
    free = np.ones((size_px, size_px), bool)
    if ruler:
        body, ticks = ruler_coverage(size_px, px_per_mm, ruler_angle_deg)
        rgb = rgb * (1.0 - body[..., None]) + np.float32(0.95) * body[..., None]
        rgb = rgb * (1.0 - ticks[..., None]) + np.float32(0.05) * ticks[..., None]
        free = body < 0.5
    if blur_px > 0:
        rgb = cv2.GaussianBlur(rgb, (0, 0), blur_px)
    rgb = apply_lighting(np.clip(rgb, 0, 1), gain=gain, ramp=ramp, white_balance=white_balance)
    if noise_sd > 0:
        rgb = rgb + rng.normal(0, noise_sd, rgb.shape).astype(np.float32)
    rgb = np.clip(rgb, 0.0, 1.0).astype(np.float32)
    mid = 0.5 * (a + b)
    inside = (mid[:, 0] >= 0) & (mid[:, 0] < size_px) & (mid[:, 1] >= 0) & (mid[:, 1] < size_px)
    ij = np.clip(np.floor(mid).astype(np.int64), 0, size_px - 1)
    inside &= free[ij[:, 1], ij[:, 0]]
    widths = field.width_um[inside]
    area_cm2 = float(free.sum()) / px_per_mm**2 / 100.0
    truth = HairTruth(
        count=int(inside.sum()),
        density_per_cm2=float(inside.sum() / area_cm2),
        widths_um=tuple(float(w) for w in widths),
        median_width_um=float(np.median(widths)) if widths.size else float("nan"),
        thin_share_pct=float(100.0 * np.mean(widths < THIN_HAIR_UM)) if widths.size else 0.0,
        scalp_share_pct=float(100.0 * np.mean(cov[free] < 0.5)),
        part_width_mm=float(field.part_width_mm),
        px_per_mm=float(px_per_mm),
        area_cm2=float(area_cm2),
    )
    return HairRender(rgb, truth)
