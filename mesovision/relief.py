"""Skin relief and the direction of the raking light, from one photo's shading.

Under a lamp at azimuth ``a`` (the unit vector toward it in the image) and elevation ``e`` above
the skin, a Lambertian surface of height ``h`` with small slopes is lit as

    I / I_flat = 1 - cot(e) * (grad h . a)                              (1)

(``I_flat`` the light on flat skin): the relative shading ``s = I / I_flat - 1`` is the
derivative of the relief along the light, times ``-cot(e)``. Two consequences:

* **the light's axis** shows in the shading's structure: ``s`` varies most along ``a``. Its
  gradient's structure tensor ``J = mean(grad s grad s^T)`` over the measured area has, for any
  relief without a preferred direction, its largest eigenvector along ``a`` and a coherence
  ``(l1 - l2) / (l1 + l2)`` of 0.5 (isotropic noise and texture lower it);
* **the relief** is the integral of ``s`` along ``a`` (Pentland's linear shape from shading):
  in the Fourier domain ``cot(e) H(k) = i (k . a) S(k) / ((k . a)^2 + eps^2)``, ``eps`` a
  regularizer at the coarse scale (the relief varying only across the light is not seen; nor
  is any relief in diffuse light). The result is ``cot(e) h``: the depth scaled by the light's
  grazing factor (1.7 at 30 degrees), in the unit of the pixel spacing given (mm with a scale).

The axis leaves the side of the lamp open: a pit lit from the left shades as a bump lit from
the right. Cellulite dimples are pits, so the relief's distribution has a long negative tail:
the side is the one whose recovered relief has the negative skewness (:func:`estimate_light`).

``s`` is made from linear luminance (Rec. 709 Y of the decoded sRGB) band-passed at the dimple
scale: the Gaussian of ``fine`` (removing pores and sensor noise) over the Gaussian of
``coarse`` (removing the lamp's fall-off and the body's curvature), both normalized over the
measured area so that its edge does not shade. The azimuth is reported counter-clockwise on
screen from the image's +x axis (0: the lamp on the right, 90: above). Validation:
``docs/body.md`` (``benchmarks/body.py``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

__all__ = [
    "MIN_COHERENCE",
    "LightEstimate",
    "angle_between_deg",
    "estimate_light",
    "integrate_relief",
    "luminance",
    "masked_blur",
    "relative_shading",
    "side_name",
]

#: Below this coherence of the shading's structure the light has no dominant direction
#: (diffuse light, or skin without relief): the azimuth is not reported.
MIN_COHERENCE = 0.12

_SIDES = ("right", "upper right", "top", "upper left", "left", "lower left", "bottom",
          "lower right")  # fmt: skip


@dataclass(frozen=True)
class LightEstimate:
    """The raking light of one photo: ``azimuth_deg`` toward the lamp (counter-clockwise on
    screen from +x; ``None`` when the shading has no dominant direction) and the ``coherence``
    of the shading's structure (0 none, 0.5 an ideal raking light on isotropic relief)."""

    azimuth_deg: float | None
    coherence: float

    def as_dict(self) -> dict:
        return {"azimuth_deg": self.azimuth_deg, "coherence": self.coherence}


def luminance(rgb: np.ndarray) -> np.ndarray:
    """Rec. 709 relative luminance of sRGB ``rgb`` (float32, linear)."""
    from .color import srgb_to_linear

    lin = srgb_to_linear(np.clip(np.asarray(rgb, np.float32), 0.0, 1.0))
    return (lin @ np.asarray([0.2126, 0.7152, 0.0722], np.float32)).astype(np.float32)


def masked_blur(x: np.ndarray, w: np.ndarray, sigma: float) -> np.ndarray:
    """Normalized convolution: the Gaussian mean of ``x`` over the weight ``w``."""
    num = cv2.GaussianBlur(x * w, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
    den = cv2.GaussianBlur(w, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
    return num / np.maximum(den, 1e-6)


def relative_shading(y: np.ndarray, mask: np.ndarray, *, fine: float, coarse: float):
    """``s``: the luminance ``y`` band-passed as ``G_fine(y) / G_coarse(y) - 1`` over ``mask``
    (sigmas in px), 0 outside it (float32)."""
    w = mask.astype(np.float32)
    y = np.asarray(y, np.float32)
    s = masked_blur(y, w, fine) / np.maximum(masked_blur(y, w, coarse), 1e-6) - 1.0
    return np.where(mask, s, 0.0).astype(np.float32)


def integrate_relief(s: np.ndarray, azimuth_deg: float, *, coarse: float) -> np.ndarray:
    """``cot(e) h`` in px from the relative shading ``s`` lit from ``azimuth_deg`` (the
    regularized Fourier integral along the light, ``eps = 1 / coarse``; zero-padded to twice the
    size so that the ends do not wrap)."""
    rows, cols = s.shape
    pr, pc = cv2.getOptimalDFTSize(2 * rows), cv2.getOptimalDFTSize(2 * cols)
    pad = np.zeros((pr, pc), np.float32)
    pad[:rows, :cols] = s
    ky = 2 * np.pi * np.fft.fftfreq(pr)[:, None]
    kx = 2 * np.pi * np.fft.rfftfreq(pc)[None, :]
    az = math.radians(azimuth_deg)
    ka = kx * math.cos(az) - ky * math.sin(az)  # y down: "up" is -y
    eps2 = (1.0 / coarse) ** 2
    # s = -cot(e) d h / d a  =>  cot(e) H = i ka S / (ka^2 + eps^2)
    spec = np.fft.rfft2(pad) * (1j * ka / (ka * ka + eps2))
    return np.fft.irfft2(spec, s=(pr, pc))[:rows, :cols].astype(np.float32)


def _skew(x: np.ndarray) -> float:
    x = x - x.mean()
    sd = x.std()
    return float(np.mean(x**3) / sd**3) if sd > 0 else 0.0


def estimate_light(
    y: np.ndarray,
    mask: np.ndarray,
    *,
    fine: float,
    coarse: float,
    where: np.ndarray | None = None,
) -> tuple[LightEstimate, np.ndarray | None]:
    """The raking light of luminance ``y`` over ``mask`` and the relief it reveals (``cot(e) h``
    in px, ``None`` without a dominant direction); band-pass sigmas ``fine`` and ``coarse`` in px
    (module docstring). ``where`` (default ``mask``): the pixels the direction is estimated on
    (e.g. the area away from edges of another kind, such as the streaks of stretch marks)."""
    mask = np.asarray(mask, bool)
    where = mask if where is None else np.asarray(where, bool) & mask
    if where.sum() < 100:
        return LightEstimate(None, 0.0), None
    s = relative_shading(y, mask, fine=fine, coarse=coarse)
    gx = cv2.Sobel(s, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(s, cv2.CV_32F, 0, 1, ksize=3)
    inner = cv2.erode(where.view(np.uint8), np.ones((3, 3), np.uint8)).view(bool)
    jxx, jyy, jxy = (float(np.mean(v[inner])) for v in (gx * gx, gy * gy, gx * gy))
    tr = jxx + jyy
    coherence = math.hypot(jxx - jyy, 2 * jxy) / tr if tr > 0 else 0.0
    if coherence < MIN_COHERENCE:
        return LightEstimate(None, round(coherence, 4)), None
    # the major axis, in image coordinates (y down), then counter-clockwise on screen
    axis = 0.5 * math.degrees(math.atan2(2 * jxy, jxx - jyy))
    az = (-axis) % 360.0
    relief = integrate_relief(s, az, coarse=coarse)
    if _skew(relief[mask]) > 0:  # pits make a negative tail: the lamp is on the other side
        az, relief = (az + 180.0) % 360.0, -relief
    return LightEstimate(round(az, 2), round(coherence, 4)), relief


def angle_between_deg(a: float, b: float) -> float:
    """Signed smallest rotation (degrees, -180..180) from azimuth ``a`` to azimuth ``b``."""
    return (b - a + 180.0) % 360.0 - 180.0


def side_name(azimuth_deg: float) -> str:
    """Where a lamp at ``azimuth_deg`` stands, seen on screen: one of eight sides ("left",
    "upper right", ...)."""
    return _SIDES[int(((azimuth_deg % 360.0) + 22.5) // 45.0) % 8]
