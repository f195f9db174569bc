"""Hair / scalp segmentation of one photo: the hair contrast, hair pixels, shaft lines, their
skeleton, end points and local widths (:class:`HairAnalysis`), for :mod:`mesovision.metrics.hair`.

Made once per photo on first use. Hair is told from scalp by colour contrast at the scale of a
shaft, whatever the polarity (dark hair on light scalp, light hair on dark scalp, blond on light
skin), with an adaptive contrast rule rather than one fixed threshold:

1. the *hair axis* ``u``: CIELAB band-passed (the crop minus its Gaussian of
   ``HAIR_BG_SIGMA_PX``), the principal direction of the strongest 5 % of those vectors over
   the measured area, signed so that hair is positive: of the two sides of Otsu's split of
   the projection, scalp is the one with smooth patches (thin lines never are);
   ``p = Lab . u`` is the hair contrast of every pixel;
2. the scalp background: a quadratic surface in (x, y) fitted to the scalp side of ``p``
   (refitted twice), so that smooth shading goes and dense hair does not raise it;
   ``d = G(p) - background`` (CIELAB units), ``G`` the shaft-scale Gaussian of
   ``SHAFT_SIGMA_PX``;
3. ``C``, the full hair contrast, is the ``HAIR_CONTRAST_PCTL`` percentile of ``d`` over the
   hair pixels (those above Otsu's threshold of the pixels above the noise floor: hair against
   skin texture), or no hair at all when it is under ``HAIR_MIN_CONTRAST``; the noise ``s`` is
   Immerkaer's estimate of ``p`` times the white-noise gain of ``G``; a pixel is *hair*
   (``hair_px``) when ``d >= max(0.5 C, HAIR_K_NOISE s)``: covered by half a shaft or more;
4. the *line mask* used for counting: a hysteresis of ``d`` between
   ``max(HAIR_LINE_SHARE C, HAIR_K_NOISE s)`` and the hair level, keeping components of at least
   ``HAIR_MIN_PX`` that are lines, not dots (squared bounding-box diagonal at least
   ``HAIR_MIN_ELONGATION`` times the area).

Counting: the line mask is thinned to its skeleton (Zhang-Suen, scikit-image) and pruned of
spurs up to ``HAIR_SPUR_PX``. A straight shaft has two ends and a crossing keeps all four; a
junction with an odd number of branches (a shaft ending on another's side) hides one end, which
it then counts (:attr:`HairAnalysis.ends`). Half the ends is the hair count.

Widths: coverage ``d / C`` integrates across a shaft to its width whatever the blur (blur
spreads the contrast and keeps its integral). On each skeleton pixel more than
``HAIR_WIDTH_WINDOW_PX`` from an end, the local width is the coverage in a window of that side
over the skeleton length in it (each skeleton pixel stands for ``1 / max(|cos t|, |sin t|)``
px of shaft at direction ``t``).
"""

from __future__ import annotations

from functools import cached_property

import cv2
import numpy as np

from ._maps import near_threshold

__all__ = [
    "HAIR_BG_SIGMA_PX",
    "HAIR_CONTRAST_PCTL",
    "HAIR_K_NOISE",
    "HAIR_LINE_SHARE",
    "HAIR_MIN_CONTRAST",
    "HAIR_MIN_ELONGATION",
    "HAIR_MIN_PX",
    "HAIR_SPUR_PX",
    "HAIR_WIDTH_WINDOW_PX",
    "SHAFT_SIGMA_PX",
    "HairAnalysis",
]

#: Gaussian sigma (px) of the scalp background and of the band-pass that finds the hair axis.
HAIR_BG_SIGMA_PX = 8.0
#: Sigma (px) of the shaft-scale Gaussian that ``d`` is smoothed with.
SHAFT_SIGMA_PX = 0.7
#: The full hair contrast ``C``: this percentile of the contrast over the hair pixels.
HAIR_CONTRAST_PCTL = 95.0
#: Below this full contrast (CIELAB units) nothing is hair: skin texture, freckles and follicle
#: openings are a few units; the faintest hair of the renders (blond on light skin) is ~20.
HAIR_MIN_CONTRAST = 8.0
#: A hair pixel is at least this many noise sigmas above the scalp background.
HAIR_K_NOISE = 4.0
#: The line mask's low hysteresis level, as a share of ``C`` (the high level is 0.5 ``C``).
HAIR_LINE_SHARE = 0.2
#: Line-mask components smaller than this (px) are dropped.
HAIR_MIN_PX = 8
#: A line-mask component is kept when its bounding box's squared diagonal is at least this
#: many times its area (a shaft ``l`` long and ``w`` wide: ``l / w``; a disk: 2.5).
HAIR_MIN_ELONGATION = 3.5
#: Skeleton branches up to this long (px) are pruned before the ends are counted.
HAIR_SPUR_PX = 3
#: Side (px) of the window a local shaft width is measured in.
HAIR_WIDTH_WINDOW_PX = 9
_MAD_TO_SIGMA = 1.4826


def _noise_sigma(p: np.ndarray, mask: np.ndarray) -> float:
    """Immerkaer's noise estimate of ``p`` over ``mask``, with the median (robust to edges)."""
    k = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)
    r = cv2.filter2D(p, cv2.CV_32F, k, borderType=cv2.BORDER_REFLECT)
    v = np.abs(r[mask])
    return float(_MAD_TO_SIGMA * np.median(v) / 6.0) if v.size else 0.0


def _neighbours(skel: np.ndarray) -> np.ndarray:
    """Number of 8-neighbours of each pixel on the bool map ``skel``."""
    k = np.ones((3, 3), np.float32)
    k[1, 1] = 0
    return cv2.filter2D(skel.astype(np.float32), -1, k, borderType=cv2.BORDER_CONSTANT)


def _prune(skel: np.ndarray, n: int) -> np.ndarray:
    """``skel`` with its end points removed ``n`` times (branches up to ``n`` px go; a shaft's
    ends move in by ``n`` px and stay ends)."""
    skel = skel.copy()
    for _ in range(n):
        ends = skel & (_neighbours(skel) <= 1)
        if not ends.any():
            break
        skel &= ~ends
    return skel


def _hair_side(p: np.ndarray, roi: np.ndarray) -> float:
    """+1 when hair is the high side of ``p``, -1 when the low side: of the two sides of
    Otsu's split, scalp is the one with smooth patches (the lower 10th percentile of the local
    standard deviation of ``p`` in 5 x 5 windows); hair, thin lines, is never smooth at the
    scale of a few widths."""
    from skimage.filters import threshold_otsu

    v = p[roi]
    if v.size < 10 or v.min() == v.max():
        return 1.0
    high = p > threshold_otsu(v)
    mean = cv2.blur(p, (5, 5))
    sd = np.sqrt(np.maximum(cv2.blur(p * p, (5, 5)) - mean * mean, 0.0))
    sides = [sd[roi & high], sd[roi & ~high]]
    if min(x.size for x in sides) < 10:
        return 1.0
    return 1.0 if np.percentile(sides[0], 10) >= np.percentile(sides[1], 10) else -1.0


class HairAnalysis:
    """The hair segmentation of one photo's crop (see the module docstring); every product
    is made on first use."""

    def __init__(self, lab: np.ndarray, roi: np.ndarray):
        self.lab, self.roi = lab, roi

    @cached_property
    def axis(self) -> np.ndarray:
        """The hair axis ``u`` in CIELAB (unit vector), signed so that hair is positive."""
        bg = cv2.GaussianBlur(self.lab, (0, 0), HAIR_BG_SIGMA_PX, borderType=cv2.BORDER_REFLECT)
        g = (self.lab - bg)[self.roi].astype(np.float64)
        if g.shape[0] < 10:
            return np.array([-1.0, 0.0, 0.0])
        mag = np.einsum("ij,ij->i", g, g)
        top = g[mag >= np.quantile(mag, 0.95)]
        _, vecs = np.linalg.eigh(top.T @ top)
        u = vecs[:, -1]
        p = np.ascontiguousarray(self.lab @ u.astype(np.float32))
        return u if _hair_side(p, self.roi) >= 0 else -u

    @cached_property
    def p(self) -> np.ndarray:
        """Hair contrast of every pixel: CIELAB projected on :attr:`axis`."""
        return np.ascontiguousarray(self.lab @ self.axis.astype(np.float32))

    @cached_property
    def noise(self) -> float:
        """Noise sigma of :attr:`p` over the measured area (CIELAB units)."""
        return _noise_sigma(self.p, self.roi)

    @property
    def noise_d(self) -> float:
        """Noise sigma of :attr:`d`: of ``p`` times the white-noise gain of the shaft-scale
        Gaussian, ``1 / (2 sigma sqrt(pi))``."""
        return self.noise / (2.0 * SHAFT_SIGMA_PX * np.sqrt(np.pi))

    @cached_property
    def background(self) -> np.ndarray:
        """The scalp level of :attr:`p`: a quadratic surface in (x, y) fitted to the scalp
        pixels (Otsu's split of ``p``, refitted twice on the residual), so that smooth shading
        goes and dense hair does not raise it."""
        from skimage.filters import threshold_otsu

        p = self.p
        h, w = p.shape
        step = max(1, int(np.sqrt(h * w / 40000.0)))
        yy, xx = np.mgrid[0:h:step, 0:w:step]
        ps, roi = p[::step, ::step], self.roi[::step, ::step]
        xs, ys = (xx / max(w, 1) - 0.5), (yy / max(h, 1) - 0.5)
        basis = np.stack([np.ones_like(xs), xs, ys, xs * xs, xs * ys, ys * ys], axis=-1)
        r = ps.astype(np.float64)
        coef = np.zeros(6)
        for _ in range(3):
            v = r[roi]
            if v.size < 10 or v.min() == v.max():
                break
            scalp = roi & (r < threshold_otsu(v))
            if scalp.sum() < 10:
                break
            coef, *_ = np.linalg.lstsq(basis[scalp], ps[scalp].astype(np.float64), rcond=None)
            r = ps - basis @ coef
        yf, xf = np.mgrid[0:h, 0:w].astype(np.float32)
        xf, yf = xf / max(w, 1) - 0.5, yf / max(h, 1) - 0.5
        terms = (np.ones_like(xf), xf, yf, xf * xf, xf * yf, yf * yf)
        return sum(np.float32(c) * t for c, t in zip(coef, terms, strict=True)).astype(np.float32)

    @cached_property
    def d(self) -> np.ndarray:
        """Contrast over the scalp background (CIELAB units, positive on hair)."""
        p = cv2.GaussianBlur(self.p, (0, 0), SHAFT_SIGMA_PX, borderType=cv2.BORDER_REFLECT)
        return (p - self.background).astype(np.float32)

    def _threshold(self, d: np.ndarray) -> float:
        """``C`` of a contrast map: the ``HAIR_CONTRAST_PCTL`` percentile of the pixels above
        Otsu's threshold of those above the noise floor (hair against skin texture); inf when
        fewer than 20 pixels stand out."""
        from skimage.filters import threshold_otsu

        v = d[self.roi]
        v = v[v > HAIR_K_NOISE * self.noise_d]
        if v.size < 20 or v.min() == v.max():
            return np.inf
        v = v[v > threshold_otsu(v)]
        c = float(np.percentile(v, HAIR_CONTRAST_PCTL)) if v.size >= 20 else np.inf
        return c if c >= HAIR_MIN_CONTRAST else np.inf

    @cached_property
    def contrast(self) -> float:
        """``C``: the full hair contrast (CIELAB units; inf when no hair stands out)."""
        return self._threshold(self.d)

    @cached_property
    def half_level(self) -> float:
        """The hair-pixel level: ``max(0.5 C, HAIR_K_NOISE x noise)``."""
        return max(0.5 * self.contrast, HAIR_K_NOISE * self.noise_d)

    @cached_property
    def hair_px(self) -> np.ndarray:
        """Hair pixels (covered by half or more of a shaft), float32 0/1."""
        return ((self.d >= self.half_level) & self.roi).astype(np.float32)

    @cached_property
    def bare(self) -> np.ndarray:
        """Scalp with no hair evidence at all (``d`` under the line mask's low level), bool:
        where the part is looked for (a blurred thin shaft drops under the hair level first)."""
        return (self.d < self.low_level) & self.roi

    @property
    def low_level(self) -> float:
        """The line mask's low level: ``max(HAIR_LINE_SHARE x C, HAIR_K_NOISE x noise)``."""
        return max(HAIR_LINE_SHARE * self.contrast, HAIR_K_NOISE * self.noise_d)

    @cached_property
    def scalp_near(self) -> np.ndarray:
        """Hair pixels at risk of flipping into scalp (:func:`near_threshold` of ``-d``)."""
        return near_threshold(-self.d, -self.half_level)

    @cached_property
    def line(self) -> np.ndarray:
        """The line mask (hysteresis), bool."""
        weak = ((self.d >= self.low_level) & self.roi).view(np.uint8)
        n, labels, stats, _ = cv2.connectedComponentsWithStats(weak, connectivity=8)
        strong = np.zeros(n, bool)
        strong[np.unique(labels[self.hair_px > 0])] = True
        strong[0] = False
        area = stats[:, cv2.CC_STAT_AREA].astype(np.float64)
        diag2 = stats[:, cv2.CC_STAT_WIDTH] ** 2.0 + stats[:, cv2.CC_STAT_HEIGHT] ** 2.0
        strong &= area >= HAIR_MIN_PX
        strong &= diag2 >= HAIR_MIN_ELONGATION * area  # lines, not dots
        return strong[labels]

    @cached_property
    def skeleton(self) -> np.ndarray:
        """The line mask's skeleton, pruned of spurs up to ``HAIR_SPUR_PX``."""
        from skimage.morphology import skeletonize

        return _prune(skeletonize(self.line), HAIR_SPUR_PX)

    @cached_property
    def ends(self) -> np.ndarray:
        """The ends each pixel stands for: 1 on the skeleton's end points, 2 on an isolated
        point, and 1 on one pixel of each junction with an odd number of branches (a shaft
        ending on another one's side: the end the junction hides)."""
        skel = self.skeleton
        nb = _neighbours(skel)
        out = np.where(skel & (nb == 1), 1.0, 0.0).astype(np.float32)
        out[skel & (nb == 0)] = 2.0
        junction = skel & (nb >= 3)
        if not junction.any():
            return out
        nj, jl, _, centres = cv2.connectedComponentsWithStats(
            junction.view(np.uint8), connectivity=8
        )
        ns, sl = cv2.connectedComponents((skel & ~junction).view(np.uint8), connectivity=8)
        # branches of a junction: the skeleton segments touching it (its 3 x 3 dilation)
        grown = cv2.dilate(jl.astype(np.float32), np.ones((3, 3), np.uint8)).astype(np.int64)
        touch = (grown > 0) & (sl > 0)
        pairs = np.unique(grown[touch] * ns + sl[touch])
        branches = np.bincount(pairs // ns, minlength=nj)
        for j in np.flatnonzero(branches[1:] % 2 == 1) + 1:
            rr, cc = np.nonzero(jl == j)
            out[rr[0], cc[0]] += 1.0
        return out

    @cached_property
    def length(self) -> np.ndarray:
        """Length (px) each skeleton pixel stands for: ``1 / max(|cos t|, |sin t|)``, ``t`` the
        local direction (principal axis of the skeleton pixels in a 5 x 5 window)."""
        s = self.skeleton.astype(np.float32)
        h, w = s.shape
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)

        def box(a):
            return cv2.boxFilter(a, -1, (5, 5), normalize=False, borderType=cv2.BORDER_CONSTANT)

        n = np.maximum(box(s), 1.0)
        mx, my = box(s * xx) / n, box(s * yy) / n
        cxx = box(s * xx * xx) / n - mx * mx
        cyy = box(s * yy * yy) / n - my * my
        cxy = box(s * xx * yy) / n - mx * my
        t = 0.5 * np.arctan2(2 * cxy, cxx - cyy)
        f = 1.0 / np.maximum(np.abs(np.cos(t)), np.abs(np.sin(t)))
        return np.where(self.skeleton, f, 0.0).astype(np.float32)

    @cached_property
    def width(self) -> np.ndarray:
        """Local shaft width (px) on the skeleton pixels more than ``HAIR_WIDTH_WINDOW_PX``
        from an end (0 elsewhere): coverage over skeleton length in a square window of that
        side, ``sum(d / C) / sum(length)``."""
        k = HAIR_WIDTH_WINDOW_PX
        box = (k, k)
        cov = cv2.boxFilter(self.cov, -1, box, normalize=False, borderType=cv2.BORDER_CONSTANT)
        length = cv2.boxFilter(
            self.length, -1, box, normalize=False, borderType=cv2.BORDER_CONSTANT
        )
        near_end = cv2.dilate((self.ends > 0).view(np.uint8), np.ones((k + 2, k + 2), np.uint8))
        ok = self.skeleton & (near_end == 0) & (length > 0)
        return np.where(ok, cov / np.maximum(length, 1e-6), 0.0).astype(np.float32)

    @cached_property
    def cov(self) -> np.ndarray:
        """Shaft coverage ``d / C`` clipped to [0, 1.5] (0 where no hair stands out)."""
        if not np.isfinite(self.contrast):
            return np.zeros_like(self.d)
        return np.clip(self.d / np.float32(self.contrast), 0.0, 1.5).astype(np.float32)
