"""Whole-streak flips: how far another capture can move a stretch-mark count and length at once.

A streak (:mod:`mesovision.metrics._body_detect`) is kept or dropped as a whole, and it is
one streak only while every cross-section of it stays over the contrast threshold: where
its a* contrast dips towards the threshold, another capture (another noise draw, focus,
sampling) can break it in two there. Such a flip moves the count by one and the summed length
by a piece at once, which no pixel-by-pixel term sees (the same reasoning as the bruise
area's :func:`~mesovision.metrics._bruise_colour.flip_variance`).

For each streak, its pixels are binned along its principal axis in bins of
``STREAK_FLIP_BIN_MM`` (about the correlation length of the a* smoothed at 0.4 mm); a bin's
contrast ``m`` is that of its weakest cross-section (1 px wide), a cross-section's the largest
``|da|`` over its pixels (of the streak's own sign). Another capture breaks the streak at an
inner bin with probability ``p = Phi(-(m - STREAK_DA_LINK) / STREAK_FLIP_SD)`` (its pixels are
linked through that contrast) and loses it whole with probability ``Phi(-(max m - STREAK_DA) /
STREAK_FLIP_SD)`` (it must reach that contrast somewhere). A break at a bin leaves the pieces on
either side of it; a piece is kept when at least the minimum length and reaching ``STREAK_DA``:
both kept, one streak more (the length loses the bin); one kept, the other's length is lost;
none kept, the streak is lost (count -1, length -``L``). Each outcome adds ``p (1 - p) x
change^2`` to the variance (breaks at different bins taken as independent; the contrast's spread
at a bin ``STREAK_FLIP_SD``).

A gain of the whole photo's chroma contrast (as a colour normalization can make) moves every
bin at once: the streak's count and length at a gain of ``1 -/+ STREAK_GAIN_SD`` (its runs of
linked bins at least the minimum length and reaching ``STREAK_DA``) add their mean square
difference from those at 1. The variance is spread over the streak's pixels (each carries its
share), so that its sum over a region holding the streak is the streak's variance.
"""

from __future__ import annotations

import numpy as np

__all__ = ["STREAK_FLIP_BIN_MM", "STREAK_FLIP_SD", "STREAK_GAIN_SD", "streak_flip_maps"]

#: Bin width along a streak (mm): about the correlation length of the smoothed a*.
STREAK_FLIP_BIN_MM = 1.0
#: How far a streak's cross-section contrast (a* units) moves between two captures of the
#: same skin: the spread behind the flip probabilities. Chosen on the development renders
#: (``benchmarks/body.py --split dev``).
STREAK_FLIP_SD = 0.5
#: How far the a* contrast of the whole photo is scaled between two captures (a share): the
#: colour normalization of a comparison maps one photo's colours onto the other's by a fit
#: that can shrink the chroma contrast when the skin around differs (a changed relief). It
#: moves every cross-section together, so both ends of a streak at once. Chosen on the
#: development renders (``benchmarks/body.py --split dev``).
STREAK_GAIN_SD = 0.15


def _kept(m: np.ndarray, gain: float, bin_px: float, *, da_core: float, da_link: float,
          min_len_px: float) -> tuple[int, float]:  # fmt: skip
    """``(count, length px)`` of the streak at a contrast ``gain``: its runs of bins whose
    contrast stays linked, kept when at least ``min_len_px`` long and reaching ``da_core``."""
    ok = np.concatenate([[False], gain * m >= da_link, [False]])
    edges = np.flatnonzero(np.diff(ok.astype(np.int8)))
    count, length = 0, 0.0
    for a, b in zip(edges[0::2], edges[1::2], strict=True):
        run = (b - a) * bin_px
        if run >= min_len_px and gain * m[a:b].max() >= da_core:
            count, length = count + 1, length + run
    return count, length


def _one(t: np.ndarray, contrast: np.ndarray, length: float, bin_px: float, *, da_core: float,
         da_link: float, min_len_px: float) -> tuple[float, float]:  # fmt: skip
    """``(count variance, length variance px²)`` of one streak: positions ``t`` of its pixels
    along its axis, their contrast (own sign), its length (px)."""
    from scipy.special import ndtr

    k = np.floor(t - t.min()).astype(np.int64)  # the cross-sections, 1 px apart
    cut = np.full(int(k.max()) + 1, -np.inf)
    np.maximum.at(cut, k, contrast)
    cut = np.where(np.isfinite(cut), cut, da_link)  # (a connected streak leaves none empty)
    per = max(1, int(round(bin_px)))  # a bin's contrast: its weakest cross-section
    m = np.minimum.reduceat(cut, np.arange(0, cut.size, per))
    bin_px = float(per)
    p = ndtr(-(m - da_link) / STREAK_FLIP_SD)
    lost = float(ndtr(-(m.max() - da_core) / STREAK_FLIP_SD))  # at its strongest bin
    var_n = lost * (1.0 - lost)
    var_l = var_n * length * length
    left = np.maximum.accumulate(m)
    right = np.maximum.accumulate(m[::-1])[::-1]
    for j in range(1, m.size - 1):  # breaks at the inner bins
        a, b = j * bin_px, (m.size - 1 - j) * bin_px
        keep_a = a >= min_len_px and left[j - 1] >= da_core
        keep_b = b >= min_len_px and right[j + 1] >= da_core
        q = float(p[j]) * (1.0 - float(p[j]))
        var_n += q * (int(keep_a) + int(keep_b) - 1) ** 2
        var_l += q * (m.size * bin_px - a * keep_a - b * keep_b) ** 2
    # a gain of the whole photo's contrast moves every bin at once
    kw = {"da_core": da_core, "da_link": da_link, "min_len_px": min_len_px}
    n1, l1 = _kept(m, 1.0, bin_px, **kw)
    for g in (1.0 - STREAK_GAIN_SD, 1.0 + STREAK_GAIN_SD):
        n, ln = _kept(m, g, bin_px, **kw)
        var_n += 0.5 * (n - n1) ** 2
        var_l += 0.5 * (ln - l1) ** 2
    return var_n, var_l


def streak_flip_maps(
    streak: np.ndarray,
    da: np.ndarray,
    px_per_mm: float,
    *,
    da_core: float,
    da_link: float,
    min_len_px: float,
) -> tuple[np.ndarray, np.ndarray]:
    """``(count, length px²)`` flip variance maps (float32) of the streak pixels ``streak``
    (bool; 8-connected components of one sign of ``da``): each pixel of a streak carries the
    streak's variance over its pixel count; 0 elsewhere. ``da_core`` is the contrast a streak
    must reach somewhere, ``da_link`` the contrast its pixels are linked through, and
    ``min_len_px`` the minimum length of a streak."""
    import cv2

    var_n = np.zeros(streak.shape, np.float32)
    var_l = np.zeros(streak.shape, np.float32)
    if not streak.any():
        return var_n, var_l
    sign = np.where(da >= 0, 1.0, -1.0)
    n, labels = cv2.connectedComponents(streak.view(np.uint8), connectivity=8)
    rr, cc = np.nonzero(labels)
    order = np.argsort(labels[rr, cc], kind="stable")
    rr, cc = rr[order], cc[order]
    bounds = np.searchsorted(labels[rr, cc], np.arange(1, n + 1))
    bin_px = STREAK_FLIP_BIN_MM * px_per_mm
    for k in range(1, n):
        r, c = rr[bounds[k - 1] : bounds[k]], cc[bounds[k - 1] : bounds[k]]
        xy = np.stack([c, r], 1).astype(np.float64)
        xy -= xy.mean(axis=0)
        w, v = np.linalg.eigh(xy.T @ xy / len(xy))
        length = float(np.sqrt(12.0 * w[-1]) + 1.0)
        contrast = da[r, c] * sign[r[0], c[0]]
        vn, vl = _one(xy @ v[:, -1], contrast, length, bin_px, da_core=da_core,
                      da_link=da_link, min_len_px=min_len_px)  # fmt: skip
        var_n[r, c] = vn / len(r)
        var_l[r, c] = vl / len(r)
    return var_n, var_l
