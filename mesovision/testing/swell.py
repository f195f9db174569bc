"""Known swelling: a smooth local bulge of a face contour, made by a thin-plate-spline warp.

:func:`swell` moves one site's contour (:data:`SITES`: the patient's left cheek outline, the
chin's jaw line, the right lower eyelid) outward along its normals by ``amplitude_iod`` x the
interocular distance, and keeps the face far from it (landmarks more than ``radius_iod`` from
the site), the stable landmarks of the swelling metrics, the irises and the photo's border in
place. The controls on the site are the contour samples of
:mod:`mesovision.metrics.swelling` and two copies of them ``0.12`` IOD inward and outward, moved
alike (for a lower lid only the outward copy: the eye stays), so that a band around the
contour moves as one piece; a thin-plate spline (Bookstein
1989) interpolates the displacement between the controls. The photo is resampled backwards by
the spline fitted on the moved controls (bicubic; the field is evaluated on a grid of 4 px and
interpolated bilinearly, it being smooth), and :class:`Bulge` keeps the forward spline, so that
the true outward displacement of any contour sample is known (:meth:`Bulge.outward`).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy.ndimage import map_coordinates

from ..color import linear_to_srgb, srgb_to_linear
from ..metrics.swelling import (
    LOWER_LIDS,
    OUTLINE,
    SAMPLES_PER_SEGMENT,
    STABLE_POINTS,
    contour_frame,
)

__all__ = [
    "LID_SITES",
    "PUFF_AMBIENT",
    "PUFF_BORDER_IOD",
    "PUFF_CREST_IOD",
    "PUFF_HEIGHT",
    "PUFF_LIGHT_DEG",
    "PUFF_SIGMA_X_IOD",
    "SITES",
    "SITE_REGIONS",
    "Bulge",
    "Spline",
    "cast_shadow",
    "puff",
    "puff_height",
    "puff_shading",
    "swell",
]

#: Each site's contour: landmark indices, in order along it.
SITES: dict[str, tuple[int, ...]] = {
    "left_cheek": OUTLINE[:6],
    "chin": OUTLINE[6:15],
    "right_under_eye": LOWER_LIDS[0][1:-1],
}
#: The region of :mod:`mesovision.regions` each site's swelling is read in.
SITE_REGIONS = {
    "left_cheek": "left_cheek",
    "chin": "chin",
    "right_under_eye": "right_periorbital",
    "right_puffy": "right_periorbital",
}
#: Sites on a lower eyelid: only the skin below the lid moves with it, the eye stays.
LID_SITES = ("right_under_eye",)
#: Under-eye puffiness (:func:`puff`): a bag below the right lower lid, following the lid's
#: curve (so that its lower border is a crescent): across the lid it rises from the lid
#: (``0``) to its crest ``PUFF_CREST_IOD`` below it and falls, more steeply, to its lower
#: border ``PUFF_BORDER_IOD`` below it (half-periods of sin^2); along the lid it fades as a
#: Gaussian of ``PUFF_SIGMA_X_IOD`` about the lid's middle. Its height is ``PUFF_HEIGHT`` x
#: the bulge's amplitude x IOD; it is lit from above, ``PUFF_LIGHT_DEG`` from the camera's
#: axis, with ``PUFF_AMBIENT`` of the light on flat skin coming from everywhere (not shadowed).
PUFF_CREST_IOD = 0.10
PUFF_BORDER_IOD = 0.15
PUFF_SIGMA_X_IOD = 0.18
PUFF_HEIGHT = 1.0
PUFF_LIGHT_DEG = 45.0
PUFF_AMBIENT = 0.3


def _kernel(r2: np.ndarray) -> np.ndarray:
    """The thin-plate radial basis U(r) = r^2 log r^2 (0 at r = 0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(r2 > 0, r2 * np.log(np.maximum(r2, 1e-12)), 0.0)


@dataclass(frozen=True)
class Spline:
    """A 2-D thin-plate spline: ``f(x) = a0 + A x + sum_i w_i U(|x - c_i|)``."""

    centres: np.ndarray
    weights: np.ndarray
    affine: np.ndarray

    @classmethod
    def fit(cls, src: np.ndarray, values: np.ndarray) -> Spline:
        """The spline through ``values`` (n, 2) at ``src`` (n, 2) (exact interpolation)."""
        n = len(src)
        k = _kernel(((src[:, None, :] - src[None, :, :]) ** 2).sum(-1))
        p = np.hstack([np.ones((n, 1)), src])
        lhs = np.zeros((n + 3, n + 3))
        lhs[:n, :n], lhs[:n, n:], lhs[n:, :n] = k, p, p.T
        rhs = np.vstack([values, np.zeros((3, 2))])
        sol = np.linalg.lstsq(lhs, rhs, rcond=None)[0]
        return cls(src.copy(), sol[:n], sol[n:])

    def __call__(self, xy: np.ndarray) -> np.ndarray:
        xy = np.asarray(xy, np.float64).reshape(-1, 2)
        out = np.empty_like(xy)
        for s in range(0, len(xy), 4096):  # bounded memory
            part = xy[s : s + 4096]
            k = _kernel(((part[:, None, :] - self.centres[None, :, :]) ** 2).sum(-1))
            out[s : s + 4096] = k @ self.weights + self.affine[0] + part @ self.affine[1:]
        return out


@dataclass(frozen=True)
class Bulge:
    """A bulge made by :func:`swell`: the warped photo, the forward displacement (px, a
    :class:`Spline` of the original pixels), the site and its amplitude (share of the IOD)."""

    rgb: np.ndarray
    forward: Spline
    site: str
    amplitude_iod: float
    iod_px: float

    def outward(self, points: np.ndarray, normals: np.ndarray) -> np.ndarray:
        """The true outward displacement of contour samples at ``points`` (original pixels)
        along their unit ``normals``, in shares of the interocular distance."""
        d = self.forward(points)
        return np.einsum("ij,ij->i", d, normals) / self.iod_px


def _site_controls(points: np.ndarray, site: str, iod: float):
    """The site's contour samples and outward normals (original pixels)."""
    idx = SITES[site]
    frame = contour_frame(points)
    start = frame.index[idx[0]]
    p = frame.points[start : start + (len(idx) - 1) * SAMPLES_PER_SEGMENT + 1]
    n = frame.normals[start : start + len(p)]
    return p, n


def swell(
    rgb: np.ndarray,
    points: np.ndarray,
    site: str,
    amplitude_iod: float,
    *,
    radius_iod: float = 0.45,
) -> Bulge:
    """``rgb`` with the contour of ``site`` moved outward by ``amplitude_iod`` x IOD.

    ``points`` are the photo's 478 landmarks (x, y) on ``rgb``'s pixels. Negative amplitudes
    move the contour inward. Raises ``KeyError`` for an unknown site.
    """
    if site not in SITES:
        raise KeyError(f"unknown site {site!r}; valid: {', '.join(SITES)}")
    points = np.asarray(points, np.float64)
    iod = float(np.linalg.norm(points[468] - points[473]))
    p, n = _site_controls(points, site, iod)
    d = amplitude_iod * iod * n
    band = 0.12 * iod
    if site in LID_SITES:  # the eye itself stays: only the skin below the lid moves
        moving, moves = np.vstack([p, p + band * n]), np.vstack([d, d])
    else:
        moving, moves = np.vstack([p, p - band * n, p + band * n]), np.vstack([d, d, d])
    dist = np.sqrt(((points[:, None, :] - moving[None, :, :]) ** 2).sum(-1)).min(axis=1)
    keep = dist > radius_iod * iod
    keep[list(STABLE_POINTS)] = True
    keep[468:] = True  # the irises: the interocular distance does not change
    h, w = rgb.shape[:2]
    e = np.linspace(0.0, 1.0, 9)
    x0, x1, y0, y1 = np.zeros(9), np.full(9, w - 1.0), np.zeros(9), np.full(9, h - 1.0)
    border = np.vstack(
        [
            np.stack([e * (w - 1), y0], 1),
            np.stack([e * (w - 1), y1], 1),
            np.stack([x0, e * (h - 1)], 1),
            np.stack([x1, e * (h - 1)], 1),
        ]
    )
    fixed = np.vstack([points[keep], border])
    src = np.vstack([moving, fixed])
    disp = np.vstack([moves, np.zeros_like(fixed)])
    forward = Spline.fit(src, disp)
    backward = Spline.fit(src + disp, -disp)
    step = 4
    gy, gx = np.mgrid[0 : h + step : step, 0 : w + step : step].astype(np.float64)
    field = backward(np.stack([gx.ravel(), gy.ravel()], 1)).reshape(gy.shape + (2,))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    full = np.stack(
        [map_coordinates(field[..., c], [yy / step, xx / step], order=1) for c in (0, 1)], -1
    ).astype(np.float32)
    out = cv2.remap(
        rgb.astype(np.float32),
        xx + full[..., 0],
        yy + full[..., 1],
        cv2.INTER_CUBIC,
        borderMode=cv2.BORDER_REPLICATE,
    )
    return Bulge(np.clip(out, 0.0, 1.0), forward, site, float(amplitude_iod), iod)


def puff_height(shape, points: np.ndarray, amplitude_iod: float) -> np.ndarray:
    """The bag's height (px) over the photo's pixels ``(H, W)`` (see :data:`PUFF_CREST_IOD`):
    ``u`` the distance below the right lower lid (interpolated between its landmarks along
    the image's columns) in IOD, ``s(u) = sin^2(pi/2 u / crest)`` up to the crest and
    ``cos^2(pi/2 (u - crest) / (border - crest))`` down to the border, times a Gaussian
    across the columns."""
    points = np.asarray(points, np.float64)
    iod = float(np.linalg.norm(points[468] - points[473]))
    lid = points[list(LOWER_LIDS[0])]
    lid = lid[np.argsort(lid[:, 0])]
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float64)
    u = (yy - np.interp(xx, lid[:, 0], lid[:, 1])) / iod
    crest, border = PUFF_CREST_IOD, PUFF_BORDER_IOD
    s = np.where(
        u < crest,
        np.sin(0.5 * np.pi * np.clip(u, 0.0, crest) / crest) ** 2,
        np.cos(0.5 * np.pi * np.clip((u - crest) / (border - crest), 0.0, 1.0)) ** 2,
    )
    cx = lid[:, 0].mean()
    across = np.exp(-0.5 * ((xx - cx) / (PUFF_SIGMA_X_IOD * iod)) ** 2)
    return PUFF_HEIGHT * amplitude_iod * iod * s * across


def cast_shadow(h: np.ndarray, light_deg: float) -> np.ndarray:
    """Where a surface of height ``h`` (px) shades itself from a light ``light_deg`` from the
    camera's axis, above the image: a pixel is shadowed when some pixel ``k`` rows above it is
    higher by more than ``k / tan(light_deg)`` (the light's ray rises that much over ``k``)."""
    rise = 1.0 / np.tan(np.deg2rad(light_deg))
    top = float(h.max() - h.min())
    out = np.zeros(h.shape, bool)
    for k in range(1, int(np.ceil(top / rise)) + 2):
        out[k:] |= h[:-k] - h[k:] > k * rise
    return out


def puff_shading(shape, points: np.ndarray, amplitude_iod: float) -> np.ndarray:
    """The shading ratio ``(H, W)`` of under-eye puffiness lit from above: the bag of
    :func:`puff_height` (``h``, px), a Lambertian surface under a light tilted ``t =
    PUFF_LIGHT_DEG`` above the camera's axis, with ambient share ``a = PUFF_AMBIENT``, reads
    ``a + (1 - a) * (cos t + sin t dh/dy) / (cos t sqrt(1 + |grad h|^2))`` of the flat skin's
    light, and ``a`` where the bag casts its shadow (:func:`cast_shadow`; y down: the lower
    slope faces away from the light and, steep enough, shades the skin below it)."""
    h = puff_height(shape, points, amplitude_iod)
    hy, hx = np.gradient(h)
    t = np.deg2rad(PUFF_LIGHT_DEG)
    lit = (np.cos(t) + np.sin(t) * hy) / (np.cos(t) * np.sqrt(1.0 + hx**2 + hy**2))
    lit = np.where(cast_shadow(h, PUFF_LIGHT_DEG), 0.0, np.clip(lit, 0.0, None))
    return PUFF_AMBIENT + (1.0 - PUFF_AMBIENT) * lit


def puff(rgb: np.ndarray, points: np.ndarray, amplitude_iod: float) -> Bulge:
    """Under-eye puffiness: the right lower lid's bulge of :func:`swell` and the shading a bump
    below it lit from above makes (:func:`puff_shading`, applied to linear RGB, on the
    bulged pixels)."""
    bulge = swell(rgb, points, "right_under_eye", amplitude_iod)
    ratio = puff_shading(rgb.shape[:2], np.asarray(points, np.float64), amplitude_iod)
    lin = srgb_to_linear(bulge.rgb) * ratio[..., None]
    out = np.clip(linear_to_srgb(np.clip(lin, 0.0, 1.0)), 0.0, 1.0).astype(bulge.rgb.dtype)
    return Bulge(out, bulge.forward, "right_puffy", bulge.amplitude_iod, bulge.iod_px)
