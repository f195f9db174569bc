"""Frontal photos with a hairline moved by a known amount, and recaptures of one photo.

:func:`move_hairline` warps a real frontal photo so that everything above the forehead (the
hairline, the hair, the background) moves along the face's vertical by ``delta_iod_pct`` % of
the interocular distance, away from the eyes for a positive value (a recession) and towards
them for a negative one (an advance). The forehead's skin between ``STRETCH_IOD`` above the top
of the brows is stretched (or compressed) to fill the gap, so that the skin stays skin and the
hair stays hair; below it nothing moves. The move is the same across the face's width out to
``FLAT_IOD`` from the midline and fades out by ``FADE_IOD``. The truth: every site of
:mod:`mesovision.hairline` whose hairline lies above the stretched band moves by exactly
``delta_iod_pct``; sites at or below its top are not valid for the truth (:func:`valid_site`).

:func:`recapture` re-takes a photo without changing the face: scaled, rotated, another gain and
gamma, sensor noise and JPEG compression, all seeded.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..eye_frame import face_frame
from ..types import Landmarks

__all__ = ["FADE_IOD", "FLAT_IOD", "STRETCH_IOD", "move_hairline", "recapture", "valid_site"]

#: The band of forehead skin (IOD above the top of the brows) that is stretched or compressed.
STRETCH_IOD = (0.05, 0.25)
#: Half-width (IOD from the midline) of the full move, and where it has faded to nothing.
FLAT_IOD = 0.85
FADE_IOD = 1.2


def move_hairline(rgb: np.ndarray, landmarks: Landmarks, delta_iod_pct: float) -> np.ndarray:
    """``rgb`` with everything above the forehead moved by ``delta_iod_pct`` % IOD along the
    face's vertical (module docstring); ``|delta_iod_pct|`` under 20."""
    origin, e, n, iod, brow = face_frame(landmarks)
    a, b = ((brow + f) * iod for f in STRETCH_IOD)
    h, w = rgb.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    rel = np.stack([xx - origin[0], yy - origin[1]], axis=-1)
    s = rel @ e / iod
    t = rel @ n
    fade = np.clip((FADE_IOD - np.abs(s)) / (FADE_IOD - FLAT_IOD), 0.0, 1.0)
    d = delta_iod_pct / 100.0 * iod * 0.5 * (1.0 - np.cos(np.pi * fade))
    t_src = np.where(t <= a, t, np.where(t >= b + d, t - d, a + (t - a) * (b - a) / (b - a + d)))
    src = origin + s[..., None] * iod * e + t_src[..., None] * n
    mx, my = src[..., 0].astype(np.float32), src[..., 1].astype(np.float32)
    out = cv2.remap(np.ascontiguousarray(rgb, np.float32), mx, my, cv2.INTER_LINEAR,
                    borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
    return np.clip(out, 0.0, 1.0)


def valid_site(hairline_iod_pct: float, brow_iod: float, delta_iod_pct: float) -> bool:
    """Whether a site measured at ``hairline_iod_pct`` moves by the whole ``delta_iod_pct``
    (its hairline above the stretched band, with a margin of 0.05 IOD)."""
    top = 100.0 * (brow_iod + STRETCH_IOD[1] + 0.05) + max(0.0, -delta_iod_pct)
    return bool(np.isfinite(hairline_iod_pct) and hairline_iod_pct > top)


def recapture(rgb: np.ndarray, seed: int) -> np.ndarray:
    """``rgb`` taken again: scaled by 0.8-1.0, rotated by up to 3 degrees, gain 0.9-1.1, gamma
    0.9-1.1, sensor noise sd 0.01 and JPEG quality 80-92 (all drawn from ``seed``)."""
    rng = np.random.default_rng(seed)
    h, w = rgb.shape[:2]
    k, ang = rng.uniform(0.8, 1.0), rng.uniform(-3.0, 3.0)
    m = cv2.getRotationMatrix2D((w / 2.0, h / 2.0), ang, k)
    out = cv2.warpAffine(np.ascontiguousarray(rgb, np.float32), m, (w, h), flags=cv2.INTER_AREA,
                         borderMode=cv2.BORDER_REFLECT)  # fmt: skip
    out = np.clip(out * rng.uniform(0.9, 1.1), 0, 1) ** rng.uniform(0.9, 1.1)
    out = out + rng.normal(0.0, 0.01, out.shape)
    u8 = (np.clip(out, 0, 1) * 255 + 0.5).astype(np.uint8)
    q = int(rng.integers(80, 93))
    ok, buf = cv2.imencode(".jpg", u8[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, q])
    return cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1].astype(np.float32) / 255.0
