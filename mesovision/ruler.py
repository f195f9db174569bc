"""A ruler in the photo: its tick period gives the scale (pixels per mm).

Trichoscopy close-ups and scalp photos are often taken with a millimetre ruler in the frame.
:func:`find_ruler` looks for one and returns its scale, or ``None``; the caller then falls back
to the per-pixel metrics.

Method. A ruler's ticks are a run of parallel straight lines at a constant spacing (one per mm),
crossing a strip of the photo. The grey image is rotated by each candidate angle (every degree
within ``max_tilt_deg`` of the rows and of the columns) so that a ruler at that angle lies along
the rows; every band of ``BAND_PX`` rows is averaged into a profile along the rows, which keeps
the ticks (the same columns in every row of the band) and averages the hair and noise down. The
period of each profile is found with the cumulative-mean-normalized difference function of YIN
(de Cheveigne and Kawahara 2002): ``d(t) = sum_x (p(x) - p(x + t))^2`` over a fixed window,
``d'(t) = d(t) t / sum_{j<=t} d(j)``; the period is the first lag from ``MIN_PERIOD_PX`` on where
``d'`` falls under ``YIN_THRESHOLD`` (then its local minimum), so that the 5-mm and 10-mm ticks
(a multiple of the period) are not taken for it, and a band of the same angle whose period
divides the best band's is preferred (the bands that cross the 5-mm ticks only repeat every
5 mm); the band's regularity is ``1 - d'`` there. The most regular band of each angle is fitted
with a line of ticks (below), and the angle is chosen on the fit: of the angles with at least
90 % of the most ticks on the line (a band at the wrong angle leaves the ticks' rows), the one
with the smallest residual; it is then refined in steps of 0.25 degrees within 0.75 degrees
the same way. The ticks are located one by one (the centroid of the tick's
contrast within a third of a period of its expected place) and the scale is the slope of a
straight-line fit of their positions against their index, after dropping ticks more than a
fifth of a period off the line.
A ruler is reported only when at least ``MIN_TICKS`` ticks fit, with an rms residual under
``MAX_RESIDUAL`` of a period: a frame must hold about 8 mm of ruler. The tilt left by the angle
step changes the spacing read along the rows by ``1 / cos`` of the remaining angle (under
0.001 % at 0.125 degree).

The ruler's own pixels (:attr:`RulerScale.mask`) are then excluded from the measured area:
starting from the tick band, rows (in the ruler's frame) are added while their median grey and
chroma stay within ``BODY_TOL`` of the tick band's, and columns the same way, plus a margin.

The ticks must be 1 mm apart (``mm_per_tick`` otherwise); half-millimetre ticks read as a scale
twice too large. Validation: ``docs/hair.md`` (``python benchmarks/hair.py ruler``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import cv2
import numpy as np
import scipy.fft as sfft

from ._threads import one_thread_each

__all__ = [
    "BAND_PX",
    "BODY_TOL",
    "MAX_RESIDUAL",
    "MIN_PERIOD_PX",
    "MIN_TICKS",
    "YIN_THRESHOLD",
    "RulerScale",
    "find_ruler",
]

#: Height (px) of the bands of rows averaged into one profile.
BAND_PX = 6
#: Shortest tick period looked for (px); a ruler of 1-mm ticks needs at least 3 px per mm.
MIN_PERIOD_PX = 3
#: Fewest ticks on the fitted line for a ruler to be reported.
MIN_TICKS = 8
#: A band is periodic where the normalized difference ``d'`` falls under this.
YIN_THRESHOLD = 0.3
#: Largest rms residual of the tick positions around the fitted line, as a share of the period.
MAX_RESIDUAL = 0.05
#: Tolerance (sRGB units) on the median grey and chroma of the ruler's rows and columns.
BODY_TOL = 0.08


@dataclass(frozen=True)
class RulerScale:
    """A ruler found in a photo.

    ``px_per_mm``: the scale along the ruler, in the image's pixels; ``angle_deg``: the ruler's
    angle to the image rows, counter-clockwise as displayed, in (-90, 90] (to the nearest 0.2
    degree; a vertical ruler reads about 90); ``ticks``: the
    ticks on the fitted line; ``residual``: their rms distance from it, as a share of the
    period; ``regularity``: ``1 - d'`` of the tick band (1 for a perfect comb); ``mask``: the
    ruler's pixels (bool, the image's shape).
    """

    px_per_mm: float
    angle_deg: float
    ticks: int
    residual: float
    regularity: float
    mask: np.ndarray = field(repr=False)

    def as_dict(self) -> dict:
        """JSON-ready fields (no mask; its pixel count instead)."""
        return {
            "px_per_mm": self.px_per_mm,
            "angle_deg": self.angle_deg,
            "ticks": self.ticks,
            "residual": self.residual,
            "regularity": self.regularity,
            "mask_px": int(self.mask.sum()),
        }


def _rotation(shape: tuple[int, int], angle_deg: float) -> tuple[np.ndarray, tuple[int, int]]:
    """The 2 x 3 rotation about the image centre by ``angle_deg`` into a frame that holds the
    whole rotated image, and that frame's ``(width, height)``."""
    h, w = shape
    m = cv2.getRotationMatrix2D((w / 2.0, h / 2.0), angle_deg, 1.0)
    c, s = abs(m[0, 0]), abs(m[0, 1])
    nw, nh = int(np.ceil(w * c + h * s)), int(np.ceil(w * s + h * c))
    m[0, 2] += nw / 2.0 - w / 2.0
    m[1, 2] += nh / 2.0 - h / 2.0
    return m, (nw, nh)


def _profiles(grey: np.ndarray, angle_deg: float):
    """``(profiles, x0, rows)``: the band profiles of ``grey`` rotated by ``angle_deg``, each
    over the longest run of columns that every band row covers (NaN elsewhere), their bands'
    first rows."""
    m, size = _rotation(grey.shape, angle_deg)
    rot = cv2.warpAffine(grey, m, size, flags=cv2.INTER_LINEAR, borderValue=0.0)
    ok = cv2.warpAffine(np.ones_like(grey), m, size, flags=cv2.INTER_NEAREST, borderValue=0.0)
    half = BAND_PX // 2
    n = size[1] // half
    # sums over half-bands, then two neighbouring half-bands make a band (stride half a band)
    hs = rot[: n * half].reshape(n, half, size[0]).sum(axis=1)
    hk = ok[: n * half].reshape(n, half, size[0]).sum(axis=1)
    prof = (hs[:-1] + hs[1:]) / (2 * half)
    prof[(hk[:-1] + hk[1:]) < 2 * half] = np.nan
    rows = np.arange(n - 1) * half
    return prof, rows, m


def _yin(prof: np.ndarray, max_lag: int) -> np.ndarray:
    """The cumulative-mean-normalized difference ``d'(t)``, ``t = 0 .. max_lag``, of each row
    of ``prof`` (no NaN) over the window ``[0, n - max_lag)``."""
    n = prof.shape[1]
    win = n - max_lag
    x = prof - prof.mean(axis=1, keepdims=True)
    size = sfft.next_fast_len(n, real=True)  # t + lag < n: no wrap-around for lag >= 0
    fx = sfft.rfft(x, size, axis=1, workers=1)
    fw = sfft.rfft(x[:, :win], size, axis=1, workers=1)
    r = sfft.irfft(np.conj(fw) * fx, size, axis=1)[:, : max_lag + 1]  # sum_t<win x[t] x[t+lag]
    c2 = np.concatenate([np.zeros((x.shape[0], 1)), np.cumsum(x * x, axis=1)], axis=1)
    lags = np.arange(max_lag + 1)
    e0 = c2[:, win : win + 1]
    e = c2[:, lags + win] - c2[:, lags]
    d = np.maximum(e0 + e - 2.0 * r, 0.0)
    cum = np.cumsum(d[:, 1:], axis=1)
    out = np.ones_like(d)
    with np.errstate(invalid="ignore", divide="ignore"):
        out[:, 1:] = d[:, 1:] * lags[1:] / cum
    out[~np.isfinite(out)] = 1.0
    return out


def _first_dip(dn: np.ndarray) -> tuple[float, float]:
    """YIN's period of one ``d'`` curve: the first lag from ``MIN_PERIOD_PX`` under the
    threshold, moved to its local minimum (to a fraction of a pixel by a parabola), and ``d'``
    there; ``(0, 1.0)`` when there is none."""
    below = np.nonzero(dn[MIN_PERIOD_PX:] < YIN_THRESHOLD)[0]
    if below.size == 0:
        return 0, 1.0
    t = int(below[0]) + MIN_PERIOD_PX
    while t + 1 < dn.size and dn[t + 1] < dn[t]:
        t += 1
    return _refine_lag(dn, t), float(dn[t])


def _refine_lag(dn: np.ndarray, t: int) -> float:
    """Lag ``t`` of a minimum of ``dn`` to a fraction of a pixel (the parabola through it and
    its neighbours)."""
    if 0 < t < dn.size - 1:
        den = dn[t - 1] - 2.0 * dn[t] + dn[t + 1]
        off = 0.5 * (dn[t - 1] - dn[t + 1]) / den if den > 0 else 0.0
        return t + float(np.clip(off, -0.5, 0.5))
    return float(t)


def _divides(t: float, period: float) -> bool:
    """Whether ``period`` is an integer multiple of ``t`` within 3 %."""
    k = round(period / t)
    return k >= 1 and abs(period / (k * t) - 1.0) < 0.03


def _best_band(grey: np.ndarray, angle_deg: float, max_lag_cap: int):
    """The most regular band of ``grey`` rotated by ``angle_deg``: ``(regularity, period,
    band index, span, profiles, rows, matrix)``, or ``None``. Each band's profile is read over
    the columns that all its rows cover (its span), the rest set to its mean (no periodic
    content), so that all bands of an angle go through one batch of FFTs."""
    prof, rows, m = _profiles(grey, angle_deg)
    valid = np.isfinite(prof)
    n_valid = valid.sum(axis=1)
    keep = np.nonzero(n_valid >= 3 * MIN_TICKS)[0]
    if keep.size == 0:
        return None
    max_lag = min(max_lag_cap, int(n_valid.max()) // MIN_TICKS)
    if max_lag <= MIN_PERIOD_PX + 1:
        return None
    p = prof[keep]
    mean = np.nanmean(p, axis=1, keepdims=True)
    filled = np.where(np.isfinite(p), p, mean)
    spread = np.nanstd(p, axis=1)
    dn = _yin(filled, max_lag)
    found = []
    for j, band in enumerate(keep):
        if spread[j] >= 1e-3:
            t, v = _first_dip(dn[j])
            if t:
                found.append((1.0 - v, t, int(band)))
    if not found:
        return None
    best = max(found)
    # The bands that cross the long ticks only repeat every 5 or 10 mm: a band of the same
    # angle whose period divides the best one's is the millimetre comb.
    finer = [f for f in found if round(best[1] / f[1]) >= 2 and _divides(f[1], best[1])]
    if finer:
        best = min(finer, key=lambda f: (f[1], -f[0]))
    idx = np.nonzero(valid[best[2]])[0]
    return (*best, (int(idx[0]), int(idx[-1]) + 1), prof, rows, m)


def _fit_ticks(profile: np.ndarray, period: float) -> tuple[float, int, float, bool] | None:
    """``(period_px, ticks, residual share, dark ticks)`` from the tick positions along one
    band profile (NaN outside its span), or ``None`` when too few ticks fit a line."""
    idx = np.nonzero(np.isfinite(profile))[0]
    p = profile[idx] - np.median(profile[idx])
    dark = bool(np.abs(p.min()) > np.abs(p.max()))  # dark ticks on a light ruler
    if dark:
        p = -p
    half = max(1, int(period / 3))
    start = int(np.argmax(p[: int(np.ceil(period))]))
    pos, ks = [], []
    k, guess, step = 0, float(start), float(period)
    while guess < p.size:
        lo, hi = max(0, int(round(guess)) - half), min(p.size, int(round(guess)) + half + 1)
        w = np.clip(p[lo:hi], 0, None)
        w = np.clip(w - 0.5 * w.max(), 0, None) if w.size else w
        if w.sum() > 0:
            pos.append(lo + float((w * np.arange(w.size)).sum() / w.sum()))
            ks.append(k)
            if len(pos) >= 3:  # the spacing so far, so that the guesses do not drift
                step = float(np.polyfit(ks, pos, 1)[0])
        k += 1
        guess = (pos[-1] + (k - ks[-1]) * step) if pos else start + k * step
    if len(pos) < MIN_TICKS:
        return None
    ks_a, pos_a = np.asarray(ks, float), np.asarray(pos)
    keep = np.ones(ks_a.size, bool)
    for _ in range(3):
        slope, icpt = np.polyfit(ks_a[keep], pos_a[keep], 1)
        res = pos_a - (slope * ks_a + icpt)
        keep = np.abs(res) < 0.2 * slope
        if keep.sum() < MIN_TICKS:
            return None
    slope, icpt = np.polyfit(ks_a[keep], pos_a[keep], 1)
    rms = float(np.sqrt(np.mean((pos_a[keep] - (slope * ks_a[keep] + icpt)) ** 2)))
    return float(slope), int(keep.sum()), rms / float(slope), dark


def _body(rgb, m, size, band_row: int, span: tuple[int, int], period: float, dark: bool):
    """The ruler's pixels in the image frame: the rows and columns of the rotated photo around
    the tick band whose background grey (the 75th percentile of a line's grey, the 25th for
    light ticks, so that the ticks do not move it) and median chroma stay within ``BODY_TOL``
    of the band's."""
    rot = cv2.warpAffine(rgb, m, size, flags=cv2.INTER_LINEAR, borderValue=(np.nan,) * 3)
    grey = rot.mean(axis=2)
    chroma = rot.max(axis=2) - rot.min(axis=2)
    a, b = span
    r0, r1 = band_row, band_row + BAND_PX
    q = 75 if dark else 25
    ref = np.nanpercentile(grey[r0:r1, a:b], q), np.nanmedian(chroma[r0:r1, a:b])

    def like(g, c):
        return abs(g - ref[0]) < BODY_TOL and abs(c - ref[1]) < BODY_TOL

    def line(i, axis, lo, hi):
        sl = (i, slice(lo, hi)) if axis == 0 else (slice(lo, hi), i)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN lines outside the photo
            g, c = np.nanpercentile(grey[sl], q), np.nanmedian(chroma[sl])
        return bool(np.isfinite(g)) and like(g, c)

    while r0 > 0 and line(r0 - 1, 0, a, b):
        r0 -= 1
    while r1 < grey.shape[0] and line(r1, 0, a, b):
        r1 += 1
    while a > 0 and line(a - 1, 1, r0, r1):
        a -= 1
    while b < grey.shape[1] and line(b, 1, r0, r1):
        b += 1
    pad = max(3, int(round(0.2 * period)))
    box = np.zeros((size[1], size[0]), np.uint8)
    box[max(0, r0 - pad) : r1 + pad, max(0, a - pad) : b + pad] = 1
    h, w = rgb.shape[:2]
    back = cv2.warpAffine(box, m, (w, h), flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP)
    return back.astype(bool)


def _fits(grey: np.ndarray, angles, max_period_px: int) -> list[tuple]:
    """``(angle, band, tick fit)`` of each angle whose most regular band fits a line of ticks
    (within ``MAX_RESIDUAL``)."""
    out = []
    for a in angles:
        g = _best_band(grey, float(a), max_period_px)
        fit = None if g is None else _fit_ticks(g[4][g[2]], float(g[1]))
        if fit is not None and fit[2] <= MAX_RESIDUAL:
            out.append((float(a), g, fit))
    return out


def _pick(fits: list[tuple]) -> tuple:
    """The ruler's angle among ``fits``: of those with at least 90 % of the most ticks on the
    line (a band at the wrong angle leaves the ticks' rows), the smallest residual."""
    most = max(f[2][1] for f in fits)
    return min((f for f in fits if f[2][1] >= 0.9 * most), key=lambda f: f[2][2])


def find_ruler(
    rgb: np.ndarray,
    *,
    mm_per_tick: float = 1.0,
    max_tilt_deg: float = 10.0,
    max_period_px: int = 400,
) -> RulerScale | None:
    """Find a ruler of ticks ``mm_per_tick`` apart in ``rgb`` and return its scale.

    Parameters
    ----------
    rgb : numpy.ndarray
        Float sRGB in [0, 1], ``(row, col, 3)``.
    mm_per_tick : float, optional
        The ruler's tick spacing (default 1 mm).
    max_tilt_deg : float, optional
        Largest angle between the ruler and the image rows or columns looked for.
    max_period_px : int, optional
        Largest tick spacing looked for, in px.

    Returns
    -------
    RulerScale or None
        The scale in the image's pixels (``px_per_mm``), the ruler's angle, its ticks, the fit's
        residual and regularity and its pixels; ``None`` when no band of the photo holds at
        least ``MIN_TICKS`` evenly spaced ticks (module docstring).
    """
    rgb = np.asarray(rgb, np.float32)
    grey = rgb.mean(axis=2)
    steps = np.arange(-np.floor(max_tilt_deg), np.floor(max_tilt_deg) + 1)
    # OpenCV's warps held to one thread: their last bits depend on its thread pool's size
    with one_thread_each():
        coarse = _fits(grey, np.concatenate([steps, steps + 90.0]), max_period_px)
        if not coarse:
            return None
        near = _pick(coarse)[0] + np.arange(-0.75, 0.76, 0.25)
        chosen = _pick(coarse + _fits(grey, near, max_period_px))
        angle, got, (slope, n, residual, dark) = chosen
        regularity, _, band, span, _, rows, m = got
        _, size = _rotation(grey.shape, angle)
        mask = _body(rgb, m, size, int(rows[band]), span, slope, dark)
    return RulerScale(
        px_per_mm=slope / mm_per_tick,
        angle_deg=float(-angle + 180.0 if -angle <= -90.0 else -angle),
        ticks=n,
        residual=residual,
        regularity=regularity,
        mask=mask,
    )
