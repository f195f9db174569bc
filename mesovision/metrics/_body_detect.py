"""Body skin analysis of one photo: dimple-scale irregularity, dimples from the relief, streaks
from colour (:class:`BodyAnalysis`), for :mod:`mesovision.metrics.body`.

Made once per photo on first use. Every filter is at a physical scale: sizes in mm times the
photo's scale, or, without a scale, times ``FALLBACK_PX_PER_MM`` (a thigh about 13 cm wide in a
512 px working copy) with a warning: then the counts and shares are measured at that assumed
scale and the metrics in mm are NaN.

1. **Irregularity**: L* band-passed at the dimple scale, ``G(BP_FINE_MM) - G(BP_COARSE_MM)``
   (Gaussians normalized over the measured area); its square is the map ``body_bp2``.
2. **Relief** (:mod:`mesovision.relief`): the raking light's direction from the shading's
   structure (away from the streaks, whose edges all run one way) and the relief ``cot(e) h``
   (mm) integrated along it; the relief is smoothed by ``RELIEF_SMOOTH_MM``. A *dimple* is a
   local minimum (within ``DIMPLE_MIN_SEP_MM``) at least ``DIMPLE_DEPTH_MM`` deep; its *area*
   the pixels at least ``DIMPLE_AREA_SHARE`` as deep as the deepest point within
   ``DIMPLE_REACH_MM`` and deeper than ``DIMPLE_AREA_MM``. Without a dominant light direction
   there is no relief and no dimple (diffuse light shows none).
3. **Streaks**: ``da`` the a* smoothed by ``STREAK_FINE_MM`` minus its Gaussian mean at
   ``STREAK_BG_MM`` over the area; a connected component (one sign) of ``|da| >=
   STREAK_DA_LINK`` is a streak when at least ``STREAK_CORE_SHARE`` of its pixels have ``|da| >=
   STREAK_DA`` (hysteresis: a streak whose contrast dips under ``STREAK_DA`` somewhere, by noise
   or by a colour transform that shrinks the contrast, stays one streak) and is at least
   ``STREAK_MIN_LENGTH_MM`` long and ``STREAK_MIN_ELONGATION`` times as long as wide (length
   ``sqrt(12 l1)``, ``l1`` the larger eigenvalue of its pixels' covariance: exact for a straight
   band; width area / length). The linked streaks are counted and measured in length
   (``streak_link``); their area is their pixels of ``|da| >= STREAK_DA`` (``streak``). Its
   stage is red-purple (recent) when ``da > 0``, white (mature) else.
"""

from __future__ import annotations

import logging
from functools import cached_property

import cv2
import numpy as np

from ..relief import LightEstimate, estimate_light, luminance, masked_blur
from ._maps import near_threshold
from ._streak_flip import streak_flip_maps

__all__ = [
    "BP_COARSE_MM",
    "BP_FINE_MM",
    "DIMPLE_AREA_MM",
    "DIMPLE_AREA_SHARE",
    "DIMPLE_DEPTH_MM",
    "DIMPLE_MIN_SEP_MM",
    "DIMPLE_REACH_MM",
    "FALLBACK_PX_PER_MM",
    "RELIEF_COARSE_MM",
    "RELIEF_FINE_MM",
    "RELIEF_SMOOTH_MM",
    "STREAK_BG_MM",
    "STREAK_CLEAR_MM",
    "STREAK_DA",
    "STREAK_CORE_SHARE",
    "STREAK_DA_LINK",
    "STREAK_FINE_MM",
    "STREAK_MIN_ELONGATION",
    "STREAK_MIN_LENGTH_MM",
    "BodyAnalysis",
    "streak_lengths_px",
]

log = logging.getLogger(__name__)

#: Scale assumed without ``px_per_mm`` (px per mm).
FALLBACK_PX_PER_MM = 4.0
#: The irregularity's band: Gaussian sigmas (mm).
BP_FINE_MM, BP_COARSE_MM = 1.0, 8.0
#: The relief's band (:func:`mesovision.relief.estimate_light`): sigmas (mm).
RELIEF_FINE_MM, RELIEF_COARSE_MM = 0.8, 8.0
#: Smoothing of the relief before dimples are found (mm).
RELIEF_SMOOTH_MM = 0.6
#: A dimple's centre is at least this deep (relief, ``cot(e)`` x mm).
DIMPLE_DEPTH_MM = 0.25
#: Two dimple centres are at least this far apart (mm).
DIMPLE_MIN_SEP_MM = 4.0
#: A dimple pixel is deeper than ``DIMPLE_AREA_MM`` (relief mm) and at least
#: ``DIMPLE_AREA_SHARE`` times as deep as the deepest point within ``DIMPLE_REACH_MM`` (the
#: recovered relief is smoothed, so that a share under one half matches the half-depth area of
#: the truth; chosen on the dev renders, ``benchmarks/body.py``).
DIMPLE_AREA_MM = 0.1
DIMPLE_AREA_SHARE = 0.35
DIMPLE_REACH_MM = 7.0
#: Streaks: a* smoothing and background sigmas (mm), contrast (a* units), shape.
STREAK_FINE_MM, STREAK_BG_MM = 0.4, 6.0
STREAK_DA = 3.0
#: A streak's pixels are linked through ``|da| >= STREAK_DA_LINK`` (hysteresis): a streak whose
#: contrast dips under ``STREAK_DA`` somewhere stays one streak (chosen on the dev renders).
STREAK_DA_LINK = 2.0
#: ... when at least this share of its pixels reach ``STREAK_DA`` (mottling linked through a
#: low contrast is no streak).
STREAK_CORE_SHARE = 0.5
STREAK_MIN_LENGTH_MM = 8.0
STREAK_MIN_ELONGATION = 3.0
#: The light's direction is estimated this far (mm) from any streak.
STREAK_CLEAR_MM = 2.0


def _disk(r: float) -> np.ndarray:
    k = max(1, int(round(r)))
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * k + 1, 2 * k + 1))


def streak_lengths_px(labels: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``(length_px, area_px)`` of components ``1..n-1`` of ``labels``: length
    ``sqrt(12 l1)`` from the covariance of the component's pixel coordinates."""
    rr, cc = np.nonzero(labels)
    lab = labels[rr, cc]
    cnt = np.bincount(lab, minlength=n).astype(np.float64)
    safe = np.maximum(cnt, 1)
    mx = np.bincount(lab, cc, n) / safe
    my = np.bincount(lab, rr, n) / safe
    dx, dy = cc - mx[lab], rr - my[lab]
    sxx = np.bincount(lab, dx * dx, n) / safe
    syy = np.bincount(lab, dy * dy, n) / safe
    sxy = np.bincount(lab, dx * dy, n) / safe
    l1 = 0.5 * (sxx + syy) + np.sqrt(0.25 * (sxx - syy) ** 2 + sxy**2)
    length = np.sqrt(12.0 * l1) + 1.0  # + 1: the end pixels' own extent
    return length[1:], cnt[1:]


class BodyAnalysis:
    """The body maps of one crop (module docstring): ``lab`` its CIELAB, ``rgb`` its sRGB,
    ``skin`` the measured area, ``px_per_mm`` its scale (``None``: the fallback)."""

    def __init__(self, rgb: np.ndarray, lab: np.ndarray, skin: np.ndarray, px_per_mm):
        self.rgb, self.lab, self.skin = rgb, lab, np.asarray(skin, bool)
        self.scaled = px_per_mm is not None
        self.ppm = float(px_per_mm) if self.scaled else FALLBACK_PX_PER_MM
        self.weight = self.skin.astype(np.float32)

    def _px(self, mm: float) -> float:
        return mm * self.ppm

    @cached_property
    def bp2(self) -> np.ndarray:
        """Squared band-passed L* (float32)."""
        if not self.scaled:
            log.warning(
                "body metrics without a scale: filters at an assumed %.1f px per mm "
                "(pass --px-per-mm for measurements in mm)",
                FALLBACK_PX_PER_MM,
            )
        L = np.ascontiguousarray(self.lab[..., 0], np.float32)
        bp = masked_blur(L, self.weight, self._px(BP_FINE_MM))
        bp -= masked_blur(L, self.weight, self._px(BP_COARSE_MM))
        return np.where(self.skin, bp * bp, 0.0).astype(np.float32)

    @cached_property
    def _light(self) -> tuple[LightEstimate, np.ndarray | None]:
        # the streaks' own edges (a colour and lightness contrast, all in one direction) are
        # left out of the light's estimate; the relief is still integrated over them
        away = cv2.dilate(self.streak.view(np.uint8), _disk(self._px(STREAK_CLEAR_MM))) == 0
        return estimate_light(
            luminance(self.rgb),
            self.skin,
            fine=self._px(RELIEF_FINE_MM),
            coarse=self._px(RELIEF_COARSE_MM),
            where=self.skin & away,
        )

    @property
    def light(self) -> LightEstimate:
        """The raking light of the crop."""
        return self._light[0]

    @cached_property
    def relief(self) -> np.ndarray:
        """Relief ``cot(e) h`` in mm (0 without a dominant light direction)."""
        rel = self._light[1]
        if rel is None:
            return np.zeros(self.skin.shape, np.float32)
        rel = cv2.GaussianBlur(rel / self.ppm, (0, 0), self._px(RELIEF_SMOOTH_MM))
        return np.where(self.skin, rel, 0.0).astype(np.float32)

    @cached_property
    def dimple_centre(self) -> np.ndarray:
        """Dimple centres (bool): local minima of the relief at least ``DIMPLE_DEPTH_MM`` deep."""
        r = self.relief
        low = cv2.erode(r, _disk(self._px(DIMPLE_MIN_SEP_MM)))
        return (r <= low) & (r <= -DIMPLE_DEPTH_MM) & self.skin

    @cached_property
    def _dimple_v(self) -> np.ndarray:
        """``v >= 0`` on dimple pixels: the depth beyond the pixel's own threshold."""
        r = self.relief
        deepest = cv2.erode(r, _disk(self._px(DIMPLE_REACH_MM)))
        v = -r - np.maximum(DIMPLE_AREA_MM, -DIMPLE_AREA_SHARE * deepest)
        return np.where(self.skin, v, -1.0).astype(np.float32)

    @cached_property
    def dimple_px(self) -> np.ndarray:
        """Dimple pixels (float32 0/1)."""
        return (self._dimple_v >= 0).astype(np.float32)

    @cached_property
    def dimple_near(self) -> np.ndarray:
        """Pixels at risk of flipping into the dimple area (bool)."""
        return near_threshold(self._dimple_v, 0.0) & self.skin

    @cached_property
    def da(self) -> np.ndarray:
        """a* over the local skin background (a* units), 0 off the area."""
        a = np.ascontiguousarray(self.lab[..., 1], np.float32)
        fine = cv2.GaussianBlur(a, (0, 0), self._px(STREAK_FINE_MM))
        d = fine - masked_blur(a, self.weight, self._px(STREAK_BG_MM))
        return np.where(self.skin, d, 0.0).astype(np.float32)

    def _streaks_of(self, contrast: np.ndarray) -> np.ndarray:
        """The linked streaks (bool) of ``contrast`` (``da`` of one sign): components of
        ``contrast >= STREAK_DA_LINK`` of which at least ``STREAK_CORE_SHARE`` of the pixels
        have ``contrast >= STREAK_DA``, that pass the shape test."""
        linked = (contrast >= STREAK_DA_LINK) & self.skin
        n, labels = cv2.connectedComponents(linked.view(np.uint8), connectivity=8)
        if n <= 1:
            return np.zeros(linked.shape, bool)
        core = np.bincount(labels[(contrast >= STREAK_DA) & linked], minlength=n)
        length, area = streak_lengths_px(labels, n)
        ok = (length >= self._px(STREAK_MIN_LENGTH_MM)) & (
            length * length >= STREAK_MIN_ELONGATION * area
        )
        ok &= core[1:] >= STREAK_CORE_SHARE * area
        keep = np.concatenate([[False], ok])
        return keep[labels]

    @cached_property
    def streak_red_link(self) -> np.ndarray:
        """Red-purple streaks as linked (bool): what is counted and measured in length."""
        return self._streaks_of(self.da)

    @cached_property
    def streak_white_link(self) -> np.ndarray:
        """White streaks as linked (bool)."""
        return self._streaks_of(-self.da)

    @cached_property
    def streak_link(self) -> np.ndarray:
        """Streaks of either stage as linked (bool)."""
        return self.streak_red_link | self.streak_white_link

    @cached_property
    def streak_red(self) -> np.ndarray:
        """Red-purple streak pixels (bool): the linked streaks' pixels of ``da >= STREAK_DA``."""
        return self.streak_red_link & (self.da >= STREAK_DA)

    @cached_property
    def streak_white(self) -> np.ndarray:
        """White streak pixels (bool)."""
        return self.streak_white_link & (self.da <= -STREAK_DA)

    @cached_property
    def streak(self) -> np.ndarray:
        """Streak pixels of either stage (bool)."""
        return self.streak_red | self.streak_white

    @cached_property
    def streak_flip(self) -> tuple[np.ndarray, np.ndarray]:
        """The streaks' whole-streak flip variances: count and length (px²) per pixel
        (:func:`~mesovision.metrics._streak_flip.streak_flip_maps`)."""
        return streak_flip_maps(
            self.streak_link,
            self.da,
            self.ppm,
            da_core=STREAK_DA,
            da_link=STREAK_DA_LINK,
            min_len_px=self._px(STREAK_MIN_LENGTH_MM),
        )
